//! Snapshots: create (one resource definition or several at once), modify, delete, and
//! rollback to any snapshot; plus what each node's satellite must do for them.
//!
//! Rules kept here:
//! - A snapshot is registered, then taken by the satellites, then marked `SUCCESSFUL`. If any
//!   node cannot take it, the whole call is taken back (every snapshot of a multi call): no
//!   definition and no file is left behind.
//! - "Take it now" is volatile ([`crate::model::Pending`]): after a restart a missing snapshot
//!   file is reported missing, never re-taken from the volume's newer data.
//! - Rollback goes to any snapshot, newer ones are kept. It is refused while a volume is open
//!   (the satellites are asked right before deciding), and it sets the volume sizes back to
//!   the snapshot's. A rollback runs once per call: its id leaves the desired state before the
//!   call answers.

use super::definitions::rd_not_found;
use super::nodes::node_not_found;
use super::props::{checked_props, modify_props, PropsChange};
use super::{new_uuid, page, valid_name, Call};
use crate::link::{RollbackSpec, SnapshotSpec, VolumeSource as SourceSpec};
use crate::model::{
    NodeSnapshot, PendingRollback, ProviderKind, Resource, ResourceVolume, SnapshotDefinition,
    SnapshotVolume, SnapshotVolumeDefinition, State, Txn, VolumeSource, SNAPSHOT_SUCCESSFUL,
};
use crate::Controller;
use linstor_api::consts::*;
use linstor_api::names::{NameKey, NameKind};
use linstor_api::props::PropObject;
use linstor_api::{ApiCallRc, ApiCallRcList, CreateMultiSnapshotRequest, Props, PropsModify};
use std::collections::BTreeSet;

pub const SNAP_CRT: Call = Call::new(MASK_SNAPSHOT, MASK_CRT);
pub const SNAP_MOD: Call = Call::new(MASK_SNAPSHOT, MASK_MOD);
pub const SNAP_DEL: Call = Call::new(MASK_SNAPSHOT, MASK_DEL);

/// The correction every "no snapshots here" answer carries.
pub const REFLINK_CORRECTION: &str =
    "Put the pool's directory on a filesystem that can make reflink copies: \
     XFS with reflink (mkfs.xfs -m reflink=1) or btrfs.";

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub fn snapshot_not_found(call: Call, rd: &str, snapshot: &str) -> ApiCallRc {
    call.rc(
        FAIL_NOT_FOUND_SNAPSHOT_DFN,
        format!("Snapshot definition '{snapshot}' of resource definition '{rd}' not found."),
    )
    .with_correction("Check the name with 'snapshot list'.")
}

fn node_display(state: &State, node: &NameKey) -> String {
    state.nodes.get(node).map_or_else(|| node.to_string(), |n| n.name.clone())
}

/// The protocol form of a volume's source: the pool it lives in, looked up on `node`. A source
/// that cannot be found is still sent (with no pool), so that the satellite refuses to make
/// the volume rather than making an empty one.
pub fn source_spec(
    state: &State,
    node: &NameKey,
    number: i32,
    volume: &ResourceVolume,
) -> Option<SourceSpec> {
    match volume.source.as_ref()? {
        VolumeSource::Snapshot { resource, snapshot } => {
            let pool = state
                .snapshot_definition(resource, snapshot)
                .and_then(|def| def.on_node(node.as_str()))
                .and_then(|snap| snap.volumes.iter().find(|v| v.volume_number == number))
                .map(|v| v.storage_pool.clone())
                .unwrap_or_default();
            Some(SourceSpec::Snapshot { resource: resource.clone(), snapshot: snapshot.clone(), pool })
        }
        VolumeSource::Volume { resource } => {
            let pool = state
                .resource(resource, node.as_str())
                .and_then(|r| r.volumes.iter().find(|v| v.volume_number == number))
                .map(|v| v.storage_pool.clone())
                .unwrap_or_default();
            Some(SourceSpec::Volume { resource: resource.clone(), pool })
        }
    }
}

/// The snapshots `node` must hold (and take now), and the rollbacks it must run.
pub fn desired_snapshot_work(state: &State, node: &NameKey) -> (Vec<SnapshotSpec>, Vec<RollbackSpec>) {
    let mut snapshots = Vec::new();
    for ((rd, snap), def) in state.snapshot_definitions.iter() {
        let Some(on_node) = def.on_node(node.as_str()) else { continue };
        let take = state.pending.takes.contains(&(rd.clone(), snap.clone(), node.clone()));
        for volume in &on_node.volumes {
            snapshots.push(SnapshotSpec {
                resource: def.resource.clone(),
                snapshot: def.name.clone(),
                volume_number: volume.volume_number,
                pool: volume.storage_pool.clone(),
                take,
            });
        }
    }
    let mut rollbacks = Vec::new();
    for ((rd, n), pending) in state.pending.rollbacks.iter() {
        if n != node {
            continue;
        }
        let Some(resource) = state.resources.get(&(rd.clone(), n.clone())) else { continue };
        for volume in &resource.volumes {
            rollbacks.push(RollbackSpec {
                id: rollback_volume_id(&pending.id, volume.volume_number),
                resource: resource.name.clone(),
                volume_number: volume.volume_number,
                pool: volume.storage_pool.clone(),
                snapshot: pending.snapshot.clone(),
            });
        }
    }
    (snapshots, rollbacks)
}

fn rollback_volume_id(id: &str, number: i32) -> String {
    format!("{id}/{number}")
}

/// Why `pool` on `node` cannot hold snapshots, from what its satellite last reported.
fn snapshot_support(
    ctl: &Controller,
    state: &State,
    node: &NameKey,
    pool_name: &str,
) -> Result<(), ApiCallRc> {
    let node_name = node_display(state, node);
    let Some(pool) = state.storage_pool(node.as_str(), pool_name) else {
        return Err(SNAP_CRT.rc(
            FAIL_NOT_FOUND_STOR_POOL,
            format!("Storage pool '{pool_name}' on node '{node_name}' not found."),
        ));
    };
    let kind = pool.provider_kind;
    let report = ctl
        .satellites
        .observed(node)
        .and_then(|o| o.storage_pools.iter().find(|p| p.name.eq_ignore_ascii_case(pool_name)).cloned());
    let supported = matches!(kind, ProviderKind::File | ProviderKind::FileThin)
        && report.as_ref().is_some_and(|r| r.supports_snapshots && r.error.is_none());
    if supported {
        return Ok(());
    }
    let dir = pool.props.get(super::storage::KEY_STOR_POOL_NAME).cloned().unwrap_or_default();
    let cause = match (kind, report) {
        (ProviderKind::File | ProviderKind::FileThin, Some(r)) if r.error.is_some() => {
            format!("The pool cannot be used: {}", r.error.unwrap_or_default())
        }
        (ProviderKind::File | ProviderKind::FileThin, _) => format!(
            "A {} pool snapshots a volume by a reflink copy of its file, and the filesystem of '{dir}' cannot make them.",
            kind.as_str()
        ),
        _ => format!("Strand's satellite does not drive {} pools.", kind.as_str()),
    };
    Err(SNAP_CRT
        .rc(
            FAIL_SNAPSHOTS_NOT_SUPPORTED,
            format!("Storage driver '{}' does not support snapshots.", kind.as_str()),
        )
        .with_details(format!("Used for storage pool '{}' on '{node_name}'.", pool.name))
        .with_cause(cause)
        .with_correction(REFLINK_CORRECTION))
}

/// One snapshot asked for: resource definition, name, nodes (empty: every diskful replica),
/// snapshot-definition props.
struct SnapRequest {
    rd: String,
    name: String,
    nodes: Vec<String>,
    props: Props,
}

/// A snapshot registered by a call and the nodes that must take it.
struct Registered {
    rd: NameKey,
    snap: NameKey,
    rd_name: String,
    snap_name: String,
    nodes: Vec<NameKey>,
}

/// Whether a volume's last report says it holds its data (attached, its size, no copy running).
fn volume_ready(ctl: &Controller, node: &NameKey, rd: &str, number: i32) -> Result<(), String> {
    let Some(observed) = ctl.satellites.observed(node) else {
        return Err("the node has not reported".into());
    };
    let Some(report) =
        observed.volumes.iter().find(|v| v.resource.eq_ignore_ascii_case(rd) && v.volume_number == number)
    else {
        return Err(format!("volume {number} is not reported"));
    };
    if report.cloning {
        return Err(format!("volume {number} is still being copied from its source"));
    }
    if let Some(error) = &report.error {
        return Err(format!("volume {number}: {error}"));
    }
    Ok(())
}

impl Controller {
    /// Registers one snapshot in `txn`; answers its entries and what it registered.
    fn register_snapshot(
        &self,
        txn: &mut Txn,
        request: &SnapRequest,
    ) -> Result<(ApiCallRcList, Registered), ApiCallRc> {
        valid_name(SNAP_CRT, NameKind::Snapshot, &request.name)?;
        let state = txn.state().clone();
        let rd = state.resource_definition(&request.rd).ok_or_else(|| rd_not_found(SNAP_CRT, &request.rd))?;
        let rd_key = NameKey::new(&rd.name);
        let snap_key = NameKey::new(&request.name);
        if state.snapshot_definitions.contains_key(&(rd_key.clone(), snap_key.clone())) {
            return Err(SNAP_CRT
                .rc(
                    FAIL_EXISTS_SNAPSHOT_DFN,
                    format!(
                        "A snapshot definition with the name '{}' already exists in resource definition '{}'.",
                        request.name, rd.name
                    ),
                )
                .with_correction("Choose another snapshot name."));
        }
        let props = checked_props(SNAP_CRT, PropObject::Snapshot, &request.props)?;
        let mut answer = Vec::new();
        let resources: Vec<&Resource> = if request.nodes.is_empty() {
            state.resources_of(&rd_key).filter(|r| !r.is_diskless()).collect()
        } else {
            let mut chosen = Vec::new();
            for node_name in &request.nodes {
                let node = NameKey::new(node_name);
                if state.nodes.get(&node).is_none() {
                    return Err(node_not_found(SNAP_CRT, node_name));
                }
                let resource = state.resources.get(&(rd_key.clone(), node.clone())).ok_or_else(|| {
                    SNAP_CRT.rc(
                        FAIL_NOT_FOUND_RSC,
                        format!("Resource '{}' on node '{node_name}' not found.", rd.name),
                    )
                })?;
                if resource.is_diskless() {
                    return Err(SNAP_CRT.rc(
                        FAIL_SNAPSHOTS_NOT_SUPPORTED,
                        format!("Cannot create snapshot from diskless resource on node '{node_name}'"),
                    ));
                }
                if !chosen.iter().any(|r: &&Resource| r.node_name.eq_ignore_ascii_case(&resource.node_name)) {
                    chosen.push(resource);
                }
            }
            chosen
        };
        if resources.is_empty() {
            return Err(SNAP_CRT
                .rc(FAIL_NOT_FOUND_RSC, "No resources found for snapshotting")
                .with_details(format!("Resource definition '{}' has no diskful resources.", rd.name)));
        }
        let mut snapshots = Vec::new();
        let mut nodes = Vec::new();
        for resource in resources {
            let node = NameKey::new(&resource.node_name);
            if !self.is_online(&node) {
                answer.push(SNAP_CRT.rc(
                    WARN_NOT_CONNECTED,
                    format!(
                        "Snapshot for resource '{}' will not be created on node '{}' because that node is currently offline.",
                        rd.name, resource.node_name
                    ),
                ));
                continue;
            }
            let mut volumes = Vec::new();
            for volume in &resource.volumes {
                if rd.volume_definition(volume.volume_number).is_none() {
                    continue;
                }
                snapshot_support(self, &state, &node, &volume.storage_pool)?;
                volume_ready(self, &node, &rd.name, volume.volume_number).map_err(|why| {
                    SNAP_CRT
                        .rc(
                            FAIL_SNAPSHOT_NOT_UPTODATE,
                            format!(
                                "Resource '{}' on node '{}' is not ready for a snapshot.",
                                rd.name, resource.node_name
                            ),
                        )
                        .with_cause(why)
                })?;
                volumes.push(SnapshotVolume {
                    volume_number: volume.volume_number,
                    storage_pool: volume.storage_pool.clone(),
                    uuid: new_uuid(),
                });
            }
            snapshots.push(NodeSnapshot {
                node_name: resource.node_name.clone(),
                uuid: new_uuid(),
                create_timestamp: now_ms(),
                flags: Vec::new(),
                resource_props: resource.props.clone(),
                layer_stack: resource.layer_stack.clone(),
                volumes,
            });
            nodes.push(node);
        }
        if snapshots.is_empty() {
            return Err(SNAP_CRT
                .rc(FAIL_NOT_CONNECTED, "No diskful connected satellite for snapshot or no resources.")
                .with_details("Snapshots need at least one diskful online satellite."));
        }
        let def = SnapshotDefinition {
            resource: rd.name.clone(),
            name: request.name.clone(),
            uuid: new_uuid(),
            props,
            flags: Vec::new(),
            rd_props: rd.props.clone(),
            volume_definitions: rd
                .volume_definitions
                .iter()
                .map(|vd| SnapshotVolumeDefinition {
                    volume_number: vd.volume_number,
                    size_kib: vd.size_kib,
                    vd_props: vd.props.clone(),
                })
                .collect(),
            snapshots,
        };
        let node_list: Vec<String> = def.snapshots.iter().map(|s| s.node_name.clone()).collect();
        answer.insert(
            0,
            SNAP_CRT
                .created(format!(
                    "New snapshot '{}' of resource '{}' on nodes '{}' registered.",
                    def.name,
                    rd.name,
                    node_list.join(", ")
                ))
                .with_details(format!(
                    "Snapshot '{}' of resource '{}' UUID is: {}",
                    def.name, rd.name, def.uuid
                ))
                .with_obj_ref("RscDfn", &rd.name)
                .with_obj_ref("SnapshotName", &def.name),
        );
        txn.put_snapshot_definition(def);
        for node in &nodes {
            txn.set_take(&rd_key, &snap_key, node, true);
        }
        let registered = Registered {
            rd: rd_key,
            snap: snap_key,
            rd_name: rd.name.clone(),
            snap_name: request.name.clone(),
            nodes,
        };
        Ok((answer, registered))
    }

    /// Registers the snapshots, lets the satellites take them, and keeps them only if every
    /// node took every one.
    async fn take_snapshots(&self, requests: Vec<SnapRequest>) -> ApiCallRcList {
        let result = self.write_tracked(|txn| {
            let mut answer = Vec::new();
            let mut registered = Vec::new();
            for request in &requests {
                let (entries, done) = self.register_snapshot(txn, request)?;
                answer.extend(entries);
                registered.push(done);
            }
            Ok((answer, registered))
        });
        let ((mut answer, registered), touched) = match result {
            Ok(ok) => ok,
            Err(err) => return vec![err],
        };
        let mut sync_answer = self.sync_nodes(&touched).await;
        let mut failures = Vec::new();
        for reg in &registered {
            for node in &reg.nodes {
                if let Err(why) = self.snapshot_taken(node, &reg.rd_name, &reg.snap_name) {
                    let node_name = node_display(&self.state(), node);
                    failures.push(
                        SNAP_CRT
                            .rc(
                                FAIL_UNKNOWN_ERROR,
                                format!(
                                    "(Node: '{node_name}') Snapshot '{}' of resource '{}' could not be taken.",
                                    reg.snap_name, reg.rd_name
                                ),
                            )
                            .with_cause(why),
                    );
                }
            }
        }
        let keep = failures.is_empty();
        let finish = self.write_tracked(|txn| {
            for reg in &registered {
                for node in &reg.nodes {
                    txn.set_take(&reg.rd, &reg.snap, node, false);
                }
                let key = (reg.rd.clone(), reg.snap.clone());
                let Some(mut def) = txn.state().snapshot_definitions.get(&key).cloned() else { continue };
                if keep {
                    if !def.is_successful() {
                        def.flags.push(SNAPSHOT_SUCCESSFUL.to_string());
                    }
                    txn.put_snapshot_definition(def);
                } else {
                    txn.remove_snapshot_definition(&reg.rd, &reg.snap);
                }
            }
            Ok(())
        });
        match finish {
            // On failure, the satellites remove what some of them took. On success nothing
            // needs pushing: "take now" is gone from every later desired state, and taking a
            // snapshot whose file exists does nothing.
            Ok(((), touched)) if !keep => sync_answer.extend(self.sync_nodes(&touched).await),
            Ok(_) => {}
            Err(err) => failures.push(err),
        }
        answer.extend(sync_answer);
        if keep {
            for reg in &registered {
                answer.push(SNAP_CRT.rc(
                    CREATED,
                    format!("Snapshot '{}' of resource '{}' taken.", reg.snap_name, reg.rd_name),
                ));
            }
        } else {
            answer.retain(|rc| !rc.is(CREATED));
            answer.extend(failures);
            answer.push(SNAP_CRT.rc(INFO_NOOP, "The snapshots were taken back; nothing was left behind."));
        }
        answer
    }

    /// Whether `node` reports every volume of the snapshot as taken.
    fn snapshot_taken(&self, node: &NameKey, rd: &str, snapshot: &str) -> Result<(), String> {
        let expected: Vec<i32> = self
            .state()
            .snapshot_definition(rd, snapshot)
            .and_then(|def| {
                def.on_node(node.as_str()).map(|s| s.volumes.iter().map(|v| v.volume_number).collect())
            })
            .unwrap_or_default();
        let observed = self.satellites.observed(node).ok_or("the satellite did not answer")?;
        for number in expected {
            let report = observed.snapshots.iter().find(|s| {
                s.resource.eq_ignore_ascii_case(rd)
                    && s.snapshot.eq_ignore_ascii_case(snapshot)
                    && s.volume_number == number
            });
            match report {
                Some(r) if r.error.is_none() && r.exists => {}
                Some(r) => {
                    return Err(format!(
                        "volume {number}: {}",
                        r.error.clone().unwrap_or_else(|| "the snapshot file does not exist".into())
                    ))
                }
                None => return Err(format!("volume {number}: not reported")),
            }
        }
        Ok(())
    }

    /// `POST /v1/resource-definitions/{rd}/snapshots`.
    pub async fn create_snapshot(&self, rd: &str, input: linstor_api::Snapshot) -> ApiCallRcList {
        let mut props = input.props;
        props.extend(input.snapshot_definition_props);
        self.take_snapshots(vec![SnapRequest {
            rd: rd.to_string(),
            name: input.name,
            nodes: input.nodes,
            props,
        }])
        .await
    }

    /// `POST /v1/actions/snapshot/multi`: every snapshot of the request, or none.
    pub async fn create_snapshots_multi(&self, input: CreateMultiSnapshotRequest) -> ApiCallRcList {
        if input.snapshots.is_empty() {
            return vec![SNAP_CRT.rc(FAIL_INVLD_REQUEST, "The request names no snapshots.")];
        }
        let mut requests = Vec::new();
        let mut seen = BTreeSet::new();
        for snap in input.snapshots {
            let Some(rd) = snap.resource_name.filter(|r| !r.is_empty()) else {
                return vec![SNAP_CRT
                    .rc(FAIL_INVLD_RSC_NAME, "A snapshot of the request has no resource_name.")
                    .with_correction("Give resource_name for every snapshot.")];
            };
            if !seen.insert((NameKey::new(&rd), NameKey::new(&snap.name))) {
                return vec![SNAP_CRT.rc(
                    FAIL_EXISTS_SNAPSHOT_DFN,
                    format!("Snapshot '{}' of resource '{rd}' is asked for twice.", snap.name),
                )];
            }
            let mut props = snap.props;
            props.extend(snap.snapshot_definition_props);
            requests.push(SnapRequest { rd, name: snap.name, nodes: snap.nodes, props });
        }
        self.take_snapshots(requests).await
    }

    /// `PUT .../snapshots/{snap}`: props of the snapshot definition.
    pub fn modify_snapshot(&self, rd: &str, snapshot: &str, input: PropsModify) -> ApiCallRcList {
        self.write_answer(|txn| {
            let Some(mut def) = txn.state().snapshot_definition(rd, snapshot).cloned() else {
                if txn.state().resource_definition(rd).is_none() {
                    return Err(rd_not_found(SNAP_MOD, rd));
                }
                return Err(snapshot_not_found(SNAP_MOD, rd, snapshot));
            };
            let change = PropsChange {
                override_props: &input.override_props,
                delete_props: &input.delete_props,
                delete_namespaces: &input.delete_namespaces,
            };
            let mut answer = modify_props(SNAP_MOD, PropObject::Snapshot, &mut def.props, change)?;
            answer.push(
                SNAP_MOD
                    .modified(format!(
                        "Snapshot definition '{}' of resource '{}' modified.",
                        def.name, def.resource
                    ))
                    .with_details(format!("Snapshot definition '{}' UUID is: {}", def.name, def.uuid)),
            );
            txn.put_snapshot_definition(def);
            Ok(answer)
        })
    }

    /// `DELETE .../snapshots/{snap}[?nodes=...]`: the files go with it.
    pub async fn delete_snapshot(&self, rd: &str, snapshot: &str, nodes: &[String]) -> ApiCallRcList {
        self.write_and_sync(|txn| {
            let Some(mut def) = txn.state().snapshot_definition(rd, snapshot).cloned() else {
                return Ok(vec![SNAP_DEL.rc(
                    WARN_NOT_FOUND,
                    format!("Snapshot definition '{snapshot}' of resource definition '{rd}' not found."),
                )]);
            };
            let rd_key = NameKey::new(&def.resource);
            let snap_key = NameKey::new(&def.name);
            if let Some(user) = restores_from(txn.state(), &def.resource, &def.name) {
                return Err(SNAP_DEL
                    .rc(
                        FAIL_IN_USE,
                        format!(
                            "Snapshot '{}' of resource '{}' is being restored into resource definition '{user}'.",
                            def.name, def.resource
                        ),
                    )
                    .with_correction("Wait until the restore is finished, or delete the restored resource definition."));
            }
            let mut answer = Vec::new();
            if nodes.is_empty() {
                for snap in &def.snapshots {
                    txn.set_take(&rd_key, &snap_key, &NameKey::new(&snap.node_name), false);
                }
                txn.remove_snapshot_definition(&rd_key, &snap_key);
                answer.push(
                    SNAP_DEL
                        .deleted(format!("Snapshot '{}' of resource '{}' deleted.", def.name, def.resource))
                        .with_details(format!("Snapshot definition '{}' UUID was: {}", def.name, def.uuid)),
                );
                return Ok(answer);
            }
            let mut missing = Vec::new();
            for node in nodes {
                match def.snapshots.iter().position(|s| s.node_name.eq_ignore_ascii_case(node)) {
                    Some(i) => {
                        let gone = def.snapshots.remove(i);
                        txn.set_take(&rd_key, &snap_key, &NameKey::new(&gone.node_name), false);
                        answer.push(SNAP_DEL.deleted(format!(
                            "Snapshot '{}' of resource '{}' on node '{}' deleted.",
                            def.name, def.resource, gone.node_name
                        )));
                    }
                    None => missing.push(node.clone()),
                }
            }
            if !missing.is_empty() {
                answer.push(SNAP_DEL.rc(
                    WARN_NOT_FOUND,
                    format!(
                        "Snapshot '{}' of resource '{}' was not found on given nodes: {}",
                        def.name,
                        def.resource,
                        missing.join(", ")
                    ),
                ));
            }
            if def.snapshots.is_empty() {
                txn.remove_snapshot_definition(&rd_key, &snap_key);
                answer.push(SNAP_DEL.deleted(format!(
                    "Snapshot definition '{}' of resource '{}' deleted: no node holds it any more.",
                    def.name, def.resource
                )));
            } else {
                txn.put_snapshot_definition(def);
            }
            Ok(answer)
        })
        .await
    }

    /// `POST .../snapshot-rollback/{snap}`: every diskful replica back to the snapshot's data
    /// (any snapshot, newer ones kept).
    pub async fn rollback_snapshot(&self, rd: &str, snapshot: &str) -> ApiCallRcList {
        const CALL: Call = Call::new(MASK_SNAPSHOT, MASK_MOD);
        let state = self.state();
        let Some(rd_obj) = state.resource_definition(rd) else { return vec![rd_not_found(CALL, rd)] };
        let Some(def) = state.snapshot_definition(rd, snapshot) else {
            return vec![snapshot_not_found(CALL, &rd_obj.name, snapshot)];
        };
        let rd_key = NameKey::new(&rd_obj.name);
        let (rd_name, snap_name) = (rd_obj.name.clone(), def.name.clone());
        if !def.is_successful() {
            return vec![CALL.rc(
                FAIL_NOT_FOUND_SNAPSHOT,
                format!("Snapshot '{snap_name}' of resource '{rd_name}' was never completed; it cannot be rolled back to."),
            )];
        }
        if state.pending.rollbacks.keys().any(|(r, _)| r == &rd_key) {
            return vec![CALL.rc(
                FAIL_SNAPSHOT_ROLLBACK_IN_PROGRESS,
                format!("A rollback of resource '{rd_name}' is already in progress."),
            )];
        }
        let resources: Vec<Resource> =
            state.resources_of(&rd_key).filter(|r| !r.is_diskless()).cloned().collect();
        if resources.is_empty() {
            return vec![CALL.rc(
                FAIL_NOT_FOUND_RSC,
                format!("Resource definition '{rd_name}' has no resources to roll back."),
            )];
        }
        for resource in &resources {
            let Some(snap) = def.on_node(&resource.node_name) else {
                return vec![CALL
                    .rc(
                        FAIL_NOT_FOUND_SNAPSHOT,
                        "Some volumes were not captured by the snapshot. Cannot rollback.",
                    )
                    .with_details(format!(
                        "Node '{}' holds resource '{rd_name}' but not snapshot '{snap_name}'.",
                        resource.node_name
                    ))];
            };
            for volume in &resource.volumes {
                match snap.volumes.iter().find(|v| v.volume_number == volume.volume_number) {
                    Some(v) if v.storage_pool.eq_ignore_ascii_case(&volume.storage_pool) => {}
                    Some(v) => {
                        return vec![CALL.rc(
                            FAIL_INVLD_STOR_DRIVER,
                            format!(
                                "Volume {} of '{rd_name}' on node '{}' is in pool '{}', its snapshot in pool '{}'.",
                                volume.volume_number, resource.node_name, volume.storage_pool, v.storage_pool
                            ),
                        )
                        .with_correction("Restore the snapshot into a new resource definition instead.")]
                    }
                    None => {
                        return vec![CALL
                            .rc(FAIL_NOT_FOUND_SNAPSHOT, "Some volumes were not captured by the snapshot. Cannot rollback.")
                            .with_details(format!(
                                "Volume {} of resource '{rd_name}' on node '{}' is not in snapshot '{snap_name}'.",
                                volume.volume_number, resource.node_name
                            ))]
                    }
                }
            }
        }
        // Ask the satellites right before deciding: "in use" must be fresh.
        let nodes: BTreeSet<NameKey> = resources.iter().map(|r| NameKey::new(&r.node_name)).collect();
        let mut answer = self.sync_nodes(&nodes).await;
        for resource in &resources {
            let node = NameKey::new(&resource.node_name);
            if !self.is_online(&node) {
                answer.push(
                    CALL.rc(
                        FAIL_NOT_CONNECTED,
                        "Snapshot rollback cannot be performed when the corresponding satellites are not connected.",
                    )
                    .with_details(format!("Node '{}' is not connected.", resource.node_name)),
                );
                return answer;
            }
            let busy = self.satellites.observed(&node).is_some_and(|o| {
                o.volumes.iter().any(|v| v.resource.eq_ignore_ascii_case(&rd_name) && v.in_use)
            });
            if busy {
                answer.push(
                    CALL.rc(
                        FAIL_IN_USE,
                        format!("Resource '{rd_name}' on node '{}' is still in use.", resource.node_name),
                    )
                    .with_cause("Resource is mounted/in use (a volume is mounted or held open by a process).")
                    .with_correction(format!(
                        "Un-mount resource '{rd_name}' on the node '{}' and stop the processes using it, then try again.",
                        resource.node_name
                    )),
                );
                return answer;
            }
        }
        let id = format!("rollback-{}", new_uuid());
        let mut old_sizes = Vec::new();
        let start = self.write_tracked(|txn| {
            let Some(def) = txn.state().snapshot_definition(&rd_name, &snap_name).cloned() else {
                return Err(snapshot_not_found(CALL, &rd_name, &snap_name));
            };
            if txn.state().pending.rollbacks.keys().any(|(r, _)| r == &rd_key) {
                return Err(CALL.rc(
                    FAIL_SNAPSHOT_ROLLBACK_IN_PROGRESS,
                    format!("A rollback of resource '{rd_name}' is already in progress."),
                ));
            }
            let mut rd = super::definitions::existing_rd(txn, CALL, &rd_name)?;
            for vd in &mut rd.volume_definitions {
                if let Some(svd) = def.volume_definition(vd.volume_number) {
                    if svd.size_kib != vd.size_kib {
                        old_sizes.push((vd.volume_number, vd.size_kib));
                        vd.size_kib = svd.size_kib;
                    }
                }
            }
            if !old_sizes.is_empty() {
                txn.put_resource_definition(rd);
            }
            for node in &nodes {
                txn.set_rollback(
                    &rd_key,
                    node,
                    Some(PendingRollback { id: id.clone(), snapshot: def.name.clone() }),
                );
            }
            Ok(())
        });
        let touched = match start {
            Ok(((), touched)) => touched,
            Err(err) => {
                answer.push(err);
                return answer;
            }
        };
        answer.extend(self.sync_nodes(&touched).await);
        let mut failures = Vec::new();
        for resource in &resources {
            let node = NameKey::new(&resource.node_name);
            let observed = self.satellites.observed(&node);
            for volume in &resource.volumes {
                let vid = rollback_volume_id(&id, volume.volume_number);
                let result = observed.as_ref().and_then(|o| o.ops.iter().find(|r| r.id == vid));
                let error = match result {
                    Some(r) => r.error.clone(),
                    None => Some("the satellite did not report the rollback".to_string()),
                };
                if let Some(error) = error {
                    failures.push(
                        CALL.rc(
                            FAIL_UNKNOWN_ERROR,
                            format!(
                                "(Node: '{}') Volume {} of resource '{rd_name}' could not be rolled back.",
                                resource.node_name, volume.volume_number
                            ),
                        )
                        .with_cause(error),
                    );
                }
            }
        }
        let done = failures.is_empty();
        let finish = self.write_tracked(|txn| {
            for node in &nodes {
                txn.set_rollback(&rd_key, node, None);
            }
            if !done && !old_sizes.is_empty() {
                if let Some(mut rd) = txn.state().resource_definition(&rd_name).cloned() {
                    for vd in &mut rd.volume_definitions {
                        if let Some((_, size)) = old_sizes.iter().find(|(n, _)| *n == vd.volume_number) {
                            vd.size_kib = *size;
                        }
                    }
                    txn.put_resource_definition(rd);
                }
            }
            Ok(())
        });
        match finish {
            Ok(((), touched)) => answer.extend(self.sync_nodes(&touched).await),
            Err(err) => answer.push(err),
        }
        if done {
            for resource in &resources {
                answer.push(CALL.modified(format!(
                    "Resource '{rd_name}' on node '{}' rolled back to snapshot '{snap_name}'.",
                    resource.node_name
                )));
            }
        } else {
            answer.extend(failures);
        }
        answer
    }
}

/// The resource definition being restored from snapshot `snapshot` of `rd`, if any.
pub fn restores_from(state: &State, rd: &str, snapshot: &str) -> Option<String> {
    state.resources.values().find_map(|r| {
        r.volumes
            .iter()
            .any(|v| {
                matches!(&v.source, Some(VolumeSource::Snapshot { resource, snapshot: s })
                if resource.eq_ignore_ascii_case(rd) && s.eq_ignore_ascii_case(snapshot))
            })
            .then(|| r.name.clone())
    })
}

/// The resource definition being cloned from `rd`, if any.
pub fn clones_from(state: &State, rd: &str) -> Option<String> {
    state.resources.values().find_map(|r| {
        r.volumes
            .iter()
            .any(|v| matches!(&v.source, Some(VolumeSource::Volume { resource }) if resource.eq_ignore_ascii_case(rd)))
            .then(|| r.name.clone())
    })
}

/// The snapshot definitions a view request selects: of the given resource definitions (all
/// when empty), with a snapshot on one of the given nodes (any when empty), paged.
pub fn select_snapshots<'a>(
    state: &'a State,
    rds: &[NameKey],
    nodes: &[NameKey],
    snapshots: &[NameKey],
    offset: usize,
    limit: usize,
) -> Vec<&'a SnapshotDefinition> {
    let selected = state.snapshot_definitions.iter().filter(move |((rd, snap), def)| {
        (rds.is_empty() || rds.contains(rd))
            && (snapshots.is_empty() || snapshots.contains(snap))
            && (nodes.is_empty() || def.snapshots.iter().any(|s| nodes.contains(&NameKey::new(&s.node_name))))
    });
    page(selected.map(|(_, def)| def), offset, limit)
}

#[cfg(test)]
mod tests;
