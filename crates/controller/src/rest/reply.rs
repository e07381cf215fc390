//! What a handler answers, and LINSTOR's mapping of ret codes to HTTP statuses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use linstor_api::consts::*;
use linstor_api::{ApiCallRc, ApiCallRcList};
use serde::Serialize;

pub enum Reply {
    /// A list of ret codes; the status is `success` unless an entry is an error.
    Rc { entries: ApiCallRcList, success: StatusCode },
    /// A list of ret codes with a fixed status (parse errors).
    Fixed { entries: ApiCallRcList, status: StatusCode },
    /// A JSON document.
    Json(StatusCode, Vec<u8>),
    /// No body.
    Empty(StatusCode),
}

pub type Answer = Result<Reply, Reply>;

impl Reply {
    pub fn ok(entries: ApiCallRcList) -> Reply {
        Reply::Rc { entries, success: StatusCode::OK }
    }
    pub fn created(entries: ApiCallRcList) -> Reply {
        Reply::Rc { entries, success: StatusCode::CREATED }
    }
    pub fn json<T: Serialize>(value: &T) -> Reply {
        Reply::json_with(StatusCode::OK, value)
    }
    pub fn json_with<T: Serialize>(status: StatusCode, value: &T) -> Reply {
        match serde_json::to_vec(value) {
            Ok(body) => Reply::Json(status, body),
            Err(err) => Reply::error(
                ApiCallRc::new(FAIL_IMPL_ERROR, "The answer could not be encoded.")
                    .with_cause(err.to_string()),
            ),
        }
    }
    /// A JSON array of `items`, each encoded as soon as it is made: a long list never exists
    /// in memory as objects, only as its bytes (large views stay cache-friendly and linear).
    pub fn json_array<T: Serialize>(items: impl Iterator<Item = T>) -> Reply {
        let mut body = Vec::with_capacity(64 * 1024);
        body.push(b'[');
        for (i, item) in items.enumerate() {
            if i > 0 {
                body.push(b',');
            }
            if let Err(err) = serde_json::to_writer(&mut body, &item) {
                return Reply::error(
                    ApiCallRc::new(FAIL_IMPL_ERROR, "The answer could not be encoded.")
                        .with_cause(err.to_string()),
                );
            }
        }
        body.push(b']');
        Reply::Json(StatusCode::OK, body)
    }

    /// A single error entry; its status follows from its code.
    pub fn error(rc: ApiCallRc) -> Reply {
        Reply::ok(vec![rc])
    }
    /// A request that could not be understood: 400 with `API_CALL_PARSE_ERROR`.
    pub fn bad_request(message: impl Into<String>, details: impl Into<String>) -> Reply {
        Reply::Fixed {
            entries: vec![ApiCallRc::new(API_CALL_PARSE_ERROR, message).with_details(details)],
            status: StatusCode::BAD_REQUEST,
        }
    }
}

/// LINSTOR's status for an answer: the first error entry decides; warnings never do.
pub fn status_of(entries: &[ApiCallRc], success: StatusCode) -> StatusCode {
    let Some(error) = entries.iter().find(|rc| rc.is_error()) else {
        return success;
    };
    if error.ret_code == FAIL_SIGN_IN_MISSING_CREDENTIALS {
        return StatusCode::UNAUTHORIZED;
    }
    if error.ret_code == FAIL_SIGN_IN {
        return StatusCode::FORBIDDEN;
    }
    match error.code() {
        300..=399 => StatusCode::NOT_FOUND,
        400..=499 => StatusCode::FORBIDDEN,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn entries_response(status: StatusCode, entries: &ApiCallRcList) -> Response {
    json_response(status, serde_json::to_vec(entries).unwrap_or_else(|_| b"[]".to_vec()))
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Reply::Rc { entries, success } => entries_response(status_of(&entries, success), &entries),
            Reply::Fixed { entries, status } => entries_response(status, &entries),
            Reply::Json(status, body) => json_response(status, body),
            Reply::Empty(status) => status.into_response(),
        }
    }
}
