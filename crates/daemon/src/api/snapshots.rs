//! `/1.0/storage-pools/{pool}/volumes/{type}/{volume}/snapshots[/{snapshot}[/mount|/unmount]]`.
//!
//! Rules kept here (the Incus REST API's, see `crate::snapshots` for the work itself):
//! - Lists give URLs, or with `recursion` the snapshots named `<volume>/<snapshot>` (the
//!   `incus storage volume snapshot list` NAME column needs it), `expires_at` `null` when there
//!   is none; a single snapshot is named `<snapshot>`, `expires_at` Go's zero time when there is
//!   none, with an ETag of `[description, expires_at]`.
//! - Create, rename and delete answer `202` with an operation whose `resources` name the
//!   snapshot (create: the volume too); the name is chosen (`snapshots.pattern`) and checked
//!   before the answer, so a taken name is a `409` at once.
//! - PUT replaces description and expiry (a missing `expires_at` means none), PATCH changes
//!   only what the body gives.
//! - Snapshots of every volume type but `image` (Strand's volume types extension); Incus's API
//!   has them for custom volumes.
//! - `mount`/`unmount` (Strand's own, extension `strand_storage_volume_snapshot_mount`): read-only
//!   access on the daemon's host, optionally bound at a caller's path.

use super::response::{check_if_match, etag_of, ApiError, ApiResult, Async, Sync};
use super::volumes::{locked, mount_answer, unmount_answer, MountPost};
use super::{Ctx, Json, PathParams};
use crate::backend::{Config, VolumeType};
use crate::db::{DbError, PoolRow, SnapshotRow, VolumeKey, VolumeRow};
use crate::names::volume_url;
use crate::operations::OperationSpec;
use crate::snapshots::{
    check_name, check_type, default_expiry, effective, parse_expires_at, snapshot_not_found, snapshot_url,
};
use crate::time::ZERO_TIME;
use crate::State;
use axum::extract::State as S;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

/// `StorageVolumeSnapshot`.
#[derive(Debug, Serialize)]
pub struct StorageVolumeSnapshot {
    pub description: String,
    pub expires_at: Option<String>,
    pub name: String,
    pub config: Config,
    pub content_type: String,
    pub created_at: String,
}

/// A snapshot as a single GET shows it (`name` = the snapshot's, zero time for no expiry).
pub fn render_single(volume: &VolumeRow, snapshot: &SnapshotRow) -> StorageVolumeSnapshot {
    StorageVolumeSnapshot {
        description: snapshot.description.clone(),
        expires_at: Some(snapshot.expires_at.clone().unwrap_or_else(|| ZERO_TIME.to_string())),
        name: snapshot.name.clone(),
        config: snapshot.config.clone(),
        content_type: volume.content_type.as_str().to_string(),
        created_at: snapshot.created_at.clone(),
    }
}

/// A snapshot as lists show it (`name` = `<volume>/<snapshot>`, `null` for no expiry).
pub fn render_listed(volume: &VolumeRow, snapshot: &SnapshotRow) -> StorageVolumeSnapshot {
    StorageVolumeSnapshot {
        name: format!("{}/{}", volume.name, snapshot.name),
        expires_at: snapshot.expires_at.clone(),
        ..render_single(volume, snapshot)
    }
}

/// The snapshots of a volume as `StorageVolumeFull.snapshots` carries them.
pub fn listed(state: &State, volume: &VolumeRow) -> Vec<serde_json::Value> {
    let key = crate::snapshots::key_of(volume);
    match state.db.snapshots(&key) {
        Ok(rows) => rows
            .iter()
            .map(|s| serde_json::to_value(render_listed(volume, s)).unwrap_or(serde_json::Value::Null))
            .collect(),
        Err(err) => {
            tracing::warn!("{key}: cannot read its snapshots: {err}");
            Vec::new()
        }
    }
}

fn etag(snapshot: &SnapshotRow) -> String {
    etag_of(&json!([snapshot.description, snapshot.expires_at.as_deref().unwrap_or(ZERO_TIME)]))
}

/// The pool and volume a request names (`404` for either missing, `400` for a bad type or
/// one without snapshots).
fn load(
    state: &State,
    ctx: &Ctx,
    pool: &str,
    vol_type: &str,
    name: &str,
) -> ApiResult<(PoolRow, VolumeRow, VolumeKey)> {
    if let Some(vol_type) = VolumeType::parse(vol_type) {
        check_type(vol_type)?;
    }
    super::volumes::load(state, ctx, pool, vol_type, name)
}

fn async_answer(op: crate::operations::Operation) -> Async {
    Async { operation_url: op.url(), operation: serde_json::to_value(&op).unwrap_or(serde_json::Value::Null) }
}

type VolumePath = PathParams<(String, String, String)>;
type SnapshotPath = PathParams<(String, String, String, String)>;

pub async fn list(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name)): VolumePath,
) -> ApiResult<Sync> {
    let (_, row, key) = load(&state, &ctx, &pool, &t, &name)?;
    let rows = state.db.snapshots(&key)?;
    if ctx.recursion() > 0 {
        return Ok(Sync::new(rows.iter().map(|s| render_listed(&row, s)).collect::<Vec<_>>()));
    }
    Ok(Sync::new(rows.iter().map(|s| snapshot_url(&key, &s.name)).collect::<Vec<_>>()))
}

/// `StorageVolumeSnapshotsPost`.
#[derive(Debug, Deserialize)]
pub struct SnapshotsPost {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

pub async fn create(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name)): VolumePath,
    Json(body): Json<SnapshotsPost>,
) -> ApiResult<Async> {
    let (pool_row, row, key) = load(&state, &ctx, &pool, &t, &name)?;
    let existing: Vec<String> = state.db.snapshots(&key)?.into_iter().map(|s| s.name).collect();
    let snapshot = match body.name.filter(|n| !n.is_empty()) {
        Some(snapshot) => snapshot,
        None => {
            let pattern = effective(&row, &pool_row, driver::schedule::KEY_PATTERN).unwrap_or_default();
            driver::schedule::next_snapshot_name(&pattern, &existing).map_err(|why| {
                ApiError::bad_request(format!("Invalid snapshots.pattern \"{pattern}\": {why}"))
            })?
        }
    };
    check_name(&snapshot)?;
    if existing.contains(&snapshot) {
        return Err(ApiError::conflict(format!("Snapshot \"{snapshot}\" already exists")));
    }
    let expires_at = match body.expires_at.as_deref() {
        Some(text) => parse_expires_at(text)?,
        None => default_expiry(&row, &pool_row, true, std::time::SystemTime::now())?,
    };
    let description = body.description.unwrap_or_default();
    let spec = OperationSpec::task("Creating storage volume snapshot", key.project.clone())
        .resource("storage_volumes", volume_url(&key.pool, key.vol_type.as_str(), &key.name, &key.project))
        .resource("storage_volume_snapshots", snapshot_url(&key, &snapshot));
    let requestor = ctx.requestor();
    let work_state = Arc::clone(&state);
    let op = state.operations.start(spec, async move {
        crate::snapshots::take(&work_state, &key, &snapshot, &description, expires_at, &requestor)
            .await
            .map(|_| None)
            .map_err(|err| err.message)
    });
    Ok(async_answer(op))
}

pub async fn get(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name, snapshot)): SnapshotPath,
) -> ApiResult<Sync> {
    let (_, row, key) = load(&state, &ctx, &pool, &t, &name)?;
    let found = state.db.snapshot(&key, &snapshot)?.ok_or_else(snapshot_not_found)?;
    Ok(Sync::new(render_single(&row, &found)).with_etag(etag(&found)))
}

/// `StorageVolumeSnapshotPut`.
#[derive(Debug, Deserialize)]
pub struct SnapshotPut {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

pub async fn put(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    headers: HeaderMap,
    PathParams((pool, t, name, snapshot)): SnapshotPath,
    Json(body): Json<SnapshotPut>,
) -> ApiResult<Sync> {
    update(&state, &ctx, &headers, (&pool, &t, &name, &snapshot), body, false).await
}

pub async fn patch(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    headers: HeaderMap,
    PathParams((pool, t, name, snapshot)): SnapshotPath,
    Json(body): Json<SnapshotPut>,
) -> ApiResult<Sync> {
    update(&state, &ctx, &headers, (&pool, &t, &name, &snapshot), body, true).await
}

async fn update(
    state: &State,
    ctx: &Ctx,
    headers: &HeaderMap,
    (pool, t, name, snapshot): (&str, &str, &str, &str),
    body: SnapshotPut,
    merge: bool,
) -> ApiResult<Sync> {
    let (_, _, key) = load(state, ctx, pool, t, name)?;
    let _pool_guard = state.locks.pool_shared(pool).await;
    let _guard = state.locks.volume(&key).await;
    let found = state.db.snapshot(&key, snapshot)?.ok_or_else(snapshot_not_found)?;
    check_if_match(headers, &etag(&found))?;
    let description = match (body.description, merge) {
        (Some(description), _) => description,
        (None, true) => found.description.clone(),
        (None, false) => String::new(),
    };
    let expires_at = match (body.expires_at.as_deref(), merge) {
        (Some(text), _) => parse_expires_at(text)?,
        (None, true) => found.expires_at.clone(),
        (None, false) => None,
    };
    state.db.update_snapshot(&key, snapshot, &description, expires_at.as_deref())?;
    state.events.lifecycle(
        "storage-volume-snapshot-updated",
        &snapshot_url(&key, snapshot),
        json!({}),
        &key.project,
        &ctx.requestor(),
    );
    Ok(Sync::empty())
}

/// `StorageVolumeSnapshotPost`.
#[derive(Debug, Deserialize)]
pub struct SnapshotPost {
    #[serde(default)]
    name: String,
    #[serde(default)]
    migration: bool,
}

/// Rename: `202` with an operation.
pub async fn post(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name, snapshot)): SnapshotPath,
    Json(body): Json<SnapshotPost>,
) -> ApiResult<Async> {
    let (_, _, key) = load(&state, &ctx, &pool, &t, &name)?;
    if body.migration {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            "Migrating storage volume snapshots is not supported yet",
        ));
    }
    state.db.snapshot(&key, &snapshot)?.ok_or_else(snapshot_not_found)?;
    if body.name.contains('/') {
        return Err(ApiError::bad_request("Snapshot names may not contain slashes"));
    }
    check_name(&body.name)?;
    if body.name != snapshot && state.db.snapshot(&key, &body.name)?.is_some() {
        return Err(ApiError::conflict(format!("Snapshot \"{}\" already exists", body.name)));
    }
    let spec = OperationSpec::task("Renaming storage volume snapshot", key.project.clone())
        .resource("storage_volume_snapshots", snapshot_url(&key, &snapshot));
    let requestor = ctx.requestor();
    let work_state = Arc::clone(&state);
    let new_name = body.name;
    let op = state.operations.start(spec, async move {
        rename(&work_state, &key, &snapshot, &new_name, &requestor)
            .await
            .map(|_| None)
            .map_err(|err| err.message)
    });
    Ok(async_answer(op))
}

async fn rename(
    state: &State,
    key: &VolumeKey,
    snapshot: &str,
    new_name: &str,
    requestor: &crate::events::Requestor,
) -> ApiResult<()> {
    let volume = locked(state, key).await?;
    let (pool_row, row) = (&volume.pool, &volume.row);
    state.db.snapshot(key, snapshot)?.ok_or_else(snapshot_not_found)?;
    if new_name == snapshot {
        return Ok(());
    }
    if state.db.snapshot(key, new_name)?.is_some() {
        return Err(ApiError::conflict(format!("Snapshot \"{new_name}\" already exists")));
    }
    let (pool_ref, spec) = (pool_row.pool_ref(), row.spec());
    state.backend.rename_snapshot(&pool_ref, &spec, snapshot, new_name).await?;
    if let Err(err) = state.db.rename_snapshot(key, snapshot, new_name) {
        if let Err(undo) = state.backend.rename_snapshot(&pool_ref, &spec, new_name, snapshot).await {
            tracing::error!("{key}: cannot undo the rename of snapshot {snapshot}: {undo}");
        }
        return Err(match err {
            DbError::Exists(_) => ApiError::conflict(format!("Snapshot \"{new_name}\" already exists")),
            other => other.into(),
        });
    }
    state.events.lifecycle(
        "storage-volume-snapshot-renamed",
        &snapshot_url(key, new_name),
        json!({"old_name": snapshot}),
        &key.project,
        requestor,
    );
    Ok(())
}

pub async fn delete(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name, snapshot)): SnapshotPath,
) -> ApiResult<Async> {
    let (_, _, key) = load(&state, &ctx, &pool, &t, &name)?;
    state.db.snapshot(&key, &snapshot)?.ok_or_else(snapshot_not_found)?;
    let spec = OperationSpec::task("Deleting storage volume snapshot", key.project.clone())
        .resource("storage_volume_snapshots", snapshot_url(&key, &snapshot));
    let requestor = ctx.requestor();
    let work_state = Arc::clone(&state);
    let op = state.operations.start(spec, async move {
        crate::snapshots::remove(&work_state, &key, &snapshot, &requestor)
            .await
            .map(|_| None)
            .map_err(|err| err.message)
    });
    Ok(async_answer(op))
}

// ---- Strand's own: read-only mount (extension `strand_storage_volume_snapshot_mount`) ------

pub async fn mount(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name, snapshot)): SnapshotPath,
    Json(body): Json<MountPost>,
) -> ApiResult<Sync> {
    let (_, _, key) = load(&state, &ctx, &pool, &t, &name)?;
    let target = body.target()?;
    let volume = locked(&state, &key).await?;
    let (pool_row, row) = (&volume.pool, &volume.row);
    state.db.snapshot(&key, &snapshot)?.ok_or_else(snapshot_not_found)?;
    let mounted =
        state.backend.mount_snapshot(&pool_row.pool_ref(), &row.spec(), &snapshot, target.as_deref()).await?;
    Ok(mount_answer(mounted))
}

pub async fn unmount(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name, snapshot)): SnapshotPath,
) -> ApiResult<Sync> {
    let (_, _, key) = load(&state, &ctx, &pool, &t, &name)?;
    let volume = locked(&state, &key).await?;
    let (pool_row, row) = (&volume.pool, &volume.row);
    state.db.snapshot(&key, &snapshot)?.ok_or_else(snapshot_not_found)?;
    Ok(unmount_answer(state.backend.unmount_snapshot(&pool_row.pool_ref(), &row.spec(), &snapshot).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ContentType;

    #[test]
    fn single_and_listed_shapes() {
        let volume = VolumeRow {
            pool: "p".into(),
            project: "default".into(),
            vol_type: VolumeType::Custom,
            name: "vol1".into(),
            description: String::new(),
            content_type: ContentType::Block,
            config: Config::new(),
            created_at: String::new(),
        };
        let snapshot = SnapshotRow {
            volume: crate::snapshots::key_of(&volume),
            name: "snap0".into(),
            description: "d".into(),
            expires_at: None,
            created_at: "2026-01-01T00:00:00.000000000Z".into(),
            config: [("size".to_string(), "1GiB".to_string())].into(),
        };
        let single = serde_json::to_value(render_single(&volume, &snapshot)).expect("json");
        assert_eq!(
            single,
            json!({"description": "d", "expires_at": "0001-01-01T00:00:00Z", "name": "snap0",
                   "config": {"size": "1GiB"}, "content_type": "block",
                   "created_at": "2026-01-01T00:00:00.000000000Z"})
        );
        let listed = serde_json::to_value(render_listed(&volume, &snapshot)).expect("json");
        assert_eq!(listed["name"], "vol1/snap0");
        assert_eq!(listed["expires_at"], serde_json::Value::Null);
        let expiring = SnapshotRow { expires_at: Some("2030-01-01T00:00:00.000000000Z".into()), ..snapshot };
        assert_eq!(etag(&expiring), etag_of(&json!(["d", "2030-01-01T00:00:00.000000000Z"])));
    }
}
