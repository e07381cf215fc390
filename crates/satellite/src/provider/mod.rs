//! Storage providers: the backing store of a volume (the STORAGE layer), below the loop device.
//!
//! - [`file::FileProvider`] serves FILE (preallocated) and FILE_THIN (sparse) pools: a volume
//!   is the file `<dir>/<rsc>_<vlmnr:05>.img` ([`naming`]).
//! - [`support`] says which kinds this node can serve, and why not the others.
//! - [`reflink`] probes whether a pool directory can make reflink copies (snapshots).

pub mod file;
pub mod naming;
pub mod reflink;
pub mod support;

use crate::action::{CreateAction, DeleteAction, SetAction};
use crate::sys::FileId;
use std::io;
use std::path::{Path, PathBuf};
pub use support::{ProviderKind, ProviderSupport};

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{op} {}: {source}", path.display())]
    Io { op: &'static str, path: PathBuf, source: io::Error },
    #[error("{0}")]
    Pool(String),
}

pub(crate) fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ProviderError {
    let path = path.to_path_buf();
    move |source| ProviderError::Io { op, path, source }
}

/// Capacity of a pool, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub total_kib: i64,
    pub free_kib: i64,
}

/// A volume's backing file as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeFile {
    pub path: PathBuf,
    pub size_bytes: u64,
    /// Blocks the filesystem really allocated (`st_blocks * 512`).
    pub allocated_bytes: u64,
    pub id: FileId,
}

/// What a pool directory holds that follows the volume naming.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// `(resource, volume number, path)` of every `<rsc>_<vlmnr:05>.img`.
    pub volumes: Vec<(String, i32, PathBuf)>,
    /// Every `<rsc>_<vlmnr:05>.img.tmp` and `<rsc>_<vlmnr:05>_<snap>.img.tmp`: a creation, copy
    /// or snapshot that never finished (or is running in the background).
    pub temps: Vec<PathBuf>,
    /// `(resource, volume number, snapshot, path)` of every `<rsc>_<vlmnr:05>_<snap>.img`.
    pub snapshots: Vec<(String, i32, String, PathBuf)>,
}

/// One provider kind's operations on its backing store. Each call is idempotent and says
/// whether it changed anything.
pub trait StorageProvider: Send + Sync {
    fn kind(&self) -> ProviderKind;
    /// Makes sure the pool's backing store exists (`create`), or only checks it. Answers the
    /// canonical path of the pool directory.
    fn prepare_pool(&self, backing: &str, create: bool) -> Result<CreateAction<PathBuf>, ProviderError>;
    fn capacity(&self, dir: &Path) -> Result<Capacity, ProviderError>;
    fn list(&self, dir: &Path) -> Result<Listing, ProviderError>;
    fn stat_volume(&self, path: &Path) -> Result<Option<VolumeFile>, ProviderError>;
    /// Creates a volume of exactly `size_bytes`. It appears under its final name only once
    /// complete; a failure leaves nothing behind.
    fn create_volume(&self, path: &Path, size_bytes: u64) -> Result<VolumeFile, ProviderError>;
    /// Grows or shrinks a volume to `size_bytes`.
    fn resize_volume(&self, path: &Path, size_bytes: u64) -> Result<SetAction, ProviderError>;
    fn delete_volume(&self, path: &Path) -> Result<DeleteAction, ProviderError>;
}
