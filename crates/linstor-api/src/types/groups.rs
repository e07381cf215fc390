use super::Props;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Placement rules of a resource group, a spawn or an autoplace request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutoSelectFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_place_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_name_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_pool: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_pool_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_pool_diskless_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_place_with_rsc: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_place_with_rsc_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas_on_same: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas_on_different: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub x_replicas_on_different_map: BTreeMap<String, i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_stack: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provider_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diskless_on_remaining: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diskless_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overprovision: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_count: Option<i32>,
}

impl AutoSelectFilter {
    /// Lays `over` on top of `self`: every field `over` sets wins (how LINSTOR merges a spawn's or
    /// a modify's filter over the group's).
    pub fn merged_with(&self, over: &AutoSelectFilter) -> AutoSelectFilter {
        fn pick<T: Clone>(base: &Option<T>, over: &Option<T>) -> Option<T> {
            over.clone().or_else(|| base.clone())
        }
        fn pick_list<T: Clone>(base: &[T], over: &[T]) -> Vec<T> {
            if over.is_empty() {
                base.to_vec()
            } else {
                over.to_vec()
            }
        }
        AutoSelectFilter {
            place_count: pick(&self.place_count, &over.place_count),
            additional_place_count: pick(&self.additional_place_count, &over.additional_place_count),
            node_name_list: pick_list(&self.node_name_list, &over.node_name_list),
            storage_pool: pick(&self.storage_pool, &over.storage_pool),
            storage_pool_list: pick_list(&self.storage_pool_list, &over.storage_pool_list),
            storage_pool_diskless_list: pick_list(
                &self.storage_pool_diskless_list,
                &over.storage_pool_diskless_list,
            ),
            not_place_with_rsc: pick_list(&self.not_place_with_rsc, &over.not_place_with_rsc),
            not_place_with_rsc_regex: pick(&self.not_place_with_rsc_regex, &over.not_place_with_rsc_regex),
            replicas_on_same: pick_list(&self.replicas_on_same, &over.replicas_on_same),
            replicas_on_different: pick_list(&self.replicas_on_different, &over.replicas_on_different),
            x_replicas_on_different_map: if over.x_replicas_on_different_map.is_empty() {
                self.x_replicas_on_different_map.clone()
            } else {
                over.x_replicas_on_different_map.clone()
            },
            layer_stack: pick_list(&self.layer_stack, &over.layer_stack),
            provider_list: pick_list(&self.provider_list, &over.provider_list),
            diskless_on_remaining: pick(&self.diskless_on_remaining, &over.diskless_on_remaining),
            diskless_type: pick(&self.diskless_type, &over.diskless_type),
            overprovision: pick(&self.overprovision, &over.overprovision),
            port_count: pick(&self.port_count, &over.port_count),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceGroup {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_filter: Option<AutoSelectFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_slots: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceGroupModify {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub override_props: Props,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_props: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_namespaces: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_filter: Option<AutoSelectFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_slots: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snap_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_all_snaps: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceGroupSpawn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_definition_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_definition_external_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_sizes: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_filter: Option<AutoSelectFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definitions_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_slots: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_passphrases: Vec<String>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub resource_definition_props: Props,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceGroupAdjust {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_filter: Option<AutoSelectFilter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snap_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_all_snaps: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_number: Option<i32>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeGroupModify {
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub override_props: Props,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_props: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_namespaces: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutoPlaceRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diskless_on_remaining: Option<bool>,
    #[serde(default)]
    pub select_filter: AutoSelectFilter,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snap_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_all_snaps: Option<bool>,
}
