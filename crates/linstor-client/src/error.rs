//! What a call can fail with.

use linstor_api::rc::RcType;
use linstor_api::ApiCallRc;
use std::fmt::Write as _;

/// Why a transport-level failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No connection could be made (refused, unreachable, name not resolved, connect timeout).
    Connect,
    /// The TLS handshake failed (certificate not trusted, client certificate refused, ...).
    Tls,
    /// The controller did not answer within the request timeout.
    Timeout,
    /// The connection broke while the request or answer was under way.
    Io,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// HTTP 404: the object (or the endpoint) does not exist. Carries the ApiCallRc list the
    /// controller sent, if any.
    #[error("{}", not_found_text(.0))]
    NotFound(Vec<ApiCallRc>),
    /// The controller answered with one or more error entries (any status, 2xx included).
    /// The list is the whole answer, warnings and infos included.
    #[error("{}", api_text(.0))]
    Api(Vec<ApiCallRc>),
    /// An error status whose body is not an ApiCallRc list (a proxy, an old controller...).
    #[error("the controller answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
    /// The request never got an answer: connection, TLS or timeout. `tried` lists every
    /// controller address that was attempted, in order.
    #[error("{message} (tried {})", .tried.join(", "))]
    Transport { kind: TransportKind, message: String, tried: Vec<String> },
    /// The answer could not be decoded into the expected type.
    #[error("cannot decode the answer of {what}: {message}")]
    Decode { what: String, message: String },
    /// The client itself is misconfigured: bad address, unreadable or invalid PEM files, ...
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The ApiCallRc entries this error carries (empty for transport, decode and config errors).
    pub fn entries(&self) -> &[ApiCallRc] {
        match self {
            Error::NotFound(list) | Error::Api(list) => list,
            _ => &[],
        }
    }

    /// True when the first error entry has the type and code bits of `code` (for example
    /// `FAIL_EXISTS_RSC_DFN`), whatever its object and operation bits.
    pub fn is(&self, code: i64) -> bool {
        self.entries().iter().find(|rc| rc.is_error()).is_some_and(|rc| rc.is(code))
    }

    /// True when any entry (error, warning or info) has the type and code bits of `code`:
    /// golinstor's `IsApiCallError`.
    pub fn has(&self, code: i64) -> bool {
        self.entries().iter().any(|rc| rc.is(code))
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound(_))
    }

    /// True for failures to reach any controller (nothing was answered).
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. })
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport { kind: TransportKind::Timeout, .. })
    }
}

/// One entry as text: the message, then cause, details and correction when present.
pub fn describe(rc: &ApiCallRc) -> String {
    let mut text = rc.message.clone();
    for (label, part) in [("cause", &rc.cause), ("details", &rc.details), ("correction", &rc.correction)] {
        if let Some(part) = part.as_deref().filter(|p| !p.is_empty()) {
            let _ = write!(text, "; {label}: {part}");
        }
    }
    text
}

fn api_text(list: &[ApiCallRc]) -> String {
    let errors: Vec<String> = list.iter().filter(|rc| rc.is_error()).map(describe).collect();
    match errors.len() {
        0 => match list.first() {
            Some(rc) => describe(rc),
            None => "the controller reported an error without details".to_string(),
        },
        _ => errors.join(" / "),
    }
}

fn not_found_text(list: &[ApiCallRc]) -> String {
    if list.is_empty() {
        "not found".to_string()
    } else {
        api_text(list)
    }
}

/// True when an ApiCallRc list reports a failure.
pub(crate) fn has_error(list: &[ApiCallRc]) -> bool {
    list.iter().any(|rc| rc.rc_type() == RcType::Error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use linstor_api::consts::*;

    fn list() -> Vec<ApiCallRc> {
        vec![
            ApiCallRc::new(MASK_RSC_DFN | MASK_CRT | WARN_NOT_FOUND, "just a warning"),
            ApiCallRc::new(MASK_RSC_DFN | MASK_CRT | FAIL_EXISTS_RSC_DFN, "exists")
                .with_cause("it was there")
                .with_details("details")
                .with_correction("pick another"),
            ApiCallRc::new(MASK_RSC_DFN | MASK_CRT | FAIL_INVLD_RSC_NAME, "bad name"),
        ]
    }

    #[test]
    fn is_looks_at_the_first_error_and_has_at_every_entry() {
        let err = Error::Api(list());
        assert!(err.is(FAIL_EXISTS_RSC_DFN));
        assert!(!err.is(FAIL_INVLD_RSC_NAME));
        assert!(err.has(FAIL_INVLD_RSC_NAME));
        assert!(err.has(WARN_NOT_FOUND));
        assert!(!err.is(WARN_NOT_FOUND));
        assert!(!err.has(FAIL_NOT_FOUND_NODE));
        let transport =
            Error::Transport { kind: TransportKind::Connect, message: "down".into(), tried: vec![] };
        assert!(!transport.is(FAIL_EXISTS_RSC_DFN) && transport.entries().is_empty());
    }

    #[test]
    fn messages_carry_cause_details_and_correction() {
        let text = Error::Api(list()).to_string();
        assert_eq!(
            text,
            "exists; cause: it was there; details: details; correction: pick another / bad name"
        );
        assert_eq!(Error::NotFound(vec![]).to_string(), "not found");
        let transport = Error::Transport {
            kind: TransportKind::Connect,
            message: "cannot connect".into(),
            tried: vec!["http://a:1".into(), "http://b:2".into()],
        };
        assert_eq!(transport.to_string(), "cannot connect (tried http://a:1, http://b:2)");
    }
}
