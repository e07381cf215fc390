//! Whether a directory's filesystem can make reflink copies (`FICLONE`): XFS with `reflink=1`
//! and btrfs can, ext4 cannot. FILE pools need it for snapshots.
//!
//! The probe clones a small file into a second one, next to the volumes, and removes both
//! whatever happens.
//!
//! Also the copies snapshots, restores and clones are made with: [`clone_into`] (reflink,
//! synced), [`sparse_copy`] (data ranges only, cancellable) and [`copy_into`] (the first where
//! it works, else the second). Each makes a new file and removes it again on failure.

use crate::sys;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static PROBE_SEQ: AtomicU64 = AtomicU64::new(0);

struct RemoveOnDrop(Vec<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Probes `dir` once. `Ok(false)` when the filesystem answers that it cannot clone.
pub fn probe(dir: &Path) -> io::Result<bool> {
    let tag = format!("{}-{}", std::process::id(), PROBE_SEQ.fetch_add(1, Ordering::Relaxed));
    let src_path = dir.join(format!(".strand-reflink-probe-{tag}.src"));
    let dst_path = dir.join(format!(".strand-reflink-probe-{tag}.dst"));
    let _cleanup = RemoveOnDrop(vec![src_path.clone(), dst_path.clone()]);

    let mut src = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&src_path)?;
    src.write_all(&[0x5a; 4096])?;
    let dst = std::fs::OpenOptions::new().write(true).create_new(true).open(&dst_path)?;
    use std::os::fd::AsRawFd;
    match sys::ioctl_int(&dst, libc::FICLONE, src.as_raw_fd() as libc::c_ulong) {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                sys::errno(&e),
                Some(libc::EOPNOTSUPP | libc::ENOTTY | libc::EINVAL | libc::EXDEV | libc::ENOSYS)
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Whether an error of `FICLONE` means "this filesystem (or this pair of files) cannot share
/// extents", as opposed to a real I/O failure.
pub fn is_unsupported(err: &io::Error) -> bool {
    matches!(
        sys::errno(err),
        Some(libc::EOPNOTSUPP | libc::ENOTTY | libc::EINVAL | libc::EXDEV | libc::ENOSYS)
    )
}

fn create_new(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

/// Removes a path on drop unless disarmed.
struct Undo(Option<PathBuf>);

impl Drop for Undo {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Makes the new file `dst` (it must not exist) a reflink copy of all of `src` (`FICLONE`): the
/// two share their blocks until either is written. The copy is synced before this returns;
/// on any failure `dst` is removed.
pub fn clone_into(src: &Path, dst: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let source = sys::open_with(src, false, 0)?;
    let target = create_new(dst)?;
    let mut undo = Undo(Some(dst.to_path_buf()));
    sys::ioctl_int(&target, libc::FICLONE, source.as_raw_fd() as libc::c_ulong)?;
    target.sync_all()?;
    undo.0 = None;
    Ok(())
}

/// How much of a sparse copy is done per step (and how often a cancel is noticed).
const COPY_STEP: u64 = 64 << 20;

/// Copies `src` into the new file `dst` (it must not exist) without reflink: only the data
/// ranges (`SEEK_DATA`/`SEEK_HOLE`), so holes stay holes. Stops with `Interrupted` when
/// `cancel` is set. The copy is synced before this returns; on any failure `dst` is removed.
/// Answers the bytes copied.
pub fn sparse_copy(src: &Path, dst: &Path, cancel: &AtomicBool) -> io::Result<u64> {
    let source = sys::open_with(src, false, 0)?;
    let target = create_new(dst)?;
    let mut undo = Undo(Some(dst.to_path_buf()));
    let len = source.metadata()?.len();
    target.set_len(len)?;
    let mut copied = 0;
    let mut pos = 0u64;
    while pos < len {
        let Some(start) = seek(&source, pos, libc::SEEK_DATA)? else { break };
        let end = seek(&source, start, libc::SEEK_HOLE)?.unwrap_or(len).min(len);
        let mut at = start;
        while at < end {
            if cancel.load(Ordering::Relaxed) {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "the copy was cancelled"));
            }
            let n = copy_range(&source, &target, at, (end - at).min(COPY_STEP))?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the source ended early"));
            }
            at += n;
            copied += n;
        }
        pos = end;
    }
    target.sync_all()?;
    undo.0 = None;
    Ok(copied)
}

/// `lseek(fd, offset, whence)`; `None` when there is no more data (`ENXIO`).
fn seek(file: &std::fs::File, offset: u64, whence: libc::c_int) -> io::Result<Option<u64>> {
    use std::os::fd::AsRawFd;
    let off = libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: plain syscall on an open descriptor.
    let ret = unsafe { libc::lseek(file.as_raw_fd(), off, whence) };
    if ret >= 0 {
        return Ok(Some(ret as u64));
    }
    let err = io::Error::last_os_error();
    if sys::errno(&err) == Some(libc::ENXIO) {
        return Ok(None);
    }
    Err(err)
}

/// Copies up to `len` bytes at `offset` from `src` to the same offset of `dst`, in the kernel
/// where it can (`copy_file_range`), else through a buffer.
fn copy_range(src: &std::fs::File, dst: &std::fs::File, offset: u64, len: u64) -> io::Result<u64> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileExt;
    let mut off_in =
        libc::loff_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut off_out = off_in;
    // SAFETY: valid descriptors and offsets owned by this frame.
    let ret = unsafe {
        libc::copy_file_range(src.as_raw_fd(), &mut off_in, dst.as_raw_fd(), &mut off_out, len as usize, 0)
    };
    if ret >= 0 {
        return Ok(ret as u64);
    }
    let err = io::Error::last_os_error();
    if !matches!(sys::errno(&err), Some(libc::EXDEV | libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)) {
        return Err(err);
    }
    let mut buf = vec![0u8; len.min(1 << 20) as usize];
    let n = src.read_at(&mut buf, offset)?;
    dst.write_all_at(&buf[..n], offset)?;
    Ok(n as u64)
}

/// Makes `dst` (which must not exist) a copy of `src`: a reflink where the filesystem can,
/// else a sparse copy (`sparse_copy`).
pub fn copy_into(src: &Path, dst: &Path) -> io::Result<()> {
    match clone_into(src, dst) {
        Err(e) if is_unsupported(&e) => sparse_copy(src, dst, &AtomicBool::new(false)).map(|_| ()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileExt, MetadataExt};

    #[test]
    fn sparse_copy_keeps_holes_and_data() {
        let dir = std::env::temp_dir().join(format!("strand-sparse-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("src");
        let f = std::fs::File::create(&src).unwrap();
        f.set_len(64 << 20).unwrap();
        f.write_all_at(&[7u8; 8192], 1 << 20).unwrap();
        f.write_all_at(&[9u8; 4096], 40 << 20).unwrap();
        f.sync_all().unwrap();
        let dst = dir.join("dst");
        let copied = sparse_copy(&src, &dst, &AtomicBool::new(false)).unwrap();
        assert!(copied < 8 << 20, "only data ranges are copied: {copied}");
        assert_eq!(std::fs::read(&src).unwrap(), std::fs::read(&dst).unwrap());
        assert!(std::fs::metadata(&dst).unwrap().blocks() * 512 < 8 << 20, "holes stay holes");
        // Never over an existing file; a cancelled copy leaves nothing.
        assert!(sparse_copy(&src, &dst, &AtomicBool::new(false)).is_err());
        let other = dir.join("other");
        assert!(sparse_copy(&src, &other, &AtomicBool::new(true)).is_err());
        assert!(!other.exists());
        // copy_into falls back to the sparse copy where FICLONE is refused.
        copy_into(&src, &other).unwrap();
        assert_eq!(std::fs::read(&src).unwrap(), std::fs::read(&other).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
