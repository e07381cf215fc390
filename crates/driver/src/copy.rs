//! Copies in one pool: a volume from another volume (a LINSTOR clone), from one of its
//! snapshots (a restore into a new resource definition), with all its snapshots (a chain of
//! restores), and instance volumes from image volumes.
//!
//! Rules kept here:
//! - **The copy's identity is in the request that makes it.** A clone request carries the new
//!   `Aux/Incus/*` props (`override_props`) and drops the source's snapshot mappings and
//!   config-derived props (`delete_namespaces`, `delete_props`), so no lookup ever finds two
//!   resource definitions for one volume, not even for a moment (Incus's driver sets them after
//!   the clone and races its own lookups).
//! - **Clones and restores are waited for with a deadline** ([`COPY_DEADLINE`]); a status the
//!   driver does not know is an error, not a reason to wait (Incus polls forever).
//! - **A copy is a new filesystem.** xfs and btrfs copies get a new UUID (an xfs log left by
//!   the source's writes is replayed first, on a `nouuid` mount), so the copy mounts next to
//!   its source; every copied snapshot gets one too, so a rollback of the copy never brings the
//!   source's UUID back. Then the copy gets the requested size. A copy from a snapshot gets the
//!   same treatment (Incus skips both there).
//! - **Copies with snapshots** (Incus's driver refuses them, LINSTOR's clone does not copy
//!   snapshots): the volume is cloned, its data kept in a temporary snapshot of the copy; then,
//!   oldest first, each source snapshot is restored into the copy's resource definition (its
//!   resources deleted and restored from the snapshot) and snapshotted under a new random name
//!   with its mapping property; finally the temporary snapshot is restored and deleted. Only
//!   LINSTOR primitives every controller has: clone, snapshot, restore-resource, resource
//!   delete. The source is never touched.
//! - **A failed copy leaves nothing.** The copy's resource definition is registered for
//!   deletion (its snapshots first) before the call that makes it; directories made for it go
//!   too.

use crate::config::{KEY_SIZE, KEY_SIZE_STATE, PROP_EXACT_SIZE};
use crate::driver::Shared;
use crate::error::{Error, Result};
use crate::host::Filesystem;
use crate::pool::Pool;
use crate::size;
use crate::snapshots::{AUX_SNAPSHOT_MAP, AUX_SNAPSHOT_MAPS};
use crate::undo::Undo;
use crate::volume::{volume_number, ContentType, Volume, VolumeType};
use crate::volumes::remove_empty_dir;
use linstor_api::consts::{FAIL_NOT_FOUND_SNAPSHOT, FAIL_NOT_FOUND_SNAPSHOT_DFN};
use linstor_api::{
    Props, ResourceDefinition, ResourceDefinitionCloneRequest, ResourceDefinitionCreate, Snapshot,
    SnapshotRestore,
};
use linstor_client::ListOpts;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a clone or a restore may take until its data is complete. Reflink copies take
/// milliseconds; full copies (pools without reflink, LVM `dd`) take as long as the data.
pub const COPY_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// The namespaces of snapshot mappings (without the trailing `/`), as `delete_namespaces`
/// takes them.
fn snapshot_namespaces() -> Vec<String> {
    AUX_SNAPSHOT_MAPS.iter().map(|prefix| prefix.trim_end_matches('/').to_string()).collect()
}

/// What a copy made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// The copy's LINSTOR resource definition.
    pub resource_definition: String,
    /// The snapshots the copy got (Incus names), oldest first.
    pub snapshots: Vec<String>,
}

/// How a copy gets its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SizeRule {
    /// The destination's `size` (and `size.state`), larger or smaller.
    AsRequested,
    /// Only larger: an instance from an image never shrinks the image's filesystem.
    GrowOnly,
}

/// What one look at a long LINSTOR operation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Progress {
    Done,
    Waiting(String),
}

/// Looks at an operation (`check`) until it is done, fails, or `deadline` passes; the looks
/// start 50 ms apart and slow down to 1 s.
pub(crate) async fn wait_for<F, Fut>(what: &str, deadline: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Progress>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        let why = match check().await? {
            Progress::Done => return Ok(()),
            Progress::Waiting(why) => why,
        };
        if started.elapsed() >= deadline {
            return Err(Error::Inconsistent(format!(
                "{what} did not complete within {} s ({why})",
                deadline.as_secs_f64()
            )));
        }
        tokio::time::sleep(pause.min(deadline.saturating_sub(started.elapsed()))).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// A clone status (`GET .../clone/{name}`) as progress.
pub(crate) fn clone_progress(status: &str) -> Result<Progress> {
    match status {
        "COMPLETE" => Ok(Progress::Done),
        "CLONING" => Ok(Progress::Waiting("LINSTOR reports it CLONING".into())),
        "FAILED" => Err(Error::Inconsistent("Clone operation failed (LINSTOR reports it FAILED)".into())),
        other => Err(Error::Inconsistent(format!("Clone operation in an unknown state \"{other}\""))),
    }
}

/// Whether every diskful volume of `resources` holds its data: `UpToDate` (or no state, with a
/// device). `Failed` is an error.
pub(crate) fn restore_progress(rd: &str, resources: &[linstor_api::ResourceWithVolumes]) -> Result<Progress> {
    for r in resources {
        let diskless = r.resource.flags.iter().any(|f| f == "DISKLESS" || f == "DRBD_DISKLESS");
        if diskless {
            continue;
        }
        for v in &r.volumes {
            let state = v.state.as_ref().and_then(|s| s.disk_state.as_deref());
            match state {
                Some("UpToDate") | Some("Diskless") => {}
                None if v.device_path.as_deref().is_some_and(|p| !p.is_empty()) => {}
                Some("Failed") => {
                    let why: Vec<String> = v.reports.iter().map(|rc| rc.message.clone()).collect();
                    return Err(Error::Inconsistent(format!(
                        "The data of volume {} of {rd} on node {} could not be made: {}",
                        v.volume_number.unwrap_or(0),
                        r.resource.node_name,
                        if why.is_empty() {
                            "its satellite reports it failed".to_string()
                        } else {
                            why.join("; ")
                        }
                    )));
                }
                other => {
                    return Ok(Progress::Waiting(format!(
                        "volume {} on node {} is {}",
                        v.volume_number.unwrap_or(0),
                        r.resource.node_name,
                        other.unwrap_or("without a device")
                    )))
                }
            }
        }
    }
    Ok(Progress::Done)
}

impl Shared {
    /// Waits until the clone `clone` of `src` is complete.
    pub(crate) async fn wait_clone(&self, src: &str, clone: &str, deadline: Duration) -> Result<()> {
        wait_for(&format!("The clone of {src} into {clone}"), deadline, || async {
            let status = self
                .client
                .resource_definition_clone_status(src, clone)
                .await
                .map_err(Error::linstor("Unable to get clone operation status"))?;
            clone_progress(&status.status)
        })
        .await
    }

    /// Waits until the resources of `rd` hold their data (a restore without reflink copies in
    /// the background).
    pub(crate) async fn wait_data(&self, rd: &str, deadline: Duration) -> Result<()> {
        wait_for(&format!("The data of {rd}"), deadline, || async {
            let resources = self
                .client
                .resource_view(&ListOpts::new().resource(rd))
                .await
                .map_err(Error::linstor(format!("Unable to get the resources of {rd}")))?;
            let ours: Vec<_> =
                resources.into_iter().filter(|r| r.resource.name.eq_ignore_ascii_case(rd)).collect();
            restore_progress(rd, &ours)
        })
        .await
    }

    /// Deletes every resource of `rd` (its snapshots stay).
    pub(crate) async fn delete_resources(&self, rd: &str) -> Result<()> {
        let resources = self
            .client
            .resource_list(rd, &ListOpts::new())
            .await
            .map_err(Error::linstor(format!("Unable to get the resources of {rd}")))?;
        // Diskless ones first: a diskful peer is never left serving a client it cannot see.
        let mut order: Vec<_> = resources.iter().map(|r| &r.resource).collect();
        order.sort_by_key(|r| !r.flags.iter().any(|f| f.contains("DISKLESS") || f == "TIE_BREAKER"));
        for resource in order {
            match self.client.resource_delete(rd, &resource.node_name, false).await {
                Ok(_) => {}
                Err(err) if err.is_not_found() => {}
                Err(err) => {
                    return Err(Error::linstor(format!(
                        "Could not delete the resource of {rd} on node {}",
                        resource.node_name
                    ))(err))
                }
            }
        }
        Ok(())
    }

    /// Deletes a LINSTOR snapshot; one already gone is fine.
    pub(crate) async fn delete_snapshot(&self, rd: &str, snapshot: &str) -> Result<()> {
        match self.client.snapshot_delete(rd, snapshot, &[]).await {
            Ok(_) => Ok(()),
            Err(err)
                if err.is_not_found()
                    || err.is(FAIL_NOT_FOUND_SNAPSHOT_DFN)
                    || err.is(FAIL_NOT_FOUND_SNAPSHOT) =>
            {
                Ok(())
            }
            Err(err) => Err(Error::linstor(format!("Could not delete snapshot {snapshot} of {rd}"))(err)),
        }
    }

    /// Deletes a resource definition and every snapshot of it (LINSTOR refuses to delete a
    /// definition that has snapshots). `false` when it did not exist.
    pub(crate) async fn delete_rd_and_snapshots(&self, rd: &str) -> Result<bool> {
        match self.client.snapshot_list(rd).await {
            Ok(snapshots) => {
                for snapshot in snapshots {
                    self.delete_snapshot(rd, &snapshot.name).await?;
                }
            }
            Err(err) if err.is_not_found() => return Ok(false),
            Err(err) => return Err(Error::linstor(format!("Unable to get the snapshots of {rd}"))(err)),
        }
        self.delete_rd(rd).await
    }

    /// Takes LINSTOR snapshot `snapshot` of `rd`.
    pub(crate) async fn take_snapshot(&self, rd: &str, snapshot: &str) -> Result<()> {
        let request = Snapshot { name: snapshot.to_string(), ..Default::default() };
        self.client
            .snapshot_create(rd, &request)
            .await
            .map(|_| ())
            .map_err(Error::linstor(format!("Could not create resource snapshot {snapshot} of {rd}")))
    }

    /// Replaces the data of `rd` by snapshot `snapshot` of `from`: its resources go and come
    /// back restored from the snapshot (on the nodes that hold it), with the snapshot's volume
    /// sizes.
    pub(crate) async fn replace_data(
        &self,
        rd: &str,
        from: &str,
        snapshot: &str,
        sizes_kib: &BTreeMap<i32, i64>,
    ) -> Result<()> {
        self.delete_resources(rd).await?;
        let current = self
            .client
            .volume_definition_list(rd)
            .await
            .map_err(Error::linstor(format!("Unable to get the volume definitions of {rd}")))?;
        let resize: Vec<(i32, i64)> = current
            .iter()
            .filter_map(|vd| {
                let number = vd.volume_number?;
                let want = *sizes_kib.get(&number)?;
                (want != vd.size_kib).then_some((number, want))
            })
            .collect();
        if !resize.is_empty() {
            // LINSTOR cannot resize exact-size volumes; with no resources deployed the property
            // can be set again right after.
            let definition = self
                .client
                .resource_definition_get(rd)
                .await
                .map_err(Error::linstor(format!("Unable to get resource definition {rd}")))?;
            let exact = definition.props.get(PROP_EXACT_SIZE).is_some_and(|v| v == "true");
            if exact {
                self.modify_rd(
                    rd,
                    Props::new(),
                    vec![PROP_EXACT_SIZE.to_string()],
                    "Unable to remove the exact size property",
                )
                .await?;
            }
            for (number, kib) in resize {
                self.client.volume_definition_resize(rd, number, kib).await.map_err(Error::linstor(
                    format!("Unable to resize volume definition {number} of {rd} to the snapshot's size"),
                ))?;
            }
            if exact {
                let props: Props = [(PROP_EXACT_SIZE.to_string(), "true".to_string())].into();
                self.modify_rd(rd, props, Vec::new(), "Could not set exact size on the resource definition")
                    .await?;
            }
        }
        let request = SnapshotRestore { to_resource: rd.to_string(), ..Default::default() };
        self.client.snapshot_restore_resource(from, snapshot, &request).await.map_err(Error::linstor(
            format!("Could not restore resource {rd} from snapshot {snapshot} of {from}"),
        ))?;
        self.wait_data(rd, COPY_DEADLINE).await
    }
}

/// The filesystem a copy's filesystem part holds, and where: the device's LINSTOR volume
/// number.
fn filesystem_part(volume: &Volume, count: usize) -> Option<i32> {
    (volume.has_filesystem() || volume.is_vm_block())
        .then(|| volume_number(volume.id.vol_type, ContentType::Filesystem, count))
}

fn check_pair(src: &Volume, dst: &Volume) -> Result<()> {
    if src.id == dst.id {
        return Err(Error::invalid("name", &dst.id.name, "a volume cannot be copied onto itself"));
    }
    let compatible = src.content_type == dst.content_type && src.is_vm_block() == dst.is_vm_block();
    if !compatible {
        return Err(Error::NotSupported {
            what: format!("Copying {} ({}) into {} ({})", src.id, src.content_type, dst.id, dst.content_type),
            reason: "the content types differ".into(),
        });
    }
    if dst.vol_type() == VolumeType::Image && src.vol_type() != VolumeType::Image {
        return Err(Error::NotSupported {
            what: format!("Copying {} into {}", src.id, dst.id),
            reason: "image volumes are made from images".into(),
        });
    }
    Ok(())
}

impl Pool {
    /// Copies `src` (a volume of this pool) into the new volume `dst`: a LINSTOR clone that
    /// has `dst`'s identity from its first moment, a new filesystem UUID (xfs, btrfs), then
    /// `dst`'s size. With `snapshots`, the copy gets every snapshot of `src` too, with the same
    /// data, oldest first. Nothing is left when it fails.
    pub async fn copy_volume(&self, src: &Volume, dst: &Volume, snapshots: bool) -> Result<CopyReport> {
        self.copy_from(src, dst, snapshots, SizeRule::AsRequested).await
    }

    /// An instance volume from an image volume of this pool: a clone of it, grown to `dst`'s
    /// `size` when that is larger than the image (never shrunk).
    pub async fn create_volume_from_image(&self, image: &Volume, dst: &Volume) -> Result<CopyReport> {
        if image.vol_type() != VolumeType::Image {
            return Err(Error::invalid("source", &image.id.name, "not an image volume"));
        }
        self.copy_from(image, dst, false, SizeRule::GrowOnly).await
    }

    async fn copy_from(
        &self,
        src: &Volume,
        dst: &Volume,
        snapshots: bool,
        rule: SizeRule,
    ) -> Result<CopyReport> {
        self.validate_volume(dst)?;
        check_pair(src, dst)?;
        let report = {
            let lock = self.shared.mounts.volume(self.name(), &dst.id);
            let _guard = lock.lock().await;
            self.refuse_existing(&dst.id).await?;
            let src_rd = self.require(&src.id).await?;
            self.sync_source(src, &src_rd).await?;
            let rd = self.new_linstor_name()?;
            let mut undo = Undo::new(format!("copy {} to {} ({rd})", src.id, dst.id));
            let result = self.clone_steps(src, &src_rd, dst, &rd, snapshots, &mut undo).await;
            undo.finish(result).await?
        };
        // The size last, outside the volume's lock (the resize takes it); undone by deleting.
        if let Err(err) = self.apply_copy_size(dst, rule).await {
            if let Err(undo) = self.delete_copy(dst).await {
                tracing::warn!("copy of {} into {}: could not undo: {undo}", src.id, dst.id);
            }
            return Err(err);
        }
        Ok(report)
    }

    async fn clone_steps(
        &self,
        src: &Volume,
        src_rd: &ResourceDefinition,
        dst: &Volume,
        rd: &str,
        snapshots: bool,
        undo: &mut Undo,
    ) -> Result<CopyReport> {
        self.make_mount_dir(dst, undo)?;
        let shared = Arc::clone(&self.shared);
        let rd_name = rd.to_string();
        undo.push(format!("delete resource definition {rd}"), move || async move {
            shared.delete_rd_and_snapshots(&rd_name).await.map(|_| ()).map_err(|e| e.to_string())
        });
        // The source's config-derived props that the copy's config does not set go; the
        // copy's identity and config props come in; the source's snapshot mappings go.
        let override_props = self.rd_props(dst)?;
        let src_props = crate::config::linstor_props(&src.config).unwrap_or_default();
        let delete_props: Vec<String> =
            src_props.keys().filter(|k| !override_props.contains_key(*k)).cloned().collect();
        let request = ResourceDefinitionCloneRequest {
            name: Some(rd.to_string()),
            resource_group: Some(self.resource_group().to_string()),
            override_props,
            delete_props,
            delete_namespaces: snapshot_namespaces(),
            ..Default::default()
        };
        let started = self.shared.client.resource_definition_clone(&src_rd.name, &request).await.map_err(
            Error::linstor(format!("Unable to start cloning resource definition {}", src_rd.name)),
        )?;
        let clone_name = if started.clone_name.is_empty() { rd.to_string() } else { started.clone_name };
        self.shared.wait_clone(&src_rd.name, &clone_name, COPY_DEADLINE).await?;
        let count = src_rd.volume_definitions.len();
        self.renew_uuid(dst, rd, count).await?;
        let mut report = CopyReport { resource_definition: rd.to_string(), snapshots: Vec::new() };
        if snapshots {
            report.snapshots = self.copy_snapshots(src, &src_rd.name, dst, rd, count, undo).await?;
        }
        self.shared.detach_local(rd).await?;
        Ok(report)
    }

    /// A new volume `dst` from snapshot `snapshot` of `src`: a new resource definition with
    /// `dst`'s identity, the snapshot's volume definitions and data; then a new filesystem UUID
    /// and `dst`'s size, as for any copy.
    pub async fn create_volume_from_snapshot(
        &self,
        src: &Volume,
        snapshot: &str,
        dst: &Volume,
    ) -> Result<CopyReport> {
        self.validate_volume(dst)?;
        check_pair(src, dst)?;
        let report = {
            let lock = self.shared.mounts.volume(self.name(), &dst.id);
            let _guard = lock.lock().await;
            self.refuse_existing(&dst.id).await?;
            let src_rd = self.require(&src.id).await?;
            let linstor_name = self.snapshot(src, snapshot).await?.linstor_name;
            let rd = self.new_linstor_name()?;
            let mut undo = Undo::new(format!("create {} from {}/{snapshot} ({rd})", dst.id, src.id));
            let result = self.restore_steps(&src_rd, &linstor_name, dst, &rd, &mut undo).await;
            undo.finish(result).await?
        };
        if let Err(err) = self.apply_copy_size(dst, SizeRule::AsRequested).await {
            if let Err(undo) = self.delete_copy(dst).await {
                tracing::warn!("{}: could not undo: {undo}", dst.id);
            }
            return Err(err);
        }
        Ok(report)
    }

    async fn restore_steps(
        &self,
        src_rd: &ResourceDefinition,
        linstor_name: &str,
        dst: &Volume,
        rd: &str,
        undo: &mut Undo,
    ) -> Result<CopyReport> {
        self.make_mount_dir(dst, undo)?;
        let shared = Arc::clone(&self.shared);
        let rd_name = rd.to_string();
        undo.push(format!("delete resource definition {rd}"), move || async move {
            shared.delete_rd_and_snapshots(&rd_name).await.map(|_| ()).map_err(|e| e.to_string())
        });
        let create = ResourceDefinitionCreate {
            resource_definition: ResourceDefinition {
                name: rd.to_string(),
                resource_group_name: Some(self.resource_group().to_string()),
                props: self.rd_props(dst)?,
                ..Default::default()
            },
            ..Default::default()
        };
        self.shared
            .client
            .resource_definition_create(&create)
            .await
            .map_err(Error::linstor("Could not create resource definition from snapshot"))?;
        let exact: Props = [(PROP_EXACT_SIZE.to_string(), "true".to_string())].into();
        self.shared
            .modify_rd(rd, exact, Vec::new(), "Could not set exact size on the resource definition")
            .await?;
        let request = SnapshotRestore { to_resource: rd.to_string(), ..Default::default() };
        self.shared
            .client
            .snapshot_restore_volume_definition(&src_rd.name, linstor_name, &request)
            .await
            .map_err(Error::linstor("Could not restore volume definition from snapshot"))?;
        self.shared
            .client
            .snapshot_restore_resource(&src_rd.name, linstor_name, &request)
            .await
            .map_err(Error::linstor("Could not restore resource from snapshot"))?;
        self.shared.wait_data(rd, COPY_DEADLINE).await?;
        let count = self
            .shared
            .client
            .volume_definition_list(rd)
            .await
            .map_err(Error::linstor(format!("Unable to get the volume definitions of {rd}")))?
            .len();
        self.renew_uuid(dst, rd, count).await?;
        self.shared.detach_local(rd).await?;
        Ok(CopyReport { resource_definition: rd.to_string(), snapshots: Vec::new() })
    }

    /// The snapshots of `src_rd`, restored in turn into `rd` and snapshotted there, oldest
    /// first; `rd`'s own data is kept in a temporary snapshot meanwhile and restored last.
    async fn copy_snapshots(
        &self,
        src: &Volume,
        src_rd: &str,
        dst: &Volume,
        rd: &str,
        count: usize,
        undo: &mut Undo,
    ) -> Result<Vec<String>> {
        let mut chain = self.list_snapshots(src).await?;
        chain.retain(|snap| {
            if !snap.successful {
                tracing::warn!("{}: snapshot {} is not complete; it is not copied", src.id, snap.name);
            }
            snap.successful
        });
        if chain.is_empty() {
            return Ok(Vec::new());
        }
        // The copy's own data (with its new UUID), kept while the snapshots pass through.
        self.shared.detach_local(rd).await?;
        let keep = self.new_linstor_name()?;
        self.shared.take_snapshot(rd, &keep).await?;
        let (shared, rd_name, keep_name) = (Arc::clone(&self.shared), rd.to_string(), keep.clone());
        undo.push(format!("delete temporary snapshot {keep} of {rd}"), move || async move {
            shared.delete_snapshot(&rd_name, &keep_name).await.map_err(|e| e.to_string())
        });
        let current = self
            .shared
            .client
            .snapshot_get(rd, &keep)
            .await
            .map_err(Error::linstor(format!("Could not get snapshot {keep} of {rd}")))?;
        let current_sizes: BTreeMap<i32, i64> = current
            .volume_definitions
            .iter()
            .filter_map(|vd| Some((vd.volume_number?, vd.size_kib?)))
            .collect();
        let mut made = Vec::new();
        for snap in &chain {
            let sizes_kib: BTreeMap<i32, i64> = snap
                .sizes
                .iter()
                .map(|(n, bytes)| (*n, i64::try_from(bytes / 1024).unwrap_or(i64::MAX)))
                .collect();
            self.shared.replace_data(rd, src_rd, &snap.linstor_name, &sizes_kib).await?;
            self.renew_uuid(dst, rd, count).await?;
            self.shared.detach_local(rd).await?;
            let linstor_name = self.new_linstor_name()?;
            self.shared.take_snapshot(rd, &linstor_name).await?;
            let mapping: Props = [(format!("{AUX_SNAPSHOT_MAP}{}", snap.name), linstor_name.clone())].into();
            self.shared.modify_rd(rd, mapping, Vec::new(), "Could not set the snapshot name mapping").await?;
            made.push(snap.name.clone());
        }
        self.shared.replace_data(rd, rd, &keep, &current_sizes).await?;
        self.shared.delete_snapshot(rd, &keep).await?;
        Ok(made)
    }

    /// Writes out what this host has not written yet of a source in use here: its mounted
    /// filesystem (`syncfs`), and the dirty pages of its block device when this host has it
    /// open. A clone copies what the device holds, not what the page cache does.
    async fn sync_source(&self, src: &Volume, src_rd: &ResourceDefinition) -> Result<()> {
        self.sync_if_mounted(&self.mount_path(&src.id)).await?;
        let refs = self.mount_users(&src.id).await;
        if refs.block > 0 {
            let number = volume_number(src.id.vol_type, src.content_type, src_rd.volume_definitions.len());
            let device = self.shared.device_path(&src_rd.name, number).await?;
            let dev = device.clone();
            self.shared
                .host(move |h| h.sync_filesystem(&dev))
                .await
                .map_err(Error::host(format!("Could not write out {}", device.display())))?;
        }
        Ok(())
    }

    /// The mount directory of a new filesystem volume (removed again on failure).
    fn make_mount_dir(&self, volume: &Volume, undo: &mut Undo) -> Result<()> {
        if !(volume.has_filesystem() || volume.is_vm_block()) {
            return Ok(());
        }
        let dir = self.mount_path(&volume.id);
        if !dir.exists() {
            std::fs::create_dir_all(&dir)
                .map_err(Error::io(format!("Could not create {}", dir.display())))?;
            undo.push(format!("remove {}", dir.display()), move || async move { remove_empty_dir(&dir) });
        }
        Ok(())
    }

    /// A new UUID for the xfs or btrfs filesystem of the copy `volume` (resource definition
    /// `rd` with `count` volumes); ext4 and block volumes need none.
    async fn renew_uuid(&self, volume: &Volume, rd: &str, count: usize) -> Result<()> {
        let Some(number) = filesystem_part(volume, count) else { return Ok(()) };
        let device = self.shared.device_path(rd, number).await?;
        let dev = device.clone();
        let found = self
            .shared
            .host(move |h| h.probe_filesystem(&dev))
            .await
            .map_err(Error::host(format!("Could not probe the filesystem of {}", device.display())))?;
        let Some(fs) = found.as_deref().and_then(Filesystem::parse) else { return Ok(()) };
        if fs == Filesystem::Ext4 {
            return Ok(());
        }
        let dir = self.mount_path(&volume.id);
        if fs == Filesystem::Xfs {
            self.replay_xfs_log(&device, &dir).await?;
        }
        let dev = device.clone();
        self.shared.host_retrying(move |h| h.regenerate_uuid(fs, &dev)).await.map_err(Error::host(format!(
            "Could not give the {fs} filesystem of {} a new UUID",
            device.display()
        )))
    }

    /// Mounts an xfs copy once (`nouuid`: its source may be mounted) so that the log its
    /// source's writes left is replayed; `xfs_admin` refuses a dirty log.
    async fn replay_xfs_log(&self, device: &Path, dir: &Path) -> Result<()> {
        let scratch: PathBuf = dir.to_path_buf();
        std::fs::create_dir_all(&scratch)
            .map_err(Error::io(format!("Could not create {}", scratch.display())))?;
        let (dev, mnt) = (device.to_path_buf(), scratch.clone());
        self.shared.host_retrying(move |h| h.mount(&dev, &mnt, Filesystem::Xfs, "nouuid")).await.map_err(
            Error::host(format!("Could not mount the copy {} to replay its log", device.display())),
        )?;
        self.unmount_path(&scratch).await
    }

    /// Resizes a fresh copy to its requested size.
    async fn apply_copy_size(&self, dst: &Volume, rule: SizeRule) -> Result<()> {
        let wanted = |key: &str| -> Result<Option<u64>> {
            let value = dst.config.get(key).map(String::as_str).unwrap_or("");
            size::parse_size(value)
                .map(|b| b.filter(|b| *b > 0))
                .map_err(|why| Error::invalid(key, value, why))
        };
        let mut parts = vec![(dst.clone(), wanted(KEY_SIZE)?)];
        if dst.is_vm_block() {
            parts.push((dst.config_filesystem(), wanted(KEY_SIZE_STATE)?));
        }
        for (part, bytes) in parts {
            let Some(bytes) = bytes else { continue };
            let current = self.part_size(&part).await?;
            let target = size::round_volume_size(bytes);
            if rule == SizeRule::GrowOnly && target <= current {
                continue;
            }
            self.set_volume_size(&part, bytes, false).await?;
        }
        Ok(())
    }

    /// The size of a volume's part (a VM's config filesystem is its volume 1).
    async fn part_size(&self, part: &Volume) -> Result<u64> {
        let rd = self.require(&part.id).await?;
        let number = volume_number(part.id.vol_type, part.content_type, rd.volume_definitions.len());
        let kib = rd
            .volume_definitions
            .iter()
            .find(|vd| vd.volume_number == Some(number))
            .map(|vd| vd.size_kib)
            .unwrap_or(0);
        Ok(u64::try_from(kib).unwrap_or(0).saturating_mul(1024))
    }

    /// Deletes a copy made by this module, snapshots included.
    async fn delete_copy(&self, dst: &Volume) -> Result<()> {
        let lock = self.shared.mounts.volume(self.name(), &dst.id);
        let _guard = lock.lock().await;
        if let Some(rd) = self.find(&dst.id).await? {
            self.shared.delete_rd_and_snapshots(&rd.name).await?;
        }
        remove_empty_dir(&self.mount_path(&dst.id)).map_err(|why| Error::Io {
            context: format!("Could not remove the mount directory of {}", dst.id),
            source: std::io::Error::other(why),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_mapping_spellings_are_dropped_from_clones() {
        assert_eq!(snapshot_namespaces(), ["Aux/Incus/SnapshotName", "Aux/Incus/snapshot-name"]);
    }

    #[test]
    fn clone_statuses() {
        assert_eq!(clone_progress("COMPLETE").ok(), Some(Progress::Done));
        assert!(matches!(clone_progress("CLONING"), Ok(Progress::Waiting(_))));
        assert!(clone_progress("FAILED").unwrap_err().to_string().contains("Clone operation failed"));
        assert!(clone_progress("WHATEVER").unwrap_err().to_string().contains("unknown state"));
    }

    #[tokio::test]
    async fn waiting_has_a_deadline() {
        let mut looks = 0;
        let err = wait_for("The clone of a into b", Duration::from_millis(200), || {
            looks += 1;
            async { Ok(Progress::Waiting("LINSTOR reports it CLONING".into())) }
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("did not complete within"), "{err}");
        assert!(err.to_string().contains("CLONING"), "{err}");
        assert!(looks >= 2);
        let mut n = 0;
        wait_for("x", Duration::from_secs(5), || {
            n += 1;
            let done = n >= 3;
            async move { Ok(if done { Progress::Done } else { Progress::Waiting(String::new()) }) }
        })
        .await
        .expect("done on the third look");
        assert_eq!(n, 3);
    }

    #[test]
    fn restore_progress_reads_disk_states() {
        use linstor_api::{Resource, ResourceWithVolumes, VolumeState};
        let resource = |state: Option<&str>, device: Option<&str>| ResourceWithVolumes {
            resource: Resource { name: "r".into(), node_name: "n".into(), ..Default::default() },
            volumes: vec![linstor_api::Volume {
                volume_number: Some(0),
                device_path: device.map(str::to_string),
                state: state.map(|s| VolumeState { disk_state: Some(s.into()), ..Default::default() }),
                ..Default::default()
            }],
            shared_name: None,
        };
        assert_eq!(restore_progress("r", &[resource(Some("UpToDate"), None)]).ok(), Some(Progress::Done));
        assert_eq!(restore_progress("r", &[resource(None, Some("/dev/x"))]).ok(), Some(Progress::Done));
        assert!(matches!(
            restore_progress("r", &[resource(Some("Inconsistent"), None)]),
            Ok(Progress::Waiting(_))
        ));
        assert!(restore_progress("r", &[resource(Some("Failed"), None)]).is_err());
    }

    #[test]
    fn pairs_that_can_be_copied() {
        use crate::volume::VolumeId;
        let fs = |id: VolumeId| Volume::new(id, ContentType::Filesystem);
        let block = |id: VolumeId| Volume::new(id, ContentType::Block);
        let fp = "f".repeat(64);
        assert!(
            check_pair(&fs(VolumeId::custom("default", "a")), &fs(VolumeId::custom("default", "b"))).is_ok()
        );
        assert!(check_pair(&fs(VolumeId::image(&fp)), &fs(VolumeId::container("default", "c"))).is_ok());
        assert!(check_pair(&block(VolumeId::image(&fp)), &block(VolumeId::virtual_machine("default", "v")))
            .is_ok());
        assert!(
            check_pair(&fs(VolumeId::custom("default", "a")), &fs(VolumeId::custom("default", "a"))).is_err()
        );
        assert!(check_pair(&fs(VolumeId::custom("default", "a")), &block(VolumeId::custom("default", "b")))
            .is_err());
        // A VM's disk has a config filesystem next to it; a custom block volume has not.
        assert!(check_pair(
            &block(VolumeId::custom("default", "a")),
            &block(VolumeId::virtual_machine("default", "v"))
        )
        .is_err());
        assert!(check_pair(&fs(VolumeId::custom("default", "a")), &fs(VolumeId::image(&fp))).is_err());
    }
}
