//! The storage operations the daemon needs, as one trait.
//!
//! The REST layer, the database and the operations registry only see [`Backend`]; the real
//! implementation is [`crate::DriverBackend`] (the Incus `linstor` driver over the LINSTOR
//! client). Every method is about one pool or one volume, takes what the daemon keeps in its
//! database (the pool's name and config, the volume's identity, content type and config) and
//! answers plain data. Errors carry a [`ErrorKind`] that decides the HTTP status, and a
//! one-line message that names the key or object it is about.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

/// A pool's or a volume's config, as Incus keeps it (string → string, sorted).
pub type Config = BTreeMap<String, String>;

/// A boxed, sendable future (the trait is used as `dyn Backend`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What kind of failure a backend reports; decides the HTTP status of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A config key or value is refused (400); nothing was done.
    Config,
    /// The pool or volume does not exist on the storage side (404).
    NotFound,
    /// It exists already (409).
    AlreadyExists,
    /// It is in use (mounted, has volumes) (400).
    InUse,
    /// The request is valid but the storage cannot do it (400): shrinking a block volume,
    /// the disk path of a filesystem volume.
    Refused,
    /// The storage system cannot be reached or the local node cannot serve (503).
    Unavailable,
    /// Anything else (500).
    Failed,
}

/// A backend failure: its kind and a one-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError {
    pub kind: ErrorKind,
    pub message: String,
}

impl BackendError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> BackendError {
        BackendError { kind, message: message.into() }
    }

    pub fn config(message: impl Into<String>) -> BackendError {
        BackendError::new(ErrorKind::Config, message)
    }

    pub fn failed(message: impl Into<String>) -> BackendError {
        BackendError::new(ErrorKind::Failed, message)
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BackendError {}

pub type BackendResult<T> = Result<T, BackendError>;

/// Incus volume types, with the names of the REST API (`custom`, `container`,
/// `virtual-machine`, `image`). Ordered as the API sorts them (by their name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VolumeType {
    Container,
    Custom,
    Image,
    VirtualMachine,
}

impl VolumeType {
    pub const ALL: [VolumeType; 4] =
        [VolumeType::Container, VolumeType::Custom, VolumeType::Image, VolumeType::VirtualMachine];

    /// The name in URLs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeType::Container => "container",
            VolumeType::Custom => "custom",
            VolumeType::Image => "image",
            VolumeType::VirtualMachine => "virtual-machine",
        }
    }

    pub fn parse(text: &str) -> Option<VolumeType> {
        VolumeType::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

impl fmt::Display for VolumeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Incus content types: the driver's.
pub use driver::ContentType;

/// A pool as the daemon keeps it: the backend gets its name and (effective) config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRef {
    pub name: String,
    pub config: Config,
}

/// A volume as the daemon keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    pub project: String,
    pub vol_type: VolumeType,
    pub name: String,
    pub content_type: ContentType,
    pub config: Config,
}

/// Space of a pool, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSpace {
    pub used: u64,
    pub total: u64,
}

/// Space of a volume, in bytes (`total` when the backend knows the volume's size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeUsage {
    pub used: u64,
    pub total: Option<u64>,
}

/// What a mount made available on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// Where the filesystem is mounted (filesystem volumes): the target asked for, else the
    /// driver's own mount point.
    pub path: Option<PathBuf>,
    /// The block device.
    pub device: Option<PathBuf>,
    /// Users of the volume on this host, this one included.
    pub users: u32,
}

/// What an unmount did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnmountOutcome {
    /// The last user left: unmounted.
    Unmounted,
    /// Other users remain.
    StillInUse { users: u32 },
    /// It was not mounted here.
    NotMounted,
}

/// A pool found back from the storage side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredPool {
    pub name: String,
    pub config: Config,
}

/// The volumes found back in a pool, and why others were skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveredVolumes {
    pub volumes: Vec<VolumeSpec>,
    pub warnings: Vec<String>,
}

/// Where a volume's (or a snapshot's) data is on this host while a [`DataWork`] runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataPaths {
    /// The mounted filesystem (filesystem volumes; a VM's config filesystem).
    pub path: Option<PathBuf>,
    /// The block device.
    pub device: Option<PathBuf>,
}

/// Work on a volume's data, run on a blocking thread while the data is mounted; its error is
/// one line.
pub type DataWork = Box<dyn FnOnce(&DataPaths) -> Result<(), String> + Send>;

fn unsupported<T>(what: &str) -> BackendResult<T> {
    Err(BackendError::new(ErrorKind::Refused, format!("{what} is not supported by this storage backend")))
}

/// A snapshot of a volume as the storage side holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotState {
    pub name: String,
    /// When the storage side took it (RFC 3339), if it says.
    pub created_at: Option<String>,
}

/// What a snapshot restore did besides restoring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreOutcome {
    /// Newer snapshots the storage side deleted first (`linstor.remove_snapshots`).
    pub deleted_snapshots: Vec<String>,
}

fn snapshots_unsupported<'a, T: Send + 'a>() -> BoxFuture<'a, BackendResult<T>> {
    Box::pin(async {
        Err(BackendError::new(
            ErrorKind::Refused,
            "Volume snapshots are not supported by this storage backend",
        ))
    })
}

/// The server keys the backend is configured with (`storage.linstor.*` of `GET /1.0`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerSettings {
    /// Controller addresses, in order.
    pub controllers: Vec<String>,
    pub ca_cert: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    /// This host's LINSTOR node name, when it is not the host name.
    pub satellite_name: Option<String>,
}

/// The backend's driver, for `GET /1.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendInfo {
    /// The driver name (`linstor`).
    pub driver: String,
    /// Its version, once known (empty before the first successful contact).
    pub version: String,
    /// One storage system serves every cluster member.
    pub remote: bool,
}

/// Every storage operation of the daemon.
pub trait Backend: Send + Sync + 'static {
    fn info(&self) -> BackendInfo;

    /// Tries to learn what [`Backend::info`] does not know yet (the driver's version), briefly;
    /// failures are ignored.
    fn refresh_info(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// Checks server settings without applying them (errors name the key).
    fn validate_settings(&self, settings: &ServerSettings) -> BackendResult<()>;

    /// Applies new server settings: connects to the storage system with them and, only if
    /// that works, uses them from now on. On failure the old settings stay.
    fn configure<'a>(&'a self, settings: &'a ServerSettings) -> BoxFuture<'a, BackendResult<()>>;

    /// Checks a new pool's config (errors name the key); no I/O.
    fn validate_pool_config(&self, name: &str, config: &Config) -> BackendResult<()>;

    /// Creates a pool (or adopts what exists on the storage side) and answers the config to
    /// keep. On failure nothing is left behind.
    fn create_pool<'a>(&'a self, name: &'a str, config: &'a Config) -> BoxFuture<'a, BackendResult<Config>>;

    /// Applies a new config to a pool; answers the config to keep.
    fn update_pool<'a>(
        &'a self,
        pool: &'a PoolRef,
        config: &'a Config,
    ) -> BoxFuture<'a, BackendResult<Config>>;

    /// Deletes a pool (its volumes are gone already).
    fn delete_pool<'a>(&'a self, pool: &'a PoolRef) -> BoxFuture<'a, BackendResult<()>>;

    /// Space used and total of the pool.
    fn pool_resources<'a>(&'a self, pool: &'a PoolRef) -> BoxFuture<'a, BackendResult<PoolSpace>>;

    /// Fills a new volume's config with the pool's defaults and checks it; answers the config
    /// to keep. No I/O.
    fn prepare_volume(&self, pool: &PoolRef, volume: &VolumeSpec) -> BackendResult<Config>;

    /// Checks a volume with a changed config (errors name the key). No I/O.
    fn validate_volume(&self, pool: &PoolRef, volume: &VolumeSpec) -> BackendResult<()>;

    /// Creates a volume (config as [`Backend::prepare_volume`] answered). On failure nothing
    /// is left behind.
    fn create_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<()>>;

    /// Deletes a volume; a volume that does not exist on the storage side is not an error.
    fn delete_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<()>>;

    /// Renames a volume (same pool, project and type).
    fn rename_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        new_name: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>>;

    /// Applies a volume's new config: `size` resizes it, other keys reach the storage side.
    fn update_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        config: &'a Config,
    ) -> BoxFuture<'a, BackendResult<()>>;

    /// Space the volume uses.
    fn volume_usage<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<VolumeUsage>>;

    /// Mounts a volume on this host (reference counted); with `target`, a filesystem volume is
    /// also bound there (a directory, made if missing).
    fn mount_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        target: Option<&'a Path>,
    ) -> BoxFuture<'a, BackendResult<MountInfo>>;

    /// Unmounts a volume on this host (reference counted): the last place it was bound to
    /// first, if any.
    fn unmount_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<UnmountOutcome>>;

    /// Where the volume is on this host: the block device of block volumes, the mount
    /// directory of filesystem volumes.
    fn volume_path<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<PathBuf>>;

    /// The block device of a volume on this host (a filesystem volume's too), made available
    /// here if needed.
    fn volume_device<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<PathBuf>> {
        self.volume_path(pool, volume)
    }

    /// The pools the storage side records.
    fn recover_pools(&self) -> BoxFuture<'_, BackendResult<Vec<RecoveredPool>>>;

    /// The volumes of a pool, from the storage side alone.
    fn recover_volumes<'a>(&'a self, pool: &'a PoolRef) -> BoxFuture<'a, BackendResult<RecoveredVolumes>>;

    // ---- snapshots (crates/daemon/src/api/snapshots.rs) -------------------------------------

    /// Takes a snapshot of a volume. On failure nothing is left behind.
    fn create_snapshot<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _volume: &'a VolumeSpec,
        _name: &'a str,
    ) -> BoxFuture<'a, BackendResult<SnapshotState>> {
        snapshots_unsupported()
    }

    /// Deletes a snapshot (`NotFound` when the storage side has none of that name).
    fn delete_snapshot<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _volume: &'a VolumeSpec,
        _name: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>> {
        snapshots_unsupported()
    }

    /// Renames a snapshot.
    fn rename_snapshot<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _volume: &'a VolumeSpec,
        _name: &'a str,
        _new_name: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>> {
        snapshots_unsupported()
    }

    /// The snapshots of a volume, oldest first.
    fn list_snapshots<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<Vec<SnapshotState>>> {
        snapshots_unsupported()
    }

    /// Restores a volume to a snapshot.
    fn restore_snapshot<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _volume: &'a VolumeSpec,
        _name: &'a str,
    ) -> BoxFuture<'a, BackendResult<RestoreOutcome>> {
        snapshots_unsupported()
    }

    /// Read-only access to a snapshot on this host (reference counted); with `target`, a
    /// filesystem snapshot is also bound there.
    fn mount_snapshot<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _volume: &'a VolumeSpec,
        _name: &'a str,
        _target: Option<&'a Path>,
    ) -> BoxFuture<'a, BackendResult<MountInfo>> {
        snapshots_unsupported()
    }

    /// Ends read-only access to a snapshot (reference counted).
    fn unmount_snapshot<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _volume: &'a VolumeSpec,
        _name: &'a str,
    ) -> BoxFuture<'a, BackendResult<UnmountOutcome>> {
        snapshots_unsupported()
    }

    // ---- copies, images and data (crates/daemon/src/api/copies.rs, images, backups) ----------

    /// Copies `src` into the new volume `dst` of the same pool (config as
    /// [`Backend::prepare_volume`] answered); with `snapshots`, its snapshots too. Answers the
    /// snapshots the copy got, oldest first. On failure nothing is left behind.
    fn copy_volume<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _src: &'a VolumeSpec,
        _dst: &'a VolumeSpec,
        _snapshots: bool,
    ) -> BoxFuture<'a, BackendResult<Vec<String>>> {
        Box::pin(async { unsupported("Copying storage volumes") })
    }

    /// A new volume `dst` from snapshot `snapshot` of `src`.
    fn create_volume_from_snapshot<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _src: &'a VolumeSpec,
        _snapshot: &'a str,
        _dst: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async { unsupported("Creating storage volumes from snapshots") })
    }

    /// An instance volume `dst` from the image volume `image` (a clone, grown to `dst`'s size).
    fn create_volume_from_image<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _image: &'a VolumeSpec,
        _dst: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async { unsupported("Creating storage volumes from images") })
    }

    /// Creates a volume and fills it with `fill`; on failure the volume is deleted again.
    fn create_volume_filled<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _volume: &'a VolumeSpec,
        _fill: DataWork,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async { unsupported("Filling storage volumes") })
    }

    /// Runs `work` with the volume's data mounted on this host.
    fn with_volume_data<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _volume: &'a VolumeSpec,
        _work: DataWork,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async { unsupported("Access to a volume's data") })
    }

    /// Runs `work` with a snapshot's data mounted read-only on this host.
    fn with_snapshot_data<'a>(
        &'a self,
        _pool: &'a PoolRef,
        _volume: &'a VolumeSpec,
        _snapshot: &'a str,
        _work: DataWork,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async { unsupported("Access to a snapshot's data") })
    }
}
