//! The client: configuration, controller failover, request sending and answer decoding.

use crate::error::{has_error, Error, TransportKind};
use crate::tls::{Pem, TlsOptions};
use crate::url::{ControllerUrl, Scheme};
use linstor_api::ApiCallRc;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
pub use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Time allowed to open a connection (TCP and TLS) to one controller.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole call, answer included. LINSTOR's own clients wait 300 s, because
/// mutations wait for satellites.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The controller used when none is configured.
pub const DEFAULT_CONTROLLER: &str = "localhost";
/// Where LINSTOR keeps the bearer token by default (`{"token": "..."}`).
pub const DEFAULT_TOKEN_FILE: &str = "/var/lib/linstor.d/auth.json";

/// Builds a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    controllers: Vec<String>,
    default_scheme: Option<Scheme>,
    tls: TlsOptions,
    token: Option<String>,
    token_file: Option<PathBuf>,
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: String,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            controllers: Vec::new(),
            default_scheme: None,
            tls: TlsOptions::default(),
            token: None,
            token_file: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            user_agent: format!("strand-linstor-client/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

impl ClientBuilder {
    pub fn new() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Settings from the environment, as golinstor reads them: `LS_CONTROLLERS`,
    /// `LS_ROOT_CA[_FILE]`, `LS_USER_CERTIFICATE[_FILE]`, `LS_USER_KEY[_FILE]` (PEM data or a
    /// file) and `LS_BEARER_TOKEN_FILE`. Any TLS setting makes HTTPS the default scheme.
    pub fn from_env() -> ClientBuilder {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let pem = |name: &str| {
            var(&format!("{name}_FILE"))
                .map(|path| Pem::File(PathBuf::from(path)))
                .or_else(|| var(name).map(|data| Pem::Data(data.into_bytes())))
        };
        let mut builder = ClientBuilder::new();
        if let Some(list) = var("LS_CONTROLLERS") {
            builder = builder.controllers_str(&list);
        }
        builder.tls = TlsOptions {
            ca: pem("LS_ROOT_CA"),
            client_cert: pem("LS_USER_CERTIFICATE"),
            client_key: pem("LS_USER_KEY"),
        };
        if let Some(path) = var("LS_BEARER_TOKEN_FILE") {
            builder.token_file = Some(PathBuf::from(path));
        }
        builder
    }

    /// Adds one controller address (see [`ControllerUrl`] for the accepted forms).
    pub fn controller(mut self, address: impl Into<String>) -> Self {
        self.controllers.push(address.into());
        self
    }

    /// Adds controller addresses; they are tried in order when one cannot be reached.
    pub fn controllers<I, S>(mut self, addresses: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.controllers.extend(addresses.into_iter().map(Into::into));
        self
    }

    /// Adds controller addresses from a comma- or space-separated list (`LS_CONTROLLERS` style).
    pub fn controllers_str(mut self, list: &str) -> Self {
        self.controllers.extend(
            list.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|part| !part.is_empty())
                .map(str::to_string),
        );
        self
    }

    /// The scheme of addresses that name none (default: HTTPS when TLS settings are given,
    /// plain HTTP otherwise).
    pub fn default_scheme(mut self, scheme: Scheme) -> Self {
        self.default_scheme = Some(scheme);
        self
    }

    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// CA certificate(s) (PEM file) to verify the controller with.
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> Self {
        self.tls.ca = Some(Pem::File(path.as_ref().to_path_buf()));
        self
    }

    /// Client certificate and its private key (PEM files) for controllers that require one.
    pub fn client_cert_files(mut self, cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Self {
        self.tls.client_cert = Some(Pem::File(cert.as_ref().to_path_buf()));
        self.tls.client_key = Some(Pem::File(key.as_ref().to_path_buf()));
        self
    }

    /// Sends `Authorization: Bearer <token>` with every request.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Reads the bearer token from a JSON file `{"token": "..."}` (LINSTOR's format) when the
    /// client is built.
    pub fn bearer_token_file(mut self, path: impl AsRef<Path>) -> Self {
        self.token_file = Some(path.as_ref().to_path_buf());
        self
    }

    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole call; no call waits longer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let default_scheme =
            self.default_scheme.unwrap_or(if self.tls.is_empty() { Scheme::Http } else { Scheme::Https });
        let addresses =
            if self.controllers.is_empty() { vec![DEFAULT_CONTROLLER.to_string()] } else { self.controllers };
        let mut controllers = Vec::with_capacity(addresses.len());
        for address in &addresses {
            let url = ControllerUrl::parse_with_default(address, default_scheme)?;
            if !controllers.contains(&url) {
                controllers.push(url);
            }
        }
        if self.connect_timeout.is_zero() || self.timeout.is_zero() {
            return Err(Error::Config("timeouts must be longer than zero".to_string()));
        }
        let token = match (self.token, &self.token_file) {
            (Some(token), _) => Some(token),
            (None, Some(path)) => Some(read_token_file(path)?),
            (None, None) => None,
        };
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(self.tls.build()?)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(self.user_agent)
            .no_proxy()
            // A redirect would turn a POST into a GET; LINSTOR only redirects plain HTTP to
            // HTTPS, which is reported instead (see `request`).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| Error::Config(format!("cannot set up the HTTP client: {err}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                controllers,
                preferred: AtomicUsize::new(0),
                token,
                timeout: self.timeout,
            }),
        })
    }
}

/// Reads LINSTOR's token file, `{"token": "..."}`.
pub fn read_token_file(path: &Path) -> Result<String, Error> {
    #[derive(serde::Deserialize)]
    struct TokenFile {
        token: String,
    }
    let text = std::fs::read_to_string(path)
        .map_err(|err| Error::Config(format!("cannot read the token file {}: {err}", path.display())))?;
    let file: TokenFile = serde_json::from_str(&text).map_err(|err| {
        Error::Config(format!("the token file {} is not {{\"token\": \"...\"}}: {err}", path.display()))
    })?;
    Ok(file.token)
}

/// An async client of the LINSTOR REST API v1. Cheap to clone; clones share connections and the
/// memory of which controller answered last.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    controllers: Vec<ControllerUrl>,
    /// Index of the controller that answered last: the first one tried next time.
    preferred: AtomicUsize,
    token: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("controllers", &self.inner.controllers)
            .field("preferred", &self.inner.preferred.load(Ordering::Relaxed))
            .field("token", &self.inner.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// A raw answer: status and body.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client for one or more controllers given as a comma-separated list.
    pub fn new(controllers: &str) -> Result<Client, Error> {
        ClientBuilder::new().controllers_str(controllers).build()
    }

    /// The configured controllers, in configuration order.
    pub fn controllers(&self) -> &[ControllerUrl] {
        &self.inner.controllers
    }

    /// The controller that answered last (the first one the next call tries).
    pub fn current_controller(&self) -> &ControllerUrl {
        let index = self.inner.preferred.load(Ordering::Relaxed);
        &self.inner.controllers[index.min(self.inner.controllers.len() - 1)]
    }

    fn url(
        &self,
        controller: &ControllerUrl,
        path: &[&str],
        query: &[(String, String)],
    ) -> Result<url::Url, Error> {
        let mut url = url::Url::parse(&controller.base())
            .map_err(|err| Error::Config(format!("invalid controller address {controller}: {err}")))?;
        url.path_segments_mut()
            .map_err(|_| Error::Config(format!("invalid controller address {controller}")))?
            .clear()
            .extend(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends one request, trying the controllers in turn (starting with the one that answered
    /// last) for as long as connections fail. Once a controller has accepted the request, its
    /// answer (or failure) is final: a request is never sent twice.
    pub async fn request(
        &self,
        method: Method,
        path: &[&str],
        query: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<RawAnswer, Error> {
        let controllers = &self.inner.controllers;
        let start = self.inner.preferred.load(Ordering::Relaxed);
        let mut tried = Vec::new();
        let mut last_failure = None;
        for step in 0..controllers.len() {
            let index = (start + step) % controllers.len();
            let controller = &controllers[index];
            tried.push(controller.base());
            let mut request = self
                .inner
                .http
                .request(method.clone(), self.url(controller, path, query)?)
                .header(ACCEPT, "application/json");
            if let Some(token) = &self.inner.token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.header(CONTENT_TYPE, "application/json").body(body.clone());
            }
            match request.send().await {
                Ok(response) => {
                    self.inner.preferred.store(index, Ordering::Relaxed);
                    let status = response.status().as_u16();
                    if response.status().is_redirection() {
                        let location = response
                            .headers()
                            .get(reqwest::header::LOCATION)
                            .and_then(|l| l.to_str().ok())
                            .unwrap_or("(no location)")
                            .to_string();
                        return Err(Error::Http {
                            status,
                            body: format!(
                                "the controller {controller} redirects to {location}; \
                                 address it with https:// (or linstor+ssl://)"
                            ),
                        });
                    }
                    let body =
                        response.bytes().await.map_err(|err| self.transport_error(&err, tried.clone()))?;
                    return Ok(RawAnswer { status, body: body.to_vec() });
                }
                Err(err) if err.is_connect() => last_failure = Some(err),
                Err(err) => return Err(self.transport_error(&err, tried)),
            }
        }
        Err(match last_failure {
            Some(err) => self.transport_error(&err, tried),
            None => Error::Config("no controller configured".to_string()),
        })
    }

    fn transport_error(&self, err: &reqwest::Error, tried: Vec<String>) -> Error {
        let root = root_cause(err);
        let (kind, message) = if is_tls_failure(err) {
            (TransportKind::Tls, format!("TLS handshake with the controller failed: {root}"))
        } else if err.is_timeout() && err.is_connect() {
            (TransportKind::Connect, format!("cannot connect to the controller: {root}"))
        } else if err.is_timeout() {
            (
                TransportKind::Timeout,
                format!("the controller did not answer within {} s", self.inner.timeout.as_secs_f64()),
            )
        } else if err.is_connect() {
            (TransportKind::Connect, format!("cannot connect to the controller: {root}"))
        } else {
            (TransportKind::Io, format!("the connection to the controller failed: {root}"))
        };
        Error::Transport { kind, message, tried }
    }

    /// GET `path` and decode the JSON answer into `T` (`serde_json::Value` keeps it as it is).
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(String, String)],
    ) -> Result<T, Error> {
        let answer = self.request(Method::GET, path, query, None).await?;
        decode_object(path, answer)
    }

    /// Sends `body` (if any) and decodes the answer as an object `T`.
    pub(crate) async fn call_json<B, T>(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&B>,
    ) -> Result<T, Error>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let body = body.map(encode).transpose()?;
        let answer = self.request(method, path, &[], body).await?;
        decode_object(path, answer)
    }

    /// Sends a mutation and returns its ApiCallRc list; a list with error entries is an
    /// [`Error::Api`], whatever the status.
    pub async fn call_rc<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &[&str],
        query: &[(String, String)],
        body: Option<&B>,
    ) -> Result<Vec<ApiCallRc>, Error> {
        let body = body.map(encode).transpose()?;
        let answer = self.request(method, path, query, body).await?;
        decode_rc(path, answer)
    }

    /// A mutation without a body.
    pub(crate) async fn call_rc_empty(&self, method: Method, path: &[&str]) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc::<()>(method, path, &[], None).await
    }
}

fn encode<B: Serialize + ?Sized>(body: &B) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(body).map_err(|err| Error::Config(format!("cannot encode the request: {err}")))
}

fn what(path: &[&str]) -> String {
    format!("/{}", path.join("/"))
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Reads an ApiCallRc list: an array, a single object, or nothing at all.
fn parse_rc_list(body: &[u8]) -> Option<Vec<ApiCallRc>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(Vec::new());
    }
    serde_json::from_slice::<Vec<ApiCallRc>>(body)
        .ok()
        .or_else(|| serde_json::from_slice::<ApiCallRc>(body).ok().map(|rc| vec![rc]))
}

fn error_answer(answer: &RawAnswer) -> Error {
    let list = parse_rc_list(&answer.body);
    match (answer.status, list) {
        (404, list) => Error::NotFound(list.unwrap_or_default()),
        (_, Some(list)) if !list.is_empty() => Error::Api(list),
        (status, _) => {
            let text = String::from_utf8_lossy(&answer.body);
            let mut body: String = text.trim().chars().take(300).collect();
            if body.is_empty() {
                body = "(empty body)".to_string();
            }
            Error::Http { status, body }
        }
    }
}

fn decode_object<T: DeserializeOwned>(path: &[&str], answer: RawAnswer) -> Result<T, Error> {
    if !is_success(answer.status) {
        return Err(error_answer(&answer));
    }
    serde_json::from_slice(&answer.body)
        .map_err(|err| Error::Decode { what: what(path), message: err.to_string() })
}

fn decode_rc(path: &[&str], answer: RawAnswer) -> Result<Vec<ApiCallRc>, Error> {
    if !is_success(answer.status) {
        return Err(error_answer(&answer));
    }
    let list = parse_rc_list(&answer.body).ok_or_else(|| Error::Decode {
        what: what(path),
        message: format!(
            "expected a list of ApiCallRc, got: {}",
            String::from_utf8_lossy(&answer.body).chars().take(200).collect::<String>()
        ),
    })?;
    if has_error(&list) {
        return Err(Error::Api(list));
    }
    Ok(list)
}

/// The innermost error of a chain, which says what really happened.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current: &(dyn std::error::Error + 'static) = err;
    loop {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                current = inner;
                continue;
            }
            return io.to_string();
        }
        match current.source() {
            Some(next) => current = next,
            None => return current.to_string(),
        }
    }
}

fn is_tls_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if inner.downcast_ref::<rustls::Error>().is_some() {
                    return true;
                }
                current = Some(inner);
                continue;
            }
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use linstor_api::consts::*;

    fn answer(status: u16, body: &str) -> RawAnswer {
        RawAnswer { status, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn rc_lists_with_errors_are_errors_even_with_2xx() {
        let ok = format!(r#"[{{"ret_code":{},"message":"created"}}]"#, MASK_RSC_DFN | MASK_CRT | CREATED);
        assert_eq!(decode_rc(&["x"], answer(201, &ok)).unwrap().len(), 1);
        let bad = format!(
            r#"[{{"ret_code":{},"message":"created"}},{{"ret_code":{},"message":"but"}}]"#,
            MASK_RSC_DFN | MASK_CRT | CREATED,
            MASK_ERROR | MASK_RSC_DFN | FAIL_UNKNOWN_ERROR
        );
        let err = decode_rc(&["x"], answer(200, &bad)).unwrap_err();
        assert!(matches!(&err, Error::Api(list) if list.len() == 2));
        assert!(err.is(FAIL_UNKNOWN_ERROR));
        assert!(decode_rc(&["x"], answer(200, "")).unwrap().is_empty());
    }

    #[test]
    fn error_statuses_map_to_variants() {
        let nf = format!(
            r#"[{{"ret_code":{},"message":"Node 'x' not found."}}]"#,
            MASK_ERROR | FAIL_NOT_FOUND_NODE
        );
        let err = decode_object::<serde_json::Value>(&["v1"], answer(404, &nf)).unwrap_err();
        assert!(err.is_not_found() && err.is(FAIL_NOT_FOUND_NODE));
        assert_eq!(err.to_string(), "Node 'x' not found.");
        let err = decode_object::<serde_json::Value>(&["v1"], answer(404, "<html>")).unwrap_err();
        assert!(matches!(err, Error::NotFound(list) if list.is_empty()));
        let err = decode_object::<serde_json::Value>(&["v1"], answer(502, "Bad gateway")).unwrap_err();
        assert!(matches!(err, Error::Http { status: 502, ref body } if body == "Bad gateway"));
        let single = format!(r#"{{"ret_code":{},"message":"bad"}}"#, MASK_ERROR | FAIL_INVLD_RSC_NAME);
        let err = decode_rc(&["v1"], answer(500, &single)).unwrap_err();
        assert!(err.is(FAIL_INVLD_RSC_NAME));
        let err = decode_object::<Vec<linstor_api::Node>>(&["v1", "nodes"], answer(200, "{")).unwrap_err();
        assert!(matches!(err, Error::Decode { ref what, .. } if what == "/v1/nodes"));
    }

    #[test]
    fn urls_encode_segments_and_queries() {
        let client = Client::new("[::1]:4000").unwrap();
        let url = client
            .url(
                &client.controllers()[0],
                &["v1", "controller", "properties", "Aux", "a b"],
                &[("props".into(), "Aux/x=1 2".into())],
            )
            .unwrap();
        assert_eq!(url.as_str(), "http://[::1]:4000/v1/controller/properties/Aux/a%20b?props=Aux%2Fx%3D1+2");
        let url = client.url(&client.controllers()[0], &["v1", "nodes"], &[]).unwrap();
        assert_eq!(url.as_str(), "http://[::1]:4000/v1/nodes");
    }

    #[test]
    fn builder_checks_its_settings() {
        assert!(Client::new("ftp://x").is_err());
        assert!(ClientBuilder::new().timeout(Duration::ZERO).build().is_err());
        let client = ClientBuilder::new().build().unwrap();
        assert_eq!(client.controllers()[0].base(), "http://localhost:3370");
        let client = Client::new("a, a:3370,b").unwrap();
        assert_eq!(client.controllers().len(), 2, "duplicates are dropped");
        let err = ClientBuilder::new().bearer_token_file("/nonexistent/auth.json").build().unwrap_err();
        assert!(err.to_string().contains("/nonexistent/auth.json"));
    }
}
