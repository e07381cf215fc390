//! Custom volume backups, as Incus's API has them (extensions `custom_volume_backup`,
//! `backup_override_name`, `backup_compression_algorithm`):
//! `GET|POST .../volumes/custom/{vol}/backups`, `GET|POST|DELETE .../backups/{name}`,
//! `GET .../backups/{name}/export`; and the import, `POST .../volumes[/custom]` with the backup
//! file as an `application/octet-stream` body (`X-Incus-name` / `X-LXD-name` renames it).
//! The file layout is [`crate::backups`]'s.
//!
//! Rules kept here:
//! - Making a backup and importing one are operations that report their progress (stage and
//!   bytes) in their metadata; the volume (and its pool) is locked meanwhile.
//! - An import checks the whole file and reads its index before it makes anything; then the
//!   volume, each snapshot in turn (data, then snapshot), the volume's own data, and the rows
//!   last. A failure deletes what was made (snapshots, volume) and the upload.
//! - `resources.backups` of a backup operation is `/1.0/backups/<name>` first (what LXD 5.0.2's
//!   client reads) and the backup's full URL second (Incus's client takes the last segment).

use super::copies::{async_answer, record_made, undo_volume};
use super::images::spool;
use super::pools;
use super::response::{ApiError, ApiResult, Async, Sync};
use super::volumes::{check_name_of, not_found};
use super::{Ctx, Json, PathParams};
use crate::archive::Compression;
use crate::backend::{ContentType, DataPaths, DataWork, VolumeSpec, VolumeType};
use crate::backups::{self, BackupInfo, Backups, Output, SharedOutput};
use crate::db::{SnapshotRow, VolumeKey, VolumeRow};
use crate::names::volume_url;
use crate::operations::{OperationHandle, OperationSpec};
use crate::State;
use axum::body::Body;
use axum::extract::State as S;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type VolumePath = PathParams<(String, String, String)>;
type BackupPath = PathParams<(String, String, String, String)>;

fn backups_of(state: &State) -> Backups {
    Backups::new(&state.data_dir)
}

fn backup_url(key: &VolumeKey, name: &str) -> String {
    let base = volume_url(&key.pool, key.vol_type.as_str(), &key.name, "default");
    let url = format!("{base}/backups/{name}");
    if key.project == crate::DEFAULT_PROJECT {
        url
    } else {
        format!("{url}?project={}", key.project)
    }
}

fn backup_not_found() -> ApiError {
    ApiError::not_found("Storage volume backup not found")
}

/// The custom volume a request names.
fn load(
    state: &State,
    ctx: &Ctx,
    pool: &str,
    vol_type: &str,
    name: &str,
) -> ApiResult<(VolumeKey, VolumeRow)> {
    ctx.check_target(state)?;
    if vol_type != "custom" {
        return Err(ApiError::bad_request(format!(
            "Invalid storage volume type \"{vol_type}\" (only custom volumes have backups)"
        )));
    }
    let project = ctx.project()?;
    pools::load(state, pool)?;
    let key =
        VolumeKey { pool: pool.to_string(), project, vol_type: VolumeType::Custom, name: name.to_string() };
    let row = state.db.volume(&key)?.ok_or_else(not_found)?;
    Ok((key, row))
}

fn render(info: &BackupInfo) -> serde_json::Value {
    json!({
        "name": info.name,
        "created_at": info.created_at,
        "expires_at": info.expires_at,
        "volume_only": info.volume_only,
        "optimized_storage": info.optimized_storage,
    })
}

pub async fn list(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name)): VolumePath,
) -> ApiResult<Sync> {
    let (key, _) = load(&state, &ctx, &pool, &t, &name)?;
    let found = backups_of(&state).list(&key);
    if ctx.recursion() > 0 {
        return Ok(Sync::new(found.iter().map(render).collect::<Vec<_>>()));
    }
    Ok(Sync::new(found.iter().map(|b| backup_url(&key, &b.name)).collect::<Vec<_>>()))
}

pub async fn get(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name, backup)): BackupPath,
) -> ApiResult<Sync> {
    let (key, _) = load(&state, &ctx, &pool, &t, &name)?;
    backups_of(&state).get(&key, &backup).map(|b| Sync::new(render(&b))).ok_or_else(backup_not_found)
}

#[derive(Debug, Default, Deserialize)]
pub struct BackupsPost {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    volume_only: bool,
    #[serde(default)]
    optimized_storage: bool,
    #[serde(default)]
    compression_algorithm: String,
}

/// Reports an operation's progress every second while its work runs: the stage, and the bytes
/// that went through `counter`.
fn progress_reporter(
    handle: OperationHandle,
    stage: Arc<Mutex<String>>,
    counter: Option<Arc<std::sync::atomic::AtomicU64>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let stage = stage.lock().map(|s| s.clone()).unwrap_or_default();
            let mut progress = json!({"stage": stage});
            if let Some(counter) = &counter {
                progress["processed_bytes"] = json!(counter.load(Ordering::Relaxed));
            }
            handle.set_metadata(json!({"progress": progress}));
        }
    })
}

fn set_stage(stage: &Arc<Mutex<String>>, text: String) {
    if let Ok(mut s) = stage.lock() {
        *s = text;
    }
}

pub async fn create(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name)): VolumePath,
    Json(body): Json<BackupsPost>,
) -> ApiResult<Async> {
    let (key, row) = load(&state, &ctx, &pool, &t, &name)?;
    let compression = Compression::parse(&body.compression_algorithm).map_err(ApiError::bad_request)?;
    let store = backups_of(&state);
    let backup = if body.name.is_empty() { store.next_name(&key) } else { body.name.clone() };
    crate::names::check_api_name(&backup)
        .map_err(|why| ApiError::bad_request(format!("Invalid backup name \"{backup}\": {why}")))?;
    if store.get(&key, &backup).is_some() {
        return Err(ApiError::conflict(format!("Backup \"{backup}\" already exists")));
    }
    if body.optimized_storage {
        // As Incus does for drivers without optimized backups: a generic one instead.
        tracing::info!(
            "{key}: optimized backups are not supported by the linstor driver; making a generic one"
        );
    }
    if row.content_type == ContentType::Iso {
        return Err(ApiError::bad_request(
            "ISO volumes are exported as their file, which is not supported yet",
        ));
    }
    let spec = OperationSpec::task("Creating custom volume backup", key.project.clone())
        .resource("storage_volumes", volume_url(&pool, "custom", &name, &key.project))
        .resource("backups", format!("/1.0/backups/{backup}"))
        .resource("backups", backup_url(&key, &backup));
    let info = BackupInfo {
        name: backup.clone(),
        created_at: crate::time::now(),
        expires_at: body
            .expires_at
            .clone()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        volume_only: body.volume_only,
        // Strand's backups are never optimized (as Incus's linstor driver's).
        optimized_storage: false,
        compression_algorithm: body.compression_algorithm.clone(),
    };
    let requestor = ctx.requestor();
    let work_state = Arc::clone(&state);
    let op = state.operations.start_with(spec, move |handle| async move {
        let state = work_state;
        let _pool_guard = state.locks.pool_shared(&key.pool).await;
        let _guard = state.locks.volume(&key).await;
        let part = store.part_file(&key, &info.name)?;
        let stage = Arc::new(Mutex::new("starting".to_string()));
        let result = make_backup(&state, &key, &info, compression, &part, &handle, &stage).await;
        match result {
            Ok(()) => {
                store.commit(&key, &info, &part)?;
                state.events.lifecycle(
                    "storage-volume-backup-created",
                    &backup_url(&key, &info.name),
                    json!({"type": "custom"}),
                    &key.project,
                    &requestor,
                );
                Ok(Some(json!({"name": info.name})))
            }
            Err(err) => {
                let _ = std::fs::remove_file(&part);
                Err(err)
            }
        }
    });
    Ok(async_answer(op))
}

/// A backup of volume `key` written to `part`; the caller holds the locks.
async fn make_backup(
    state: &State,
    key: &VolumeKey,
    info: &BackupInfo,
    compression: Compression,
    part: &std::path::Path,
    handle: &OperationHandle,
    stage: &Arc<Mutex<String>>,
) -> Result<(), String> {
    let pool_row = pools::load(state, &key.pool).map_err(|e| e.message)?;
    let row = state.db.volume(key).map_err(|e| e.to_string())?.ok_or("Storage volume not found")?;
    let (pool_ref, spec) = (pool_row.pool_ref(), row.spec());
    let mut snapshots: Vec<SnapshotRow> = Vec::new();
    if !info.volume_only {
        let rows = state.db.snapshots(key).map_err(|e| e.to_string())?;
        // Oldest first, as the storage side took them.
        let order = state.backend.list_snapshots(&pool_ref, &spec).await.map_err(|e| e.message)?;
        for taken in order {
            if let Some(r) = rows.iter().find(|r| r.name == taken.name) {
                snapshots.push(r.clone());
            }
        }
    }
    let output = Output::create(part, compression)?;
    let counter = Arc::clone(&output.written);
    let out: SharedOutput = Arc::new(Mutex::new(output));
    let reporter = progress_reporter(handle.clone(), Arc::clone(stage), Some(counter));
    let result = async {
        let index = backups::index_yaml(&row, &snapshots);
        let o = Arc::clone(&out);
        blocking(move || {
            backups::write_dir(&o, "backup")?;
            backups::write_bytes(&o, "backup/index.yaml", index.as_bytes())
        })
        .await?;
        if !snapshots.is_empty() {
            let o = Arc::clone(&out);
            blocking(move || backups::write_dir(&o, "backup/volume-snapshots")).await?;
        }
        let block = row.content_type != ContentType::Filesystem;
        for (i, snapshot) in snapshots.iter().enumerate() {
            set_stage(stage, format!("snapshot {} ({}/{})", snapshot.name, i + 1, snapshots.len()));
            let member = format!("backup/volume-snapshots/{}", snapshot.name);
            state
                .backend
                .with_snapshot_data(&pool_ref, &spec, &snapshot.name, data_writer(&out, member, block))
                .await
                .map_err(|e| e.message)?;
        }
        set_stage(stage, "volume".into());
        state
            .backend
            .with_volume_data(&pool_ref, &spec, data_writer(&out, "backup/volume".into(), block))
            .await
            .map_err(|e| e.message)?;
        set_stage(stage, "finishing".into());
        let output = Arc::try_unwrap(out).map_err(|_| "the backup's output is still in use".to_string())?;
        let output = output.into_inner().unwrap_or_else(|p| p.into_inner());
        blocking(move || output.finish()).await
    }
    .await;
    reporter.abort();
    result
}

/// Work that appends a volume's (or snapshot's) data to the archive as `member`.
fn data_writer(out: &SharedOutput, member: String, block: bool) -> DataWork {
    let out = Arc::clone(out);
    Box::new(move |paths: &DataPaths| {
        if block {
            let device = paths.device.as_deref().ok_or("the volume has no block device here")?;
            backups::write_image(&out, device, &format!("{member}.img"))
        } else {
            let dir = paths.path.as_deref().ok_or("the volume's filesystem is not mounted")?;
            backups::write_tree(&out, dir, &member)
        }
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|err| format!("the work stopped: {err}"))?
}

#[derive(Debug, Default, Deserialize)]
pub struct BackupPost {
    #[serde(default)]
    name: String,
}

/// Rename.
pub async fn post(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name, backup)): BackupPath,
    Json(body): Json<BackupPost>,
) -> ApiResult<Async> {
    let (key, _) = load(&state, &ctx, &pool, &t, &name)?;
    let store = backups_of(&state);
    store.get(&key, &backup).ok_or_else(backup_not_found)?;
    crate::names::check_api_name(&body.name)
        .map_err(|why| ApiError::bad_request(format!("Invalid backup name \"{}\": {why}", body.name)))?;
    let spec = OperationSpec::task("Renaming custom volume backup", key.project.clone())
        .resource("backups", backup_url(&key, &backup));
    let (events, requestor) = (state.events.clone(), ctx.requestor());
    let op = state.operations.start(spec, async move {
        store.rename(&key, &backup, &body.name)?;
        events.lifecycle(
            "storage-volume-backup-renamed",
            &backup_url(&key, &body.name),
            json!({"old_name": backup}),
            &key.project,
            &requestor,
        );
        Ok(None)
    });
    Ok(async_answer(op))
}

pub async fn delete(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name, backup)): BackupPath,
) -> ApiResult<Async> {
    let (key, _) = load(&state, &ctx, &pool, &t, &name)?;
    let store = backups_of(&state);
    store.get(&key, &backup).ok_or_else(backup_not_found)?;
    let spec = OperationSpec::task("Deleting custom volume backup", key.project.clone())
        .resource("backups", backup_url(&key, &backup));
    let (events, requestor) = (state.events.clone(), ctx.requestor());
    let op = state.operations.start(spec, async move {
        store.delete(&key, &backup)?;
        events.lifecycle(
            "storage-volume-backup-deleted",
            &backup_url(&key, &backup),
            json!({}),
            &key.project,
            &requestor,
        );
        Ok(None)
    });
    Ok(async_answer(op))
}

/// The backup file.
pub async fn export(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams((pool, t, name, backup)): BackupPath,
) -> ApiResult<Response> {
    let (key, _) = load(&state, &ctx, &pool, &t, &name)?;
    let store = backups_of(&state);
    store.get(&key, &backup).ok_or_else(backup_not_found)?;
    let path = store.file(&key, &backup);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|err| ApiError::internal(format!("cannot open the backup: {err}")))?;
    let size = file
        .metadata()
        .await
        .map_err(|err| ApiError::internal(format!("cannot read the backup: {err}")))?
        .len();
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 1 << 20];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes_of(buf)), file))
            }
            Err(err) => Some((Err(err), file)),
        }
    });
    state.events.lifecycle(
        "storage-volume-backup-retrieved",
        &backup_url(&key, &backup),
        json!({}),
        &key.project,
        &ctx.requestor(),
    );
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(value) = HeaderValue::from_str(&format!("inline;filename={backup}")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

fn bytes_of(buf: Vec<u8>) -> axum::body::Bytes {
    axum::body::Bytes::from(buf)
}

// ---- import ------------------------------------------------------------------------------------

fn header_text(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()).map(str::to_string))
        .filter(|v| !v.is_empty())
}

/// `POST .../volumes[/custom]` with an `application/octet-stream` body: a backup to import.
pub async fn import(
    state: Arc<State>,
    ctx: Ctx,
    headers: HeaderMap,
    pool: String,
    url_type: Option<String>,
    body: Body,
) -> ApiResult<Async> {
    ctx.check_target(&state)?;
    if url_type.as_deref().is_some_and(|t| t != "custom") {
        return Err(ApiError::bad_request("Only custom volumes are imported from backups"));
    }
    if header_text(&headers, &["x-incus-type", "x-lxd-type"]).is_some_and(|t| t == "iso") {
        return Err(ApiError::new(StatusCode::NOT_IMPLEMENTED, "Importing ISO files is not supported yet"));
    }
    let project = ctx.project()?;
    pools::load(&state, &pool)?;
    let rename = header_text(&headers, &["x-incus-name", "x-lxd-name"]);
    if let Some(name) = &rename {
        check_name_of(VolumeType::Custom, name)?;
    }
    let store = backups_of(&state);
    let incoming = store.incoming().map_err(ApiError::internal)?;
    let (spooled, _, size) = spool(body, &incoming).await?;
    if size == 0 {
        return Err(ApiError::bad_request("The backup file is empty"));
    }
    let upload = spooled.take();
    let mut spec = OperationSpec::task("Restoring custom volume backup", project.clone());
    if let Some(name) = &rename {
        spec = spec.resource("storage_volumes", volume_url(&pool, "custom", name, &project));
    }
    let requestor = ctx.requestor();
    let work_state = Arc::clone(&state);
    let op = state.operations.start_with(spec, move |handle| async move {
        let stage = Arc::new(Mutex::new("checking the backup".to_string()));
        let reporter = progress_reporter(handle, Arc::clone(&stage), None);
        let result = import_backup(&work_state, &pool, &project, rename, &upload, &stage, &requestor).await;
        reporter.abort();
        let _ = std::fs::remove_file(&upload);
        result.map(|name| Some(json!({"name": name})))
    });
    Ok(async_answer(op))
}

async fn import_backup(
    state: &State,
    pool: &str,
    project: &str,
    rename: Option<String>,
    upload: &std::path::Path,
    stage: &Arc<Mutex<String>>,
    requestor: &crate::events::Requestor,
) -> Result<String, String> {
    let path = upload.to_path_buf();
    let (index, listing) = blocking(move || backups::inspect(&path)).await?;
    if index.optimized {
        return Err(format!(
            "Optimized backups (made by the {} driver) cannot be imported into a linstor pool",
            if index.backend.is_empty() { "unknown" } else { &index.backend }
        ));
    }
    if index.volume_type != "custom" {
        return Err(format!(
            "The backup is of a {} volume; only custom volume backups are imported here",
            index.volume_type
        ));
    }
    let name = rename.unwrap_or_else(|| index.name.clone());
    check_name_of(VolumeType::Custom, &name).map_err(|e| e.message)?;
    let content_type = ContentType::parse(&index.content_type)
        .ok_or_else(|| format!("Invalid content type \"{}\" in the backup", index.content_type))?;
    if content_type == ContentType::Iso {
        return Err("ISO volumes are not imported from backups".into());
    }
    let key = VolumeKey {
        pool: pool.to_string(),
        project: project.to_string(),
        vol_type: VolumeType::Custom,
        name: name.clone(),
    };
    let _pool_guard = state.locks.pool_shared(pool).await;
    let _guard = state.locks.volume(&key).await;
    let pool_row = pools::load(state, pool).map_err(|e| e.message)?;
    if state.db.volume(&key).map_err(|e| e.to_string())?.is_some() {
        return Err(format!("Volume \"{name}\" already exists in pool \"{pool}\""));
    }
    for snapshot in &index.snapshots {
        crate::names::check_api_name(&snapshot.name)
            .map_err(|why| format!("Invalid snapshot name \"{}\" in the backup: {why}", snapshot.name))?;
    }
    let config: crate::backend::Config = index
        .config
        .iter()
        .filter(|(k, _)| !k.starts_with("volatile."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let block = content_type != ContentType::Filesystem;
    // Big enough for the largest of the data it will hold.
    let mut needed: u64 = 0;
    for dir in index
        .snapshots
        .iter()
        .map(|s| format!("backup/volume-snapshots/{}", s.name))
        .chain(["backup/volume".to_string()])
    {
        let bytes = if block {
            listing.size_of(&format!("{dir}.img")).unwrap_or(0)
        } else {
            let data = listing.bytes_under(&dir);
            if data == 0 {
                0
            } else {
                data + data / 4 + (64 << 20)
            }
        };
        needed = needed.max(bytes);
    }
    let mut spec = VolumeSpec {
        project: project.to_string(),
        vol_type: VolumeType::Custom,
        name: name.clone(),
        content_type,
        config,
    };
    let pool_ref = pool_row.pool_ref();
    spec.config = state.backend.prepare_volume(&pool_ref, &spec).map_err(|e| e.message)?;
    // A size (in the backup, or the pool's default) smaller than the data would not hold it.
    let size = spec
        .config
        .get("size")
        .and_then(|v| driver::size::parse_size(v).ok().flatten())
        .unwrap_or(driver::size::DEFAULT_VOLUME_SIZE);
    if needed > size {
        spec.config.insert("size".into(), needed.to_string());
    }
    set_stage(stage, "creating the volume".into());
    state.backend.create_volume(&pool_ref, &spec).await.map_err(|e| e.message)?;
    let listing = Arc::new(listing);
    let tarball: PathBuf = upload.to_path_buf();
    let filled = async {
        let mut taken = Vec::new();
        for (i, snapshot) in index.snapshots.iter().enumerate() {
            set_stage(stage, format!("snapshot {} ({}/{})", snapshot.name, i + 1, index.snapshots.len()));
            let member = format!("backup/volume-snapshots/{}", snapshot.name);
            state
                .backend
                .with_volume_data(&pool_ref, &spec, data_reader(&tarball, &listing, member, block))
                .await
                .map_err(|e| e.message)?;
            let made = state
                .backend
                .create_snapshot(&pool_ref, &spec, &snapshot.name)
                .await
                .map_err(|e| e.message)?;
            taken.push(made);
        }
        set_stage(stage, "volume".into());
        state
            .backend
            .with_volume_data(
                &pool_ref,
                &spec,
                data_reader(&tarball, &listing, "backup/volume".into(), block),
            )
            .await
            .map_err(|e| e.message)?;
        Ok::<_, String>(taken)
    }
    .await;
    let taken = match filled {
        Ok(taken) => taken,
        Err(err) => {
            undo_volume(state, &pool_ref, &spec).await;
            return Err(err);
        }
    };
    let row = VolumeRow {
        pool: pool.to_string(),
        project: project.to_string(),
        vol_type: VolumeType::Custom,
        name: name.clone(),
        description: index.description.clone(),
        content_type,
        config: spec.config.clone(),
        created_at: crate::time::now(),
    };
    let snapshot_rows: Vec<SnapshotRow> = index
        .snapshots
        .iter()
        .zip(&taken)
        .map(|(s, made)| SnapshotRow {
            volume: key.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
            expires_at: s.expires_at.clone(),
            created_at: s
                .created_at
                .clone()
                .or_else(|| made.created_at.clone())
                .unwrap_or_else(crate::time::now),
            config: if s.config.is_empty() { spec.config.clone() } else { s.config.clone() },
        })
        .collect();
    record_made(state, &pool_ref, &spec, &row, &snapshot_rows, requestor).await?;
    Ok(name)
}

/// Work that replaces a volume's data by member `member` of the backup.
fn data_reader(
    tarball: &std::path::Path,
    listing: &Arc<crate::archive::Listing>,
    member: String,
    block: bool,
) -> DataWork {
    let (tarball, listing) = (tarball.to_path_buf(), Arc::clone(listing));
    Box::new(move |paths: &DataPaths| {
        if block {
            let device = paths.device.as_deref().ok_or("the volume has no block device here")?;
            backups::restore_image(&tarball, &format!("{member}.img"), device)
        } else {
            let dir = paths.path.as_deref().ok_or("the volume's filesystem is not mounted")?;
            backups::restore_tree(&tarball, &listing, &member, dir)
        }
    })
}
