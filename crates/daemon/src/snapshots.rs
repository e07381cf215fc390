//! Volume snapshots in the daemon: taking, deleting and restoring them (row and backend
//! together), and the background task that takes and expires them on its own.
//!
//! Rules kept here:
//! - Backend first, row second, or undone: a snapshot row is written only after the backend
//!   took the snapshot, and the snapshot is deleted again when the row cannot be written. A
//!   delete removes the row once the backend's snapshot is gone (or was gone already).
//! - Every change of one volume's snapshots holds the pool's shared lock and the volume's
//!   lock, like the volume's own changes.
//! - A restore keeps the rows in step with the backend: snapshots the backend deleted on the
//!   way (`linstor.remove_snapshots`), or no longer has after a failure, lose their rows; the
//!   volume's `size` becomes the snapshot's (the storage side sets it back too).
//! - The scheduler wakes every [`TICK`]: once per minute it takes the snapshots that
//!   `snapshots.schedule` (the volume's, else the pool's `volume.snapshots.schedule`) asks for
//!   in that minute of local time, named by `snapshots.pattern` and expiring after
//!   `snapshots.expiry`; every tick it deletes the snapshots whose `expires_at` has passed.
//!   Failures are logged and retried on the next occasion; nothing the scheduler does blocks a
//!   request for longer than one snapshot.

use crate::api::response::{ApiError, ApiResult};
use crate::api::volumes::locked;
use crate::backend::{ErrorKind, VolumeType};
use crate::db::{PoolRow, SnapshotRow, VolumeKey, VolumeRow};
use crate::events::Requestor;
use crate::names::{escape_segment, volume_url};
use crate::State;
use driver::schedule::{self, Schedule};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often the scheduler wakes.
pub const TICK: Duration = Duration::from_secs(10);

pub fn snapshot_not_found() -> ApiError {
    ApiError::not_found("Storage volume snapshot not found")
}

/// `/1.0/storage-pools/<pool>/volumes/<type>/<volume>/snapshots/<snapshot>[?project=<p>]`.
pub fn snapshot_url(key: &VolumeKey, snapshot: &str) -> String {
    let url = volume_url(&key.pool, key.vol_type.as_str(), &key.name, &key.project);
    let (path, query) = match url.split_once('?') {
        Some((path, query)) => (path.to_string(), format!("?{query}")),
        None => (url, String::new()),
    };
    format!("{path}/snapshots/{}{query}", escape_segment(snapshot))
}

/// Volume types that have snapshots (image volumes have none).
pub fn check_type(vol_type: VolumeType) -> ApiResult<()> {
    if vol_type == VolumeType::Image {
        return Err(ApiError::bad_request("Storage volumes of type \"image\" have no snapshots"));
    }
    Ok(())
}

/// A snapshot key's value: the volume's config, else the pool's `volume.<key>`.
pub fn effective(volume: &VolumeRow, pool: &PoolRow, key: &str) -> Option<String> {
    volume
        .config
        .get(key)
        .filter(|v| !v.trim().is_empty())
        .or_else(|| pool.config.get(&format!("volume.{key}")).filter(|v| !v.trim().is_empty()))
        .cloned()
}

/// The expiry of a snapshot taken now without an explicit one: `snapshots.expiry.manual` for
/// snapshots asked for (falling back to `snapshots.expiry`), `snapshots.expiry` for scheduled
/// ones. `None`: never.
pub fn default_expiry(
    volume: &VolumeRow,
    pool: &PoolRow,
    manual: bool,
    now: SystemTime,
) -> ApiResult<Option<String>> {
    let value = if manual {
        effective(volume, pool, schedule::KEY_EXPIRY_MANUAL)
            .or_else(|| effective(volume, pool, schedule::KEY_EXPIRY))
    } else {
        effective(volume, pool, schedule::KEY_EXPIRY)
    };
    let Some(value) = value else { return Ok(None) };
    let at = schedule::expiry_after(now, &value)
        .map_err(|why| ApiError::bad_request(format!("Invalid snapshot expiry \"{value}\": {why}")))?;
    Ok(at.map(crate::time::rfc3339))
}

/// An `expires_at` a client sent: RFC 3339, Go's zero time for "never".
pub fn parse_expires_at(text: &str) -> ApiResult<Option<String>> {
    let text = text.trim();
    if text.is_empty() || text.starts_with("0001-01-01T00:00:00") {
        return Ok(None);
    }
    let at = schedule::parse_rfc3339(text)
        .map_err(|why| ApiError::bad_request(format!("Invalid expires_at: {why}")))?;
    Ok(Some(crate::time::rfc3339(at)))
}

/// Checks a snapshot name: an API name (no `/`).
pub fn check_name(name: &str) -> ApiResult<()> {
    crate::names::check_api_name(name)
        .map_err(|why| ApiError::bad_request(format!("Invalid snapshot name \"{name}\": {why}")))
}

/// Takes a snapshot of volume `key` (takes the locks). `409` when the name is taken.
pub async fn take(
    state: &State,
    key: &VolumeKey,
    name: &str,
    description: &str,
    expires_at: Option<String>,
    requestor: &Requestor,
) -> ApiResult<SnapshotRow> {
    let volume = locked(state, key).await?;
    let (pool_row, row) = (&volume.pool, &volume.row);
    if state.db.snapshot(key, name)?.is_some() {
        return Err(ApiError::conflict(format!("Snapshot \"{name}\" already exists")));
    }
    let (pool_ref, spec) = (pool_row.pool_ref(), row.spec());
    let taken = state.backend.create_snapshot(&pool_ref, &spec, name).await?;
    let snapshot = SnapshotRow {
        volume: key.clone(),
        name: name.to_string(),
        description: description.to_string(),
        expires_at,
        created_at: taken.created_at.unwrap_or_else(crate::time::now),
        config: row.config.clone(),
    };
    if let Err(err) = state.db.insert_snapshot(&snapshot) {
        if let Err(undo) = state.backend.delete_snapshot(&pool_ref, &spec, name).await {
            tracing::error!("{key}: cannot undo snapshot {name}: {undo}");
        }
        return Err(match err {
            crate::db::DbError::Exists(_) => {
                ApiError::conflict(format!("Snapshot \"{name}\" already exists"))
            }
            other => other.into(),
        });
    }
    state.events.lifecycle(
        "storage-volume-snapshot-created",
        &snapshot_url(key, name),
        json!({"type": key.vol_type.as_str()}),
        &key.project,
        requestor,
    );
    Ok(snapshot)
}

/// Deletes snapshot `name` of volume `key` (takes the locks).
pub async fn remove(state: &State, key: &VolumeKey, name: &str, requestor: &Requestor) -> ApiResult<()> {
    let volume = locked(state, key).await?;
    let (pool_row, row) = (&volume.pool, &volume.row);
    state.db.snapshot(key, name)?.ok_or_else(snapshot_not_found)?;
    remove_locked(state, pool_row, row, name).await?;
    state.events.lifecycle(
        "storage-volume-snapshot-deleted",
        &snapshot_url(key, name),
        json!({}),
        &key.project,
        requestor,
    );
    Ok(())
}

/// Deletes a snapshot on the backend (one it does not have is fine) and its row; the caller
/// holds the locks.
async fn remove_locked(state: &State, pool: &PoolRow, row: &VolumeRow, name: &str) -> ApiResult<()> {
    match state.backend.delete_snapshot(&pool.pool_ref(), &row.spec(), name).await {
        Ok(()) => {}
        Err(err) if err.kind == ErrorKind::NotFound => {
            tracing::warn!("{}: snapshot {name} was gone on the storage side already", row.pool);
        }
        Err(err) => return Err(err.into()),
    }
    state.db.delete_snapshot(&key_of(row), name)?;
    Ok(())
}

pub fn key_of(row: &VolumeRow) -> VolumeKey {
    VolumeKey {
        pool: row.pool.clone(),
        project: row.project.clone(),
        vol_type: row.vol_type,
        name: row.name.clone(),
    }
}

/// Deletes every snapshot of a volume (rows, and what the backend has), before the volume
/// goes; the caller holds the locks.
pub async fn remove_all_locked(
    state: &State,
    pool: &PoolRow,
    row: &VolumeRow,
    requestor: &Requestor,
) -> ApiResult<()> {
    let key = key_of(row);
    let mut names: Vec<String> = state.db.snapshots(&key)?.into_iter().map(|s| s.name).collect();
    match state.backend.list_snapshots(&pool.pool_ref(), &row.spec()).await {
        Ok(found) => names.extend(found.into_iter().map(|s| s.name)),
        Err(err) if matches!(err.kind, ErrorKind::Refused | ErrorKind::NotFound) => {}
        Err(err) => return Err(err.into()),
    }
    names.sort();
    names.dedup();
    for name in names.iter().rev() {
        remove_locked(state, pool, row, name).await?;
        state.events.lifecycle(
            "storage-volume-snapshot-deleted",
            &snapshot_url(&key, name),
            json!({}),
            &key.project,
            requestor,
        );
    }
    Ok(())
}

/// Restores a volume to its snapshot `name`; the caller holds the locks. Answers the volume's
/// row as it is afterwards.
pub async fn restore_locked(
    state: &State,
    pool: &PoolRow,
    row: &VolumeRow,
    name: &str,
    requestor: &Requestor,
) -> ApiResult<VolumeRow> {
    let key = key_of(row);
    check_type(key.vol_type)?;
    let snapshot = state.db.snapshot(&key, name)?.ok_or_else(snapshot_not_found)?;
    let (pool_ref, spec) = (pool.pool_ref(), row.spec());
    let result = state.backend.restore_snapshot(&pool_ref, &spec, name).await;
    // Rows follow what the backend has now.
    let gone: Vec<String> = match &result {
        Ok(outcome) => outcome.deleted_snapshots.clone(),
        Err(_) => match state.backend.list_snapshots(&pool_ref, &spec).await {
            Ok(found) => state
                .db
                .snapshots(&key)?
                .into_iter()
                .map(|s| s.name)
                .filter(|n| !found.iter().any(|f| &f.name == n))
                .collect(),
            Err(_) => Vec::new(),
        },
    };
    for deleted in &gone {
        tracing::info!("{key}: snapshot {deleted} was deleted by the restore to {name}");
        state.db.delete_snapshot(&key, deleted)?;
        state.events.lifecycle(
            "storage-volume-snapshot-deleted",
            &snapshot_url(&key, deleted),
            json!({}),
            &key.project,
            requestor,
        );
    }
    result?;
    let mut updated = row.clone();
    let size = snapshot.config.get("size").filter(|s| !s.is_empty());
    if size != row.config.get("size").filter(|s| !s.is_empty()) {
        match size {
            Some(size) => updated.config.insert("size".to_string(), size.clone()),
            None => updated.config.remove("size"),
        };
        state.db.update_volume(&key, &updated.description, &updated.config)?;
    }
    state.events.lifecycle(
        "storage-volume-restored",
        &volume_url(&key.pool, key.vol_type.as_str(), &key.name, &key.project),
        json!({"snapshot": name}),
        &key.project,
        requestor,
    );
    Ok(updated)
}

/// Writes rows for the snapshots the backend has of a recovered volume (their descriptions
/// and expiries are not recorded on the storage side: empty, never). Failures are logged.
pub async fn recover_rows(state: &State, pool: &crate::backend::PoolRef, row: &VolumeRow) {
    if row.vol_type == VolumeType::Image {
        return;
    }
    let key = key_of(row);
    let found = match state.backend.list_snapshots(pool, &row.spec()).await {
        Ok(found) => found,
        Err(err) => {
            tracing::warn!("recovering {key}: its snapshots cannot be listed: {}", err.message);
            return;
        }
    };
    for snapshot in found {
        let recovered = SnapshotRow {
            volume: key.clone(),
            name: snapshot.name.clone(),
            description: String::new(),
            expires_at: None,
            created_at: snapshot.created_at.unwrap_or_else(|| crate::time::ZERO_TIME.to_string()),
            config: row.config.clone(),
        };
        match state.db.insert_snapshot(&recovered) {
            Ok(()) | Err(crate::db::DbError::Exists(_)) => {}
            Err(err) => tracing::warn!("recovering {key}: snapshot {}: {err}", snapshot.name),
        }
    }
}

/// The requestor of what the daemon does on its own.
fn daemon_requestor() -> Requestor {
    Requestor { username: "strand".into(), protocol: "internal".into(), address: String::new() }
}

/// Takes the snapshots due in `minute` (local time).
async fn take_scheduled(state: &State, minute: &schedule::Minute, now: SystemTime) {
    let pools = match state.db.pools() {
        Ok(pools) => pools,
        Err(err) => {
            tracing::warn!("snapshot schedule: cannot read the pools: {err}");
            return;
        }
    };
    for pool in pools {
        let volumes = match state.db.volumes(&pool.name, None) {
            Ok(volumes) => volumes,
            Err(err) => {
                tracing::warn!("snapshot schedule: cannot read the volumes of pool {}: {err}", pool.name);
                continue;
            }
        };
        for volume in volumes.iter().filter(|v| v.vol_type != VolumeType::Image) {
            let Some(text) = effective(volume, &pool, schedule::KEY_SCHEDULE) else { continue };
            let key = key_of(volume);
            let due = match Schedule::parse(&text) {
                Ok(Some(s)) => s.matches(minute),
                Ok(None) => false,
                Err(why) => {
                    tracing::warn!("{key}: snapshots.schedule \"{text}\" is invalid: {why}");
                    false
                }
            };
            if !due {
                continue;
            }
            if let Err(err) = take_one_scheduled(state, &pool, volume, &key, now).await {
                tracing::warn!("{key}: scheduled snapshot failed: {}", err.message);
            }
        }
    }
}

async fn take_one_scheduled(
    state: &State,
    pool: &PoolRow,
    volume: &VolumeRow,
    key: &VolumeKey,
    now: SystemTime,
) -> ApiResult<()> {
    let existing: Vec<String> = state.db.snapshots(key)?.into_iter().map(|s| s.name).collect();
    let pattern = effective(volume, pool, schedule::KEY_PATTERN).unwrap_or_default();
    let name = schedule::next_snapshot_name(&pattern, &existing)
        .map_err(|why| ApiError::bad_request(format!("Invalid snapshots.pattern \"{pattern}\": {why}")))?;
    check_name(&name)?;
    let expires_at = default_expiry(volume, pool, false, now)?;
    take(state, key, &name, "", expires_at, &daemon_requestor()).await?;
    tracing::info!("{key}: took scheduled snapshot {name}");
    Ok(())
}

/// Deletes the snapshots whose expiry has passed.
async fn expire(state: &State, now: SystemTime) {
    let expired = match state.db.expired_snapshots(&crate::time::rfc3339(now)) {
        Ok(expired) => expired,
        Err(err) => {
            tracing::warn!("snapshot expiry: cannot read the snapshots: {err}");
            return;
        }
    };
    for snapshot in expired {
        match remove(state, &snapshot.volume, &snapshot.name, &daemon_requestor()).await {
            Ok(()) => {
                tracing::info!("{}: snapshot {} expired and was deleted", snapshot.volume, snapshot.name)
            }
            Err(err) => tracing::warn!(
                "{}: expired snapshot {} could not be deleted: {}",
                snapshot.volume,
                snapshot.name,
                err.message
            ),
        }
    }
}

/// The scheduler: takes and expires snapshots until the daemon stops.
pub async fn run(state: std::sync::Arc<State>) {
    let mut last_minute: Option<u64> = None;
    let stop = crate::stopping(state.shutdown.clone());
    tokio::pin!(stop);
    loop {
        let now = SystemTime::now();
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let tick = TICK.as_millis() as u64;
        let wait = Duration::from_millis(tick - (since.as_millis() as u64 % tick) + 50);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut stop => return,
        }
        let now = SystemTime::now();
        let epoch_minute = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 60;
        if last_minute != Some(epoch_minute) {
            last_minute = Some(epoch_minute);
            if let Some(minute) = schedule::local_minute(now) {
                take_scheduled(&state, &minute, now).await;
            }
        }
        expire(&state, now).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ContentType;

    #[test]
    fn urls_and_expiry_values() {
        let key = VolumeKey {
            pool: "default".into(),
            project: "default".into(),
            vol_type: VolumeType::Custom,
            name: "vol1".into(),
        };
        assert_eq!(
            snapshot_url(&key, "snap0"),
            "/1.0/storage-pools/default/volumes/custom/vol1/snapshots/snap0"
        );
        let other = VolumeKey { project: "p1".into(), ..key };
        assert_eq!(
            snapshot_url(&other, "a b"),
            "/1.0/storage-pools/default/volumes/custom/vol1/snapshots/a%20b?project=p1"
        );
        assert_eq!(parse_expires_at("0001-01-01T00:00:00Z").expect("zero"), None);
        assert_eq!(parse_expires_at("").expect("empty"), None);
        assert_eq!(
            parse_expires_at("2026-06-01T02:00:00+02:00").expect("time").as_deref(),
            Some("2026-06-01T00:00:00.000000000Z")
        );
        assert_eq!(parse_expires_at("tomorrow").expect_err("bad").status.as_u16(), 400);
    }

    #[test]
    fn keys_come_from_the_volume_then_the_pool() {
        let pool = PoolRow {
            name: "p".into(),
            driver: "linstor".into(),
            description: String::new(),
            status: "Created".into(),
            config: [
                ("volume.snapshots.expiry".to_string(), "1d".to_string()),
                ("volume.snapshots.schedule".to_string(), "@daily".to_string()),
            ]
            .into(),
        };
        let mut volume = VolumeRow {
            pool: "p".into(),
            project: "default".into(),
            vol_type: VolumeType::Custom,
            name: "v".into(),
            description: String::new(),
            content_type: ContentType::Filesystem,
            config: [("snapshots.expiry.manual".to_string(), "1H".to_string())].into(),
            created_at: String::new(),
        };
        assert_eq!(effective(&volume, &pool, "snapshots.schedule").as_deref(), Some("@daily"));
        let now = UNIX_EPOCH + Duration::from_secs(1_769_904_000);
        assert_eq!(
            default_expiry(&volume, &pool, true, now).expect("manual").as_deref(),
            Some("2026-02-01T01:00:00.000000000Z")
        );
        assert_eq!(
            default_expiry(&volume, &pool, false, now).expect("scheduled").as_deref(),
            Some("2026-02-02T00:00:00.000000000Z")
        );
        volume.config.clear();
        assert_eq!(
            default_expiry(&volume, &pool, true, now).expect("falls back").as_deref(),
            Some("2026-02-02T00:00:00.000000000Z")
        );
        assert!(check_type(VolumeType::Image).is_err());
        assert!(check_name("a/b").is_err());
    }
}
