//! Snapshots, rollbacks, restores and clones of FILE/FILE_THIN volumes, by reflink.
//!
//! Rules (each is kept by the function named next to it):
//! - Taking a snapshot (`take_snapshot`): only when the controller asks for it now (`take`)
//!   and its file does not exist. The volume's data is flushed first (its loop devices and
//!   its file are synced), then the volume file is cloned (`FICLONE`) to
//!   `<rsc>_<vlmnr:05>_<snap>.img.tmp`, synced, and renamed into place without replacing
//!   anything: a snapshot file is complete or absent. The volumes of one snapshot are taken
//!   back to back in one run. A pool without reflink refuses, saying what would work.
//! - A desired snapshot whose file is missing and that is not being taken is reported
//!   missing (`snapshot_reports`); it is never re-taken from the volume's newer data.
//! - Rollback (`rollback`): refused while the volume's device is in use. The snapshot is
//!   cloned to the volume's `.tmp` name and synced; then the loop device is detached, the copy
//!   renamed over the volume file, the file attached again and the new device's buffer cache
//!   dropped, so reads through the device see the snapshot's data. A failure before the
//!   rename leaves the volume as it was. Each rollback id runs once (`rollbacks`); its result is
//!   reported for as long as the desired state names it.
//! - A new volume with a source (`volume_from_source`) is made from it only when its file does
//!   not exist: by reflink (instant, same filesystem), else by a sparse copy in a background
//!   thread into the `.tmp` name, reported `cloning` until it is renamed into place. A copy
//!   that fails keeps its error until the volume is no longer desired; one whose volume is no
//!   longer desired is cancelled and removes its file (`cancel_undesired_copies`).

use super::{key, Pool, PoolCtx, Run};
use crate::action::ChangeKind;
use crate::loopdev::LoopDevice;
use crate::provider::file::FileProvider;
use crate::provider::naming::{self, snapshot_path, temp_path, volume_path};
use crate::provider::reflink;
use crate::provider::StorageProvider;
use crate::sys;
use crate::sys::FileId;
use controller::link::{DesiredState, OpResult, SnapshotReport, VolumeReport, VolumeSource, VolumeSpec};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// `_IO(0x12, 97)`: write back and drop a block device's buffer cache.
const BLKFLSBUF: libc::Ioctl = 0x1261;

/// A copy running (or finished) in a background thread.
#[derive(Debug)]
pub(crate) struct CopyJob {
    cancel: Arc<AtomicBool>,
    /// `None` while running.
    result: Arc<Mutex<Option<Result<(), String>>>>,
}

impl CopyJob {
    fn result(&self) -> Option<Result<(), String>> {
        self.result.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

fn cloning_volume(spec: &VolumeSpec) -> VolumeReport {
    VolumeReport {
        resource: spec.resource.clone(),
        volume_number: spec.volume_number,
        pool: spec.pool.clone(),
        disk_state: "Inconsistent".to_string(),
        cloning: true,
        ..Default::default()
    }
}

/// Writes back everything written to `dev` that is still in its buffer cache.
fn flush_device(dev: &Path) -> std::io::Result<()> {
    sys::open_with(dev, false, 0)?.sync_all()
}

/// Drops a device's buffer cache, so that reads see what is in its backing file now.
fn drop_device_cache(dev: &Path) -> std::io::Result<()> {
    let f = sys::open_with(dev, false, 0)?;
    sys::ioctl_int(&f, BLKFLSBUF, 0).map(|_| ())
}

/// Sets a file made by copy to the volume's size (allocating it for FILE), and syncs it.
fn fit_to_size(path: &Path, size: u64, thin: bool) -> std::io::Result<()> {
    let f = sys::open_with(path, true, 0)?;
    let current = f.metadata()?.len();
    if current != size {
        if size > current && !thin {
            sys::allocate(&f, size)?;
        } else {
            f.set_len(size)?;
        }
    }
    if !thin {
        // FILE volumes are fully allocated: fill the holes a sparse copy left.
        sys::allocate(&f, size)?;
    }
    f.sync_all()
}

impl Run<'_> {
    /// The directory of a desired FILE pool of this node.
    fn pool_dir<'p>(
        &self,
        pools: &'p HashMap<String, Pool>,
        name: &str,
    ) -> Result<(&'p FileProvider, &'p Path), String> {
        match pools.get(&key(name)).map(|p| &p.ctx) {
            Some(PoolCtx::File { provider, dir }) => Ok((provider, dir.as_path())),
            Some(PoolCtx::Broken(why)) => Err(format!("storage pool {name}: {why}")),
            Some(PoolCtx::Diskless) => Err(format!("storage pool {name} is diskless")),
            None => Err(format!("storage pool {name} is not part of this node's desired state")),
        }
    }

    /// Flushes the loop devices of a volume file and the file itself.
    fn flush_volume(&mut self, provider: &FileProvider, path: &Path) -> Result<(), String> {
        let file = provider
            .stat_volume(path)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("volume file {} does not exist", path.display()))?;
        for dev in self.attached_to(&file) {
            flush_device(&dev.path).map_err(|e| format!("cannot flush {}: {e}", dev.path.display()))?;
        }
        sys::open_with(path, false, 0)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("cannot sync {}: {e}", path.display()))
    }

    /// Takes every desired snapshot marked `take` whose file does not exist yet.
    pub(super) fn take_snapshots(&mut self, desired: &DesiredState, pools: &HashMap<String, Pool>) {
        for spec in desired.snapshots.iter().filter(|s| s.take) {
            let id = (spec.resource.clone(), spec.volume_number, spec.snapshot.clone());
            if let Err(e) =
                self.take_snapshot(&spec.resource, spec.volume_number, &spec.snapshot, &spec.pool, pools)
            {
                self.snapshot_errors.insert(id, e);
            }
        }
    }

    fn take_snapshot(
        &mut self,
        rsc: &str,
        nr: i32,
        snap: &str,
        pool: &str,
        pools: &HashMap<String, Pool>,
    ) -> Result<(), String> {
        naming::validate(rsc, nr)?;
        naming::validate_snapshot(snap)?;
        let (provider, dir) = self.pool_dir(pools, pool)?;
        let target = snapshot_path(dir, rsc, nr, snap);
        if std::fs::symlink_metadata(&target).is_ok() {
            return Ok(());
        }
        if !self.reflink(dir) {
            return Err(format!(
                "the filesystem of {} cannot make reflink copies; snapshots of FILE pools need XFS with \
                 reflink (mkfs.xfs -m reflink=1) or btrfs",
                dir.display()
            ));
        }
        self.scan()?;
        let volume = volume_path(dir, rsc, nr);
        self.flush_volume(provider, &volume)?;
        let tmp = temp_path(&target);
        let _ = std::fs::remove_file(&tmp);
        reflink::clone_into(&volume, &tmp).map_err(|e| format!("cannot clone {}: {e}", volume.display()))?;
        if let Err(e) = sys::rename_noreplace(&tmp, &target) {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!("cannot rename the snapshot into place: {e}"));
        }
        self.change(format!("snapshot {rsc}/{nr}/{snap}"), ChangeKind::SnapshotTaken);
        Ok(())
    }

    /// One report per desired snapshot.
    pub(super) fn snapshot_reports(
        &self,
        desired: &DesiredState,
        pools: &HashMap<String, Pool>,
    ) -> Vec<SnapshotReport> {
        desired
            .snapshots
            .iter()
            .map(|spec| {
                let mut report = SnapshotReport {
                    resource: spec.resource.clone(),
                    snapshot: spec.snapshot.clone(),
                    volume_number: spec.volume_number,
                    pool: spec.pool.clone(),
                    ..Default::default()
                };
                let id = (spec.resource.clone(), spec.volume_number, spec.snapshot.clone());
                let checked = naming::validate(&spec.resource, spec.volume_number)
                    .and_then(|()| naming::validate_snapshot(&spec.snapshot))
                    .and_then(|()| self.pool_dir(pools, &spec.pool));
                match checked {
                    Err(e) => report.error = Some(e),
                    Ok((_, dir)) => {
                        let path = snapshot_path(dir, &spec.resource, spec.volume_number, &spec.snapshot);
                        match std::fs::symlink_metadata(&path) {
                            Ok(m) if m.is_file() => {
                                report.exists = true;
                                report.size_kib = (m.len() / 1024) as i64;
                            }
                            Ok(_) => report.error = Some(format!("{} is not a regular file", path.display())),
                            Err(_) => {
                                report.error =
                                    Some(self.snapshot_errors.get(&id).cloned().unwrap_or_else(|| {
                                        format!("snapshot file {} does not exist", path.display())
                                    }))
                            }
                        }
                    }
                }
                if report.exists {
                    report.error = self.snapshot_errors.get(&id).cloned();
                }
                report
            })
            .collect()
    }

    /// Runs every rollback of the desired state that has not run yet.
    pub(super) fn rollbacks(&mut self, desired: &DesiredState, pools: &HashMap<String, Pool>) {
        let mut seen = HashSet::new();
        for spec in &desired.rollbacks {
            if !seen.insert(spec.id.clone()) || self.memory.ops.contains_key(&spec.id) {
                continue;
            }
            let result = self.rollback(&spec.resource, spec.volume_number, &spec.pool, &spec.snapshot, pools);
            if let Err(e) = &result {
                tracing::warn!(
                    "rollback of {}/{} to {} failed: {e}",
                    spec.resource,
                    spec.volume_number,
                    spec.snapshot
                );
            }
            self.memory.ops.insert(spec.id.clone(), result.err());
        }
    }

    /// Results of the one-shot operations the desired state names; forgets the others.
    pub(super) fn op_results(&mut self, desired: &DesiredState) -> Vec<OpResult> {
        let ids: HashSet<&str> = desired.rollbacks.iter().map(|r| r.id.as_str()).collect();
        self.memory.ops.retain(|id, _| ids.contains(id.as_str()));
        let mut results: Vec<OpResult> = self
            .memory
            .ops
            .iter()
            .map(|(id, error)| OpResult { id: id.clone(), error: error.clone() })
            .collect();
        results.sort_by(|a, b| a.id.cmp(&b.id));
        results
    }

    fn rollback(
        &mut self,
        rsc: &str,
        nr: i32,
        pool: &str,
        snap: &str,
        pools: &HashMap<String, Pool>,
    ) -> Result<(), String> {
        naming::validate(rsc, nr)?;
        naming::validate_snapshot(snap)?;
        self.scan()?;
        let (provider, dir) = self.pool_dir(pools, pool)?;
        let source = snapshot_path(dir, rsc, nr, snap);
        if !source.is_file() {
            return Err(format!("snapshot file {} does not exist", source.display()));
        }
        let subject = format!("volume {rsc}/{nr}");
        let path = volume_path(dir, rsc, nr);
        let tmp = temp_path(&path);
        let current = provider.stat_volume(&path).map_err(|e| e.to_string())?;
        let devices = match &current {
            Some(file) => self.attached_to(file),
            None => Vec::new(),
        };
        if let Some(busy) = devices.iter().find(|d| self.host.usage.in_use(d, &self.mounts)) {
            return Err(format!(
                "{} is in use (mounted or held open); unmount it first",
                busy.path.display()
            ));
        }
        let _ = std::fs::remove_file(&tmp);
        reflink::copy_into(&source, &tmp).map_err(|e| format!("cannot copy {}: {e}", source.display()))?;
        if let Some(file) = &current {
            let id: FileId = file.id;
            for dev in &devices {
                if let Err(e) = self.detach(&subject, dev, Some(id)) {
                    // Opened by someone in the meantime: keep the device and the old data.
                    let _ = self.host.loops.clear_autoclear(dev);
                    let _ = std::fs::remove_file(&tmp);
                    return Err(format!("cannot detach {} to roll back: {e}", dev.path.display()));
                }
            }
        }
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!("cannot put the snapshot's data in place: {e}"));
        }
        self.change(&subject, ChangeKind::RolledBack { snapshot: snap.to_string() });
        // Attach again now (the volume's convergence in this run finds it) and make sure no
        // cached block of the old data is read through the device.
        let file = provider
            .stat_volume(&path)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{} vanished after the rollback", path.display()))?;
        let dev: LoopDevice = self.ensure_attached(&subject, &file, rsc, nr)?;
        drop_device_cache(&dev.path)
            .map_err(|e| format!("cannot drop the cache of {}: {e}", dev.path.display()))?;
        Ok(())
    }

    /// For a volume with a source whose file does not exist: makes it from the source (or
    /// checks on the copy). Answers the report when the volume is not there yet; `None` when
    /// its file exists and it converges as any other volume.
    pub(super) fn volume_from_source(
        &mut self,
        spec: &VolumeSpec,
        provider: &FileProvider,
        dir: &Path,
        pools: &HashMap<String, Pool>,
    ) -> Option<VolumeReport> {
        let source = spec.source.as_ref()?;
        let (rsc, nr) = (spec.resource.as_str(), spec.volume_number);
        if naming::validate(rsc, nr).is_err() {
            return None;
        }
        let path = volume_path(dir, rsc, nr);
        match provider.stat_volume(&path) {
            Ok(Some(_)) => {
                self.memory.copies.remove(&path);
                return None;
            }
            Ok(None) => {}
            Err(_) => return None,
        }
        if let Some(job) = self.memory.copies.get(&path) {
            match job.result() {
                None => return Some(cloning_volume(spec)),
                Some(Err(e)) if !job.cancelled() => {
                    return Some(super::failed_volume(spec, format!("copying the data failed: {e}")))
                }
                // Cancelled (the volume was not desired for a while) or done but gone: again.
                Some(_) => {
                    self.memory.copies.remove(&path);
                }
            }
        }
        if !self.apply {
            return None;
        }
        let size = match super::desired_size(spec) {
            Ok(s) => s,
            Err(e) => return Some(super::failed_volume(spec, e)),
        };
        match self.make_from_source(spec, source, provider, &path, size, pools) {
            Ok(true) => None,
            Ok(false) => Some(cloning_volume(spec)),
            Err(e) => Some(super::failed_volume(spec, e)),
        }
    }

    /// Makes the volume file from its source: `Ok(true)` when it exists now, `Ok(false)` when a
    /// background copy was started.
    fn make_from_source(
        &mut self,
        spec: &VolumeSpec,
        source: &VolumeSource,
        provider: &FileProvider,
        path: &Path,
        size: u64,
        pools: &HashMap<String, Pool>,
    ) -> Result<bool, String> {
        let (rsc, nr) = (spec.resource.as_str(), spec.volume_number);
        let subject = format!("volume {rsc}/{nr}");
        let (from, label) = match source {
            VolumeSource::Snapshot { resource, snapshot, pool } => {
                naming::validate(resource, nr)?;
                naming::validate_snapshot(snapshot)?;
                let (_, src_dir) = self.pool_dir(pools, pool)?;
                (snapshot_path(src_dir, resource, nr, snapshot), format!("snapshot {resource}/{snapshot}"))
            }
            VolumeSource::Volume { resource, pool } => {
                naming::validate(resource, nr)?;
                let (src_provider, src_dir) = self.pool_dir(pools, pool)?;
                let from = volume_path(src_dir, resource, nr);
                self.flush_volume(src_provider, &from)?;
                (from, format!("volume {resource}/{nr}"))
            }
        };
        if !from.is_file() {
            return Err(format!("the source {} does not exist", from.display()));
        }
        let tmp = temp_path(path);
        let _ = std::fs::remove_file(&tmp);
        let thin = provider.kind() == crate::provider::ProviderKind::FileThin;
        match reflink::clone_into(&from, &tmp) {
            Ok(()) => {
                let placed = fit_to_size(&tmp, size, thin)
                    .map_err(|e| format!("cannot size {}: {e}", tmp.display()))
                    .and_then(|()| {
                        sys::rename_noreplace(&tmp, path)
                            .map_err(|e| format!("cannot rename into place: {e}"))
                    });
                if let Err(e) = placed {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
                self.change(&subject, ChangeKind::MadeFrom { source: label });
                Ok(true)
            }
            Err(e) if reflink::is_unsupported(&e) => {
                let job =
                    CopyJob { cancel: Arc::new(AtomicBool::new(false)), result: Arc::new(Mutex::new(None)) };
                let (cancel, result) = (Arc::clone(&job.cancel), Arc::clone(&job.result));
                let (target, what) = (path.to_path_buf(), subject.clone());
                let spawned = std::thread::Builder::new().name(format!("copy {rsc}/{nr}")).spawn(move || {
                    let outcome = background_copy(&from, &tmp, &target, size, thin, &cancel);
                    match &outcome {
                        Ok(()) => tracing::info!("{what}: copy done"),
                        Err(e) => tracing::warn!("{what}: copy failed: {e}"),
                    }
                    *result.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
                });
                spawned.map_err(|e| format!("cannot start the copy: {e}"))?;
                self.memory.copies.insert(path.to_path_buf(), job);
                self.change(&subject, ChangeKind::CopyStarted { source: label });
                Ok(false)
            }
            Err(e) => Err(format!("cannot clone {}: {e}", from.display())),
        }
    }

    /// Cancels background copies whose volume is no longer desired, and forgets finished ones.
    pub(super) fn cancel_undesired_copies(&mut self, wanted: &HashMap<PathBuf, HashSet<String>>) {
        self.memory.copies.retain(|path, job| {
            let desired = path.parent().and_then(|dir| wanted.get(dir)).is_some_and(|names| {
                path.file_name().and_then(|n| n.to_str()).is_some_and(|n| names.contains(n))
            });
            if desired {
                return true;
            }
            job.cancel.store(true, Ordering::Relaxed);
            job.result().is_none()
        });
    }

    /// Whether `tmp` is the file a background copy is writing.
    pub(super) fn copy_running_into(&self, tmp: &Path) -> bool {
        self.memory.copies.iter().any(|(path, job)| temp_path(path) == tmp && job.result().is_none())
    }
}

fn background_copy(
    from: &Path,
    tmp: &Path,
    target: &Path,
    size: u64,
    thin: bool,
    cancel: &AtomicBool,
) -> Result<(), String> {
    reflink::sparse_copy(from, tmp, cancel).map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    let placed = fit_to_size(tmp, size, thin)
        .map_err(|e| format!("cannot size {}: {e}", tmp.display()))
        .and_then(|()| {
            if cancel.load(Ordering::Relaxed) {
                return Err("the copy was cancelled".to_string());
            }
            sys::rename_noreplace(tmp, target).map_err(|e| format!("cannot rename into place: {e}"))
        });
    if placed.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    placed
}
