//! Host operations: everything the driver does to the local machine, behind one trait.
//!
//! [`HostOps`] is the only way the driver touches filesystems and block devices: making,
//! probing, mounting, growing and shrinking filesystems, new UUIDs, flushing and sizing
//! devices. [`RealHost`] runs the real tools (`mkfs.*`, `mount`, `umount`, `blkid`,
//! `resize2fs`, `e2fsck`, `xfs_growfs`, `xfs_admin`, `btrfs`, `btrfstune`, `sgdisk`) and a few
//! ioctls; tests wrap it to make a chosen step fail. Calls block: the driver runs them on
//! blocking threads.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The filesystems the driver puts on volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filesystem {
    Ext4,
    Xfs,
    Btrfs,
}

impl Filesystem {
    pub fn as_str(self) -> &'static str {
        match self {
            Filesystem::Ext4 => "ext4",
            Filesystem::Xfs => "xfs",
            Filesystem::Btrfs => "btrfs",
        }
    }

    pub fn parse(text: &str) -> Option<Filesystem> {
        match text {
            "ext4" => Some(Filesystem::Ext4),
            "xfs" => Some(Filesystem::Xfs),
            "btrfs" => Some(Filesystem::Btrfs),
            _ => None,
        }
    }

    /// ext4 (offline) and btrfs (mounted) can shrink; xfs cannot.
    pub fn can_shrink(self) -> bool {
        matches!(self, Filesystem::Ext4 | Filesystem::Btrfs)
    }

    /// Growing needs the filesystem mounted (xfs, btrfs); ext4 grows either way.
    pub fn grows_mounted(self) -> bool {
        matches!(self, Filesystem::Xfs | Filesystem::Btrfs)
    }

    /// Shrinking needs the filesystem mounted (btrfs); ext4 shrinks unmounted only.
    pub fn shrinks_mounted(self) -> bool {
        self == Filesystem::Btrfs
    }
}

impl fmt::Display for Filesystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The tool is not installed.
    #[error("{tool} is not installed (install the {package} package)")]
    NotInstalled { tool: String, package: &'static str },
    /// The tool ran and failed.
    #[error("{command} failed ({status}): {output}")]
    Failed { command: String, status: String, output: String },
    /// A system call failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The operation cannot be done this way (for example growing an unmounted xfs).
    #[error("{0}")]
    Unsupported(String),
}

impl HostError {
    /// A failure that may go away by itself (a device or mount point still busy, a DRBD
    /// device not promotable yet): worth retrying.
    pub fn is_transient(&self) -> bool {
        match self {
            HostError::Failed { output, .. } => {
                let text = output.to_ascii_lowercase();
                // "apparently in use by the system" (mkfs.ext4), "is in use" (e2fsck): an
                // exclusive open failed, e.g. during a satellite's brief usage probe.
                [
                    "busy",
                    "wrong medium type",
                    "no medium found",
                    "read-only file system",
                    "apparently in use by the system",
                    "is in use",
                ]
                .iter()
                .any(|needle| text.contains(needle))
            }
            HostError::Io { source, .. } => {
                matches!(
                    source.raw_os_error(),
                    Some(libc::EBUSY) | Some(libc::EMEDIUMTYPE) | Some(libc::EROFS)
                )
            }
            _ => false,
        }
    }
}

/// Everything the driver does on the host. Implementations must be thread-safe; every call
/// may block.
pub trait HostOps: Send + Sync + fmt::Debug {
    /// Makes a filesystem on `device`; `options` are extra arguments (`block.create_options`).
    fn mkfs(&self, device: &Path, fs: Filesystem, options: &[String]) -> Result<(), HostError>;
    /// The filesystem type on `device` (read from its superblock), `None` if there is none.
    fn probe_filesystem(&self, device: &Path) -> Result<Option<String>, HostError>;
    /// Mounts `device` on `target` with `options` (comma-separated, may be empty).
    fn mount(&self, device: &Path, target: &Path, fs: Filesystem, options: &str) -> Result<(), HostError>;
    /// Unmounts `target` (not lazily).
    fn unmount(&self, target: &Path) -> Result<(), HostError>;
    /// Whether something is mounted on `target`.
    fn is_mounted(&self, target: &Path) -> Result<bool, HostError>;
    /// Drops the page cache of `device` (stale after writes on another node).
    fn flush_device(&self, device: &Path) -> Result<(), HostError>;
    /// Writes the filesystem holding `path` to disk.
    fn sync_filesystem(&self, path: &Path) -> Result<(), HostError>;
    /// Size of a block device in bytes.
    fn device_size(&self, device: &Path) -> Result<u64, HostError>;
    /// Grows the filesystem to fill its device; `mount` is where it is mounted (needed for
    /// xfs and btrfs).
    fn grow_filesystem(&self, fs: Filesystem, device: &Path, mount: Option<&Path>) -> Result<(), HostError>;
    /// Shrinks the filesystem to `size` bytes: ext4 unmounted (checked first), btrfs mounted
    /// on `mount`. xfs cannot shrink.
    fn shrink_filesystem(
        &self,
        fs: Filesystem,
        device: &Path,
        mount: Option<&Path>,
        size: u64,
    ) -> Result<(), HostError>;
    /// Gives the (unmounted) filesystem a new UUID, so that a copy can be mounted next to its
    /// source (xfs and btrfs refuse duplicates; ext4 does not care).
    fn regenerate_uuid(&self, fs: Filesystem, device: &Path) -> Result<(), HostError>;
    /// Moves a GPT's backup header to the end of a grown disk (no GPT: nothing to do).
    fn move_gpt_alt_header(&self, device: &Path) -> Result<(), HostError>;
    /// Whether a mounted filesystem of this kind can grow here (ext4 needs the
    /// `CAP_SYS_RESOURCE` capability for it).
    fn can_grow_mounted(&self, fs: Filesystem) -> bool;
}

/// `CAP_SYS_RESOURCE`, which online ext4 resizing needs.
const CAP_SYS_RESOURCE: u32 = 24;

/// Whether this process has capability `cap` in its effective set.
fn has_capability(cap: u32) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|mask| mask & (1u64 << cap) != 0)
}

/// The real host: real tools and system calls.
#[derive(Debug, Default, Clone)]
pub struct RealHost;

impl RealHost {
    pub fn new() -> RealHost {
        RealHost
    }
}

fn package_of(tool: &str) -> &'static str {
    match tool {
        "mkfs.ext4" | "resize2fs" | "e2fsck" | "tune2fs" => "e2fsprogs",
        "mkfs.xfs" | "xfs_growfs" | "xfs_admin" => "xfsprogs",
        "mkfs.btrfs" | "btrfs" | "btrfstune" => "btrfs-progs",
        "sgdisk" => "gdisk",
        _ => "util-linux",
    }
}

/// Where each tool was found on `PATH`. A long-running process runs the same few tools again
/// and again; searching `PATH` each time costs a failed exec per directory before the tool's.
static TOOL_PATHS: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());

fn tool_paths() -> std::sync::MutexGuard<'static, BTreeMap<String, PathBuf>> {
    TOOL_PATHS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `tool` as found on `PATH` (remembered), else the bare name.
fn tool_program(tool: &str) -> PathBuf {
    if let Some(path) = tool_paths().get(tool) {
        return path.clone();
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|dir| dir.join(tool)).find(|path| {
            use std::os::unix::fs::PermissionsExt;
            path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    });
    match found {
        Some(path) => {
            tool_paths().insert(tool.to_string(), path.clone());
            path
        }
        None => PathBuf::from(tool),
    }
}

/// Runs `tool` with `args`; exit codes in `ok_codes` count as success.
fn run_with(tool: &str, args: &[&str], ok_codes: &[i32]) -> Result<String, HostError> {
    let command = format!("{tool} {}", args.join(" "));
    let started = std::time::Instant::now();
    let program = tool_program(tool);
    let output = Command::new(&program).args(args).stdin(Stdio::null()).env("LC_ALL", "C").output().map_err(
        |err| match err.kind() {
            std::io::ErrorKind::NotFound => {
                // Gone since it was found: looked for again next time.
                tool_paths().remove(tool);
                HostError::NotInstalled { tool: tool.to_string(), package: package_of(tool) }
            }
            _ => HostError::Io { what: format!("cannot run {tool}"), source: err },
        },
    )?;
    tracing::debug!("ran {command} in {:.2} ms", started.elapsed().as_secs_f64() * 1000.0);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    match output.status.code() {
        Some(code) if ok_codes.contains(&code) => Ok(stdout),
        _ => {
            // Both streams: some tools say why on stdout (e2fsck: "... is in use.").
            let stderr = String::from_utf8_lossy(&output.stderr);
            let lines: Vec<&str> =
                stderr.lines().chain(stdout.lines()).map(str::trim).filter(|l| !l.is_empty()).collect();
            Err(HostError::Failed { command, status: output.status.to_string(), output: lines.join(" / ") })
        }
    }
}

fn run(tool: &str, args: &[&str]) -> Result<String, HostError> {
    run_with(tool, args, &[0])
}

fn path_arg(path: &Path) -> Result<&str, HostError> {
    path.to_str().ok_or_else(|| HostError::Unsupported(format!("the path {} is not UTF-8", path.display())))
}

/// A device as the tools want it: the real node (`/dev/loop3`), not a link to it, so that
/// tools which look the device up in the mount table (resize2fs, e2fsck) recognize it.
fn device_arg(device: &Path) -> Result<String, HostError> {
    let real = device
        .canonicalize()
        .map_err(|source| HostError::Io { what: format!("cannot resolve {}", device.display()), source })?;
    path_arg(&real).map(str::to_string)
}

fn open(path: &Path) -> Result<File, HostError> {
    File::open(path)
        .map_err(|source| HostError::Io { what: format!("cannot open {}", path.display()), source })
}

const BLKFLSBUF: libc::Ioctl = 0x1261;
/// `_IOR(0x12, 114, size_t)`: the size of a block device in bytes.
const BLKGETSIZE64: libc::Ioctl =
    (2 << IOC_DIRSHIFT) | ((std::mem::size_of::<usize>() as libc::Ioctl) << 16) | 0x1272;
/// Where the direction bits of an ioctl number start: bit 29 on powerpc, mips and sparc.
const IOC_DIRSHIFT: libc::Ioctl = if cfg!(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
)) {
    29
} else {
    30
};

/// Mount points of this process's namespace, from `/proc/self/mountinfo`.
pub fn mount_points() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_mount_path(m)))
        .collect()
}

/// Undoes the octal escapes of mountinfo (`\040` for a space, ...).
pub fn unescape_mount_path(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|b| (b'0'..=b'7').contains(b)) {
                let value = digits.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                if let Ok(value) = u8::try_from(value) {
                    out.push(value);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl HostOps for RealHost {
    fn mkfs(&self, device: &Path, fs: Filesystem, options: &[String]) -> Result<(), HostError> {
        let device = device_arg(device)?;
        let tool = format!("mkfs.{}", fs.as_str());
        let mut args: Vec<&str> = match fs {
            // Zero the inode tables now rather than in the background after the first mount.
            Filesystem::Ext4 => vec!["-q", "-E", "nodiscard,lazy_itable_init=0,lazy_journal_init=0"],
            // The device is new: an old signature on reused storage is not data to keep.
            Filesystem::Xfs => vec!["-q", "-f"],
            Filesystem::Btrfs => vec!["-q", "-f"],
        };
        args.extend(options.iter().map(String::as_str));
        args.push(&device);
        run(&tool, &args).map(|_| ())
    }

    fn probe_filesystem(&self, device: &Path) -> Result<Option<String>, HostError> {
        // -p reads the superblocks themselves (no cache); exit code 2 means no signature.
        let device = device_arg(device)?;
        let out = run_with("blkid", &["-p", "-o", "value", "-s", "TYPE", &device], &[0, 2])?;
        let found = out.trim();
        Ok((!found.is_empty()).then(|| found.to_string()))
    }

    fn mount(&self, device: &Path, target: &Path, fs: Filesystem, options: &str) -> Result<(), HostError> {
        let device = device_arg(device)?;
        let mut args = vec!["-t", fs.as_str()];
        if !options.is_empty() {
            args.extend(["-o", options]);
        }
        args.extend([device.as_str(), path_arg(target)?]);
        run("mount", &args).map(|_| ())
    }

    fn unmount(&self, target: &Path) -> Result<(), HostError> {
        run("umount", &[path_arg(target)?]).map(|_| ())
    }

    fn is_mounted(&self, target: &Path) -> Result<bool, HostError> {
        let Ok(target) = target.canonicalize() else { return Ok(false) };
        Ok(mount_points().contains(&target))
    }

    fn flush_device(&self, device: &Path) -> Result<(), HostError> {
        let file = open(device)?;
        // SAFETY: BLKFLSBUF takes no argument; the descriptor is open for the call.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), BLKFLSBUF, 0) };
        if rc != 0 {
            return Err(HostError::Io {
                what: format!("cannot flush the buffers of {}", device.display()),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    fn sync_filesystem(&self, path: &Path) -> Result<(), HostError> {
        let file = open(path)?;
        // SAFETY: syncfs only reads the descriptor.
        if unsafe { libc::syncfs(file.as_raw_fd()) } != 0 {
            return Err(HostError::Io {
                what: format!("cannot sync the filesystem of {}", path.display()),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    fn device_size(&self, device: &Path) -> Result<u64, HostError> {
        let file = open(device)?;
        let mut size: u64 = 0;
        // SAFETY: BLKGETSIZE64 writes one u64 to the pointer, which is valid for the call.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), BLKGETSIZE64, &mut size as *mut u64) };
        if rc != 0 {
            return Err(HostError::Io {
                what: format!("cannot read the size of {}", device.display()),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(size)
    }

    fn grow_filesystem(&self, fs: Filesystem, device: &Path, mount: Option<&Path>) -> Result<(), HostError> {
        match (fs, mount) {
            (Filesystem::Ext4, mount) => {
                let device = device_arg(device)?;
                if mount.is_none() {
                    // resize2fs refuses an unmounted filesystem not checked since its last mount.
                    run_with("e2fsck", &["-f", "-y", &device], &[0, 1, 2])?;
                }
                run("resize2fs", &[&device]).map(|_| ())
            }
            (Filesystem::Xfs, Some(mount)) => run("xfs_growfs", &[path_arg(mount)?]).map(|_| ()),
            (Filesystem::Btrfs, Some(mount)) => {
                run("btrfs", &["filesystem", "resize", "max", path_arg(mount)?]).map(|_| ())
            }
            (_, None) => Err(HostError::Unsupported(format!("{fs} grows only while mounted"))),
        }
    }

    fn shrink_filesystem(
        &self,
        fs: Filesystem,
        device: &Path,
        mount: Option<&Path>,
        size: u64,
    ) -> Result<(), HostError> {
        match (fs, mount) {
            (Filesystem::Ext4, _) => {
                let device = device_arg(device)?;
                // e2fsck: 0 = clean, 1 = errors fixed, 2 = fixed (reboot advised); 4 and up fail.
                run_with("e2fsck", &["-f", "-y", &device], &[0, 1, 2])?;
                let size = format!("{}K", size / 1024);
                run("resize2fs", &[&device, &size]).map(|_| ())
            }
            (Filesystem::Btrfs, Some(mount)) => {
                let size = size.to_string();
                run("btrfs", &["filesystem", "resize", &size, path_arg(mount)?]).map(|_| ())
            }
            (Filesystem::Btrfs, None) => {
                Err(HostError::Unsupported("btrfs shrinks only while mounted".into()))
            }
            (Filesystem::Xfs, _) => Err(HostError::Unsupported("xfs filesystems cannot be shrunk".into())),
        }
    }

    fn regenerate_uuid(&self, fs: Filesystem, device: &Path) -> Result<(), HostError> {
        let device = device_arg(device)?;
        match fs {
            Filesystem::Ext4 => Ok(()),
            Filesystem::Xfs => run("xfs_admin", &["-U", "generate", &device]).map(|_| ()),
            Filesystem::Btrfs => {
                // A log left by an unclean stop makes btrfstune refuse; it is replayed empty.
                run("btrfs", &["rescue", "zero-log", &device])?;
                run("btrfstune", &["-f", "-u", &device]).map(|_| ())
            }
        }
    }

    fn can_grow_mounted(&self, fs: Filesystem) -> bool {
        fs != Filesystem::Ext4 || has_capability(CAP_SYS_RESOURCE)
    }

    fn move_gpt_alt_header(&self, device: &Path) -> Result<(), HostError> {
        let mut file = open(device)?;
        let mut signature = [0u8; 8];
        let found = file.seek(SeekFrom::Start(512)).and_then(|_| file.read_exact(&mut signature));
        if found.is_err() || &signature != b"EFI PART" {
            return Ok(());
        }
        run("sgdisk", &["--move-second-header", &device_arg(device)?]).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mount_path("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape_mount_path("/mnt/x\\134y"), "/mnt/x\\y");
        assert_eq!(unescape_mount_path("/plain"), "/plain");
        assert_eq!(unescape_mount_path("/end\\04"), "/end\\04");
        assert_eq!(unescape_mount_path("/a\\040b"), "/a b");
        assert_eq!(unescape_mount_path("/odd\\04"), "/odd\\04");
    }

    #[test]
    fn filesystems() {
        for fs in [Filesystem::Ext4, Filesystem::Xfs, Filesystem::Btrfs] {
            assert_eq!(Filesystem::parse(fs.as_str()), Some(fs));
        }
        assert!(
            !Filesystem::Xfs.can_shrink() && Filesystem::Ext4.can_shrink() && Filesystem::Btrfs.can_shrink()
        );
        assert!(Filesystem::parse("zfs").is_none());
    }

    #[test]
    fn transient_failures() {
        let busy = HostError::Failed {
            command: "umount /x".into(),
            status: "exit 32".into(),
            output: "target is busy.".into(),
        };
        assert!(busy.is_transient());
        let wrong = HostError::Failed {
            command: "mount".into(),
            status: "exit 32".into(),
            output: "wrong fs type".into(),
        };
        assert!(!wrong.is_transient());
    }
}
