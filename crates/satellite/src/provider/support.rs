//! Which provider kinds this node can serve, and an honest reason for each one it cannot.

use std::path::{Path, PathBuf};

/// A LINSTOR provider kind as the satellite understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderKind {
    Diskless,
    File,
    FileThin,
    /// Any other kind, upper-cased (`LVM`, `ZFS_THIN`, ...).
    Other(String),
}

impl ProviderKind {
    pub fn parse(s: &str) -> ProviderKind {
        match s.trim().to_ascii_uppercase().as_str() {
            "DISKLESS" => ProviderKind::Diskless,
            "FILE" => ProviderKind::File,
            "FILE_THIN" => ProviderKind::FileThin,
            other => ProviderKind::Other(other.to_string()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            ProviderKind::Diskless => "DISKLESS",
            ProviderKind::File => "FILE",
            ProviderKind::FileThin => "FILE_THIN",
            ProviderKind::Other(s) => s,
        }
    }
}

/// Provider kinds the satellite knows of but does not implement on any host.
const NOT_IMPLEMENTED: &[&str] =
    &["SPDK", "REMOTE_SPDK", "EBS_TARGET", "EBS_INIT", "STORAGE_SPACES", "STORAGE_SPACES_THIN"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSupport {
    pub supported: Vec<String>,
    pub unsupported: Vec<(String, String)>,
}

/// Where detection looks; overridable for tests.
#[derive(Debug, Clone)]
pub struct ProbePaths {
    pub loop_control: PathBuf,
    pub mapper_control: PathBuf,
    pub zfs_module: PathBuf,
}

impl Default for ProbePaths {
    fn default() -> Self {
        ProbePaths {
            loop_control: PathBuf::from("/dev/loop-control"),
            mapper_control: PathBuf::from("/dev/mapper/control"),
            zfs_module: PathBuf::from("/sys/module/zfs"),
        }
    }
}

impl ProviderSupport {
    pub fn detect() -> ProviderSupport {
        ProviderSupport::detect_at(&ProbePaths::default())
    }

    pub fn detect_at(paths: &ProbePaths) -> ProviderSupport {
        let exists = |p: &Path| p.exists();
        let mut supported = vec!["DISKLESS".to_string()];
        let mut unsupported = Vec::new();
        if exists(&paths.loop_control) {
            supported.push("FILE".into());
            supported.push("FILE_THIN".into());
        } else {
            let why = format!(
                "loop devices are not available: {} does not exist (load the loop kernel module)",
                paths.loop_control.display()
            );
            unsupported.push(("FILE".into(), why.clone()));
            unsupported.push(("FILE_THIN".into(), why));
        }
        let lvm_why = if exists(&paths.mapper_control) {
            "LVM pools are not implemented by this satellite yet".to_string()
        } else {
            format!("device-mapper is not available: {} does not exist", paths.mapper_control.display())
        };
        unsupported.push(("LVM".into(), lvm_why.clone()));
        unsupported.push(("LVM_THIN".into(), lvm_why));
        let zfs_why = if exists(&paths.zfs_module) {
            "ZFS pools are not implemented by this satellite yet".to_string()
        } else {
            "the zfs kernel module is not loaded".to_string()
        };
        unsupported.push(("ZFS".into(), zfs_why.clone()));
        unsupported.push(("ZFS_THIN".into(), zfs_why));
        for kind in NOT_IMPLEMENTED {
            unsupported.push((kind.to_string(), "not supported by Strand".to_string()));
        }
        ProviderSupport { supported, unsupported }
    }

    /// `Err(reason)` when `kind` cannot be served here.
    pub fn check(&self, kind: &ProviderKind) -> Result<(), String> {
        let name = kind.name();
        if self.supported.iter().any(|s| s == name) {
            return Ok(());
        }
        match self.unsupported.iter().find(|(k, _)| k == name) {
            Some((_, why)) => Err(format!("provider {name} is not available on this node: {why}")),
            None => Err(format!("unknown provider kind {name:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dir: &Path) -> ProbePaths {
        ProbePaths {
            loop_control: dir.join("loop-control"),
            mapper_control: dir.join("mapper-control"),
            zfs_module: dir.join("zfs"),
        }
    }

    #[test]
    fn nothing_present() {
        let dir = std::env::temp_dir().join(format!("strand-support-{}", std::process::id()));
        let s = ProviderSupport::detect_at(&paths(&dir));
        assert_eq!(s.supported, vec!["DISKLESS"]);
        assert!(s.check(&ProviderKind::File).unwrap_err().contains("loop devices are not available"));
        assert!(s.check(&ProviderKind::parse("lvm")).unwrap_err().contains("device-mapper"));
        assert!(s.check(&ProviderKind::parse("ZFS_THIN")).unwrap_err().contains("zfs kernel module"));
        assert!(s.check(&ProviderKind::parse("SPDK")).unwrap_err().contains("not supported"));
        assert!(s.check(&ProviderKind::parse("BOGUS")).unwrap_err().contains("unknown provider kind"));
        assert!(s.check(&ProviderKind::Diskless).is_ok());
    }

    #[test]
    fn everything_present() {
        let dir = std::env::temp_dir().join(format!("strand-support-all-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("zfs")).unwrap();
        std::fs::write(dir.join("loop-control"), b"").unwrap();
        std::fs::write(dir.join("mapper-control"), b"").unwrap();
        let s = ProviderSupport::detect_at(&paths(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(s.supported, vec!["DISKLESS", "FILE", "FILE_THIN"]);
        assert!(s.check(&ProviderKind::FileThin).is_ok());
        assert!(s.check(&ProviderKind::parse("LVM")).unwrap_err().contains("not implemented"));
        assert!(s.check(&ProviderKind::parse("ZFS")).unwrap_err().contains("not implemented"));
    }
}
