//! `/1.0/operations`, `/1.0/operations/{id}` and `/1.0/operations/{id}/wait`.

use super::response::{ApiError, ApiResult, Sync};
use super::{Ctx, PathParams};
use crate::operations::CancelError;
use crate::State;
use axum::extract::State as S;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

fn not_found() -> ApiError {
    ApiError::not_found("Operation not found")
}

/// Operations of the request's project (or all): URLs by lower-cased status, or the
/// operations themselves with `recursion=1`.
pub async fn list(S(state): S<Arc<State>>, ctx: Ctx) -> ApiResult<Sync> {
    let scope = ctx.project_scope()?;
    let ops = state.operations.list(scope.as_deref());
    if ctx.recursion() > 0 {
        return Ok(Sync::new(ops));
    }
    let mut by_status: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for op in &ops {
        by_status.entry(op.status.to_lowercase()).or_default().push(op.url());
    }
    Ok(Sync::new(by_status))
}

pub async fn get(S(state): S<Arc<State>>, PathParams(id): PathParams<String>) -> ApiResult<Sync> {
    state.operations.get(&id).map(Sync::new).ok_or_else(not_found)
}

pub async fn cancel(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams(id): PathParams<String>,
) -> ApiResult<Sync> {
    match state.operations.cancel(&id) {
        Ok(()) => {
            let project = state.operations.project_of(&id).unwrap_or_default();
            state.events.lifecycle(
                "operation-cancelled",
                &format!("/1.0/operations/{id}"),
                serde_json::json!({}),
                &project,
                &ctx.requestor(),
            );
            Ok(Sync::empty())
        }
        Err(CancelError::NotFound) => Err(not_found()),
        Err(CancelError::NotCancellable) => Err(ApiError::bad_request("This operation cannot be cancelled")),
    }
}

/// Waits until the operation is final, `timeout` seconds pass (`-1` or none: no limit) or the
/// daemon stops; answers the operation as it is then (`200` even when it failed).
pub async fn wait(S(state): S<Arc<State>>, ctx: Ctx, PathParams(id): PathParams<String>) -> ApiResult<Sync> {
    let timeout = match ctx.param("timeout").map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(secs) if secs < 0 => None,
            Ok(secs) => Some(Duration::from_secs(secs.unsigned_abs())),
            Err(_) => {
                return Err(ApiError::bad_request(format!("Invalid timeout \"{text}\": a number of seconds")))
            }
        },
    };
    if state.operations.get(&id).is_none() {
        return Err(not_found());
    }
    let waited = tokio::select! {
        op = state.operations.wait(&id, timeout) => op,
        _ = crate::stopping(state.shutdown.clone()) => state.operations.get(&id),
    };
    waited.map(Sync::new).ok_or_else(not_found)
}
