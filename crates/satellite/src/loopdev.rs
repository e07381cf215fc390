//! Loop devices, driven by ioctl on `/dev/loop-control` and `/dev/loopN`, and discovered through
//! `/sys/block/loopN/loop/*`.
//!
//! Rules kept here:
//! - A device is found again by the *identity* of its backing file (device and inode from
//!   `LOOP_GET_STATUS64`), not only by its name: the kernel reports an unlinked backing file as
//!   `<path> (deleted)`, and a new file may since have taken that name.
//! - Scanning opens no device: sysfs says everything except the backing file's identity, and
//!   that is asked only for devices whose backing file lies in a directory we manage. (Opening
//!   and closing a device marked autoclear that nobody else holds would detach it.)
//! - Attaching never reuses a busy device: `LOOP_CTL_GET_FREE` can race with other processes,
//!   so `EBUSY` from the configure call means "take the next free one".
//! - Detaching verifies the device still holds the expected file, and then that the kernel
//!   really let go of it: `LOOP_CLR_FD` on a device that someone else holds open only sets
//!   autoclear and succeeds, so success of the ioctl alone proves nothing.
//! - New devices are never marked autoclear: they must outlive the process.
//! - Every device has a 512-byte logical block size, whatever the backing file ([`BLOCK_SIZE`]),
//!   so a device looks the same on every attach.

use crate::action::{DeleteAction, SetAction};
use crate::sys::{self, FileId};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const LOOP_SET_FD: libc::Ioctl = 0x4C00;
const LOOP_CLR_FD: libc::Ioctl = 0x4C01;
const LOOP_SET_STATUS64: libc::Ioctl = 0x4C04;
const LOOP_GET_STATUS64: libc::Ioctl = 0x4C05;
const LOOP_SET_CAPACITY: libc::Ioctl = 0x4C07;
const LOOP_SET_DIRECT_IO: libc::Ioctl = 0x4C08;
const LOOP_CONFIGURE: libc::Ioctl = 0x4C0A;
const LOOP_CTL_GET_FREE: libc::Ioctl = 0x4C82;

/// The logical block size of every volume device. Left to the kernel (0), it follows the
/// direct-I/O alignment of the backing file, which changes once a file shares blocks with a
/// snapshot or clone (XFS then answers its 4 KiB block size): a filesystem made on a 512-byte
/// device would no longer mount after the next attach. Fixed at 512 (the kernel's default
/// without direct I/O, and what LINSTOR's `losetup` gets), the device looks the same on
/// every attach; direct I/O is then used only where the file allows 512-byte alignment.
const BLOCK_SIZE: u32 = 512;
const LO_FLAGS_AUTOCLEAR: u32 = 4;
const LO_FLAGS_DIRECT_IO: u32 = 16;
const LO_NAME_SIZE: usize = 64;

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

/// `struct loop_info64` of `<linux/loop.h>`.
#[repr(C)]
#[derive(Clone, Copy)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; LO_NAME_SIZE],
    lo_crypt_name: [u8; LO_NAME_SIZE],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

/// `struct loop_config` of `<linux/loop.h>` (Linux 5.8+).
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

const _: () = assert!(std::mem::size_of::<LoopInfo64>() == 232);
const _: () = assert!(std::mem::size_of::<LoopConfig>() == 304);

impl LoopInfo64 {
    fn zeroed() -> LoopInfo64 {
        LoopInfo64 {
            lo_device: 0,
            lo_inode: 0,
            lo_rdevice: 0,
            lo_offset: 0,
            lo_sizelimit: 0,
            lo_number: 0,
            lo_encrypt_type: 0,
            lo_encrypt_key_size: 0,
            lo_flags: 0,
            lo_file_name: [0; LO_NAME_SIZE],
            lo_crypt_name: [0; LO_NAME_SIZE],
            lo_encrypt_key: [0; 32],
            lo_init: [0; 2],
        }
    }

    fn for_file(file: &Path, flags: u32) -> LoopInfo64 {
        use std::os::unix::ffi::OsStrExt;
        let mut info = LoopInfo64::zeroed();
        info.lo_flags = flags;
        let name = file.as_os_str().as_bytes();
        let n = name.len().min(LO_NAME_SIZE - 1);
        info.lo_file_name[..n].copy_from_slice(&name[..n]);
        info
    }
}

/// A bound loop device as sysfs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopDevice {
    pub number: u32,
    /// `/dev/loopN`.
    pub path: PathBuf,
    /// The backing file's current path, without the kernel's ` (deleted)` suffix.
    pub backing_file: PathBuf,
    /// The backing file has been unlinked.
    pub backing_deleted: bool,
    pub autoclear: bool,
    pub direct_io: bool,
    pub size_bytes: u64,
    pub major: u32,
    pub minor: u32,
}

/// What a bound device says of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceStatus {
    pub backing: FileId,
    pub size_bytes: u64,
    pub autoclear: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    #[error("{op} {}: {source}", path.display())]
    Io { op: &'static str, path: PathBuf, source: io::Error },
    #[error("no free loop device after {0} attempts: other processes keep taking them")]
    NoFreeDevice(u32),
    #[error(
        "{} is still open elsewhere (mounted or held by a process); the kernel will detach it when \
         its last user closes it",
        device.display()
    )]
    DetachDeferred { device: PathBuf },
    #[error("{} vanished right after it was configured", device.display())]
    Vanished { device: PathBuf },
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> LoopError {
    let path = path.to_path_buf();
    move |source| LoopError::Io { op, path, source }
}

/// Loop devices: the one side-effecting subsystem the satellite attaches volumes with.
pub trait LoopDevices: Send + Sync {
    /// Every bound loop device, from sysfs. Opens no device.
    fn scan(&self) -> Result<Vec<LoopDevice>, LoopError>;
    /// One device re-read from sysfs; `None` when it is not bound.
    fn get(&self, number: u32) -> Result<Option<LoopDevice>, LoopError>;
    /// The identity of the file `dev` is attached to and the device's size, asked of the
    /// device itself; `None` when it is no longer bound.
    fn status(&self, dev: &LoopDevice) -> Result<Option<DeviceStatus>, LoopError>;
    /// Attaches `file` to a new loop device, with direct I/O where the filesystem allows it.
    /// Callers look for an existing device first: this always binds a new one.
    fn attach(&self, file: &Path) -> Result<LoopDevice, LoopError>;
    /// Makes the device pick up its backing file's current size; returns the new size in bytes.
    fn refresh_capacity(&self, dev: &LoopDevice) -> Result<u64, LoopError>;
    /// Removes the autoclear mark (left by a detach that was deferred because the device was
    /// open), so that the device stays bound.
    fn clear_autoclear(&self, dev: &LoopDevice) -> Result<SetAction, LoopError>;
    /// Detaches `dev` if it is still attached to `expected` (any file when `None`).
    fn detach(&self, dev: &LoopDevice, expected: Option<FileId>) -> Result<DeleteAction, LoopError>;
}

/// The kernel's loop driver.
#[derive(Debug, Clone)]
pub struct KernelLoops {
    control: PathBuf,
    /// Lists the block devices that have a size: for loop devices, exactly the bound ones.
    partitions: PathBuf,
    sys_block: PathBuf,
    dev: PathBuf,
    detach_timeout: Duration,
}

impl Default for KernelLoops {
    fn default() -> Self {
        KernelLoops {
            control: PathBuf::from("/dev/loop-control"),
            partitions: PathBuf::from("/proc/partitions"),
            sys_block: PathBuf::from("/sys/block"),
            dev: PathBuf::from("/dev"),
            detach_timeout: Duration::from_millis(500),
        }
    }
}

const ATTACH_ATTEMPTS: u32 = 32;

impl KernelLoops {
    pub fn new() -> KernelLoops {
        KernelLoops::default()
    }

    /// Numbers of the loop devices that may be bound. A machine can have thousands of unbound
    /// loop devices; `/proc/partitions` names only those with a size (a bound device always has
    /// one here: volume files are never empty), so a scan costs what is bound, not what exists.
    /// Where it cannot be read, every `/sys/block/loopN` is a candidate.
    fn candidate_numbers(&self) -> Result<Vec<u32>, LoopError> {
        let loop_number = |name: &str| name.strip_prefix("loop").and_then(|n| n.parse::<u32>().ok());
        if let Ok(partitions) = fs::read_to_string(&self.partitions) {
            return Ok(partitions
                .lines()
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let blocks: u64 = fields.get(2)?.parse().ok()?;
                    (blocks > 0).then(|| loop_number(fields.get(3)?)).flatten()
                })
                .collect());
        }
        let entries = fs::read_dir(&self.sys_block).map_err(io_err("read", &self.sys_block))?;
        let mut numbers = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("read", &self.sys_block))?;
            if let Some(number) = entry.file_name().to_str().and_then(loop_number) {
                numbers.push(number);
            }
        }
        Ok(numbers)
    }

    fn sys_loop(&self, number: u32) -> PathBuf {
        self.sys_block.join(format!("loop{number}"))
    }

    fn read_sys(&self, number: u32) -> io::Result<Option<LoopDevice>> {
        let base = self.sys_loop(number);
        let backing = match read_attribute(&base.join("loop/backing_file")) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let (backing_file, backing_deleted) = parse_backing_file(&backing);
        let text = |path: PathBuf| -> io::Result<String> {
            Ok(String::from_utf8_lossy(&read_attribute(&path)?).trim().to_string())
        };
        let autoclear = text(base.join("loop/autoclear"))? == "1";
        let direct_io = text(base.join("loop/dio"))? == "1";
        let sectors: u64 = text(base.join("size"))?.parse().unwrap_or(0);
        let (major, minor) = parse_devnum(&text(base.join("dev"))?).unwrap_or((0, 0));
        Ok(Some(LoopDevice {
            number,
            path: self.dev.join(format!("loop{number}")),
            backing_file,
            backing_deleted,
            autoclear,
            direct_io,
            size_bytes: sectors * 512,
            major,
            minor,
        }))
    }

    /// A device just configured for `file`, described from its open descriptor.
    fn describe(
        &self,
        dev: &fs::File,
        number: u32,
        path: &Path,
        file: &Path,
    ) -> Result<LoopDevice, LoopError> {
        use std::os::unix::fs::MetadataExt;
        let info = self.get_status(dev, path)?.ok_or(LoopError::Vanished { device: path.to_path_buf() })?;
        let rdev = dev.metadata().map_err(io_err("stat", path))?.rdev();
        Ok(LoopDevice {
            number,
            path: path.to_path_buf(),
            backing_file: file.to_path_buf(),
            backing_deleted: false,
            autoclear: info.lo_flags & LO_FLAGS_AUTOCLEAR != 0,
            direct_io: info.lo_flags & LO_FLAGS_DIRECT_IO != 0,
            size_bytes: block_device_size_of(dev).map_err(io_err("BLKGETSIZE64 on", path))?,
            major: libc::major(rdev),
            minor: libc::minor(rdev),
        })
    }

    fn get_status(&self, dev: &fs::File, path: &Path) -> Result<Option<LoopInfo64>, LoopError> {
        let mut info = LoopInfo64::zeroed();
        // SAFETY: LOOP_GET_STATUS64 fills a struct loop_info64.
        match unsafe { sys::ioctl_ptr(dev, LOOP_GET_STATUS64, &mut info) } {
            Ok(_) => Ok(Some(info)),
            Err(e) if sys::errno(&e) == Some(libc::ENXIO) => Ok(None),
            Err(e) => Err(io_err("LOOP_GET_STATUS64 on", path)(e)),
        }
    }

    /// Binds `backing` to the (free) device `dev`. `Ok(false)` when the device turned out busy.
    fn configure(
        &self,
        dev: &fs::File,
        dev_path: &Path,
        backing: &fs::File,
        file: &Path,
    ) -> Result<bool, LoopError> {
        use std::os::fd::AsRawFd;
        let fd = backing.as_raw_fd() as u32;
        for flags in [LO_FLAGS_DIRECT_IO, 0] {
            let mut config = LoopConfig {
                fd,
                block_size: BLOCK_SIZE,
                info: LoopInfo64::for_file(file, flags),
                reserved: [0; 8],
            };
            // SAFETY: LOOP_CONFIGURE reads a struct loop_config.
            match unsafe { sys::ioctl_ptr(dev, LOOP_CONFIGURE, &mut config) } {
                Ok(_) => return Ok(true),
                Err(e) if sys::errno(&e) == Some(libc::EBUSY) => return Ok(false),
                // Direct I/O refused, or (second round) a kernel older than 5.8.
                Err(e) if sys::errno(&e) == Some(libc::EINVAL) => continue,
                Err(e) => return Err(io_err("LOOP_CONFIGURE on", dev_path)(e)),
            }
        }
        tracing::debug!(device = %dev_path.display(), "LOOP_CONFIGURE refused; using LOOP_SET_FD");
        match sys::ioctl_int(dev, LOOP_SET_FD, fd as libc::c_ulong) {
            Ok(_) => {}
            Err(e) if sys::errno(&e) == Some(libc::EBUSY) => return Ok(false),
            Err(e) => return Err(io_err("LOOP_SET_FD on", dev_path)(e)),
        }
        let mut info = LoopInfo64::for_file(file, 0);
        // SAFETY: LOOP_SET_STATUS64 reads a struct loop_info64.
        if let Err(e) = unsafe { sys::ioctl_ptr(dev, LOOP_SET_STATUS64, &mut info) } {
            let _ = sys::ioctl_int(dev, LOOP_CLR_FD, 0);
            return Err(io_err("LOOP_SET_STATUS64 on", dev_path)(e));
        }
        Ok(true)
    }
}

impl LoopDevices for KernelLoops {
    fn scan(&self) -> Result<Vec<LoopDevice>, LoopError> {
        let mut found = Vec::new();
        for number in self.candidate_numbers()? {
            // A device can be detached between the reads; it is then simply not bound.
            match self.read_sys(number) {
                Ok(Some(dev)) => found.push(dev),
                Ok(None) => {}
                Err(e) if device_went_away(&e) => {}
                Err(e) => return Err(io_err("read", &self.sys_loop(number))(e)),
            }
        }
        found.sort_by_key(|d| d.number);
        Ok(found)
    }

    fn get(&self, number: u32) -> Result<Option<LoopDevice>, LoopError> {
        match self.read_sys(number) {
            Ok(d) => Ok(d),
            Err(e) if device_went_away(&e) => Ok(None),
            Err(e) => Err(io_err("read", &self.sys_loop(number))(e)),
        }
    }

    fn status(&self, dev: &LoopDevice) -> Result<Option<DeviceStatus>, LoopError> {
        let f = match sys::open_with(&dev.path, false, 0) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("open", &dev.path)(e)),
        };
        let Some(info) = self.get_status(&f, &dev.path)? else { return Ok(None) };
        let size_bytes = block_device_size_of(&f).map_err(io_err("BLKGETSIZE64 on", &dev.path))?;
        Ok(Some(DeviceStatus {
            backing: FileId { dev: info.lo_device, ino: info.lo_inode },
            size_bytes,
            autoclear: info.lo_flags & LO_FLAGS_AUTOCLEAR != 0,
        }))
    }

    fn attach(&self, file: &Path) -> Result<LoopDevice, LoopError> {
        let backing = sys::open_with(file, true, 0).map_err(io_err("open", file))?;
        let control = sys::open_with(&self.control, true, 0).map_err(io_err("open", &self.control))?;
        for _ in 0..ATTACH_ATTEMPTS {
            let number = sys::ioctl_int(&control, LOOP_CTL_GET_FREE, 0)
                .map_err(io_err("LOOP_CTL_GET_FREE on", &self.control))?;
            let number = number as u32;
            let dev_path = self.dev.join(format!("loop{number}"));
            let dev = sys::open_with(&dev_path, true, 0).map_err(io_err("open", &dev_path))?;
            if !self.configure(&dev, &dev_path, &backing, file)? {
                continue;
            }
            let mut found = self.describe(&dev, number, &dev_path, file)?;
            if !found.direct_io {
                // LOOP_CONFIGURE may fall back to buffered I/O silently; ask once more, and
                // stay buffered where the filesystem refuses (EINVAL).
                match sys::ioctl_int(&dev, LOOP_SET_DIRECT_IO, 1) {
                    Ok(_) => found.direct_io = true,
                    Err(e) => {
                        tracing::debug!(device = %dev_path.display(), error = %e, "direct I/O refused; buffered")
                    }
                }
            }
            return Ok(found);
        }
        Err(LoopError::NoFreeDevice(ATTACH_ATTEMPTS))
    }

    fn refresh_capacity(&self, dev: &LoopDevice) -> Result<u64, LoopError> {
        let f = sys::open_with(&dev.path, false, 0).map_err(io_err("open", &dev.path))?;
        sys::ioctl_int(&f, LOOP_SET_CAPACITY, 0).map_err(io_err("LOOP_SET_CAPACITY on", &dev.path))?;
        block_device_size_of(&f).map_err(io_err("BLKGETSIZE64 on", &dev.path))
    }

    fn clear_autoclear(&self, dev: &LoopDevice) -> Result<SetAction, LoopError> {
        let f = sys::open_with(&dev.path, false, 0).map_err(io_err("open", &dev.path))?;
        let Some(mut info) = self.get_status(&f, &dev.path)? else {
            return Err(LoopError::Vanished { device: dev.path.clone() });
        };
        if info.lo_flags & LO_FLAGS_AUTOCLEAR == 0 {
            return Ok(SetAction::Unchanged);
        }
        info.lo_flags &= !LO_FLAGS_AUTOCLEAR;
        // SAFETY: LOOP_SET_STATUS64 reads a struct loop_info64.
        unsafe { sys::ioctl_ptr(&f, LOOP_SET_STATUS64, &mut info) }
            .map_err(io_err("LOOP_SET_STATUS64 on", &dev.path))?;
        Ok(SetAction::Changed)
    }

    fn detach(&self, dev: &LoopDevice, expected: Option<FileId>) -> Result<DeleteAction, LoopError> {
        let f = match sys::open_with(&dev.path, false, 0) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(DeleteAction::Absent),
            Err(e) => return Err(io_err("open", &dev.path)(e)),
        };
        if let Some(expected) = expected {
            match self.get_status(&f, &dev.path)? {
                Some(i) if (FileId { dev: i.lo_device, ino: i.lo_inode }) == expected => {}
                // Unbound, or since reused for another file: not ours to detach.
                _ => return Ok(DeleteAction::Absent),
            }
        }
        match sys::ioctl_int(&f, LOOP_CLR_FD, 0) {
            Ok(_) => {}
            Err(e) if sys::errno(&e) == Some(libc::ENXIO) => return Ok(DeleteAction::Absent),
            Err(e) => return Err(io_err("LOOP_CLR_FD on", &dev.path)(e)),
        }
        // The kernel finishes the detach when the last opener (normally we) closes the device.
        drop(f);
        let deadline = Instant::now() + self.detach_timeout;
        loop {
            if self.get(dev.number)?.is_none() {
                return Ok(DeleteAction::Deleted);
            }
            if Instant::now() >= deadline {
                return Err(LoopError::DetachDeferred { device: dev.path.clone() });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A sysfs attribute: the kernel produces it whole, at most a page, in the first read.
fn read_attribute(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = vec![0; 4096];
    let n = fs::File::open(path)?.read(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// Errors of sysfs reads that mean the device was detached (or removed) while being read.
fn device_went_away(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound
        || matches!(err.raw_os_error(), Some(libc::ENODEV) | Some(libc::ENXIO))
}

/// Splits sysfs's `backing_file` into the path and whether the kernel marked it ` (deleted)`.
pub fn parse_backing_file(raw: &[u8]) -> (PathBuf, bool) {
    use std::os::unix::ffi::OsStrExt;
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    match raw.strip_suffix(b" (deleted)") {
        Some(p) => (PathBuf::from(std::ffi::OsStr::from_bytes(p)), true),
        None => (PathBuf::from(std::ffi::OsStr::from_bytes(raw)), false),
    }
}

/// Parses `major:minor` as in sysfs `dev` files and mountinfo.
pub fn parse_devnum(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.trim().split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Size of a block device in bytes (`BLKGETSIZE64`).
pub fn block_device_size(path: &Path) -> io::Result<u64> {
    let f = sys::open_with(path, false, 0)?;
    block_device_size_of(&f)
}

fn block_device_size_of(f: &fs::File) -> io::Result<u64> {
    let mut size: u64 = 0;
    // SAFETY: BLKGETSIZE64 writes a u64.
    unsafe { sys::ioctl_ptr(f, BLKGETSIZE64, &mut size) }?;
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backing_file_suffixes() {
        assert_eq!(parse_backing_file(b"/p/a_00000.img\n"), (PathBuf::from("/p/a_00000.img"), false));
        assert_eq!(
            parse_backing_file(b"/p/a_00000.img (deleted)\n"),
            (PathBuf::from("/p/a_00000.img"), true)
        );
        assert_eq!(parse_backing_file(b"/p/x"), (PathBuf::from("/p/x"), false));
    }

    #[test]
    fn devnums() {
        assert_eq!(parse_devnum("7:12\n"), Some((7, 12)));
        assert_eq!(parse_devnum("7"), None);
        assert_eq!(parse_devnum("a:b"), None);
    }

    #[test]
    fn ioctl_numbers() {
        if cfg!(target_arch = "x86_64") {
            assert_eq!(BLKGETSIZE64, 0x8008_1272);
        }
    }
}
