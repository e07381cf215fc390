//! Shared helpers for the real-device tests: a temporary directory per test that cleans up
//! every loop device, mount and file under it when dropped, even when the test fails.

#![allow(dead_code)]

use controller::link::{DesiredState, Observed, PoolSpec, VolumeReport, VolumeSpec};
use satellite::loopdev::{KernelLoops, LoopDevice, LoopDevices};
use satellite::{Satellite, SatelliteConfig};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

pub const NODE: &str = "node-a";

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A test's own directory `/tmp/strand-test-<tag>-<pid>-<n>` with its device link dir `dev`.
pub struct TestEnv {
    pub root: PathBuf,
    pub dev_dir: PathBuf,
}

impl TestEnv {
    /// `None` (after printing why) when the test cannot run here.
    pub fn new(tag: &str) -> Option<TestEnv> {
        if !is_root() {
            eprintln!("skipping {tag}: needs root for loop devices and mounts");
            return None;
        }
        if !Path::new("/dev/loop-control").exists() {
            eprintln!("skipping {tag}: no /dev/loop-control (loop module not loaded)");
            return None;
        }
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let root = PathBuf::from(format!("/tmp/strand-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create test dir");
        let dev_dir = root.join("dev");
        Some(TestEnv { root, dev_dir })
    }

    pub fn satellite(&self) -> Satellite {
        Satellite::new(SatelliteConfig::new(NODE).with_dev_dir(&self.dev_dir)).expect("satellite")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Loop devices whose backing file lies under this test's directory.
    pub fn loops(&self) -> Vec<LoopDevice> {
        loops_under(&self.root)
    }

    pub fn loops_for(&self, file: &Path) -> Vec<LoopDevice> {
        self.loops().into_iter().filter(|d| d.backing_file == file).collect()
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        cleanup(&self.root);
    }
}

pub fn loops_under(root: &Path) -> Vec<LoopDevice> {
    KernelLoops::new()
        .scan()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d.backing_file.starts_with(root))
        .collect()
}

/// Mount points under `root`, deepest first.
pub fn mounts_under(root: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .map(|m| PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| m.starts_with(root))
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    found
}

fn detach_all(root: &Path) {
    let loops = KernelLoops::new();
    let mounts = satellite::usage::Mounts::read();
    for dev in loops_under(root) {
        // A mounted device (the XFS image) goes with its mount, after the volumes on it.
        if !mounts.contains(dev.major, dev.minor) {
            let _ = loops.detach(&dev, None);
        }
    }
}

/// Removes every loop device, mount and file under `root`.
pub fn cleanup(root: &Path) {
    detach_all(root);
    for m in mounts_under(root) {
        let c = satellite_cpath(&m);
        // SAFETY: valid NUL-terminated path.
        if unsafe { libc::umount2(c.as_ptr(), 0) } != 0 {
            // SAFETY: as above.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !loops_under(root).is_empty() && Instant::now() < deadline {
        detach_all(root);
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(root);
}

fn satellite_cpath(p: &Path) -> std::ffi::CString {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes()).expect("path without NUL")
}

pub fn pool(name: &str, kind: &str, backing: &Path) -> PoolSpec {
    PoolSpec { name: name.into(), provider_kind: kind.into(), backing: backing.display().to_string() }
}

pub fn vol(resource: &str, volume_number: i32, pool: &str, size_kib: i64) -> VolumeSpec {
    VolumeSpec { resource: resource.into(), volume_number, pool: pool.into(), size_kib, source: None }
}

pub fn desired(generation: u64, pools: Vec<PoolSpec>, volumes: Vec<VolumeSpec>) -> DesiredState {
    DesiredState { node_name: NODE.into(), generation, storage_pools: pools, volumes, ..Default::default() }
}

/// A report without the numbers other processes change (free space of a shared filesystem).
pub fn steady(o: &Observed) -> Observed {
    let mut o = o.clone();
    for p in &mut o.storage_pools {
        p.free_capacity_kib = 0;
    }
    o
}

pub fn report<'a>(o: &'a Observed, rsc: &str, nr: i32) -> &'a VolumeReport {
    o.volumes
        .iter()
        .find(|v| v.resource == rsc && v.volume_number == nr)
        .unwrap_or_else(|| panic!("no report for {rsc}/{nr} in {o:#?}"))
}

/// Asserts a volume is up to date, and answers its device path.
pub fn healthy(o: &Observed, rsc: &str, nr: i32, size_kib: i64) -> PathBuf {
    let r = report(o, rsc, nr);
    assert_eq!(r.error, None, "{r:#?}");
    assert_eq!(r.disk_state, "UpToDate", "{r:#?}");
    assert_eq!(r.usable_size_kib, size_kib, "{r:#?}");
    let dev = PathBuf::from(r.device_path.clone().expect("device path"));
    assert_eq!(satellite::loopdev::block_device_size(&dev).expect("BLKGETSIZE64"), size_kib as u64 * 1024);
    let link = PathBuf::from(r.stable_path.clone().expect("stable path"));
    assert_eq!(std::fs::read_link(&link).expect("link"), dev);
    dev
}

pub fn write_at(path: &Path, offset: u64, data: &[u8]) {
    let mut f = std::fs::OpenOptions::new().write(true).open(path).expect("open for write");
    f.seek(SeekFrom::Start(offset)).expect("seek");
    f.write_all(data).expect("write");
    f.sync_all().expect("sync");
}

pub fn read_at(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let mut f = std::fs::File::open(path).expect("open for read");
    f.seek(SeekFrom::Start(offset)).expect("seek");
    let mut buf = vec![0; len];
    f.read_exact(&mut buf).expect("read");
    buf
}

pub fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// Runs a command; `None` (after printing why) when the tool is missing.
pub fn run(tool: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(tool).args(args).output() {
        Ok(out) => {
            assert!(out.status.success(), "{tool} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
            Some(out)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipping: {tool} is not installed");
            None
        }
        Err(e) => panic!("{tool}: {e}"),
    }
}

pub fn have(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
        || ["/sbin", "/usr/sbin"].iter().any(|d| Path::new(d).join(tool).is_file());
    if !found {
        eprintln!("skipping: {tool} is not installed");
    }
    found
}
