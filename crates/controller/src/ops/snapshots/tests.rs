//! The snapshot protocol against a stand-in satellite: what the desired states carry (take now,
//! rollback ids, volume sources), what survives a restart, and the refusals.

use super::*;
use crate::link::{DesiredState, Observed, OpResult, PoolReport, SnapshotReport, VolumeReport};
use crate::model::{Node, ResourceDefinition, StoragePool, VolumeDefinition};
use crate::satellites::{BoxFuture, SatelliteLink, TouchedNodes};
use crate::store::SqliteStore;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

const NODE: &str = "n1";

/// Takes what it is told to take, remembers what it holds, runs rollbacks, makes volumes.
#[derive(Default)]
struct FakeSatellite {
    seen: Mutex<Vec<DesiredState>>,
    held: Mutex<HashSet<(String, String, i32)>>,
    reflink: bool,
    in_use: Mutex<bool>,
}

impl FakeSatellite {
    fn new(reflink: bool) -> Arc<FakeSatellite> {
        Arc::new(FakeSatellite { reflink, ..Default::default() })
    }
    fn last(&self) -> DesiredState {
        self.seen.lock().unwrap().last().cloned().unwrap_or_default()
    }
}

impl SatelliteLink for FakeSatellite {
    fn apply(&self, desired: DesiredState) -> BoxFuture<Result<Observed, String>> {
        self.seen.lock().unwrap().push(desired.clone());
        let mut held = self.held.lock().unwrap();
        let wanted: HashSet<_> = desired
            .snapshots
            .iter()
            .map(|s| (s.resource.clone(), s.snapshot.clone(), s.volume_number))
            .collect();
        held.retain(|k| wanted.contains(k));
        let mut observed = Observed {
            node_name: desired.node_name.clone(),
            generation: desired.generation,
            ..Default::default()
        };
        for pool in &desired.storage_pools {
            observed.storage_pools.push(PoolReport {
                name: pool.name.clone(),
                total_capacity_kib: 1 << 30,
                free_capacity_kib: 1 << 30,
                supports_snapshots: self.reflink,
                error: None,
            });
        }
        for spec in &desired.snapshots {
            let key = (spec.resource.clone(), spec.snapshot.clone(), spec.volume_number);
            if spec.take && self.reflink {
                held.insert(key.clone());
            }
            let exists = held.contains(&key);
            observed.snapshots.push(SnapshotReport {
                resource: spec.resource.clone(),
                snapshot: spec.snapshot.clone(),
                volume_number: spec.volume_number,
                pool: spec.pool.clone(),
                exists,
                size_kib: 1024,
                error: (!exists).then(|| "no reflink here".to_string()),
            });
        }
        let in_use = *self.in_use.lock().unwrap();
        for spec in &desired.volumes {
            observed.volumes.push(VolumeReport {
                resource: spec.resource.clone(),
                volume_number: spec.volume_number,
                pool: spec.pool.clone(),
                disk_state: "UpToDate".into(),
                in_use,
                ..Default::default()
            });
        }
        for spec in &desired.rollbacks {
            observed.ops.push(OpResult { id: spec.id.clone(), error: None });
        }
        Box::pin(async move { Ok(observed) })
    }
}

fn rc_is(list: &[ApiCallRc], code: i64) -> bool {
    list.iter().any(|rc| rc.is(code))
}

/// A controller on a SQLite file with one node, one FILE_THIN pool and RD `vol` placed there.
fn controller(path: &std::path::Path, satellite: &Arc<FakeSatellite>, seed: bool) -> Arc<Controller> {
    let ctl = Controller::with_store(Box::new(SqliteStore::open(path).unwrap())).unwrap();
    ctl.satellites.attach(NameKey::new(NODE), Arc::clone(satellite) as Arc<dyn SatelliteLink>);
    if seed {
        ctl.write(|txn| {
            txn.put_node(Node {
                name: NODE.into(),
                node_type: "COMBINED".into(),
                uuid: new_uuid(),
                flags: vec![],
                props: Props::new(),
                net_interfaces: vec![],
            });
            txn.put_storage_pool(StoragePool {
                name: "pool".into(),
                node_name: NODE.into(),
                provider_kind: ProviderKind::FileThin,
                uuid: new_uuid(),
                props: [(super::super::storage::KEY_STOR_POOL_NAME.to_string(), "/p".to_string())].into(),
            });
            txn.put_resource_definition(ResourceDefinition {
                name: "vol".into(),
                uuid: new_uuid(),
                external_name: None,
                resource_group: "DfltRscGrp".into(),
                props: [("Aux/id".to_string(), "source".to_string())].into(),
                flags: vec![],
                layer_stack: vec![],
                drbd: Default::default(),
                volume_definitions: vec![VolumeDefinition {
                    volume_number: 0,
                    size_kib: 1024,
                    minor_number: 1000,
                    uuid: new_uuid(),
                    props: Props::new(),
                    flags: vec![],
                }],
            });
            txn.put_resource(Resource {
                name: "vol".into(),
                node_name: NODE.into(),
                uuid: new_uuid(),
                props: Props::new(),
                flags: vec![],
                layer_stack: vec!["STORAGE".into()],
                create_timestamp: 1,
                volumes: vec![ResourceVolume {
                    volume_number: 0,
                    storage_pool: "pool".into(),
                    uuid: new_uuid(),
                    props: Props::new(),
                    source: None,
                }],
            });
            Ok(())
        })
        .unwrap();
    }
    ctl
}

/// A temporary directory for one test's database, removed on drop (also when the test fails).
struct TempDb(std::path::PathBuf);

impl TempDb {
    fn new(tag: &str) -> TempDb {
        let dir = std::env::temp_dir().join(format!("strand-snap-unit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDb(dir)
    }
    fn path(&self) -> std::path::PathBuf {
        self.0.join("ctrl.db")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn take_now_is_volatile_and_snapshots_are_stored() {
    let tmp = TempDb::new("take");
    let db = tmp.path();
    let sat = FakeSatellite::new(true);
    let ctl = controller(&db, &sat, true);
    ctl.sync_nodes(&[NameKey::new(NODE)].into()).await;
    let answer =
        ctl.create_snapshot("vol", linstor_api::Snapshot { name: "s1".into(), ..Default::default() }).await;
    assert!(!linstor_api::rc::has_error(&answer), "{answer:#?}");
    let taking = sat.seen.lock().unwrap().iter().filter(|d| d.snapshots.iter().any(|s| s.take)).count();
    assert_eq!(taking, 1, "one desired state asked to take it");
    let def = ctl.state().snapshot_definition("vol", "s1").cloned().unwrap();
    assert!(def.is_successful());
    assert_eq!(def.rd_props.get("Aux/id").map(String::as_str), Some("source"));
    assert!(ctl.state().pending.takes.is_empty());
    // A later desired state carries it without "take".
    ctl.sync_nodes(&[NameKey::new(NODE)].into()).await;
    assert!(sat.last().snapshots.iter().all(|s| !s.take && s.snapshot == "s1"));
    // Duplicate names and bad names are refused; an RD with snapshots cannot be deleted.
    let again =
        ctl.create_snapshot("vol", linstor_api::Snapshot { name: "S1".into(), ..Default::default() }).await;
    assert!(rc_is(&again, FAIL_EXISTS_SNAPSHOT_DFN), "{again:#?}");
    let bad =
        ctl.create_snapshot("vol", linstor_api::Snapshot { name: "9x".into(), ..Default::default() }).await;
    assert!(rc_is(&bad, FAIL_INVLD_SNAPSHOT_NAME), "{bad:#?}");
    let del = ctl.delete_resource_definition("vol").await;
    assert!(rc_is(&del, FAIL_EXISTS_SNAPSHOT_DFN), "{del:#?}");
    drop(ctl);

    // After a restart the snapshot is there, and nothing asks to take it again.
    let ctl = controller(&db, &sat, false);
    ctl.sync_nodes(&[NameKey::new(NODE)].into()).await;
    assert!(ctl.state().snapshot_definition("vol", "s1").is_some_and(|d| d.is_successful()));
    assert!(sat.last().snapshots.iter().all(|s| !s.take));

    // Rollback: an id in exactly the desired states of the call; sizes set back.
    ctl.write(|txn| {
        let mut rd = txn.state().resource_definition("vol").cloned().unwrap();
        rd.volume_definitions[0].size_kib = 2048;
        txn.put_resource_definition(rd);
        Ok(())
    })
    .unwrap();
    let before = sat.seen.lock().unwrap().len();
    let answer = ctl.rollback_snapshot("vol", "s1").await;
    assert!(!linstor_api::rc::has_error(&answer), "{answer:#?}");
    let with_rollback: Vec<DesiredState> =
        sat.seen.lock().unwrap()[before..].iter().filter(|d| !d.rollbacks.is_empty()).cloned().collect();
    assert_eq!(with_rollback.len(), 1, "sent once");
    assert_eq!(with_rollback[0].volumes[0].size_kib, 1024, "the snapshot's size comes back");
    assert!(sat.last().rollbacks.is_empty(), "gone before the call answered");
    assert!(ctl.state().pending.rollbacks.is_empty());

    // In use: refused, nothing sent.
    *sat.in_use.lock().unwrap() = true;
    let busy = ctl.rollback_snapshot("vol", "s1").await;
    assert!(rc_is(&busy, FAIL_IN_USE), "{busy:#?}");
    assert!(busy.iter().any(|rc| rc.correction.is_some()));
    *sat.in_use.lock().unwrap() = false;

    // Delete takes it out of the desired state (the satellite removes its file).
    let gone = ctl.delete_snapshot("vol", "s1", &[]).await;
    assert!(rc_is(&gone, DELETED), "{gone:#?}");
    assert!(sat.last().snapshots.is_empty());
    assert!(sat.held.lock().unwrap().is_empty());
}

#[tokio::test]
async fn no_reflink_no_snapshot_and_nothing_left() {
    let tmp = TempDb::new("noreflink");
    let db = tmp.path();
    let sat = FakeSatellite::new(false);
    let ctl = controller(&db, &sat, true);
    ctl.sync_nodes(&[NameKey::new(NODE)].into()).await;
    let answer =
        ctl.create_snapshot("vol", linstor_api::Snapshot { name: "s0".into(), ..Default::default() }).await;
    assert!(rc_is(&answer, FAIL_SNAPSHOTS_NOT_SUPPORTED), "{answer:#?}");
    let entry = answer.iter().find(|rc| rc.is_error()).unwrap();
    let correction = entry.correction.clone().unwrap_or_default();
    assert!(correction.contains("XFS") && correction.contains("btrfs"), "{correction}");
    assert!(ctl.state().snapshot_definitions.is_empty());
    // The satellite refusing (reported support, then no file): taken back whole.
    let sat2 = FakeSatellite::new(false);
    let liar = FakeSatellite::new(true);
    ctl.satellites.attach(NameKey::new(NODE), Arc::clone(&liar) as Arc<dyn SatelliteLink>);
    ctl.sync_nodes(&[NameKey::new(NODE)].into()).await;
    ctl.satellites.attach(NameKey::new(NODE), Arc::clone(&sat2) as Arc<dyn SatelliteLink>);
    let failed =
        ctl.create_snapshot("vol", linstor_api::Snapshot { name: "s0".into(), ..Default::default() }).await;
    assert!(linstor_api::rc::has_error(&failed), "{failed:#?}");
    assert!(ctl.state().snapshot_definitions.is_empty());
    assert!(ctl.state().pending.takes.is_empty());
    assert!(sat2.last().snapshots.is_empty(), "the satellite heard that it is gone");
}

#[tokio::test]
async fn clone_and_restore_carry_their_source_until_made() {
    let tmp = TempDb::new("clone");
    let db = tmp.path();
    let sat = FakeSatellite::new(true);
    let ctl = controller(&db, &sat, true);
    ctl.sync_nodes(&[NameKey::new(NODE)].into()).await;
    let request = linstor_api::ResourceDefinitionCloneRequest {
        name: Some("copy".into()),
        override_props: [("Aux/id".to_string(), "copy".to_string())].into(),
        ..Default::default()
    };
    let answer = ctl.clone_resource_definition("vol", request).await;
    assert!(!linstor_api::rc::has_error(&answer.messages), "{:#?}", answer.messages);
    let sent = sat.seen.lock().unwrap().iter().any(|d| {
        d.volumes.iter().any(|v| {
            v.resource == "copy"
                && v.source
                    == Some(crate::link::VolumeSource::Volume { resource: "vol".into(), pool: "pool".into() })
        })
    });
    assert!(sent, "the clone's volume was sent with its source");
    let state = ctl.state();
    let copy = state.resource_definition("copy").unwrap();
    assert_eq!(copy.props.get("cloned-from").map(String::as_str), Some("vol"));
    assert_eq!(copy.props.get("Aux/id").map(String::as_str), Some("copy"));
    assert!(copy.flags.is_empty(), "complete: {:?}", copy.flags);
    assert!(state.resource("copy", NODE).unwrap().volumes.iter().all(|v| v.source.is_none()));
    assert_eq!(ctl.clone_status("copy").ok(), Some(super::super::clone::CLONE_COMPLETE));
    assert!(ctl.clone_status("vol").is_err(), "not a clone");
    // The source's identity was never visible on the clone: the props index has one owner.
    let owners = state.rd_props.candidates(&[crate::model::PropFilter::parse("Aux/id=source")]);
    assert_eq!(owners, Some(vec![NameKey::new("vol")]));

    // Restore: the target must be empty, sizes must match.
    ctl.create_snapshot("vol", linstor_api::Snapshot { name: "s0".into(), ..Default::default() }).await;
    let restore = |to: &str| linstor_api::SnapshotRestore { to_resource: to.into(), ..Default::default() };
    let busy = ctl.restore_resources("vol", "s0", restore("copy")).await;
    assert!(rc_is(&busy, FAIL_EXISTS_RSC), "{busy:#?}");
    ctl.create_resource_definition(linstor_api::ResourceDefinitionCreate {
        resource_definition: linstor_api::ResourceDefinition { name: "back".into(), ..Default::default() },
        ..Default::default()
    });
    let empty = ctl.restore_resources("vol", "s0", restore("back")).await;
    assert!(rc_is(&empty, WARN_NOT_FOUND), "{empty:#?}");
    assert!(empty.iter().any(|rc| rc.message == "No volumes to restore."));
    ctl.delete_resource("back", NODE).await;
    let vds = ctl.restore_volume_definitions("vol", "s0", restore("back")).await;
    assert!(!linstor_api::rc::has_error(&vds), "{vds:#?}");
    let done = ctl.restore_resources("vol", "s0", restore("back")).await;
    assert!(!linstor_api::rc::has_error(&done), "{done:#?}");
    let restored = ctl.state().resource("back", NODE).cloned().unwrap();
    assert!(restored.volumes.iter().all(|v| v.source.is_none()), "cleared once made");
    assert!(ctl.delete_snapshot("vol", "s0", &[]).await.iter().all(|rc| !rc.is_error()));
}

#[tokio::test]
async fn pushes_after_calls_are_incremental_and_full_syncs_are_not() {
    let tmp = TempDb::new("incremental");
    let sat = FakeSatellite::new(true);
    let ctl = controller(&tmp.path(), &sat, true);
    let node = NameKey::new(NODE);
    ctl.satellites.sync(&node, || ctl.state(), true).await;
    assert!(!sat.last().incremental, "a full sync has the satellite check everything");
    let answer =
        ctl.create_snapshot("vol", linstor_api::Snapshot { name: "s1".into(), ..Default::default() }).await;
    assert!(!linstor_api::rc::has_error(&answer), "{answer:#?}");
    assert!(sat.last().incremental, "the push of a call's changes is incremental");
}

#[tokio::test]
async fn a_delete_asks_again_whether_a_resource_reported_in_use_still_is() {
    let tmp = TempDb::new("inuse");
    let sat = FakeSatellite::new(true);
    let ctl = controller(&tmp.path(), &sat, true);
    let node: TouchedNodes = [NameKey::new(NODE)].into();
    // Open when a change was pushed: the report says in use, and a delete is refused.
    *sat.in_use.lock().unwrap() = true;
    ctl.sync_nodes(&node).await;
    let busy = ctl.delete_resource_definition("vol").await;
    assert!(rc_is(&busy, FAIL_IN_USE), "{busy:#?}");
    let busy = ctl.delete_resource("vol", NODE).await;
    assert!(rc_is(&busy, FAIL_IN_USE), "{busy:#?}");
    // Closed since, with nothing pushed in between: the delete asks again and goes ahead.
    *sat.in_use.lock().unwrap() = false;
    let pushes = sat.seen.lock().unwrap().len();
    let gone = ctl.delete_resource_definition("vol").await;
    assert!(rc_is(&gone, DELETED), "{gone:#?}");
    assert!(sat.seen.lock().unwrap().len() >= pushes + 2, "no fresh report was asked for");
    assert!(sat.last().volumes.is_empty());
}
