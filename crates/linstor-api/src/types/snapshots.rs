use super::Props;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub snapshot_definition_props: Props,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub resource_definition_props: Props,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_definitions: Vec<SnapshotVolumeDefinition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<SnapshotNode>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotVolumeDefinition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_number: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_kib: Option<i64>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub snapshot_volume_definition_props: Props,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub volume_definition_props: Props,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotNode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub snapshot_props: Props,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub resource_props: Props,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshot_volumes: Vec<SnapshotVolumeNode>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotVolumeNode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlm_nr: Option<i32>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub snapshot_volume_props: Props,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub volume_props: Props,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateMultiSnapshotRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<Snapshot>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRestore {
    #[serde(default)]
    pub to_resource: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stor_pool_rename: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRollback {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zfs_rollback_strategy: Option<String>,
}
