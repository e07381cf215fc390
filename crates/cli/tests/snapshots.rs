//! Snapshots, rollback to any snapshot, restore and clone end to end: a real `strand up` (its
//! default pool on the XFS image it makes where the test directory has no reflink), driven
//! through `linstor-client`, data checked through the devices.
//!
//! Root only; elsewhere the test prints why it is skipped. The guard always stops strand, then
//! detaches, unmounts and removes everything under its directory.

use linstor_api::consts::*;
use linstor_api::{
    ApiCallRc, CreateMultiSnapshotRequest, Props, PropsModify, ResourceCreate, ResourceDefinition,
    ResourceDefinitionCloneRequest, ResourceDefinitionCreate, ResourceDefinitionModify, Snapshot,
    SnapshotRestore, SnapshotRollback, VolumeDefinition, VolumeDefinitionCreate,
};
use linstor_client::{Client, Error, ListOpts};
use satellite::loopdev::{KernelLoops, LoopDevices};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STRAND: &str = env!("CARGO_BIN_EXE_strand");
const SIZE_KIB: i64 = 16 * 1024;

/// `strand up` on a temporary directory; stopped and cleaned up on drop, whatever happened.
struct Up {
    dir: PathBuf,
    child: Option<Child>,
    port: u16,
    node: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

impl Up {
    fn new(tag: &str) -> Option<Up> {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipping {tag}: strand up needs root (loop devices, mounts)");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("strand-snap-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("test dir");
        let node = format!("strand-snap-{}", std::process::id());
        Some(Up { dir, child: None, port: 0, node })
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn dev(&self) -> PathBuf {
        self.dir.join("dev")
    }

    fn start(&mut self) {
        self.port = free_port();
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("up.log")).expect("log");
        let child = Command::new(STRAND)
            .args(["up", "--listen", &format!("127.0.0.1:{}", self.port), "--node-name", &self.node])
            .arg("--data-dir")
            .arg(self.data())
            .arg("--dev-dir")
            .arg(self.dev())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start strand up");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            assert!(exited.is_none(), "strand up exited: {}", self.log());
            assert!(started.elapsed() < Duration::from_secs(60), "strand up did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Graceful stop (SIGTERM), as an operator would.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("up.log")).unwrap_or_default()
    }

    fn client(&self) -> Client {
        Client::builder()
            .controller(format!("127.0.0.1:{}", self.port))
            .timeout(Duration::from_secs(120))
            .build()
            .expect("client")
    }
}

/// Mount points at or under `dir`, deepest first.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .map(|m| PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| m.starts_with(dir))
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    found
}

fn loops_under(dir: &Path) -> Vec<satellite::loopdev::LoopDevice> {
    KernelLoops::new()
        .scan()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d.backing_file.starts_with(dir))
        .collect()
}

impl Drop for Up {
    fn drop(&mut self) {
        self.stop();
        let loops = KernelLoops::new();
        let mounted = satellite::usage::Mounts::read();
        // Volumes first (their files live on the mounted image), then the image's mount.
        for dev in loops_under(&self.dir) {
            if !mounted.contains(dev.major, dev.minor) {
                let _ = loops.detach(&dev, None);
            }
        }
        for point in mounts_under(&self.dir) {
            let _ = Command::new("umount").arg(&point).status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !loops_under(&self.dir).is_empty() && Instant::now() < deadline {
            for dev in loops_under(&self.dir) {
                let _ = loops.detach(&dev, None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

#[track_caller]
fn ok(result: Result<Vec<ApiCallRc>, Error>) -> Vec<ApiCallRc> {
    match result {
        Ok(list) => {
            assert!(!list.iter().any(ApiCallRc::is_error), "error entries: {list:#?}");
            list
        }
        Err(err) => panic!("call failed: {err}"),
    }
}

#[track_caller]
fn fails_with(result: Result<Vec<ApiCallRc>, Error>, code: i64) -> Vec<ApiCallRc> {
    match result {
        Ok(list) => panic!("expected {code:#x}, got {list:#?}"),
        Err(err) => {
            assert!(err.is(code), "expected {code:#x}, got {err:?}");
            err.entries().to_vec()
        }
    }
}

async fn make_rd(api: &Client, up: &Up, name: &str, props: Props) {
    let rd = ResourceDefinition { name: name.to_string(), props, ..Default::default() };
    ok(api
        .resource_definition_create(&ResourceDefinitionCreate {
            resource_definition: rd,
            ..Default::default()
        })
        .await);
    let vd = VolumeDefinition { size_kib: SIZE_KIB, ..Default::default() };
    ok(api
        .volume_definition_create(
            name,
            &VolumeDefinitionCreate { volume_definition: vd, ..Default::default() },
        )
        .await);
    let create = ResourceCreate {
        resource: linstor_api::Resource { node_name: up.node.clone(), ..Default::default() },
        ..Default::default()
    };
    ok(api.resource_create(name, &[create]).await);
}

fn device(up: &Up, rd: &str) -> PathBuf {
    up.dev().join(rd).join("0")
}

fn write_pattern(path: &Path, seed: u8) -> Vec<u8> {
    let data: Vec<u8> =
        (0..(SIZE_KIB as usize * 1024)).map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed)).collect();
    let mut f = std::fs::OpenOptions::new().write(true).open(path).expect("open device");
    f.seek(SeekFrom::Start(0)).expect("seek");
    f.write_all(&data).expect("write");
    f.sync_all().expect("sync");
    data
}

fn read_all(path: &Path) -> Vec<u8> {
    let mut data = Vec::new();
    std::fs::File::open(path).expect("open device").read_to_end(&mut data).expect("read");
    data
}

fn snap(name: &str) -> Snapshot {
    Snapshot { name: name.to_string(), ..Default::default() }
}

#[test]
fn snapshots_rollback_restore_and_clone_through_strand_up() {
    let Some(mut up) = Up::new("e2e") else { return };
    up.start();
    let api = up.client();
    runtime().block_on(async {
        let props: Props = [("Aux/Incus/name".to_string(), "incus-src".to_string())].into();
        make_rd(&api, &up, "vol", props).await;
        let dev = device(&up, "vol");
        let a = write_pattern(&dev, 1);
        let created = ok(api.snapshot_create("vol", &snap("s1")).await);
        assert!(created.iter().any(|rc| rc.is(CREATED)), "{created:#?}");
        let b = write_pattern(&dev, 2);
        ok(api.snapshot_create("vol", &snap("s2")).await);
        write_pattern(&dev, 3);

        let list = api.snapshot_list("vol").await.expect("list");
        assert_eq!(list.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["s1", "s2"]);
        let s1 = api.snapshot_get("vol", "s1").await.expect("get");
        assert_eq!(s1.flags, ["SUCCESSFUL"]);
        assert_eq!(s1.nodes, [up.node.clone()]);
        assert_eq!(s1.volume_definitions[0].size_kib, Some(SIZE_KIB));
        assert!(s1.snapshots[0].create_timestamp.unwrap_or(0) > 1_600_000_000_000);
        let view = api.snapshot_view(&ListOpts::new().resource("vol")).await.expect("view");
        assert_eq!(view.len(), 2);

        // Any snapshot, newer ones kept.
        ok(api.snapshot_rollback("vol", "s1", &SnapshotRollback::default()).await);
        assert!(read_all(&dev) == a, "data of s1");
        ok(api.snapshot_rollback("vol", "s2", &SnapshotRollback::default()).await);
        assert!(read_all(&dev) == b, "data of s2");
        assert_eq!(api.snapshot_list("vol").await.expect("list").len(), 2);

        // Restore s1 into a new resource definition.
        ok(api
            .resource_definition_create(&ResourceDefinitionCreate {
                resource_definition: ResourceDefinition { name: "restored".into(), ..Default::default() },
                ..Default::default()
            })
            .await);
        let restore = SnapshotRestore { to_resource: "restored".into(), ..Default::default() };
        ok(api.snapshot_restore_volume_definition("vol", "s1", &restore).await);
        ok(api.snapshot_restore_resource("vol", "s1", &restore).await);
        assert!(read_all(&device(&up, "restored")) == a, "restored data");
        fails_with(api.snapshot_restore_resource("vol", "s1", &restore).await, FAIL_EXISTS_RSC);

        // Clone with a new identity, applied with the creation.
        let request = ResourceDefinitionCloneRequest {
            name: Some("copy".into()),
            override_props: [("Aux/Incus/name".to_string(), "incus-copy".to_string())].into(),
            ..Default::default()
        };
        let started = api.resource_definition_clone("vol", &request).await.expect("clone");
        assert_eq!(started.location, "/v1/resource-definitions/vol/clone/copy");
        assert_eq!(
            api.resource_definition_clone_status("vol", "copy").await.expect("status").status,
            "COMPLETE"
        );
        let copy = api.resource_definition_get("copy").await.expect("clone rd");
        assert_eq!(copy.props.get("cloned-from").map(String::as_str), Some("vol"));
        assert_eq!(copy.props.get("Aux/Incus/name").map(String::as_str), Some("incus-copy"));
        assert!(read_all(&device(&up, "copy")) == b, "cloned data");
        let missing = api.resource_definition_clone_status("vol", "nothing").await;
        assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");

        // Multi snapshot, props, and the delete rules.
        let multi = CreateMultiSnapshotRequest {
            snapshots: ["vol", "copy"]
                .iter()
                .map(|rd| Snapshot {
                    name: "both".into(),
                    resource_name: Some(rd.to_string()),
                    ..Default::default()
                })
                .collect(),
        };
        ok(api.snapshot_create_multi(&multi).await);
        let change = PropsModify {
            override_props: [("Aux/why".to_string(), "test".to_string())].into(),
            ..Default::default()
        };
        ok(api.snapshot_modify("copy", "both", &change).await);
        let both = api.snapshot_get("copy", "both").await.expect("get");
        assert_eq!(both.snapshot_definition_props.get("Aux/why").map(String::as_str), Some("test"));
        fails_with(api.resource_definition_delete("vol").await, FAIL_EXISTS_SNAPSHOT_DFN);
        ok(api.snapshot_delete("copy", "both", &[]).await);
        ok(api.resource_definition_delete("copy").await);
        ok(api.resource_definition_delete("restored").await);
    });

    // After a restart: snapshots listed, files kept, image mounted once, rollback works.
    up.stop();
    up.start();
    let api = up.client();
    let pools = up.data().join("pools");
    assert!(mounts_under(&up.data()).iter().filter(|m| **m == pools).count() <= 1);
    runtime().block_on(async {
        let names: Vec<String> =
            api.snapshot_list("vol").await.expect("list").into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["both", "s1", "s2"]);
        ok(api.snapshot_rollback("vol", "s1", &SnapshotRollback::default()).await);
        let expected: Vec<u8> =
            (0..(SIZE_KIB as usize * 1024)).map(|i| (i as u8).wrapping_mul(13).wrapping_add(1)).collect();
        assert!(read_all(&device(&up, "vol")) == expected, "s1 after a restart");
        for name in ["both", "s1", "s2"] {
            ok(api.snapshot_delete("vol", name, &[]).await);
        }
        let pool_dir = pools.join("DfltStorPool");
        let left: Vec<_> =
            std::fs::read_dir(&pool_dir).expect("pool dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(left, ["vol_00000.img"], "snapshot files go with their snapshots");
        ok(api.resource_definition_delete("vol").await);
        let modify = ResourceDefinitionModify::default();
        assert!(api.resource_definition_modify("vol", &modify).await.is_err());
    });
}
