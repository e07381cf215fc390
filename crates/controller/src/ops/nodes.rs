//! Nodes and their net interfaces.

use super::props::{checked_props, modify_props, PropsChange};
use super::{new_uuid, valid_name, Call};
use crate::model::{NetInterface, Node, ProviderKind, StoragePool, Txn};
use crate::Controller;
use linstor_api::consts::*;
use linstor_api::names::{NameKey, NameKind};
use linstor_api::props::PropObject;
use linstor_api::{
    ApiCallRc, ApiCallRcList, NodeModify, Props, DEFAULT_DISKLESS_STORAGE_POOL, DEFAULT_SATELLITE_PORT,
    DEFAULT_SATELLITE_SSL_PORT,
};

const NODE_CRT: Call = Call::new(MASK_NODE, MASK_CRT);
const NODE_MOD: Call = Call::new(MASK_NODE, MASK_MOD);
const NODE_DEL: Call = Call::new(MASK_NODE, MASK_DEL);
const NETIF_CRT: Call = Call::new(MASK_NET_IF, MASK_CRT);
const NETIF_MOD: Call = Call::new(MASK_NET_IF, MASK_MOD);
const NETIF_DEL: Call = Call::new(MASK_NET_IF, MASK_DEL);

/// How long `reconnect` waits for the node to be online again before answering.
const RECONNECT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The node types a client may create.
pub const NODE_TYPES: [&str; 4] = ["CONTROLLER", "SATELLITE", "COMBINED", "AUXILIARY"];

fn node_type(call: Call, text: Option<&str>) -> Result<String, ApiCallRc> {
    let text = text.unwrap_or("SATELLITE");
    NODE_TYPES.iter().find(|t| t.eq_ignore_ascii_case(text)).map(|t| t.to_string()).ok_or_else(|| {
        call.rc(FAIL_INVLD_NODE_TYPE, format!("The node type '{text}' is invalid."))
            .with_correction(format!("Use one of: {}.", NODE_TYPES.join(", ")))
    })
}

pub fn node_not_found(call: Call, name: &str) -> ApiCallRc {
    call.rc(FAIL_NOT_FOUND_NODE, format!("Node '{name}' not found."))
        .with_correction("Create the node first, or check its name with 'node list'.")
}

/// Checks one net interface of a request and fills in LINSTOR's defaults.
fn checked_net_interface(
    call: Call,
    input: &linstor_api::NetInterface,
    satellite_defaults: bool,
) -> Result<NetInterface, ApiCallRc> {
    valid_name(call, NameKind::NetInterface, &input.name)?;
    if input.address.parse::<std::net::IpAddr>().is_err() {
        return Err(call
            .rc(FAIL_INVLD_NET_ADDR, format!("The net interface address '{}' is invalid.", input.address))
            .with_correction("Give an IPv4 or IPv6 address, e.g. 192.168.1.10 or fd00::10."));
    }
    let encryption = match input.satellite_encryption_type.as_deref() {
        None => None,
        Some(text) => Some(
            ["PLAIN", "SSL"]
                .into_iter()
                .find(|t| t.eq_ignore_ascii_case(text))
                .ok_or_else(|| {
                    call.rc(FAIL_INVLD_NET_TYPE, format!("The encryption type '{text}' is invalid."))
                        .with_correction("Use PLAIN or SSL.")
                })?
                .to_string(),
        ),
    };
    let port = match input.satellite_port {
        None => None,
        Some(port) => Some(u16::try_from(port).ok().filter(|p| *p > 0).ok_or_else(|| {
            call.rc(FAIL_INVLD_NET_PORT, format!("The satellite port {port} is invalid."))
                .with_correction("Use a port from 1 to 65535.")
        })?),
    };
    let (port, encryption) = match (port, encryption) {
        (None, None) if satellite_defaults => (Some(DEFAULT_SATELLITE_PORT), Some("PLAIN".to_string())),
        (None, Some(enc)) => {
            let dflt = if enc == "SSL" { DEFAULT_SATELLITE_SSL_PORT } else { DEFAULT_SATELLITE_PORT };
            (Some(dflt), Some(enc))
        }
        (Some(port), None) => (Some(port), Some("PLAIN".to_string())),
        other => other,
    };
    Ok(NetInterface {
        name: input.name.clone(),
        address: input.address.clone(),
        satellite_port: port,
        satellite_encryption_type: encryption,
        is_active: input.is_active.unwrap_or(false),
        uuid: new_uuid(),
    })
}

/// Makes sure exactly one interface carrying a satellite connection is active.
fn settle_active_interface(interfaces: &mut [NetInterface]) {
    let active = interfaces.iter().position(|i| i.is_active && i.satellite_port.is_some());
    let chosen = active.or_else(|| interfaces.iter().position(|i| i.satellite_port.is_some()));
    for (index, interface) in interfaces.iter_mut().enumerate() {
        interface.is_active = Some(index) == chosen;
    }
}

fn diskless_pool(node_name: &str) -> StoragePool {
    StoragePool {
        name: DEFAULT_DISKLESS_STORAGE_POOL.to_string(),
        node_name: node_name.to_string(),
        provider_kind: ProviderKind::Diskless,
        uuid: new_uuid(),
        props: Props::new(),
    }
}

fn existing_node(txn: &Txn, call: Call, name: &str) -> Result<Node, ApiCallRc> {
    txn.state().node(name).cloned().ok_or_else(|| node_not_found(call, name))
}

impl Controller {
    pub fn create_node(&self, input: linstor_api::Node) -> ApiCallRcList {
        let answer = self.write_answer(|txn| {
            valid_name(NODE_CRT, NameKind::Node, &input.name)?;
            let node_type =
                node_type(NODE_CRT, Some(&input.node_type).filter(|t| !t.is_empty()).map(String::as_str))?;
            if let Some(existing) = txn.state().node(&input.name) {
                return Err(NODE_CRT
                    .rc(FAIL_EXISTS_NODE, format!("Node '{}' already exists.", existing.name))
                    .with_correction("Choose another name, or modify the existing node."));
            }
            let props = checked_props(NODE_CRT, PropObject::Node, &input.props)?;
            if input.net_interfaces.is_empty() && node_type != "AUXILIARY" {
                return Err(NODE_CRT
                    .rc(FAIL_MISSING_NETCOM, format!("Node '{}' needs a net interface.", input.name))
                    .with_correction("Give at least one net interface with the node's address."));
            }
            let single = input.net_interfaces.len() == 1;
            let mut interfaces = Vec::new();
            for netif in &input.net_interfaces {
                let checked =
                    checked_net_interface(NODE_CRT, netif, single || netif.is_active == Some(true))?;
                if interfaces.iter().any(|i: &NetInterface| i.name.eq_ignore_ascii_case(&checked.name)) {
                    return Err(NODE_CRT.rc(
                        FAIL_EXISTS_NET_IF,
                        format!("The net interface name '{}' is given twice.", checked.name),
                    ));
                }
                interfaces.push(checked);
            }
            settle_active_interface(&mut interfaces);
            let node = Node {
                name: input.name.clone(),
                node_type,
                uuid: new_uuid(),
                flags: Vec::new(),
                props,
                net_interfaces: interfaces,
            };
            let answer = vec![NODE_CRT
                .created(format!("New node '{}' registered.", node.name))
                .with_details(format!("Node '{}' UUID is: {}", node.name, node.uuid))
                .with_obj_ref("Node", &node.name)];
            txn.put_storage_pool(diskless_pool(&node.name));
            txn.put_node(node);
            Ok(answer)
        });
        // Connect to the new node's satellite now rather than at the next scan.
        self.connections.poke();
        answer
    }

    pub fn modify_node(&self, name: &str, input: NodeModify) -> ApiCallRcList {
        self.write_answer(|txn| {
            let mut node = existing_node(txn, NODE_MOD, name)?;
            if let Some(text) = input.node_type.as_deref() {
                node.node_type = node_type(NODE_MOD, Some(text))?;
            }
            let change = PropsChange {
                override_props: &input.override_props,
                delete_props: &input.delete_props,
                delete_namespaces: &input.delete_namespaces,
            };
            let mut answer = modify_props(NODE_MOD, PropObject::Node, &mut node.props, change)?;
            answer.push(
                NODE_MOD
                    .modified(format!("Node '{}' modified.", node.name))
                    .with_details(format!("Node '{}' UUID is: {}", node.name, node.uuid))
                    .with_obj_ref("Node", &node.name),
            );
            txn.put_node(node);
            Ok(answer)
        })
    }

    pub fn delete_node(&self, name: &str) -> ApiCallRcList {
        self.write_answer(|txn| {
            let key = NameKey::new(name);
            let Some(node) = txn.state().nodes.get(&key).cloned() else {
                return Ok(vec![NODE_DEL.rc(WARN_NOT_FOUND, format!("Node '{name}' not found."))]);
            };
            let held: Vec<String> = txn.state().resources_on(&key).map(|r| r.name.clone()).collect();
            if !held.is_empty() {
                return Err(NODE_DEL
                    .rc(FAIL_NODE_HAS_USED_RSC, format!("Node '{}' still holds resources.", node.name))
                    .with_cause(format!(
                        "Resources on the node: {}{}",
                        held.iter().take(10).cloned().collect::<Vec<_>>().join(", "),
                        if held.len() > 10 {
                            format!(" and {} more", held.len() - 10)
                        } else {
                            String::new()
                        }
                    ))
                    .with_correction(
                        "Delete the resources on the node first. For a node that will not come back, \
                         use 'node lost' (DELETE /v1/nodes/{node}/lost).",
                    ));
            }
            let pools: Vec<NameKey> =
                txn.state().storage_pools_of(&key).map(|p| NameKey::new(&p.name)).collect();
            for pool in pools {
                txn.remove_storage_pool(&key, &pool);
            }
            txn.remove_node(&key);
            Ok(vec![NODE_DEL
                .deleted(format!("Node '{}' deleted.", node.name))
                .with_details(format!("Node '{}' UUID was: {}", node.name, node.uuid))
                .with_obj_ref("Node", &node.name)])
        })
    }

    /// `DELETE /v1/nodes/{node}/lost`: forgets a node that will not come back, with its
    /// resources and storage pools, without talking to it. Refused while it is connected.
    pub fn lost_node(&self, name: &str) -> ApiCallRcList {
        let key = NameKey::new(name);
        let answer = self.write_answer(|txn| {
            let Some(node) = txn.state().nodes.get(&key).cloned() else {
                return Ok(vec![NODE_DEL
                    .rc(WARN_NOT_FOUND, format!("Deletion of node '{name}' had no effect."))
                    .with_cause(format!("Node '{name}' does not exist."))]);
            };
            if self.satellites.is_connected(&key) {
                return Err(NODE_DEL
                    .rc(FAIL_EXISTS_NODE_CONN, format!("Node '{}' is still connected.", node.name))
                    .with_correction(
                        "Use 'node delete' (DELETE /v1/nodes/{node}) for a node that is online.",
                    ));
            }
            let resources: Vec<(NameKey, String)> =
                txn.state().resources_on(&key).map(|r| (NameKey::new(&r.name), r.name.clone())).collect();
            for (rd, _) in &resources {
                txn.remove_resource(rd, &key);
            }
            // Its snapshots go too; a snapshot definition left on no node goes with them.
            let snapshots: Vec<crate::model::SnapshotDefinition> = txn
                .state()
                .snapshot_definitions
                .values()
                .filter(|sd| sd.on_node(&node.name).is_some())
                .cloned()
                .collect();
            for mut sd in snapshots {
                let sd_key = (NameKey::new(&sd.resource), NameKey::new(&sd.name));
                txn.set_take(&sd_key.0, &sd_key.1, &key, false);
                sd.snapshots.retain(|s| !s.node_name.eq_ignore_ascii_case(&node.name));
                if sd.snapshots.is_empty() {
                    txn.remove_snapshot_definition(&sd_key.0, &sd_key.1);
                } else {
                    txn.put_snapshot_definition(sd);
                }
            }
            let rollbacks: Vec<NameKey> = txn
                .state()
                .pending
                .rollbacks
                .keys()
                .filter(|(_, n)| *n == key)
                .map(|(rd, _)| rd.clone())
                .collect();
            for rd in rollbacks {
                txn.set_rollback(&rd, &key, None);
            }
            let pools: Vec<NameKey> =
                txn.state().storage_pools_of(&key).map(|p| NameKey::new(&p.name)).collect();
            for pool in pools {
                txn.remove_storage_pool(&key, &pool);
            }
            txn.remove_node(&key);
            let mut answer = vec![NODE_DEL
                .deleted(format!("Node '{}' deleted.", node.name))
                .with_details(format!("Node '{}' UUID was: {}", node.name, node.uuid))
                .with_obj_ref("Node", &node.name)];
            if !resources.is_empty() {
                let names: Vec<&str> = resources.iter().map(|(_, name)| name.as_str()).collect();
                answer.push(NODE_DEL.rc(
                    INFO_NOOP,
                    format!(
                        "Forgot the resources of node '{}': {}. Their replicas on other nodes stay.",
                        node.name,
                        names.join(", ")
                    ),
                ));
            }
            Ok(answer)
        });
        self.connections.poke();
        answer
    }

    /// `PUT /v1/nodes/{node}/reconnect`: drops the node's connection and connects again; the
    /// satellite gets the full desired state. Waits a few seconds for it to come back.
    pub async fn reconnect_node(&self, name: &str) -> ApiCallRcList {
        let key = NameKey::new(name);
        let Some(node) = self.state().nodes.get(&key).cloned() else {
            return vec![node_not_found(NODE_MOD, name)];
        };
        let mut answer =
            vec![NODE_MOD.rc(MASK_SUCCESS, format!("Node '{}' will be reconnected.", node.name))];
        if !self.connections.reconnect(&key) {
            if self.satellites.has_link(&key) {
                // An in-process satellite has no connection to drop: bring it up to date instead.
                answer.extend(self.sync_nodes(&[key].into()).await);
            } else {
                answer.push(
                    ApiCallRc::new(
                        WARN_NOT_CONNECTED | MASK_NODE,
                        format!("No active connection to satellite '{}'.", node.name),
                    )
                    .with_details(format!(
                        "Node '{}' of type {} has no satellite connection: only SATELLITE and COMBINED \
                         nodes with an active net interface and a satellite port are connected.",
                        node.name, node.node_type
                    )),
                );
            }
            return answer;
        }
        let deadline = tokio::time::Instant::now() + RECONNECT_WAIT;
        // Give the old connection a moment to go before looking for the new one.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        while !self.is_online(&key) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        if !self.is_online(&key) {
            answer.push(
                ApiCallRc::new(
                    WARN_NOT_CONNECTED | MASK_NODE,
                    format!("No active connection to satellite '{}'.", node.name),
                )
                .with_details(format!(
                    "The controller keeps trying; the node's connection status is {}.",
                    self.connections.status(&key)
                )),
            );
        }
        answer
    }

    pub fn create_net_interface(&self, node_name: &str, input: linstor_api::NetInterface) -> ApiCallRcList {
        self.write_answer(|txn| {
            let mut node = existing_node(txn, NETIF_CRT, node_name)?;
            let with_defaults = input.is_active == Some(true);
            let netif = checked_net_interface(NETIF_CRT, &input, with_defaults)?;
            if node.net_interfaces.iter().any(|i| i.name.eq_ignore_ascii_case(&netif.name)) {
                return Err(NETIF_CRT.rc(
                    FAIL_EXISTS_NET_IF,
                    format!("Net interface '{}' already exists on node '{}'.", netif.name, node.name),
                ));
            }
            let answer = vec![NETIF_CRT
                .created(format!("New net interface '{}' on node '{}' registered.", netif.name, node.name))
                .with_details(format!("Net interface '{}' UUID is: {}", netif.name, netif.uuid))];
            if netif.is_active {
                node.net_interfaces.iter_mut().for_each(|i| i.is_active = false);
            }
            node.net_interfaces.push(netif);
            settle_active_interface(&mut node.net_interfaces);
            txn.put_node(node);
            Ok(answer)
        })
    }

    pub fn modify_net_interface(
        &self,
        node_name: &str,
        netif_name: &str,
        input: linstor_api::NetInterface,
    ) -> ApiCallRcList {
        self.write_answer(|txn| {
            let mut node = existing_node(txn, NETIF_MOD, node_name)?;
            let Some(index) =
                node.net_interfaces.iter().position(|i| i.name.eq_ignore_ascii_case(netif_name))
            else {
                return Err(NETIF_MOD.rc(
                    FAIL_NOT_FOUND_NET_IF,
                    format!("Net interface '{netif_name}' of node '{}' not found.", node.name),
                ));
            };
            let current = &node.net_interfaces[index];
            let merged = linstor_api::NetInterface {
                name: current.name.clone(),
                address: if input.address.is_empty() { current.address.clone() } else { input.address },
                satellite_port: input.satellite_port.or(current.satellite_port.map(i32::from)),
                satellite_encryption_type: input
                    .satellite_encryption_type
                    .or_else(|| current.satellite_encryption_type.clone()),
                is_active: input.is_active.or(Some(current.is_active)),
                uuid: None,
            };
            let mut netif = checked_net_interface(NETIF_MOD, &merged, false)?;
            netif.uuid = current.uuid.clone();
            if netif.is_active {
                node.net_interfaces.iter_mut().for_each(|i| i.is_active = false);
            }
            let answer = vec![NETIF_MOD
                .modified(format!("Net interface '{}' on node '{}' modified.", netif.name, node.name))
                .with_details(format!("Net interface '{}' UUID is: {}", netif.name, netif.uuid))];
            node.net_interfaces[index] = netif;
            settle_active_interface(&mut node.net_interfaces);
            txn.put_node(node);
            Ok(answer)
        })
    }

    pub fn delete_net_interface(&self, node_name: &str, netif_name: &str) -> ApiCallRcList {
        self.write_answer(|txn| {
            let mut node = existing_node(txn, NETIF_DEL, node_name)?;
            let Some(index) =
                node.net_interfaces.iter().position(|i| i.name.eq_ignore_ascii_case(netif_name))
            else {
                return Ok(vec![NETIF_DEL.rc(
                    WARN_NOT_FOUND,
                    format!("Net interface '{netif_name}' of node '{}' not found.", node.name),
                )]);
            };
            if node.net_interfaces[index].is_active && node.net_interfaces.len() > 1 {
                return Err(NETIF_DEL
                    .rc(
                        FAIL_IN_USE,
                        format!(
                            "Net interface '{netif_name}' carries the satellite connection of node '{}'.",
                            node.name
                        ),
                    )
                    .with_correction("Make another net interface active first."));
            }
            let removed = node.net_interfaces.remove(index);
            settle_active_interface(&mut node.net_interfaces);
            txn.put_node(node);
            Ok(vec![NETIF_DEL
                .deleted(format!("Net interface '{}' deleted.", removed.name))
                .with_details(format!("Net interface '{}' UUID was: {}", removed.name, removed.uuid))])
        })
    }
}
