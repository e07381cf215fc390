//! The LINSTOR REST API v1 over axum: routing, request reading and LINSTOR's response
//! conventions (ApiCallRc lists, status mapping, CORS). Handlers only translate; the work is
//! done by the controller's operations.

mod input;
mod reply;
mod routes;

pub use input::{array_body, body, Query};
pub use reply::{status_of, Answer, Reply};

use crate::Controller;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use linstor_api::consts::*;
use linstor_api::ApiCallRc;
use std::sync::Arc;
use std::time::Instant;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

pub fn router(controller: Arc<Controller>) -> Router {
    routes::all()
        .fallback(|| async {
            Reply::Fixed {
                entries: vec![ApiCallRc::new(UNKNOWN_API_CALL, "No such API endpoint.")
                    .with_correction("Check the path and method against the LINSTOR REST API v1.")],
                status: StatusCode::NOT_FOUND,
            }
        })
        .layer(middleware::from_fn(conventions))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(controller)
}

/// One log line per call, CORS headers on every answer, and an ApiCallRc list for every error
/// the framework itself produces (bad paths, wrong methods, oversized bodies).
async fn conventions(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.as_u16() >= 400 && !is_json {
        response = framework_error(status);
    }
    let headers = response.headers_mut();
    for (name, value) in [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-headers", "origin, content-type, accept, authorization"),
        ("access-control-allow-credentials", "true"),
        ("access-control-allow-methods", "GET, POST, PUT, DELETE, OPTIONS, HEAD"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    tracing::info!("{method} {path} {} {:.1}ms", status.as_u16(), started.elapsed().as_secs_f64() * 1000.0);
    response
}

fn framework_error(status: StatusCode) -> Response {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (UNKNOWN_API_CALL, "No such API endpoint."),
        StatusCode::METHOD_NOT_ALLOWED => (UNKNOWN_API_CALL, "This endpoint does not take this method."),
        StatusCode::PAYLOAD_TOO_LARGE => (API_CALL_PARSE_ERROR, "The request body is too large."),
        _ if status.is_client_error() => (API_CALL_PARSE_ERROR, "The request could not be read."),
        _ => (FAIL_UNKNOWN_ERROR, "The request failed."),
    };
    let body = serde_json::to_vec(&[ApiCallRc::new(code, message)]).unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
