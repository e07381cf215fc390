//! The REST API: routing, the request context (query parameters, caller) and strict body
//! parsing. Handlers translate between HTTP and the database and backend; every answer is an
//! Incus envelope, including the framework's own errors (unknown route `404 not found`, a
//! method without handler `501 not implemented`, bad bodies `400`).

pub mod backups;
pub mod copies;
pub mod events;
pub mod images;
pub mod operations;
pub mod pools;
pub mod recover;
pub mod response;
pub mod server;
pub mod snapshots;
pub mod volumes;

use crate::events::Requestor;
use crate::State;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::routing::get;
use axum::Router;
use response::{ApiError, ApiResult};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;

pub use response::{Async, Sync};

/// Largest request body accepted.
pub(crate) const BODY_LIMIT: usize = 4 << 20;

/// The caller on the unix socket (from `SO_PEERCRED`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PeerInfo {
    pub uid: Option<u32>,
}

impl Connected<axum::serve::IncomingStream<'_, tokio::net::UnixListener>> for PeerInfo {
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::UnixListener>) -> PeerInfo {
        PeerInfo { uid: stream.io().peer_cred().ok().map(|cred| cred.uid()) }
    }
}

/// A user name for a uid: `root`, the name in /etc/passwd, else `uid=N`.
fn user_name(uid: u32) -> String {
    if uid == 0 {
        return "root".into();
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let found = fields.nth(1)?.parse::<u32>().ok()?;
            (found == uid).then(|| name.to_string())
        })
        .unwrap_or_else(|| format!("uid={uid}"))
}

/// What every handler gets from the request: query parameters and the caller.
#[derive(Debug, Clone)]
pub struct Ctx {
    query: HashMap<String, String>,
    pub username: String,
}

impl Ctx {
    /// A query parameter (the last one when repeated).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// `recursion` as Incus reads it (anything not a number is 0).
    pub fn recursion(&self) -> i64 {
        self.param("recursion").and_then(|r| r.trim().parse().ok()).unwrap_or(0)
    }

    /// `all-projects=true`.
    pub fn all_projects(&self) -> bool {
        self.param("all-projects").is_some_and(|v| matches!(v, "true" | "1"))
    }

    /// The project of the request (`default` when none is given), checked.
    pub fn project(&self) -> ApiResult<String> {
        match self.param("project").filter(|p| !p.is_empty()) {
            None => Ok(crate::DEFAULT_PROJECT.to_string()),
            Some(project) => {
                crate::names::check_project_name(project).map_err(|why| {
                    ApiError::bad_request(format!("Invalid project name \"{project}\": {why}"))
                })?;
                Ok(project.to_string())
            }
        }
    }

    /// The projects a list covers: one, or all (`None`) with `all-projects=true`.
    pub fn project_scope(&self) -> ApiResult<Option<String>> {
        if self.all_projects() {
            if self.param("project").is_some_and(|p| !p.is_empty()) {
                return Err(ApiError::bad_request("Cannot specify a project when requesting all projects"));
            }
            return Ok(None);
        }
        self.project().map(Some)
    }

    /// The parsed `filter=` (`None` for none or empty).
    pub fn filter(&self) -> ApiResult<Option<crate::filter::Filter>> {
        crate::filter::Filter::parse(self.param("filter").unwrap_or(""))
            .map_err(|why| ApiError::bad_request(format!("Invalid filter: {why}")))
    }

    /// Refuses a `target` other than this standalone server.
    pub fn check_target(&self, state: &State) -> ApiResult<()> {
        match self.param("target") {
            None | Some("") | Some(crate::LOCATION) => Ok(()),
            Some(target) if target == state.server_name => Ok(()),
            Some(target) => Err(ApiError::bad_request(format!(
                "Target \"{target}\" is not this server: targets are only allowed when clustered"
            ))),
        }
    }

    pub fn requestor(&self) -> Requestor {
        Requestor::unix(self.username.clone())
    }
}

impl<S: Send + std::marker::Sync> FromRequestParts<S> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Ctx, ApiError> {
        let query = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let uid = parts.extensions.get::<ConnectInfo<PeerInfo>>().and_then(|info| info.0.uid);
        let username = uid.map(user_name).unwrap_or_else(|| "root".into());
        Ok(Ctx { query, username })
    }
}

/// A JSON body of type `T`; an empty body reads as `{}`. Errors are `400` envelopes.
pub struct Json<T>(pub T);

impl<S: Send + std::marker::Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Json<T>, ApiError> {
        let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .map_err(|err| ApiError::bad_request(format!("Failed to read the request body: {err}")))?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        serde_json::from_slice(text)
            .map(Json)
            .map_err(|err| ApiError::bad_request(format!("Invalid request body: {err}")))
    }
}

/// Path parameters, with errors as envelopes.
pub struct PathParams<T>(pub T);

impl<S: Send + std::marker::Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<PathParams<T>, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(|err| ApiError::bad_request(format!("Invalid path: {err}")))
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("not found")
}

async fn not_implemented() -> ApiError {
    ApiError::not_implemented()
}

/// The whole API.
pub fn router(state: Arc<State>) -> Router {
    // Volume creates with a source (copies, images) or a backup body are answered here.
    let sourced = axum::middleware::from_fn_with_state(Arc::clone(&state), copies::intercept);
    let volume = "/1.0/storage-pools/{pool}/volumes/{vol_type}/{name}";
    Router::new()
        .route("/", get(server::root))
        .route("/1.0", get(server::get).put(server::put).patch(server::patch))
        .route("/1.0/events", get(events::events))
        .route("/1.0/operations", get(operations::list))
        .route("/1.0/operations/{id}", get(operations::get).delete(operations::cancel))
        .route("/1.0/operations/{id}/wait", get(operations::wait))
        .route("/1.0/storage-pools", get(pools::list).post(pools::create))
        .route(
            "/1.0/storage-pools/{pool}",
            get(pools::get).put(pools::put).patch(pools::patch).delete(pools::delete),
        )
        .route("/1.0/storage-pools/{pool}/resources", get(pools::resources))
        .route(
            "/1.0/storage-pools/{pool}/volumes",
            get(volumes::list_all).post(volumes::create_untyped).layer(sourced.clone()),
        )
        .route(
            "/1.0/storage-pools/{pool}/volumes/{vol_type}",
            get(volumes::list_typed).post(volumes::create_typed).layer(sourced),
        )
        .route("/1.0/images", get(images::list).post(images::create))
        .route("/1.0/images/{fingerprint}", get(images::get).delete(images::delete))
        .route(
            volume,
            get(volumes::get)
                .put(volumes::put)
                .patch(volumes::patch)
                .post(volumes::post)
                .delete(volumes::delete),
        )
        .route(&format!("{volume}/state"), get(volumes::state))
        .route(&format!("{volume}/mount"), axum::routing::post(volumes::mount))
        .route(&format!("{volume}/unmount"), axum::routing::post(volumes::unmount))
        .route(&format!("{volume}/path"), get(volumes::path))
        .route(&format!("{volume}/backups"), get(backups::list).post(backups::create))
        .route(
            &format!("{volume}/backups/{{backup}}"),
            get(backups::get).post(backups::post).delete(backups::delete),
        )
        .route(&format!("{volume}/backups/{{backup}}/export"), get(backups::export))
        .route(&format!("{volume}/snapshots"), get(snapshots::list).post(snapshots::create))
        .route(
            &format!("{volume}/snapshots/{{snapshot}}"),
            get(snapshots::get)
                .put(snapshots::put)
                .patch(snapshots::patch)
                .post(snapshots::post)
                .delete(snapshots::delete),
        )
        .route(&format!("{volume}/snapshots/{{snapshot}}/mount"), axum::routing::post(snapshots::mount))
        .route(&format!("{volume}/snapshots/{{snapshot}}/unmount"), axum::routing::post(snapshots::unmount))
        .route("/1.0/strand/recover", axum::routing::post(recover::post))
        .method_not_allowed_fallback(not_implemented)
        .fallback(not_found)
        .with_state(state)
}
