//! `GET /`, `GET /1.0` (server info and server keys), `PUT`/`PATCH /1.0`.

use super::response::{check_if_match, etag_of, ApiError, ApiResult, Sync};
use super::{Ctx, Json};
use crate::backend::Config;
use crate::{settings, State};
use axum::extract::State as S;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The API extensions this daemon implements (clients switch code paths on them; nothing is
/// advertised that is not implemented).
pub const API_EXTENSIONS: &[&str] = &[
    "etag",
    "patch",
    "storage",
    "entity_description",
    "resources",
    "projects",
    "storage_api_volume_rename",
    "custom_block_volumes",
    "event_lifecycle",
    "event_project",
    "event_location",
    "operation_description",
    "operation_wait",
    "server_supported_storage_drivers",
    "storage_volume_state",
    "storage_volume_state_total",
    "storage_volume_api_filtering",
    "storage_volumes_all_projects",
    "storage_volumes_created_at",
    "storage_volume_full",
    "storage_driver_linstor",
    "linstor_raw",
    // Strand's own: mount, unmount and path of a volume on the daemon's host.
    "strand_storage_volume_mount",
    // Strand's own: container, virtual-machine and image volumes created, renamed and deleted
    // through the storage API.
    "strand_storage_volume_types",
    // Strand's own: `POST /1.0/strand/recover`.
    "strand_recover",
    // Volume snapshots: routes, restore, expiry (`expires_at`, `snapshots.expiry`,
    // `snapshots.expiry.manual`) and `snapshots.schedule`.
    "storage_api_volume_snapshots",
    "custom_volume_snapshot_expiry",
    "snapshot_manual_expiry",
    "volume_snapshot_scheduling",
    // Strand's own: read-only mount and unmount of a snapshot on the daemon's host.
    "strand_storage_volume_snapshot_mount",
    // Copies in a pool (`source.type` `copy`, snapshots unless `volume_only`; rename).
    "storage_api_local_volume_handling",
    // Custom volume backups: create, list, rename, delete, export; import of a backup file.
    "custom_volume_backup",
    "backup_override_name",
    "backup_compression_algorithm",
    // Strand's own: the image store (`/1.0/images` takes the image file as its body) and
    // instance volumes from its images (`source.type` `image`).
    "strand_images",
    "strand_storage_volume_from_image",
];

pub async fn root() -> Sync {
    Sync::new(["/1.0"])
}

/// `uname` fields: (release, machine).
fn uname() -> (String, String) {
    // SAFETY: utsname is plain data; uname fills it.
    let mut buf: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: buf is a valid utsname.
    if unsafe { libc::uname(&mut buf) } != 0 {
        return (String::new(), String::new());
    }
    let text = |field: &[libc::c_char]| -> String {
        let bytes: Vec<u8> = field.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (text(&buf.release), text(&buf.machine))
}

/// `NAME` and `VERSION_ID` of /etc/os-release.
fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
            .unwrap_or_default()
    };
    (field("NAME"), field("VERSION_ID"))
}

pub async fn get(S(state): S<Arc<State>>, ctx: Ctx) -> ApiResult<Sync> {
    let config = state.db.server_config()?;
    let project = ctx.project()?;
    if state.backend.info().version.is_empty() {
        state.backend.refresh_info().await;
    }
    let info = state.backend.info();
    let (kernel_version, arch) = uname();
    let (os_name, os_version) = os_release();
    let metadata = json!({
        "config": config,
        "api_extensions": API_EXTENSIONS,
        "api_status": "stable",
        "api_version": "1.0",
        "auth": "trusted",
        "public": false,
        "auth_methods": ["tls"],
        "auth_user_name": ctx.username,
        "auth_user_method": "unix",
        "environment": {
            "addresses": [],
            "architectures": [arch],
            "certificate": "",
            "certificate_fingerprint": "",
            "driver": "",
            "driver_version": "",
            "firewall": "",
            "kernel": "Linux",
            "kernel_architecture": arch,
            "kernel_features": {},
            "kernel_version": kernel_version,
            "lxc_features": {},
            "os_name": os_name,
            "os_version": os_version,
            "project": project,
            "server": "strand",
            "server_clustered": false,
            "server_event_mode": "full-mesh",
            "server_name": state.server_name,
            "server_pid": std::process::id(),
            "server_version": env!("CARGO_PKG_VERSION"),
            "storage": info.driver,
            "storage_version": info.version,
            "storage_supported_drivers": [
                {"Name": info.driver, "Version": info.version, "Remote": info.remote}
            ],
        },
    });
    Ok(Sync::new(metadata).with_etag(etag_of(&config)))
}

#[derive(Debug, Deserialize)]
pub struct ServerPut {
    #[serde(default)]
    config: Option<Config>,
}

pub async fn put(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    headers: HeaderMap,
    Json(body): Json<ServerPut>,
) -> ApiResult<Sync> {
    update(&state, &ctx, &headers, body, false).await
}

pub async fn patch(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    headers: HeaderMap,
    Json(body): Json<ServerPut>,
) -> ApiResult<Sync> {
    update(&state, &ctx, &headers, body, true).await
}

/// PUT replaces the server config, PATCH merges into it; a key set to `""` is removed. A
/// change of the backend's keys reconnects the backend first: if that fails nothing changes.
async fn update(
    state: &State,
    ctx: &Ctx,
    headers: &HeaderMap,
    body: ServerPut,
    merge: bool,
) -> ApiResult<Sync> {
    let _guard = state.config_lock.lock().await;
    let current = state.db.server_config()?;
    check_if_match(headers, &etag_of(&current))?;
    let mut new = if merge { current.clone() } else { Config::new() };
    new.extend(body.config.unwrap_or_default());
    new.retain(|_, value| !value.is_empty());
    settings::check_keys(&new)?;
    let wanted = settings::from_config(&new);
    state.backend.validate_settings(&wanted)?;
    let reconnect = settings::backend_changed(&current, &new);
    if reconnect {
        state.backend.configure(&wanted).await?;
    }
    if let Err(err) = state.db.set_server_config(&new) {
        if reconnect {
            if let Err(undo) = state.backend.configure(&settings::from_config(&current)).await {
                tracing::error!("cannot go back to the previous storage settings: {undo}");
            }
        }
        return Err(ApiError::from(err));
    }
    state.events.lifecycle("config-updated", "/1.0", json!({}), "", &ctx.requestor());
    Ok(Sync::empty())
}
