//! The filesystem under `strand up`'s default pool: one that makes reflink copies, so that
//! snapshots and clones work out of the box.
//!
//! Rules:
//! - Where the data directory's filesystem can make reflink copies (XFS with reflink, btrfs),
//!   `DATA/pools` is a plain directory.
//! - Where it cannot, and `DATA/pools` holds nothing yet, `strand up` makes a sparse XFS image
//!   `DATA/pools.xfs` (`mkfs.xfs -m reflink=1`) as large as the free space of the filesystem
//!   under it, and mounts it (loop) at `DATA/pools`. It says so once, when it makes the image.
//! - On every later start the image is mounted again if it is not mounted; it is never
//!   mounted twice (not at `DATA/pools` twice, and not while mounted elsewhere).
//! - The mount stays when `strand up` stops, like the volumes' loop devices on it. To take
//!   everything away: delete the resource definitions, stop strand, `umount DATA/pools`.
//! - `DATA/pools` that already holds volumes on a filesystem without reflink is left as it is
//!   (snapshots are then refused with the reason); so is a missing `mkfs.xfs`, with a warning
//!   that names the package to install.

use driver::host::unescape_mount_path;
use satellite::loopdev::{KernelLoops, LoopDevices};
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const POOLS_DIR: &str = "pools";
pub const IMAGE_FILE: &str = "pools.xfs";
/// Below this much free space no image is made (XFS needs 300 MiB at least).
const MIN_IMAGE_BYTES: u64 = 512 << 20;

/// Mount points of this host, as (mount point, major, minor), from one read of mountinfo.
fn mounts() -> Vec<(PathBuf, u32, u32)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let devnum = fields.nth(2)?;
            let point = fields.nth(1)?;
            let (major, minor) = satellite::loopdev::parse_devnum(devnum)?;
            Some((PathBuf::from(unescape_mount_path(point)), major, minor))
        })
        .collect()
}

pub fn is_mount_point(path: &Path) -> bool {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    mounts().iter().any(|(point, _, _)| *point == path)
}

fn have_tool(tool: &str) -> bool {
    strand_shared::find_on_path(tool).is_some()
        || ["/sbin", "/usr/sbin"].iter().any(|dir| Path::new(dir).join(tool).is_file())
}

fn run(tool: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
    let output = Command::new(tool).args(args).output().map_err(|err| format!("cannot run {tool}: {err}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!("{tool} failed: {}", String::from_utf8_lossy(&output.stderr).trim()))
}

/// Loop-mounts `image` at `dir`, after making sure it is not mounted anywhere (an unmounted
/// loop device left on the image is detached first).
fn mount_image(image: &Path, dir: &Path) -> Result<(), String> {
    let loops = KernelLoops::new();
    let image_canon = std::fs::canonicalize(image).unwrap_or_else(|_| image.to_path_buf());
    let attached: Vec<_> = loops
        .scan()
        .map_err(|err| format!("cannot list loop devices: {err}"))?
        .into_iter()
        .filter(|d| d.backing_file == image_canon && !d.backing_deleted)
        .collect();
    let mounted = mounts();
    for dev in &attached {
        if let Some((point, _, _)) = mounted.iter().find(|(_, ma, mi)| (*ma, *mi) == (dev.major, dev.minor)) {
            return Err(format!(
                "{} is already mounted at {} ({}); unmount it there first",
                image.display(),
                point.display(),
                dev.path.display()
            ));
        }
        let _ = loops.detach(dev, None);
    }
    if !have_tool("mount") {
        return Err("mount (util-linux) is not installed; install it with: apt-get install mount".into());
    }
    run(
        "mount",
        &["-t".as_ref(), "xfs".as_ref(), "-o".as_ref(), "loop".as_ref(), image.as_os_str(), dir.as_os_str()],
    )
}

/// Free space (for unprivileged users) of the filesystem holding `path`, in bytes.
fn free_bytes(path: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: statvfs is a plain-old-data struct that the call fills in.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid NUL-terminated path and a valid out pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Makes sure `DATA/pools` is on a filesystem with reflink where that can be arranged (see the
/// module rules). Errors only when an existing image cannot be mounted or a new one made.
pub fn prepare(data_dir: &Path) -> Result<(), String> {
    let pools = data_dir.join(POOLS_DIR);
    std::fs::create_dir_all(&pools).map_err(|err| format!("cannot create {}: {err}", pools.display()))?;
    let image = data_dir.join(IMAGE_FILE);
    if is_mount_point(&pools) {
        return Ok(());
    }
    if image.exists() {
        mount_image(&image, &pools)
            .map_err(|err| format!("cannot mount the default pool's XFS image {}: {err}", image.display()))?;
        tracing::info!("mounted the XFS image {} at {}", image.display(), pools.display());
        return Ok(());
    }
    match satellite::provider::reflink::probe(&pools) {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(err) => {
            tracing::warn!("cannot tell whether {} makes reflink copies: {err}", pools.display());
            return Ok(());
        }
    }
    let in_use = std::fs::read_dir(&pools).map(|mut d| d.next().is_some()).unwrap_or(true);
    if in_use {
        tracing::warn!(
            "the filesystem of {} cannot make reflink copies and it already holds pools: snapshots and \
             instant clones of the default pool are not available (move the data directory to XFS with \
             reflink or btrfs)",
            pools.display()
        );
        return Ok(());
    }
    if !have_tool("mkfs.xfs") {
        tracing::warn!(
            "the filesystem of {} cannot make reflink copies, and mkfs.xfs is missing to make an XFS image \
             for the default pool: snapshots will be refused. Install xfsprogs (apt-get install xfsprogs) \
             and start strand up again before creating volumes",
            data_dir.display()
        );
        return Ok(());
    }
    let free = free_bytes(data_dir)
        .map_err(|err| format!("cannot read the free space of {}: {err}", data_dir.display()))?;
    let size = free / (1 << 20) * (1 << 20);
    if size < MIN_IMAGE_BYTES {
        tracing::warn!(
            "the filesystem of {} cannot make reflink copies and has only {} free, too little for an XFS \
             image: snapshots of the default pool are not available",
            data_dir.display(),
            gib(free)
        );
        return Ok(());
    }
    make_image(&image, size)?;
    if let Err(err) = mount_image(&image, &pools) {
        let _ = std::fs::remove_file(&image);
        return Err(format!("cannot mount the new XFS image {}: {err}", image.display()));
    }
    tracing::info!(
        "the filesystem of {} cannot make reflink copies: the default pool lives on a sparse XFS image {} \
         ({}, reflink=1) mounted at {}, so that snapshots and clones are instant. It stays mounted when \
         strand stops and is mounted again at the next start.",
        data_dir.display(),
        image.display(),
        gib(size),
        pools.display()
    );
    Ok(())
}

/// A sparse file of `size` bytes formatted XFS with reflink; removed again on failure.
fn make_image(image: &Path, size: u64) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(image)
        .map_err(|err| format!("cannot create {}: {err}", image.display()))?;
    let made =
        file.set_len(size).map_err(|err| format!("cannot size {}: {err}", image.display())).and_then(|()| {
            run("mkfs.xfs", &["-q".as_ref(), "-m".as_ref(), "reflink=1".as_ref(), image.as_os_str()])
        });
    if let Err(err) = made {
        let _ = std::fs::remove_file(image);
        return Err(err);
    }
    Ok(())
}
