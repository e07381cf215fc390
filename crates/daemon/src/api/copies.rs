//! New volumes from a source: `POST /1.0/storage-pools/{pool}/volumes[/{type}]` with
//! `source.type` `copy` (Incus's copy, with snapshots unless `volume_only`; a source named
//! `vol/snap` is a snapshot) or `image` (Strand's: an instance volume from an image of the image
//! store), and with an `application/octet-stream` body (a backup to import, see
//! [`super::backups`]). Plain creates go on to [`super::volumes`].
//!
//! Rules kept here:
//! - These requests are asynchronous (`202`, an operation), as Incus's copies and imports. What
//!   can be refused at once (bad names, a missing source, a taken name) is refused before any
//!   operation starts.
//! - The source and the new volume are locked for the whole operation; the new volume's row is
//!   written only after the backend made it (with its snapshots' rows, copied from the source's);
//!   a failure deletes what the backend made, snapshots first.
//! - An image is unpacked once per pool, into the image volume named by its fingerprint: the
//!   first request of a pool makes it under the image volume's lock, the others wait for it and
//!   then clone it in parallel.

use super::pools;
use super::response::{ApiError, ApiResult, Async};
use super::volumes::{announce_created, check_name_of, content_type_of, not_found};
use super::{Ctx, PathParams, BODY_LIMIT};
use crate::backend::{Config, ContentType, PoolRef, VolumeSpec, VolumeType};
use crate::db::{DbError, PoolRow, SnapshotRow, VolumeKey, VolumeRow};
use crate::events::Requestor;
use crate::images::{self, ImageInfo};
use crate::names::volume_url;
use crate::operations::{Operation, OperationSpec};
use crate::State;
use axum::body::Body;
use axum::extract::{Request, State as S};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) fn async_answer(op: Operation) -> Async {
    Async { operation_url: op.url(), operation: serde_json::to_value(&op).unwrap_or(serde_json::Value::Null) }
}

/// `source` of a new volume.
#[derive(Debug, Default, Deserialize)]
pub struct Source {
    #[serde(default, rename = "type")]
    pub source_type: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub pool: String,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub volume_only: bool,
    #[serde(default)]
    pub refresh: bool,
    /// `image`: the image (also accepted as `name`).
    #[serde(default)]
    pub fingerprint: String,
}

#[derive(Debug, Deserialize)]
pub struct SourcedPost {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub vol_type: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub config: Option<Config>,
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub source: Source,
}

/// Only what decides where a POST goes.
#[derive(Debug, Default, Deserialize)]
struct Peek {
    #[serde(default)]
    source: Option<PeekSource>,
}

#[derive(Debug, Default, Deserialize)]
struct PeekSource {
    #[serde(default, rename = "type")]
    source_type: Option<String>,
}

fn is_octet_stream(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"))
}

/// The layer in front of the volume-creating routes: imports, copies and volumes from images
/// are answered here; everything else goes on.
pub async fn intercept(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams(params): PathParams<HashMap<String, String>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let pool = params.get("pool").cloned().unwrap_or_default();
    let url_type = params.get("vol_type").cloned();
    if is_octet_stream(request.headers()) {
        let headers = request.headers().clone();
        return super::backups::import(state, ctx, headers, pool, url_type, request.into_body())
            .await
            .into_response();
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(err) => {
            return ApiError::bad_request(format!("Failed to read the request body: {err}")).into_response()
        }
    };
    let peek: Peek = serde_json::from_slice(&bytes).unwrap_or_default();
    let kind = peek.source.and_then(|s| s.source_type).unwrap_or_default();
    if kind != "copy" && kind != "image" {
        return next.run(Request::from_parts(parts, Body::from(bytes))).await;
    }
    let body: SourcedPost = match serde_json::from_slice(&bytes) {
        Ok(body) => body,
        Err(err) => return ApiError::bad_request(format!("Invalid request body: {err}")).into_response(),
    };
    let vol_type =
        url_type.or(Some(body.vol_type.clone()).filter(|t| !t.is_empty())).unwrap_or("custom".into());
    let answer = if kind == "copy" {
        copy(state, ctx, pool, vol_type, body).await
    } else {
        from_image(state, ctx, pool, vol_type, body).await
    };
    answer.into_response()
}

fn parse_type(text: &str) -> ApiResult<VolumeType> {
    VolumeType::parse(text)
        .ok_or_else(|| ApiError::bad_request(format!("Invalid storage volume type \"{text}\"")))
}

/// Deletes a volume the backend made for a request that failed afterwards: its snapshots
/// first (LINSTOR keeps a definition that has snapshots).
pub(crate) async fn undo_volume(state: &State, pool: &PoolRef, spec: &VolumeSpec) {
    if let Ok(snapshots) = state.backend.list_snapshots(pool, spec).await {
        for snapshot in snapshots.iter().rev() {
            if let Err(err) = state.backend.delete_snapshot(pool, spec, &snapshot.name).await {
                tracing::error!("{}: cannot undo snapshot {}: {err}", spec.name, snapshot.name);
            }
        }
    }
    if let Err(err) = state.backend.delete_volume(pool, spec).await {
        tracing::error!("{}: cannot undo its creation: {err}", spec.name);
    }
}

/// Records a volume the backend has made — its row and its snapshots' rows — and announces
/// it. When the rows cannot be written, the volume goes again.
pub(crate) async fn record_made(
    state: &State,
    pool: &PoolRef,
    spec: &VolumeSpec,
    row: &VolumeRow,
    snapshots: &[SnapshotRow],
    requestor: &Requestor,
) -> Result<(), String> {
    if let Err(err) = insert_rows(state, row, snapshots) {
        undo_volume(state, pool, spec).await;
        return Err(err);
    }
    announce_created(state, row, requestor);
    Ok(())
}

/// Writes a new volume's row and its snapshots' rows; on failure the rows go again (the
/// caller undoes the backend's part).
fn insert_rows(state: &State, row: &VolumeRow, snapshots: &[SnapshotRow]) -> Result<(), String> {
    state.db.insert_volume(row).map_err(|err| match err {
        DbError::Exists(_) => "Volume by that name already exists".to_string(),
        other => format!("Database error: {other}"),
    })?;
    for snapshot in snapshots {
        if let Err(err) = state.db.insert_snapshot(snapshot) {
            let key = key_of(row);
            let _ = state.db.delete_volume(&key);
            return Err(format!("Database error: {err}"));
        }
    }
    Ok(())
}

pub(crate) fn key_of(row: &VolumeRow) -> VolumeKey {
    VolumeKey {
        pool: row.pool.clone(),
        project: row.project.clone(),
        vol_type: row.vol_type,
        name: row.name.clone(),
    }
}

/// A copy's config: the source's (its `volatile.*` keys left out), the request's keys over it.
fn copy_config(source: &Config, asked: Option<Config>) -> Config {
    let mut config: Config = source
        .iter()
        .filter(|(k, _)| !k.starts_with("volatile."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, value) in asked.unwrap_or_default() {
        if value.is_empty() {
            config.remove(&key);
        } else {
            config.insert(key, value);
        }
    }
    config
}

async fn copy(
    state: Arc<State>,
    ctx: Ctx,
    pool: String,
    vol_type: String,
    body: SourcedPost,
) -> ApiResult<Async> {
    ctx.check_target(&state)?;
    let vol_type = parse_type(&vol_type)?;
    check_name_of(vol_type, &body.name)?;
    let project = ctx.project()?;
    let source = &body.source;
    if source.name.is_empty() {
        return Err(ApiError::bad_request("No source volume name given"));
    }
    if source.refresh {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            "Refreshing storage volume copies is not supported yet",
        ));
    }
    let src_pool = if source.pool.is_empty() { pool.clone() } else { source.pool.clone() };
    if src_pool != pool {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            format!(
                "Copying storage volumes between pools (\"{src_pool}\" to \"{pool}\") is not supported yet: \
                 export the volume and import it into the other pool"
            ),
        ));
    }
    let src_project = if source.project.is_empty() { project.clone() } else { source.project.clone() };
    if src_project != project {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            "Copying storage volumes between projects is not supported yet",
        ));
    }
    let (src_name, snapshot) = match source.name.split_once('/') {
        Some((volume, snapshot)) => (volume.to_string(), Some(snapshot.to_string())),
        None => (source.name.clone(), None),
    };
    let pool_row = pools::load(&state, &pool)?;
    let src_key = VolumeKey { pool: pool.clone(), project: src_project, vol_type, name: src_name };
    let dst_key =
        VolumeKey { pool: pool.clone(), project: project.clone(), vol_type, name: body.name.clone() };
    if src_key == dst_key {
        return Err(ApiError::bad_request("A storage volume cannot be copied onto itself"));
    }
    let src_row = state.db.volume(&src_key)?.ok_or_else(not_found)?;
    if let Some(snap) = &snapshot {
        state
            .db
            .snapshot(&src_key, snap)?
            .ok_or_else(|| ApiError::not_found("Storage volume snapshot not found"))?;
    }
    if state.db.volume(&dst_key)?.is_some() {
        return Err(ApiError::conflict("Volume by that name already exists"));
    }
    if !body.content_type.is_empty() && body.content_type != src_row.content_type.as_str() {
        return Err(ApiError::bad_request(format!(
            "Content type \"{}\" differs from the source's \"{}\"",
            body.content_type, src_row.content_type
        )));
    }
    let mut dst_spec = VolumeSpec {
        project: project.clone(),
        vol_type,
        name: body.name.clone(),
        content_type: src_row.content_type,
        config: copy_config(&src_row.config, body.config.clone()),
    };
    dst_spec.config = state.backend.prepare_volume(&pool_row.pool_ref(), &dst_spec)?;
    let dst_url = volume_url(&pool, vol_type.as_str(), &body.name, &project);
    let spec = OperationSpec::task("Copying storage volume", project.clone())
        .resource("storage_volumes", dst_url.clone());
    let requestor = ctx.requestor();
    let description =
        if body.description.is_empty() { src_row.description.clone() } else { body.description };
    let work_state = Arc::clone(&state);
    let op = state.operations.start_with(spec, move |_handle| async move {
        let state = work_state;
        let _pool_guard = state.locks.pool_shared(&pool).await;
        let _guards = state.locks.volumes(&src_key, &dst_key).await;
        let fail = |err: ApiError| err.message;
        let pool_row = pools::load(&state, &pool).map_err(fail)?;
        let src_row =
            state.db.volume(&src_key).map_err(|e| e.to_string())?.ok_or("Storage volume not found")?;
        if state.db.volume(&dst_key).map_err(|e| e.to_string())?.is_some() {
            return Err("Volume by that name already exists".to_string());
        }
        let pool_ref = pool_row.pool_ref();
        let src_spec = src_row.spec();
        let copied = match &snapshot {
            Some(snap) => state
                .backend
                .create_volume_from_snapshot(&pool_ref, &src_spec, snap, &dst_spec)
                .await
                .map(|()| Vec::new()),
            None => {
                state.backend.copy_volume(&pool_ref, &src_spec, &dst_spec, !body.source.volume_only).await
            }
        }
        .map_err(|err| err.message)?;
        let row = VolumeRow {
            pool: pool.clone(),
            project: project.clone(),
            vol_type,
            name: dst_spec.name.clone(),
            description,
            content_type: dst_spec.content_type,
            config: dst_spec.config.clone(),
            created_at: crate::time::now(),
        };
        let mut snapshot_rows = Vec::new();
        for name in &copied {
            let source_row = state.db.snapshot(&src_key, name).ok().flatten();
            snapshot_rows.push(SnapshotRow {
                volume: dst_key.clone(),
                name: name.clone(),
                description: source_row.as_ref().map(|r| r.description.clone()).unwrap_or_default(),
                expires_at: source_row.as_ref().and_then(|r| r.expires_at.clone()),
                created_at: source_row
                    .as_ref()
                    .map(|r| r.created_at.clone())
                    .unwrap_or_else(crate::time::now),
                config: source_row.map(|r| r.config).unwrap_or_else(|| dst_spec.config.clone()),
            });
        }
        record_made(&state, &pool_ref, &dst_spec, &row, &snapshot_rows, &requestor).await?;
        Ok(Some(json!({"snapshots": copied})))
    });
    Ok(async_answer(op))
}

/// The size volumes of a pool get when they give none (`volume.size`, else 10 GiB).
fn default_volume_size(pool: &PoolRow) -> u64 {
    pool.config
        .get("volume.size")
        .and_then(|v| driver::size::parse_size(v).ok().flatten())
        .filter(|b| *b > 0)
        .unwrap_or(driver::size::DEFAULT_VOLUME_SIZE)
}

/// Makes the pool's image volume of `image` unless it has one: under the image volume's lock,
/// so that concurrent first uses make one. Answers its row.
pub(crate) async fn ensure_image_volume(
    state: &State,
    pool_row: &PoolRow,
    image: &ImageInfo,
    requestor: &Requestor,
) -> Result<VolumeRow, String> {
    let key = VolumeKey {
        pool: pool_row.name.clone(),
        project: crate::DEFAULT_PROJECT.to_string(),
        vol_type: VolumeType::Image,
        name: image.fingerprint.clone(),
    };
    let _guard = state.locks.volume(&key).await;
    if let Some(row) = state.db.volume(&key).map_err(|e| e.to_string())? {
        return Ok(row);
    }
    let content_type =
        if image.image_type == images::CONTAINER { ContentType::Filesystem } else { ContentType::Block };
    let size = images::image_volume_size(image, default_volume_size(pool_row));
    let mut spec = VolumeSpec {
        project: key.project.clone(),
        vol_type: VolumeType::Image,
        name: image.fingerprint.clone(),
        content_type,
        config: [("size".to_string(), size.to_string())].into(),
    };
    let pool_ref = pool_row.pool_ref();
    spec.config = state.backend.prepare_volume(&pool_ref, &spec).map_err(|e| e.message)?;
    let (store, info) = (state.images.clone(), image.clone());
    tracing::info!(
        "storage pool {}: unpacking image {} into its image volume",
        pool_row.name,
        image.fingerprint
    );
    state
        .backend
        .create_volume_filled(&pool_ref, &spec, Box::new(move |paths| store.unpack(&info, paths)))
        .await
        .map_err(|e| format!("Could not make the image volume of {}: {}", image.fingerprint, e.message))?;
    let row = VolumeRow {
        pool: pool_row.name.clone(),
        project: key.project.clone(),
        vol_type: VolumeType::Image,
        name: image.fingerprint.clone(),
        description: if image.filename.is_empty() {
            String::new()
        } else {
            format!("Image {}", image.filename)
        },
        content_type,
        config: spec.config.clone(),
        created_at: crate::time::now(),
    };
    record_made(state, &pool_ref, &spec, &row, &[], requestor).await?;
    Ok(row)
}

async fn from_image(
    state: Arc<State>,
    ctx: Ctx,
    pool: String,
    vol_type: String,
    body: SourcedPost,
) -> ApiResult<Async> {
    ctx.check_target(&state)?;
    let vol_type = parse_type(&vol_type)?;
    if !matches!(vol_type, VolumeType::Container | VolumeType::VirtualMachine) {
        return Err(ApiError::bad_request(format!(
            "Storage volumes of type \"{vol_type}\" are not made from images (only container and virtual-machine volumes)"
        )));
    }
    check_name_of(vol_type, &body.name)?;
    let content_type = content_type_of(vol_type, &body.content_type)?;
    let project = ctx.project()?;
    let wanted =
        if body.source.fingerprint.is_empty() { &body.source.name } else { &body.source.fingerprint };
    if wanted.is_empty() {
        return Err(ApiError::bad_request("No image given (source.fingerprint)"));
    }
    let image = state
        .images
        .get(wanted)
        .ok_or_else(|| ApiError::not_found(format!("Image \"{wanted}\" not found")))?;
    let fits = match vol_type {
        VolumeType::Container => image.image_type == images::CONTAINER,
        _ => image.image_type == images::VIRTUAL_MACHINE,
    };
    if !fits {
        return Err(ApiError::bad_request(format!(
            "Image {} is a {} image: it cannot make a {vol_type} volume",
            image.fingerprint, image.image_type
        )));
    }
    let pool_row = pools::load(&state, &pool)?;
    let dst_key =
        VolumeKey { pool: pool.clone(), project: project.clone(), vol_type, name: body.name.clone() };
    if state.db.volume(&dst_key)?.is_some() {
        return Err(ApiError::conflict("Volume by that name already exists"));
    }
    let mut config = body.config.clone().unwrap_or_default();
    config.retain(|_, v| !v.is_empty());
    let check = VolumeSpec {
        project: project.clone(),
        vol_type,
        name: body.name.clone(),
        content_type,
        config: config.clone(),
    };
    state.backend.prepare_volume(&pool_row.pool_ref(), &check)?;
    let dst_url = volume_url(&pool, vol_type.as_str(), &body.name, &project);
    let spec = OperationSpec::task("Creating storage volume", project.clone())
        .resource("storage_volumes", dst_url)
        .resource("images", format!("/1.0/images/{}", image.fingerprint));
    let requestor = ctx.requestor();
    let work_state = Arc::clone(&state);
    let description = body.description.clone();
    let op = state.operations.start_with(spec, move |_handle| async move {
        let state = work_state;
        let _pool_guard = state.locks.pool_shared(&pool).await;
        let pool_row = pools::load(&state, &pool).map_err(|e| e.message)?;
        let image_row = ensure_image_volume(&state, &pool_row, &image, &requestor).await?;
        let _guard = state.locks.volume(&dst_key).await;
        if state.db.volume(&dst_key).map_err(|e| e.to_string())?.is_some() {
            return Err("Volume by that name already exists".to_string());
        }
        // The instance's filesystem is the image's.
        if let Some(fs) = image_row.config.get("block.filesystem") {
            config.insert("block.filesystem".to_string(), fs.clone());
        }
        let pool_ref = pool_row.pool_ref();
        let mut dst = VolumeSpec {
            project: project.clone(),
            vol_type,
            name: dst_key.name.clone(),
            content_type,
            config,
        };
        dst.config = state.backend.prepare_volume(&pool_ref, &dst).map_err(|e| e.message)?;
        state
            .backend
            .create_volume_from_image(&pool_ref, &image_row.spec(), &dst)
            .await
            .map_err(|e| e.message)?;
        let row = VolumeRow {
            pool: pool.clone(),
            project: project.clone(),
            vol_type,
            name: dst.name.clone(),
            description,
            content_type,
            config: dst.config.clone(),
            created_at: crate::time::now(),
        };
        record_made(&state, &pool_ref, &dst, &row, &[], &requestor).await?;
        Ok(Some(json!({"fingerprint": image.fingerprint})))
    });
    Ok(async_answer(op))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_keep_the_source_config_with_the_request_over_it() {
        let source: Config = [
            ("size".to_string(), "1GiB".to_string()),
            ("block.filesystem".to_string(), "xfs".to_string()),
            ("volatile.uuid".to_string(), "x".to_string()),
        ]
        .into();
        let asked: Config =
            [("size".to_string(), "2GiB".to_string()), ("block.filesystem".to_string(), String::new())]
                .into();
        let config = copy_config(&source, Some(asked));
        assert_eq!(config.get("size").map(String::as_str), Some("2GiB"));
        assert!(!config.contains_key("block.filesystem"));
        assert!(!config.contains_key("volatile.uuid"));
    }
}
