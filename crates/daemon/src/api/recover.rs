//! `POST /1.0/strand/recover`: rebuilds the daemon's database from the storage side after it
//! was lost (Strand's extension `strand_recover`; `strand admin recover` calls it).
//!
//! Incus recovers with `/internal/recover/validate` and `/internal/recover/import`, for which
//! the user types in every lost pool's driver and config. Strand's pools record themselves on
//! their resource groups (`Aux/Incus/pool-name`, `Aux/Incus/pool-config/*`) and their volumes
//! on their resource definitions (`Aux/Incus/*`), so one call finds and imports everything.
//!
//! Rules kept here:
//! - Nothing existing changes and nothing is duplicated: a pool whose name the database has,
//!   or a volume whose (pool, project, type, name) it has, is reported `present` and left as
//!   it is. Only missing rows are written.
//! - Pools come first (from the storage side's records), then the volumes of every pool the
//!   database then has, recovered or not.
//! - What cannot be imported is reported with its reason (a pool whose recorded config is
//!   refused, a resource definition with incomplete or malformed `Aux/Incus/*` properties, a
//!   pool whose volumes cannot be listed) and never stops the others.
//! - A recovered volume gets the config the storage side gives (`size`, `size.state`,
//!   `block.filesystem` read from the device) completed with its pool's defaults; its
//!   description is empty and its creation time unknown (`0001-01-01T00:00:00Z`).
//! - `dry_run` reports the same without writing anything.
//! - One pool at a time, under the pool's exclusive lock.

use super::pools::{DRIVER, STATUS_CREATED};
use super::response::{ApiResult, Sync};
use super::{Ctx, Json};
use crate::db::{DbError, PoolRow, VolumeKey, VolumeRow};
use crate::names::{pool_url, volume_url};
use crate::State;
use axum::extract::State as S;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

#[derive(Debug, Default, Deserialize)]
pub struct RecoverPost {
    /// Report what would be recovered, change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// A pool found on the storage side.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PoolFound {
    pub name: String,
    /// `recovered` (written now, or would be with `dry_run`) or `present` (the database has it).
    pub status: String,
}

/// A volume found on the storage side.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VolumeFound {
    pub pool: String,
    pub project: String,
    #[serde(rename = "type")]
    pub vol_type: String,
    pub name: String,
    pub content_type: String,
    /// `size` of its config (`""` when unknown).
    pub size: String,
    /// `recovered` or `present`.
    pub status: String,
}

/// Something found that was not imported, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skipped {
    /// The pool it belongs to (`""` when it is about the pools themselves).
    pub pool: String,
    pub reason: String,
}

/// The answer of a recovery.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RecoverReport {
    pub dry_run: bool,
    pub pools: Vec<PoolFound>,
    pub volumes: Vec<VolumeFound>,
    pub skipped: Vec<Skipped>,
}

pub const RECOVERED: &str = "recovered";
pub const PRESENT: &str = "present";

pub async fn post(S(state): S<Arc<State>>, ctx: Ctx, Json(body): Json<RecoverPost>) -> ApiResult<Sync> {
    ctx.check_target(&state)?;
    let report = recover(&state, body.dry_run, &ctx.requestor()).await?;
    Ok(Sync::new(report))
}

/// Rebuilds the missing pool and volume rows from the storage side (see the module's rules).
pub async fn recover(
    state: &State,
    dry_run: bool,
    requestor: &crate::events::Requestor,
) -> ApiResult<RecoverReport> {
    let mut report = RecoverReport { dry_run, ..Default::default() };
    // The storage side must answer: without it there is nothing to recover from.
    let found = state.backend.recover_pools().await?;
    // Pools the database has (with the recovered ones added as they are written).
    let mut names: Vec<String> = state.db.pools()?.into_iter().map(|p| p.name).collect();
    for pool in found {
        let _guard = state.locks.pool_exclusive(&pool.name).await;
        if state.db.pool(&pool.name)?.is_some() {
            report.pools.push(PoolFound { name: pool.name, status: PRESENT.into() });
            continue;
        }
        if let Err(err) = crate::names::check_api_name(&pool.name)
            .map_err(|why| format!("the name is not a valid storage pool name: {why}"))
            .and_then(|()| {
                state.backend.validate_pool_config(&pool.name, &pool.config).map_err(|e| e.message)
            })
        {
            report.skipped.push(Skipped {
                pool: pool.name.clone(),
                reason: format!("storage pool \"{}\": {err}", pool.name),
            });
            continue;
        }
        let row = PoolRow {
            name: pool.name.clone(),
            driver: DRIVER.to_string(),
            description: String::new(),
            status: STATUS_CREATED.to_string(),
            config: pool.config,
        };
        if !dry_run {
            match state.db.insert_pool(&row) {
                Ok(()) => {}
                Err(DbError::Exists(_)) => {
                    report.pools.push(PoolFound { name: pool.name, status: PRESENT.into() });
                    continue;
                }
                Err(err) => return Err(err.into()),
            }
            state.events.lifecycle("storage-pool-created", &pool_url(&row.name), json!({}), "", requestor);
            names.push(row.name.clone());
        }
        report.pools.push(PoolFound { name: pool.name, status: RECOVERED.into() });
        if dry_run {
            // Not written: its volumes are listed here, with the recorded config.
            recover_volumes(state, &row, dry_run, requestor, &mut report).await?;
        }
    }
    names.sort();
    names.dedup();
    for name in names {
        let _guard = state.locks.pool_exclusive(&name).await;
        let Some(row) = state.db.pool(&name)? else { continue };
        recover_volumes(state, &row, dry_run, requestor, &mut report).await?;
    }
    Ok(report)
}

/// The volumes of one pool: rows written for the missing ones.
async fn recover_volumes(
    state: &State,
    pool: &PoolRow,
    dry_run: bool,
    requestor: &crate::events::Requestor,
    report: &mut RecoverReport,
) -> ApiResult<()> {
    let pool_ref = pool.pool_ref();
    let found = match state.backend.recover_volumes(&pool_ref).await {
        Ok(found) => found,
        Err(err) => {
            report.skipped.push(Skipped {
                pool: pool.name.clone(),
                reason: format!(
                    "the volumes of storage pool \"{}\" cannot be listed: {}",
                    pool.name, err.message
                ),
            });
            return Ok(());
        }
    };
    for reason in found.warnings {
        report.skipped.push(Skipped { pool: pool.name.clone(), reason });
    }
    for mut spec in found.volumes {
        let key = VolumeKey {
            pool: pool.name.clone(),
            project: spec.project.clone(),
            vol_type: spec.vol_type,
            name: spec.name.clone(),
        };
        let mut entry = VolumeFound {
            pool: pool.name.clone(),
            project: spec.project.clone(),
            vol_type: spec.vol_type.as_str().to_string(),
            name: spec.name.clone(),
            content_type: spec.content_type.as_str().to_string(),
            size: spec.config.get("size").cloned().unwrap_or_default(),
            status: PRESENT.into(),
        };
        let _guard = state.locks.volume(&key).await;
        if state.db.volume(&key)?.is_some() {
            report.volumes.push(entry);
            continue;
        }
        // The pool's defaults (mount options, ...) for keys the storage side does not record.
        match state.backend.prepare_volume(&pool_ref, &spec) {
            Ok(config) => spec.config = config,
            Err(err) => tracing::warn!("recovering {key}: keeping its recorded config: {}", err.message),
        }
        let row = VolumeRow {
            pool: pool.name.clone(),
            project: spec.project.clone(),
            vol_type: spec.vol_type,
            name: spec.name.clone(),
            description: String::new(),
            content_type: spec.content_type,
            config: spec.config,
            created_at: crate::time::ZERO_TIME.to_string(),
        };
        if !dry_run {
            match state.db.insert_volume(&row) {
                Ok(()) => {}
                Err(DbError::Exists(_)) => {
                    report.volumes.push(entry);
                    continue;
                }
                Err(err) => return Err(err.into()),
            }
            state.events.lifecycle(
                "storage-volume-created",
                &volume_url(&row.pool, row.vol_type.as_str(), &row.name, &row.project),
                json!({"type": row.vol_type.as_str()}),
                &row.project,
                requestor,
            );
            crate::snapshots::recover_rows(state, &pool_ref, &row).await;
        }
        entry.status = RECOVERED.into();
        report.volumes.push(entry);
    }
    Ok(())
}
