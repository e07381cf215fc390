//! Strand's storage daemon: its own SQLite database of Incus storage pools and volumes
//! (`DATA/storage.db`, as Incus keeps one) and the storage part of the Incus REST API on a unix
//! socket (`DATA/unix.socket`, mode 0660). Every storage operation goes through one trait,
//! [`Backend`]; the real one is [`DriverBackend`], the Incus `linstor` driver.
//!
//! ```text
//!  incus / lxc / pylxd / strand storage
//!        │  HTTP/1.1 on DATA/unix.socket
//!        ▼
//!  api (axum): envelope, routes, filters, ETags ──▶ db (SQLite: config, pools, volumes)
//!        │                     │
//!        │                     └──▶ operations (registry) ──▶ events (websocket /1.0/events)
//!        ▼
//!  Backend ── DriverBackend ──▶ driver::Driver ──▶ LINSTOR controller + this host
//! ```
//!
//! Module map: [`backend`] (the trait and its data), [`driver_backend`] (the real
//! implementation), [`db`] (schema in `migrations/`), [`api`] (routes and the envelope),
//! [`operations`], [`events`], [`filter`] (the `filter=` language), [`names`] (API names and
//! URLs), [`settings`] (server keys), [`time`].

pub mod api;
pub mod archive;
pub mod backend;
pub mod backups;
pub mod db;
pub mod driver_backend;
pub mod events;
pub mod filter;
pub mod images;
mod locks;
pub mod names;
pub mod operations;
pub mod settings;
pub mod snapshots;
pub mod time;
pub mod yaml;

pub use backend::{Backend, BackendError, BackendResult, Config, ContentType, ErrorKind, VolumeType};
pub use driver_backend::DriverBackend;

use crate::db::Db;
use crate::events::Events;
use crate::locks::Locks;
use crate::operations::Operations;
use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;

/// The project of requests that name none.
pub const DEFAULT_PROJECT: &str = "default";
/// The cluster member name of a standalone server (`location` of operations and events).
pub const LOCATION: &str = "none";
/// The database file under the data directory.
pub const DB_FILE: &str = "storage.db";
/// The socket under the data directory.
pub const SOCKET_FILE: &str = "unix.socket";
/// Mode of the socket: access is by file permissions only.
pub const SOCKET_MODE: u32 = 0o660;

/// Everything a request handler needs.
pub struct State {
    pub db: Db,
    pub backend: Arc<dyn Backend>,
    pub events: Events,
    pub operations: Operations,
    pub(crate) locks: Locks,
    /// Serializes changes of the server config.
    pub(crate) config_lock: tokio::sync::Mutex<()>,
    /// The host name (`environment.server_name`).
    pub server_name: String,
    /// Turns true when the daemon stops: websockets and long polls end.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// The data directory: images (`images/`) and backups (`backups/`) are kept there.
    pub data_dir: PathBuf,
    /// The images imported (`images/`).
    pub images: images::Images,
}

/// Resolves once the daemon is stopping.
pub(crate) async fn stopping(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// How to start the daemon.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Holds `storage.db`, `unix.socket` and the volumes' mount points (`storage-pools/`).
    pub data_dir: PathBuf,
    /// `storage.linstor.controller_connection` to set at start (kept otherwise).
    pub controllers: Option<String>,
    /// `storage.linstor.satellite.name` to set at start (kept otherwise).
    pub satellite_name: Option<String>,
    /// The socket (default `DATA/unix.socket`).
    pub socket: Option<PathBuf>,
}

impl DaemonOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> DaemonOptions {
        DaemonOptions { data_dir: data_dir.into(), controllers: None, satellite_name: None, socket: None }
    }
}

/// A daemon, set up and listening on its socket.
pub struct Daemon {
    state: Arc<State>,
    listener: tokio::net::UnixListener,
    socket: PathBuf,
    stop: watch::Sender<bool>,
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|n| n.trim().to_string()).unwrap_or_default()
}

/// Binds the socket at `path` with mode 0660. A socket file left by a daemon that is gone is
/// replaced; one that answers is an error (another daemon runs there).
fn bind_socket(path: &Path) -> Result<tokio::net::UnixListener, String> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "{} is in use: another storage daemon runs on this data directory",
                path.display()
            ));
        }
        std::fs::remove_file(path)
            .map_err(|err| format!("cannot remove the stale socket {}: {err}", path.display()))?;
    }
    // With the usual umask the socket starts without write access for anyone but the owner
    // (needed to connect); the mode below opens it to the group. No umask change: other
    // threads of the process (strand up) create files meanwhile.
    let bound = tokio::net::UnixListener::bind(path);
    let listener = bound.map_err(|err| format!("cannot listen on {}: {err}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(|err| format!("cannot set the mode of {}: {err}", path.display()))?;
    Ok(listener)
}

impl Daemon {
    /// Opens the database, applies the options' server keys, builds the real backend and binds
    /// the socket. Must run inside a tokio runtime.
    pub fn open(options: DaemonOptions) -> Result<Daemon, String> {
        let data_dir = std::path::absolute(&options.data_dir)
            .map_err(|err| format!("cannot resolve {}: {err}", options.data_dir.display()))?;
        std::fs::create_dir_all(&data_dir)
            .map_err(|err| format!("cannot create {}: {err}", data_dir.display()))?;
        let db_path = data_dir.join(DB_FILE);
        let db = Db::open(&db_path).map_err(|err| format!("cannot open {}: {err}", db_path.display()))?;
        let mut config = db.server_config().map_err(|err| err.to_string())?;
        let mut overrides = Config::new();
        if let Some(controllers) = options.controllers.filter(|c| !c.trim().is_empty()) {
            overrides.insert(settings::KEY_CONTROLLER_CONNECTION.to_string(), controllers);
        }
        if let Some(name) = options.satellite_name.filter(|n| !n.trim().is_empty()) {
            overrides.insert(settings::KEY_SATELLITE_NAME.to_string(), name);
        }
        if !overrides.is_empty() {
            config.extend(overrides);
            settings::check_keys(&config).map_err(|err| err.message)?;
            db.set_server_config(&config).map_err(|err| err.to_string())?;
        }
        let server_settings = settings::from_config(&config);
        let backend = DriverBackend::new(&data_dir, &server_settings).map_err(|err| err.message)?;
        let socket = options.socket.unwrap_or_else(|| data_dir.join(SOCKET_FILE));
        Daemon::with_backend_in(db, Arc::new(backend), socket, data_dir)
    }

    /// A daemon over a database and a backend of the caller's, listening on `socket` (its
    /// directory is the data directory).
    pub fn with_backend(db: Db, backend: Arc<dyn Backend>, socket: PathBuf) -> Result<Daemon, String> {
        let data_dir = socket.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        Daemon::with_backend_in(db, backend, socket, data_dir)
    }

    /// [`Daemon::with_backend`] with its own data directory.
    pub fn with_backend_in(
        db: Db,
        backend: Arc<dyn Backend>,
        socket: PathBuf,
        data_dir: PathBuf,
    ) -> Result<Daemon, String> {
        let listener = bind_socket(&socket)?;
        // Uploads and backups a stopped daemon left half-written.
        images::Images::new(&data_dir).sweep();
        backups::Backups::new(&data_dir).sweep();
        let (stop, shutdown) = watch::channel(false);
        let events = Events::new();
        let state = Arc::new(State {
            db,
            backend,
            operations: Operations::new(events.clone()),
            events,
            locks: Locks::default(),
            config_lock: tokio::sync::Mutex::new(()),
            server_name: host_name(),
            shutdown,
            images: images::Images::new(&data_dir),
            data_dir,
        });
        Ok(Daemon { state, listener, socket, stop })
    }

    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Serves until `stop` resolves; then ends websockets and long polls, waits for the
    /// requests in flight and removes the socket.
    pub async fn serve(self, stop: impl Future<Output = ()> + Send + 'static) -> Result<(), String> {
        let Daemon { state, listener, socket, stop: stop_tx } = self;
        let router = api::router(Arc::clone(&state));
        // Scheduled and expiring snapshots; ends with the daemon.
        let scheduler = tokio::spawn(snapshots::run(Arc::clone(&state)));
        tracing::info!("storage daemon listening on {}", socket.display());
        let shutdown = async move {
            stop.await;
            let _ = stop_tx.send(true);
        };
        let served = axum::serve(listener, router.into_make_service_with_connect_info::<api::PeerInfo>())
            .with_graceful_shutdown(shutdown)
            .await;
        scheduler.abort();
        let _ = std::fs::remove_file(&socket);
        tracing::info!("storage daemon stopped");
        served.map_err(|err| format!("the storage daemon failed: {err}"))
    }

    /// Serves in the background; the handle stops it.
    pub fn spawn(self) -> RunningDaemon {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::clone(&self.state);
        let socket = self.socket.clone();
        let task = tokio::spawn(self.serve(async move {
            let _ = rx.await;
        }));
        RunningDaemon { state, socket, stop: Some(tx), task }
    }
}

/// A daemon serving in the background.
pub struct RunningDaemon {
    state: Arc<State>,
    socket: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl RunningDaemon {
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Stops the daemon and waits until it has.
    pub async fn stop(mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result,
            Err(err) => Err(format!("the storage daemon stopped abnormally: {err}")),
        }
    }
}
