//! Locks that order concurrent requests: a pool's changes (update, delete) exclude its
//! volume changes; one volume's changes run one at a time. Reads take no lock.

use crate::db::VolumeKey;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedMutexGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

/// Above this many entries, unused ones are dropped when a lock is taken.
const PRUNE_ABOVE: usize = 256;

fn entry<K: Hash + Eq + Clone, V: Default>(map: &Mutex<HashMap<K, Arc<V>>>, key: &K) -> Arc<V> {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() > PRUNE_ABOVE {
        map.retain(|_, v| Arc::strong_count(v) > 1);
    }
    Arc::clone(map.entry(key.clone()).or_default())
}

#[derive(Default)]
pub(crate) struct Locks {
    pools: Mutex<HashMap<String, Arc<RwLock<()>>>>,
    volumes: Mutex<HashMap<VolumeKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl Locks {
    /// Shared hold on a pool (volume changes).
    pub async fn pool_shared(&self, pool: &str) -> OwnedRwLockReadGuard<()> {
        entry(&self.pools, &pool.to_string()).read_owned().await
    }

    /// Exclusive hold on a pool (pool create, update, delete).
    pub async fn pool_exclusive(&self, pool: &str) -> OwnedRwLockWriteGuard<()> {
        entry(&self.pools, &pool.to_string()).write_owned().await
    }

    /// One volume.
    pub async fn volume(&self, key: &VolumeKey) -> OwnedMutexGuard<()> {
        entry(&self.volumes, key).lock_owned().await
    }

    /// Two volumes (a rename), always taken in the same order.
    pub async fn volumes(
        &self,
        a: &VolumeKey,
        b: &VolumeKey,
    ) -> (OwnedMutexGuard<()>, Option<OwnedMutexGuard<()>>) {
        if a == b {
            return (self.volume(a).await, None);
        }
        let (first, second) = if a < b { (a, b) } else { (b, a) };
        let g1 = self.volume(first).await;
        let g2 = self.volume(second).await;
        (g1, Some(g2))
    }
}
