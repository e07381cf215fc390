//! Read-only access to a snapshot, through a temporary copy: a resource definition restored
//! from the LINSTOR snapshot, whose filesystem is mounted read-only under
//! `<pool dir>/<type>-snapshots/<storage name>/<snapshot>` (block volumes: its device).
//!
//! Rules kept here:
//! - The copy is found by its `Aux/Incus/*` props like a volume: `Aux/Incus/name` = prefix +
//!   `<storage name>/<snapshot>` (Incus's naming), the volume's type and content type. Its
//!   properties are set when it is created, before it has any resource; recovery never takes it
//!   for a volume (a `/` in the name).
//! - The copy is a new filesystem next to its source, which may be mounted: xfs is mounted with
//!   `nouuid`, and btrfs gets a new UUID on the copy (never on the source) before it is mounted.
//!   Every copy is mounted read-only (the superblock, so a bind of it is read-only too).
//! - Mounts are reference counted like volumes'. The last unmount removes the mount, the copy
//!   and its directories; a failed mount removes whatever it made. A copy left by a daemon that
//!   stopped is removed by the next mount, unmount or delete of that snapshot.

use crate::error::{Error, Result};
use crate::host::Filesystem;
use crate::mounts::MountRefs;
use crate::pool::Pool;
use crate::snapshots::{check_snapshot_name, snapshot_mount_id, SnapshotInfo};
use crate::undo::Undo;
use crate::volume::{volume_number, ContentType, Volume, VolumeId};
use crate::volumes::{remove_empty_dir, Mounted, Unmounted};
use linstor_api::{ResourceDefinition, ResourceDefinitionCreate, SnapshotRestore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Removes a snapshot's mount directory and its volume's `<type>-snapshots/<name>` directory
/// when they are empty.
fn remove_mount_dirs(path: &Path) -> std::result::Result<(), String> {
    remove_empty_dir(path)?;
    if let Some(parent) = path.parent() {
        // Other snapshots of the volume may be mounted there: only an empty one goes.
        if std::fs::read_dir(parent).is_ok_and(|mut entries| entries.next().is_none()) {
            remove_empty_dir(parent)?;
        }
    }
    Ok(())
}

impl Pool {
    /// Where a snapshot is mounted read-only:
    /// `<state_dir>/storage-pools/<pool>/<type>-snapshots/<storage name>/<snapshot>`.
    pub fn snapshot_mount_path(&self, id: &VolumeId, snapshot: &str) -> PathBuf {
        self.pool_dir()
            .join(format!("{}-snapshots", id.vol_type.as_str()))
            .join(id.storage_name())
            .join(snapshot)
    }

    /// How many users this host has of a snapshot's read-only copy.
    pub async fn snapshot_mount_users(&self, id: &VolumeId, snapshot: &str) -> MountRefs {
        *self.shared.mounts.volume(self.name(), &snapshot_mount_id(id, snapshot)).lock().await
    }

    /// Gives read-only access to a snapshot on this host (reference counted): a temporary
    /// copy restored from it, its filesystem mounted read-only (filesystem volumes, a VM's
    /// config filesystem) and its device (block volumes, VM disks). On failure nothing is left.
    pub async fn mount_snapshot(&self, volume: &Volume, snapshot: &str) -> Result<Mounted> {
        check_snapshot_name(snapshot)?;
        let volume_lock = self.shared.mounts.volume(self.name(), &volume.id);
        let _volume_guard = volume_lock.lock().await;
        let mount_id = snapshot_mount_id(&volume.id, snapshot);
        let lock = self.shared.mounts.volume(self.name(), &mount_id);
        let mut refs = lock.lock().await;
        if refs.total() > 0 {
            return self.share_snapshot_mount(volume, snapshot, &mount_id, &mut refs).await;
        }
        let target = self.snapshot(volume, snapshot).await?;
        if !target.successful {
            return Err(Error::Inconsistent(format!(
                "Snapshot \"{snapshot}\" of {} (LINSTOR snapshot {}) was never completed; it cannot be mounted",
                volume.id, target.linstor_name
            )));
        }
        let parent = self.require(&volume.id).await?;
        // What a daemon that stopped may have left of an earlier mount.
        let path = self.snapshot_mount_path(&volume.id, snapshot);
        self.unmount_if_mounted(&path).await?;
        self.remove_snapshot_copies(&mount_id).await?;
        let copy = self.new_linstor_name()?;
        let mut undo = Undo::new(format!("mount snapshot {snapshot} of {}", volume.id));
        let result = self
            .mount_snapshot_steps(volume, &mount_id, &parent, &target, &copy, &path, &mut refs, &mut undo)
            .await;
        undo.finish(result).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn mount_snapshot_steps(
        &self,
        volume: &Volume,
        mount_id: &VolumeId,
        parent: &ResourceDefinition,
        target: &SnapshotInfo,
        copy: &str,
        path: &Path,
        refs: &mut MountRefs,
        undo: &mut Undo,
    ) -> Result<Mounted> {
        // Registered before the create: the name is new and ours.
        let shared = Arc::clone(&self.shared);
        let copy_name = copy.to_string();
        undo.push(format!("delete the temporary resource definition {copy}"), move || async move {
            shared.delete_rd(&copy_name).await.map(|_| ()).map_err(|e| e.to_string())
        });
        let create = ResourceDefinitionCreate {
            resource_definition: ResourceDefinition {
                name: copy.to_string(),
                resource_group_name: Some(self.resource_group().to_string()),
                props: self.snapshot_copy_props(volume, mount_id),
                ..Default::default()
            },
            ..Default::default()
        };
        self.shared.client.resource_definition_create(&create).await.map_err(Error::linstor(format!(
            "Could not create the resource definition {copy} for snapshot \"{}\"",
            target.name
        )))?;
        let restore = SnapshotRestore { to_resource: copy.to_string(), ..Default::default() };
        self.shared
            .client
            .snapshot_restore_volume_definition(&parent.name, &target.linstor_name, &restore)
            .await
            .map_err(Error::linstor(format!(
                "Could not restore volume definitions from snapshot {} of {} into {copy}",
                target.linstor_name, parent.name
            )))?;
        self.shared
            .client
            .snapshot_restore_resource(&parent.name, &target.linstor_name, &restore)
            .await
            .map_err(Error::linstor(format!(
                "Could not restore resources from snapshot {} of {} into {copy}",
                target.linstor_name, parent.name
            )))?;
        let count =
            if target.sizes.is_empty() { parent.volume_definitions.len() } else { target.sizes.len() };
        let mut mounted = Mounted { mount_path: None, device: None, users: 0 };
        if volume.content_type != ContentType::Filesystem {
            let number = volume_number(volume.id.vol_type, volume.content_type, count);
            mounted.device = Some(self.shared.device_path(copy, number).await?);
        }
        let fs_part = volume.has_filesystem() || volume.is_vm_block();
        if fs_part {
            let fs_volume = if volume.is_vm_block() { volume.config_filesystem() } else { volume.clone() };
            let number = volume_number(volume.id.vol_type, ContentType::Filesystem, count);
            let device = self.shared.device_path(copy, number).await?;
            self.mount_snapshot_filesystem(&fs_volume, &device, path, undo).await?;
            mounted.mount_path = Some(path.to_path_buf());
            if volume.has_filesystem() {
                mounted.device = Some(device);
            }
        }
        if volume.content_type != ContentType::Filesystem {
            refs.block += 1;
        }
        if fs_part {
            refs.filesystem += 1;
        }
        mounted.users = if volume.has_filesystem() { refs.filesystem } else { refs.block };
        Ok(mounted)
    }

    /// Mounts a copy's filesystem read-only: xfs with `nouuid`, btrfs after a new UUID.
    async fn mount_snapshot_filesystem(
        &self,
        fs_volume: &Volume,
        device: &Path,
        path: &Path,
        undo: &mut Undo,
    ) -> Result<()> {
        let dev = device.to_path_buf();
        self.shared
            .host(move |h| h.flush_device(&dev))
            .await
            .map_err(Error::host(format!("Could not flush {}", device.display())))?;
        let fs = self.filesystem_of(fs_volume, Some(device)).await?;
        if fs == Filesystem::Btrfs {
            let dev = device.to_path_buf();
            self.shared.host_retrying(move |h| h.regenerate_uuid(fs, &dev)).await.map_err(Error::host(
                format!(
                    "Could not give the btrfs filesystem of the snapshot copy {} a new UUID",
                    device.display()
                ),
            ))?;
        }
        let options = if fs == Filesystem::Xfs { "ro,nouuid" } else { "ro" };
        let dirs = path.to_path_buf();
        std::fs::create_dir_all(path).map_err(Error::io(format!("Could not create {}", path.display())))?;
        undo.push(format!("remove {}", dirs.display()), move || async move { remove_mount_dirs(&dirs) });
        let (dev, target) = (device.to_path_buf(), path.to_path_buf());
        self.shared.host_retrying(move |h| h.mount(&dev, &target, fs, options)).await.map_err(
            Error::host(format!("Could not mount {} read-only on {}", device.display(), path.display())),
        )?;
        let (pool, target) = (self.clone(), path.to_path_buf());
        undo.push(format!("unmount {}", path.display()), move || async move {
            pool.unmount_path(&target).await.map_err(|e| e.to_string())
        });
        Ok(())
    }

    /// One more user of a snapshot mounted already.
    async fn share_snapshot_mount(
        &self,
        volume: &Volume,
        snapshot: &str,
        mount_id: &VolumeId,
        refs: &mut MountRefs,
    ) -> Result<Mounted> {
        let copies = self.snapshot_copies(mount_id).await?;
        let Some(copy) = copies.first() else {
            return Err(Error::Inconsistent(format!(
                "Snapshot \"{snapshot}\" of {} is counted as mounted, but its temporary copy is gone; unmount it and mount it again",
                volume.id
            )));
        };
        let rd = self
            .shared
            .client
            .resource_definition_get(copy)
            .await
            .map_err(Error::linstor(format!("Unable to get the temporary resource definition {copy}")))?;
        let count = rd.volume_definitions.len();
        let mut mounted = Mounted { mount_path: None, device: None, users: 0 };
        if volume.content_type != ContentType::Filesystem {
            let number = volume_number(volume.id.vol_type, volume.content_type, count);
            mounted.device = Some(self.shared.device_path(copy, number).await?);
            refs.block += 1;
        }
        if volume.has_filesystem() || volume.is_vm_block() {
            mounted.mount_path = Some(self.snapshot_mount_path(&volume.id, snapshot));
            if volume.has_filesystem() {
                let number = volume_number(volume.id.vol_type, ContentType::Filesystem, count);
                mounted.device = Some(self.shared.device_path(copy, number).await?);
            }
            refs.filesystem += 1;
        }
        mounted.users = if volume.has_filesystem() { refs.filesystem } else { refs.block };
        Ok(mounted)
    }

    /// Ends read-only access to a snapshot (reference counted): the last user unmounts it and
    /// removes its temporary copy and directories. Not mounted here: whatever a stopped daemon
    /// left of a mount of it is removed, and the answer is [`Unmounted::NotMounted`].
    pub async fn unmount_snapshot(&self, volume: &Volume, snapshot: &str) -> Result<Unmounted> {
        check_snapshot_name(snapshot)?;
        let mount_id = snapshot_mount_id(&volume.id, snapshot);
        let lock = self.shared.mounts.volume(self.name(), &mount_id);
        let mut refs = lock.lock().await;
        let path = self.snapshot_mount_path(&volume.id, snapshot);
        let remove_all = async {
            self.unmount_if_mounted(&path).await?;
            self.remove_snapshot_copies(&mount_id).await?;
            remove_mount_dirs(&path).map_err(|why| Error::Io {
                context: format!("Could not remove the mount directory of snapshot \"{snapshot}\""),
                source: std::io::Error::other(why),
            })
        };
        if refs.total() == 0 {
            remove_all.await?;
            return Ok(Unmounted::NotMounted);
        }
        let before = *refs;
        if volume.content_type != ContentType::Filesystem {
            refs.block = refs.block.saturating_sub(1);
        }
        if volume.has_filesystem() || volume.is_vm_block() {
            refs.filesystem = refs.filesystem.saturating_sub(1);
        }
        let users = if volume.has_filesystem() { refs.filesystem } else { refs.block };
        if users > 0 {
            return Ok(Unmounted::StillInUse { users });
        }
        if let Err(err) = remove_all.await {
            *refs = before;
            return Err(err);
        }
        *refs = MountRefs::default();
        drop(refs);
        self.shared.mounts.forget(self.name(), &mount_id);
        Ok(Unmounted::Unmounted)
    }
}
