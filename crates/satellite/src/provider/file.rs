//! FILE and FILE_THIN: volumes as files in a directory.
//!
//! - FILE allocates every block up front (`fallocate`), FILE_THIN only sets the size
//!   (`ftruncate`, a sparse file). Growing does the same for the new range; shrinking truncates
//!   for both (LINSTOR allows shrinking these kinds).
//! - A new volume is written as `<name>.tmp` and renamed into place (never over an existing
//!   file), so a crash never leaves a volume of the wrong size under its final name.
//! - Capacity is the directory's filesystem (statvfs), allocation is the file's `st_blocks`.

use super::naming::{self, temp_path};
use super::{io_err, Capacity, Listing, ProviderError, ProviderKind, StorageProvider, VolumeFile};
use crate::action::{CreateAction, DeleteAction, SetAction};
use crate::sys::{self, FileId};
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

#[derive(Debug, Clone, Copy)]
pub struct FileProvider {
    thin: bool,
}

impl FileProvider {
    /// FILE: preallocated volumes.
    pub fn thick() -> FileProvider {
        FileProvider { thin: false }
    }
    /// FILE_THIN: sparse volumes.
    pub fn thin() -> FileProvider {
        FileProvider { thin: true }
    }

    fn set_size(&self, f: &fs::File, path: &Path, current: u64, size: u64) -> Result<(), ProviderError> {
        if size > current && !self.thin {
            sys::allocate(f, size).map_err(io_err("fallocate", path))
        } else {
            f.set_len(size).map_err(io_err("truncate", path))
        }
    }
}

/// Removes a path on drop unless disarmed: the undo of a half-done creation.
struct Undo(Option<PathBuf>);

impl Drop for Undo {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

fn volume_file(path: &Path, meta: &fs::Metadata) -> VolumeFile {
    VolumeFile {
        path: path.to_path_buf(),
        size_bytes: meta.len(),
        allocated_bytes: meta.blocks() * 512,
        id: FileId::of(meta),
    }
}

impl StorageProvider for FileProvider {
    fn kind(&self) -> ProviderKind {
        if self.thin {
            ProviderKind::FileThin
        } else {
            ProviderKind::File
        }
    }

    fn prepare_pool(&self, backing: &str, create: bool) -> Result<CreateAction<PathBuf>, ProviderError> {
        let dir = Path::new(backing);
        if backing.is_empty() || !dir.is_absolute() {
            return Err(ProviderError::Pool(format!(
                "StorDriver/StorPoolName of a {} pool must be an absolute directory path, not {backing:?}",
                self.kind().name()
            )));
        }
        match fs::metadata(dir) {
            Ok(m) if m.is_dir() => {
                let canon = fs::canonicalize(dir).map_err(io_err("resolve", dir))?;
                return Ok(CreateAction::Existed(canon));
            }
            Ok(_) => {
                return Err(ProviderError::Pool(format!(
                    "storage pool path {} exists but is not a directory",
                    dir.display()
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("stat", dir)(e)),
        }
        let parent = dir.parent().unwrap_or(Path::new("/"));
        if !parent.is_dir() {
            return Err(ProviderError::Pool(format!(
                "parent directory {} of storage pool directory {} does not exist; create it or use \
                 another StorDriver/StorPoolName",
                parent.display(),
                dir.display()
            )));
        }
        if !create {
            return Err(ProviderError::Pool(format!(
                "storage pool directory {} does not exist yet",
                dir.display()
            )));
        }
        match fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err("create directory", dir)(e)),
        }
        let canon = fs::canonicalize(dir).map_err(io_err("resolve", dir))?;
        Ok(CreateAction::Created(canon))
    }

    fn capacity(&self, dir: &Path) -> Result<Capacity, ProviderError> {
        let (total, avail) = sys::fs_capacity(dir).map_err(io_err("statvfs", dir))?;
        let kib = |b: u64| i64::try_from(b / 1024).unwrap_or(i64::MAX);
        Ok(Capacity { total_kib: kib(total), free_kib: kib(avail) })
    }

    fn list(&self, dir: &Path) -> Result<Listing, ProviderError> {
        let mut listing = Listing::default();
        for entry in fs::read_dir(dir).map_err(io_err("read directory", dir))? {
            let entry = entry.map_err(io_err("read directory", dir))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            // Only regular files; a symlink or directory with a volume's name is not ours.
            let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
            if !is_file {
                continue;
            }
            if let Some((rsc, nr)) = naming::parse_volume_file_name(&name) {
                listing.volumes.push((rsc, nr, entry.path()));
            } else if naming::parse_temp_file_name(&name).is_some()
                || naming::parse_snapshot_temp_name(&name).is_some()
            {
                listing.temps.push(entry.path());
            } else if let Some((rsc, nr, snap)) = naming::parse_snapshot_file_name(&name) {
                listing.snapshots.push((rsc, nr, snap, entry.path()));
            }
        }
        listing.volumes.sort();
        listing.temps.sort();
        listing.snapshots.sort();
        Ok(listing)
    }

    fn stat_volume(&self, path: &Path) -> Result<Option<VolumeFile>, ProviderError> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.is_file() => Ok(Some(volume_file(path, &m))),
            Ok(_) => Err(ProviderError::Pool(format!("{} exists but is not a regular file", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("stat", path)(e)),
        }
    }

    fn create_volume(&self, path: &Path, size_bytes: u64) -> Result<VolumeFile, ProviderError> {
        let tmp = temp_path(path);
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &tmp)(e)),
        }
        let f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        let mut undo = Undo(Some(tmp.clone()));
        self.set_size(&f, &tmp, 0, size_bytes)?;
        sys::rename_noreplace(&tmp, path).map_err(io_err("rename into place", path))?;
        undo.0 = None;
        let meta = f.metadata().map_err(io_err("stat", path))?;
        Ok(volume_file(path, &meta))
    }

    fn resize_volume(&self, path: &Path, size_bytes: u64) -> Result<SetAction, ProviderError> {
        let f = sys::open_with(path, true, 0).map_err(io_err("open", path))?;
        let current = f.metadata().map_err(io_err("stat", path))?.len();
        if current == size_bytes {
            return Ok(SetAction::Unchanged);
        }
        self.set_size(&f, path, current, size_bytes)?;
        Ok(SetAction::Changed)
    }

    fn delete_volume(&self, path: &Path) -> Result<DeleteAction, ProviderError> {
        match fs::remove_file(path) {
            Ok(()) => Ok(DeleteAction::Deleted),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(DeleteAction::Absent),
            Err(e) => Err(io_err("remove", path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
    fn tmpdir(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("strand-file-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    #[test]
    fn thin_and_thick_files() {
        let d = tmpdir("sizes");
        let thin = FileProvider::thin();
        let thick = FileProvider::thick();
        let a = thin.create_volume(&d.0.join("a_00000.img"), 8 << 20).unwrap();
        let b = thick.create_volume(&d.0.join("b_00000.img"), 8 << 20).unwrap();
        assert_eq!((a.size_bytes, b.size_bytes), (8 << 20, 8 << 20));
        assert!(a.allocated_bytes < 1 << 20, "thin file is sparse");
        assert!(b.allocated_bytes >= 8 << 20, "thick file is allocated");
        assert!(!d.0.join("a_00000.img.tmp").exists());
        // Never replaces an existing volume.
        assert!(thin.create_volume(&d.0.join("a_00000.img"), 4096).is_err());
        assert!(!d.0.join("a_00000.img.tmp").exists());
        assert_eq!(thin.stat_volume(&a.path).unwrap().unwrap().size_bytes, 8 << 20);

        assert_eq!(thick.resize_volume(&b.path, 12 << 20).unwrap(), SetAction::Changed);
        assert!(thick.stat_volume(&b.path).unwrap().unwrap().allocated_bytes >= 12 << 20);
        assert_eq!(thick.resize_volume(&b.path, 12 << 20).unwrap(), SetAction::Unchanged);
        assert_eq!(thin.resize_volume(&a.path, 4 << 20).unwrap(), SetAction::Changed);
        assert_eq!(thin.stat_volume(&a.path).unwrap().unwrap().size_bytes, 4 << 20);

        fs::write(d.0.join("notes.txt"), b"x").unwrap();
        fs::write(d.0.join("c_00001.img.tmp"), b"x").unwrap();
        let l = thin.list(&d.0).unwrap();
        assert_eq!(l.volumes.len(), 2);
        assert_eq!(l.temps, vec![d.0.join("c_00001.img.tmp")]);

        assert_eq!(thin.delete_volume(&a.path).unwrap(), DeleteAction::Deleted);
        assert_eq!(thin.delete_volume(&a.path).unwrap(), DeleteAction::Absent);
        assert_eq!(thin.stat_volume(&a.path).unwrap(), None);
    }

    #[test]
    fn pool_directories() {
        let d = tmpdir("pools");
        let p = FileProvider::thin();
        let pool = d.0.join("pool");
        assert!(p.prepare_pool(pool.to_str().unwrap(), false).is_err());
        assert!(p.prepare_pool(pool.to_str().unwrap(), true).unwrap().changed());
        assert!(!p.prepare_pool(pool.to_str().unwrap(), true).unwrap().changed());
        let err = p.prepare_pool(d.0.join("missing/pool").to_str().unwrap(), true).unwrap_err().to_string();
        assert!(err.contains("parent directory") && err.contains("does not exist"), "{err}");
        assert!(p.prepare_pool("relative/dir", true).is_err());
        let c = p.capacity(&pool).unwrap();
        assert!(c.total_kib > 0 && c.free_kib <= c.total_kib);
    }
}
