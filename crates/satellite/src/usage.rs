//! Whether a volume's block device is in use: mounted, or held open exclusively (a filesystem,
//! a VM, device-mapper, md or DRBD on top).
//!
//! The exclusive-open probe is the one the kernel itself uses to refuse a second mount: an
//! `open(O_RDONLY|O_EXCL)` that fails with `EBUSY`. It is held for a moment only. A holder in
//! sysfs (`holders/`) always claims its device exclusively, so the probe covers holders too.

use crate::loopdev::{parse_devnum, LoopDevice};
use std::collections::HashSet;
use std::path::Path;

/// The block devices (major, minor) that back a mount, from one read of mountinfo.
#[derive(Debug, Clone, Default)]
pub struct Mounts(HashSet<(u32, u32)>);

impl Mounts {
    pub fn read() -> Mounts {
        Mounts::read_from(Path::new("/proc/self/mountinfo"))
    }

    pub fn read_from(path: &Path) -> Mounts {
        Mounts(std::fs::read_to_string(path).map(|t| Mounts::parse(&t)).unwrap_or_default())
    }

    /// Field 3 of each mountinfo line is the `major:minor` of the mounted device.
    pub fn parse(text: &str) -> HashSet<(u32, u32)> {
        text.lines().filter_map(|l| parse_devnum(l.split_whitespace().nth(2)?)).collect()
    }

    pub fn contains(&self, major: u32, minor: u32) -> bool {
        self.0.contains(&(major, minor))
    }
}

pub trait Usage: Send + Sync {
    fn in_use(&self, dev: &LoopDevice, mounts: &Mounts) -> bool;
}

#[derive(Debug, Clone, Default)]
pub struct KernelUsage;

impl KernelUsage {
    pub fn new() -> KernelUsage {
        KernelUsage
    }
}

impl Usage for KernelUsage {
    fn in_use(&self, dev: &LoopDevice, mounts: &Mounts) -> bool {
        mounts.contains(dev.major, dev.minor) || held_exclusively(&dev.path)
    }
}

/// `true` when an exclusive open of `path` fails with `EBUSY`.
pub fn held_exclusively(path: &Path) -> bool {
    match crate::sys::open_with(path, false, libc::O_EXCL) {
        Ok(_) => false,
        Err(e) => e.raw_os_error() == Some(libc::EBUSY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_devices() {
        let text = "22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
                    30 22 7:3 / /mnt rw - ext4 /dev/loop3 rw\n";
        let set = Mounts::parse(text);
        assert!(set.contains(&(253, 1)));
        assert!(set.contains(&(7, 3)));
        assert_eq!(set.len(), 2);
    }
}
