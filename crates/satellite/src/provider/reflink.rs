//! Whether a directory's filesystem can make reflink copies (`FICLONE`): XFS with `reflink=1`
//! and btrfs can, ext4 cannot. FILE pools need it for snapshots.
//!
//! The probe clones a small file into a second one, next to the volumes, and removes both
//! whatever happens.

use crate::sys;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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
