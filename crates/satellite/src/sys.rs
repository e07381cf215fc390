//! Thin, safe wrappers around the few raw system calls the satellite needs that `std` does not
//! offer (ioctl, fallocate, statvfs, renameat2). Every wrapper turns `-1` into an
//! [`io::Error`] carrying `errno`; nothing here panics.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The identity of a file: the device its filesystem lives on and its inode number, in the
/// encoding `stat(2)` uses. Two paths name the same file iff their `FileId`s are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId { dev: meta.dev(), ino: meta.ino() }
    }
}

pub fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `ioctl(fd, request, arg)` with an integer argument.
pub fn ioctl_int(fd: &impl AsRawFd, request: libc::Ioctl, arg: libc::c_ulong) -> io::Result<libc::c_int> {
    // SAFETY: the request takes an integer argument (or none); no memory is passed.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), request, arg) })
}

/// `ioctl(fd, request, &mut arg)` with a pointer argument.
///
/// # Safety
/// `T` must be the exact `repr(C)` type the kernel expects for `request`.
pub unsafe fn ioctl_ptr<T>(fd: &impl AsRawFd, request: libc::Ioctl, arg: &mut T) -> io::Result<libc::c_int> {
    check(libc::ioctl(fd.as_raw_fd(), request, arg as *mut T))
}

/// `fallocate(fd, 0, 0, len)`: allocate (and extend to) `len` bytes. Falls back to
/// `posix_fallocate`, which writes zeros, where the filesystem has no native support.
pub fn allocate(file: &File, len: u64) -> io::Result<()> {
    let len = off(len)?;
    // SAFETY: plain syscall on an open descriptor.
    let ret = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
    if ret == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EOPNOTSUPP) {
        return Err(err);
    }
    // SAFETY: as above; posix_fallocate returns the error number instead of setting errno.
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) } {
        0 => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

fn off(len: u64) -> io::Result<libc::off_t> {
    libc::off_t::try_from(len).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "size too large"))
}

/// Capacity of the filesystem holding `path`, in bytes: (total, available to unprivileged users).
pub fn fs_capacity(path: &Path) -> io::Result<(u64, u64)> {
    let c = cpath(path)?;
    // SAFETY: statvfs is a plain-old-data struct that the call fills in.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid NUL-terminated path and a valid out pointer.
    check(unsafe { libc::statvfs(c.as_ptr(), &mut st) })?;
    let frsize = st.f_frsize as u64;
    Ok((st.f_blocks as u64 * frsize, st.f_bavail as u64 * frsize))
}

/// Renames `from` to `to`, failing with `AlreadyExists` instead of replacing `to`.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    let f = cpath(from)?;
    let t = cpath(to)?;
    // SAFETY: valid NUL-terminated paths.
    let ret = unsafe {
        libc::renameat2(libc::AT_FDCWD, f.as_ptr(), libc::AT_FDCWD, t.as_ptr(), libc::RENAME_NOREPLACE)
    };
    if ret == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EINVAL) {
        return Err(err);
    }
    // The filesystem has no RENAME_NOREPLACE. The caller holds the satellite's lock, so a check
    // followed by a plain rename is as good here.
    match std::fs::symlink_metadata(to) {
        Ok(_) => Err(io::Error::from_raw_os_error(libc::EEXIST)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::rename(from, to),
        Err(e) => Err(e),
    }
}

/// Opens a path with extra `open(2)` flags (always `O_CLOEXEC`).
pub fn open_with(path: &Path, write: bool, extra_flags: libc::c_int) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).write(write).custom_flags(libc::O_CLOEXEC | extra_flags).open(path)
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub fn errno(err: &io::Error) -> Option<i32> {
    err.raw_os_error()
}
