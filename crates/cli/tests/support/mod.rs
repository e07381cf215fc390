//! The `strand up` fixture of the CLI's end-to-end tests: a `strand up` on a temporary
//! directory, driven through the `strand` binary as a user would. The guard always cleans up,
//! whatever happened: read-only snapshot mounts, volumes and pools through the storage API,
//! snapshots and resource definitions through LINSTOR, then strand stops, everything under the
//! test's directory is unmounted and detached, and the directory is removed.
#![allow(dead_code)] // each test file uses its own part of the fixture

use linstor_client::ListOpts;
use serde_json::Value;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const STRAND: &str = env!("CARGO_BIN_EXE_strand");

pub fn have_tool(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/sbin", "/usr/sbin"].iter().map(PathBuf::from))
        .any(|dir| dir.join(tool).is_file())
}

/// Why these tests cannot run here; `None` when they can.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("strand up needs root (loop devices, mkfs, mount)".into());
    }
    if !Path::new("/dev/loop-control").exists() {
        return Some("no /dev/loop-control (the loop module is not loaded)".into());
    }
    for (tool, package) in
        [("mkfs.ext4", "e2fsprogs"), ("mkfs.xfs", "xfsprogs"), ("sha256sum", "coreutils"), ("tar", "tar")]
    {
        if !have_tool(tool) {
            return Some(format!("{tool} is missing (install {package})"));
        }
    }
    None
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }

    /// A failure as Incus reports one: a non-zero exit and one line `Error: ...` that contains
    /// every one of `fragments`.
    #[track_caller]
    pub fn fails(self, fragments: &[&str]) -> Run {
        assert_ne!(self.code, 0, "expected a failure: {self:#?}");
        let line = self.stderr.trim_end();
        assert!(line.starts_with("Error: ") && !line.contains('\n'), "not one `Error:` line: {self:#?}");
        for fragment in fragments {
            assert!(line.contains(fragment), "the error does not name {fragment:?}: {line}");
        }
        self
    }

    /// A failure whose error output says `fragment` somewhere.
    #[track_caller]
    pub fn fails_saying(self, fragment: &str) -> Run {
        assert_ne!(self.code, 0, "expected a failure: {self:#?}");
        assert!(self.stderr.contains(fragment), "the error does not say {fragment:?}: {self:#?}");
        self
    }

    /// The output's only line.
    pub fn line(&self) -> String {
        self.stdout.trim().to_string()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.stdout))
    }
}

/// `strand up` on a temporary directory; everything goes on drop.
pub struct Up {
    pub dir: PathBuf,
    pub child: Option<Child>,
    pub port: u16,
    pub node: String,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

impl Up {
    /// A started `strand up`, or `None` (with the reason printed) where it cannot run.
    pub fn start(tag: &str) -> Option<Up> {
        if let Some(why) = unavailable() {
            eprintln!("skipping {tag}: {why}");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("strand-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("test directory");
        let node = format!("cli-{tag}-{}", std::process::id());
        let mut up = Up { dir, child: None, port: 0, node };
        up.run_strand();
        Some(up)
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("up.log")).unwrap_or_default()
    }

    /// Starts `strand up` and waits until its storage daemon answers.
    pub fn run_strand(&mut self) {
        self.port = free_port();
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("up.log")).expect("log");
        let child = Command::new(STRAND)
            .args(["up", "--listen", &format!("127.0.0.1:{}", self.port), "--node-name", &self.node])
            .arg("--data-dir")
            .arg(self.data())
            .arg("--dev-dir")
            .arg(self.dir.join("dev"))
            .env_remove("STRAND_DIR")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start strand up");
        self.child = Some(child);
        let socket = self.data().join("unix.socket");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() || UnixStream::connect(&socket).is_err() {
            let exited = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            assert!(exited.is_none(), "strand up exited: {}", self.log());
            assert!(started.elapsed() < Duration::from_secs(90), "strand up did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Graceful stop (SIGTERM), as an operator would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.run_strand();
    }

    pub fn command(&self, args: &[&str], env_dir: bool) -> Run {
        let mut command = Command::new(STRAND);
        command.args(args).stdin(Stdio::null()).env("STRAND_LOG", "warn");
        if env_dir {
            command.env("STRAND_DIR", self.data());
        } else {
            command.env_remove("STRAND_DIR");
        }
        let out = command.output().expect("run strand");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `strand storage ARGS` (the data directory from `STRAND_DIR`).
    pub fn storage(&self, args: &[&str]) -> Run {
        let mut all = vec!["storage"];
        all.extend_from_slice(args);
        self.command(&all, true)
    }

    /// `strand linstor --controllers <this> ARGS`.
    pub fn linstor(&self, args: &[&str]) -> Run {
        let controller = format!("127.0.0.1:{}", self.port);
        let mut all = vec!["linstor", "--controllers", controller.as_str()];
        all.extend_from_slice(args);
        self.command(&all, false)
    }

    /// `strand ARGS` (the data directory from `STRAND_DIR`).
    pub fn strand(&self, args: &[&str]) -> Run {
        self.command(args, true)
    }

    /// `strand storage volume snapshot ARGS`.
    pub fn snapshot(&self, args: &[&str]) -> Run {
        let mut all = vec!["storage", "volume", "snapshot"];
        all.extend_from_slice(args);
        self.command(&all, true)
    }

    /// The resource definition whose `Aux/Incus/name` is `aux`.
    pub fn rd_named(&self, aux: &str) -> Value {
        let rds = self.linstor(&["-m", "rd", "list"]).ok().json();
        let found: Vec<Value> = rds
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .flat_map(|rd| rd.as_array().cloned().unwrap_or_else(|| vec![rd]))
            .filter(|rd| rd["props"]["Aux/Incus/name"].as_str() == Some(aux))
            .collect();
        assert_eq!(found.len(), 1, "resource definitions named {aux}: {found:?}");
        found[0].clone()
    }

    /// A LINSTOR client of this `strand up`, with a runtime to drive it.
    pub fn client(&self) -> (tokio::runtime::Runtime, linstor_client::Client) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let client = linstor_client::Client::new(&format!("127.0.0.1:{}", self.port)).expect("client");
        (rt, client)
    }

    /// Mounts a volume (or a snapshot, read-only) and answers where.
    pub fn mount(&self, pool: &str, volume: &str, snapshot: Option<&str>) -> PathBuf {
        let run = match snapshot {
            Some(snap) => self.storage(&["volume", "snapshot", "mount", pool, volume, snap]),
            None => self.storage(&["volume", "mount", pool, volume]),
        };
        PathBuf::from(run.ok().line())
    }

    pub fn unmount(&self, pool: &str, volume: &str, snapshot: Option<&str>) {
        match snapshot {
            Some(snap) => self.storage(&["volume", "snapshot", "unmount", pool, volume, snap]).ok(),
            None => self.storage(&["volume", "unmount", pool, volume]).ok(),
        };
    }

    /// Deletes, best effort, every volume (its read-only snapshot mounts first) and pool through
    /// the storage API, then every snapshot and resource definition through LINSTOR.
    pub fn delete_everything(&self) {
        if self.child.is_none() {
            return;
        }
        let pools = self.storage(&["list", "--format", "json"]);
        let pools: Value = serde_json::from_str(&pools.stdout).unwrap_or(Value::Null);
        for pool in pools.as_array().map(Vec::as_slice).unwrap_or_default() {
            let name = pool["name"].as_str().unwrap_or_default();
            let volumes = self.storage(&["volume", "list", name, "--format", "json"]);
            let volumes: Value = serde_json::from_str(&volumes.stdout).unwrap_or(Value::Null);
            for volume in volumes.as_array().map(Vec::as_slice).unwrap_or_default() {
                let id = format!(
                    "{}/{}",
                    volume["type"].as_str().unwrap_or_default(),
                    volume["name"].as_str().unwrap_or_default()
                );
                let snapshots = self.snapshot(&["list", name, &id, "--format", "json"]);
                let snapshots: Value = serde_json::from_str(&snapshots.stdout).unwrap_or(Value::Null);
                for snapshot in snapshots.as_array().map(Vec::as_slice).unwrap_or_default() {
                    let snap =
                        snapshot["name"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default();
                    for _ in 0..4 {
                        if self.snapshot(&["unmount", name, &id, snap]).code != 0 {
                            break;
                        }
                    }
                }
                for _ in 0..4 {
                    if self.storage(&["volume", "unmount", name, &id]).code != 0 {
                        break;
                    }
                }
                let _ = self.storage(&["volume", "delete", name, &id]);
            }
            let _ = self.storage(&["delete", name]);
        }
        let (rt, client) = self.client();
        rt.block_on(async {
            let Ok(rds) = client.resource_definition_list(&ListOpts::new()).await else { return };
            for rd in rds {
                for snapshot in client.snapshot_list(&rd.name).await.unwrap_or_default() {
                    let _ = client.snapshot_delete(&rd.name, &snapshot.name, &[]).await;
                }
                let _ = client.resource_definition_delete(&rd.name).await;
            }
        });
    }
}

/// Mount points at or under `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
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

impl Drop for Up {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("strand up log:\n{}", self.log());
        }
        self.delete_everything();
        self.stop();
        // Volumes' filesystems, then their loop devices (their files live on the pool's XFS
        // image), then the image's mount and its loop device.
        for _ in 0..5 {
            for point in mounts_under(&self.dir) {
                let _ = Command::new("umount").arg(&point).stderr(Stdio::null()).status();
            }
            for (device, _) in testbed::loops_under(&self.dir) {
                let _ = Command::new("losetup").args(["-d", &device]).stderr(Stdio::null()).status();
            }
            if mounts_under(&self.dir).is_empty() && testbed::loops_under(&self.dir).is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The rows of an Incus table (cells trimmed), header row first.
pub fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|line| line.starts_with('|') && !line.trim_matches('|').chars().all(|c| c == '='))
        .map(|line| line.trim_matches('|').split('|').map(|cell| cell.trim().to_string()).collect())
        .collect()
}
