//! The daemon's copies, images and backup imports when a step fails: a daemon of this crate
//! over the real backend (on `strand up`'s controller) wrapped so that a chosen call fails;
//! after each failure nothing is left (no row, no resource definition, no snapshot, no mount,
//! no spooled upload). Then the same without faults, data compared byte for byte. Root only.

mod support;

use daemon::backend::*;
use daemon::db::Db;
use daemon::DriverBackend;
use linstor_client::ListOpts;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{call, Env};

/// The real backend, except that the `nth` call of a chosen method fails.
struct Faulty {
    inner: Arc<dyn Backend>,
    plan: Mutex<Option<(&'static str, u32)>>,
    calls: Mutex<HashMap<&'static str, u32>>,
}

impl Faulty {
    fn fail(&self, method: &'static str, nth: u32) {
        *self.plan.lock().unwrap() = Some((method, nth));
        self.calls.lock().unwrap().clear();
    }

    fn clear(&self) {
        *self.plan.lock().unwrap() = None;
        self.calls.lock().unwrap().clear();
    }

    fn check(&self, method: &'static str) -> BackendResult<()> {
        let mut calls = self.calls.lock().unwrap();
        let n = calls.entry(method).or_insert(0);
        *n += 1;
        if *self.plan.lock().unwrap() == Some((method, *n)) {
            return Err(BackendError::failed(format!("injected failure of {method} #{n}")));
        }
        Ok(())
    }
}

impl Backend for Faulty {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    fn validate_settings(&self, settings: &ServerSettings) -> BackendResult<()> {
        self.inner.validate_settings(settings)
    }
    fn configure<'a>(&'a self, settings: &'a ServerSettings) -> BoxFuture<'a, BackendResult<()>> {
        self.inner.configure(settings)
    }
    fn validate_pool_config(&self, name: &str, config: &Config) -> BackendResult<()> {
        self.inner.validate_pool_config(name, config)
    }
    fn create_pool<'a>(&'a self, name: &'a str, config: &'a Config) -> BoxFuture<'a, BackendResult<Config>> {
        self.inner.create_pool(name, config)
    }
    fn update_pool<'a>(
        &'a self,
        pool: &'a PoolRef,
        config: &'a Config,
    ) -> BoxFuture<'a, BackendResult<Config>> {
        self.inner.update_pool(pool, config)
    }
    fn delete_pool<'a>(&'a self, pool: &'a PoolRef) -> BoxFuture<'a, BackendResult<()>> {
        self.inner.delete_pool(pool)
    }
    fn pool_resources<'a>(&'a self, pool: &'a PoolRef) -> BoxFuture<'a, BackendResult<PoolSpace>> {
        self.inner.pool_resources(pool)
    }
    fn prepare_volume(&self, pool: &PoolRef, volume: &VolumeSpec) -> BackendResult<Config> {
        self.inner.prepare_volume(pool, volume)
    }
    fn validate_volume(&self, pool: &PoolRef, volume: &VolumeSpec) -> BackendResult<()> {
        self.inner.validate_volume(pool, volume)
    }
    fn create_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.check("create_volume")?;
            self.inner.create_volume(pool, volume).await
        })
    }
    fn delete_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<()>> {
        self.inner.delete_volume(pool, volume)
    }
    fn rename_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        new_name: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>> {
        self.inner.rename_volume(pool, volume, new_name)
    }
    fn update_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        config: &'a Config,
    ) -> BoxFuture<'a, BackendResult<()>> {
        self.inner.update_volume(pool, volume, config)
    }
    fn volume_usage<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<VolumeUsage>> {
        self.inner.volume_usage(pool, volume)
    }
    fn mount_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        target: Option<&'a Path>,
    ) -> BoxFuture<'a, BackendResult<MountInfo>> {
        self.inner.mount_volume(pool, volume, target)
    }
    fn unmount_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<UnmountOutcome>> {
        self.inner.unmount_volume(pool, volume)
    }
    fn volume_path<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<PathBuf>> {
        self.inner.volume_path(pool, volume)
    }
    fn volume_device<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<PathBuf>> {
        self.inner.volume_device(pool, volume)
    }
    fn recover_pools(&self) -> BoxFuture<'_, BackendResult<Vec<RecoveredPool>>> {
        self.inner.recover_pools()
    }
    fn recover_volumes<'a>(&'a self, pool: &'a PoolRef) -> BoxFuture<'a, BackendResult<RecoveredVolumes>> {
        self.inner.recover_volumes(pool)
    }
    fn create_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        name: &'a str,
    ) -> BoxFuture<'a, BackendResult<SnapshotState>> {
        Box::pin(async move {
            self.check("create_snapshot")?;
            self.inner.create_snapshot(pool, volume, name).await
        })
    }
    fn delete_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        name: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>> {
        self.inner.delete_snapshot(pool, volume, name)
    }
    fn rename_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        name: &'a str,
        new_name: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>> {
        self.inner.rename_snapshot(pool, volume, name, new_name)
    }
    fn list_snapshots<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<Vec<SnapshotState>>> {
        self.inner.list_snapshots(pool, volume)
    }
    fn restore_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        name: &'a str,
    ) -> BoxFuture<'a, BackendResult<RestoreOutcome>> {
        self.inner.restore_snapshot(pool, volume, name)
    }
    fn mount_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        name: &'a str,
        target: Option<&'a Path>,
    ) -> BoxFuture<'a, BackendResult<MountInfo>> {
        self.inner.mount_snapshot(pool, volume, name, target)
    }
    fn unmount_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        name: &'a str,
    ) -> BoxFuture<'a, BackendResult<UnmountOutcome>> {
        self.inner.unmount_snapshot(pool, volume, name)
    }
    fn copy_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        src: &'a VolumeSpec,
        dst: &'a VolumeSpec,
        snapshots: bool,
    ) -> BoxFuture<'a, BackendResult<Vec<String>>> {
        Box::pin(async move {
            self.check("copy_volume")?;
            self.inner.copy_volume(pool, src, dst, snapshots).await
        })
    }
    fn create_volume_from_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        src: &'a VolumeSpec,
        snapshot: &'a str,
        dst: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.check("create_volume_from_snapshot")?;
            self.inner.create_volume_from_snapshot(pool, src, snapshot, dst).await
        })
    }
    fn create_volume_from_image<'a>(
        &'a self,
        pool: &'a PoolRef,
        image: &'a VolumeSpec,
        dst: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.check("create_volume_from_image")?;
            self.inner.create_volume_from_image(pool, image, dst).await
        })
    }
    fn create_volume_filled<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        fill: DataWork,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.check("create_volume_filled")?;
            self.inner.create_volume_filled(pool, volume, fill).await
        })
    }
    fn with_volume_data<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        work: DataWork,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.check("with_volume_data")?;
            self.inner.with_volume_data(pool, volume, work).await
        })
    }
    fn with_snapshot_data<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        snapshot: &'a str,
        work: DataWork,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.check("with_snapshot_data")?;
            self.inner.with_snapshot_data(pool, volume, snapshot, work).await
        })
    }
}

/// The faulty daemon, stopped (its pools emptied first) when dropped.
struct FaultyDaemon {
    socket: PathBuf,
    dir: PathBuf,
    backend: Arc<Faulty>,
    running: Option<daemon::RunningDaemon>,
    rt: tokio::runtime::Handle,
}

impl Drop for FaultyDaemon {
    fn drop(&mut self) {
        self.backend.clear();
        support::delete_everything(&self.socket);
        if let Some(running) = self.running.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(20), running.stop()).await });
        }
    }
}

fn start_faulty(env: &Env) -> FaultyDaemon {
    let dir = env.dir.join("faulty");
    std::fs::create_dir_all(&dir).expect("dir");
    let settings = ServerSettings {
        controllers: vec![env.controller_url.clone()],
        satellite_name: Some(env.node.clone()),
        ..Default::default()
    };
    let inner: Arc<dyn Backend> = Arc::new(DriverBackend::new(&dir, &settings).expect("backend"));
    let backend = Arc::new(Faulty { inner, plan: Mutex::new(None), calls: Mutex::new(HashMap::new()) });
    let socket = dir.join("unix.socket");
    let db = Db::open(&dir.join("storage.db")).expect("db");
    let dyn_backend: Arc<dyn Backend> = backend.clone();
    let running = env.rt().block_on(async {
        daemon::Daemon::with_backend_in(db, dyn_backend, socket.clone(), dir.clone())
            .map(daemon::Daemon::spawn)
    });
    FaultyDaemon {
        socket,
        dir,
        backend,
        running: Some(running.expect("start the faulty daemon")),
        rt: env.rt().handle().clone(),
    }
}

/// A request with a raw body; answers the status and the raw body.
fn raw(socket: &Path, method: &str, path: &str, body: &[u8], headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
    let mut stream = UnixStream::connect(socket).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(300))).expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: unix.socket\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write");
    let _ = stream.write_all(body);
    let mut all = Vec::new();
    stream.read_to_end(&mut all).expect("read");
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
    let status = String::from_utf8_lossy(&all[..split])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let head_text = String::from_utf8_lossy(&all[..split]).to_ascii_lowercase();
    let mut payload = all[split + 4..].to_vec();
    if head_text.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = &payload[..];
        while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..end]).trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[end + 2..end + 2 + size]);
            rest = &rest[end + 4 + size..];
        }
        payload = out;
    }
    (status, payload)
}

/// Waits for the operation of an async answer; answers it finished.
fn wait(socket: &Path, answer: &Value) -> Value {
    let url = answer["operation"].as_str().unwrap_or_else(|| panic!("not an operation: {answer}"));
    call(socket, "GET", &format!("{url}/wait?timeout=120"), None, &[]).metadata().clone()
}

#[track_caller]
fn ok(socket: &Path, method: &str, path: &str, body: Option<&Value>) -> Value {
    let reply = call(socket, method, path, body, &[]);
    assert!(reply.status < 300, "{method} {path}: {:?}", reply.body);
    if reply.body["type"] == "async" {
        let op = wait(socket, &reply.body);
        assert_eq!(op["status"], "Success", "{method} {path}: {op}");
        return op;
    }
    reply.metadata().clone()
}

fn volumes(socket: &Path, pool: &str) -> Vec<String> {
    let list = ok(socket, "GET", &format!("/1.0/storage-pools/{pool}/volumes?recursion=1"), None);
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| format!("{}/{}", v["type"].as_str().unwrap(), v["name"].as_str().unwrap()))
        .collect()
}

fn definitions_of(env: &Env, group: &str) -> Vec<String> {
    let list = env.rt().block_on(env.linstor().resource_definition_list(&ListOpts::new())).expect("list");
    list.into_iter()
        .filter(|rd| rd.resource_group_name.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(group)))
        .map(|rd| rd.name)
        .collect()
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(73).wrapping_add(seed).wrapping_add((i >> 11) as u8)).collect()
}

fn mounts_under(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let dir = dir.to_string_lossy().into_owned();
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&dir))
        .map(str::to_string)
        .collect()
}

fn create_pool(socket: &Path, name: &str) {
    ok(
        socket,
        "POST",
        "/1.0/storage-pools",
        Some(&json!({"name": name, "driver": "linstor", "config": {
            "linstor.resource_group.place_count": "1",
            "linstor.resource_group.storage_pool": "DfltStorPool",
            "volume.size": "64MiB",
        }})),
    );
}

#[test]
fn failures_of_imports_copies_and_images_leave_nothing() {
    require_env!();
    let env = Env::start("cpfaults");
    let d = start_faulty(&env);
    let s = d.socket.clone();
    create_pool(&s, "fsrc");
    create_pool(&s, "fdst");
    // A volume with two snapshots, its files written through the daemon's mount.
    let vol = "/1.0/storage-pools/fsrc/volumes/custom/vol";
    ok(&s, "POST", "/1.0/storage-pools/fsrc/volumes/custom", Some(&json!({"name": "vol"})));
    let mounted = ok(&s, "POST", &format!("{vol}/mount"), Some(&json!({})));
    let dir = PathBuf::from(mounted["path"].as_str().unwrap());
    std::fs::write(dir.join("a"), pattern(1 << 20, 1)).unwrap();
    ok(&s, "POST", &format!("{vol}/snapshots"), Some(&json!({"name": "s1"})));
    std::fs::write(dir.join("a"), pattern(1 << 20, 2)).unwrap();
    ok(&s, "POST", &format!("{vol}/snapshots"), Some(&json!({"name": "s2"})));
    std::fs::write(dir.join("a"), pattern(1 << 20, 3)).unwrap();
    ok(&s, "POST", &format!("{vol}/unmount"), Some(&json!({})));

    // Export it (through the API, as `strand storage volume export` does).
    let op = ok(&s, "POST", &format!("{vol}/backups"), Some(&json!({"name": ""})));
    let backup_url =
        op["resources"]["backups"].as_array().unwrap().last().unwrap().as_str().unwrap().to_string();
    assert!(op["resources"]["backups"][0].as_str().unwrap().starts_with("/1.0/backups/"), "{op}");
    let (status, file) = raw(&s, "GET", &format!("{backup_url}/export"), b"", &[]);
    assert_eq!(status, 200);
    assert_eq!(&file[..2], &[0x1f, 0x8b], "gzip by default");
    let listed = ok(&s, "GET", &format!("{vol}/backups?recursion=1"), None);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    ok(&s, "DELETE", &backup_url, None);
    assert!(ok(&s, "GET", &format!("{vol}/backups"), None).as_array().unwrap().is_empty());

    let import = |name: &str| -> Value {
        let (status, body) = raw(
            &s,
            "POST",
            "/1.0/storage-pools/fdst/volumes/custom",
            &file,
            &[("Content-Type", "application/octet-stream"), ("X-Incus-name", name)],
        );
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 202, "{answer}");
        wait(&s, &answer)
    };
    let nothing_left = |what: &str| {
        assert!(volumes(&s, "fdst").is_empty(), "{what}: volumes left: {:?}", volumes(&s, "fdst"));
        assert!(definitions_of(&env, "fdst").is_empty(), "{what}: resource definitions left");
        assert!(mounts_under(&d.dir).is_empty(), "{what}: mounts left: {:?}", mounts_under(&d.dir));
        let spooled = std::fs::read_dir(d.dir.join("backups/.incoming")).map(|e| e.count()).unwrap_or(0);
        assert_eq!(spooled, 0, "{what}: uploads left");
    };
    // A failure at each step of an import: the volume, each snapshot's data, each snapshot,
    // the volume's data.
    for (method, nth) in [
        ("create_volume", 1),
        ("with_volume_data", 1),
        ("create_snapshot", 1),
        ("with_volume_data", 2),
        ("create_snapshot", 2),
        ("with_volume_data", 3),
    ] {
        d.backend.fail(method, nth);
        let op = import("imp");
        assert_eq!(op["status"], "Failure", "{method} #{nth}: {op}");
        assert!(op["err"].as_str().unwrap().contains("injected"), "{op}");
        nothing_left(&format!("import, {method} #{nth}"));
    }
    d.backend.clear();
    let op = import("imp");
    assert_eq!(op["status"], "Success", "{op}");
    let snaps = ok(&s, "GET", "/1.0/storage-pools/fdst/volumes/custom/imp/snapshots", None);
    assert_eq!(snaps.as_array().unwrap().len(), 2, "{snaps}");
    for (snap, seed) in [(Some("s1"), 1), (Some("s2"), 2), (None, 3)] {
        let base = "/1.0/storage-pools/fdst/volumes/custom/imp";
        let (mount, unmount) = match snap {
            Some(name) => {
                (format!("{base}/snapshots/{name}/mount"), format!("{base}/snapshots/{name}/unmount"))
            }
            None => (format!("{base}/mount"), format!("{base}/unmount")),
        };
        let m = ok(&s, "POST", &mount, Some(&json!({})));
        let path = PathBuf::from(m["path"].as_str().unwrap());
        assert!(std::fs::read(path.join("a")).unwrap() == pattern(1 << 20, seed), "{snap:?}");
        ok(&s, "POST", &unmount, Some(&json!({})));
    }
    ok(&s, "DELETE", "/1.0/storage-pools/fdst/volumes/custom/imp", None);

    // A backup whose member leaves its directory: refused before anything is made.
    let evil = {
        let mut out = Vec::new();
        let index = b"name: evil\nconfig:\n  volume:\n    name: evil\n    content_type: filesystem\n";
        daemon::archive::write_file(
            &mut out,
            "backup/index.yaml",
            index.len() as u64,
            0o644,
            0,
            &mut &index[..],
        )
        .unwrap();
        daemon::archive::write_file(&mut out, "backup/volume/../../../etc/evil", 1, 0o644, 0, &mut &b"x"[..])
            .unwrap();
        daemon::archive::write_end(&mut out).unwrap();
        out
    };
    let (status, body) = raw(
        &s,
        "POST",
        "/1.0/storage-pools/fdst/volumes/custom",
        &evil,
        &[("Content-Type", "application/octet-stream")],
    );
    assert_eq!(status, 202);
    let op = wait(&s, &serde_json::from_slice(&body).unwrap());
    assert_eq!(op["status"], "Failure");
    assert!(op["err"].as_str().unwrap().contains("leaves its directory"), "{op}");
    nothing_left("a backup that leaves its directory");

    // Copies: the backend's failure leaves no row (the driver's own steps are tested in
    // crates/driver/tests/copy.rs).
    for (method, source) in [("copy_volume", "vol"), ("create_volume_from_snapshot", "vol/s1")] {
        d.backend.fail(method, 1);
        let reply = call(
            &s,
            "POST",
            "/1.0/storage-pools/fsrc/volumes/custom",
            Some(&json!({
            "name": "copy", "source": {"type": "copy", "name": source}})),
            &[],
        );
        let op = wait(&s, &reply.body);
        assert_eq!(op["status"], "Failure", "{op}");
        assert_eq!(volumes(&s, "fsrc"), ["custom/vol"]);
        assert_eq!(definitions_of(&env, "fsrc").len(), 1);
    }
    d.backend.clear();
    let op = ok(
        &s,
        "POST",
        "/1.0/storage-pools/fsrc/volumes/custom",
        Some(&json!({
        "name": "copy", "source": {"type": "copy", "name": "vol"}})),
    );
    assert_eq!(op["metadata"]["snapshots"], json!(["s1", "s2"]));
    let snaps = ok(&s, "GET", "/1.0/storage-pools/fsrc/volumes/custom/copy/snapshots?recursion=1", None);
    assert_eq!(snaps.as_array().unwrap().len(), 2, "the copy's snapshot rows: {snaps}");

    // Images: a failed unpack leaves no image volume; a failed clone leaves no instance.
    let tree = d.dir.join("image-tree");
    std::fs::create_dir_all(tree.join("rootfs/etc")).unwrap();
    std::fs::write(tree.join("metadata.yaml"), "architecture: x86_64\n").unwrap();
    std::fs::write(tree.join("rootfs/etc/os-release"), "ID=test\n").unwrap();
    let tarball = d.dir.join("image.tar");
    let ok_tar = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&tarball)
        .arg("-C")
        .arg(&tree)
        .arg(".")
        .status()
        .unwrap();
    assert!(ok_tar.success());
    let (status, body) = raw(
        &s,
        "POST",
        "/1.0/images",
        &std::fs::read(&tarball).unwrap(),
        &[("Content-Type", "application/octet-stream")],
    );
    assert_eq!(status, 202);
    let op = wait(&s, &serde_json::from_slice(&body).unwrap());
    let fp = op["metadata"]["fingerprint"].as_str().unwrap().to_string();
    let from_image = || {
        let reply = call(
            &s,
            "POST",
            "/1.0/storage-pools/fdst/volumes/container",
            Some(&json!({
            "name": "c1", "source": {"type": "image", "fingerprint": fp}})),
            &[],
        );
        wait(&s, &reply.body)
    };
    d.backend.fail("create_volume_filled", 1);
    assert_eq!(from_image()["status"], "Failure");
    nothing_left("an image that could not be unpacked");
    d.backend.fail("create_volume_from_image", 1);
    assert_eq!(from_image()["status"], "Failure");
    assert_eq!(volumes(&s, "fdst"), [format!("image/{fp}")], "the image volume stays for the next use");
    d.backend.clear();
    assert_eq!(from_image()["status"], "Success");
    assert_eq!(volumes(&s, "fdst").len(), 2);
}
