//! Resources (replicas of a resource definition on nodes): create, delete, make-available and
//! autoplace. These calls wait for the satellites they concern; a replica that a satellite
//! could not create is taken back, so a failed call leaves nothing behind.

use super::definitions::{existing_rd, rd_not_found};
use super::nodes::node_not_found;
use super::{new_uuid, Call};
use crate::model::{ProviderKind, Resource, ResourceVolume, State, Txn};
use crate::placement::{self, Candidate};
use crate::satellites::TouchedNodes;
use crate::Controller;
use linstor_api::consts::*;
use linstor_api::names::NameKey;
use linstor_api::{
    ApiCallRc, ApiCallRcList, AutoPlaceRequest, AutoSelectFilter, Props, ResourceCreate,
    ResourceMakeAvailable, DEFAULT_STORAGE_POOL,
};
use std::collections::BTreeSet;

const RSC_CRT: Call = Call::new(MASK_RSC, MASK_CRT);
const RSC_DEL: Call = Call::new(MASK_RSC, MASK_DEL);

/// The property that names a resource's storage pool, looked up Resource > VD > RD > RG > Node.
pub const KEY_STOR_POOL_NAME: &str = "StorPoolName";
/// Thin pools may promise this many times their free space (LINSTOR's default).
pub const DEFAULT_OVERSUBSCRIPTION: f64 = 20.0;
pub const KEY_OVERSUBSCRIPTION: &str = "MaxOversubscriptionRatio";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub fn rsc_not_found(call: Call, rd: &str, node: &str) -> ApiCallRc {
    call.rc(FAIL_NOT_FOUND_RSC, format!("Resource '{rd}' on node '{node}' not found."))
}

/// The layers a node's satellite reports, or only STORAGE while it has not reported.
pub fn node_layers(ctl: &Controller, node: &NameKey) -> (Vec<String>, Option<String>) {
    match ctl.satellites.observed(node) {
        Some(observed) => {
            let why =
                observed.unsupported_layers.iter().find(|(l, _)| l == "DRBD").map(|(_, why)| why.clone());
            (observed.layers.clone(), why)
        }
        None => (vec!["STORAGE".to_string()], None),
    }
}

/// The layer stack of a new replica: asked for, else the RD's, else the group's, else DRBD on
/// STORAGE where the node has DRBD and STORAGE alone where it has not.
fn layer_stack_for(
    ctl: &Controller,
    state: &State,
    rd: &crate::model::ResourceDefinition,
    requested: &[String],
    node: &NameKey,
) -> Result<Vec<String>, ApiCallRc> {
    let group_stack = state.resource_group(&rd.resource_group).map(|g| g.select_filter.layer_stack.clone());
    let stack = if !requested.is_empty() {
        super::groups::checked_layer_stack(RSC_CRT, requested)?
    } else if !rd.layer_stack.is_empty() {
        rd.layer_stack.clone()
    } else {
        group_stack.filter(|s| !s.is_empty()).unwrap_or_default()
    };
    let (supported, drbd_missing) = node_layers(ctl, node);
    if stack.is_empty() {
        let default =
            if supported.iter().any(|l| l == "DRBD") { vec!["DRBD", "STORAGE"] } else { vec!["STORAGE"] };
        return Ok(default.into_iter().map(str::to_string).collect());
    }
    if let Some(layer) = stack.iter().find(|l| !supported.contains(l)) {
        let node_name = state.nodes.get(node).map_or(node.as_str(), |n| n.name.as_str());
        let why = if layer == "DRBD" {
            drbd_missing.unwrap_or_else(|| "DRBD is not loaded".into())
        } else {
            format!("Strand's satellite does not provide the {layer} layer")
        };
        return Err(RSC_CRT
            .rc(
                FAIL_STLT_DOES_NOT_SUPPORT_LAYER,
                format!("Node '{node_name}' cannot provide the layer {layer}."),
            )
            .with_cause(why)
            .with_correction("Use the layer list STORAGE on this node, or load DRBD 9 on it."));
    }
    Ok(stack)
}

/// The storage pool a diskful replica's volume uses: `StorPoolName` from the resource, the
/// volume definition, the resource definition, its group, then the node; else `DfltStorPool`.
pub fn resolve_pool(
    state: &State,
    rd: &crate::model::ResourceDefinition,
    vd_props: &Props,
    resource_props: &Props,
    node: &NameKey,
) -> Result<String, ApiCallRc> {
    let group = state.resource_group(&rd.resource_group);
    let node_obj = state.nodes.get(node);
    let chain: [Option<&Props>; 5] = [
        Some(resource_props),
        Some(vd_props),
        Some(&rd.props),
        group.map(|g| &g.props),
        node_obj.map(|n| &n.props),
    ];
    let wanted = chain
        .iter()
        .flatten()
        .find_map(|props| props.get(KEY_STOR_POOL_NAME))
        .cloned()
        .or_else(|| group.and_then(|g| g.select_filter.storage_pool.clone()))
        .unwrap_or_else(|| DEFAULT_STORAGE_POOL.to_string());
    let node_name = node_obj.map_or(node.as_str(), |n| n.name.as_str());
    match state.storage_pools.get(&(node.clone(), NameKey::new(&wanted))) {
        Some(pool) if pool.provider_kind != ProviderKind::Diskless => Ok(pool.name.clone()),
        Some(_) => Err(RSC_CRT
            .rc(FAIL_INVLD_STOR_DRIVER, format!("Storage pool '{wanted}' on node '{node_name}' is diskless."))
            .with_correction("Give a diskful storage pool with the StorPoolName property.")),
        None => Err(RSC_CRT
            .rc(FAIL_NOT_FOUND_STOR_POOL, format!("Storage pool '{wanted}' on node '{node_name}' not found."))
            .with_correction(format!(
                "Create the pool on the node, or set '{KEY_STOR_POOL_NAME}' on the resource, its definition or group."
            ))),
    }
}

/// Adds a diskful replica of `rd` on `node` to `txn`.
fn add_diskful(
    ctl: &Controller,
    txn: &mut Txn,
    rd_key: &NameKey,
    node: &NameKey,
    props: Props,
    layer_list: &[String],
) -> Result<ApiCallRcList, ApiCallRc> {
    let state = txn.state().clone();
    let rd = state.resource_definitions.get(rd_key).ok_or_else(|| rd_not_found(RSC_CRT, rd_key.as_str()))?;
    let node_obj = state.nodes.get(node).ok_or_else(|| node_not_found(RSC_CRT, node.as_str()))?;
    if let Some(existing) = state.resources.get(&(rd_key.clone(), node.clone())) {
        return Err(RSC_CRT.rc(
            FAIL_EXISTS_RSC,
            format!("Resource '{}' already exists on node '{}'.", existing.name, node_obj.name),
        ));
    }
    let props = super::props::checked_props(RSC_CRT, linstor_api::props::PropObject::Resource, &props)?;
    let layer_stack = layer_stack_for(ctl, &state, rd, layer_list, node)?;
    let volumes = rd
        .volume_definitions
        .iter()
        .map(|vd| {
            Ok(ResourceVolume {
                volume_number: vd.volume_number,
                storage_pool: resolve_pool(&state, rd, &vd.props, &props, node)?,
                uuid: new_uuid(),
                props: Props::new(),
                source: None,
            })
        })
        .collect::<Result<Vec<_>, ApiCallRc>>()?;
    let mut answer = vec![RSC_CRT
        .created(format!("New resource '{}' on node '{}' registered.", rd.name, node_obj.name))
        .with_obj_ref("RscDfn", &rd.name)
        .with_obj_ref("Node", &node_obj.name)];
    if rd.volume_definitions.is_empty() {
        answer.push(
            RSC_CRT.rc(WARN_NOT_FOUND, format!("No volumes have been defined for resource '{}'.", rd.name)),
        );
    }
    txn.put_resource(Resource {
        name: rd.name.clone(),
        node_name: node_obj.name.clone(),
        uuid: new_uuid(),
        props,
        flags: Vec::new(),
        layer_stack,
        create_timestamp: now_ms(),
        volumes,
    });
    Ok(answer)
}

/// Adds a diskless (DRBD client) replica of `rd` on `node` to `txn`, for
/// `diskless_on_remaining` on nodes that have DRBD.
fn add_drbd_client(
    txn: &mut Txn,
    rd: &crate::model::ResourceDefinition,
    node_name: &str,
    diskless_pool: &str,
) -> ApiCallRc {
    txn.put_resource(Resource {
        name: rd.name.clone(),
        node_name: node_name.to_string(),
        uuid: new_uuid(),
        props: [(KEY_STOR_POOL_NAME.to_string(), diskless_pool.to_string())].into(),
        flags: vec!["DRBD_DISKLESS".to_string(), "DISKLESS".to_string()],
        layer_stack: vec!["DRBD".to_string(), "STORAGE".to_string()],
        create_timestamp: now_ms(),
        volumes: rd
            .volume_definitions
            .iter()
            .map(|vd| ResourceVolume {
                volume_number: vd.volume_number,
                storage_pool: diskless_pool.to_string(),
                uuid: new_uuid(),
                props: Props::new(),
                source: None,
            })
            .collect(),
    });
    RSC_CRT
        .created(format!("New diskless resource '{}' on node '{node_name}' registered.", rd.name))
        .with_obj_ref("RscDfn", &rd.name)
        .with_obj_ref("Node", node_name)
}

/// Space a new volume may take in a pool, from the satellite's last report: free space for thick
/// pools; for thin pools the oversubscribed capacity minus what volumes there already promise.
fn available_kib(
    ctl: &Controller,
    state: &State,
    node: &NameKey,
    pool: &crate::model::StoragePool,
) -> Option<i64> {
    let observed = ctl.satellites.observed(node)?;
    let report = observed.storage_pools.iter().find(|p| p.name.eq_ignore_ascii_case(&pool.name))?;
    if report.error.is_some() {
        return None;
    }
    if !pool.provider_kind.is_thin() {
        return Some(report.free_capacity_kib);
    }
    let ratio = pool
        .props
        .get(KEY_OVERSUBSCRIPTION)
        .or_else(|| state.controller_props.get(KEY_OVERSUBSCRIPTION))
        .and_then(|r| r.parse::<f64>().ok())
        .filter(|r| r.is_finite() && *r > 0.0)
        .unwrap_or(DEFAULT_OVERSUBSCRIPTION);
    let promised: i64 = state
        .resources_on(node)
        .filter(|r| !r.is_diskless())
        .flat_map(|r| {
            let rd = state.resource_definition(&r.name);
            r.volumes.iter().filter(|v| v.storage_pool.eq_ignore_ascii_case(&pool.name)).filter_map(
                move |v| rd.and_then(|rd| rd.volume_definition(v.volume_number)).map(|vd| vd.size_kib),
            )
        })
        .sum();
    Some(thin_available_kib(report.free_capacity_kib, report.total_capacity_kib, ratio, promised))
}

/// What a thin pool may still promise: at most `ratio` times its free space, and at most
/// `ratio` times its capacity minus what its volumes already promise.
fn thin_available_kib(free_kib: i64, total_kib: i64, ratio: f64, promised_kib: i64) -> i64 {
    let by_free = (free_kib as f64 * ratio) as i64;
    let by_total = (total_kib as f64 * ratio) as i64 - promised_kib;
    by_free.min(by_total).max(0)
}

/// Every storage pool of the cluster as a placement candidate.
pub fn candidates(ctl: &Controller, state: &State) -> Vec<Candidate> {
    state
        .storage_pools
        .iter()
        .filter_map(|((node, _), pool)| {
            let node_obj = state.nodes.get(node)?;
            let resources_on_node: BTreeSet<NameKey> =
                state.resources_on(node).map(|r| NameKey::new(&r.name)).collect();
            Some(Candidate {
                node: node.clone(),
                node_name: node_obj.name.clone(),
                pool: pool.name.clone(),
                provider: pool.provider_kind,
                node_props: node_obj.props.clone(),
                online: ctl.is_online(node),
                layers: node_layers(ctl, node).0,
                available_kib: available_kib(ctl, state, node, pool),
                resource_count: resources_on_node.len(),
                resources_on_node,
            })
        })
        .collect()
}

impl Controller {
    /// Places replicas of `rd` as `filter` asks, inside `txn`.
    pub fn autoplace_in(
        &self,
        txn: &mut Txn,
        rd_key: &NameKey,
        filter: &AutoSelectFilter,
        layer_list: &[String],
    ) -> Result<ApiCallRcList, ApiCallRc> {
        let state = txn.state().clone();
        let rd =
            state.resource_definitions.get(rd_key).ok_or_else(|| rd_not_found(RSC_CRT, rd_key.as_str()))?;
        let existing: Vec<(NameKey, Props)> = state
            .resources_of(rd_key)
            .filter(|r| !r.is_diskless())
            .filter_map(|r| {
                let key = NameKey::new(&r.node_name);
                state.nodes.get(&key).map(|n| (key, n.props.clone()))
            })
            .collect();
        let group_layers =
            state.resource_group(&rd.resource_group).map(|g| g.select_filter.layer_stack.clone());
        let layer_stack: Vec<String> =
            [layer_list.to_vec(), filter.layer_stack.clone(), rd.layer_stack.clone()]
                .into_iter()
                .chain(group_layers)
                .find(|s| !s.is_empty())
                .unwrap_or_default();
        let request = placement::Request {
            resource: &rd.name,
            filter,
            size_kib: rd.volume_definitions.iter().map(|vd| vd.size_kib).sum(),
            layer_stack: &layer_stack,
            existing,
        };
        let candidates = candidates(self, &state);
        let chosen = placement::place(&candidates, &request).map_err(|err| {
            ApiCallRc::new(
                FAIL_NOT_ENOUGH_NODES | MASK_RSC_DFN | MASK_CRT,
                format!(
                    "Not enough available nodes: '{}' needs {} more replica(s), {} can be placed.",
                    rd.name, err.wanted, err.possible
                ),
            )
            .with_cause(err.cause)
            .with_correction(
                "Add online nodes with storage pools that have room, relax the placement rules, or lower place_count.",
            )
        })?;
        let mut answer = Vec::new();
        for candidate in &chosen {
            let props: Props = [(KEY_STOR_POOL_NAME.to_string(), candidate.pool.clone())].into();
            answer.extend(add_diskful(self, txn, rd_key, &candidate.node, props, &layer_stack)?);
        }
        if filter.diskless_on_remaining == Some(true) {
            let (with_drbd, without_drbd) = placement::diskless_on_remaining(&candidates, &request, &chosen);
            for candidate in with_drbd {
                answer.push(add_drbd_client(txn, rd, &candidate.node_name, &candidate.pool));
            }
            if !without_drbd.is_empty() {
                let names: Vec<&str> = without_drbd.iter().map(|c| c.node_name.as_str()).collect();
                answer.push(
                    RSC_CRT
                        .rc(
                            INFO_NOOP,
                            format!(
                                "diskless_on_remaining: no diskless replica of '{}' on {}.",
                                rd.name,
                                names.join(", ")
                            ),
                        )
                        .with_cause(
                            "A diskless replica reads and writes over the network through DRBD, and these \
                             nodes have no DRBD; they can use the volume only with a replica of their own.",
                        ),
                );
            }
        }
        Ok(answer)
    }

    /// Pushes the state to the nodes `touched`, then checks that every volume of `rd` on
    /// `created` nodes came up; if not, `undo` runs as a new transaction and the answer carries
    /// the satellites' errors.
    async fn settle(
        &self,
        rd: &str,
        created: &[NameKey],
        touched: &BTreeSet<NameKey>,
        undo: impl FnOnce(&mut Txn) -> Result<(), ApiCallRc>,
    ) -> ApiCallRcList {
        let mut answer = self.sync_nodes(touched).await;
        let failures = self.volume_failures(rd, created);
        if failures.is_empty() {
            let state = self.state();
            // A node that is not connected got a WARN_NOT_CONNECTED instead: its replica is
            // made when it connects.
            for node in created.iter().filter(|node| self.is_online(node)) {
                let node_name = state.nodes.get(node).map_or(node.as_str(), |n| n.name.as_str());
                answer.push(RSC_CRT.created(format!("Resource '{rd}' on '{node_name}' ready.")));
            }
            return answer;
        }
        for (node, message) in &failures {
            answer.push(
                RSC_CRT
                    .rc(FAIL_UNKNOWN_ERROR, format!("(Node: '{node}') Resource '{rd}' could not be created."))
                    .with_cause(message.clone()),
            );
        }
        match self.write_tracked(undo) {
            Ok(((), touched)) => {
                answer.extend(self.sync_nodes(&touched).await);
                answer.push(RSC_CRT.rc(INFO_NOOP, "The change was taken back; nothing was left behind."));
            }
            Err(err) => answer.push(err),
        }
        answer
    }

    /// Errors the satellites report for volumes of `rd` on `nodes` (as node name, message).
    pub fn volume_failures(&self, rd: &str, nodes: &[NameKey]) -> Vec<(String, String)> {
        let mut failures = Vec::new();
        for node in nodes {
            let Some(observed) = self.satellites.observed(node) else { continue };
            for volume in observed.volumes.iter().filter(|v| v.resource.eq_ignore_ascii_case(rd)) {
                if let Some(error) = &volume.error {
                    failures.push((
                        observed.node_name.clone(),
                        format!("volume {}: {error}", volume.volume_number),
                    ));
                }
            }
        }
        failures
    }

    /// `POST .../resources` and `POST .../resources/{node}`: diskful replicas on given nodes.
    pub async fn create_resources(&self, rd_name: &str, creates: Vec<ResourceCreate>) -> ApiCallRcList {
        let mut nodes = Vec::new();
        let result = self.write_tracked(|txn| {
            let rd = existing_rd(txn, RSC_CRT, rd_name)?;
            let rd_key = NameKey::new(&rd.name);
            let mut answer = Vec::new();
            for create in &creates {
                let node_name = &create.resource.node_name;
                let node = NameKey::new(node_name);
                if txn.state().nodes.get(&node).is_none() {
                    return Err(node_not_found(RSC_CRT, node_name));
                }
                let diskless = create.resource.flags.iter().any(|f| f.eq_ignore_ascii_case("DISKLESS"))
                    || create.drbd_client == Some(true);
                if diskless {
                    return Err(diskless_needs_drbd(self, txn.state(), &rd.name, &node));
                }
                answer.extend(add_diskful(
                    self,
                    txn,
                    &rd_key,
                    &node,
                    create.resource.props.clone(),
                    &create.layer_list,
                )?);
                nodes.push(node);
            }
            Ok(answer)
        });
        let (mut answer, touched) = match result {
            Ok(ok) => ok,
            Err(err) => return vec![err],
        };
        let rd_key = NameKey::new(rd_name);
        let created = nodes.clone();
        answer.extend(
            self.settle(rd_name, &nodes, &touched, move |txn| {
                for node in &created {
                    txn.remove_resource(&rd_key, node);
                }
                Ok(())
            })
            .await,
        );
        answer
    }

    /// `POST .../autoplace`.
    pub async fn autoplace(&self, rd_name: &str, request: AutoPlaceRequest) -> ApiCallRcList {
        let rd_key = NameKey::new(rd_name);
        let before: BTreeSet<NameKey> =
            self.state().resources_of(&rd_key).map(|r| NameKey::new(&r.node_name)).collect();
        let result = self.write_tracked(|txn| {
            let rd = existing_rd(txn, RSC_CRT, rd_name)?;
            let group_filter = txn
                .state()
                .resource_group(&rd.resource_group)
                .map(|g| g.select_filter.clone())
                .unwrap_or_default();
            let mut filter =
                super::groups::checked_filter(RSC_CRT, &group_filter.merged_with(&request.select_filter))?;
            if request.diskless_on_remaining.is_some() {
                filter.diskless_on_remaining = request.diskless_on_remaining;
            }
            self.autoplace_in(txn, &rd_key, &filter, &request.layer_list)
        });
        let (mut answer, touched) = match result {
            Ok(ok) => ok,
            Err(err) => return vec![err],
        };
        let created: Vec<NameKey> = touched.iter().filter(|n| !before.contains(*n)).cloned().collect();
        let undo_nodes = created.clone();
        answer.extend(
            self.settle(rd_name, &created, &touched, move |txn| {
                for node in &undo_nodes {
                    txn.remove_resource(&rd_key, node);
                }
                Ok(())
            })
            .await,
        );
        answer
    }

    /// Creates a resource definition with its volumes from a group and places it (spawn):
    /// if a satellite cannot create its replica, the whole resource definition is taken back.
    pub async fn spawn_and_place(
        &self,
        group: &str,
        input: linstor_api::ResourceGroupSpawn,
    ) -> ApiCallRcList {
        let (mut answer, touched, rd_name) = match self.write_tracked(|txn| self.spawn_in(txn, group, input))
        {
            Ok(((answer, rd_name), touched)) => (answer, touched, rd_name),
            Err(err) => return vec![err],
        };
        let created: Vec<NameKey> = touched.iter().cloned().collect();
        let rd_key = NameKey::new(&rd_name);
        answer.extend(
            self.settle(&rd_name, &created, &touched, move |txn| {
                let nodes: Vec<NameKey> =
                    txn.state().resources_of(&rd_key).map(|r| NameKey::new(&r.node_name)).collect();
                for node in &nodes {
                    txn.remove_resource(&rd_key, node);
                }
                txn.remove_resource_definition(&rd_key);
                Ok(())
            })
            .await,
        );
        answer
    }

    /// `DELETE .../resources/{node}`.
    pub async fn delete_resource(&self, rd_name: &str, node_name: &str) -> ApiCallRcList {
        self.refresh_in_use(rd_name, Some(node_name)).await;
        self.write_and_sync(|txn| {
            let (rd, node) = (NameKey::new(rd_name), NameKey::new(node_name));
            let Some(resource) = txn.state().resources.get(&(rd.clone(), node.clone())).cloned() else {
                return Ok(vec![RSC_DEL
                    .rc(WARN_NOT_FOUND, format!("Resource '{rd_name}' on node '{node_name}' not found."))]);
            };
            self.refuse_if_in_use(RSC_DEL, &resource)?;
            let cloning_here = txn.state().resources_on(&node).find(|r| {
                r.volumes.iter().any(|v| {
                    matches!(&v.source, Some(crate::model::VolumeSource::Volume { resource: src })
                        if src.eq_ignore_ascii_case(&resource.name))
                })
            });
            if let Some(clone) = cloning_here {
                return Err(RSC_DEL
                    .rc(
                        FAIL_IN_USE,
                        format!(
                            "Resource '{}' on node '{}' is being cloned into '{}'.",
                            resource.name, resource.node_name, clone.name
                        ),
                    )
                    .with_correction("Wait until the clone is complete."));
            }
            txn.remove_resource(&rd, &node);
            Ok(vec![RSC_DEL
                .deleted(format!("Resource '{}' on node '{}' deleted.", resource.name, resource.node_name))
                .with_details(format!("Resource UUID was: {}", resource.uuid))])
        })
        .await
    }

    /// Whether the last report of `resource`'s node has a volume of it open.
    fn reported_in_use(&self, resource: &Resource) -> bool {
        self.satellites.observed(&NameKey::new(&resource.node_name)).is_some_and(|observed| {
            observed.volumes.iter().any(|v| v.resource.eq_ignore_ascii_case(&resource.name) && v.in_use)
        })
    }

    /// Before a delete of `rd` (on `node`, or on every node): asks the nodes whose last report
    /// has it in use to report again. A report is as old as the last change pushed to its
    /// node; a volume unmounted since must not keep the delete from happening.
    pub(crate) async fn refresh_in_use(&self, rd_name: &str, node: Option<&str>) {
        let state = self.state();
        let nodes: TouchedNodes = state
            .resources_of(&NameKey::new(rd_name))
            .filter(|r| match node {
                Some(n) => r.node_name.eq_ignore_ascii_case(n),
                None => true,
            })
            .filter(|r| self.reported_in_use(r))
            .map(|r| NameKey::new(&r.node_name))
            .collect();
        if !nodes.is_empty() {
            self.sync_nodes(&nodes).await;
        }
    }

    /// Refuses with `FAIL_IN_USE` when a volume of `resource` is open on its node.
    pub fn refuse_if_in_use(&self, call: Call, resource: &Resource) -> Result<(), ApiCallRc> {
        if self.reported_in_use(resource) {
            return Err(call
                .rc(
                    FAIL_IN_USE,
                    format!("Resource '{}' on node '{}' is still in use.", resource.name, resource.node_name),
                )
                .with_cause("A volume of the resource is mounted or held open by a process.")
                .with_correction("Unmount it and stop the processes using it, then try again."));
        }
        Ok(())
    }

    /// `POST .../resources/{node}/make-available`: makes sure the node can use the resource.
    pub async fn make_available(
        &self,
        rd_name: &str,
        node_name: &str,
        request: ResourceMakeAvailable,
    ) -> ApiCallRcList {
        let node = NameKey::new(node_name);
        let state = self.state();
        let Some(rd) = state.resource_definition(rd_name) else {
            return vec![rd_not_found(RSC_CRT, rd_name)];
        };
        if state.nodes.get(&node).is_none() {
            return vec![node_not_found(RSC_CRT, node_name)];
        }
        if let Some(existing) = state.resource(rd_name, node_name) {
            return vec![RSC_CRT.rc(
                INFO_RSC_ALREADY_EXISTS,
                format!(
                    "Resource '{}' is already available on node '{}'.",
                    existing.name, existing.node_name
                ),
            )];
        }
        let rd_key = NameKey::new(&rd.name);
        let has_diskful_peer = state.resources_of(&rd_key).any(|r| !r.is_diskless());
        if has_diskful_peer && !request.diskful.unwrap_or(false) {
            return vec![diskless_needs_drbd(self, &state, &rd.name, &node)];
        }
        let create = ResourceCreate {
            resource: linstor_api::Resource { node_name: node_name.to_string(), ..Default::default() },
            layer_list: request.layer_list,
            ..Default::default()
        };
        self.create_resources(&rd.name, vec![create]).await
    }
}

/// Without DRBD a node can only use a volume it holds a replica of: a diskless replica, or
/// making a resource available where another node holds the data, needs DRBD.
fn diskless_needs_drbd(ctl: &Controller, state: &State, rd: &str, node: &NameKey) -> ApiCallRc {
    let node_name = state.nodes.get(node).map_or(node.as_str(), |n| n.name.as_str());
    let holders: Vec<String> = state
        .resources_of(&NameKey::new(rd))
        .filter(|r| !r.is_diskless())
        .map(|r| r.node_name.clone())
        .collect();
    let (_, why) = node_layers(ctl, node);
    let mut rc = RSC_CRT
        .rc(
            FAIL_STLT_DOES_NOT_SUPPORT_LAYER,
            format!("Resource '{rd}' cannot be used on node '{node_name}' without a replica of its own there."),
        )
        .with_cause(format!(
            "A diskless replica reads and writes over the network through DRBD, and node '{node_name}' has no DRBD ({}).",
            why.unwrap_or_else(|| "the DRBD 9 kernel module is not loaded".into())
        ))
        .with_correction(if holders.is_empty() {
            "Create a diskful replica on the node.".to_string()
        } else {
            format!("Use the volume on a node that holds a replica ({}), or make it diskful here.", holders.join(", "))
        });
    rc.details = Some("Load DRBD 9 on the node to use volumes whose data lives elsewhere.".into());
    rc
}

#[cfg(test)]
mod thin_tests {
    use super::thin_available_kib;

    #[test]
    fn thin_pools_are_oversubscribed_up_to_the_ratio() {
        // (free, total, ratio, promised) -> available
        let cases = [
            ((100, 100, 20.0, 0), 2000),   // empty pool: ratio x capacity
            ((100, 100, 20.0, 1500), 500), // promises count against capacity x ratio
            ((10, 100, 20.0, 0), 200),     // little real space left limits too
            ((100, 100, 20.0, 2500), 0),   // over-promised: nothing, never negative
            ((100, 100, 1.0, 0), 100),     // ratio 1: no oversubscription
            ((100, 100, 2.5, 50), 200),    // fractional ratios
        ];
        for ((free, total, ratio, promised), want) in cases {
            assert_eq!(
                thin_available_kib(free, total, ratio, promised),
                want,
                "{free} {total} {ratio} {promised}"
            );
        }
    }
}
