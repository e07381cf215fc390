use super::Props;
use crate::rc::ApiCallRc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoragePoolDefinition {
    #[serde(default)]
    pub storage_pool_name: String,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoragePool {
    #[serde(default)]
    pub storage_pool_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    #[serde(default)]
    pub provider_kind: String,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub static_traits: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_capacity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_capacity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_space_mgr_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<ApiCallRc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_snapshots: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_space: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_locking: Option<bool>,
}

/// One storage pool that could hold a volume, for `query-max-volume-size`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_volume_size_kib: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_thin: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MaxVolumeSizes {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Candidate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_max_oversubscription_ratio: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuerySizeInfoRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_filter: Option<crate::AutoSelectFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_cache_older_than_sec: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuerySizeInfoResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_info: Option<QuerySizeInfoSpaceInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<ApiCallRc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuerySizeInfoSpaceInfo {
    #[serde(default)]
    pub max_vlm_size_in_kib: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_size_in_kib: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_in_kib: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_max_oversubscription_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_oversubscription_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_free_capacity_oversubscription_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_total_capacity_oversubscription_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_spawn_result: Vec<QuerySizeInfoSpawnResult>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuerySizeInfoSpawnResult {
    #[serde(default)]
    pub node_name: String,
    #[serde(default)]
    pub stor_pool_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stor_pool_oversubscription_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stor_pool_free_capacity_oversubscription_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stor_pool_total_capacity_oversubscription_ratio: Option<f64>,
}
