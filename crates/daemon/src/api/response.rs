//! The Incus response envelope: sync, async (operation) and error answers, all with the same
//! seven keys; ETags and `If-Match`.

use axum::http::header::{CONTENT_TYPE, ETAG, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The wire envelope: every key always present.
#[derive(Debug, Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    status: &'a str,
    status_code: u16,
    operation: &'a str,
    error_code: u16,
    error: &'a str,
    metadata: &'a Value,
}

fn json_response(status: StatusCode, envelope: &Envelope<'_>) -> Response {
    let body = serde_json::to_vec(envelope).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A successful answer.
#[derive(Debug)]
pub struct Sync {
    metadata: Value,
    etag: Option<String>,
    /// Set for `201 Created` answers (`metadata` is then `null`).
    location: Option<String>,
}

impl Sync {
    /// `200` with `metadata`.
    pub fn new(metadata: impl Serialize) -> Sync {
        Sync { metadata: serde_json::to_value(metadata).unwrap_or(Value::Null), etag: None, location: None }
    }

    /// `200` with `{}`.
    pub fn empty() -> Sync {
        Sync { metadata: Value::Object(Default::default()), etag: None, location: None }
    }

    /// `201` with `Location` and `null` metadata.
    pub fn created(location: String) -> Sync {
        Sync { metadata: Value::Null, etag: None, location: Some(location) }
    }

    /// Adds an `ETag` header.
    pub fn with_etag(mut self, etag: String) -> Sync {
        self.etag = Some(etag);
        self
    }
}

impl IntoResponse for Sync {
    fn into_response(self) -> Response {
        let status = if self.location.is_some() { StatusCode::CREATED } else { StatusCode::OK };
        let envelope = Envelope {
            kind: "sync",
            status: "Success",
            status_code: 200,
            operation: "",
            error_code: 0,
            error: "",
            metadata: &self.metadata,
        };
        let mut response = json_response(status, &envelope);
        if let Some(etag) = self.etag.and_then(|e| HeaderValue::from_str(&format!("\"{e}\"")).ok()) {
            response.headers_mut().insert(ETAG, etag);
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(LOCATION, location);
        }
        response
    }
}

/// An answer that started an operation: `202`, `Location: /1.0/operations/<id>`.
#[derive(Debug)]
pub struct Async {
    pub operation_url: String,
    pub operation: Value,
}

impl IntoResponse for Async {
    fn into_response(self) -> Response {
        let envelope = Envelope {
            kind: "async",
            status: "Operation created",
            status_code: 100,
            operation: &self.operation_url,
            error_code: 0,
            error: "",
            metadata: &self.operation,
        };
        let mut response = json_response(StatusCode::ACCEPTED, &envelope);
        if let Ok(location) = HeaderValue::from_str(&self.operation_url) {
            response.headers_mut().insert(LOCATION, location);
        }
        response
    }
}

/// An error answer: HTTP status = `error_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    pub fn not_implemented() -> ApiError {
        ApiError::new(StatusCode::NOT_IMPLEMENTED, "not implemented")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.status.as_u16())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let envelope = Envelope {
            kind: "error",
            status: "",
            status_code: 0,
            operation: "",
            error_code: self.status.as_u16(),
            error: &self.message,
            metadata: &Value::Null,
        };
        let mut response = json_response(self.status, &envelope);
        response.headers_mut().insert("X-Content-Type-Options", HeaderValue::from_static("nosniff"));
        response
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(err: crate::db::DbError) -> ApiError {
        ApiError::internal(format!("Database error: {err}"))
    }
}

impl From<crate::backend::BackendError> for ApiError {
    fn from(err: crate::backend::BackendError) -> ApiError {
        use crate::backend::ErrorKind;
        let status = match err.kind {
            ErrorKind::Config | ErrorKind::InUse | ErrorKind::Refused => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::AlreadyExists => StatusCode::CONFLICT,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Failed => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, err.message)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The ETag of some data: the SHA-256 of its JSON form, in hex (without quotes).
pub fn etag_of(data: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(data).unwrap_or_default();
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `If-Match` against the current ETag: a missing or empty header passes; quotes are
/// ignored; a mismatch is `412`.
pub fn check_if_match(headers: &HeaderMap, current: &str) -> ApiResult<()> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(());
    };
    let given: String = value.to_str().unwrap_or("").chars().filter(|c| *c != '"').collect();
    let given = given.trim();
    if given.is_empty() || given == current {
        return Ok(());
    }
    Err(ApiError::new(StatusCode::PRECONDITION_FAILED, format!("ETag doesn't match: {given} vs {current}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use serde_json::json;

    async fn parts(response: Response) -> (StatusCode, HeaderMap, Value) {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, serde_json::from_slice(&body).unwrap())
    }

    const KEYS: [&str; 7] = ["type", "status", "status_code", "operation", "error_code", "error", "metadata"];

    fn has_all_keys(body: &Value) {
        let object = body.as_object().unwrap();
        assert_eq!(object.len(), 7, "{body}");
        for key in KEYS {
            assert!(object.contains_key(key), "{key} missing in {body}");
        }
    }

    #[tokio::test]
    async fn sync_answers() {
        let (status, headers, body) = parts(Sync::empty().into_response()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        has_all_keys(&body);
        assert_eq!(
            body,
            json!({"type":"sync","status":"Success","status_code":200,"operation":"","error_code":0,"error":"","metadata":{}})
        );
        let (status, headers, body) =
            parts(Sync::new(["/1.0"]).with_etag("abc".into()).into_response()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[ETAG], "\"abc\"");
        assert_eq!(body["metadata"], json!(["/1.0"]));
        let (status, headers, body) =
            parts(Sync::created("/1.0/storage-pools/p".into()).into_response()).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(headers[LOCATION], "/1.0/storage-pools/p");
        has_all_keys(&body);
        assert_eq!(body["metadata"], Value::Null);
    }

    #[tokio::test]
    async fn async_and_error_answers() {
        let op = Async { operation_url: "/1.0/operations/x".into(), operation: json!({"id": "x"}) };
        let (status, headers, body) = parts(op.into_response()).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(headers[LOCATION], "/1.0/operations/x");
        has_all_keys(&body);
        assert_eq!(body["type"], "async");
        assert_eq!(body["status"], "Operation created");
        assert_eq!(body["status_code"], 100);
        assert_eq!(body["operation"], "/1.0/operations/x");

        let (status, headers, body) =
            parts(ApiError::not_found("Storage pool not found").into_response()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        has_all_keys(&body);
        assert_eq!(
            body,
            json!({"type":"error","status":"","status_code":0,"operation":"","error_code":404,
                   "error":"Storage pool not found","metadata":null})
        );
    }

    #[test]
    fn etags() {
        let a = etag_of(&json!(["p", "linstor", "", {"a": "1"}]));
        assert_eq!(a.len(), 64);
        assert_eq!(a, etag_of(&json!(["p", "linstor", "", {"a": "1"}])));
        assert_ne!(a, etag_of(&json!(["p", "linstor", "", {"a": "2"}])));
        let mut headers = HeaderMap::new();
        assert!(check_if_match(&headers, &a).is_ok());
        headers.insert(axum::http::header::IF_MATCH, HeaderValue::from_static(""));
        assert!(check_if_match(&headers, &a).is_ok());
        headers.insert(axum::http::header::IF_MATCH, HeaderValue::from_str(&format!("\"{a}\"")).unwrap());
        assert!(check_if_match(&headers, &a).is_ok());
        headers.insert(axum::http::header::IF_MATCH, HeaderValue::from_static("\"nope\""));
        let err = check_if_match(&headers, &a).unwrap_err();
        assert_eq!(err.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(err.message, format!("ETag doesn't match: nope vs {a}"));
    }
}
