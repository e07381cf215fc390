//! New resource definitions from existing data: restore of a snapshot (volume definitions,
//! then resources) and clone of a resource definition.
//!
//! Rules kept here:
//! - A new volume carries its source (snapshot or volume) until its satellite reports it made;
//!   then the source is cleared, so a volume lost later is never silently made again from it.
//! - A clone is created whole in one transaction: resource definition, props (with the
//!   request's overrides and deletions applied, `cloned-from` set), volume definitions and
//!   resources. It never appears with the source's identity.
//! - Reflink clones are done when the call answers. Copies (no reflink) run in the background:
//!   the clone is `CLONING` until a watcher sees every volume made, then `COMPLETE`; a copy
//!   that fails leaves it `FAILED`. Watchers are started again after a restart.
//! - A restore or clone whose volumes a satellite cannot make is taken back whole.

use super::definitions::{
    add_volume_definition, existing_rd, new_resource_definition, rd_not_found, NewDefinition, NewVolume,
};
use super::nodes::node_not_found;
use super::props::{modify_props, PropsChange};
use super::snapshots::{now_ms, snapshot_not_found};
use super::{new_uuid, Call};
use crate::model::{DrbdResourceSettings, ProviderKind, Resource, ResourceVolume, Txn, VolumeSource};
use crate::Controller;
use linstor_api::consts::*;
use linstor_api::names::NameKey;
use linstor_api::props::PropObject;
use linstor_api::{ApiCallRc, ApiCallRcList, ResourceDefinitionCloneRequest, SnapshotRestore};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const RESTORE: Call = Call::new(MASK_SNAPSHOT, MASK_CRT);
const RSC_CRT: Call = Call::new(MASK_RSC, MASK_CRT);
const RD_CRT: Call = Call::new(MASK_RSC_DFN, MASK_CRT);

/// The prop naming the resource definition a clone was made from (LINSTOR's `cloned-from`).
pub const KEY_CLONED_FROM: &str = "cloned-from";
/// Flags of a clone's resource definition while its data is copied, and when that failed.
pub const FLAG_CLONING: &str = "CLONING";
pub const FLAG_FAILED: &str = "FAILED";

/// `GET .../clone/{name}` values.
pub const CLONE_COMPLETE: &str = "COMPLETE";
pub const CLONE_CLONING: &str = "CLONING";
pub const CLONE_FAILED: &str = "FAILED";

/// How a set of new volumes is doing, from their satellites' last reports.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Progress {
    Done,
    Copying,
    Failed(Vec<(String, String)>),
}

/// The first page of a clone's answer (`ResourceDefinitionCloneStarted`).
pub struct CloneAnswer {
    pub source_name: String,
    pub clone_name: String,
    pub messages: ApiCallRcList,
}

impl Controller {
    /// The state of the volumes of `rd` that still carry a source.
    fn copy_progress(&self, rd: &str) -> Progress {
        let state = self.state();
        let key = NameKey::new(rd);
        let mut failures = Vec::new();
        let mut copying = false;
        for resource in state.resources_of(&key) {
            let node = NameKey::new(&resource.node_name);
            let observed = self.satellites.observed(&node);
            for volume in resource.volumes.iter().filter(|v| v.source.is_some()) {
                let report = observed.as_ref().and_then(|o| {
                    o.volumes.iter().find(|v| {
                        v.resource.eq_ignore_ascii_case(rd) && v.volume_number == volume.volume_number
                    })
                });
                match report {
                    Some(r) if r.cloning => copying = true,
                    Some(r) => {
                        if let Some(error) = &r.error {
                            failures.push((
                                resource.node_name.clone(),
                                format!("volume {}: {error}", volume.volume_number),
                            ));
                        }
                    }
                    None => copying = true,
                }
            }
        }
        if !failures.is_empty() {
            Progress::Failed(failures)
        } else if copying {
            Progress::Copying
        } else {
            Progress::Done
        }
    }

    /// Clears the sources of `rd`'s volumes and its CLONING flag: its data is all there.
    /// Nothing needs pushing: a satellite ignores the source of a volume whose file exists.
    fn finish_copies(&self, rd: &str) -> Result<(), ApiCallRc> {
        self.write(|txn| {
            finish_in(txn, rd);
            Ok(())
        })
    }

    /// Watches the background copies of `rd` until they are done (sources cleared, CLONING
    /// removed) or failed (FAILED set), or the resource definition is gone.
    pub fn watch_copies(self: &Arc<Self>, rd: String) {
        let ctl = Arc::clone(self);
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(200);
            loop {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
                let state = ctl.state();
                let key = NameKey::new(&rd);
                if state.resource_definitions.get(&key).is_none() {
                    return;
                }
                let nodes: BTreeSet<NameKey> = state
                    .resources_of(&key)
                    .filter(|r| r.volumes.iter().any(|v| v.source.is_some()))
                    .map(|r| NameKey::new(&r.node_name))
                    .collect();
                if !nodes.is_empty() {
                    ctl.sync_nodes(&nodes).await;
                }
                match ctl.copy_progress(&rd) {
                    Progress::Copying => continue,
                    Progress::Done => {
                        if let Err(err) = ctl.finish_copies(&rd) {
                            tracing::warn!("cannot mark the data of '{rd}' complete: {}", err.message);
                            continue;
                        }
                        tracing::info!("the data of '{rd}' is complete");
                        return;
                    }
                    Progress::Failed(failures) => {
                        for (node, why) in &failures {
                            tracing::warn!("copying the data of '{rd}' on '{node}' failed: {why}");
                        }
                        let _ = ctl.write(|txn| {
                            if let Some(mut def) = txn.state().resource_definition(&rd).cloned() {
                                def.flags.retain(|f| f != FLAG_CLONING);
                                if !def.flags.iter().any(|f| f == FLAG_FAILED) {
                                    def.flags.push(FLAG_FAILED.to_string());
                                }
                                txn.put_resource_definition(def);
                            }
                            Ok(())
                        });
                        return;
                    }
                }
            }
        });
    }

    /// Starts a watcher for every resource definition whose volumes are still being copied
    /// (after a restart). Call once the satellites have been synced.
    pub fn resume_copy_watchers(self: &Arc<Self>) {
        let state = self.state();
        let mut rds = BTreeSet::new();
        for resource in state.resources.values() {
            if resource.volumes.iter().any(|v| v.source.is_some()) {
                rds.insert(resource.name.clone());
            }
        }
        for rd in state.resource_definitions.values() {
            if rd.flags.iter().any(|f| f == FLAG_CLONING) {
                rds.insert(rd.name.clone());
            }
        }
        for rd in rds {
            self.watch_copies(rd);
        }
    }

    /// `POST .../snapshot-restore-volume-definition/{snap}`: the snapshot's volume definitions
    /// (number, size, props) in the target resource definition.
    pub async fn restore_volume_definitions(
        &self,
        rd: &str,
        snapshot: &str,
        input: SnapshotRestore,
    ) -> ApiCallRcList {
        self.write_and_sync(|txn| {
            let from = existing_rd(txn, RESTORE, rd)?;
            let def = txn
                .state()
                .snapshot_definition(&from.name, snapshot)
                .cloned()
                .ok_or_else(|| snapshot_not_found(RESTORE, &from.name, snapshot))?;
            let to = existing_rd(txn, RESTORE, &input.to_resource)?;
            let to_key = NameKey::new(&to.name);
            let mut answer = Vec::new();
            for svd in &def.volume_definitions {
                answer.push(add_volume_definition(
                    txn,
                    &to_key,
                    NewVolume {
                        number: Some(svd.volume_number),
                        size_kib: svd.size_kib,
                        flags: Vec::new(),
                        props: svd.vd_props.clone(),
                        minor: None,
                    },
                )?);
            }
            answer.push(RESTORE.created(format!(
                "Volume definitions of resource definition '{}' restored from resource '{}', snapshot '{}'.",
                to.name, from.name, def.name
            )));
            Ok(answer)
        })
        .await
    }

    /// `POST .../snapshot-restore-resource/{snap}`: resources of the target resource
    /// definition on every node that holds the snapshot (or `nodes`), their volumes made from
    /// the snapshot's data.
    pub async fn restore_resources(
        self: &Arc<Self>,
        rd: &str,
        snapshot: &str,
        input: SnapshotRestore,
    ) -> ApiCallRcList {
        let result = self.write_tracked(|txn| {
            let from = existing_rd(txn, RESTORE, rd)?;
            let def = txn
                .state()
                .snapshot_definition(&from.name, snapshot)
                .cloned()
                .ok_or_else(|| snapshot_not_found(RESTORE, &from.name, snapshot))?;
            if !def.is_successful() {
                return Err(RESTORE.rc(
                    FAIL_NOT_FOUND_SNAPSHOT,
                    format!("Snapshot '{}' of resource '{}' was never completed; it cannot be restored.", def.name, def.resource),
                ));
            }
            let to = existing_rd(txn, RESTORE, &input.to_resource)?;
            let to_key = NameKey::new(&to.name);
            if txn.state().resources_of(&to_key).next().is_some() {
                return Err(RESTORE
                    .rc(FAIL_EXISTS_RSC, "Cannot restore to resource definition which already has resources")
                    .with_details(format!("Resource definition '{}' already has resources.", to.name)));
            }
            let nodes: Vec<String> = if input.nodes.is_empty() {
                def.snapshots.iter().map(|s| s.node_name.clone()).collect()
            } else {
                input.nodes.clone()
            };
            let mut answer = Vec::new();
            let mut created = Vec::new();
            for node_name in &nodes {
                let node = NameKey::new(node_name);
                let node_obj = txn.state().nodes.get(&node).cloned().ok_or_else(|| node_not_found(RESTORE, node_name))?;
                let snap = def.on_node(node_name).ok_or_else(|| {
                    RESTORE.rc(
                        FAIL_NOT_FOUND_SNAPSHOT,
                        format!("Snapshot '{}' of resource '{}' on node '{}' not found.", def.name, def.resource, node_obj.name),
                    )
                })?;
                if txn.state().resources.contains_key(&(to_key.clone(), node.clone())) {
                    continue;
                }
                let mut volumes = Vec::new();
                for vd in &to.volume_definitions {
                    let number = vd.volume_number;
                    let svd = def.volume_definition(number).ok_or_else(|| {
                        RESTORE.rc(
                            FAIL_NOT_FOUND_SNAPSHOT_VLM_DFN,
                            format!("Snapshot does not contain required volume number {number}"),
                        )
                    })?;
                    if svd.size_kib != vd.size_kib {
                        return Err(RESTORE.rc(
                            FAIL_INVLD_VLM_SIZE,
                            format!(
                                "Snapshot size does not match for volume number {number}; snapshot size: {}KiB, required size: {}KiB",
                                svd.size_kib, vd.size_kib
                            ),
                        ));
                    }
                    let svol = snap.volumes.iter().find(|v| v.volume_number == number).ok_or_else(|| {
                        RESTORE.rc(
                            FAIL_NOT_FOUND_SNAPSHOT_VLM_DFN,
                            format!("Snapshot '{}' on node '{}' does not contain volume number {number}", def.name, node_obj.name),
                        )
                    })?;
                    let pool_name = input
                        .stor_pool_rename
                        .iter()
                        .find(|(old, _)| old.eq_ignore_ascii_case(&svol.storage_pool))
                        .map_or_else(|| svol.storage_pool.clone(), |(_, new)| new.clone());
                    let pool = txn.state().storage_pool(node_name, &pool_name).cloned().ok_or_else(|| {
                        RESTORE.rc(
                            FAIL_NOT_FOUND_STOR_POOL,
                            format!("Storage pool '{pool_name}' on node '{}' not found.", node_obj.name),
                        )
                    })?;
                    if !matches!(pool.provider_kind, ProviderKind::File | ProviderKind::FileThin) {
                        return Err(RESTORE.rc(
                            FAIL_INVLD_PROVIDER,
                            format!(
                                "Storage pool '{}' on node '{}' is {}; a snapshot of a FILE pool restores into FILE or FILE_THIN pools only.",
                                pool.name,
                                node_obj.name,
                                pool.provider_kind.as_str()
                            ),
                        ));
                    }
                    volumes.push(ResourceVolume {
                        volume_number: number,
                        storage_pool: pool.name.clone(),
                        uuid: new_uuid(),
                        props: Default::default(),
                        source: Some(VolumeSource::Snapshot { resource: def.resource.clone(), snapshot: def.name.clone() }),
                    });
                }
                let layer_stack =
                    if snap.layer_stack.is_empty() { vec!["STORAGE".to_string()] } else { snap.layer_stack.clone() };
                let resource = Resource {
                    name: to.name.clone(),
                    node_name: node_obj.name.clone(),
                    uuid: new_uuid(),
                    props: snap.resource_props.clone(),
                    flags: Vec::new(),
                    layer_stack,
                    create_timestamp: now_ms(),
                    volumes,
                };
                answer.push(
                    RSC_CRT
                        .created(format!("New resource '{}' on node '{}' registered.", to.name, node_obj.name))
                        .with_details(format!("Resource UUID is: {}", resource.uuid)),
                );
                txn.put_resource(resource);
                created.push(node);
            }
            if to.volume_definitions.is_empty() {
                answer.push(
                    RESTORE
                        .rc(WARN_NOT_FOUND, "No volumes to restore.")
                        .with_details("The target resource definition has no volume definitions. The restored resources will be empty.")
                        .with_correction("Restore the volume definitions to the target resource definition."),
                );
            }
            Ok((answer, to.name.clone(), def.resource.clone(), def.name.clone(), created))
        });
        let ((mut answer, to, from, snap, created), touched) = match result {
            Ok(ok) => ok,
            Err(err) => return vec![err],
        };
        answer.extend(self.sync_nodes(&touched).await);
        match self.copy_progress(&to) {
            Progress::Failed(failures) => {
                for (node, why) in failures {
                    answer.push(
                        RESTORE
                            .rc(
                                FAIL_UNKNOWN_ERROR,
                                format!("(Node: '{node}') Resource '{to}' could not be restored."),
                            )
                            .with_cause(why),
                    );
                }
                let to_key = NameKey::new(&to);
                let undo = self.write_tracked(|txn| {
                    for node in &created {
                        txn.remove_resource(&to_key, node);
                    }
                    Ok(())
                });
                match undo {
                    Ok(((), touched)) => {
                        answer.extend(self.sync_nodes(&touched).await);
                        answer.push(
                            RESTORE.rc(INFO_NOOP, "The restore was taken back; nothing was left behind."),
                        );
                    }
                    Err(err) => answer.push(err),
                }
                answer.retain(|rc| !rc.is(CREATED));
                return answer;
            }
            Progress::Copying => {
                answer.push(RESTORE.rc(
                    INFO_NOOP,
                    format!("The data of '{to}' is being copied in the background (no reflink between the pools)."),
                ));
                self.watch_copies(to.clone());
            }
            Progress::Done => {
                if let Err(err) = self.finish_copies(&to) {
                    answer.push(err);
                }
            }
        }
        let uuids: Vec<String> =
            self.state().resources_of(&NameKey::new(&to)).map(|r| r.uuid.clone()).collect();
        answer.push(
            RESTORE
                .created(format!("Resource '{to}' restored from resource '{from}', snapshot '{snap}'."))
                .with_details(format!("Resource UUIDs: {}", uuids.join(", "))),
        );
        answer
    }

    /// `POST .../clone`: a new resource definition with the source's volume definitions and a
    /// copy of its data on every node that holds it.
    pub async fn clone_resource_definition(
        self: &Arc<Self>,
        src: &str,
        request: ResourceDefinitionCloneRequest,
    ) -> CloneAnswer {
        let requested = request.name.clone().filter(|n| !n.is_empty());
        let mut out = CloneAnswer {
            source_name: src.to_string(),
            clone_name: requested.clone().or(request.external_name.clone()).unwrap_or_default(),
            messages: Vec::new(),
        };
        let state = self.state();
        let Some(src_rd) = state.resource_definition(src) else {
            out.messages.push(rd_not_found(RD_CRT, src));
            return out;
        };
        out.source_name = src_rd.name.clone();
        let src_key = NameKey::new(&src_rd.name);
        let result = self.write_tracked(|txn| self.register_clone(txn, &src_key, &request));
        let ((entries, clone_name, created), touched) = match result {
            Ok(ok) => ok,
            Err(err) => {
                out.messages.push(err);
                return out;
            }
        };
        out.clone_name = clone_name.clone();
        out.messages.extend(entries);
        out.messages.extend(self.sync_nodes(&touched).await);
        match self.copy_progress(&clone_name) {
            Progress::Failed(failures) => {
                for (node, why) in failures {
                    out.messages.push(
                        RD_CRT
                            .rc(
                                FAIL_UNKNOWN_ERROR,
                                format!("(Node: '{node}') Resource '{clone_name}' could not be cloned."),
                            )
                            .with_cause(why),
                    );
                }
                let key = NameKey::new(&clone_name);
                let undo = self.write_tracked(|txn| {
                    for node in &created {
                        txn.remove_resource(&key, node);
                    }
                    txn.remove_resource_definition(&key);
                    Ok(())
                });
                match undo {
                    Ok(((), touched)) => {
                        out.messages.extend(self.sync_nodes(&touched).await);
                        out.messages
                            .push(RD_CRT.rc(INFO_NOOP, "The clone was taken back; nothing was left behind."));
                    }
                    Err(err) => out.messages.push(err),
                }
                out.messages.retain(|rc| !rc.is(CREATED));
            }
            Progress::Copying => {
                out.messages.push(RD_CRT.rc(
                    INFO_NOOP,
                    format!(
                        "The data of '{clone_name}' is being copied in the background (the pool has no reflink); \
                         its clone status is CLONING until it is done."
                    ),
                ));
                self.watch_copies(clone_name);
            }
            Progress::Done => {
                if let Err(err) = self.finish_copies(&clone_name) {
                    out.messages.push(err);
                }
            }
        }
        out
    }

    /// The clone's objects in `txn`: answers its entries, name and the nodes given replicas.
    fn register_clone(
        &self,
        txn: &mut Txn,
        src_key: &NameKey,
        request: &ResourceDefinitionCloneRequest,
    ) -> Result<(ApiCallRcList, String, Vec<NameKey>), ApiCallRc> {
        let state = txn.state().clone();
        let src =
            state.resource_definitions.get(src_key).ok_or_else(|| rd_not_found(RD_CRT, src_key.as_str()))?;
        let name = request.name.clone().filter(|n| !n.is_empty());
        let external = request.external_name.clone().filter(|n| !n.is_empty());
        if name.is_none() && external.is_none() {
            return Err(RD_CRT
                .rc(FAIL_INVLD_RSC_NAME, "No name for the cloned resource was specified.")
                .with_correction("Give 'name' or 'external_name'."));
        }
        if src.flags.iter().any(|f| f == FLAG_CLONING || f == FLAG_FAILED) {
            return Err(RD_CRT
                .rc(
                    FAIL_IN_USE,
                    format!("Resource definition '{}' is itself a clone that is not complete.", src.name),
                )
                .with_correction("Wait until its clone status is COMPLETE."));
        }
        let sources: Vec<&Resource> = state.resources_of(src_key).filter(|r| !r.is_diskless()).collect();
        for resource in &sources {
            let node = NameKey::new(&resource.node_name);
            if !self.is_online(&node) {
                return Err(RD_CRT
                    .rc(
                        FAIL_NOT_CONNECTED,
                        format!("Node '{}' of the clone source is not connected.", resource.node_name),
                    )
                    .with_correction("Clone when every node that holds the source is online."));
            }
            for volume in &resource.volumes {
                let pool = state.storage_pool(&resource.node_name, &volume.storage_pool);
                if !pool
                    .is_some_and(|p| matches!(p.provider_kind, ProviderKind::File | ProviderKind::FileThin))
                {
                    return Err(RD_CRT
                        .rc(FAIL_INVLD_PROVIDER, "Clone source contains unsupported storage pools")
                        .with_details(format!(
                            "Volume {} on node '{}' is in pool '{}'.",
                            volume.volume_number, resource.node_name, volume.storage_pool
                        )));
                }
                let observed = self.satellites.observed(&node);
                let report = observed.as_ref().and_then(|o| {
                    o.volumes.iter().find(|v| {
                        v.resource.eq_ignore_ascii_case(&src.name) && v.volume_number == volume.volume_number
                    })
                });
                match report {
                    Some(r) if r.error.is_none() && !r.cloning => {}
                    _ => {
                        return Err(RD_CRT
                            .rc(
                                FAIL_SNAPSHOT_NOT_UPTODATE,
                                format!(
                                    "Cannot clone resource-definition '{}': volume {} on node '{}' is not up to date.",
                                    src.name, volume.volume_number, resource.node_name
                                ),
                            )
                            .with_cause(report.and_then(|r| r.error.clone()).unwrap_or_else(|| "no report".into())))
                    }
                }
            }
        }
        let mut props = src.props.clone();
        props.insert(KEY_CLONED_FROM.to_string(), src.name.clone());
        let layer_stack =
            if request.layer_list.is_empty() { src.layer_stack.clone() } else { request.layer_list.clone() };
        let created = new_resource_definition(
            txn,
            NewDefinition {
                name,
                external_name: external,
                resource_group: request
                    .resource_group
                    .clone()
                    .filter(|g| !g.is_empty())
                    .or(Some(src.resource_group.clone())),
                props: Default::default(),
                layer_stack,
                drbd: DrbdResourceSettings {
                    peer_slots: src.drbd.peer_slots,
                    transport_type: src.drbd.transport_type.clone(),
                    ..Default::default()
                },
            },
        )?;
        let mut answer = created.answer;
        let mut rd = existing_rd(txn, RD_CRT, &created.name)?;
        // The source's props, then the request's changes, in this same transaction.
        let change = PropsChange {
            override_props: &request.override_props,
            delete_props: &request.delete_props,
            delete_namespaces: &request.delete_namespaces,
        };
        answer.extend(modify_props(RD_CRT, PropObject::ResourceDefinition, &mut props, change)?);
        props.insert(KEY_CLONED_FROM.to_string(), src.name.clone());
        rd.props = props;
        rd.flags.push(FLAG_CLONING.to_string());
        txn.put_resource_definition(rd);
        for vd in &src.volume_definitions {
            answer.push(add_volume_definition(
                txn,
                &created.key,
                NewVolume {
                    number: Some(vd.volume_number),
                    size_kib: vd.size_kib,
                    flags: vd.flags.iter().filter(|f| f.as_str() == "GROSS_SIZE").cloned().collect(),
                    props: vd.props.clone(),
                    minor: None,
                },
            )?);
        }
        let mut nodes = Vec::new();
        for resource in sources {
            let node = NameKey::new(&resource.node_name);
            let volumes = resource
                .volumes
                .iter()
                .filter(|v| src.volume_definition(v.volume_number).is_some())
                .map(|v| ResourceVolume {
                    volume_number: v.volume_number,
                    storage_pool: v.storage_pool.clone(),
                    uuid: new_uuid(),
                    props: v.props.clone(),
                    source: Some(VolumeSource::Volume { resource: src.name.clone() }),
                })
                .collect();
            let clone = Resource {
                name: created.name.clone(),
                node_name: resource.node_name.clone(),
                uuid: new_uuid(),
                props: resource.props.clone(),
                flags: Vec::new(),
                layer_stack: resource.layer_stack.clone(),
                create_timestamp: now_ms(),
                volumes,
            };
            answer.push(
                RSC_CRT
                    .created(format!(
                        "New resource '{}' on node '{}' registered.",
                        clone.name, clone.node_name
                    ))
                    .with_details(format!("Resource UUID is: {}", clone.uuid)),
            );
            txn.put_resource(clone);
            nodes.push(node);
        }
        // No replicas: nothing to copy, the clone is complete at once.
        if nodes.is_empty() {
            finish_in(txn, &created.name);
        }
        Ok((answer, created.name, nodes))
    }

    /// `GET .../clone/{name}`: COMPLETE, CLONING or FAILED.
    pub fn clone_status(&self, clone: &str) -> Result<&'static str, ApiCallRc> {
        let state = self.state();
        let rd =
            state.resource_definition(clone).filter(|rd| rd.props.contains_key(KEY_CLONED_FROM)).ok_or_else(
                || Call::new(MASK_RSC_DFN, 0).rc(FAIL_NOT_FOUND_RSC_DFN, "Cloned resource not found."),
            )?;
        Ok(if rd.flags.iter().any(|f| f == FLAG_FAILED) {
            CLONE_FAILED
        } else if rd.flags.iter().any(|f| f == FLAG_CLONING) {
            CLONE_CLONING
        } else {
            CLONE_COMPLETE
        })
    }
}

/// Clears the sources of `rd`'s volumes and its CLONING flag, in `txn`.
fn finish_in(txn: &mut Txn, rd: &str) {
    let key = NameKey::new(rd);
    let resources: Vec<Resource> = txn.state().resources_of(&key).cloned().collect();
    for mut resource in resources {
        if resource.volumes.iter().any(|v| v.source.is_some()) {
            for volume in &mut resource.volumes {
                volume.source = None;
            }
            txn.put_resource(resource);
        }
    }
    if let Some(mut def) = txn.state().resource_definition(rd).cloned() {
        if def.flags.iter().any(|f| f == FLAG_CLONING) {
            def.flags.retain(|f| f != FLAG_CLONING);
            txn.put_resource_definition(def);
        }
    }
}
