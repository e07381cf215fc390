//! `/1.0/storage-pools[/{pool}[/resources]]`.
//!
//! Rules kept here:
//! - A pool row is written only after the backend created the pool; if the write fails, the
//!   backend's pool is deleted again. Updates write the config the backend answered.
//! - A pool with volumes other than images is in use and is not deleted; image volumes go
//!   with the pool.

use super::response::{check_if_match, etag_of, ApiError, ApiResult, Sync};
use super::{Ctx, Json, PathParams};
use crate::backend::{Config, VolumeType};
use crate::db::{DbError, PoolRow, VolumeKey, VolumeRow};
use crate::names::{check_api_name, escape_query, escape_segment, pool_url, volume_url};
use crate::State;
use axum::extract::State as S;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;

pub const DRIVER: &str = "linstor";
pub const STATUS_CREATED: &str = "Created";

/// `StoragePool`.
#[derive(Debug, Serialize)]
pub struct StoragePool {
    pub config: Config,
    pub description: String,
    pub name: String,
    pub driver: String,
    pub used_by: Vec<String>,
    pub status: String,
    pub locations: Vec<String>,
}

pub fn not_found() -> ApiError {
    ApiError::not_found("Storage pool not found")
}

/// The pool row, or `404 Storage pool not found`.
pub fn load(state: &State, name: &str) -> ApiResult<PoolRow> {
    state.db.pool(name)?.ok_or_else(not_found)
}

/// What refers to a volume from outside the storage API (instances, images), or the volume
/// itself for custom volumes: the `used_by` entries of its pool.
fn user_of(volume: &VolumeRow) -> String {
    let project_query = |project: &str| {
        if project == crate::DEFAULT_PROJECT {
            String::new()
        } else {
            format!("?project={}", escape_query(project))
        }
    };
    match volume.vol_type {
        VolumeType::Custom => volume_url(&volume.pool, "custom", &volume.name, &volume.project),
        VolumeType::Container | VolumeType::VirtualMachine => {
            format!("/1.0/instances/{}{}", escape_segment(&volume.name), project_query(&volume.project))
        }
        VolumeType::Image => {
            format!("/1.0/images/{}{}", escape_segment(&volume.name), project_query(&volume.project))
        }
    }
}

/// `used_by` of a pool: sorted, without duplicates, always a list.
fn used_by(volumes: &[VolumeRow]) -> Vec<String> {
    let mut users: Vec<String> = volumes.iter().map(user_of).collect();
    users.sort();
    users.dedup();
    users
}

fn render(state: &State, row: PoolRow) -> ApiResult<StoragePool> {
    let volumes = state.db.volumes(&row.name, None)?;
    Ok(StoragePool {
        used_by: used_by(&volumes),
        config: row.config,
        description: row.description,
        name: row.name,
        driver: row.driver,
        status: row.status,
        locations: vec![crate::LOCATION.to_string()],
    })
}

fn etag(row: &PoolRow) -> String {
    etag_of(&json!([row.name, row.driver, row.description, row.config]))
}

pub async fn list(S(state): S<Arc<State>>, ctx: Ctx) -> ApiResult<Sync> {
    let filter = ctx.filter()?;
    let mut urls = Vec::new();
    let mut pools = Vec::new();
    for row in state.db.pools()? {
        let pool = render(&state, row)?;
        if let Some(filter) = &filter {
            if !filter.matches(&serde_json::to_value(&pool).unwrap_or(Value::Null)) {
                continue;
            }
        }
        urls.push(pool_url(&pool.name));
        pools.push(pool);
    }
    Ok(if ctx.recursion() == 0 { Sync::new(urls) } else { Sync::new(pools) })
}

pub async fn get(S(state): S<Arc<State>>, ctx: Ctx, PathParams(name): PathParams<String>) -> ApiResult<Sync> {
    ctx.check_target(&state)?;
    let row = load(&state, &name)?;
    let etag = etag(&row);
    Ok(Sync::new(render(&state, row)?).with_etag(etag))
}

#[derive(Debug, Default, Deserialize)]
pub struct PoolsPost {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub driver: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub config: Option<Config>,
}

pub async fn create(S(state): S<Arc<State>>, ctx: Ctx, Json(body): Json<PoolsPost>) -> ApiResult<Sync> {
    ctx.check_target(&state)?;
    let url = create_pool(&state, body, &ctx.requestor()).await?;
    Ok(Sync::created(url))
}

/// Creates a pool (the body of `POST /1.0/storage-pools`) and answers its URL. Also used in
/// process by `strand up` for its `default` pool.
pub async fn create_pool(
    state: &State,
    body: PoolsPost,
    requestor: &crate::events::Requestor,
) -> ApiResult<String> {
    if body.name.is_empty() {
        return Err(ApiError::bad_request("No name provided"));
    }
    check_api_name(&body.name).map_err(|why| {
        ApiError::bad_request(format!("Invalid storage pool name \"{}\": {why}", body.name))
    })?;
    if body.driver.is_empty() {
        return Err(ApiError::bad_request("No driver provided"));
    }
    if body.driver != DRIVER {
        return Err(ApiError::bad_request(format!(
            "Storage pool driver \"{}\" is not supported: this daemon serves \"{DRIVER}\" pools",
            body.driver
        )));
    }
    let config = body.config.unwrap_or_default();
    let _guard = state.locks.pool_exclusive(&body.name).await;
    if state.db.pool(&body.name)?.is_some() {
        return Err(ApiError::conflict("The storage pool already exists"));
    }
    state.backend.validate_pool_config(&body.name, &config)?;
    let effective = state.backend.create_pool(&body.name, &config).await?;
    let row = PoolRow {
        name: body.name.clone(),
        driver: DRIVER.to_string(),
        description: body.description,
        status: STATUS_CREATED.to_string(),
        config: effective,
    };
    if let Err(err) = state.db.insert_pool(&row) {
        if let Err(undo) = state.backend.delete_pool(&row.pool_ref()).await {
            tracing::error!("storage pool {}: cannot undo its creation: {undo}", row.name);
        }
        return Err(match err {
            DbError::Exists(_) => ApiError::conflict("The storage pool already exists"),
            other => other.into(),
        });
    }
    let url = pool_url(&row.name);
    state.events.lifecycle("storage-pool-created", &url, json!({}), "", requestor);
    Ok(url)
}

#[derive(Debug, Deserialize)]
pub struct PoolPut {
    #[serde(default)]
    config: Option<Config>,
    #[serde(default)]
    description: Option<String>,
}

pub async fn put(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    headers: HeaderMap,
    PathParams(name): PathParams<String>,
    Json(body): Json<PoolPut>,
) -> ApiResult<Sync> {
    update(&state, &ctx, &headers, &name, body, false).await
}

pub async fn patch(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    headers: HeaderMap,
    PathParams(name): PathParams<String>,
    Json(body): Json<PoolPut>,
) -> ApiResult<Sync> {
    update(&state, &ctx, &headers, &name, body, true).await
}

/// PUT replaces config and description; PATCH merges the config (a key set to `""` is
/// removed) and keeps the description unless one is given.
async fn update(
    state: &State,
    ctx: &Ctx,
    headers: &HeaderMap,
    name: &str,
    body: PoolPut,
    merge: bool,
) -> ApiResult<Sync> {
    ctx.check_target(state)?;
    let _guard = state.locks.pool_exclusive(name).await;
    let row = load(state, name)?;
    check_if_match(headers, &etag(&row))?;
    let mut config = if merge { row.config.clone() } else { Config::new() };
    config.extend(body.config.unwrap_or_default());
    config.retain(|_, value| !value.is_empty());
    let description = match (body.description, merge) {
        (Some(description), _) => description,
        (None, true) => row.description.clone(),
        (None, false) => String::new(),
    };
    let effective = if config == row.config {
        row.config.clone()
    } else {
        state.backend.validate_pool_config(name, &config)?;
        state.backend.update_pool(&row.pool_ref(), &config).await?
    };
    if let Err(err) = state.db.update_pool(name, &description, &effective) {
        if effective != row.config {
            let now = crate::backend::PoolRef { name: name.to_string(), config: effective.clone() };
            if let Err(undo) = state.backend.update_pool(&now, &row.config).await {
                tracing::error!("storage pool {name}: cannot undo its update: {undo}");
            }
        }
        return Err(err.into());
    }
    state.events.lifecycle("storage-pool-updated", &pool_url(name), json!({}), "", &ctx.requestor());
    Ok(Sync::empty())
}

pub async fn delete(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams(name): PathParams<String>,
) -> ApiResult<Sync> {
    ctx.check_target(&state)?;
    let _guard = state.locks.pool_exclusive(&name).await;
    let row = load(&state, &name)?;
    let volumes = state.db.volumes(&name, None)?;
    if volumes.iter().any(|v| v.vol_type != VolumeType::Image) {
        return Err(ApiError::bad_request("The storage pool is currently in use"));
    }
    let pool = row.pool_ref();
    for image in &volumes {
        state.backend.delete_volume(&pool, &image.spec()).await?;
        state.db.delete_volume(&VolumeKey {
            pool: name.clone(),
            project: image.project.clone(),
            vol_type: image.vol_type,
            name: image.name.clone(),
        })?;
    }
    state.backend.delete_pool(&pool).await?;
    state.db.delete_pool(&name)?;
    state.events.lifecycle("storage-pool-deleted", &pool_url(&name), json!({}), "", &ctx.requestor());
    Ok(Sync::empty())
}

pub async fn resources(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams(name): PathParams<String>,
) -> ApiResult<Sync> {
    ctx.check_target(&state)?;
    let row = load(&state, &name)?;
    let space = state.backend.pool_resources(&row.pool_ref()).await?;
    let mut space_json = serde_json::Map::new();
    if space.used != 0 {
        space_json.insert("used".into(), space.used.into());
    }
    space_json.insert("total".into(), space.total.into());
    Ok(Sync::new(json!({
        "space": space_json,
        "inodes": {"used": 0, "total": 0},
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ContentType;

    fn volume(vol_type: VolumeType, name: &str, project: &str) -> VolumeRow {
        VolumeRow {
            pool: "p".into(),
            project: project.into(),
            vol_type,
            name: name.into(),
            description: String::new(),
            content_type: ContentType::Filesystem,
            config: Config::new(),
            created_at: String::new(),
        }
    }

    #[test]
    fn used_by_urls() {
        let volumes = [
            volume(VolumeType::Custom, "vol", "default"),
            volume(VolumeType::Custom, "vol", "proj"),
            volume(VolumeType::Container, "c1", "default"),
            volume(VolumeType::VirtualMachine, "v1", "proj"),
            volume(VolumeType::Image, "abc", "default"),
        ];
        assert_eq!(
            used_by(&volumes),
            [
                "/1.0/images/abc",
                "/1.0/instances/c1",
                "/1.0/instances/v1?project=proj",
                "/1.0/storage-pools/p/volumes/custom/vol",
                "/1.0/storage-pools/p/volumes/custom/vol?project=proj",
            ]
        );
        assert!(used_by(&[]).is_empty());
    }
}
