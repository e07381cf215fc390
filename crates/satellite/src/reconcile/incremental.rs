//! Incremental runs: what one call changed is worked on, the rest gets a quick check.
//!
//! A run whose every volume, snapshot and pool came out healthy leaves [`Verified`] behind:
//! each volume's spec, report, device and file identity. The next run may use it when the
//! controller marks its desired state incremental and the pools, snapshots and rollbacks are
//! the ones verified ([`Plan::new`]). Then:
//! - a volume with the verified spec is checked, not converged: its file has the same identity
//!   and size, its device is still bound to that file at that size and not marked autoclear,
//!   its link points there (`recheck`; a volume that fails the check goes through the whole
//!   convergence). A volume checked less than `recheck_every` ago (5 s by default) is trusted
//!   without that check: only whether it is in use is read again. A push then costs what it
//!   changes, not what the node holds;
//! - a verified volume no longer desired is removed through its known device
//!   (`remove_verified`);
//! - new volumes converge as always, without listing every loop device.
//!
//! What only full runs do: the sweep of pool directories (stray volume files, temporary files,
//! undesired snapshot files, devices of removed files), stale links, extra devices for one file.
//! A full run happens on every full sync, when the last full run is older than
//! [`FULL_CHECK_EVERY`], and after any run that was not healthy.

use super::{key, Pool, PoolCtx, Run, FAILED};
use crate::action::ChangeKind;
use crate::loopdev::LoopDevice;
use crate::provider::naming::volume_path;
use crate::provider::StorageProvider;
use crate::sys::FileId;
use controller::link::{
    DesiredState, Observed, PoolSpec, RollbackSpec, SnapshotReport, SnapshotSpec, VolumeReport, VolumeSpec,
};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The longest an incremental run trusts an earlier full run.
pub const FULL_CHECK_EVERY: Duration = Duration::from_secs(60);

/// The default of [`crate::SatelliteConfig::recheck_every`].
pub const RECHECK_EVERY: Duration = Duration::from_secs(5);

pub(crate) type VolumeKey = (String, i32);

/// What the last healthy run verified.
#[derive(Debug)]
pub(crate) struct Verified {
    /// When the full run this builds on started.
    full_at: Instant,
    storage_pools: Vec<PoolSpec>,
    snapshots: Vec<SnapshotSpec>,
    rollbacks: Vec<RollbackSpec>,
    snapshot_reports: Vec<SnapshotReport>,
    volumes: HashMap<VolumeKey, VerifiedVolume>,
}

#[derive(Debug, Clone)]
pub(crate) struct VerifiedVolume {
    pub spec: VolumeSpec,
    pub report: VolumeReport,
    pub device: LoopDevice,
    pub file: FileId,
    /// When its file, device and link were last found intact.
    pub checked_at: Instant,
}

/// The work of an incremental run.
#[derive(Debug)]
pub(crate) struct Plan {
    full_at: Instant,
    snapshot_reports: Vec<SnapshotReport>,
    /// Desired volumes with the spec they were verified with.
    unchanged: HashMap<VolumeKey, VerifiedVolume>,
    /// Verified volumes that are no longer desired.
    removed: Vec<VerifiedVolume>,
}

impl Plan {
    /// `None` when the run must be a full one.
    pub fn new(last: Verified, desired: &DesiredState, copies_running: bool) -> Option<Plan> {
        let same_frame = last.storage_pools == desired.storage_pools
            && last.snapshots == desired.snapshots
            && last.rollbacks == desired.rollbacks;
        if !desired.incremental || copies_running || !same_frame || last.full_at.elapsed() >= FULL_CHECK_EVERY
        {
            return None;
        }
        let mut volumes = last.volumes;
        let mut unchanged = HashMap::new();
        for spec in &desired.volumes {
            let key = (spec.resource.clone(), spec.volume_number);
            match volumes.remove(&key) {
                Some(verified) if verified.spec == *spec => {
                    unchanged.insert(key, verified);
                }
                // Resized or moved: the full run handles it.
                Some(_) => return None,
                // A restore or clone: the full run watches its copy.
                None if spec.source.is_some() => return None,
                None => {}
            }
        }
        Some(Plan {
            full_at: last.full_at,
            snapshot_reports: last.snapshot_reports,
            unchanged,
            removed: volumes.into_values().collect(),
        })
    }

    pub fn full_at(&self) -> Instant {
        self.full_at
    }

    pub fn take_unchanged(&mut self, key: &VolumeKey) -> Option<VerifiedVolume> {
        self.unchanged.remove(key)
    }

    pub fn take_removed(&mut self) -> Vec<VerifiedVolume> {
        std::mem::take(&mut self.removed)
    }

    pub fn snapshot_reports(&self) -> Vec<SnapshotReport> {
        self.snapshot_reports.clone()
    }
}

/// What a run leaves for the next one: `None` unless everything came out healthy.
pub(crate) fn verified_after(
    desired: &DesiredState,
    observed: &Observed,
    volumes: HashMap<VolumeKey, VerifiedVolume>,
    full_at: Instant,
) -> Option<Verified> {
    let healthy = observed.storage_pools.iter().all(|p| p.error.is_none())
        && observed.volumes.iter().all(|v| v.error.is_none())
        && observed.snapshots.iter().all(|s| s.error.is_none())
        && desired.volumes.len() == volumes.len();
    healthy.then(|| Verified {
        full_at,
        storage_pools: desired.storage_pools.clone(),
        snapshots: desired.snapshots.clone(),
        rollbacks: desired.rollbacks.clone(),
        snapshot_reports: observed.snapshots.clone(),
        volumes,
    })
}

impl Run<'_> {
    /// The quick check of a volume verified earlier; `None` when anything differs.
    pub(super) fn recheck(
        &mut self,
        verified: VerifiedVolume,
        pools: &HashMap<String, Pool>,
    ) -> Option<VolumeReport> {
        let Some(Pool { ctx: PoolCtx::File { provider, dir }, .. }) = pools.get(&key(&verified.spec.pool))
        else {
            return None;
        };
        let mut verified = verified;
        let (rsc, nr) = (verified.spec.resource.clone(), verified.spec.volume_number);
        if verified.checked_at.elapsed() >= self.recheck_every {
            let file = provider.stat_volume(&volume_path(dir, &rsc, nr)).ok()??;
            let size = super::desired_size(&verified.spec).ok()?;
            let status = self.host.loops.status(&verified.device).ok()??;
            let intact = file.id == verified.file
                && file.size_bytes == size
                && status.backing == verified.file
                && status.size_bytes == size
                && !status.autoclear
                && self.host.links.read(&rsc, nr).as_deref() == Some(verified.device.path.as_path());
            if !intact {
                return None;
            }
            verified.report.allocated_size_kib = (file.allocated_bytes / 1024) as i64;
            verified.checked_at = Instant::now();
        }
        let mut report = verified.report.clone();
        report.in_use = self.host.usage.in_use(&verified.device, &self.mounts);
        self.verified.insert((rsc, nr), verified);
        Some(report)
    }

    /// Removes a verified volume that is no longer desired through its known device; a volume
    /// whose file changed since goes the general way. Answers the report of a volume that
    /// could not be removed.
    pub(super) fn remove_verified(
        &mut self,
        verified: VerifiedVolume,
        pools: &HashMap<String, Pool>,
    ) -> Option<VolumeReport> {
        let spec = &verified.spec;
        let (rsc, nr) = (spec.resource.as_str(), spec.volume_number);
        let result = match pools.get(&key(&spec.pool)) {
            Some(Pool { ctx: PoolCtx::File { provider, dir }, .. }) => {
                let path = volume_path(dir, rsc, nr);
                match provider.stat_volume(&path) {
                    Ok(Some(file)) if file.id == verified.file => (|| {
                        if self.host.usage.in_use(&verified.device, &self.mounts) {
                            return Err(format!(
                                "{} is in use (mounted or held open)",
                                verified.device.path.display()
                            ));
                        }
                        let subject = format!("volume {rsc}/{nr}");
                        self.detach(&subject, &verified.device, Some(verified.file))?;
                        self.host.links.remove(rsc, nr).map_err(|e| e.to_string())?;
                        if provider.delete_volume(&path).map_err(|e| e.to_string())?.changed() {
                            self.change(subject, ChangeKind::VolumeDeleted);
                        }
                        Ok(())
                    })(),
                    _ => self.delete_volume(rsc, nr, &path, provider),
                }
            }
            _ => Err(format!("storage pool {} is not usable", spec.pool)),
        };
        result.err().map(|e| VolumeReport {
            resource: rsc.to_string(),
            volume_number: nr,
            pool: spec.pool.clone(),
            disk_state: FAILED.to_string(),
            error: Some(format!("not desired any more, but cannot be removed: {e}")),
            ..Default::default()
        })
    }
}
