//! TLS configuration from PEM files, and handshakes with a local HTTPS server that requires a
//! client certificate. Certificates are generated with rcgen for each run.

mod common;

use common::{json_response, Server, TempDir};
use linstor_client::{ClientBuilder, Error, Pem, TlsOptions, TransportKind};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

struct Pki {
    dir: TempDir,
    ca: std::path::PathBuf,
    server_cert: String,
    server_key: String,
    client_cert: std::path::PathBuf,
    client_key: std::path::PathBuf,
    other_ca: std::path::PathBuf,
}

fn make_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn pki() -> Pki {
    let dir = TempDir::new("tls");
    let ca = make_ca("strand test CA");
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params.distinguished_name.push(DnType::CommonName, "strand client");
    let client = client_params.signed_by(&client_key, &ca).unwrap();
    let other = make_ca("some other CA");
    Pki {
        ca: dir.write("ca.pem", &ca.pem()),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: dir.write("client.pem", &client.pem()),
        client_key: dir.write("client.key", &client_key.serialize_pem()),
        other_ca: dir.write("other-ca.pem", &other.pem()),
        dir,
    }
}

fn config_error(tls: TlsOptions) -> String {
    match tls.build() {
        Err(Error::Config(text)) => text,
        Err(other) => panic!("expected a config error, got {other:?}"),
        Ok(_) => panic!("expected a config error"),
    }
}

#[test]
fn builds_configs_from_pem_files_in_any_combination() {
    let pki = pki();
    let file = |p: &std::path::Path| Some(Pem::File(p.to_path_buf()));
    for tls in [
        TlsOptions { ca: file(&pki.ca), ..Default::default() },
        TlsOptions {
            client_cert: file(&pki.client_cert),
            client_key: file(&pki.client_key),
            ..Default::default()
        },
        TlsOptions {
            ca: file(&pki.ca),
            client_cert: file(&pki.client_cert),
            client_key: file(&pki.client_key),
        },
        TlsOptions::default(),
    ] {
        let config = tls.build().unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
    // PEM in memory works as well.
    let data = std::fs::read(&pki.ca).unwrap();
    TlsOptions { ca: Some(Pem::Data(data)), ..Default::default() }.build().unwrap();
}

#[test]
fn bad_pem_files_are_refused_with_clear_messages() {
    let pki = pki();
    let garbage = pki.dir.write("garbage.pem", "this is not PEM\n");
    let file = |p: &std::path::Path| Some(Pem::File(p.to_path_buf()));

    let text = config_error(TlsOptions { ca: file(&garbage), ..Default::default() });
    assert!(text.contains("no certificate found") && text.contains("garbage.pem"), "{text}");

    let missing = pki.dir.0.join("missing.pem");
    let text = config_error(TlsOptions { ca: file(&missing), ..Default::default() });
    assert!(text.contains("cannot read the CA certificate file") && text.contains("missing.pem"), "{text}");

    let text = config_error(TlsOptions { client_cert: file(&pki.client_cert), ..Default::default() });
    assert!(text.contains("without its private key"), "{text}");
    let text = config_error(TlsOptions { client_key: file(&pki.client_key), ..Default::default() });
    assert!(text.contains("without its certificate"), "{text}");

    // A certificate where the key should be.
    let text = config_error(TlsOptions {
        client_cert: file(&pki.client_cert),
        client_key: file(&pki.client_cert),
        ..Default::default()
    });
    assert!(text.contains("no usable private key") && text.contains("client.pem"), "{text}");

    // A truncated certificate block.
    let truncated = pki.dir.write("truncated.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n");
    let text = config_error(TlsOptions { ca: file(&truncated), ..Default::default() });
    assert!(text.contains("truncated.pem"), "{text}");

    // The builder reports the same errors.
    let err =
        ClientBuilder::new().controller("linstor+ssl://localhost").ca_file(&garbage).build().unwrap_err();
    assert!(err.to_string().contains("no certificate found"), "{err}");
}

fn acceptor(pki: &Pki, require_client_cert: bool) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = vec![CertificateDer::from_pem_slice(pki.server_cert.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(pki.server_key.as_bytes()).unwrap();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_file(&pki.ca).unwrap()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder.with_single_cert(certs, key).unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

fn version(_: &str) -> String {
    json_response(200, r#"{"version":"tls","rest_api_version":"1.28.0"}"#)
}

#[tokio::test]
async fn mutual_tls_handshake_with_ca_and_client_certificate() {
    let pki = pki();
    let server = Server::start_with(version, Some(acceptor(&pki, true))).await;
    let client = ClientBuilder::new()
        .controller(format!("linstor+ssl://localhost:{}", server.port))
        .ca_file(&pki.ca)
        .client_cert_files(&pki.client_cert, &pki.client_key)
        .build()
        .unwrap();
    let version = client.controller_version().await.unwrap();
    assert_eq!(version.version.as_deref(), Some("tls"));

    // Without a client certificate the server refuses the connection.
    let client = ClientBuilder::new()
        .controller(format!("https://127.0.0.1:{}", server.port))
        .ca_file(&pki.ca)
        .build()
        .unwrap();
    let err = client.controller_version().await.unwrap_err();
    assert!(err.is_transport(), "{err:?}");
}

#[tokio::test]
async fn an_untrusted_server_certificate_is_a_tls_error() {
    let pki = pki();
    let server = Server::start_with(version, Some(acceptor(&pki, false))).await;
    let client = ClientBuilder::new()
        .controller(format!("127.0.0.1:{}", server.port))
        .ca_file(&pki.other_ca)
        .build()
        .unwrap();
    assert_eq!(
        client.controllers()[0].scheme,
        linstor_client::Scheme::Https,
        "TLS settings default to HTTPS"
    );
    let err = client.controller_version().await.unwrap_err();
    match &err {
        Error::Transport { kind, message, .. } => {
            assert_eq!(*kind, TransportKind::Tls, "{message}");
            assert!(message.to_lowercase().contains("certificate"), "{message}");
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
    assert_eq!(server.request_count(), 0);
}
