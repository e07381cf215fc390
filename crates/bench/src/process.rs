//! Starting and stopping `strand` processes for a benchmark, with a guard that always stops
//! them and removes their data.

use crate::http::Http;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Strand {
    pub child: Child,
}

impl Strand {
    /// Starts `strand ARGS --listen ADDR --data-dir DIR` and waits for `/health`.
    pub fn start(
        binary: &Path,
        command: &[&str],
        data_dir: &Path,
        addr: SocketAddr,
    ) -> Result<(Strand, Duration), String> {
        let started = Instant::now();
        let child = Command::new(binary)
            .args(command)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(data_dir)
            .env("STRAND_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|err| format!("cannot start {}: {err}", binary.display()))?;
        let strand = Strand { child };
        loop {
            if let Ok(mut http) = Http::connect(addr) {
                if http.get("/health").map(|r| r.status == 200).unwrap_or(false) {
                    return Ok((strand, started.elapsed()));
                }
            }
            if started.elapsed() > Duration::from_secs(120) {
                return Err("strand did not answer within 120 s".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Strand {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free local port.
pub fn free_addr() -> Result<SocketAddr, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|err| format!("no free port: {err}"))
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Result<TempDir, String> {
        let path = std::env::temp_dir().join(format!("strand-bench-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(|err| format!("cannot create {}: {err}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
