//! What the driver fails with. Every message is one line that names the key or object and,
//! where there is one, says how to fix it: the daemon and the CLI show it as it is.

use crate::host::HostError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration key the driver does not know (or does not accept in this place).
    #[error("Invalid option \"{key}\": {reason}")]
    UnknownKey { key: String, reason: String },
    /// A configuration key with a value it does not accept.
    #[error("Invalid value \"{value}\" for \"{key}\": {reason}")]
    InvalidValue { key: String, value: String, reason: String },
    /// A key that cannot change once the pool or volume exists.
    #[error("\"{key}\" cannot be changed: {reason}")]
    Immutable { key: String, reason: String },
    /// The object does not exist.
    #[error("{what} not found")]
    NotFound { what: String },
    /// The object exists already.
    #[error("{what} already exists")]
    AlreadyExists { what: String },
    /// The object is in use; `hint` says what to do.
    #[error("{what} is in use: {hint}")]
    InUse { what: String, hint: String },
    /// The operation does not apply to this kind of object.
    #[error("{what} is not supported: {reason}")]
    NotSupported { what: String, reason: String },
    /// A size change that would lose data or that the filesystem cannot do.
    #[error("{what} cannot be shrunk: {reason}")]
    CannotShrink { what: String, reason: String },
    /// LINSTOR cannot place a volume's replicas; the message says how many the pool asks for,
    /// how many nodes can hold one and which key to change.
    #[error("{message}")]
    CannotPlace { message: String },
    /// The local LINSTOR node cannot serve volumes.
    #[error("LINSTOR node \"{node}\" is {state}: {hint}")]
    NodeUnavailable { node: String, state: String, hint: String },
    /// A LINSTOR call failed; `context` says what the driver was doing.
    #[error("{context}: {source}")]
    Linstor {
        context: String,
        #[source]
        source: linstor_client::Error,
    },
    /// A host operation (mkfs, mount, resize, ...) failed.
    #[error("{context}: {source}")]
    Host {
        context: String,
        #[source]
        source: HostError,
    },
    /// A file or directory operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// LINSTOR holds something the driver did not expect (two resource definitions for one
    /// volume, a volume definition missing, ...).
    #[error("{0}")]
    Inconsistent(String),
}

impl Error {
    pub(crate) fn invalid(key: &str, value: &str, reason: impl Into<String>) -> Error {
        Error::InvalidValue { key: key.to_string(), value: value.to_string(), reason: reason.into() }
    }

    pub(crate) fn unknown(key: &str, reason: impl Into<String>) -> Error {
        Error::UnknownKey { key: key.to_string(), reason: reason.into() }
    }

    pub(crate) fn linstor(context: impl Into<String>) -> impl FnOnce(linstor_client::Error) -> Error {
        let context = context.into();
        move |source| Error::Linstor { context, source }
    }

    pub(crate) fn host(context: impl Into<String>) -> impl FnOnce(HostError) -> Error {
        let context = context.into();
        move |source| Error::Host { context, source }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }

    /// The configuration key the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            Error::UnknownKey { key, .. }
            | Error::InvalidValue { key, .. }
            | Error::Immutable { key, .. } => Some(key),
            _ => None,
        }
    }

    /// True for configuration errors (the request was wrong, nothing was done).
    pub fn is_config(&self) -> bool {
        self.key().is_some()
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    pub fn is_already_exists(&self) -> bool {
        matches!(self, Error::AlreadyExists { .. })
    }

    pub fn is_in_use(&self) -> bool {
        matches!(self, Error::InUse { .. })
    }

    pub fn is_cannot_shrink(&self) -> bool {
        matches!(self, Error::CannotShrink { .. })
    }

    pub fn is_cannot_place(&self) -> bool {
        matches!(self, Error::CannotPlace { .. })
    }

    pub fn is_not_supported(&self) -> bool {
        matches!(self, Error::NotSupported { .. })
    }

    /// The LINSTOR error underneath, if the failure came from the controller.
    pub fn linstor_error(&self) -> Option<&linstor_client::Error> {
        match self {
            Error::Linstor { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
