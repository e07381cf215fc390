//! The in-process mount table: one lock and one set of reference counts per volume.
//!
//! Every operation on a volume (create, delete, rename, mount, unmount, resize, probe) holds
//! the volume's lock, so operations on one volume never interleave in this process. The
//! counts say how many users have the volume mounted: its filesystem (a filesystem volume or a
//! VM's config filesystem) and its block device (block volumes and VM disks). A volume is only
//! unmounted, and a diskless resource made for it only removed, when no user is left.

use crate::volume::{ContentType, VolumeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MountRefs {
    /// Users of the volume's filesystem.
    pub filesystem: u32,
    /// Users of the volume's block device.
    pub block: u32,
}

impl MountRefs {
    pub fn total(&self) -> u32 {
        self.filesystem.saturating_add(self.block)
    }

    pub fn of(&mut self, content: ContentType) -> &mut u32 {
        match content {
            ContentType::Filesystem => &mut self.filesystem,
            ContentType::Block | ContentType::Iso => &mut self.block,
        }
    }
}

pub type VolumeLock = Arc<tokio::sync::Mutex<MountRefs>>;

#[derive(Debug, Default)]
pub struct MountTable {
    entries: Mutex<HashMap<String, VolumeLock>>,
}

fn key(pool: &str, id: &VolumeId) -> String {
    format!("{pool}\u{0}{}\u{0}{}", id.vol_type.as_str(), id.storage_name())
}

impl MountTable {
    /// The lock (and counts) of a volume; created on first use.
    pub fn volume(&self, pool: &str, id: &VolumeId) -> VolumeLock {
        let mut entries = match self.entries.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(entries.entry(key(pool, id)).or_default())
    }

    /// Forgets a volume that no longer exists (or was renamed), unless someone holds it.
    pub fn forget(&self, pool: &str, id: &VolumeId) {
        let mut entries = match self.entries.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let k = key(pool, id);
        if entries.get(&k).is_some_and(|lock| Arc::strong_count(lock) == 1) {
            entries.remove(&k);
        }
    }

    /// The two locks of a rename, taken in a fixed order so that two renames never deadlock.
    pub fn pair(&self, pool: &str, a: &VolumeId, b: &VolumeId) -> (VolumeLock, VolumeLock, bool) {
        let (ka, kb) = (key(pool, a), key(pool, b));
        let (la, lb) = (self.volume(pool, a), self.volume(pool, b));
        (la, lb, ka <= kb)
    }
}
