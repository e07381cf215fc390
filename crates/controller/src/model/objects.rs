//! The controller's own object structs. They are what the store persists (as JSON), kept apart
//! from the wire types so that the REST shape and the stored shape can change independently.

use linstor_api::{AutoSelectFilter, Props};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    /// Upper-case LINSTOR node type: SATELLITE, COMBINED, CONTROLLER, AUXILIARY, ...
    pub node_type: String,
    pub uuid: String,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub props: Props,
    #[serde(default)]
    pub net_interfaces: Vec<NetInterface>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetInterface {
    pub name: String,
    pub address: String,
    pub satellite_port: Option<u16>,
    /// PLAIN or SSL when the interface carries a satellite connection.
    pub satellite_encryption_type: Option<String>,
    pub is_active: bool,
    pub uuid: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoragePoolDefinition {
    pub name: String,
    pub uuid: String,
    #[serde(default)]
    pub props: Props,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoragePool {
    pub name: String,
    pub node_name: String,
    pub provider_kind: ProviderKind,
    pub uuid: String,
    #[serde(default)]
    pub props: Props,
}

/// LINSTOR's storage providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProviderKind {
    Diskless,
    Lvm,
    LvmThin,
    Zfs,
    ZfsThin,
    File,
    FileThin,
    Spdk,
    RemoteSpdk,
    EbsTarget,
    EbsInit,
    StorageSpaces,
    StorageSpacesThin,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 13] = [
        ProviderKind::Diskless,
        ProviderKind::Lvm,
        ProviderKind::LvmThin,
        ProviderKind::Zfs,
        ProviderKind::ZfsThin,
        ProviderKind::File,
        ProviderKind::FileThin,
        ProviderKind::Spdk,
        ProviderKind::RemoteSpdk,
        ProviderKind::EbsTarget,
        ProviderKind::EbsInit,
        ProviderKind::StorageSpaces,
        ProviderKind::StorageSpacesThin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Diskless => "DISKLESS",
            ProviderKind::Lvm => "LVM",
            ProviderKind::LvmThin => "LVM_THIN",
            ProviderKind::Zfs => "ZFS",
            ProviderKind::ZfsThin => "ZFS_THIN",
            ProviderKind::File => "FILE",
            ProviderKind::FileThin => "FILE_THIN",
            ProviderKind::Spdk => "SPDK",
            ProviderKind::RemoteSpdk => "REMOTE_SPDK",
            ProviderKind::EbsTarget => "EBS_TARGET",
            ProviderKind::EbsInit => "EBS_INIT",
            ProviderKind::StorageSpaces => "STORAGE_SPACES",
            ProviderKind::StorageSpacesThin => "STORAGE_SPACES_THIN",
        }
    }

    /// Parses a provider kind in any case.
    pub fn parse(text: &str) -> Option<ProviderKind> {
        ProviderKind::ALL.into_iter().find(|kind| kind.as_str().eq_ignore_ascii_case(text))
    }

    pub fn is_thin(self) -> bool {
        matches!(
            self,
            ProviderKind::Diskless
                | ProviderKind::LvmThin
                | ProviderKind::ZfsThin
                | ProviderKind::FileThin
                | ProviderKind::StorageSpacesThin
        )
    }

    /// Snapshot support by kind, as LINSTOR's provider table has it. FILE kinds additionally
    /// need reflink in their directory, which only the satellite can tell.
    pub fn supports_snapshots(self) -> bool {
        matches!(
            self,
            ProviderKind::LvmThin
                | ProviderKind::Zfs
                | ProviderKind::ZfsThin
                | ProviderKind::File
                | ProviderKind::FileThin
                | ProviderKind::Spdk
                | ProviderKind::RemoteSpdk
                | ProviderKind::EbsTarget
        )
    }

    /// Whether the pool has a backing pool name (`StorDriver/StorPoolName`).
    pub fn has_backing_pool(self) -> bool {
        !matches!(self, ProviderKind::Diskless | ProviderKind::EbsInit)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceGroup {
    pub name: String,
    pub uuid: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub props: Props,
    #[serde(default)]
    pub select_filter: AutoSelectFilter,
    #[serde(default)]
    pub peer_slots: Option<i32>,
    #[serde(default)]
    pub volume_groups: Vec<VolumeGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeGroup {
    pub volume_number: i32,
    pub uuid: String,
    #[serde(default)]
    pub props: Props,
    #[serde(default)]
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceDefinition {
    pub name: String,
    pub uuid: String,
    #[serde(default)]
    pub external_name: Option<String>,
    pub resource_group: String,
    #[serde(default)]
    pub props: Props,
    #[serde(default)]
    pub flags: Vec<String>,
    /// Layer stack asked for at create or modify; empty means "decided at placement".
    #[serde(default)]
    pub layer_stack: Vec<String>,
    #[serde(default)]
    pub drbd: DrbdResourceSettings,
    #[serde(default)]
    pub volume_definitions: Vec<VolumeDefinition>,
}

impl ResourceDefinition {
    pub fn volume_definition(&self, number: i32) -> Option<&VolumeDefinition> {
        self.volume_definitions.iter().find(|vd| vd.volume_number == number)
    }
}

/// DRBD settings of a resource definition, kept even where DRBD is not loaded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrbdResourceSettings {
    pub port: Option<i32>,
    pub secret: Option<String>,
    pub peer_slots: Option<i32>,
    pub transport_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeDefinition {
    pub volume_number: i32,
    pub size_kib: i64,
    pub minor_number: i32,
    pub uuid: String,
    #[serde(default)]
    pub props: Props,
    #[serde(default)]
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyValueStore {
    pub name: String,
    #[serde(default)]
    pub props: Props,
}

/// One replica of a resource definition on one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    pub node_name: String,
    pub uuid: String,
    #[serde(default)]
    pub props: Props,
    /// LINSTOR resource flags (`DISKLESS`, `DELETE`, ...); empty for a diskful replica.
    #[serde(default)]
    pub flags: Vec<String>,
    /// The layers this replica is made of, top first (e.g. `["STORAGE"]`).
    pub layer_stack: Vec<String>,
    /// Milliseconds since the epoch.
    pub create_timestamp: i64,
    /// The storage pool of each volume, by volume number.
    #[serde(default)]
    pub volumes: Vec<ResourceVolume>,
}

impl Resource {
    pub fn is_diskless(&self) -> bool {
        self.flags.iter().any(|f| f == "DISKLESS")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceVolume {
    pub volume_number: i32,
    pub storage_pool: String,
    pub uuid: String,
    #[serde(default)]
    pub props: Props,
    /// Where a volume that is being restored or cloned gets its data; cleared once the
    /// satellite has made it, so that a lost volume is never silently made again from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<VolumeSource>,
}

/// The data a new volume starts with (same node, same volume number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum VolumeSource {
    /// A snapshot of another (or the same) resource definition.
    Snapshot { resource: String, snapshot: String },
    /// The live volume of another resource definition (clone).
    Volume { resource: String },
}

/// A snapshot definition: one named snapshot of every volume of a resource definition, on the
/// nodes that hold it. Stored as one object with its per-node snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDefinition {
    /// The resource definition (display name).
    pub resource: String,
    pub name: String,
    pub uuid: String,
    #[serde(default)]
    pub props: Props,
    /// `SUCCESSFUL` once every node took it.
    #[serde(default)]
    pub flags: Vec<String>,
    /// The resource definition's props when the snapshot was taken.
    #[serde(default)]
    pub rd_props: Props,
    #[serde(default)]
    pub volume_definitions: Vec<SnapshotVolumeDefinition>,
    #[serde(default)]
    pub snapshots: Vec<NodeSnapshot>,
}

impl SnapshotDefinition {
    pub fn is_successful(&self) -> bool {
        self.flags.iter().any(|f| f == SNAPSHOT_SUCCESSFUL)
    }
    pub fn on_node(&self, node: &str) -> Option<&NodeSnapshot> {
        self.snapshots.iter().find(|s| s.node_name.eq_ignore_ascii_case(node))
    }
    pub fn volume_definition(&self, number: i32) -> Option<&SnapshotVolumeDefinition> {
        self.volume_definitions.iter().find(|vd| vd.volume_number == number)
    }
}

/// The flag of a snapshot definition that every node took.
pub const SNAPSHOT_SUCCESSFUL: &str = "SUCCESSFUL";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotVolumeDefinition {
    pub volume_number: i32,
    pub size_kib: i64,
    /// The volume definition's props when the snapshot was taken.
    #[serde(default)]
    pub vd_props: Props,
}

/// The snapshot on one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSnapshot {
    pub node_name: String,
    pub uuid: String,
    /// Milliseconds since the epoch.
    pub create_timestamp: i64,
    #[serde(default)]
    pub flags: Vec<String>,
    /// The resource's props and layers when the snapshot was taken.
    #[serde(default)]
    pub resource_props: Props,
    #[serde(default)]
    pub layer_stack: Vec<String>,
    #[serde(default)]
    pub volumes: Vec<SnapshotVolume>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotVolume {
    pub volume_number: i32,
    /// The pool the snapshot's data lives in (the volume's pool).
    pub storage_pool: String,
    pub uuid: String,
}
