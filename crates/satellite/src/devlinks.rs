//! Stable device paths: `<dev_dir>/<rsc>/<vlmnr>` (default `/dev/strand/<rsc>/<vlmnr>`), a
//! symlink to the volume's current loop device, because `/dev/loopN` changes across restarts.
//!
//! A link is replaced atomically (a symlink under a temporary name, renamed over the old one),
//! so a reader sees either the old or the new device, never no link. Removing the last link of
//! a resource removes its (then empty) directory too.

use crate::action::{DeleteAction, SetAction};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
pub struct DevLinkError {
    op: &'static str,
    path: PathBuf,
    source: io::Error,
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> DevLinkError {
    let path = path.to_path_buf();
    move |source| DevLinkError { op, path, source }
}

/// A stable link found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevLink {
    pub resource: String,
    pub volume_number: i32,
    pub path: PathBuf,
    pub target: PathBuf,
}

pub trait DevLinks: Send + Sync {
    fn link_path(&self, resource: &str, volume_number: i32) -> PathBuf;
    /// The current target of a volume's link, if there is one.
    fn read(&self, resource: &str, volume_number: i32) -> Option<PathBuf>;
    /// Points a volume's link at `target`.
    fn ensure(&self, resource: &str, volume_number: i32, target: &Path) -> Result<SetAction, DevLinkError>;
    /// Removes a volume's link, and its resource directory when that becomes empty.
    fn remove(&self, resource: &str, volume_number: i32) -> Result<DeleteAction, DevLinkError>;
    /// Every volume link under the directory (leftover temporary links are removed on the way).
    fn list(&self) -> Result<Vec<DevLink>, DevLinkError>;
}

/// Links in a directory of the filesystem.
#[derive(Debug, Clone)]
pub struct FsDevLinks {
    dir: PathBuf,
}

impl FsDevLinks {
    pub fn new(dir: impl Into<PathBuf>) -> FsDevLinks {
        FsDevLinks { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn tmp_name(volume_number: i32) -> String {
        format!(".{volume_number}.tmp-{}", std::process::id())
    }
}

impl DevLinks for FsDevLinks {
    fn link_path(&self, resource: &str, volume_number: i32) -> PathBuf {
        self.dir.join(resource).join(volume_number.to_string())
    }

    fn read(&self, resource: &str, volume_number: i32) -> Option<PathBuf> {
        fs::read_link(self.link_path(resource, volume_number)).ok()
    }

    fn ensure(&self, resource: &str, volume_number: i32, target: &Path) -> Result<SetAction, DevLinkError> {
        let link = self.link_path(resource, volume_number);
        if fs::read_link(&link).ok().as_deref() == Some(target) {
            return Ok(SetAction::Unchanged);
        }
        let rsc_dir = self.dir.join(resource);
        fs::create_dir_all(&rsc_dir).map_err(io_err("create directory", &rsc_dir))?;
        let tmp = rsc_dir.join(FsDevLinks::tmp_name(volume_number));
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &tmp)(e)),
        }
        std::os::unix::fs::symlink(target, &tmp).map_err(io_err("create symlink", &tmp))?;
        if let Err(e) = fs::rename(&tmp, &link) {
            let _ = fs::remove_file(&tmp);
            return Err(io_err("rename symlink to", &link)(e));
        }
        Ok(SetAction::Changed)
    }

    fn remove(&self, resource: &str, volume_number: i32) -> Result<DeleteAction, DevLinkError> {
        let link = self.link_path(resource, volume_number);
        let action = match fs::symlink_metadata(&link) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::remove_file(&link).map_err(io_err("remove", &link))?;
                DeleteAction::Deleted
            }
            // Not a link of ours (a directory or file someone put there): leave it.
            Ok(_) => DeleteAction::Absent,
            Err(e) if e.kind() == io::ErrorKind::NotFound => DeleteAction::Absent,
            Err(e) => return Err(io_err("stat", &link)(e)),
        };
        // Fails (and that is fine) while the resource has other volumes.
        let _ = fs::remove_dir(self.dir.join(resource));
        Ok(action)
    }

    fn list(&self) -> Result<Vec<DevLink>, DevLinkError> {
        let mut links = Vec::new();
        let rscs = match fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(links),
            Err(e) => return Err(io_err("read directory", &self.dir)(e)),
        };
        for rsc in rscs {
            let rsc = rsc.map_err(io_err("read directory", &self.dir))?;
            let Some(resource) = rsc.file_name().to_str().map(str::to_owned) else { continue };
            if !rsc.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            let rsc_dir = rsc.path();
            let Ok(entries) = fs::read_dir(&rsc_dir) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                let path = entry.path();
                if name.starts_with('.') && name.contains(".tmp-") {
                    let _ = fs::remove_file(&path);
                    continue;
                }
                let Ok(volume_number) = name.parse::<i32>() else { continue };
                let Ok(target) = fs::read_link(&path) else { continue };
                links.push(DevLink { resource: resource.clone(), volume_number, path, target });
            }
        }
        links.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_replaced_and_removed() {
        let dir = std::env::temp_dir().join(format!("strand-devlinks-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let links = FsDevLinks::new(&dir);
        let a = Path::new("/dev/loop1");
        let b = Path::new("/dev/loop2");
        assert_eq!(links.ensure("r1", 0, a).unwrap(), SetAction::Changed);
        assert_eq!(links.ensure("r1", 0, a).unwrap(), SetAction::Unchanged);
        assert_eq!(links.read("r1", 0).as_deref(), Some(a));
        assert_eq!(links.ensure("r1", 0, b).unwrap(), SetAction::Changed);
        assert_eq!(links.read("r1", 0).as_deref(), Some(b));
        assert_eq!(links.ensure("r1", 1, a).unwrap(), SetAction::Changed);
        std::os::unix::fs::symlink(a, dir.join("r1/.3.tmp-1")).unwrap();
        let listed = links.list().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!((listed[0].resource.as_str(), listed[0].volume_number), ("r1", 0));
        assert!(!dir.join("r1/.3.tmp-1").exists());
        assert_eq!(links.remove("r1", 0).unwrap(), DeleteAction::Deleted);
        assert!(dir.join("r1").exists(), "directory kept while volume 1 is linked");
        assert_eq!(links.remove("r1", 1).unwrap(), DeleteAction::Deleted);
        assert_eq!(links.remove("r1", 1).unwrap(), DeleteAction::Absent);
        assert!(!dir.join("r1").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
