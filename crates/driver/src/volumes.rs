//! Volumes: one LINSTOR resource definition each, named prefix + 32 random hex characters and
//! found by its `Aux/Incus/*` properties.
//!
//! Rules kept here:
//! - A volume's resource definition gets `Aux/Incus/name`, `Aux/Incus/type`,
//!   `Aux/Incus/content-type`, `DrbdOptions/Net/allow-two-primaries=yes` and
//!   `DrbdOptions/ExactSize=true` before it is placed anywhere (spawn definitions only, set
//!   properties, then autoplace).
//! - A VM is one definition with two volumes: 0 its disk, 1 its config filesystem. Which LINSTOR
//!   volume an operation uses is decided by [`crate::volume::volume_number`] alone.
//! - A diskless resource LINSTOR made on this node to reach a volume is removed again once no
//!   user of the volume is left here (unless asked to keep the block device).
//! - Every multi-step operation carries an [`Undo`] guard: create, rename, resize and mount
//!   leave nothing behind when a step fails.
//! - Filesystems shrink only offline and filesystem first (ext4 unmounted, btrfs mounted
//!   privately); they grow online, device first. Block volumes never shrink unless the caller
//!   allows it explicitly, and never resize while in use.

use crate::config::{self, *};
use crate::error::{Error, Result};
use crate::host::Filesystem;
use crate::linstor::Attached;
use crate::mounts::MountRefs;
use crate::pool::Pool;
use crate::size;
use crate::undo::Undo;
use crate::volume::{volume_number, ContentType, Volume, VolumeId, AUX_CONTENT_TYPE, AUX_NAME, AUX_TYPE};
use linstor_api::consts::FAIL_NOT_ENOUGH_NODES;
use linstor_api::{Props, ResourceDefinition, ResourceGroupSpawn};
use linstor_client::ListOpts;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What [`Pool::mount_volume`] made available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mounted {
    /// Where the filesystem is mounted (filesystem volumes, and a VM's config filesystem).
    pub mount_path: Option<PathBuf>,
    /// The block device (block and ISO volumes, VM disks).
    pub device: Option<PathBuf>,
    /// How many users the volume has now, this one included.
    pub users: u32,
}

/// What [`Pool::unmount_volume`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmounted {
    /// The last user left: the volume was unmounted.
    Unmounted,
    /// Other users remain; nothing was unmounted.
    StillInUse { users: u32 },
    /// The volume was not mounted by this host.
    NotMounted,
}

fn already_exists(id: &VolumeId, rd: &str) -> Error {
    Error::AlreadyExists { what: format!("{id} (resource definition {rd})") }
}

/// 32 random lowercase hex characters, from the kernel's random source.
fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(Error::io("Could not read random bytes from /dev/urandom"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub(crate) fn split_options(options: Option<&String>) -> Vec<String> {
    options.map(|o| o.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
}

/// Removes an empty directory (never one with content: it may be a mount point).
pub(crate) fn remove_empty_dir(dir: &Path) -> std::result::Result<(), String> {
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(format!("{}: {err}", dir.display())),
    }
}

impl Pool {
    /// `Aux/Incus/name` of a volume: the pool's prefix + the volume's storage name.
    pub fn aux_name(&self, id: &VolumeId) -> String {
        format!("{}{}", self.volume_prefix(), id.storage_name())
    }

    /// Where the volume's filesystem is mounted:
    /// `<state_dir>/storage-pools/<pool>/<type>/<storage name>`.
    pub fn mount_path(&self, id: &VolumeId) -> PathBuf {
        self.pool_dir().join(id.vol_type.as_str()).join(id.storage_name())
    }

    pub(crate) async fn find(&self, id: &VolumeId) -> Result<Option<ResourceDefinition>> {
        self.shared.find_rd(self.resource_group(), &self.aux_name(id), id.vol_type, true).await
    }

    /// Refuses a new volume `id` when LINSTOR has a definition of it already.
    pub(crate) async fn refuse_existing(&self, id: &VolumeId) -> Result<()> {
        match self.find(id).await? {
            Some(rd) => Err(already_exists(id, &rd.name)),
            None => Ok(()),
        }
    }

    /// A new LINSTOR name in this pool: its volume prefix and 32 random hex characters.
    pub(crate) fn new_linstor_name(&self) -> Result<String> {
        Ok(format!("{}{}", self.volume_prefix(), random_hex()?))
    }

    pub(crate) async fn require(&self, id: &VolumeId) -> Result<ResourceDefinition> {
        self.find(id).await?.ok_or_else(|| Error::NotFound {
            what: format!(
                "{id} in storage pool \"{}\" (no LINSTOR resource definition of group {} has {AUX_NAME}={})",
                self.name(),
                self.resource_group(),
                self.aux_name(id)
            ),
        })
    }

    /// The name of the volume's LINSTOR resource definition, if it exists.
    pub async fn resource_definition(&self, id: &VolumeId) -> Result<Option<String>> {
        Ok(self.find(id).await?.map(|rd| rd.name))
    }

    /// Whether the volume exists.
    pub async fn has_volume(&self, id: &VolumeId) -> Result<bool> {
        Ok(self.find(id).await?.is_some())
    }

    /// Sizes of the volume's LINSTOR volumes, in bytes: `[size]`, or `[disk, config
    /// filesystem]` for VM disks.
    pub fn volume_sizes(&self, volume: &Volume) -> Result<Vec<u64>> {
        let parse = |key: &str, default: u64| -> Result<u64> {
            let value = volume.config.get(key).map(String::as_str).unwrap_or("");
            let bytes = size::parse_size(value).map_err(|why| Error::invalid(key, value, why))?;
            Ok(size::round_volume_size(bytes.filter(|b| *b > 0).unwrap_or(default)))
        };
        let main = parse(KEY_SIZE, size::DEFAULT_VOLUME_SIZE)?;
        if volume.is_vm_block() {
            Ok(vec![main, parse(KEY_SIZE_STATE, size::DEFAULT_VM_CONFIG_FS_SIZE)?])
        } else {
            Ok(vec![main])
        }
    }

    /// The volume's filesystem: `block.filesystem`, else what the device holds.
    pub(crate) async fn filesystem_of(&self, volume: &Volume, device: Option<&Path>) -> Result<Filesystem> {
        if let Some(value) = volume.config.get(KEY_FILESYSTEM).filter(|v| !v.is_empty()) {
            return Filesystem::parse(value)
                .ok_or_else(|| Error::invalid(KEY_FILESYSTEM, value, "must be ext4, xfs or btrfs"));
        }
        let Some(device) = device else {
            return Ok(Filesystem::Ext4);
        };
        let dev = device.to_path_buf();
        let found = self
            .shared
            .host(move |h| h.probe_filesystem(&dev))
            .await
            .map_err(Error::host(format!("Could not probe the filesystem of {}", device.display())))?;
        match found.as_deref().and_then(Filesystem::parse) {
            Some(fs) => Ok(fs),
            None => Err(Error::Inconsistent(format!(
                "{} holds {} instead of an ext4, xfs or btrfs filesystem; set block.filesystem if it is one",
                device.display(),
                found.as_deref().unwrap_or("no filesystem")
            ))),
        }
    }

    /// The properties a volume's resource definition carries from its config and identity.
    pub(crate) fn rd_props(&self, volume: &Volume) -> Result<Props> {
        let mut props = config::linstor_props(&volume.config)?;
        props.insert(AUX_NAME.to_string(), self.aux_name(&volume.id));
        props.insert(AUX_TYPE.to_string(), volume.id.vol_type.as_str().to_string());
        props.insert(AUX_CONTENT_TYPE.to_string(), volume.content_type.as_str().to_string());
        props.insert(PROP_ALLOW_TWO_PRIMARIES.to_string(), "yes".to_string());
        Ok(props)
    }

    /// Creates a volume: spawns its resource definition with its properties and places it (one
    /// LINSTOR call), makes its filesystem(s) here and detaches again. On failure the
    /// resource definition and the mount directory are removed.
    pub async fn create_volume(&self, volume: &Volume) -> Result<()> {
        self.validate_volume(volume)?;
        let sizes = self.volume_sizes(volume)?;
        let lock = self.shared.mounts.volume(self.name(), &volume.id);
        let _guard = lock.lock().await;
        let rd = self.new_linstor_name()?;
        let mut undo = Undo::new(format!("create {} ({rd})", volume.id));
        let result = self.create_steps(volume, &rd, &sizes, &mut undo).await;
        undo.finish(result).await
    }

    async fn create_steps(&self, volume: &Volume, rd: &str, sizes: &[u64], undo: &mut Undo) -> Result<()> {
        let filesystem_volume = volume.has_filesystem() || volume.is_vm_block();
        if filesystem_volume {
            let dir = self.mount_path(&volume.id);
            if !dir.exists() {
                std::fs::create_dir_all(&dir)
                    .map_err(Error::io(format!("Could not create {}", dir.display())))?;
                undo.push(format!("remove {}", dir.display()), move || async move { remove_empty_dir(&dir) });
            }
        }
        // Registered before the spawn: the name is new and ours, so whatever the spawn left
        // (even when it reported a failure) goes.
        let shared = Arc::clone(&self.shared);
        let rd_name = rd.to_string();
        undo.push(format!("delete resource definition {rd}"), move || async move {
            shared.delete_rd(&rd_name).await.map(|_| ()).map_err(|e| e.to_string())
        });
        // A definition of this volume that LINSTOR has already (left by a create that was cut
        // short, or whose daemon lost its database) is looked for while the volume is made: it
        // refuses the create, and ours goes with the undo.
        let aux_name = self.aux_name(&volume.id);
        let existing = self.shared.find_rd_other_than(
            self.resource_group(),
            &aux_name,
            volume.id.vol_type,
            false,
            Some(rd),
        );
        // The spawn is sent first: the look-up is not on the way.
        let (made, existing) = tokio::join!(biased; self.spawn_and_format(volume, rd, sizes), existing);
        if let Some(other) = existing? {
            return Err(already_exists(&volume.id, &other.name));
        }
        made
    }

    /// Spawns the volume's definition with its properties and places it (one call), makes its
    /// filesystem(s) here, and detaches a diskless resource again.
    async fn spawn_and_format(&self, volume: &Volume, rd: &str, sizes: &[u64]) -> Result<()> {
        let mut props = self.rd_props(volume)?;
        props.insert(PROP_EXACT_SIZE.to_string(), "true".to_string());
        let spawn = ResourceGroupSpawn {
            resource_definition_name: Some(rd.to_string()),
            volume_sizes: sizes.iter().map(|b| size::to_kib(*b)).collect(),
            resource_definition_props: props,
            ..Default::default()
        };
        if let Err(err) = self.shared.client.resource_group_spawn(self.resource_group(), &spawn).await {
            if err.is(FAIL_NOT_ENOUGH_NODES) {
                let size_kib = sizes.iter().map(|b| size::to_kib(*b)).sum::<i64>();
                let size_kib = u64::try_from(size_kib).unwrap_or(0);
                return Err(self
                    .shared
                    .placement_error(&volume.id, self.name(), self.config(), size_kib, &err)
                    .await);
            }
            return Err(Error::linstor(format!(
                "Unable to spawn from resource group {}",
                self.resource_group()
            ))(err));
        }
        let mut diskful_here = false;
        if volume.has_filesystem() || volume.is_vm_block() {
            let fs_volume = if volume.is_vm_block() { volume.config_filesystem() } else { volume.clone() };
            let number = volume_number(volume.id.vol_type, ContentType::Filesystem, sizes.len());
            let Attached { device, diskless } = self.shared.attach(rd, number).await?;
            diskful_here = !diskless;
            let fs = self.filesystem_of(&fs_volume, None).await?;
            let options = split_options(fs_volume.config.get(KEY_CREATE_OPTIONS));
            let dev = device.clone();
            // A satellite's usage probe (a brief exclusive open) can make mkfs see the new
            // device busy: tried again, as mounts are.
            self.shared
                .host_retrying(move |h| h.mkfs(&dev, fs, &options))
                .await
                .map_err(Error::host(format!("Could not make a {fs} filesystem on {}", device.display())))?;
        }
        if !diskful_here {
            self.shared.detach_local(rd).await?;
        }
        Ok(())
    }

    /// Deletes a volume: its resource definition (tried again while LINSTOR reports it in use)
    /// and its mount directory. Refused while this host has it mounted. `false` when there was
    /// nothing to delete.
    pub async fn delete_volume(&self, volume: &Volume) -> Result<bool> {
        let lock = self.shared.mounts.volume(self.name(), &volume.id);
        let guard = lock.lock().await;
        if guard.total() > 0 {
            return Err(Error::InUse {
                what: volume.id.to_string(),
                hint: format!("it is mounted by {} user(s) on this host; unmount it first", guard.total()),
            });
        }
        let path = self.mount_path(&volume.id);
        if self.unmount_if_mounted(&path).await? {
            tracing::warn!("unmounted {}, left mounted by an earlier run", path.display());
        }
        let deleted = match self.find(&volume.id).await? {
            Some(rd) => self.shared.delete_rd(&rd.name).await?,
            None => {
                tracing::warn!("storage pool {}: {} has no resource definition", self.name(), volume.id);
                false
            }
        };
        remove_empty_dir(&path).map_err(|why| Error::Io {
            context: format!("Could not remove the mount directory of {}", volume.id),
            source: std::io::Error::other(why),
        })?;
        drop(guard);
        self.shared.mounts.forget(self.name(), &volume.id);
        Ok(deleted)
    }

    /// Unmounts whatever is mounted on `path`; `true` when something was.
    pub(crate) async fn unmount_if_mounted(&self, path: &Path) -> Result<bool> {
        let mounted = self.shared.is_mounted(path).await?;
        if mounted {
            self.unmount_path(path).await?;
        }
        Ok(mounted)
    }

    /// Writes out the filesystem mounted on `path` (`syncfs`; never a freeze), if one is.
    pub(crate) async fn sync_if_mounted(&self, path: &Path) -> Result<()> {
        if self.shared.is_mounted(path).await? {
            let target = path.to_path_buf();
            self.shared
                .host(move |h| h.sync_filesystem(&target))
                .await
                .map_err(Error::host(format!("Could not sync the filesystem at {}", path.display())))?;
        }
        Ok(())
    }

    pub(crate) async fn unmount_path(&self, path: &Path) -> Result<()> {
        let target = path.to_path_buf();
        self.shared
            .host_retrying(move |h| h.unmount(&target))
            .await
            .map_err(Error::host(format!("Could not unmount {}", path.display())))
    }

    /// Renames a volume: its `Aux/Incus/name` and its mount directory. Refused while mounted
    /// or when the new name is taken.
    pub async fn rename_volume(&self, volume: &Volume, new_name: &str) -> Result<()> {
        let new_id = VolumeId { name: new_name.to_string(), ..volume.id.clone() };
        new_id.check().map_err(|why| Error::invalid("name", new_name, why))?;
        if new_id == volume.id {
            return Ok(());
        }
        let (a, b, a_first) = self.shared.mounts.pair(self.name(), &volume.id, &new_id);
        let (old_guard, _new_guard) = if a_first {
            let ga = a.lock().await;
            (ga, b.lock().await)
        } else {
            let gb = b.lock().await;
            (a.lock().await, gb)
        };
        let old_path = self.mount_path(&volume.id);
        let mounted = self.shared.is_mounted(&old_path).await.unwrap_or(false);
        if old_guard.total() > 0 || mounted {
            return Err(Error::InUse {
                what: volume.id.to_string(),
                hint: "unmount it before renaming it".into(),
            });
        }
        self.refuse_existing(&new_id).await?;
        let rd = self.require(&volume.id).await?;
        let mut undo = Undo::new(format!("rename {} to {new_name}", volume.id));
        let result = async {
            let new_aux: Props = [(AUX_NAME.to_string(), self.aux_name(&new_id))].into();
            self.shared.modify_rd(&rd.name, new_aux, Vec::new(), "Could not rename the volume").await?;
            let shared = Arc::clone(&self.shared);
            let (rd_name, old_aux) = (rd.name.clone(), self.aux_name(&volume.id));
            undo.push("restore Aux/Incus/name", move || async move {
                let props: Props = [(AUX_NAME.to_string(), old_aux)].into();
                shared.modify_rd(&rd_name, props, Vec::new(), "restore").await.map_err(|e| e.to_string())
            });
            let new_path = self.mount_path(&new_id);
            if old_path.is_dir() {
                if new_path.is_dir() {
                    std::fs::remove_dir(&new_path)
                        .map_err(Error::io(format!("Could not replace {}", new_path.display())))?;
                }
                std::fs::rename(&old_path, &new_path).map_err(Error::io(format!(
                    "Could not move {} to {}",
                    old_path.display(),
                    new_path.display()
                )))?;
            }
            Ok(())
        }
        .await;
        undo.finish(result).await?;
        drop(old_guard);
        self.shared.mounts.forget(self.name(), &volume.id);
        Ok(())
    }

    /// Applies a volume's new config: `size` resizes it, `drbd.*` and `linstor.raw.*` reach its
    /// resource definition (unset keys delete their property). `block.filesystem` cannot change.
    pub async fn update_volume(&self, volume: &Volume, new_config: &Config) -> Result<()> {
        let new_volume = Volume { config: new_config.clone(), ..volume.clone() };
        self.validate_volume(&new_volume)?;
        let changed = changed_keys(&volume.config, new_config);
        if changed.iter().any(|k| k == KEY_FILESYSTEM) {
            let old = volume.config.get(KEY_FILESYSTEM).filter(|v| !v.is_empty());
            let new = new_config.get(KEY_FILESYSTEM).filter(|v| !v.is_empty());
            if old.is_some() && old != new {
                return Err(Error::Immutable {
                    key: KEY_FILESYSTEM.to_string(),
                    reason: "the volume's filesystem is made when the volume is created".into(),
                });
            }
        }
        if changed.iter().any(|k| k == KEY_SIZE) {
            let value = new_config.get(KEY_SIZE).map(String::as_str).unwrap_or("");
            if let Some(bytes) =
                size::parse_size(value).map_err(|why| Error::invalid(KEY_SIZE, value, why))?
            {
                self.set_volume_size(&new_volume, bytes, false).await?;
            }
        }
        let (set, delete) = config::linstor_props_change(&volume.config, new_config, false)?;
        if !set.is_empty() || !delete.is_empty() {
            let rd = self.require(&volume.id).await?;
            self.shared.modify_rd(&rd.name, set, delete, "Could not update the resource definition").await?;
        }
        Ok(())
    }

    /// Mounts a volume on this host (reference counted): makes it available here, flushes
    /// stale cache, mounts its filesystem with `block.mount_options` (filesystem volumes; the
    /// config filesystem of VMs) and answers its mount path and device.
    pub async fn mount_volume(&self, volume: &Volume) -> Result<Mounted> {
        let lock = self.shared.mounts.volume(self.name(), &volume.id);
        let mut refs = lock.lock().await;
        let rd = self.require(&volume.id).await?;
        let mut undo = Undo::new(format!("mount {}", volume.id));
        if refs.total() == 0 {
            let shared = Arc::clone(&self.shared);
            let rd_name = rd.name.clone();
            undo.push("detach from this node", move || async move {
                shared.detach_local(&rd_name).await.map(|_| ()).map_err(|e| e.to_string())
            });
        }
        let result = self.mount_steps(volume, &rd, &mut refs).await;
        undo.finish(result).await
    }

    async fn mount_steps(
        &self,
        volume: &Volume,
        rd: &ResourceDefinition,
        refs: &mut MountRefs,
    ) -> Result<Mounted> {
        let count = rd.volume_definitions.len();
        let mut mounted = Mounted { mount_path: None, device: None, users: 0 };
        if volume.content_type != ContentType::Filesystem {
            let number = volume_number(volume.id.vol_type, volume.content_type, count);
            let device = self.shared.device_path(&rd.name, number).await?;
            if refs.block == 0 {
                let dev = device.clone();
                self.shared
                    .host(move |h| h.flush_device(&dev))
                    .await
                    .map_err(Error::host(format!("Could not flush {}", device.display())))?;
            }
            mounted.device = Some(device);
        }
        if volume.has_filesystem() || volume.is_vm_block() {
            let fs_volume = if volume.is_vm_block() { volume.config_filesystem() } else { volume.clone() };
            let number = volume_number(volume.id.vol_type, ContentType::Filesystem, count);
            let device = self.shared.device_path(&rd.name, number).await?;
            let path = self.mount_path(&volume.id);
            self.mount_filesystem(&fs_volume, &device, &path).await?;
            refs.filesystem += 1;
            mounted.mount_path = Some(path);
            if volume.has_filesystem() {
                mounted.device = Some(device);
            }
        }
        if volume.content_type != ContentType::Filesystem {
            refs.block += 1;
        }
        mounted.users = if volume.has_filesystem() { refs.filesystem } else { refs.block };
        Ok(mounted)
    }

    /// Mounts the filesystem of `device` on `path` unless it is mounted there already.
    pub(crate) async fn mount_filesystem(&self, volume: &Volume, device: &Path, path: &Path) -> Result<()> {
        let already = self.shared.is_mounted(path).await?;
        if already {
            return Ok(());
        }
        let dev = device.to_path_buf();
        // Writes made while the volume was primary on another node may be stale in this
        // node's page cache.
        self.shared
            .host(move |h| h.flush_device(&dev))
            .await
            .map_err(Error::host(format!("Could not flush {}", device.display())))?;
        std::fs::create_dir_all(path).map_err(Error::io(format!("Could not create {}", path.display())))?;
        let fs = self.filesystem_of(volume, Some(device)).await?;
        let options = volume
            .config
            .get(KEY_MOUNT_OPTIONS)
            .cloned()
            .unwrap_or_else(|| DEFAULT_MOUNT_OPTIONS.to_string());
        let (dev, target) = (device.to_path_buf(), path.to_path_buf());
        self.shared
            .host_retrying(move |h| h.mount(&dev, &target, fs, &options))
            .await
            .map_err(Error::host(format!("Could not mount {} on {}", device.display(), path.display())))
    }

    /// Unmounts a volume (reference counted): the last user unmounts its filesystem and, unless
    /// `keep_block_device`, removes the diskless resource LINSTOR made on this node for it.
    pub async fn unmount_volume(&self, volume: &Volume, keep_block_device: bool) -> Result<Unmounted> {
        let lock = self.shared.mounts.volume(self.name(), &volume.id);
        let mut refs = lock.lock().await;
        let path = self.mount_path(&volume.id);
        let fs_part = volume.has_filesystem() || volume.is_vm_block();
        let fs_mounted = fs_part && self.shared.is_mounted(&path).await?;
        let own = match volume.content_type {
            ContentType::Filesystem => refs.filesystem,
            _ => refs.block,
        };
        let outcome = if own == 0 && !fs_mounted {
            Unmounted::NotMounted
        } else {
            if volume.content_type != ContentType::Filesystem {
                refs.block = refs.block.saturating_sub(1);
            }
            if fs_part {
                refs.filesystem = refs.filesystem.saturating_sub(1);
            }
            let users = if volume.has_filesystem() { refs.filesystem } else { refs.block };
            if users > 0 {
                return Ok(Unmounted::StillInUse { users });
            }
            if fs_mounted && refs.filesystem == 0 {
                self.unmount_path(&path).await?;
            }
            Unmounted::Unmounted
        };
        if !keep_block_device && refs.total() == 0 {
            if let Some(rd) = self.find(&volume.id).await? {
                self.shared.detach_local(&rd.name).await?;
            }
        }
        Ok(outcome)
    }

    /// How many users this host has of the volume (filesystem and block device).
    pub async fn mount_users(&self, id: &VolumeId) -> MountRefs {
        *self.shared.mounts.volume(self.name(), id).lock().await
    }

    /// The block device of a block volume (VM disks, custom block and ISO volumes, VM images),
    /// made available on this host.
    pub async fn volume_disk_path(&self, volume: &Volume) -> Result<PathBuf> {
        if volume.content_type == ContentType::Filesystem {
            return Err(Error::NotSupported {
                what: format!("The disk path of {}", volume.id),
                reason: "filesystem volumes are used through their mount path".into(),
            });
        }
        self.volume_device(volume).await
    }

    /// The block device of any volume (a filesystem volume's too: the device its filesystem is
    /// on; a VM's disk), made available on this host.
    pub async fn volume_device(&self, volume: &Volume) -> Result<PathBuf> {
        let rd = self.require(&volume.id).await?;
        let number = volume_number(volume.id.vol_type, volume.content_type, rd.volume_definitions.len());
        self.shared.device_path(&rd.name, number).await
    }

    /// The volume's size as LINSTOR defines it (its volume definition), in bytes.
    pub async fn volume_size(&self, volume: &Volume) -> Result<u64> {
        let rd = self.require(&volume.id).await?;
        let number = volume_number(volume.id.vol_type, volume.content_type, rd.volume_definitions.len());
        let kib = rd
            .volume_definitions
            .iter()
            .find(|vd| vd.volume_number == Some(number))
            .map(|vd| vd.size_kib)
            .ok_or_else(|| {
                Error::Inconsistent(format!("Resource definition {} has no volume {number}", rd.name))
            })?;
        Ok(u64::try_from(kib).unwrap_or(0).saturating_mul(1024))
    }

    /// Space the volume takes in its storage pool (the allocated size of a diskful replica).
    pub async fn volume_usage(&self, volume: &Volume) -> Result<u64> {
        let rd = self.require(&volume.id).await?;
        let number = volume_number(volume.id.vol_type, volume.content_type, rd.volume_definitions.len());
        let resources = self
            .shared
            .client
            .resource_view(&ListOpts::new().resource(rd.name.clone()))
            .await
            .map_err(Error::linstor("Could not get volume usage"))?;
        let diskful = resources.iter().rev().find(|r| {
            !r.resource.flags.iter().any(|f| f == "DISKLESS" || f == "DRBD_DISKLESS" || f == "TIE_BREAKER")
        });
        let Some(resource) = diskful else {
            tracing::warn!("{}: no diskful replica reports its usage", volume.id);
            return Ok(0);
        };
        let kib = resource
            .volumes
            .iter()
            .find(|v| v.volume_number == Some(number))
            .and_then(|v| v.allocated_size_kib)
            .unwrap_or(0);
        Ok(u64::try_from(kib).unwrap_or(0).saturating_mul(1024))
    }

    /// Resizes a volume to `bytes` (rounded as every size). Filesystems grow online (device
    /// first) and shrink offline (filesystem first; ext4 and btrfs only). Block volumes do not
    /// shrink, and do not resize while in use, unless `allow_unsafe`. `false` when the size
    /// does not change.
    pub async fn set_volume_size(&self, volume: &Volume, bytes: u64, allow_unsafe: bool) -> Result<bool> {
        if bytes == 0 {
            return Ok(false);
        }
        let lock = self.shared.mounts.volume(self.name(), &volume.id);
        let refs = lock.lock().await;
        let new_size = size::round_volume_size(bytes);
        let rd = self.require(&volume.id).await?;
        let number = volume_number(volume.id.vol_type, volume.content_type, rd.volume_definitions.len());
        let old_kib = rd
            .volume_definitions
            .iter()
            .find(|vd| vd.volume_number == Some(number))
            .map(|vd| vd.size_kib)
            .ok_or_else(|| {
                Error::Inconsistent(format!("Resource definition {} has no volume {number}", rd.name))
            })?;
        let old_size = u64::try_from(old_kib).unwrap_or(0).saturating_mul(1024);
        if new_size.abs_diff(old_size) < 512 {
            return Ok(false);
        }
        let result = if volume.has_filesystem() {
            self.resize_filesystem_volume(volume, &rd.name, number, old_size, new_size, &refs).await
        } else {
            self.resize_block_volume(volume, &rd.name, number, old_size, new_size, allow_unsafe, &refs).await
        };
        // A resource LINSTOR made on this node for the resize goes again, whatever happened.
        if refs.total() == 0 {
            if let Err(err) = self.shared.detach_local(&rd.name).await {
                match result {
                    Ok(()) => return Err(err),
                    Err(_) => tracing::warn!("{}: {err}", volume.id),
                }
            }
        }
        result.map(|()| true)
    }

    /// Grows the volume definition (LINSTOR cannot resize exact-size volumes: the property
    /// goes first).
    async fn resize_definition(&self, rd: &str, number: i32, new_size: u64) -> Result<()> {
        self.shared
            .modify_rd(
                rd,
                Props::new(),
                vec![PROP_EXACT_SIZE.to_string()],
                "Unable to remove the exact size property",
            )
            .await?;
        self.shared
            .client
            .volume_definition_resize(rd, number, size::to_kib(new_size))
            .await
            .map(|_| ())
            .map_err(Error::linstor(format!("Unable to resize volume definition {number} of {rd}")))
    }

    /// Waits until this node's device shows at least `size` bytes.
    async fn wait_device_size(&self, device: &Path, size: u64) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let dev = device.to_path_buf();
            let now = self
                .shared
                .host(move |h| h.device_size(&dev))
                .await
                .map_err(Error::host(format!("Could not read the size of {}", device.display())))?;
            if now >= size {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Inconsistent(format!(
                    "{} still has {} after the resize to {}",
                    device.display(),
                    size::format_size(now),
                    size::format_size(size)
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn resize_filesystem_volume(
        &self,
        volume: &Volume,
        rd: &str,
        number: i32,
        old_size: u64,
        new_size: u64,
        refs: &MountRefs,
    ) -> Result<()> {
        let path = self.mount_path(&volume.id);
        let mounted = refs.filesystem > 0 || self.shared.is_mounted(&path).await?;
        if new_size < old_size {
            let fs = match volume.config.get(KEY_FILESYSTEM).and_then(|v| Filesystem::parse(v)) {
                Some(fs) => fs,
                None => {
                    let device = self.shared.device_path(rd, number).await?;
                    self.filesystem_of(volume, Some(&device)).await?
                }
            };
            if !fs.can_shrink() {
                return Err(Error::CannotShrink {
                    what: format!("Filesystem \"{fs}\" of {}", volume.id),
                    reason: "only ext4 and btrfs filesystems can shrink".into(),
                });
            }
            if mounted {
                return Err(Error::InUse {
                    what: volume.id.to_string(),
                    hint: "a filesystem shrinks only while unmounted; unmount it first".into(),
                });
            }
            let device = self.shared.device_path(rd, number).await?;
            let mut undo = Undo::new(format!("shrink {}", volume.id));
            let result = async {
                self.shrink_filesystem(fs, &device, &path, new_size).await?;
                // Until the device shrinks too, the filesystem is smaller than its device:
                // should that fail, the filesystem grows back to fill it.
                let (pool, dev, mnt) = (self.clone(), device.clone(), path.clone());
                undo.push("grow the filesystem back", move || async move {
                    pool.grow_filesystem(fs, &dev, &mnt, false).await.map_err(|e| e.to_string())
                });
                self.resize_definition(rd, number, new_size).await
            }
            .await;
            undo.finish(result).await
        } else {
            let known = volume.config.get(KEY_FILESYSTEM).and_then(|v| Filesystem::parse(v));
            if let Some(fs) = known.filter(|fs| mounted && !self.shared.host.can_grow_mounted(*fs)) {
                return Err(Error::InUse {
                    what: volume.id.to_string(),
                    hint: format!(
                        "a mounted {fs} filesystem cannot grow on this host (it needs the CAP_SYS_RESOURCE \
                         capability); unmount it first"
                    ),
                });
            }
            self.resize_definition(rd, number, new_size).await?;
            let device = self.shared.device_path(rd, number).await?;
            self.wait_device_size(&device, new_size).await?;
            let fs = self.filesystem_of(volume, Some(&device)).await?;
            self.grow_filesystem(fs, &device, &path, mounted).await
        }
    }

    /// Grows a filesystem to its device; xfs and btrfs are mounted for it if they are not.
    async fn grow_filesystem(&self, fs: Filesystem, device: &Path, path: &Path, mounted: bool) -> Result<()> {
        let context = format!("Could not grow the {fs} filesystem of {}", device.display());
        if mounted || !fs.grows_mounted() {
            let (dev, mnt) = (device.to_path_buf(), path.to_path_buf());
            // Offline, e2fsck and resize2fs open the device exclusively: a satellite's usage
            // probe at that moment makes it busy for an instant.
            return self
                .shared
                .host_retrying(move |h| h.grow_filesystem(fs, &dev, mounted.then_some(mnt.as_path())))
                .await
                .map_err(Error::host(context));
        }
        self.with_private_mount(fs, device, path, move |h, dev, mnt| h.grow_filesystem(fs, dev, Some(mnt)))
            .await
            .map_err(|err| match err {
                Error::Host { source, .. } => Error::Host { context, source },
                other => other,
            })
    }

    async fn shrink_filesystem(&self, fs: Filesystem, device: &Path, path: &Path, size: u64) -> Result<()> {
        let context = format!(
            "Could not shrink the {fs} filesystem of {} to {}",
            device.display(),
            size::format_size(size)
        );
        let result = if fs.shrinks_mounted() {
            self.with_private_mount(fs, device, path, move |h, dev, mnt| {
                h.shrink_filesystem(fs, dev, Some(mnt), size)
            })
            .await
        } else {
            let dev = device.to_path_buf();
            self.shared
                .host(move |h| h.shrink_filesystem(fs, &dev, None, size))
                .await
                .map_err(Error::host(""))
        };
        result.map_err(|err| match err {
            Error::Host { source, .. } => Error::Host { context, source },
            other => other,
        })
    }

    /// Mounts the filesystem on `path` for one host operation, and unmounts it again.
    async fn with_private_mount<F>(&self, fs: Filesystem, device: &Path, path: &Path, op: F) -> Result<()>
    where
        F: FnOnce(&dyn crate::host::HostOps, &Path, &Path) -> Result<(), crate::host::HostError>
            + Send
            + 'static,
    {
        std::fs::create_dir_all(path).map_err(Error::io(format!("Could not create {}", path.display())))?;
        let (dev, mnt) = (device.to_path_buf(), path.to_path_buf());
        self.shared
            .host_retrying(move |h| h.mount(&dev, &mnt, fs, ""))
            .await
            .map_err(Error::host(format!("Could not mount {} on {}", device.display(), path.display())))?;
        let (dev, mnt) = (device.to_path_buf(), path.to_path_buf());
        let result = self.shared.host(move |h| op(h, &dev, &mnt)).await.map_err(Error::host(""));
        let unmounted = self.unmount_path(path).await;
        result.and(unmounted)
    }

    #[allow(clippy::too_many_arguments)]
    async fn resize_block_volume(
        &self,
        volume: &Volume,
        rd: &str,
        number: i32,
        old_size: u64,
        new_size: u64,
        allow_unsafe: bool,
        refs: &MountRefs,
    ) -> Result<()> {
        if !allow_unsafe {
            if new_size < old_size {
                return Err(Error::CannotShrink {
                    what: format!("Block {}", volume.id),
                    reason: "block volumes cannot be shrunk (their data would be cut off)".into(),
                });
            }
            if refs.block > 0 {
                return Err(Error::InUse {
                    what: volume.id.to_string(),
                    hint: "block volumes are resized only while not in use; stop what uses it first".into(),
                });
            }
        }
        self.resize_definition(rd, number, new_size).await?;
        if volume.is_vm_block() && !allow_unsafe {
            let device = self.shared.device_path(rd, number).await?;
            self.wait_device_size(&device, new_size).await?;
            let dev = device.clone();
            if let Err(err) = self.shared.host(move |h| h.move_gpt_alt_header(&dev)).await {
                tracing::warn!(
                    "{}: could not move the GPT backup header of {}: {err}",
                    volume.id,
                    device.display()
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_names_are_32_hex() {
        let a = random_hex().expect("urandom");
        let b = random_hex().expect("urandom");
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn options_split_on_whitespace() {
        assert_eq!(split_options(Some(&"-m 0  -L x".to_string())), vec!["-m", "0", "-L", "x"]);
        assert!(split_options(None).is_empty());
    }
}
