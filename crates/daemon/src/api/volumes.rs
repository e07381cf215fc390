//! `/1.0/storage-pools/{pool}/volumes[/{type}[/{name}[/state|/mount|/unmount|/path]]]`.
//!
//! Rules kept here:
//! - Volumes of every type are created, renamed and deleted through this API (Strand's
//!   extension `strand_storage_volume_types`: there are no instances or images to make them
//!   otherwise; Incus allows only custom volumes, and deletes only custom and image volumes).
//!   Each type keeps its content types: containers hold a filesystem, virtual machines a block
//!   device (with its config filesystem), images either. Only custom volumes are PATCHed.
//! - A volume row is written only after the backend created the volume; if the write fails
//!   the backend's volume is deleted again. Renames and updates are undone on the backend when
//!   the row cannot follow. Deletes remove the row after the backend's volume is gone.
//! - Lists are sorted by type name, then volume name; snapshots are never listed as volumes.

use super::pools;
use super::response::{check_if_match, etag_of, ApiError, ApiResult, Sync};
use super::{Ctx, Json, PathParams};
use crate::backend::{Config, ContentType, MountInfo, UnmountOutcome, VolumeSpec, VolumeType};
use crate::db::{DbError, PoolRow, VolumeKey, VolumeRow};
use crate::events::Requestor;
use crate::names::{check_api_name, volume_url};
use crate::State;
use axum::extract::State as S;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;

/// `StorageVolume`.
#[derive(Debug, Serialize)]
pub struct StorageVolume {
    pub config: Config,
    pub description: String,
    pub name: String,
    #[serde(rename = "type")]
    pub vol_type: String,
    pub used_by: Vec<String>,
    pub location: String,
    pub content_type: String,
    pub project: String,
    pub created_at: String,
}

/// `StorageVolumeFull`: a volume with its snapshots, backups and state.
#[derive(Debug, Serialize)]
pub struct StorageVolumeFull {
    #[serde(flatten)]
    pub volume: StorageVolume,
    pub backups: Vec<Value>,
    pub snapshots: Vec<Value>,
    pub state: Option<Value>,
}

pub fn not_found() -> ApiError {
    ApiError::not_found("Storage volume not found")
}

/// A volume read again under its pool's shared lock and its own lock, which it holds.
pub(crate) struct Locked {
    pub pool: PoolRow,
    pub row: VolumeRow,
    _pool_guard: tokio::sync::OwnedRwLockReadGuard<()>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

/// Takes the locks of volume `key`, then reads its pool and its row (`404` for either).
pub(crate) async fn locked(state: &State, key: &VolumeKey) -> ApiResult<Locked> {
    let _pool_guard = state.locks.pool_shared(&key.pool).await;
    let _guard = state.locks.volume(key).await;
    let pool = pools::load(state, &key.pool)?;
    let row = state.db.volume(key)?.ok_or_else(not_found)?;
    Ok(Locked { pool, row, _pool_guard, _guard })
}

fn parse_type(text: &str) -> ApiResult<VolumeType> {
    VolumeType::parse(text)
        .ok_or_else(|| ApiError::bad_request(format!("Invalid storage volume type \"{text}\"")))
}

fn render(state: &State, row: &VolumeRow) -> StorageVolume {
    StorageVolume {
        config: row.config.clone(),
        description: row.description.clone(),
        name: row.name.clone(),
        vol_type: row.vol_type.as_str().to_string(),
        // Nothing in this daemon uses volumes (no instances or profiles).
        used_by: Vec::new(),
        // Standalone: "none" for local drivers, "" for remote ones.
        location: if state.backend.info().remote { String::new() } else { crate::LOCATION.to_string() },
        content_type: row.content_type.as_str().to_string(),
        project: row.project.clone(),
        created_at: row.created_at.clone(),
    }
}

fn etag(row: &VolumeRow) -> String {
    etag_of(&json!([row.name, row.vol_type.as_str(), row.config]))
}

pub(crate) fn url_of(row: &VolumeRow) -> String {
    volume_url(&row.pool, row.vol_type.as_str(), &row.name, &row.project)
}

/// `{"usage": {"used": N, "total": T}}` (`used` left out when 0, `total` -1 when unknown).
async fn state_json(state: &State, pool: &PoolRow, row: &VolumeRow) -> ApiResult<Value> {
    let usage = state.backend.volume_usage(&pool.pool_ref(), &row.spec()).await?;
    let mut object = serde_json::Map::new();
    if usage.used != 0 {
        object.insert("used".into(), usage.used.into());
    }
    let total = usage.total.and_then(|t| i64::try_from(t).ok()).unwrap_or(-1);
    object.insert("total".into(), total.into());
    Ok(json!({ "usage": object }))
}

async fn full(state: &State, pool: &PoolRow, row: &VolumeRow) -> StorageVolumeFull {
    let volume_state = match state_json(state, pool, row).await {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::warn!("state of {}: {}", url_of(row), err.message);
            None
        }
    };
    StorageVolumeFull {
        volume: render(state, row),
        backups: Vec::new(),
        snapshots: super::snapshots::listed(state, row),
        state: volume_state,
    }
}

async fn list(state: &State, ctx: &Ctx, pool: &str, only: Option<VolumeType>) -> ApiResult<Sync> {
    ctx.check_target(state)?;
    let pool_row = pools::load(state, pool)?;
    let scope = ctx.project_scope()?;
    let filter = ctx.filter()?;
    let rows: Vec<VolumeRow> = state
        .db
        .volumes(pool, scope.as_deref())?
        .into_iter()
        .filter(|row| only.is_none_or(|t| row.vol_type == t))
        .filter(|row| {
            let Some(filter) = &filter else { return true };
            let mut value = serde_json::to_value(render(state, row)).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.insert("snapshot".into(), "false".into());
            }
            filter.matches(&value)
        })
        .collect();
    Ok(match ctx.recursion() {
        0 => Sync::new(rows.iter().map(url_of).collect::<Vec<_>>()),
        1 => Sync::new(rows.iter().map(|row| render(state, row)).collect::<Vec<_>>()),
        _ => {
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(full(state, &pool_row, row).await);
            }
            Sync::new(out)
        }
    })
}

pub async fn list_all(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams(pool): PathParams<String>,
) -> ApiResult<Sync> {
    list(&state, &ctx, &pool, None).await
}

pub async fn list_typed(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, vol_type)): PathParams<(String, String)>,
) -> ApiResult<Sync> {
    let vol_type = parse_type(&vol_type)?;
    list(&state, &ctx, &pool, Some(vol_type)).await
}

/// The source of a new volume (copies, migrations); only plain creation is served.
#[derive(Debug, Default, Deserialize)]
pub struct VolumeSource {
    #[serde(default, rename = "type")]
    source_type: String,
}

#[derive(Debug, Deserialize)]
pub struct VolumesPost {
    #[serde(default)]
    name: String,
    #[serde(default, rename = "type")]
    vol_type: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    config: Option<Config>,
    #[serde(default)]
    content_type: String,
    #[serde(default)]
    source: Option<VolumeSource>,
}

pub async fn create_untyped(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    headers: HeaderMap,
    PathParams(pool): PathParams<String>,
    Json(body): Json<VolumesPost>,
) -> ApiResult<Sync> {
    let vol_type = if body.vol_type.is_empty() { "custom".to_string() } else { body.vol_type.clone() };
    create(&state, &ctx, &headers, &pool, &vol_type, body).await
}

pub async fn create_typed(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    headers: HeaderMap,
    PathParams((pool, vol_type)): PathParams<(String, String)>,
    Json(body): Json<VolumesPost>,
) -> ApiResult<Sync> {
    create(&state, &ctx, &headers, &pool, &vol_type, body).await
}

/// The content type of a new volume: the one asked for, else its type's default. Containers
/// hold a filesystem, virtual machines a block device; ISO volumes are made by importing a file.
pub(crate) fn content_type_of(vol_type: VolumeType, asked: &str) -> ApiResult<ContentType> {
    let content_type = match asked {
        "" if vol_type == VolumeType::VirtualMachine => ContentType::Block,
        "" => ContentType::Filesystem,
        other => ContentType::parse(other)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid content type \"{other}\"")))?,
    };
    if content_type == ContentType::Iso {
        return Err(ApiError::bad_request(
            "Storage volumes of content type \"iso\" are made by importing an ISO file, which is not supported yet",
        ));
    }
    let fits = match vol_type {
        VolumeType::Container => content_type == ContentType::Filesystem,
        VolumeType::VirtualMachine => content_type == ContentType::Block,
        VolumeType::Custom | VolumeType::Image => true,
    };
    if !fits {
        return Err(ApiError::bad_request(format!(
            "Storage volumes of type \"{vol_type}\" cannot have content type \"{content_type}\" (a {vol_type} volume is a {})",
            if vol_type == VolumeType::Container { "filesystem" } else { "block device" }
        )));
    }
    Ok(content_type)
}

/// Checks a new volume's name for its type: instance names are host names (letters, digits
/// and `-`, 63 characters at most, not starting with a digit or `-`, as Incus's instance
/// names); image volumes are named by their image's SHA-256 fingerprint.
pub(crate) fn check_name_of(vol_type: VolumeType, name: &str) -> ApiResult<()> {
    check_volume_name(name)?;
    let why = match vol_type {
        VolumeType::Custom => None,
        VolumeType::Container | VolumeType::VirtualMachine => {
            if name.len() > 63 {
                Some("instance names are 63 characters at most")
            } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                Some("instance names may contain only letters, digits and \"-\"")
            } else if name.starts_with(|c: char| c.is_ascii_digit() || c == '-') || name.ends_with('-') {
                Some("instance names may not start with a digit or \"-\", nor end with \"-\"")
            } else {
                None
            }
        }
        VolumeType::Image => (name.len() != 64
            || !name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then_some("image volumes are named by their image's fingerprint (64 lowercase hex characters)"),
    };
    match why {
        Some(why) => Err(ApiError::bad_request(format!("Invalid storage volume name \"{name}\": {why}"))),
        None => Ok(()),
    }
}

fn check_volume_name(name: &str) -> ApiResult<()> {
    if name.is_empty() {
        return Err(ApiError::bad_request("No name provided"));
    }
    check_api_name(name)
        .map_err(|why| ApiError::bad_request(format!("Invalid storage volume name \"{name}\": {why}")))
}

async fn create(
    state: &Arc<State>,
    ctx: &Ctx,
    headers: &HeaderMap,
    pool: &str,
    vol_type: &str,
    body: VolumesPost,
) -> ApiResult<Sync> {
    ctx.check_target(state)?;
    if headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"))
    {
        return Err(ApiError::bad_request(
            "Importing storage volumes from backups or ISO files is not supported yet",
        ));
    }
    let vol_type = parse_type(vol_type)?;
    if let Some(source) = body.source.as_ref().filter(|s| !s.source_type.is_empty()) {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            format!(
                "Creating storage volumes from a source of type \"{}\" is not supported yet",
                source.source_type
            ),
        ));
    }
    check_name_of(vol_type, &body.name)?;
    let content_type = content_type_of(vol_type, &body.content_type)?;
    let project = ctx.project()?;
    let config = body.config.unwrap_or_default();
    if config.contains_key("dependent") {
        return Err(ApiError::bad_request(
            "Invalid option \"dependent\": it cannot be set when creating a volume",
        ));
    }
    pools::load(state, pool)?;
    let key =
        VolumeKey { pool: pool.to_string(), project: project.clone(), vol_type, name: body.name.clone() };
    let _pool_guard = state.locks.pool_shared(pool).await;
    let _guard = state.locks.volume(&key).await;
    // Again under the locks: the pool may have changed or gone meanwhile.
    let pool_row = pools::load(state, pool)?;
    if state.db.volume(&key)?.is_some() {
        return Err(ApiError::conflict("Volume by that name already exists"));
    }
    let mut spec =
        VolumeSpec { project: project.clone(), vol_type, name: body.name.clone(), content_type, config };
    spec.config = state.backend.prepare_volume(&pool_row.pool_ref(), &spec)?;
    let row = VolumeRow {
        pool: pool.to_string(),
        project: project.clone(),
        vol_type,
        name: body.name.clone(),
        description: body.description,
        content_type,
        config: spec.config.clone(),
        created_at: crate::time::now(),
    };
    // The row is written (one durable commit, on a thread of its own) while the driver makes
    // the volume; whichever of the two fails, the other is taken back.
    let insert = {
        let (state, row) = (Arc::clone(state), row.clone());
        tokio::task::spawn_blocking(move || state.db.insert_volume(&row))
    };
    let pool_ref = pool_row.pool_ref();
    let (created, inserted) = tokio::join!(biased; state.backend.create_volume(&pool_ref, &spec), insert);
    let inserted = match inserted {
        Ok(Ok(())) => Ok(()),
        Ok(Err(DbError::Exists(_))) => Err(ApiError::conflict("Volume by that name already exists")),
        Ok(Err(other)) => Err(other.into()),
        Err(err) => Err(ApiError::internal(format!("Recording the volume failed: {err}"))),
    };
    match (created, inserted) {
        (Ok(()), Ok(())) => {}
        (Err(err), inserted) => {
            if inserted.is_ok() {
                if let Err(undo) = state.db.delete_volume(&key) {
                    tracing::error!("{key}: cannot remove its record after a failed create: {undo}");
                }
            }
            return Err(err.into());
        }
        (Ok(()), Err(err)) => {
            super::copies::undo_volume(state, &pool_ref, &spec).await;
            return Err(err);
        }
    }
    announce_created(state, &row, &ctx.requestor());
    Ok(Sync::empty())
}

/// Tells the event listeners that a volume was made (`storage-volume-created`).
pub(crate) fn announce_created(state: &State, row: &VolumeRow, requestor: &Requestor) {
    let context = json!({"type": row.vol_type.as_str()});
    state.events.lifecycle("storage-volume-created", &url_of(row), context, &row.project, requestor);
}

/// The pool and volume a request names (`404` for either missing).
pub(crate) fn load(
    state: &State,
    ctx: &Ctx,
    pool: &str,
    vol_type: &str,
    name: &str,
) -> ApiResult<(PoolRow, VolumeRow, VolumeKey)> {
    ctx.check_target(state)?;
    let vol_type = parse_type(vol_type)?;
    let project = ctx.project()?;
    let pool_row = pools::load(state, pool)?;
    let key = VolumeKey { pool: pool.to_string(), project, vol_type, name: name.to_string() };
    let row = state.db.volume(&key)?.ok_or_else(not_found)?;
    Ok((pool_row, row, key))
}

type VolumePath = PathParams<(String, String, String)>;

pub async fn get(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name)): VolumePath,
) -> ApiResult<Sync> {
    let (pool_row, row, _) = load(&state, &ctx, &pool, &t, &name)?;
    let etag = etag(&row);
    if ctx.recursion() > 0 {
        return Ok(Sync::new(full(&state, &pool_row, &row).await).with_etag(etag));
    }
    Ok(Sync::new(render(&state, &row)).with_etag(etag))
}

pub async fn state(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name)): VolumePath,
) -> ApiResult<Sync> {
    let (pool_row, row, _) = load(&state, &ctx, &pool, &t, &name)?;
    Ok(Sync::new(state_json(&state, &pool_row, &row).await?))
}

#[derive(Debug, Deserialize)]
pub struct VolumePut {
    #[serde(default)]
    config: Option<Config>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    restore: Option<String>,
}

pub async fn put(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    headers: HeaderMap,
    PathParams((pool, t, name)): VolumePath,
    Json(body): Json<VolumePut>,
) -> ApiResult<Sync> {
    update(&state, &ctx, &headers, (&pool, &t, &name), body, false).await
}

pub async fn patch(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    headers: HeaderMap,
    PathParams((pool, t, name)): VolumePath,
    Json(body): Json<VolumePut>,
) -> ApiResult<Sync> {
    update(&state, &ctx, &headers, (&pool, &t, &name), body, true).await
}

/// PUT replaces config and description (only when `config` is given: a restore-only request
/// changes neither); PATCH (custom volumes) merges the config (a key set to `""` is removed)
/// and keeps the description unless one is given. `size` resizes through the backend.
async fn update(
    state: &State,
    ctx: &Ctx,
    headers: &HeaderMap,
    (pool, t, name): (&str, &str, &str),
    body: VolumePut,
    merge: bool,
) -> ApiResult<Sync> {
    let (_, _, key) = load(state, ctx, pool, t, name)?;
    if merge && key.vol_type != VolumeType::Custom {
        return Err(ApiError::bad_request(format!("Invalid storage volume type \"{}\"", key.vol_type)));
    }
    let _pool_guard = state.locks.pool_shared(pool).await;
    let _guard = state.locks.volume(&key).await;
    let pool_row = pools::load(state, pool)?;
    let row = state.db.volume(&key)?.ok_or_else(not_found)?;
    check_if_match(headers, &etag(&row))?;
    // A restore first; config and description change only when the body has a config.
    let row = match body.restore.as_deref().filter(|s| !s.is_empty()) {
        Some(snapshot) => {
            crate::snapshots::restore_locked(state, &pool_row, &row, snapshot, &ctx.requestor()).await?
        }
        None => row,
    };
    if !merge && body.config.is_none() {
        return Ok(Sync::empty());
    }
    let mut config = if merge { row.config.clone() } else { Config::new() };
    config.extend(body.config.unwrap_or_default());
    config.retain(|_, value| !value.is_empty());
    // Keys the daemon and the backend keep for themselves stay as they are.
    for (k, v) in &row.config {
        if k.starts_with("volatile.") && !config.contains_key(k) {
            config.insert(k.clone(), v.clone());
        }
    }
    let description = match (body.description, merge) {
        (Some(description), _) => description,
        (None, true) => row.description.clone(),
        (None, false) => String::new(),
    };
    let pool_ref = pool_row.pool_ref();
    let old_spec = row.spec();
    let changed = config != row.config;
    if changed {
        let new_spec = VolumeSpec { config: config.clone(), ..old_spec.clone() };
        state.backend.validate_volume(&pool_ref, &new_spec)?;
        state.backend.update_volume(&pool_ref, &old_spec, &config).await?;
    }
    if let Err(err) = state.db.update_volume(&key, &description, &config) {
        if changed {
            let new_spec = VolumeSpec { config: config.clone(), ..old_spec.clone() };
            if let Err(undo) = state.backend.update_volume(&pool_ref, &new_spec, &row.config).await {
                tracing::error!("{key}: cannot undo its update: {undo}");
            }
        }
        return Err(err.into());
    }
    state.events.lifecycle(
        "storage-volume-updated",
        &url_of(&row),
        json!({}),
        &row.project,
        &ctx.requestor(),
    );
    Ok(Sync::empty())
}

#[derive(Debug, Deserialize)]
pub struct VolumePost {
    #[serde(default)]
    name: String,
    #[serde(default)]
    pool: String,
    #[serde(default)]
    project: String,
    #[serde(default)]
    migration: bool,
}

/// Rename (same pool and project): `201` with the new volume's URL.
pub async fn post(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name)): VolumePath,
    Json(body): Json<VolumePost>,
) -> ApiResult<Sync> {
    let (_, _, key) = load(&state, &ctx, &pool, &t, &name)?;
    if body.migration {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            "Migrating storage volumes is not supported yet",
        ));
    }
    if !body.pool.is_empty() && body.pool != pool {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            "Moving storage volumes to another pool is not supported yet",
        ));
    }
    if !body.project.is_empty() && body.project != key.project {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            "Moving storage volumes to another project is not supported yet",
        ));
    }
    if body.name.contains('/') {
        return Err(ApiError::bad_request("Storage volume names may not contain slashes"));
    }
    check_name_of(key.vol_type, &body.name)?;
    let new_key = VolumeKey { name: body.name.clone(), ..key.clone() };
    let _pool_guard = state.locks.pool_shared(&pool).await;
    let _guards = state.locks.volumes(&key, &new_key).await;
    let pool_row = pools::load(&state, &pool)?;
    let row = state.db.volume(&key)?.ok_or_else(not_found)?;
    let new_url = volume_url(&pool, key.vol_type.as_str(), &body.name, &key.project);
    if new_key == key {
        return Ok(Sync::created(new_url));
    }
    if state.db.volume(&new_key)?.is_some() {
        return Err(ApiError::conflict("Volume by that name already exists"));
    }
    let pool_ref = pool_row.pool_ref();
    let spec = row.spec();
    state.backend.rename_volume(&pool_ref, &spec, &body.name).await?;
    if let Err(err) = state.db.rename_volume(&key, &body.name) {
        let renamed = VolumeSpec { name: body.name.clone(), ..spec };
        if let Err(undo) = state.backend.rename_volume(&pool_ref, &renamed, &name).await {
            tracing::error!("{key}: cannot undo its rename: {undo}");
        }
        return Err(match err {
            DbError::Exists(_) => ApiError::conflict("Volume by that name already exists"),
            other => other.into(),
        });
    }
    state.events.lifecycle(
        "storage-volume-renamed",
        &new_url,
        json!({"old_name": name}),
        &key.project,
        &ctx.requestor(),
    );
    Ok(Sync::created(new_url))
}

pub async fn delete(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name)): VolumePath,
) -> ApiResult<Sync> {
    let (_, _, key) = load(&state, &ctx, &pool, &t, &name)?;
    let volume = locked(&state, &key).await?;
    let (pool_row, row) = (&volume.pool, &volume.row);
    if !render(&state, row).used_by.is_empty() {
        return Err(ApiError::bad_request("The storage volume is still in use"));
    }
    // Its snapshots first (LINSTOR keeps a definition that has snapshots).
    crate::snapshots::remove_all_locked(&state, pool_row, row, &ctx.requestor()).await?;
    state.backend.delete_volume(&pool_row.pool_ref(), &row.spec()).await?;
    state.db.delete_volume(&key)?;
    state.events.lifecycle("storage-volume-deleted", &url_of(row), json!({}), &row.project, &ctx.requestor());
    Ok(Sync::empty())
}

// ---- Strand's own: mount, unmount, path (extension `strand_storage_volume_mount`) ----------

/// The body of a mount: where to bind a filesystem besides the daemon's own mount point.
#[derive(Debug, Deserialize)]
pub struct MountPost {
    #[serde(default)]
    path: Option<String>,
}

impl MountPost {
    /// The path asked for, which must be absolute; `None` when none was.
    pub(crate) fn target(self) -> ApiResult<Option<std::path::PathBuf>> {
        let target = self.path.filter(|p| !p.is_empty()).map(std::path::PathBuf::from);
        match target {
            Some(target) if !target.is_absolute() => Err(ApiError::bad_request(format!(
                "The mount path \"{}\" must be absolute",
                target.display()
            ))),
            target => Ok(target),
        }
    }
}

pub(crate) fn mount_answer(mounted: MountInfo) -> Sync {
    Sync::new(json!({"path": mounted.path, "device": mounted.device, "users": mounted.users}))
}

pub(crate) fn unmount_answer(outcome: UnmountOutcome) -> Sync {
    let (status, users) = match outcome {
        UnmountOutcome::Unmounted => ("unmounted", 0),
        UnmountOutcome::StillInUse { users } => ("in-use", users),
        UnmountOutcome::NotMounted => ("not-mounted", 0),
    };
    Sync::new(json!({"status": status, "users": users}))
}

pub async fn mount(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name)): VolumePath,
    Json(body): Json<MountPost>,
) -> ApiResult<Sync> {
    let (_, _, key) = load(&state, &ctx, &pool, &t, &name)?;
    let target = body.target()?;
    let volume = locked(&state, &key).await?;
    let mounted =
        state.backend.mount_volume(&volume.pool.pool_ref(), &volume.row.spec(), target.as_deref()).await?;
    Ok(mount_answer(mounted))
}

pub async fn unmount(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name)): VolumePath,
) -> ApiResult<Sync> {
    let (_, _, key) = load(&state, &ctx, &pool, &t, &name)?;
    let volume = locked(&state, &key).await?;
    Ok(unmount_answer(state.backend.unmount_volume(&volume.pool.pool_ref(), &volume.row.spec()).await?))
}

pub async fn path(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name)): VolumePath,
) -> ApiResult<Sync> {
    let (pool_row, row, _) = load(&state, &ctx, &pool, &t, &name)?;
    let (pool_ref, spec) = (pool_row.pool_ref(), row.spec());
    let path = state.backend.volume_path(&pool_ref, &spec).await?;
    let device = state.backend.volume_device(&pool_ref, &spec).await?;
    Ok(Sync::new(json!({"path": path, "device": device})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_per_volume_type() {
        use ContentType::*;
        use VolumeType::*;
        let cases = [
            (Custom, "", Some(Filesystem)),
            (Custom, "block", Some(Block)),
            (Container, "", Some(Filesystem)),
            (Container, "filesystem", Some(Filesystem)),
            (Container, "block", None),
            (VirtualMachine, "", Some(Block)),
            (VirtualMachine, "filesystem", None),
            (Image, "", Some(Filesystem)),
            (Image, "block", Some(Block)),
            (Custom, "iso", None),
            (Custom, "tape", None),
        ];
        for (vol_type, asked, expected) in cases {
            let got = content_type_of(vol_type, asked).ok();
            assert_eq!(got, expected, "{vol_type} {asked:?}");
        }
        let err = content_type_of(Container, "block").unwrap_err();
        assert_eq!(
            err.message,
            "Storage volumes of type \"container\" cannot have content type \"block\" (a container volume is a filesystem)"
        );
    }

    #[test]
    fn names_per_volume_type() {
        let fingerprint = "d21a26af7d5a95c3aa6e923257a1cb5cd765b102796b92ab111fb29ebfb86137";
        let good = [
            (VolumeType::Custom, "my_vol.1"),
            (VolumeType::Container, "c1"),
            (VolumeType::VirtualMachine, "web-01"),
            (VolumeType::Image, fingerprint),
        ];
        for (vol_type, name) in good {
            assert!(check_name_of(vol_type, name).is_ok(), "{vol_type} {name}");
        }
        let long = "a".repeat(64);
        let bad = [
            (VolumeType::Custom, ""),
            (VolumeType::Custom, "a b"),
            (VolumeType::Container, "1c"),
            (VolumeType::Container, "-c"),
            (VolumeType::Container, "c-"),
            (VolumeType::Container, "c_1"),
            (VolumeType::VirtualMachine, long.as_str()),
            (VolumeType::Image, "abc"),
            (VolumeType::Image, &fingerprint.to_ascii_uppercase()),
        ];
        for (vol_type, name) in bad {
            assert!(check_name_of(vol_type, name).is_err(), "{vol_type} {name:?}");
        }
    }
}
