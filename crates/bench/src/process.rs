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

/// Runs a tool; answers its trimmed output, or says what failed.
pub fn run_command(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program).args(args).output().map_err(|e| format!("{program}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// `strand ARGS` as a user types it, against the storage daemon of data directory `data`.
pub fn cli(binary: &Path, data: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(binary)
        .args(args)
        .env("STRAND_DIR", data)
        .env("STRAND_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    if !output.status.success() {
        return Err(format!("strand {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `strand up` on `DIR/data` (links in `DIR/dev`), answering once the storage daemon has made
/// its `default` pool.
pub fn up_with_default_pool(binary: &Path, dir: &Path) -> Result<(Strand, PathBuf), String> {
    let data = dir.join("data");
    let dev_dir = dir.join("dev").display().to_string();
    let node = format!("bench-{}", std::process::id());
    let (strand_up, _) =
        Strand::start(binary, &["up", "--dev-dir", &dev_dir, "--node-name", &node], &data, free_addr()?)?;
    let started = Instant::now();
    loop {
        match cli(binary, &data, &["storage", "list", "--format", "csv"]) {
            Ok(list) if list.starts_with("default,") => return Ok((strand_up, data)),
            Ok(list) => return Err(format!("no default pool after the first start: {list}")),
            Err(_) if started.elapsed() < Duration::from_secs(60) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(err) => return Err(err),
        }
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
        release_loops_under(&self.0);
        // `strand up` may have mounted its default pool's XFS image here (issue 6).
        if release_mounts_under(&self.0) {
            release_loops_under(&self.0);
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Unmounts every mount point at or under `dir`, deepest first; answers whether there was any.
pub fn release_mounts_under(dir: &Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<std::path::PathBuf> = text
        .lines()
        .filter_map(|line| line.split_whitespace().nth(4))
        .map(|point| std::path::PathBuf::from(point.replace("\\040", " ")))
        .filter(|point| point.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in &points {
        let _ = Command::new("umount").arg(point).status();
    }
    !points.is_empty()
}

/// Detaches every loop device whose backing file lies under `dir`.
pub fn release_loops_under(dir: &Path) {
    let Ok(entries) = std::fs::read_dir("/sys/block") else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Ok(backing) = std::fs::read_to_string(entry.path().join("loop/backing_file")) else { continue };
        if Path::new(backing.trim().trim_end_matches(" (deleted)")).starts_with(dir) {
            let _ = Command::new("losetup").arg("-d").arg(format!("/dev/{name}")).status();
        }
    }
}
