//! Snapshots, rollback, restore and clone.

use super::Ctl;
use crate::ops::definitions::rd_not_found;
use crate::ops::snapshots::select_snapshots;
use crate::ops::Call;
use crate::rest::{body, Answer, Query, Reply};
use crate::view::snapshot_view;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use linstor_api::consts::*;
use linstor_api::names::{NameKey, NameKind};
use linstor_api::{
    ApiCallRc, CreateMultiSnapshotRequest, PropsModify, ResourceDefinitionCloneRequest,
    ResourceDefinitionCloneStarted, ResourceDefinitionCloneStatus, Snapshot, SnapshotRestore,
    SnapshotRollback,
};

const SNAP: Call = Call::new(MASK_SNAPSHOT, 0);

fn keys(names: Vec<String>) -> Vec<NameKey> {
    names.iter().map(|n| NameKey::new(n)).collect()
}

/// `GET /v1/view/snapshots` (filters `nodes`, `resources`, `snapshots`; paging).
pub async fn view(ctl: Ctl, RawQuery(query): RawQuery) -> Answer {
    let query = Query::parse(query.as_deref());
    let nodes = keys(query.names("nodes", NameKind::Node, MASK_SNAPSHOT)?);
    let rds = keys(query.names("resources", NameKind::ResourceDefinition, MASK_SNAPSHOT)?);
    let snaps = keys(query.names("snapshots", NameKind::Snapshot, MASK_SNAPSHOT)?);
    let (offset, limit) = query.paging()?;
    let state = ctl.state();
    let views: Vec<Snapshot> = select_snapshots(&state, &rds, &nodes, &snaps, offset, limit)
        .into_iter()
        .map(snapshot_view)
        .collect();
    Ok(Reply::json(&views))
}

pub async fn list(ctl: Ctl, Path(rd): Path<String>, RawQuery(query): RawQuery) -> Answer {
    let (offset, limit) = Query::parse(query.as_deref()).paging()?;
    let state = ctl.state();
    let rd = state.resource_definition(&rd).ok_or_else(|| Reply::error(rd_not_found(SNAP, &rd)))?;
    let rds = [NameKey::new(&rd.name)];
    let views: Vec<Snapshot> =
        select_snapshots(&state, &rds, &[], &[], offset, limit).into_iter().map(snapshot_view).collect();
    Ok(Reply::json(&views))
}

pub async fn get(ctl: Ctl, Path((rd, snap)): Path<(String, String)>) -> Answer {
    let state = ctl.state();
    let rd = state.resource_definition(&rd).ok_or_else(|| Reply::error(rd_not_found(SNAP, &rd)))?;
    match state.snapshot_definition(&rd.name, &snap) {
        Some(def) => Ok(Reply::json(&snapshot_view(def))),
        None => {
            Err(Reply::error(SNAP.rc(
                FAIL_NOT_FOUND_SNAPSHOT,
                format!("Snapshot '{snap}' of resource '{}' not found.", rd.name),
            )))
        }
    }
}

pub async fn create(ctl: Ctl, Path(rd): Path<String>, bytes: Bytes) -> Answer {
    let input: Snapshot = body(&bytes)?;
    Ok(Reply::created(ctl.create_snapshot(&rd, input).await))
}

pub async fn create_multi(ctl: Ctl, bytes: Bytes) -> Answer {
    let input: CreateMultiSnapshotRequest = body(&bytes)?;
    Ok(Reply::created(ctl.create_snapshots_multi(input).await))
}

pub async fn modify(ctl: Ctl, Path((rd, snap)): Path<(String, String)>, bytes: Bytes) -> Answer {
    let input: PropsModify = body(&bytes)?;
    Ok(Reply::ok(ctl.modify_snapshot(&rd, &snap, input)))
}

pub async fn delete(ctl: Ctl, Path((rd, snap)): Path<(String, String)>, RawQuery(query): RawQuery) -> Answer {
    let nodes = Query::parse(query.as_deref()).names("nodes", NameKind::Node, MASK_SNAPSHOT)?;
    Ok(Reply::ok(ctl.delete_snapshot(&rd, &snap, &nodes).await))
}

pub async fn rollback(ctl: Ctl, Path((rd, snap)): Path<(String, String)>, bytes: Bytes) -> Answer {
    // The body only carries a ZFS strategy, meaningless for FILE pools; it may be left out.
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        let _: SnapshotRollback = body(&bytes)?;
    }
    Ok(Reply::ok(ctl.rollback_snapshot(&rd, &snap).await))
}

pub async fn restore_volume_definitions(
    ctl: Ctl,
    Path((rd, snap)): Path<(String, String)>,
    bytes: Bytes,
) -> Answer {
    let input: SnapshotRestore = body(&bytes)?;
    Ok(Reply::ok(ctl.restore_volume_definitions(&rd, &snap, input).await))
}

pub async fn restore_resources(ctl: Ctl, Path((rd, snap)): Path<(String, String)>, bytes: Bytes) -> Answer {
    let input: SnapshotRestore = body(&bytes)?;
    Ok(Reply::ok(ctl.restore_resources(&rd, &snap, input).await))
}

/// `POST .../clone`: 201 with `ResourceDefinitionCloneStarted`, or 500 with the same body
/// when it failed (as LINSTOR answers).
pub async fn clone(ctl: Ctl, Path(rd): Path<String>, bytes: Bytes) -> Answer {
    let request: ResourceDefinitionCloneRequest = body(&bytes)?;
    let answer = ctl.clone_resource_definition(&rd, request).await;
    let failed = answer.messages.iter().any(ApiCallRc::is_error);
    let clone_name =
        if answer.clone_name.is_empty() { "__invalid_name__".to_string() } else { answer.clone_name };
    let started = ResourceDefinitionCloneStarted {
        location: format!("/v1/resource-definitions/{}/clone/{clone_name}", answer.source_name),
        source_name: answer.source_name,
        clone_name,
        messages: answer.messages,
    };
    let status = if failed { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::CREATED };
    Ok(Reply::json_with(status, &started))
}

pub async fn clone_status(ctl: Ctl, Path((_rd, clone)): Path<(String, String)>) -> Answer {
    let status = ctl.clone_status(&clone).map_err(Reply::error)?;
    Ok(Reply::json(&ResourceDefinitionCloneStatus { status: status.to_string() }))
}
