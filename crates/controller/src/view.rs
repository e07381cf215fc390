//! The REST shapes of the controller's objects.

use crate::model::{self, State};
use crate::Controller;
use linstor_api as api;
use std::collections::BTreeMap;

fn non_empty(text: &Option<String>) -> Option<String> {
    text.clone().filter(|t| !t.is_empty())
}

impl Controller {
    pub fn node_view(&self, node: &model::Node) -> api::Node {
        let online = self.is_online(&api::names::NameKey::new(&node.name));
        api::Node {
            name: node.name.clone(),
            node_type: node.node_type.clone(),
            flags: node.flags.clone(),
            props: node.props.clone(),
            net_interfaces: node.net_interfaces.iter().map(net_interface_view).collect(),
            connection_status: Some(if online { "ONLINE" } else { "OFFLINE" }.to_string()),
            uuid: Some(node.uuid.clone()),
            ..Default::default()
        }
    }
}

pub fn net_interface_view(netif: &model::NetInterface) -> api::NetInterface {
    api::NetInterface {
        name: netif.name.clone(),
        address: netif.address.clone(),
        satellite_port: netif.satellite_port.map(i32::from),
        satellite_encryption_type: netif.satellite_encryption_type.clone(),
        is_active: Some(netif.is_active),
        uuid: Some(netif.uuid.clone()),
    }
}

pub fn storage_pool_definition_view(
    spd: &model::StoragePoolDefinition,
) -> api::StoragePoolDefinition {
    api::StoragePoolDefinition {
        storage_pool_name: spd.name.clone(),
        props: spd.props.clone(),
    }
}

pub fn storage_pool_view(pool: &model::StoragePool) -> api::StoragePool {
    let kind = pool.provider_kind;
    let mut traits = BTreeMap::new();
    traits.insert(
        "Provisioning".to_string(),
        if kind.is_thin() { "Thin" } else { "Fat" }.to_string(),
    );
    traits.insert(
        "SupportsSnapshots".to_string(),
        kind.supports_snapshots().to_string(),
    );
    api::StoragePool {
        storage_pool_name: pool.name.clone(),
        node_name: Some(pool.node_name.clone()),
        provider_kind: kind.as_str().to_string(),
        props: pool.props.clone(),
        static_traits: traits,
        free_space_mgr_name: Some(format!("{};{}", pool.node_name, pool.name)),
        uuid: Some(pool.uuid.clone()),
        supports_snapshots: Some(kind.supports_snapshots()),
        external_locking: Some(false),
        ..Default::default()
    }
}

pub fn resource_group_view(group: &model::ResourceGroup) -> api::ResourceGroup {
    api::ResourceGroup {
        name: group.name.clone(),
        description: non_empty(&group.description),
        props: group.props.clone(),
        select_filter: Some(group.select_filter.clone()),
        uuid: Some(group.uuid.clone()),
        peer_slots: group.peer_slots,
    }
}

pub fn volume_group_view(vg: &model::VolumeGroup) -> api::VolumeGroup {
    api::VolumeGroup {
        volume_number: Some(vg.volume_number),
        props: vg.props.clone(),
        uuid: Some(vg.uuid.clone()),
        flags: vg.flags.clone(),
    }
}

fn uses_drbd(rd: &model::ResourceDefinition) -> bool {
    rd.layer_stack.is_empty() || rd.layer_stack.iter().any(|l| l == "DRBD")
}

pub fn resource_definition_view(
    rd: &model::ResourceDefinition,
    with_volumes: bool,
) -> api::ResourceDefinition {
    let layer_data = rd
        .layer_stack
        .iter()
        .map(|layer| api::ResourceDefinitionLayer {
            layer_type: layer.clone(),
            data: (layer == "DRBD").then(|| api::DrbdResourceDefinitionLayer {
                peer_slots: rd.drbd.peer_slots,
                port: rd.drbd.port,
                transport_type: rd.drbd.transport_type.clone(),
                secret: rd.drbd.secret.clone(),
                ..Default::default()
            }),
        })
        .collect();
    api::ResourceDefinition {
        name: rd.name.clone(),
        external_name: non_empty(&rd.external_name),
        props: rd.props.clone(),
        flags: rd.flags.clone(),
        layer_data,
        uuid: Some(rd.uuid.clone()),
        resource_group_name: Some(rd.resource_group.clone()),
        volume_definitions: if with_volumes {
            rd.volume_definitions
                .iter()
                .map(|vd| volume_definition_view(rd, vd))
                .collect()
        } else {
            Vec::new()
        },
    }
}

pub fn volume_definition_view(
    rd: &model::ResourceDefinition,
    vd: &model::VolumeDefinition,
) -> api::VolumeDefinition {
    let mut layer_data = Vec::new();
    if uses_drbd(rd) {
        layer_data.push(api::VolumeDefinitionLayer {
            layer_type: "DRBD".to_string(),
            data: Some(api::DrbdVolumeDefinition {
                resource_name_suffix: None,
                volume_number: Some(vd.volume_number),
                minor_number: Some(vd.minor_number),
            }),
        });
    }
    layer_data.push(api::VolumeDefinitionLayer {
        layer_type: "STORAGE".to_string(),
        data: None,
    });
    api::VolumeDefinition {
        volume_number: Some(vd.volume_number),
        size_kib: vd.size_kib,
        props: vd.props.clone(),
        flags: vd.flags.clone(),
        layer_data,
        uuid: Some(vd.uuid.clone()),
    }
}

pub fn key_value_store_view(kvs: &model::KeyValueStore) -> api::KeyValueStore {
    api::KeyValueStore {
        name: kvs.name.clone(),
        props: kvs.props.clone(),
    }
}

/// Objects counted by `/v1/stats/*`.
pub fn count(state: &State, what: &str) -> Option<i64> {
    let n = match what {
        "nodes" => state.nodes.len(),
        "resource-definitions" => state.resource_definitions.len(),
        "resource-groups" => state.resource_groups.len(),
        "storage-pools" => state.storage_pools.len(),
        "resources" => 0,
        "error-reports" => 0,
        _ => return None,
    };
    Some(n as i64)
}
