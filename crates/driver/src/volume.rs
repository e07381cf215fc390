//! Volumes as Incus sees them: type, content type, project and name; and how they are named on
//! LINSTOR (the `Aux/Incus/*` properties of their resource definition).

use crate::config::Config;
use std::fmt;

/// `Aux/Incus/name`: the volume's prefix + storage name.
pub const AUX_NAME: &str = "Aux/Incus/name";
/// `Aux/Incus/type`: `containers`, `virtual-machines`, `images` or `custom`.
pub const AUX_TYPE: &str = "Aux/Incus/type";
/// `Aux/Incus/content-type`: `filesystem`, `block` or `iso`.
pub const AUX_CONTENT_TYPE: &str = "Aux/Incus/content-type";
/// `Aux/Incus/snapshot-name/<snapshot>`: the LINSTOR name of a snapshot, on its parent's
/// resource definition (the spelling Incus's code uses, not its documentation's).
pub const AUX_SNAPSHOT_NAME_PREFIX: &str = "Aux/Incus/snapshot-name/";
/// The namespace of the driver's own metadata; `linstor.raw.*` may not touch it.
pub const AUX_NAMESPACE: &str = "Aux/Incus/";

/// The project every image volume and unprefixed instance volume belongs to.
pub const DEFAULT_PROJECT: &str = "default";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VolumeType {
    Container,
    VirtualMachine,
    Image,
    Custom,
}

impl VolumeType {
    pub const ALL: [VolumeType; 4] =
        [VolumeType::Container, VolumeType::VirtualMachine, VolumeType::Image, VolumeType::Custom];

    /// The value of `Aux/Incus/type` and the name of the type's directory under the pool.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeType::Container => "containers",
            VolumeType::VirtualMachine => "virtual-machines",
            VolumeType::Image => "images",
            VolumeType::Custom => "custom",
        }
    }

    /// Parses `Aux/Incus/type` values (and Incus's singular API names).
    pub fn parse(text: &str) -> Option<VolumeType> {
        match text {
            "containers" | "container" => Some(VolumeType::Container),
            "virtual-machines" | "virtual-machine" => Some(VolumeType::VirtualMachine),
            "images" | "image" => Some(VolumeType::Image),
            "custom" => Some(VolumeType::Custom),
            _ => None,
        }
    }

    /// Containers and virtual machines (their size comes from the instance's root disk, not
    /// from the pool's `volume.size`).
    pub fn is_instance(self) -> bool {
        matches!(self, VolumeType::Container | VolumeType::VirtualMachine)
    }
}

impl fmt::Display for VolumeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentType {
    Filesystem,
    Block,
    Iso,
}

impl ContentType {
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Filesystem => "filesystem",
            ContentType::Block => "block",
            ContentType::Iso => "iso",
        }
    }

    pub fn parse(text: &str) -> Option<ContentType> {
        match text {
            "filesystem" => Some(ContentType::Filesystem),
            "block" => Some(ContentType::Block),
            "iso" => Some(ContentType::Iso),
            _ => None,
        }
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a volume is: its type, project and name. Two volumes with the same identity are the same
/// volume whatever their content type (Incus keeps one name per type and project).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VolumeId {
    pub vol_type: VolumeType,
    /// The Incus project. Image volumes always belong to [`DEFAULT_PROJECT`].
    pub project: String,
    /// The volume's name: the instance or custom volume name, or the image fingerprint.
    pub name: String,
}

impl VolumeId {
    pub fn new(vol_type: VolumeType, project: impl Into<String>, name: impl Into<String>) -> VolumeId {
        VolumeId { vol_type, project: project.into(), name: name.into() }
    }

    pub fn custom(project: impl Into<String>, name: impl Into<String>) -> VolumeId {
        VolumeId::new(VolumeType::Custom, project, name)
    }

    pub fn container(project: impl Into<String>, name: impl Into<String>) -> VolumeId {
        VolumeId::new(VolumeType::Container, project, name)
    }

    pub fn virtual_machine(project: impl Into<String>, name: impl Into<String>) -> VolumeId {
        VolumeId::new(VolumeType::VirtualMachine, project, name)
    }

    pub fn image(fingerprint: impl Into<String>) -> VolumeId {
        VolumeId::new(VolumeType::Image, DEFAULT_PROJECT, fingerprint)
    }

    /// The name Incus's storage layer uses (what follows the prefix in `Aux/Incus/name`):
    /// custom volumes `<project>_<name>` always; instances `<name>` in the default project and
    /// `<project>_<name>` elsewhere; images their fingerprint.
    pub fn storage_name(&self) -> String {
        match self.vol_type {
            VolumeType::Custom => format!("{}_{}", self.project, self.name),
            VolumeType::Container | VolumeType::VirtualMachine if self.project != DEFAULT_PROJECT => {
                format!("{}_{}", self.project, self.name)
            }
            _ => self.name.clone(),
        }
    }

    /// The identity back from a storage name (inverse of [`VolumeId::storage_name`]; project
    /// names cannot contain `_`). `None` for names that cannot be a volume's: empty parts, a `/`
    /// (temporary snapshot mounts) or a custom volume without a project.
    pub fn from_storage_name(vol_type: VolumeType, storage_name: &str) -> Option<VolumeId> {
        if storage_name.is_empty() || storage_name.contains('/') {
            return None;
        }
        let split = storage_name.split_once('_').filter(|(p, n)| !p.is_empty() && !n.is_empty());
        match vol_type {
            VolumeType::Custom => split.map(|(project, name)| VolumeId::custom(project, name)),
            VolumeType::Image => Some(VolumeId::image(storage_name)),
            VolumeType::Container | VolumeType::VirtualMachine => Some(match split {
                Some((project, name)) => VolumeId::new(vol_type, project, name),
                None => VolumeId::new(vol_type, DEFAULT_PROJECT, storage_name),
            }),
        }
    }

    /// Checks the parts can be named on LINSTOR and found back.
    pub fn check(&self) -> Result<(), String> {
        let bad = |what: &str, value: &str, why: &str| Err(format!("invalid {what} \"{value}\": {why}"));
        if self.name.is_empty() {
            return bad("volume name", &self.name, "it is empty");
        }
        if self.name.contains('/') || self.name.chars().any(char::is_control) {
            return bad("volume name", &self.name, "it may not contain '/' or control characters");
        }
        if self.project.is_empty() {
            return bad("project name", &self.project, "it is empty");
        }
        if self.project.contains('_')
            || self.project.contains('/')
            || self.project.chars().any(char::is_control)
        {
            return bad("project name", &self.project, "it may not contain '_', '/' or control characters");
        }
        if self.vol_type == VolumeType::Image && self.project != DEFAULT_PROJECT {
            return bad("project name", &self.project, "image volumes belong to the default project");
        }
        Ok(())
    }
}

impl fmt::Display for VolumeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let singular = match self.vol_type {
            VolumeType::Container => "container",
            VolumeType::VirtualMachine => "virtual-machine",
            VolumeType::Image => "image",
            VolumeType::Custom => "custom",
        };
        if self.project == DEFAULT_PROJECT {
            write!(f, "{singular} volume \"{}\"", self.name)
        } else {
            write!(f, "{singular} volume \"{}\" of project \"{}\"", self.name, self.project)
        }
    }
}

/// A volume: identity, content type and its config (already filled with the pool's
/// `volume.*` defaults by [`crate::Pool::fill_volume_config`]).
///
/// A virtual machine is one volume of content [`ContentType::Block`] (its disk, LINSTOR volume
/// 0) with a companion filesystem for its config (LINSTOR volume 1 of the same resource
/// definition), reached with [`Volume::config_filesystem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub id: VolumeId,
    pub content_type: ContentType,
    pub config: Config,
}

impl Volume {
    pub fn new(id: VolumeId, content_type: ContentType) -> Volume {
        Volume { id, content_type, config: Config::new() }
    }

    pub fn with_config(mut self, key: &str, value: &str) -> Volume {
        self.config.insert(key.to_string(), value.to_string());
        self
    }

    pub fn vol_type(&self) -> VolumeType {
        self.id.vol_type
    }

    /// A VM's (or VM image's) disk: a block volume with a config filesystem next to it.
    /// Container images hold a filesystem, so every block image is a VM image.
    pub fn is_vm_block(&self) -> bool {
        matches!(self.id.vol_type, VolumeType::VirtualMachine | VolumeType::Image)
            && self.content_type == ContentType::Block
    }

    /// The config filesystem of a VM block volume (the same volume, content filesystem).
    pub fn config_filesystem(&self) -> Volume {
        Volume { id: self.id.clone(), content_type: ContentType::Filesystem, config: self.config.clone() }
    }

    /// True when the volume holds a filesystem the driver makes and mounts.
    pub fn has_filesystem(&self) -> bool {
        self.content_type == ContentType::Filesystem
    }
}

/// Which LINSTOR volume of a resource definition holds `content` of a volume of `vol_type`:
/// volume 1 only for the filesystem of a VM (or VM image) whose definition has two volumes,
/// volume 0 otherwise. Every operation (device path, size, resize, usage) uses this one rule.
pub fn volume_number(vol_type: VolumeType, content: ContentType, volume_count: usize) -> i32 {
    let two_volume_kind = matches!(vol_type, VolumeType::VirtualMachine | VolumeType::Image);
    if volume_count == 2 && two_volume_kind && content == ContentType::Filesystem {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names_follow_incus() {
        assert_eq!(VolumeId::custom("default", "vol").storage_name(), "default_vol");
        assert_eq!(VolumeId::custom("p", "vol_x").storage_name(), "p_vol_x");
        assert_eq!(VolumeId::container("default", "c1").storage_name(), "c1");
        assert_eq!(VolumeId::container("p", "c1").storage_name(), "p_c1");
        assert_eq!(VolumeId::virtual_machine("default", "v1").storage_name(), "v1");
        assert_eq!(VolumeId::image("abc123").storage_name(), "abc123");
    }

    #[test]
    fn storage_names_parse_back() {
        for id in [
            VolumeId::custom("default", "vol"),
            VolumeId::custom("p", "vol_with_underscores"),
            VolumeId::container("default", "c1"),
            VolumeId::container("p", "c1"),
            VolumeId::virtual_machine("proj-2", "v1"),
            VolumeId::image("d21a26af7d5a95c3aa6e923257a1cb5cd765b102796b92ab111fb29ebfb86137"),
        ] {
            assert_eq!(VolumeId::from_storage_name(id.vol_type, &id.storage_name()), Some(id.clone()));
        }
        assert_eq!(VolumeId::from_storage_name(VolumeType::Custom, "novolume"), None);
        assert_eq!(VolumeId::from_storage_name(VolumeType::Custom, "_x"), None);
        assert_eq!(VolumeId::from_storage_name(VolumeType::Container, "c1/snap0"), None);
        assert_eq!(VolumeId::from_storage_name(VolumeType::Image, ""), None);
    }

    #[test]
    fn identity_checks() {
        assert!(VolumeId::custom("default", "vol").check().is_ok());
        assert!(VolumeId::custom("my_project", "vol").check().is_err());
        assert!(VolumeId::custom("default", "a/b").check().is_err());
        assert!(VolumeId::custom("default", "").check().is_err());
        assert!(VolumeId::new(VolumeType::Image, "p", "abc").check().is_err());
    }

    #[test]
    fn volume_numbers() {
        use ContentType::*;
        use VolumeType::*;
        assert_eq!(volume_number(VirtualMachine, Block, 2), 0);
        assert_eq!(volume_number(VirtualMachine, Filesystem, 2), 1);
        assert_eq!(volume_number(Image, Filesystem, 2), 1);
        assert_eq!(volume_number(Image, Filesystem, 1), 0);
        assert_eq!(volume_number(Container, Filesystem, 2), 0);
        assert_eq!(volume_number(Custom, Filesystem, 1), 0);
    }

    #[test]
    fn vm_block_and_its_config_filesystem() {
        let vm = Volume::new(VolumeId::virtual_machine("default", "v1"), ContentType::Block);
        assert!(vm.is_vm_block());
        let fs = vm.config_filesystem();
        assert_eq!(fs.content_type, ContentType::Filesystem);
        assert!(!fs.is_vm_block());
        let custom = Volume::new(VolumeId::custom("default", "b"), ContentType::Block);
        assert!(!custom.is_vm_block());
        assert!(Volume::new(VolumeId::image("f"), ContentType::Block).is_vm_block());
        assert!(!Volume::new(VolumeId::image("f"), ContentType::Filesystem).is_vm_block());
    }
}
