//! The REST shapes of the controller's objects.

use crate::model::{self, State};
use crate::Controller;
use linstor_api as api;
use std::collections::BTreeMap;
use std::sync::Arc;

fn non_empty(text: &Option<String>) -> Option<String> {
    text.clone().filter(|t| !t.is_empty())
}

impl Controller {
    pub fn node_view(&self, node: &model::Node) -> api::Node {
        let key = api::names::NameKey::new(&node.name);
        let online = self.is_online(&key);
        let status = if online { "ONLINE" } else { self.connections.status(&key) };
        // What the satellite can serve, as it reported on its current connection.
        let observed = self.satellites.observed(&key);
        let reasons = |pairs: &[(String, String)]| {
            let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (kind, why) in pairs {
                map.entry(kind.clone()).or_default().push(why.clone());
            }
            map
        };
        api::Node {
            name: node.name.clone(),
            node_type: node.node_type.clone(),
            flags: node.flags.clone(),
            props: node.props.clone(),
            net_interfaces: node.net_interfaces.iter().map(net_interface_view).collect(),
            connection_status: Some(status.to_string()),
            uuid: Some(node.uuid.clone()),
            storage_providers: observed.as_ref().map(|o| o.providers.clone()).unwrap_or_default(),
            resource_layers: observed.as_ref().map(|o| o.layers.clone()).unwrap_or_default(),
            unsupported_providers: observed
                .as_ref()
                .map(|o| reasons(&o.unsupported_providers))
                .unwrap_or_default(),
            unsupported_layers: observed.as_ref().map(|o| reasons(&o.unsupported_layers)).unwrap_or_default(),
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

pub fn storage_pool_definition_view(spd: &model::StoragePoolDefinition) -> api::StoragePoolDefinition {
    api::StoragePoolDefinition { storage_pool_name: spd.name.clone(), props: spd.props.clone() }
}

impl Controller {
    /// A storage pool with the capacity and snapshot support its satellite last reported.
    pub fn storage_pool_view(&self, pool: &model::StoragePool) -> api::StoragePool {
        let observed = self.satellites.observed(&api::names::NameKey::new(&pool.node_name));
        let report = observed
            .as_ref()
            .and_then(|o| o.storage_pools.iter().find(|p| p.name.eq_ignore_ascii_case(&pool.name)));
        storage_pool_view(pool, report)
    }
}

pub fn storage_pool_view(
    pool: &model::StoragePool,
    report: Option<&crate::link::PoolReport>,
) -> api::StoragePool {
    let kind = pool.provider_kind;
    let supports_snapshots = match (kind, report) {
        (model::ProviderKind::File | model::ProviderKind::FileThin, Some(report)) => {
            report.supports_snapshots
        }
        _ => kind.supports_snapshots(),
    };
    let mut traits = BTreeMap::new();
    traits.insert("Provisioning".to_string(), if kind.is_thin() { "Thin" } else { "Fat" }.to_string());
    traits.insert("SupportsSnapshots".to_string(), supports_snapshots.to_string());
    let reports = report
        .and_then(|r| r.error.clone())
        .map(|e| {
            vec![api::ApiCallRc::new(
                linstor_api::consts::WARN_STORAGE_ERROR | linstor_api::consts::MASK_STOR_POOL,
                e,
            )]
        })
        .unwrap_or_default();
    let capacity = report.filter(|r| r.error.is_none() && kind != model::ProviderKind::Diskless);
    api::StoragePool {
        storage_pool_name: pool.name.clone(),
        node_name: Some(pool.node_name.clone()),
        provider_kind: kind.as_str().to_string(),
        props: pool.props.clone(),
        static_traits: traits,
        free_capacity: capacity.map(|r| r.free_capacity_kib),
        total_capacity: capacity.map(|r| r.total_capacity_kib),
        free_space_mgr_name: Some(format!("{};{}", pool.node_name, pool.name)),
        uuid: Some(pool.uuid.clone()),
        reports,
        supports_snapshots: Some(supports_snapshots),
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

/// The layers a resource definition is known to use: asked for on it, else those of its first
/// replica (LINSTOR shows the layers in use), else none yet.
pub fn known_layers(state: &State, rd: &model::ResourceDefinition) -> Vec<String> {
    if !rd.layer_stack.is_empty() {
        return rd.layer_stack.clone();
    }
    let key = api::names::NameKey::new(&rd.name);
    let first = state.resources_of(&key).next().map(|r| r.layer_stack.clone());
    first.unwrap_or_default()
}

/// A resource definition with its known layers.
pub fn resource_definition_view(
    state: &State,
    rd: &model::ResourceDefinition,
    with_volumes: bool,
) -> api::ResourceDefinition {
    let stack = known_layers(state, rd);
    let layer_data = stack
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
            rd.volume_definitions.iter().map(|vd| volume_definition_view(&stack, vd)).collect()
        } else {
            Vec::new()
        },
    }
}

/// A volume definition; its DRBD layer data (with the minor number) is shown unless the
/// resource definition is known to use no DRBD.
pub fn volume_definition_view(layers: &[String], vd: &model::VolumeDefinition) -> api::VolumeDefinition {
    let mut layer_data = Vec::new();
    if layers.is_empty() || layers.iter().any(|l| l == "DRBD") {
        layer_data.push(api::VolumeDefinitionLayer {
            layer_type: "DRBD".to_string(),
            data: Some(api::DrbdVolumeDefinition {
                resource_name_suffix: None,
                volume_number: Some(vd.volume_number),
                minor_number: Some(vd.minor_number),
            }),
        });
    }
    layer_data.push(api::VolumeDefinitionLayer { layer_type: "STORAGE".to_string(), data: None });
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
    api::KeyValueStore { name: kvs.name.clone(), props: kvs.props.clone() }
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

impl Controller {
    /// A resource with its volumes, as the satellite last reported them.
    pub fn resource_view(&self, state: &State, resource: &model::Resource) -> api::ResourceWithVolumes {
        let observed = self.satellites.observed_indexed(&api::names::NameKey::new(&resource.node_name));
        let rd = state.resource_definition(&resource.name);
        self.resource_view_with(state, resource, rd, observed.as_ref())
    }

    /// [`Controller::resource_view`] with the resource definition and the node's report
    /// already looked up (views of many resources look each up once).
    pub fn resource_view_with(
        &self,
        state: &State,
        resource: &model::Resource,
        rd: Option<&model::ResourceDefinition>,
        observed: Option<&(Arc<crate::link::Observed>, Arc<crate::satellites::VolumeIndex>)>,
    ) -> api::ResourceWithVolumes {
        let reported = observed.and_then(|(o, index)| {
            index.get(&api::names::NameKey::new(&resource.name)).map(|found| (o, found))
        });
        let mut volumes = Vec::new();
        let mut in_use = false;
        for volume in &resource.volumes {
            let report = reported.and_then(|(o, found)| {
                found.iter().find(|(nr, _)| *nr == volume.volume_number).and_then(|&(_, i)| o.volumes.get(i))
            });
            in_use |= report.is_some_and(|r| r.in_use);
            let pool = state.storage_pool(&resource.node_name, &volume.storage_pool);
            volumes.push(volume_view(resource, volume, pool, rd, report));
        }
        let storage_volumes = volumes
            .iter()
            .map(|v| api::StorageVolume {
                volume_number: v.volume_number,
                device_path: v
                    .layer_data_list
                    .first()
                    .and_then(|l| l.data.as_ref())
                    .and_then(|d| d.get("device_path"))
                    .and_then(|p| p.as_str())
                    .map(str::to_string),
                allocated_size_kib: v.allocated_size_kib,
                usable_size_kib: v.usable_size_kib,
                disk_state: v.state.as_ref().and_then(|s| s.disk_state.clone()),
            })
            .collect();
        api::ResourceWithVolumes {
            resource: api::Resource {
                name: resource.name.clone(),
                node_name: resource.node_name.clone(),
                props: resource.props.clone(),
                flags: resource.flags.clone(),
                layer_object: Some(api::ResourceLayer {
                    layer_type: "STORAGE".to_string(),
                    resource_name_suffix: Some(String::new()).filter(|s| !s.is_empty()),
                    storage: Some(api::StorageResource { storage_volumes }),
                    ..Default::default()
                }),
                state: observed.as_ref().map(|_| api::ResourceState { in_use: Some(in_use) }),
                uuid: Some(resource.uuid.clone()),
                create_timestamp: Some(resource.create_timestamp),
                ..Default::default()
            },
            volumes,
            shared_name: None,
        }
    }
}

/// One volume of a resource. The top-level `device_path` is the stable path
/// `/dev/strand/<rsc>/<vlmnr>`; the STORAGE layer names the loop device behind it.
fn volume_view(
    resource: &model::Resource,
    volume: &model::ResourceVolume,
    pool: Option<&model::StoragePool>,
    rd: Option<&model::ResourceDefinition>,
    report: Option<&crate::link::VolumeReport>,
) -> api::Volume {
    let disk_state = match report {
        Some(r) if r.error.is_some() => "Failed".to_string(),
        Some(r) => r.disk_state.clone(),
        None => "DUnknown".to_string(),
    };
    let usable = report
        .map(|r| r.usable_size_kib)
        .or_else(|| rd.and_then(|rd| rd.volume_definition(volume.volume_number)).map(|vd| vd.size_kib));
    let layer = serde_json::json!({
        "volume_number": volume.volume_number,
        "device_path": report.and_then(|r| r.device_path.clone()),
        "allocated_size_kib": report.map(|r| r.allocated_size_kib),
        "usable_size_kib": usable,
        "disk_state": disk_state,
    });
    let layer = match layer {
        serde_json::Value::Object(map) => {
            serde_json::Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    };
    api::Volume {
        volume_number: Some(volume.volume_number),
        storage_pool_name: Some(volume.storage_pool.clone()),
        provider_kind: pool.map(|p| p.provider_kind.as_str().to_string()),
        device_path: report.and_then(|r| r.stable_path.clone().or_else(|| r.device_path.clone())),
        allocated_size_kib: report.map(|r| r.allocated_size_kib),
        usable_size_kib: usable,
        props: volume.props.clone(),
        flags: Vec::new(),
        state: Some(api::VolumeState { disk_state: Some(disk_state), ..Default::default() }),
        layer_data_list: vec![api::VolumeLayer { layer_type: "STORAGE".to_string(), data: Some(layer) }],
        uuid: Some(volume.uuid.clone()),
        reports: report
            .and_then(|r| r.error.clone())
            .map(|e| {
                vec![api::ApiCallRc::new(
                    linstor_api::consts::WARN_STORAGE_ERROR | linstor_api::consts::MASK_VLM,
                    format!("Volume {} of resource '{}': {e}", volume.volume_number, resource.name),
                )]
            })
            .unwrap_or_default(),
    }
}

/// A snapshot definition with its per-node snapshots. `props` is LINSTOR's compat merge of the
/// resource definition's props (at snapshot time) and the snapshot definition's own.
pub fn snapshot_view(def: &model::SnapshotDefinition) -> api::Snapshot {
    let mut props = def.rd_props.clone();
    props.extend(def.props.clone());
    api::Snapshot {
        name: def.name.clone(),
        resource_name: Some(def.resource.clone()),
        nodes: def.snapshots.iter().map(|s| s.node_name.clone()).collect(),
        props,
        snapshot_definition_props: def.props.clone(),
        resource_definition_props: def.rd_props.clone(),
        flags: def.flags.clone(),
        volume_definitions: def
            .volume_definitions
            .iter()
            .map(|vd| api::SnapshotVolumeDefinition {
                volume_number: Some(vd.volume_number),
                size_kib: Some(vd.size_kib),
                snapshot_volume_definition_props: Default::default(),
                volume_definition_props: vd.vd_props.clone(),
            })
            .collect(),
        uuid: Some(def.uuid.clone()),
        snapshots: def
            .snapshots
            .iter()
            .map(|s| api::SnapshotNode {
                snapshot_name: Some(def.name.clone()),
                node_name: Some(s.node_name.clone()),
                create_timestamp: Some(s.create_timestamp),
                flags: s.flags.clone(),
                uuid: Some(s.uuid.clone()),
                snapshot_props: Default::default(),
                resource_props: s.resource_props.clone(),
                snapshot_volumes: s
                    .volumes
                    .iter()
                    .map(|v| api::SnapshotVolumeNode {
                        uuid: Some(v.uuid.clone()),
                        vlm_nr: Some(v.volume_number),
                        ..Default::default()
                    })
                    .collect(),
            })
            .collect(),
    }
}
