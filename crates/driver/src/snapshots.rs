//! Snapshots: one LINSTOR snapshot of the volume's resource definition each (it covers every
//! LINSTOR volume of the definition, so a VM's disk and config filesystem together), named
//! prefix + 32 random hex characters, and mapped from its Incus name by a property of the
//! parent resource definition.
//!
//! Rules kept here:
//! - The mapping is `Aux/Incus/SnapshotName/<snapshot>` = LINSTOR snapshot name (the spelling
//!   of Incus's documentation, seed 004), which Strand writes. `Aux/Incus/snapshot-name/<snapshot>`
//!   (the spelling Incus's code writes) is read too, so that pools made by Incus keep their
//!   snapshots; a rename keeps the spelling a mapping has.
//! - A mapping whose LINSTOR snapshot is gone is stale: it is removed whenever it is seen (list,
//!   create, delete, rename); a delete of such a snapshot removes the mapping and succeeds.
//!   LINSTOR snapshots no mapping names are not the driver's and are never listed.
//! - A snapshot is taken with the filesystem synced (`syncfs`), never frozen: a freeze held
//!   across the LINSTOR call can leave a DRBD device frozen. The LINSTOR snapshot exists before
//!   its mapping, and goes again when the mapping cannot be written.
//! - Restore asks the controller to roll back to the chosen snapshot, newer snapshots kept (what
//!   Strand's controller does for any snapshot). A controller that refuses because newer
//!   snapshots exist (LINBIT's, with providers that roll back only to the latest one) gets
//!   Incus's rule ([`restore_rule`]): only with `linstor.remove_snapshots=true` (the volume's,
//!   else the pool's `volume.linstor.remove_snapshots`) are the newer snapshots deleted first;
//!   otherwise the error names that key. A volume mounted by this host is unmounted for the
//!   rollback and mounted again, also when the rollback fails.

use crate::config::{parse_bool, KEY_REMOVE_SNAPSHOTS, PROP_EXACT_SIZE, VOLUME_PREFIX_KEYS};
use crate::error::{Error, Result};
use crate::linstor::same_name;
use crate::pool::Pool;
use crate::undo::Undo;
use crate::volume::{volume_number, ContentType, Volume, VolumeId, AUX_SNAPSHOT_NAME_PREFIX};
use linstor_api::consts::{
    FAIL_IN_USE, FAIL_NOT_CONNECTED, FAIL_NOT_FOUND_SNAPSHOT, FAIL_NOT_FOUND_SNAPSHOT_DFN,
    FAIL_SNAPSHOT_ROLLBACK_IN_PROGRESS, WARN_NOT_CONNECTED,
};
use linstor_api::{Props, SnapshotRollback};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// `Aux/Incus/SnapshotName/<snapshot>`: the mapping Strand writes (Incus's documentation and
/// the seed's `linstor resource-definition list-properties`).
pub const AUX_SNAPSHOT_MAP: &str = "Aux/Incus/SnapshotName/";

/// The mapping spellings, in the order they are preferred when both name one snapshot.
pub const AUX_SNAPSHOT_MAPS: [&str; 2] = [AUX_SNAPSHOT_MAP, AUX_SNAPSHOT_NAME_PREFIX];

/// A snapshot of a volume, as LINSTOR holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The Incus name.
    pub name: String,
    /// The LINSTOR snapshot's name.
    pub linstor_name: String,
    /// The property of the parent resource definition that maps it.
    pub property: String,
    /// When LINSTOR took it (ms since the epoch; the earliest node), if it says.
    pub created_ms: Option<i64>,
    /// LINSTOR finished taking it on every node.
    pub successful: bool,
    /// The nodes that hold it.
    pub nodes: Vec<String>,
    /// Size of each LINSTOR volume at snapshot time, in bytes, by volume number.
    pub sizes: Vec<(i32, u64)>,
}

/// What a restore did besides restoring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    /// Newer snapshots that were deleted first (only against a controller that rolls back to
    /// the latest snapshot only, and with `linstor.remove_snapshots=true`), newest first.
    pub deleted_snapshots: Vec<String>,
}

/// Checks an Incus snapshot name can be a property key segment.
pub fn check_snapshot_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        "it is empty"
    } else if name.contains('/') {
        "it may not contain '/'"
    } else if name.chars().any(char::is_control) {
        "it may not contain control characters"
    } else if name.len() > 200 {
        "it is longer than 200 characters"
    } else {
        return Ok(());
    };
    Err(Error::invalid("name", name, format!("not a valid snapshot name: {why}")))
}

/// One mapping property: Incus name, property key, LINSTOR name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mapping {
    name: String,
    key: String,
    linstor: String,
}

/// Every mapping property of a resource definition, preferred spelling first.
fn mappings(props: &Props) -> Vec<Mapping> {
    let mut found = Vec::new();
    for prefix in AUX_SNAPSHOT_MAPS {
        for (key, value) in props.range(prefix.to_string()..) {
            let Some(name) = key.strip_prefix(prefix) else { break };
            if name.is_empty() || value.is_empty() {
                continue;
            }
            found.push(Mapping { name: name.to_string(), key: key.clone(), linstor: value.clone() });
        }
    }
    found
}

/// What the mappings of a definition resolve to against its LINSTOR snapshots.
#[derive(Debug, Default)]
struct Resolved {
    /// One per Incus name, oldest first.
    snapshots: Vec<SnapshotInfo>,
    /// Mapping keys whose LINSTOR snapshot does not exist.
    stale: Vec<String>,
    /// Every mapping whose LINSTOR snapshot exists, by Incus name (both spellings).
    live: Vec<Mapping>,
}

fn info_of(mapping: &Mapping, snapshot: &linstor_api::Snapshot) -> SnapshotInfo {
    let mut sizes: Vec<(i32, u64)> = snapshot
        .volume_definitions
        .iter()
        .map(|vd| {
            let kib = u64::try_from(vd.size_kib.unwrap_or(0)).unwrap_or(0);
            (vd.volume_number.unwrap_or(0), kib.saturating_mul(1024))
        })
        .collect();
    sizes.sort();
    let mut nodes = snapshot.nodes.clone();
    if nodes.is_empty() {
        nodes = snapshot.snapshots.iter().filter_map(|s| s.node_name.clone()).collect();
    }
    SnapshotInfo {
        name: mapping.name.clone(),
        linstor_name: snapshot.name.clone(),
        property: mapping.key.clone(),
        created_ms: snapshot.snapshots.iter().filter_map(|s| s.create_timestamp).min(),
        successful: snapshot.flags.iter().any(|f| f.eq_ignore_ascii_case("SUCCESSFUL")),
        nodes,
        sizes,
    }
}

fn resolve(props: &Props, linstor: &[linstor_api::Snapshot]) -> Resolved {
    let mut resolved = Resolved::default();
    for mapping in mappings(props) {
        match linstor.iter().find(|s| same_name(&s.name, &mapping.linstor)) {
            None => resolved.stale.push(mapping.key.clone()),
            Some(snapshot) => {
                if !resolved.snapshots.iter().any(|s| s.name == mapping.name) {
                    resolved.snapshots.push(info_of(&mapping, snapshot));
                }
                resolved.live.push(mapping);
            }
        }
    }
    resolved.snapshots.sort_by(|a, b| {
        a.created_ms
            .unwrap_or(i64::MAX)
            .cmp(&b.created_ms.unwrap_or(i64::MAX))
            .then_with(|| a.name.cmp(&b.name))
    });
    resolved
}

impl Resolved {
    fn get(&self, name: &str) -> Option<&SnapshotInfo> {
        self.snapshots.iter().find(|s| s.name == name)
    }

    /// Keys of every mapping (live or stale) of `name`.
    fn keys_of(&self, props: &Props, name: &str) -> Vec<String> {
        mappings(props).into_iter().filter(|m| m.name == name).map(|m| m.key).collect()
    }
}

/// The snapshots taken after `target`, newest first (by LINSTOR's creation time; snapshots
/// without one cannot be ordered and are left out).
pub fn newer_than<'a>(target: &SnapshotInfo, all: &'a [SnapshotInfo]) -> Vec<&'a SnapshotInfo> {
    let Some(at) = target.created_ms else { return Vec::new() };
    let mut newer: Vec<&SnapshotInfo> =
        all.iter().filter(|s| s.name != target.name && s.created_ms.is_some_and(|c| c > at)).collect();
    newer.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then_with(|| b.name.cmp(&a.name)));
    newer
}

/// Whether a failed rollback is a refusal the controller might lift once the newer snapshots
/// are gone: it answered (not a transport failure), and not for a reason that deleting
/// snapshots cannot change (in use, not connected, not found, a rollback under way).
pub fn is_refusal(err: &linstor_client::Error) -> bool {
    if err.is_transport() || err.is_not_found() {
        return false;
    }
    let answered = matches!(err, linstor_client::Error::Api(_) | linstor_client::Error::Http { .. });
    answered
        && ![
            FAIL_IN_USE,
            FAIL_NOT_CONNECTED,
            WARN_NOT_CONNECTED,
            FAIL_NOT_FOUND_SNAPSHOT,
            FAIL_NOT_FOUND_SNAPSHOT_DFN,
            FAIL_SNAPSHOT_ROLLBACK_IN_PROGRESS,
        ]
        .iter()
        .any(|code| err.has(*code))
}

/// `linstor.remove_snapshots` of a volume, else the pool's `volume.linstor.remove_snapshots`,
/// else false.
pub fn remove_snapshots_enabled(volume: &Volume, pool_config: &crate::Config) -> bool {
    let pool_key = format!("{VOLUME_PREFIX_KEYS}{KEY_REMOVE_SNAPSHOTS}");
    volume
        .config
        .get(KEY_REMOVE_SNAPSHOTS)
        .filter(|v| !v.is_empty())
        .or_else(|| pool_config.get(&pool_key).filter(|v| !v.is_empty()))
        .and_then(|v| parse_bool(v))
        .unwrap_or(false)
}

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The two controller operations a restore is made of; [`restore_rule`] decides how to use
/// them. The driver's implementation talks to LINSTOR; unit tests use a fake controller.
pub(crate) trait RollbackOps: Send + Sync {
    /// Rolls the volume back to the LINSTOR snapshot `linstor_name`.
    fn rollback<'a>(&'a self, linstor_name: &'a str) -> BoxFuture<'a, Result<(), linstor_client::Error>>;
    /// Deletes a snapshot the way a user's delete does (LINSTOR snapshot and mapping).
    fn delete<'a>(&'a self, snapshot: &'a SnapshotInfo) -> BoxFuture<'a, Result<()>>;
}

/// Incus's restore rule on top of a rollback to any snapshot: try the rollback; when the
/// controller refuses and newer snapshots exist, delete them first only if `remove_snapshots`
/// (else fail naming `linstor.remove_snapshots`), then roll back again. Answers the deleted
/// snapshots, newest first.
pub(crate) async fn restore_rule(
    ops: &dyn RollbackOps,
    what: &str,
    target: &SnapshotInfo,
    all: &[SnapshotInfo],
    remove_snapshots: bool,
) -> Result<Vec<String>> {
    let context = format!("Could not restore {what} to snapshot \"{}\"", target.name);
    let refused = match ops.rollback(&target.linstor_name).await {
        Ok(()) => return Ok(Vec::new()),
        Err(err) => err,
    };
    let newer = newer_than(target, all);
    if newer.is_empty() || !is_refusal(&refused) {
        return Err(Error::linstor(context)(refused));
    }
    let names: Vec<&str> = newer.iter().map(|s| s.name.as_str()).collect();
    if !remove_snapshots {
        return Err(Error::NotSupported {
            what: format!(
                "Restoring snapshot \"{}\" of {what} while newer snapshots exist ({})",
                target.name,
                names.join(", ")
            ),
            reason: format!(
                "the LINSTOR controller rolls back only to the latest snapshot ({refused}); set \
                 {KEY_REMOVE_SNAPSHOTS}=true on the volume (or {VOLUME_PREFIX_KEYS}{KEY_REMOVE_SNAPSHOTS}=true \
                 on the pool) to delete the newer snapshots when restoring"
            ),
        });
    }
    let mut deleted = Vec::new();
    for snapshot in newer {
        if let Err(err) = ops.delete(snapshot).await {
            let done = if deleted.is_empty() {
                String::new()
            } else {
                format!(" (deleted: {})", deleted.join(", "))
            };
            return Err(Error::Inconsistent(format!(
                "{context}: could not delete the newer snapshot \"{}\"{done}: {err}",
                snapshot.name
            )));
        }
        deleted.push(snapshot.name.clone());
    }
    ops.rollback(&target.linstor_name).await.map_err(|err| {
        Error::Inconsistent(format!(
            "{context} after deleting the newer snapshots ({}): {err}",
            deleted.join(", ")
        ))
    })?;
    Ok(deleted)
}

/// The rollback of one volume on LINSTOR (the volume's lock is held by the caller).
struct LiveRollback<'p> {
    pool: &'p Pool,
    rd: String,
    volume: &'p Volume,
}

impl RollbackOps for LiveRollback<'_> {
    fn rollback<'a>(&'a self, linstor_name: &'a str) -> BoxFuture<'a, Result<(), linstor_client::Error>> {
        Box::pin(async move {
            self.pool
                .shared
                .client
                .snapshot_rollback(&self.rd, linstor_name, &SnapshotRollback::default())
                .await
                .map(|_| ())
        })
    }

    fn delete<'a>(&'a self, snapshot: &'a SnapshotInfo) -> BoxFuture<'a, Result<()>> {
        Box::pin(
            async move { self.pool.delete_snapshot_locked(self.volume, &snapshot.name).await.map(|_| ()) },
        )
    }
}

/// The identity the read-only mount of a snapshot goes by: the volume's, named
/// `<volume>/<snapshot>` (its temporary resource definition's `Aux/Incus/name` is then
/// prefix + `<storage name>/<snapshot>`, as Incus names it).
pub(crate) fn snapshot_mount_id(id: &VolumeId, snapshot: &str) -> VolumeId {
    VolumeId { name: format!("{}/{snapshot}", id.name), ..id.clone() }
}

impl Pool {
    /// The parent's resource definition and what its mappings resolve to.
    async fn snapshot_state(&self, volume: &Volume) -> Result<(linstor_api::ResourceDefinition, Resolved)> {
        let rd = self.require(&volume.id).await?;
        let linstor = self.shared.client.snapshot_list(&rd.name).await.map_err(Error::linstor(format!(
            "Unable to get the snapshots of resource definition {}",
            rd.name
        )))?;
        let resolved = resolve(&rd.props, &linstor);
        Ok((rd, resolved))
    }

    /// Removes mapping properties whose LINSTOR snapshot is gone.
    async fn drop_stale(&self, volume: &Volume, rd: &str, stale: &[String]) -> Result<()> {
        if stale.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            "{}: removing snapshot mappings whose LINSTOR snapshot is gone: {}",
            volume.id,
            stale.join(", ")
        );
        self.shared
            .modify_rd(rd, Props::new(), stale.to_vec(), "Could not delete snapshot name mapping properties")
            .await
    }

    fn snapshot_not_found(&self, volume: &Volume, snapshot: &str) -> Error {
        Error::NotFound {
            what: format!("Snapshot \"{snapshot}\" of {} in storage pool \"{}\"", volume.id, self.name()),
        }
    }

    /// The volume's snapshots, oldest first. Stale mappings are removed on the way.
    pub async fn list_snapshots(&self, volume: &Volume) -> Result<Vec<SnapshotInfo>> {
        let (rd, resolved) = self.snapshot_state(volume).await?;
        self.drop_stale(volume, &rd.name, &resolved.stale).await?;
        Ok(resolved.snapshots)
    }

    /// One snapshot of the volume.
    pub async fn snapshot(&self, volume: &Volume, snapshot: &str) -> Result<SnapshotInfo> {
        self.list_snapshots(volume)
            .await?
            .into_iter()
            .find(|s| s.name == snapshot)
            .ok_or_else(|| self.snapshot_not_found(volume, snapshot))
    }

    /// Writes the volume's filesystem to disk if this host has it mounted (`syncfs`; never a
    /// freeze).
    async fn sync_before_snapshot(&self, volume: &Volume) -> Result<()> {
        if !(volume.has_filesystem() || volume.is_vm_block()) {
            return Ok(());
        }
        self.sync_if_mounted(&self.mount_path(&volume.id)).await
    }

    /// Takes a snapshot: syncs the mounted filesystem, takes a LINSTOR snapshot named prefix +
    /// 32 hex characters and records `Aux/Incus/SnapshotName/<snapshot>` on the volume's
    /// resource definition. On failure nothing is left.
    pub async fn create_snapshot(&self, volume: &Volume, snapshot: &str) -> Result<SnapshotInfo> {
        check_snapshot_name(snapshot)?;
        let lock = self.shared.mounts.volume(self.name(), &volume.id);
        let _guard = lock.lock().await;
        let (rd, resolved) = self.snapshot_state(volume).await?;
        self.drop_stale(volume, &rd.name, &resolved.stale).await?;
        if let Some(existing) = resolved.get(snapshot) {
            return Err(Error::AlreadyExists {
                what: format!(
                    "Snapshot \"{snapshot}\" of {} (LINSTOR snapshot {})",
                    volume.id, existing.linstor_name
                ),
            });
        }
        self.sync_before_snapshot(volume).await?;
        let linstor_name = self.new_linstor_name()?;
        let mut undo = Undo::new(format!("snapshot {snapshot} of {}", volume.id));
        let result = async {
            // Registered before the call: the name is new and ours, so whatever the call left
            // (even when it reported a failure) goes.
            let shared = Arc::clone(&self.shared);
            let (rd_name, snap_name) = (rd.name.clone(), linstor_name.clone());
            undo.push(format!("delete LINSTOR snapshot {linstor_name}"), move || async move {
                match shared.client.snapshot_delete(&rd_name, &snap_name, &[]).await {
                    Ok(_) => Ok(()),
                    Err(err) if err.is_not_found() || err.is(FAIL_NOT_FOUND_SNAPSHOT_DFN) => Ok(()),
                    Err(err) => Err(err.to_string()),
                }
            });
            let request = linstor_api::Snapshot {
                name: linstor_name.clone(),
                resource_name: Some(rd.name.clone()),
                ..Default::default()
            };
            self.shared.client.snapshot_create(&rd.name, &request).await.map_err(Error::linstor(format!(
                "Could not create the LINSTOR snapshot of resource definition {}",
                rd.name
            )))?;
            let mapping: Props = [(format!("{AUX_SNAPSHOT_MAP}{snapshot}"), linstor_name.clone())].into();
            self.shared.modify_rd(&rd.name, mapping, Vec::new(), "Could not record the snapshot's name").await
        }
        .await;
        undo.finish(result).await?;
        let mapping = Mapping {
            name: snapshot.to_string(),
            key: format!("{AUX_SNAPSHOT_MAP}{snapshot}"),
            linstor: linstor_name.clone(),
        };
        match self.shared.client.snapshot_get(&rd.name, &linstor_name).await {
            Ok(found) => Ok(info_of(&mapping, &found)),
            Err(err) => {
                tracing::warn!(
                    "{}: snapshot {snapshot} was taken, but reading it back failed: {err}",
                    volume.id
                );
                Ok(SnapshotInfo {
                    name: snapshot.to_string(),
                    linstor_name,
                    property: mapping.key,
                    created_ms: None,
                    successful: true,
                    nodes: Vec::new(),
                    sizes: Vec::new(),
                })
            }
        }
    }

    /// Refuses a change of a snapshot this host has mounted (read-only access).
    async fn refuse_if_snapshot_mounted(&self, volume: &Volume, snapshot: &str) -> Result<()> {
        let mount_id = snapshot_mount_id(&volume.id, snapshot);
        let users = self.shared.mounts.volume(self.name(), &mount_id).lock().await.total();
        if users > 0 {
            return Err(Error::InUse {
                what: format!("Snapshot \"{snapshot}\" of {}", volume.id),
                hint: format!("it is mounted read-only by {users} user(s) on this host; unmount it first"),
            });
        }
        Ok(())
    }

    /// Deletes a snapshot: its LINSTOR snapshot and its mapping (both spellings). A mapping
    /// whose LINSTOR snapshot is gone already is removed, and the delete succeeds. `true` when
    /// a LINSTOR snapshot was deleted.
    pub async fn delete_snapshot(&self, volume: &Volume, snapshot: &str) -> Result<bool> {
        let lock = self.shared.mounts.volume(self.name(), &volume.id);
        let _guard = lock.lock().await;
        self.delete_snapshot_locked(volume, snapshot).await
    }

    /// [`Pool::delete_snapshot`] with the volume's lock held by the caller.
    pub(crate) async fn delete_snapshot_locked(&self, volume: &Volume, snapshot: &str) -> Result<bool> {
        self.refuse_if_snapshot_mounted(volume, snapshot).await?;
        let (rd, resolved) = self.snapshot_state(volume).await?;
        let keys = resolved.keys_of(&rd.props, snapshot);
        if keys.is_empty() {
            return Err(self.snapshot_not_found(volume, snapshot));
        }
        // A read-only mount left by a daemon that stopped: its temporary copy goes first.
        self.remove_snapshot_copies(&snapshot_mount_id(&volume.id, snapshot)).await?;
        let mut deleted = false;
        let mut done: Vec<&str> = Vec::new();
        for mapping in resolved.live.iter().filter(|m| m.name == snapshot) {
            if done.iter().any(|d| same_name(d, &mapping.linstor)) {
                continue;
            }
            match self.shared.client.snapshot_delete(&rd.name, &mapping.linstor, &[]).await {
                Ok(_) => deleted = true,
                Err(err) if err.is_not_found() || err.is(FAIL_NOT_FOUND_SNAPSHOT_DFN) => {}
                Err(err) => {
                    return Err(Error::linstor(format!(
                        "Could not delete LINSTOR snapshot {} of resource definition {}",
                        mapping.linstor, rd.name
                    ))(err))
                }
            }
            done.push(&mapping.linstor);
        }
        let stale: Vec<String> = resolved.stale.iter().filter(|k| !keys.contains(k)).cloned().collect();
        let mut remove = keys;
        remove.extend(stale);
        self.shared
            .modify_rd(&rd.name, Props::new(), remove, "Could not delete the snapshot name mapping property")
            .await?;
        Ok(deleted)
    }

    /// Renames a snapshot: its mapping property only (LINSTOR snapshots cannot be renamed; the
    /// LINSTOR snapshot keeps its name). The new mapping keeps the old one's spelling.
    pub async fn rename_snapshot(&self, volume: &Volume, snapshot: &str, new_name: &str) -> Result<()> {
        check_snapshot_name(new_name)?;
        if new_name == snapshot {
            return Ok(());
        }
        let lock = self.shared.mounts.volume(self.name(), &volume.id);
        let _guard = lock.lock().await;
        self.refuse_if_snapshot_mounted(volume, snapshot).await?;
        let (rd, resolved) = self.snapshot_state(volume).await?;
        let Some(current) = resolved.get(snapshot).cloned() else {
            self.drop_stale(volume, &rd.name, &resolved.stale).await?;
            return Err(self.snapshot_not_found(volume, snapshot));
        };
        if let Some(taken) = resolved.get(new_name) {
            return Err(Error::AlreadyExists {
                what: format!(
                    "Snapshot \"{new_name}\" of {} (LINSTOR snapshot {})",
                    volume.id, taken.linstor_name
                ),
            });
        }
        let prefix = AUX_SNAPSHOT_MAPS
            .iter()
            .find(|p| current.property.starts_with(*p))
            .copied()
            .unwrap_or(AUX_SNAPSHOT_MAP);
        let set: Props = [(format!("{prefix}{new_name}"), current.linstor_name.clone())].into();
        let mut delete = resolved.keys_of(&rd.props, snapshot);
        delete.extend(resolved.keys_of(&rd.props, new_name));
        delete.extend(resolved.stale.iter().cloned());
        delete.sort();
        delete.dedup();
        delete.retain(|k| !set.contains_key(k));
        self.shared.modify_rd(&rd.name, set, delete, "Could not rename the snapshot").await
    }

    /// Restores a volume to one of its snapshots (newer snapshots kept where the controller
    /// can; see the module's rules). A filesystem this host has mounted is unmounted for the
    /// rollback and mounted again afterwards; a block device in use here is refused.
    pub async fn restore_snapshot(&self, volume: &Volume, snapshot: &str) -> Result<Restored> {
        let lock = self.shared.mounts.volume(self.name(), &volume.id);
        let mut refs = lock.lock().await;
        if refs.block > 0 {
            return Err(Error::InUse {
                what: volume.id.to_string(),
                hint: format!(
                    "its block device is in use by {} user(s) on this host; stop them before restoring a snapshot",
                    refs.block
                ),
            });
        }
        let (rd, resolved) = self.snapshot_state(volume).await?;
        self.drop_stale(volume, &rd.name, &resolved.stale).await?;
        let target =
            resolved.get(snapshot).cloned().ok_or_else(|| self.snapshot_not_found(volume, snapshot))?;
        if !target.successful {
            return Err(Error::Inconsistent(format!(
                "Snapshot \"{snapshot}\" of {} (LINSTOR snapshot {}) was never completed; it cannot be restored",
                volume.id, target.linstor_name
            )));
        }
        let has_fs = volume.has_filesystem() || volume.is_vm_block();
        let path = self.mount_path(&volume.id);
        let mounted = has_fs && self.shared.is_mounted(&path).await?;
        let fs_volume = if volume.is_vm_block() { volume.config_filesystem() } else { volume.clone() };
        let number = volume_number(volume.id.vol_type, ContentType::Filesystem, rd.volume_definitions.len());
        let mut undo = Undo::new(format!("restore {} to snapshot {snapshot}", volume.id));
        if mounted {
            self.unmount_path(&path).await?;
            let (pool, rd_name, fs_volume, path) =
                (self.clone(), rd.name.clone(), fs_volume.clone(), path.clone());
            undo.push(format!("mount {} again", path.display()), move || async move {
                let device = pool.shared.device_path(&rd_name, number).await.map_err(|e| e.to_string())?;
                pool.mount_filesystem(&fs_volume, &device, &path).await.map_err(|e| e.to_string())
            });
        }
        let ops = LiveRollback { pool: self, rd: rd.name.clone(), volume };
        let remove = remove_snapshots_enabled(volume, self.config());
        let what = volume.id.to_string();
        let result = restore_rule(&ops, &what, &target, &resolved.snapshots, remove).await;
        let deleted = undo.finish(result).await?;
        if mounted {
            let again = async {
                let device = self.shared.device_path(&rd.name, number).await?;
                self.mount_filesystem(&fs_volume, &device, &path).await
            }
            .await;
            if let Err(err) = again {
                refs.filesystem = 0;
                return Err(Error::Inconsistent(format!(
                    "{} was restored to snapshot \"{snapshot}\", but could not be mounted again at {}: {err}",
                    volume.id,
                    path.display()
                )));
            }
        }
        Ok(Restored { deleted_snapshots: deleted })
    }

    /// The resource definitions of a snapshot's read-only copies (normally none or one).
    pub(crate) async fn snapshot_copies(&self, mount_id: &VolumeId) -> Result<Vec<String>> {
        use crate::volume::{AUX_NAME, AUX_TYPE};
        let aux = self.aux_name(mount_id);
        let opts = linstor_client::ListOpts::new()
            .prop(format!("{AUX_NAME}={aux}"))
            .prop(format!("{AUX_TYPE}={}", mount_id.vol_type.as_str()));
        let list = self
            .shared
            .client
            .resource_definition_list(&opts)
            .await
            .map_err(Error::linstor("Unable to get the LINSTOR resource definitions"))?;
        Ok(list
            .into_iter()
            .filter(|rd| {
                rd.props.get(AUX_NAME).map(String::as_str) == Some(aux.as_str())
                    && rd.props.get(AUX_TYPE).map(String::as_str) == Some(mount_id.vol_type.as_str())
                    && rd.resource_group_name.as_deref().is_some_and(|g| same_name(g, self.resource_group()))
            })
            .map(|rd| rd.name)
            .collect())
    }

    /// Deletes every temporary copy of a snapshot (see [`Pool::snapshot_copies`]).
    pub(crate) async fn remove_snapshot_copies(&self, mount_id: &VolumeId) -> Result<()> {
        for rd in self.snapshot_copies(mount_id).await? {
            tracing::info!("{mount_id}: removing the temporary resource definition {rd}");
            self.shared.delete_rd(&rd).await?;
        }
        Ok(())
    }

    /// The properties of a snapshot's temporary copy: its `Aux/Incus/*` identity
    /// (`<volume>/<snapshot>`), exact size and two primaries like every volume.
    pub(crate) fn snapshot_copy_props(&self, volume: &Volume, mount_id: &VolumeId) -> Props {
        use crate::config::PROP_ALLOW_TWO_PRIMARIES;
        use crate::volume::{AUX_CONTENT_TYPE, AUX_NAME, AUX_TYPE};
        [
            (AUX_NAME.to_string(), self.aux_name(mount_id)),
            (AUX_TYPE.to_string(), mount_id.vol_type.as_str().to_string()),
            (AUX_CONTENT_TYPE.to_string(), volume.content_type.as_str().to_string()),
            (PROP_ALLOW_TWO_PRIMARIES.to_string(), "yes".to_string()),
            (PROP_EXACT_SIZE.to_string(), "true".to_string()),
        ]
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linstor_api::consts::FAIL_UNKNOWN_ERROR;
    use linstor_api::{ApiCallRc, SnapshotNode};
    use std::sync::Mutex;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn linstor(name: &str, at: i64) -> linstor_api::Snapshot {
        linstor_api::Snapshot {
            name: name.into(),
            flags: vec!["SUCCESSFUL".into()],
            snapshots: vec![SnapshotNode { create_timestamp: Some(at), ..Default::default() }],
            ..Default::default()
        }
    }

    fn info(name: &str, at: i64) -> SnapshotInfo {
        SnapshotInfo {
            name: name.into(),
            linstor_name: format!("L-{name}"),
            property: format!("{AUX_SNAPSHOT_MAP}{name}"),
            created_ms: Some(at),
            successful: true,
            nodes: Vec::new(),
            sizes: Vec::new(),
        }
    }

    #[test]
    fn both_spellings_are_read_and_stale_ones_found() {
        let rd_props = props(&[
            ("Aux/Incus/SnapshotName/snap0", "incus-volume-aaa"),
            ("Aux/Incus/snapshot-name/from-incus", "incus-volume-bbb"),
            ("Aux/Incus/snapshot-name/snap0", "incus-volume-zzz"),
            ("Aux/Incus/SnapshotName/gone", "incus-volume-ccc"),
            ("Aux/Incus/name", "incus-volume-default_v"),
        ]);
        let snaps = [
            linstor("INCUS-VOLUME-AAA", 10),
            linstor("incus-volume-bbb", 5),
            linstor("incus-volume-unmapped", 1),
        ];
        let resolved = resolve(&rd_props, &snaps);
        let names: Vec<(&str, &str)> =
            resolved.snapshots.iter().map(|s| (s.name.as_str(), s.property.as_str())).collect();
        assert_eq!(
            names,
            [("from-incus", "Aux/Incus/snapshot-name/from-incus"), ("snap0", "Aux/Incus/SnapshotName/snap0")]
        );
        assert_eq!(resolved.stale, ["Aux/Incus/SnapshotName/gone", "Aux/Incus/snapshot-name/snap0"]);
        assert_eq!(
            resolved.keys_of(&rd_props, "snap0"),
            ["Aux/Incus/SnapshotName/snap0", "Aux/Incus/snapshot-name/snap0"]
        );
        // The unmapped LINSTOR snapshot is not the driver's: never listed (Incus lists it
        // with an empty name).
        assert!(resolved.snapshots.iter().all(|s| !s.name.is_empty()));
    }

    #[test]
    fn names() {
        for good in ["snap0", "a.b-c_d", "x y"] {
            assert!(check_snapshot_name(good).is_ok(), "{good}");
        }
        for bad in ["", "a/b", "a\nb"] {
            let err = check_snapshot_name(bad).expect_err(bad);
            assert_eq!(err.key(), Some("name"));
        }
    }

    #[test]
    fn newer_snapshots_newest_first() {
        let all = [info("s1", 10), info("s2", 20), info("s3", 30), info("s0", 5)];
        let newer: Vec<&str> = newer_than(&all[0], &all).iter().map(|s| s.name.as_str()).collect();
        assert_eq!(newer, ["s3", "s2"]);
        assert!(newer_than(&all[2], &all).is_empty());
    }

    #[test]
    fn remove_snapshots_volume_then_pool() {
        let vol = Volume::new(VolumeId::custom("default", "v"), ContentType::Filesystem);
        let pool_on: crate::Config =
            [("volume.linstor.remove_snapshots".to_string(), "true".to_string())].into();
        assert!(!remove_snapshots_enabled(&vol, &crate::Config::new()));
        assert!(remove_snapshots_enabled(&vol, &pool_on));
        let off = vol.clone().with_config("linstor.remove_snapshots", "false");
        assert!(!remove_snapshots_enabled(&off, &pool_on));
        let on = vol.with_config("linstor.remove_snapshots", "yes");
        assert!(remove_snapshots_enabled(&on, &crate::Config::new()));
    }

    /// A controller that, like LINBIT's with providers that roll back only to the latest
    /// snapshot, refuses a rollback while newer snapshots exist (or, with `accepts_any`, rolls
    /// back to any snapshot like Strand's).
    struct FakeController {
        snapshots: Mutex<Vec<SnapshotInfo>>,
        accepts_any: bool,
        in_use: bool,
        log: Mutex<Vec<String>>,
    }

    impl FakeController {
        fn new(all: &[SnapshotInfo], accepts_any: bool) -> FakeController {
            FakeController {
                snapshots: Mutex::new(all.to_vec()),
                accepts_any,
                in_use: false,
                log: Mutex::new(Vec::new()),
            }
        }

        fn log(&self) -> Vec<String> {
            self.log.lock().map(|l| l.clone()).unwrap_or_default()
        }

        fn left(&self) -> Vec<String> {
            self.snapshots.lock().map(|s| s.iter().map(|s| s.name.clone()).collect()).unwrap_or_default()
        }
    }

    fn refusal(code: i64, message: &str) -> linstor_client::Error {
        linstor_client::Error::Api(vec![ApiCallRc {
            ret_code: code,
            message: message.into(),
            ..Default::default()
        }])
    }

    impl RollbackOps for FakeController {
        fn rollback<'a>(&'a self, linstor_name: &'a str) -> BoxFuture<'a, Result<(), linstor_client::Error>> {
            Box::pin(async move {
                let mut log = self.log.lock().map_err(|_| refusal(FAIL_UNKNOWN_ERROR, "poisoned"))?;
                log.push(format!("rollback {linstor_name}"));
                if self.in_use {
                    return Err(refusal(FAIL_IN_USE, "Resource 'rd' on node 'n1' is still in use."));
                }
                let snapshots = self.snapshots.lock().map_err(|_| refusal(FAIL_UNKNOWN_ERROR, "poisoned"))?;
                let target = snapshots.iter().find(|s| s.linstor_name == linstor_name).cloned();
                let Some(target) = target else {
                    return Err(refusal(FAIL_NOT_FOUND_SNAPSHOT_DFN, "snapshot not found"));
                };
                if !self.accepts_any && !newer_than(&target, &snapshots).is_empty() {
                    return Err(refusal(
                        FAIL_UNKNOWN_ERROR,
                        "cannot rollback to 'L-s1': more recent snapshots exist",
                    ));
                }
                Ok(())
            })
        }

        fn delete<'a>(&'a self, snapshot: &'a SnapshotInfo) -> BoxFuture<'a, Result<()>> {
            Box::pin(async move {
                if let Ok(mut log) = self.log.lock() {
                    log.push(format!("delete {}", snapshot.name));
                }
                if let Ok(mut snapshots) = self.snapshots.lock() {
                    snapshots.retain(|s| s.name != snapshot.name);
                }
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn a_refusing_controller_needs_remove_snapshots() {
        let all = [info("s1", 10), info("s2", 20), info("s3", 30)];
        let controller = FakeController::new(&all, false);
        let err = restore_rule(&controller, "custom volume \"v\"", &all[0], &all, false)
            .await
            .expect_err("refused without remove_snapshots");
        let text = err.to_string();
        assert!(err.is_not_supported(), "{text}");
        assert!(text.contains("linstor.remove_snapshots=true"), "{text}");
        assert!(text.contains("volume.linstor.remove_snapshots=true"), "{text}");
        assert!(text.contains("(s3, s2)"), "{text}");
        assert!(text.contains("more recent snapshots exist"), "{text}");
        assert_eq!(controller.log(), ["rollback L-s1"]);
        assert_eq!(controller.left(), ["s1", "s2", "s3"]);

        // With the key: the newer snapshots go first, newest first, then the rollback works.
        let deleted =
            restore_rule(&controller, "custom volume \"v\"", &all[0], &all, true).await.expect("restored");
        assert_eq!(deleted, ["s3", "s2"]);
        assert_eq!(
            controller.log(),
            ["rollback L-s1", "rollback L-s1", "delete s3", "delete s2", "rollback L-s1"]
        );
        assert_eq!(controller.left(), ["s1"]);
    }

    #[tokio::test]
    async fn the_latest_snapshot_and_a_controller_that_rolls_back_to_any() {
        let all = [info("s1", 10), info("s2", 20)];
        let refusing = FakeController::new(&all, false);
        assert!(restore_rule(&refusing, "v", &all[1], &all, false).await.expect("latest").is_empty());
        let strand = FakeController::new(&all, true);
        assert!(restore_rule(&strand, "v", &all[0], &all, true).await.expect("any").is_empty());
        assert_eq!(strand.left(), ["s1", "s2"], "newer snapshots are kept when the controller can");
    }

    #[tokio::test]
    async fn other_failures_never_delete_snapshots() {
        let all = [info("s1", 10), info("s2", 20)];
        let mut busy = FakeController::new(&all, false);
        busy.in_use = true;
        let err = restore_rule(&busy, "v", &all[0], &all, true).await.expect_err("in use");
        assert!(err.to_string().contains("still in use"), "{err}");
        assert_eq!(busy.left(), ["s1", "s2"]);
        assert!(!is_refusal(&refusal(WARN_NOT_CONNECTED, "offline")));
        assert!(is_refusal(&refusal(FAIL_UNKNOWN_ERROR, "zfs: more recent snapshots exist")));
        assert!(!is_refusal(&linstor_client::Error::NotFound(Vec::new())));
    }
}
