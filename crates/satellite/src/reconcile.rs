//! Convergence: from a node's desired state to loop-backed volumes, and the report of what is
//! there.
//!
//! Rules (each is kept by the function named next to it):
//! - Pools: a FILE/FILE_THIN pool's directory is created when its parent exists, else the pool
//!   reports why it cannot be used (`pools`). Pools of other kinds report that this node
//!   cannot serve them. Nothing outside the directories of *desired* pools is ever touched.
//! - Volumes (`converge_volume`): missing → create the file, attach, link; file but no
//!   device (after a reboot) → attach; wrong size → resize the file and refresh the device;
//!   wrong link → relink. A volume that fails keeps its error to itself.
//! - A file is never attached twice (`ensure_attached`): a device is matched to a file
//!   by the file's identity; extra devices for one file are detached.
//! - Creation that fails halfway is undone: no file, device or link is left behind.
//! - Housekeeping in a desired pool's directory (`sweep`): volume files (exact naming
//!   only) that are not desired are detached and removed unless in use; unfinished `.tmp`
//!   creations are removed; loop devices whose backing volume file is gone are detached.
//!   Volumes that should go but cannot (in use) are reported with their error.
//! - Stable links (`sweep_links`): a link whose target is not a loop device backed by
//!   that volume's file is removed, so a link never leads to someone else's device.
//! - Snapshots, rollbacks, restores and clones: the rules are in [`snapshots`]. The sweep
//!   removes snapshot files (exact naming only) that are not desired and keeps desired ones,
//!   so snapshots are found again after a restart and go with their snapshot.
//! - Incremental runs (a push after a call): only what changed is converged, unchanged
//!   volumes get a quick check; the rules are in `incremental`.
//! - `observe` runs the same code with every change switched off.

mod incremental;
mod snapshots;

use crate::action::{Change, ChangeKind, DeleteAction};
use crate::devlinks::DevLinks;
use crate::layers::LayerSupport;
use crate::loopdev::{LoopDevice, LoopDevices};
use crate::provider::file::FileProvider;
use crate::provider::naming::{self, volume_file_name, volume_path};
use crate::provider::{ProviderKind, ProviderSupport, StorageProvider, VolumeFile};
use crate::sys::FileId;
use crate::usage::{Mounts, Usage};
use crate::SatelliteConfig;
use controller::link::{DesiredState, Observed, PoolReport, VolumeReport, VolumeSpec};
pub use incremental::RECHECK_EVERY;
use incremental::{Plan, Verified, VerifiedVolume, VolumeKey};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const UP_TO_DATE: &str = "UpToDate";
pub const FAILED: &str = "Failed";
pub const DISKLESS: &str = "Diskless";

/// The side-effecting subsystems convergence drives.
pub struct Host {
    pub loops: Box<dyn LoopDevices>,
    pub links: Box<dyn DevLinks>,
    pub usage: Box<dyn Usage>,
}

/// What the satellite remembers between runs. Lost on a restart, which only repeats work:
/// a background copy starts over, a rollback still in the desired state runs again.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// Reflink probe result per pool directory, with the filesystem device it was made on.
    reflink: HashMap<PathBuf, (u64, bool)>,
    /// Background copies (restore or clone where reflink is not possible), by the path of the
    /// volume file they make.
    copies: HashMap<PathBuf, snapshots::CopyJob>,

    /// Results of one-shot operations by id (`None` = success), for as long as the desired
    /// state names them.
    ops: HashMap<String, Option<String>>,
    /// What the last apply verified, when it all came out healthy (see [`incremental`]).
    verified: Option<Verified>,
}

/// The result of [`crate::Satellite::converge`]: the report, and what was changed.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub observed: Observed,
    pub changes: Vec<Change>,
}

enum PoolCtx {
    Diskless,
    File { provider: FileProvider, dir: PathBuf },
    Broken(String),
}

struct Pool {
    name: String,
    ctx: PoolCtx,
}

struct Run<'a> {
    host: &'a Host,
    memory: &'a mut Memory,
    apply: bool,
    /// See [`SatelliteConfig::recheck_every`].
    recheck_every: Duration,
    /// Bound loop devices, read on first need and kept current as devices are attached and
    /// detached. A run that only creates new volumes never needs it.
    scan: Option<Result<Vec<LoopDevice>, String>>,
    /// Backing file identity per device number, asked at most once per run.
    ids: HashMap<u32, Option<FileId>>,
    mounts: Mounts,
    changes: Vec<Change>,
    /// Why a snapshot could not be taken in this run, by (resource, volume number, snapshot).
    snapshot_errors: HashMap<(String, i32, String), String>,
    /// The volumes found healthy in this run.
    verified: HashMap<VolumeKey, VerifiedVolume>,
}

fn key(name: &str) -> String {
    name.to_ascii_uppercase()
}

fn failed_volume(spec: &VolumeSpec, error: String) -> VolumeReport {
    VolumeReport {
        resource: spec.resource.clone(),
        volume_number: spec.volume_number,
        pool: spec.pool.clone(),
        disk_state: FAILED.to_string(),
        error: Some(error),
        ..Default::default()
    }
}

pub(crate) fn run(
    host: &Host,
    memory: &mut Memory,
    config: &SatelliteConfig,
    desired: &DesiredState,
    apply: bool,
) -> Applied {
    let node_name = config.node_name.as_str();
    let providers = ProviderSupport::detect();
    let layers = LayerSupport::detect();
    let mut observed = Observed {
        node_name: node_name.to_string(),
        generation: desired.generation,
        providers: providers.supported.clone(),
        unsupported_providers: providers.unsupported.clone(),
        layers: layers.layers.clone(),
        unsupported_layers: layers.unsupported.clone(),
        ..Default::default()
    };
    if !desired.node_name.is_empty() && !desired.node_name.eq_ignore_ascii_case(node_name) {
        let why = format!(
            "the desired state is meant for node {}, but this satellite serves node {node_name}",
            desired.node_name
        );
        observed.storage_pools = desired
            .storage_pools
            .iter()
            .map(|p| PoolReport { name: p.name.clone(), error: Some(why.clone()), ..Default::default() })
            .collect();
        observed.volumes = desired.volumes.iter().map(|v| failed_volume(v, why.clone())).collect();
        return Applied { observed, changes: Vec::new() };
    }

    let last = if apply { memory.verified.take() } else { None };
    let mut plan = last.and_then(|last| Plan::new(last, desired, !memory.copies.is_empty()));
    let started = std::time::Instant::now();
    let mut run = Run {
        host,
        memory,
        apply,
        recheck_every: config.recheck_every,
        scan: None,
        ids: HashMap::new(),
        mounts: Mounts::read(),
        changes: Vec::new(),
        snapshot_errors: HashMap::new(),
        verified: HashMap::new(),
    };
    let pools = run.pools(desired, &providers, &mut observed.storage_pools);
    let leftovers = match &mut plan {
        Some(plan) => {
            plan.take_removed().into_iter().filter_map(|v| run.remove_verified(v, &pools)).collect()
        }
        None if apply => run.sweep(desired, &pools),
        None => Vec::new(),
    };
    if apply && plan.is_none() {
        // Snapshots first: they capture the data as it was when they were asked for.
        run.take_snapshots(desired, &pools);
        run.rollbacks(desired, &pools);
    }
    let mut seen = HashSet::new();
    for spec in &desired.volumes {
        if !seen.insert((spec.resource.clone(), spec.volume_number)) {
            observed.volumes.push(failed_volume(
                spec,
                format!(
                    "volume {}/{} is listed twice in the desired state",
                    spec.resource, spec.volume_number
                ),
            ));
            continue;
        }
        let key = (spec.resource.clone(), spec.volume_number);
        let rechecked =
            plan.as_mut().and_then(|p| p.take_unchanged(&key)).and_then(|v| run.recheck(v, &pools));
        observed.volumes.push(match rechecked {
            Some(report) => report,
            None => run.volume(spec, &pools, &layers),
        });
    }
    if apply && plan.is_none() {
        run.sweep_links();
    }
    observed.volumes.extend(leftovers);
    observed.snapshots = match &plan {
        Some(plan) => plan.snapshot_reports(),
        None => run.snapshot_reports(desired, &pools),
    };
    observed.ops = run.op_results(desired);
    for change in &run.changes {
        tracing::info!(node = node_name, "{change}");
    }
    tracing::debug!(
        node = node_name,
        incremental = plan.is_some(),
        "run took {:.2} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    if apply {
        let full_at = plan.as_ref().map_or(started, Plan::full_at);
        let verified = std::mem::take(&mut run.verified);
        run.memory.verified = incremental::verified_after(desired, &observed, verified, full_at);
    }
    Applied { observed, changes: run.changes }
}

impl Run<'_> {
    fn change(&mut self, subject: impl Into<String>, kind: ChangeKind) {
        self.changes.push(Change { subject: subject.into(), kind });
    }

    /// Sets up (or, observing, checks) every desired pool and reports it.
    fn pools(
        &mut self,
        desired: &DesiredState,
        providers: &ProviderSupport,
        reports: &mut Vec<PoolReport>,
    ) -> HashMap<String, Pool> {
        let mut pools = HashMap::new();
        for spec in &desired.storage_pools {
            let mut report = PoolReport { name: spec.name.clone(), ..Default::default() };
            if pools.contains_key(&key(&spec.name)) {
                report.error =
                    Some(format!("storage pool {} is listed twice in the desired state", spec.name));
                reports.push(report);
                continue;
            }
            let kind = ProviderKind::parse(&spec.provider_kind);
            let ctx = match providers.check(&kind) {
                Err(why) => PoolCtx::Broken(why),
                Ok(()) => match kind {
                    ProviderKind::Diskless => PoolCtx::Diskless,
                    ProviderKind::File | ProviderKind::FileThin => {
                        let provider = if kind == ProviderKind::File {
                            FileProvider::thick()
                        } else {
                            FileProvider::thin()
                        };
                        self.file_pool(&spec.name, &spec.backing, provider, &mut report)
                    }
                    ProviderKind::Other(k) => PoolCtx::Broken(format!("provider {k} is not implemented")),
                },
            };
            if let PoolCtx::Broken(why) = &ctx {
                report.error = Some(why.clone());
            }
            reports.push(report);
            pools.insert(key(&spec.name), Pool { name: spec.name.clone(), ctx });
        }
        pools
    }

    fn file_pool(
        &mut self,
        name: &str,
        backing: &str,
        provider: FileProvider,
        report: &mut PoolReport,
    ) -> PoolCtx {
        let dir = match provider.prepare_pool(backing, self.apply) {
            Ok(action) => {
                if action.changed() {
                    self.change(format!("pool {name}"), ChangeKind::PoolDirCreated);
                }
                action.into_inner()
            }
            Err(e) => return PoolCtx::Broken(e.to_string()),
        };
        match provider.capacity(&dir) {
            Ok(c) => {
                report.total_capacity_kib = c.total_kib;
                report.free_capacity_kib = c.free_kib;
            }
            Err(e) => return PoolCtx::Broken(e.to_string()),
        }
        report.supports_snapshots = self.reflink(&dir);
        PoolCtx::File { provider, dir }
    }

    /// Reflink support of a directory, probed once per directory and filesystem.
    fn reflink(&mut self, dir: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let dev = std::fs::metadata(dir).map(|m| m.dev()).unwrap_or(0);
        if let Some(&(d, ok)) = self.memory.reflink.get(dir) {
            if d == dev {
                return ok;
            }
        }
        match crate::provider::reflink::probe(dir) {
            Ok(ok) => {
                self.memory.reflink.insert(dir.to_path_buf(), (dev, ok));
                ok
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "reflink probe failed");
                false
            }
        }
    }

    fn id_of(&mut self, dev: &LoopDevice) -> Option<FileId> {
        if let Some(id) = self.ids.get(&dev.number) {
            return *id;
        }
        let id = match self.host.loops.status(dev) {
            Ok(status) => status.map(|s| s.backing),
            Err(e) => {
                tracing::warn!(device = %dev.path.display(), error = %e, "cannot read loop device status");
                None
            }
        };
        self.ids.insert(dev.number, id);
        id
    }

    /// Every bound loop device; an error when they cannot be listed.
    fn scan(&mut self) -> Result<&mut Vec<LoopDevice>, String> {
        let loops = &self.host.loops;
        let scan = self
            .scan
            .get_or_insert_with(|| loops.scan().map_err(|e| format!("cannot list loop devices: {e}")));
        scan.as_mut().map_err(|e| e.clone())
    }

    fn devices(&mut self) -> Vec<LoopDevice> {
        self.scan().map(|devices| devices.clone()).unwrap_or_default()
    }

    /// The scan as far as it was read: changes need not be recorded in a scan not yet made.
    fn scanned(&mut self) -> Option<&mut Vec<LoopDevice>> {
        self.scan.as_mut().and_then(|scan| scan.as_mut().ok())
    }

    fn forget(&mut self, number: u32) {
        if let Some(scan) = self.scanned() {
            scan.retain(|d| d.number != number);
        }
        self.ids.remove(&number);
    }

    /// Every loop device attached to `file` (same name, same identity).
    fn attached_to(&mut self, file: &VolumeFile) -> Vec<LoopDevice> {
        let name = file.path.file_name();
        let candidates: Vec<LoopDevice> =
            self.devices().into_iter().filter(|d| d.backing_file.file_name() == name).collect();
        let mut found: Vec<LoopDevice> =
            candidates.into_iter().filter(|d| self.id_of(d) == Some(file.id)).collect();
        found.sort_by_key(|d| d.number);
        found.dedup_by_key(|d| d.number);
        found
    }

    /// Of several devices for one volume, the one to keep: the one its link names, else one in
    /// use, else the lowest number.
    fn preferred(&self, found: &[LoopDevice], rsc: &str, nr: i32) -> Option<LoopDevice> {
        let link = self.host.links.read(rsc, nr);
        found
            .iter()
            .find(|d| Some(&d.path) == link.as_ref())
            .or_else(|| found.iter().find(|d| self.host.usage.in_use(d, &self.mounts)))
            .or_else(|| found.first())
            .cloned()
    }

    fn detach(&mut self, subject: &str, dev: &LoopDevice, expected: Option<FileId>) -> Result<(), String> {
        match self.host.loops.detach(dev, expected) {
            Ok(DeleteAction::Deleted) => {
                self.change(subject, ChangeKind::LoopDetached { device: dev.path.display().to_string() });
                self.forget(dev.number);
                Ok(())
            }
            Ok(DeleteAction::Absent) => {
                self.forget(dev.number);
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Housekeeping in the directories of desired FILE pools; answers the volumes that should
    /// have gone but could not.
    fn sweep(&mut self, desired: &DesiredState, pools: &HashMap<String, Pool>) -> Vec<VolumeReport> {
        let mut leftovers = Vec::new();
        if self.scan().is_err() {
            // Without the list of loop devices nothing can be detached safely.
            return leftovers;
        }
        let mut dirs: BTreeMap<PathBuf, (FileProvider, String)> = BTreeMap::new();
        for pool in pools.values() {
            if let PoolCtx::File { provider, dir } = &pool.ctx {
                dirs.entry(dir.clone()).or_insert((*provider, pool.name.clone()));
            }
        }
        let mut wanted: HashMap<PathBuf, HashSet<String>> = HashMap::new();
        for v in &desired.volumes {
            if let Some(Pool { ctx: PoolCtx::File { dir, .. }, .. }) = pools.get(&key(&v.pool)) {
                wanted.entry(dir.clone()).or_default().insert(volume_file_name(&v.resource, v.volume_number));
            }
        }
        // Desired snapshot files are kept whichever way their name reads.
        for s in &desired.snapshots {
            if let Some(Pool { ctx: PoolCtx::File { dir, .. }, .. }) = pools.get(&key(&s.pool)) {
                wanted.entry(dir.clone()).or_default().insert(naming::snapshot_file_name(
                    &s.resource,
                    s.volume_number,
                    &s.snapshot,
                ));
            }
        }
        self.cancel_undesired_copies(&wanted);
        let empty = HashSet::new();
        for (dir, (provider, pool_name)) in dirs {
            let listing = match provider.list(&dir) {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot list pool directory");
                    continue;
                }
            };
            let wanted = wanted.get(&dir).unwrap_or(&empty);
            for tmp in &listing.temps {
                if self.copy_running_into(tmp) {
                    continue;
                }
                if self.devices().iter().any(|d| &d.backing_file == tmp) {
                    tracing::warn!(path = %tmp.display(), "temporary volume file is attached; left alone");
                    continue;
                }
                match std::fs::remove_file(tmp) {
                    Ok(()) => self.change(tmp.display().to_string(), ChangeKind::StaleTempRemoved),
                    Err(e) => tracing::warn!(path = %tmp.display(), error = %e, "cannot remove stale file"),
                }
            }
            for (rsc, nr, path) in &listing.volumes {
                if wanted.contains(&volume_file_name(rsc, *nr)) {
                    continue;
                }
                if let Err(e) = self.delete_volume(rsc, *nr, path, &provider) {
                    leftovers.push(VolumeReport {
                        resource: rsc.clone(),
                        volume_number: *nr,
                        pool: pool_name.clone(),
                        disk_state: FAILED.to_string(),
                        error: Some(format!("not desired any more, but cannot be removed: {e}")),
                        ..Default::default()
                    });
                }
            }
            for (rsc, nr, snap, path) in &listing.snapshots {
                if path.file_name().and_then(OsStr::to_str).is_some_and(|n| wanted.contains(n)) {
                    continue;
                }
                match std::fs::remove_file(path) {
                    Ok(()) => self.change(format!("snapshot {rsc}/{nr}/{snap}"), ChangeKind::SnapshotDeleted),
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "cannot remove snapshot file")
                    }
                }
            }
            self.detach_orphans(&dir);
        }
        leftovers
    }

    /// Detaches loop devices whose backing file in `dir` had a volume's name but is gone (or
    /// was replaced): left by a crash or by hand, they would otherwise leak.
    fn detach_orphans(&mut self, dir: &Path) {
        for dev in self.devices() {
            if dev.backing_file.parent() != Some(dir) {
                continue;
            }
            let Some(name) = dev.backing_file.file_name().and_then(OsStr::to_str) else { continue };
            if naming::parse_volume_file_name(name).is_none() && naming::parse_temp_file_name(name).is_none()
            {
                continue;
            }
            let Some(id) = self.id_of(&dev) else { continue };
            let current = std::fs::symlink_metadata(&dev.backing_file).ok().map(|m| FileId::of(&m));
            if !dev.backing_deleted && current == Some(id) {
                continue;
            }
            if self.host.usage.in_use(&dev, &self.mounts) {
                tracing::warn!(device = %dev.path.display(), "loop device of a removed volume file is in use; left alone");
                continue;
            }
            let subject = format!("device {}", dev.path.display());
            if let Err(e) = self.detach(&subject, &dev, Some(id)) {
                tracing::warn!(device = %dev.path.display(), error = %e, "cannot detach orphaned loop device");
            }
        }
    }

    /// Removes a volume: device(s), link, file. Refuses while the device is in use.
    fn delete_volume(
        &mut self,
        rsc: &str,
        nr: i32,
        path: &Path,
        provider: &FileProvider,
    ) -> Result<(), String> {
        let subject = format!("volume {rsc}/{nr}");
        let file = provider.stat_volume(path).map_err(|e| e.to_string())?;
        if let Some(file) = &file {
            let devices = self.attached_to(file);
            if let Some(busy) = devices.iter().find(|d| self.host.usage.in_use(d, &self.mounts)) {
                return Err(format!("{} is in use (mounted or held open)", busy.path.display()));
            }
            for dev in &devices {
                self.detach(&subject, dev, Some(file.id))?;
            }
        }
        self.host.links.remove(rsc, nr).map_err(|e| e.to_string())?;
        if provider.delete_volume(path).map_err(|e| e.to_string())?.changed() {
            self.change(subject, ChangeKind::VolumeDeleted);
        }
        Ok(())
    }

    fn volume(
        &mut self,
        spec: &VolumeSpec,
        pools: &HashMap<String, Pool>,
        layers: &LayerSupport,
    ) -> VolumeReport {
        let Some(pool) = pools.get(&key(&spec.pool)) else {
            return failed_volume(
                spec,
                format!("storage pool {} is not part of this node's desired state", spec.pool),
            );
        };
        match &pool.ctx {
            PoolCtx::Broken(why) => failed_volume(spec, format!("storage pool {}: {why}", spec.pool)),
            PoolCtx::Diskless => {
                let why = match layers.reason("DRBD") {
                    Some(r) => format!("a diskless volume needs the DRBD layer, which is not available: {r}"),
                    None => "a diskless volume needs the DRBD layer, which this satellite does not drive yet"
                        .to_string(),
                };
                VolumeReport { disk_state: DISKLESS.to_string(), ..failed_volume(spec, why) }
            }
            PoolCtx::File { provider, dir } => {
                if let Some(report) = self.volume_from_source(spec, provider, dir, pools) {
                    return report;
                }
                let result = if self.apply { self.converge_volume(spec, provider, dir) } else { Ok(None) };
                let fresh = result.as_ref().ok().cloned().flatten();
                let mut report = self.observe_volume(spec, provider, dir, fresh);
                if let Err(e) = result {
                    report.error = Some(e);
                    self.verified.remove(&(spec.resource.clone(), spec.volume_number));
                }
                report
            }
        }
    }

    /// Brings one volume to its desired state; answers the device of a volume created now.
    fn converge_volume(
        &mut self,
        spec: &VolumeSpec,
        provider: &FileProvider,
        dir: &Path,
    ) -> Result<Option<LoopDevice>, String> {
        let (rsc, nr) = (spec.resource.as_str(), spec.volume_number);
        naming::validate(rsc, nr)?;
        let size = desired_size(spec)?;
        let subject = format!("volume {rsc}/{nr}");
        let path = volume_path(dir, rsc, nr);
        let file = match provider.stat_volume(&path).map_err(|e| e.to_string())? {
            None => {
                let file = provider.create_volume(&path, size).map_err(|e| e.to_string())?;
                self.change(&subject, ChangeKind::VolumeCreated { size_kib: spec.size_kib });
                return self.finish_new_volume(&subject, spec, file).map(Some);
            }
            Some(file) if file.size_bytes != size => {
                provider.resize_volume(&path, size).map_err(|e| e.to_string())?;
                self.change(
                    &subject,
                    ChangeKind::VolumeResized {
                        from_kib: (file.size_bytes / 1024) as i64,
                        to_kib: spec.size_kib,
                    },
                );
                provider.stat_volume(&path).map_err(|e| e.to_string())?.ok_or("volume file vanished")?
            }
            Some(file) => file,
        };
        let dev = self.ensure_attached(&subject, &file, rsc, nr)?;
        self.ensure_device(&subject, spec, dev).map(|_| None)
    }

    /// Attaches and links a volume file created in this run (no device can hold it yet);
    /// undoes everything on failure.
    fn finish_new_volume(
        &mut self,
        subject: &str,
        spec: &VolumeSpec,
        file: VolumeFile,
    ) -> Result<LoopDevice, String> {
        let (rsc, nr) = (spec.resource.as_str(), spec.volume_number);
        let mut attached = None;
        let result = (|| {
            let dev = self.attach(subject, &file)?;
            attached = Some(dev.clone());
            self.ensure_device(subject, spec, dev)
        })();
        if result.is_err() {
            if let Some(dev) = attached {
                if let Err(de) = self.detach(subject, &dev, Some(file.id)) {
                    tracing::warn!(device = %dev.path.display(), error = %de, "undo: cannot detach");
                    return result;
                }
            }
            let _ = self.host.links.remove(rsc, nr);
            let _ = std::fs::remove_file(&file.path);
        }
        result
    }

    /// Size and link of an attached volume device.
    fn ensure_device(
        &mut self,
        subject: &str,
        spec: &VolumeSpec,
        mut dev: LoopDevice,
    ) -> Result<LoopDevice, String> {
        let size = desired_size(spec)?;
        if dev.size_bytes != size {
            let now = self.host.loops.refresh_capacity(&dev).map_err(|e| e.to_string())?;
            self.change(subject, ChangeKind::CapacityRefreshed { device: dev.path.display().to_string() });
            if now != size {
                return Err(format!(
                    "{} has {now} bytes after a capacity refresh, expected {size}",
                    dev.path.display()
                ));
            }
            dev.size_bytes = now;
            if let Some(scan) = self.scanned() {
                for d in scan.iter_mut().filter(|d| d.number == dev.number) {
                    d.size_bytes = now;
                }
            }
        }
        let linked = self
            .host
            .links
            .ensure(&spec.resource, spec.volume_number, &dev.path)
            .map_err(|e| e.to_string())?;
        if linked.changed() {
            self.change(subject, ChangeKind::Linked { device: dev.path.display().to_string() });
        }
        Ok(dev)
    }

    /// The one loop device of a volume file: found again, or attached now.
    fn ensure_attached(
        &mut self,
        subject: &str,
        file: &VolumeFile,
        rsc: &str,
        nr: i32,
    ) -> Result<LoopDevice, String> {
        // Without the list of devices, a device already holding the file would go unseen.
        self.scan()?;
        let found = self.attached_to(file);
        if let Some(keep) = self.preferred(&found, rsc, nr) {
            for extra in found.iter().filter(|d| d.number != keep.number) {
                if self.host.usage.in_use(extra, &self.mounts) {
                    tracing::warn!(device = %extra.path.display(), "second loop device of a volume is in use; left alone");
                    continue;
                }
                if let Err(e) = self.detach(subject, extra, Some(file.id)) {
                    tracing::warn!(device = %extra.path.display(), error = %e, "cannot detach duplicate");
                }
            }
            if keep.autoclear {
                let action = self.host.loops.clear_autoclear(&keep).map_err(|e| e.to_string())?;
                if action.changed() {
                    let device = keep.path.display().to_string();
                    self.change(subject, ChangeKind::AutoclearCleared { device });
                }
            }
            return Ok(keep);
        }
        self.attach(subject, file)
    }

    /// Attaches `file` to a new loop device.
    fn attach(&mut self, subject: &str, file: &VolumeFile) -> Result<LoopDevice, String> {
        let dev = self.host.loops.attach(&file.path).map_err(|e| e.to_string())?;
        self.change(subject, ChangeKind::Attached { device: dev.path.display().to_string() });
        // The number may have been in the scan already, bound to a file since detached by
        // someone else.
        self.forget(dev.number);
        self.ids.insert(dev.number, Some(file.id));
        if let Some(scan) = self.scanned() {
            scan.push(dev.clone());
        }
        Ok(dev)
    }

    /// The report of one volume of a FILE pool, from what is on the host now. `fresh` is the
    /// device of a volume created in this run: its only one, as it was just made.
    fn observe_volume(
        &mut self,
        spec: &VolumeSpec,
        provider: &FileProvider,
        dir: &Path,
        fresh: Option<LoopDevice>,
    ) -> VolumeReport {
        let (rsc, nr) = (spec.resource.as_str(), spec.volume_number);
        let mut report = failed_volume(spec, String::new());
        let size = match naming::validate(rsc, nr).and_then(|()| desired_size(spec)) {
            Ok(s) => s,
            Err(e) => return failed_volume(spec, e),
        };
        let path = volume_path(dir, rsc, nr);
        let file = match provider.stat_volume(&path) {
            Ok(Some(f)) => f,
            Ok(None) => return failed_volume(spec, format!("volume file {} does not exist", path.display())),
            Err(e) => return failed_volume(spec, e.to_string()),
        };
        report.allocated_size_kib = (file.allocated_bytes / 1024) as i64;
        let (found, dev) = match fresh {
            Some(dev) => (vec![dev.clone()], Some(dev)),
            None => {
                let found = self.attached_to(&file);
                let dev = self
                    .preferred(&found, rsc, nr)
                    .and_then(|d| self.host.loops.get(d.number).ok().flatten().or(Some(d)));
                (found, dev)
            }
        };
        let Some(dev) = dev else {
            report.error = Some(format!("{} is not attached to a loop device", path.display()));
            return report;
        };
        let mut problems = Vec::new();
        report.device_path = Some(dev.path.display().to_string());
        report.usable_size_kib = (dev.size_bytes / 1024) as i64;
        report.in_use = self.host.usage.in_use(&dev, &self.mounts);
        if file.size_bytes != size {
            problems.push(format!(
                "the volume file has {} KiB, not {} KiB",
                file.size_bytes / 1024,
                spec.size_kib
            ));
        }
        if dev.size_bytes != size {
            problems.push(format!(
                "{} has {} KiB, not {} KiB",
                dev.path.display(),
                dev.size_bytes / 1024,
                spec.size_kib
            ));
        }
        if problems.is_empty() {
            report.disk_state = UP_TO_DATE.to_string();
        }
        let link = self.host.links.link_path(rsc, nr);
        if self.host.links.read(rsc, nr).as_deref() == Some(dev.path.as_path()) {
            report.stable_path = Some(link.display().to_string());
        } else {
            problems.push(format!("{} does not point to {}", link.display(), dev.path.display()));
        }
        if found.len() > 1 {
            problems.push(format!("the volume file is attached {} times", found.len()));
        }
        if problems.is_empty() {
            report.error = None;
            let verified = VerifiedVolume {
                spec: spec.clone(),
                report: report.clone(),
                device: dev,
                file: file.id,
                checked_at: Instant::now(),
            };
            self.verified.insert((rsc.to_string(), nr), verified);
        } else {
            report.error = Some(problems.join("; "));
        }
        report
    }

    /// Removes links whose target is not a loop device backed by that volume's file.
    fn sweep_links(&mut self) {
        let links = match self.host.links.list() {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list stable links");
                return;
            }
        };
        // Without a complete list of loop devices no link can be judged stale.
        let Ok(scan) = self.scan().cloned() else { return };
        for link in links {
            let expected = volume_file_name(&link.resource, link.volume_number);
            let valid = scan.iter().any(|d| {
                d.path == link.target
                    && !d.backing_deleted
                    && d.backing_file.file_name() == Some(OsStr::new(&expected))
            });
            if valid {
                continue;
            }
            match self.host.links.remove(&link.resource, link.volume_number) {
                Ok(a) if a.changed() => {
                    self.change(link.path.display().to_string(), ChangeKind::StaleLinkRemoved)
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(link = %link.path.display(), error = %e, "cannot remove stale link"),
            }
        }
    }
}

fn desired_size(spec: &VolumeSpec) -> Result<u64, String> {
    if spec.size_kib <= 0 {
        return Err(format!("volume size {} KiB is not positive", spec.size_kib));
    }
    (spec.size_kib as u64)
        .checked_mul(1024)
        .filter(|b| *b <= i64::MAX as u64)
        .ok_or_else(|| format!("volume size {} KiB is too large", spec.size_kib))
}
