//! A `strand up` cluster for the daemon's socket tests, a daemon of this crate in-process
//! against it, a small HTTP/1.1 client for unix sockets, and a guard that always cleans up.
//!
//! [`Env`]'s `Drop` deletes, through the API, every volume and pool left in both daemons (the
//! in-process one and `strand up`'s own), stops the in-process daemon and `strand up`, unmounts
//! everything mounted under the test's directory, detaches the loop devices whose files lie
//! there, and removes the directory.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// The `strand` binary: `$STRAND_BIN`, else the one built next to this test.
pub fn strand_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("STRAND_BIN") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.parent()?.join("strand");
    candidate.is_file().then_some(candidate)
}

fn have_tool(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/sbin", "/usr/sbin"].iter().map(PathBuf::from))
        .any(|d| d.join(tool).is_file())
}

/// Why these tests cannot run here; `None` when they can.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (loop devices, mkfs, mount)".into());
    }
    if !Path::new("/dev/loop-control").exists() {
        return Some("no /dev/loop-control (the loop module is not loaded)".into());
    }
    if !have_tool("mkfs.ext4") {
        return Some("mkfs.ext4 is missing (install e2fsprogs)".into());
    }
    if strand_bin().is_none() {
        return Some(
            "no strand binary next to the tests: run `cargo build -p strand` first (or set STRAND_BIN)"
                .into(),
        );
    }
    None
}

/// Skips the calling test (with the reason printed) when the environment cannot run it.
#[macro_export]
macro_rules! require_env {
    () => {
        if let Some(reason) = support::unavailable() {
            eprintln!("skipped: {reason}");
            return;
        }
    };
}

// ---- HTTP over a unix socket -------------------------------------------------------------------

/// An answer: status, headers (names lower-cased) and the JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    pub fn metadata(&self) -> &Value {
        &self.body["metadata"]
    }

    /// The ETag without its quotes.
    pub fn etag(&self) -> String {
        self.header("etag").unwrap_or_default().trim_matches('"').to_string()
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&body[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&body[start..(start + size).min(body.len())]);
        body = &body[(start + size + 2).min(body.len())..];
    }
    out
}

/// One request on a fresh connection (`Connection: close`).
pub fn try_call(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let mut stream = UnixStream::connect(socket).map_err(|e| format!("connect {}: {e}", socket.display()))?;
    stream.set_read_timeout(Some(Duration::from_secs(300))).map_err(|e| e.to_string())?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: unix.socket\r\nConnection: close\r\nContent-Length: {}\r\n",
        payload.len()
    );
    if body.is_some() {
        request.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&payload);
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("{method} {path}: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body_bytes = raw[split + 4..].to_vec();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")) {
        body_bytes = dechunk(&body_bytes);
    }
    let body = serde_json::from_slice(&body_bytes).map_err(|e| {
        format!("{method} {path}: body is not JSON ({e}): {}", String::from_utf8_lossy(&body_bytes))
    })?;
    Ok(Reply { status, headers, body })
}

#[track_caller]
pub fn call(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Reply {
    match try_call(socket, method, path, body, headers) {
        Ok(reply) => reply,
        Err(err) => panic!("{err}"),
    }
}

// ---- the environment ---------------------------------------------------------------------------

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

/// Mount points under `dir`, deepest first.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| m.starts_with(dir))
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    found.dedup();
    found
}

fn unmount_all_under(dir: &Path) {
    for _ in 0..5 {
        let mounts = mounts_under(dir);
        if mounts.is_empty() {
            return;
        }
        for point in mounts {
            let Ok(c) = std::ffi::CString::new(point.as_os_str().as_encoded_bytes()) else { continue };
            // SAFETY: a NUL-terminated path.
            if unsafe { libc::umount2(c.as_ptr(), 0) } != 0 {
                // SAFETY: as above.
                unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
            }
        }
    }
}

/// Deletes every volume and pool a daemon has (best effort).
pub fn delete_everything(socket: &Path) {
    let Ok(pools) = try_call(socket, "GET", "/1.0/storage-pools", None, &[]) else { return };
    for pool in pools.metadata().as_array().cloned().unwrap_or_default() {
        let Some(pool) = pool.as_str() else { continue };
        let url = format!("{pool}/volumes?all-projects=true&recursion=1");
        let volumes =
            try_call(socket, "GET", &url, None, &[]).map(|r| r.metadata().clone()).unwrap_or(Value::Null);
        for volume in volumes.as_array().cloned().unwrap_or_default() {
            let (Some(t), Some(name), Some(project)) =
                (volume["type"].as_str(), volume["name"].as_str(), volume["project"].as_str())
            else {
                continue;
            };
            let path = format!("{pool}/volumes/{t}/{name}?project={project}");
            for _ in 0..5 {
                let Ok(r) =
                    try_call(socket, "POST", &path.replace('?', "/unmount?"), Some(&Value::Null), &[])
                else {
                    break;
                };
                if r.metadata()["status"] != "in-use" {
                    break;
                }
            }
            let _ = try_call(socket, "DELETE", &path, None, &[]);
        }
        let _ = try_call(socket, "DELETE", pool, None, &[]);
    }
}

/// `strand up` in a temporary directory, and this crate's daemon in-process against it.
pub struct Env {
    pub dir: PathBuf,
    /// `http://127.0.0.1:<port>` of strand up's controller.
    pub controller_url: String,
    pub node: String,
    /// strand up's own storage daemon.
    pub up_socket: PathBuf,
    /// The in-process daemon's socket.
    pub socket: PathBuf,
    strand: Option<Child>,
    pub rt: Option<tokio::runtime::Runtime>,
    daemon: Option<daemon::RunningDaemon>,
}

impl Env {
    pub fn start(tag: &str) -> Env {
        let seq = SEQ.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("strand-daemon-{tag}-{}-{seq}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("test directory");
        let port = free_port();
        let node = format!("dmn-{}-{seq}", std::process::id());
        let mut env = Env {
            controller_url: format!("http://127.0.0.1:{port}"),
            up_socket: dir.join("up").join("unix.socket"),
            socket: dir.join("daemon").join("unix.socket"),
            node: node.clone(),
            dir: dir.clone(),
            strand: None,
            rt: None,
            daemon: None,
        };
        let log = std::fs::File::create(dir.join("strand.log")).expect("log file");
        let mut command = Command::new(strand_bin().expect("strand binary"));
        command
            .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--node-name", &node, "--data-dir"])
            .arg(dir.join("up"))
            .arg("--dev-dir")
            .arg(dir.join("dev"))
            .env("STRAND_LOG", "info")
            .env_remove("STRAND_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; strand dies with the test process.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        env.strand = Some(command.spawn().expect("start strand up"));
        let started = Instant::now();
        while try_call(&env.up_socket, "GET", "/1.0", None, &[]).is_err() {
            if let Some(child) = env.strand.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("strand up exited ({status}):\n{}", env.log());
                }
            }
            assert!(started.elapsed() < Duration::from_secs(120), "strand up did not start:\n{}", env.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let options = daemon::DaemonOptions {
            controllers: Some(env.controller_url.clone()),
            satellite_name: Some(node),
            ..daemon::DaemonOptions::new(dir.join("daemon"))
        };
        let running = rt.block_on(async { daemon::Daemon::open(options).map(daemon::Daemon::spawn) });
        env.daemon = Some(running.expect("start the daemon"));
        env.rt = Some(rt);
        env
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("strand.log")).unwrap_or_default()
    }

    pub fn daemon(&self) -> &daemon::RunningDaemon {
        self.daemon.as_ref().expect("daemon running")
    }

    pub fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("runtime")
    }

    /// A LINSTOR client on strand up's controller.
    pub fn linstor(&self) -> linstor_client::Client {
        linstor_client::Client::new(&self.controller_url).expect("LINSTOR client")
    }

    /// A request to the in-process daemon.
    #[track_caller]
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        call(&self.socket, method, path, body, &[])
    }

    #[track_caller]
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        call(&self.socket, method, path, body, headers)
    }

    fn stop_strand(&mut self) {
        let Some(mut child) = self.strand.take() else { return };
        // SAFETY: a signal to the child this guard started.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        delete_everything(&self.socket);
        delete_everything(&self.up_socket);
        if let (Some(rt), Some(daemon)) = (self.rt.as_ref(), self.daemon.take()) {
            let _ = rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), daemon.stop()).await });
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
        self.stop_strand();
        unmount_all_under(&self.dir);
        testbed::detach_loops_under(&self.dir);
        if std::thread::panicking() {
            eprintln!("strand up log:\n{}", self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
