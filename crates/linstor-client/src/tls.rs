//! TLS settings: which CA to trust and which client certificate to present, from PEM.
//!
//! Any combination works: a CA alone (server verified against it), a client certificate and key
//! alone (server verified against the system's trust store), or both. The crypto provider is
//! rustls' `ring` backend.

use crate::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// PEM data, from a file or in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pem {
    File(PathBuf),
    Data(Vec<u8>),
}

impl Pem {
    fn bytes(&self, what: &str) -> Result<Vec<u8>, Error> {
        match self {
            Pem::File(path) => std::fs::read(path).map_err(|err| {
                Error::Config(format!("cannot read the {what} file {}: {err}", path.display()))
            }),
            Pem::Data(data) => Ok(data.clone()),
        }
    }

    fn origin(&self) -> String {
        match self {
            Pem::File(path) => format!(" in {}", path.display()),
            Pem::Data(_) => String::new(),
        }
    }
}

impl From<&Path> for Pem {
    fn from(path: &Path) -> Pem {
        Pem::File(path.to_path_buf())
    }
}

impl From<PathBuf> for Pem {
    fn from(path: PathBuf) -> Pem {
        Pem::File(path)
    }
}

/// The TLS side of a client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// CA certificate(s) that sign the controller's certificate. Without it, the system's trust
    /// store is used.
    pub ca: Option<Pem>,
    /// Client certificate (chain) for controllers that require one; needs `key`.
    pub client_cert: Option<Pem>,
    /// Private key of `client_cert` (PKCS#8, PKCS#1 or SEC1).
    pub client_key: Option<Pem>,
}

impl TlsOptions {
    pub fn is_empty(&self) -> bool {
        self.ca.is_none() && self.client_cert.is_none() && self.client_key.is_none()
    }

    /// Builds the rustls configuration, with clear errors for missing, unreadable or invalid PEM.
    pub fn build(&self) -> Result<ClientConfig, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| Error::Config(format!("cannot set up TLS: {err}")))?;
        let roots = match &self.ca {
            Some(ca) => ca_roots(ca)?,
            None => system_roots(),
        };
        let builder = builder.with_root_certificates(roots);
        let mut config = match (&self.client_cert, &self.client_key) {
            (None, None) => builder.with_no_client_auth(),
            (Some(_), None) => {
                return Err(Error::Config(
                    "a client certificate was given without its private key".to_string(),
                ))
            }
            (None, Some(_)) => {
                return Err(Error::Config("a client key was given without its certificate".to_string()))
            }
            (Some(cert), Some(key)) => {
                let chain = certificates(cert, "client certificate")?;
                let key = private_key(key)?;
                builder.with_client_auth_cert(chain, key).map_err(|err| {
                    Error::Config(format!("the client certificate and key do not fit: {err}"))
                })?
            }
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

fn certificates(pem: &Pem, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = pem.bytes(what)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|err| Error::Config(format!("invalid PEM{} ({what}): {err}", pem.origin())))?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "no certificate found{} ({what}): expected a '-----BEGIN CERTIFICATE-----' block",
            pem.origin()
        )));
    }
    Ok(certs)
}

fn ca_roots(pem: &Pem) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(pem, "CA certificate")? {
        roots
            .add(cert)
            .map_err(|err| Error::Config(format!("unusable CA certificate{}: {err}", pem.origin())))?;
    }
    Ok(roots)
}

fn private_key(pem: &Pem) -> Result<PrivateKeyDer<'static>, Error> {
    let bytes = pem.bytes("client key")?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|err| {
        Error::Config(format!(
            "no usable private key found{} (client key; PKCS#8, PKCS#1 or SEC1 PEM expected): {err}",
            pem.origin()
        ))
    })
}

/// The system's trust store; certificates it cannot parse are skipped.
fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (_added, _ignored) = roots.add_parsable_certificates(found.certs);
    roots
}
