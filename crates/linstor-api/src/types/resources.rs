use super::Props;
use crate::rc::{ApiCallRc, ApiCallRcList};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceDefinition {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_name: Option<String>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_data: Vec<ResourceDefinitionLayer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_definitions: Vec<VolumeDefinition>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceDefinitionLayer {
    #[serde(rename = "type", default)]
    pub layer_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DrbdResourceDefinitionLayer>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrbdResourceDefinitionLayer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name_suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_slots: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub al_stripes: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub al_stripe_size_kib: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceDefinitionCreate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_peer_slots: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_transport_type: Option<String>,
    #[serde(default)]
    pub resource_definition: ResourceDefinition,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceDefinitionModify {
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub override_props: Props,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_props: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_namespaces: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_peer_slots: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_stack: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeDefinition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_number: Option<i32>,
    #[serde(default)]
    pub size_kib: i64,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_data: Vec<VolumeDefinitionLayer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeDefinitionLayer {
    #[serde(rename = "type", default)]
    pub layer_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DrbdVolumeDefinition>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrbdVolumeDefinition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name_suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_number: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor_number: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeDefinitionCreate {
    #[serde(default)]
    pub volume_definition: VolumeDefinition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_minor_number: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeDefinitionModify {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_kib: Option<i64>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub override_props: Props,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_props: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_namespaces: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub node_name: String,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub effective_props: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_object: Option<ResourceLayer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ResourceState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_timestamp: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceWithVolumes {
    #[serde(flatten)]
    pub resource: Resource,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_use: Option<bool>,
}

/// One layer of a resource's layer tree. Layers other than DRBD and STORAGE are kept as raw JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceLayer {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ResourceLayer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name_suffix: Option<String>,
    #[serde(rename = "type", default)]
    pub layer_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd: Option<DrbdResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub luks: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvme: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writecache: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bcache: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrbdResource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_resource_definition: Option<DrbdResourceDefinitionLayer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_ports: Vec<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_slots: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub al_stripes: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub al_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drbd_volumes: Vec<DrbdVolume>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub connections: BTreeMap<String, DrbdConnection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_score: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub may_promote: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrbdVolume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_volume_definition: Option<DrbdVolumeDefinition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backing_device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_disk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_size_kib: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usable_size_kib: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_meta_stor_pool: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrbdConnection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageResource {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_volumes: Vec<StorageVolume>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageVolume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_number: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_size_kib: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usable_size_kib: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_number: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_pool_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_size_kib: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usable_size_kib: Option<i64>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<VolumeState>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_data_list: Vec<VolumeLayer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<ApiCallRc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_state: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replication_states: BTreeMap<String, ReplicationState>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicationState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_percentage: Option<f64>,
}

/// One layer's view of a volume; `data` depends on `type` and is kept as raw JSON so that
/// layer types unknown to Strand still decode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeLayer {
    #[serde(rename = "type", default)]
    pub layer_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceCreate {
    #[serde(default)]
    pub resource: Resource,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_node_id: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_tcp_port_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drbd_tcp_ports: Vec<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snap_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_all_snaps: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_client: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceMakeAvailable {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diskful: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drbd_tcp_ports: Vec<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snap_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_all_snaps: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceModify {
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub override_props: Props,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_props: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_namespaces: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_tiebreaker: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drbd_client: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceDefinitionCloneRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_zfs_clone: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_passphrases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub override_props: Props,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_props: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_namespaces: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceDefinitionCloneStarted {
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub source_name: String,
    #[serde(default)]
    pub clone_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: ApiCallRcList,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDefinitionCloneStatus {
    #[serde(default)]
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDefinitionSyncStatus {
    #[serde(default)]
    pub synced_on_all: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToggleDiskRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate_from: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_list: Vec<String>,
}
