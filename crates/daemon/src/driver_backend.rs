//! [`DriverBackend`]: the [`Backend`] of the daemon on the Incus `linstor` driver
//! (`crates/driver`) and the LINSTOR client.
//!
//! Rules kept here:
//! - The driver (one LINSTOR client, this host's node name, the mount table) is made lazily on
//!   first use from the server settings, and made again when they change. A change is applied
//!   only after the new settings reached a controller (`GET /v1/controller/version`); until
//!   then the old driver keeps serving.
//! - Pools are opened from the config the daemon keeps (no I/O); the driver answers the
//!   config to keep after create and update.
//! - Driver errors keep their one-line message; their kind decides the HTTP status.

use crate::backend::*;
use driver::{Driver, DriverSettings, RealHost};
use linstor_api::names::{check_name, NameKind};
use linstor_client::{ClientBuilder, ControllerUrl, Pem, TlsOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

pub struct DriverBackend {
    state_dir: PathBuf,
    current: RwLock<Current>,
    /// Where mounted volumes were also bound (`mount` with a path), newest last.
    binds: Mutex<HashMap<BindKey, Vec<PathBuf>>>,
}

/// Pool, project, type and name of a volume.
type BindKey = (String, String, VolumeType, String);

fn bind_key(pool: &PoolRef, volume: &VolumeSpec) -> BindKey {
    (pool.name.clone(), volume.project.clone(), volume.vol_type, volume.name.clone())
}

/// The bind key of a snapshot's read-only mount: its volume's, named `<volume>/<snapshot>`.
fn snapshot_bind_key(pool: &PoolRef, volume: &VolumeSpec, snapshot: &str) -> BindKey {
    (pool.name.clone(), volume.project.clone(), volume.vol_type, format!("{}/{snapshot}", volume.name))
}

/// A driver snapshot as the backend reports it.
fn snapshot_state(info: &driver::SnapshotInfo) -> SnapshotState {
    let created_at = info
        .created_ms
        .and_then(|ms| u64::try_from(ms).ok())
        .map(|ms| crate::time::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)));
    SnapshotState { name: info.name.clone(), created_at }
}

fn c_path(path: &Path) -> Result<std::ffi::CString, String> {
    std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| format!("{} contains a NUL byte", path.display()))
}

/// Binds `source` (a directory) at `target` (made if missing, refused if something is mounted
/// there already).
fn bind_mount(source: &Path, target: &Path) -> Result<(), String> {
    std::fs::create_dir_all(target).map_err(|err| format!("Could not create {}: {err}", target.display()))?;
    let canonical = std::fs::canonicalize(target).unwrap_or_else(|_| target.to_path_buf());
    if driver::host::mount_points().contains(&canonical) {
        return Err(format!("{} is a mount point already", target.display()));
    }
    let (src, dst) = (c_path(source)?, c_path(target)?);
    // SAFETY: both are NUL-terminated paths; a bind mount takes no file system type or data.
    let rc =
        unsafe { libc::mount(src.as_ptr(), dst.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null()) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        return Err(format!("Could not bind {} at {}: {err}", source.display(), target.display()));
    }
    Ok(())
}

fn unbind(target: &Path) -> Result<(), String> {
    let dst = c_path(target)?;
    // SAFETY: a NUL-terminated path.
    if unsafe { libc::umount2(dst.as_ptr(), 0) } != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EINVAL) {
            // Not a mount point (any more).
            return Ok(());
        }
        return Err(format!("Could not unmount {}: {err}", target.display()));
    }
    Ok(())
}

/// Runs a blocking mount call off the async threads.
async fn off_thread(
    what: &str,
    op: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Result<(), String> {
    tokio::task::spawn_blocking(op).await.unwrap_or_else(|err| Err(format!("the {what} stopped: {err}")))
}

struct Current {
    settings: ServerSettings,
    /// Made on first use.
    driver: Option<Driver>,
    /// `<controller version> / <DRBD version>`, once a controller answered.
    version: String,
}

/// Maps a driver error to a backend error (same message).
fn map_err(err: driver::Error) -> BackendError {
    let kind = if err.is_config() {
        ErrorKind::Config
    } else if err.is_not_found() {
        ErrorKind::NotFound
    } else if err.is_already_exists() {
        ErrorKind::AlreadyExists
    } else if err.is_in_use() {
        ErrorKind::InUse
    } else if err.is_not_supported() || err.is_cannot_shrink() || err.is_cannot_place() {
        ErrorKind::Refused
    } else if matches!(err, driver::Error::NodeUnavailable { .. })
        || err.linstor_error().is_some_and(|e| e.is_transport())
    {
        ErrorKind::Unavailable
    } else {
        ErrorKind::Failed
    };
    BackendError::new(kind, err.to_string())
}

fn pem(text: &Option<String>) -> Option<Pem> {
    text.as_ref().map(|t| Pem::Data(t.clone().into_bytes()))
}

fn tls_of(settings: &ServerSettings) -> TlsOptions {
    TlsOptions {
        ca: pem(&settings.ca_cert),
        client_cert: pem(&settings.client_cert),
        client_key: pem(&settings.client_key),
    }
}

fn to_driver_type(t: VolumeType) -> driver::VolumeType {
    match t {
        VolumeType::Container => driver::VolumeType::Container,
        VolumeType::Custom => driver::VolumeType::Custom,
        VolumeType::Image => driver::VolumeType::Image,
        VolumeType::VirtualMachine => driver::VolumeType::VirtualMachine,
    }
}

fn from_driver_type(t: driver::VolumeType) -> VolumeType {
    match t {
        driver::VolumeType::Container => VolumeType::Container,
        driver::VolumeType::Custom => VolumeType::Custom,
        driver::VolumeType::Image => VolumeType::Image,
        driver::VolumeType::VirtualMachine => VolumeType::VirtualMachine,
    }
}

fn to_driver_content(c: ContentType) -> driver::ContentType {
    match c {
        ContentType::Filesystem => driver::ContentType::Filesystem,
        ContentType::Block => driver::ContentType::Block,
        ContentType::Iso => driver::ContentType::Iso,
    }
}

fn from_driver_content(c: driver::ContentType) -> ContentType {
    match c {
        driver::ContentType::Filesystem => ContentType::Filesystem,
        driver::ContentType::Block => ContentType::Block,
        driver::ContentType::Iso => ContentType::Iso,
    }
}

fn to_volume(spec: &VolumeSpec) -> driver::Volume {
    driver::Volume {
        id: driver::VolumeId::new(to_driver_type(spec.vol_type), spec.project.clone(), spec.name.clone()),
        content_type: to_driver_content(spec.content_type),
        config: spec.config.clone(),
    }
}

fn unmount_outcome(outcome: driver::Unmounted) -> UnmountOutcome {
    match outcome {
        driver::Unmounted::Unmounted => UnmountOutcome::Unmounted,
        driver::Unmounted::StillInUse { users } => UnmountOutcome::StillInUse { users },
        driver::Unmounted::NotMounted => UnmountOutcome::NotMounted,
    }
}

impl DriverBackend {
    /// Undoes the last extra mount (the path a user asked for) of `key`, if there is one.
    async fn release_bind(&self, key: &BindKey) -> BackendResult<()> {
        let bound =
            self.binds.lock().unwrap_or_else(|p| p.into_inner()).get(key).and_then(|t| t.last().cloned());
        let Some(target) = bound else { return Ok(()) };
        let t = target.clone();
        off_thread("unmount", move || unbind(&t))
            .await
            .map_err(|why| BackendError::new(ErrorKind::InUse, why))?;
        self.forget_bind(key, &target);
        Ok(())
    }

    fn forget_bind(&self, key: &BindKey, target: &Path) {
        let mut binds = self.binds.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = binds.get_mut(key) {
            list.retain(|t| t != target);
            if list.is_empty() {
                binds.remove(key);
            }
        }
    }

    /// Binds the driver's mount (`mounted`) at `target`, the path a user asked for, and
    /// records it under `key`. Answers the path to report: `target` once bound, else the
    /// driver's own mount path.
    async fn bind_requested(
        &self,
        key: BindKey,
        mounted: Option<&Path>,
        target: Option<&Path>,
    ) -> Result<Option<PathBuf>, String> {
        let (Some(target), Some(source)) = (target, mounted) else {
            return Ok(mounted.map(Path::to_path_buf));
        };
        let (src, dst) = (source.to_path_buf(), target.to_path_buf());
        off_thread("bind mount", move || bind_mount(&src, &dst)).await?;
        self.binds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .push(target.to_path_buf());
        Ok(Some(target.to_path_buf()))
    }

    /// A backend whose volumes are mounted under `state_dir/storage-pools/` and which talks
    /// to LINSTOR with `settings` (nothing is contacted yet).
    pub fn new(state_dir: &Path, settings: &ServerSettings) -> BackendResult<DriverBackend> {
        let backend = DriverBackend {
            state_dir: std::path::absolute(state_dir).map_err(|err| {
                BackendError::failed(format!("cannot resolve {}: {err}", state_dir.display()))
            })?,
            current: RwLock::new(Current {
                settings: settings.clone(),
                driver: None,
                version: String::new(),
            }),
            binds: Mutex::new(HashMap::new()),
        };
        // Bad stored settings must not keep the daemon from starting: calls fail with the
        // reason until the settings are fixed through `PATCH /1.0`.
        if let Err(err) = backend.validate_settings(settings) {
            tracing::warn!("storage settings: {err}");
        }
        Ok(backend)
    }

    fn make_driver(&self, settings: &ServerSettings) -> BackendResult<Driver> {
        let client = ClientBuilder::new()
            .controllers(settings.controllers.iter().cloned())
            .tls(tls_of(settings))
            .build()
            .map_err(|err| BackendError::config(format!("Failed to create the LINSTOR client: {err}")))?;
        let mut driver_settings = DriverSettings::new(&self.state_dir);
        if let Some(name) = &settings.satellite_name {
            driver_settings = driver_settings.satellite_name(name.clone());
        }
        Driver::new(client, Arc::new(RealHost::new()), driver_settings).map_err(map_err)
    }

    /// The driver, made from the current settings if there is none yet.
    pub fn driver(&self) -> BackendResult<Driver> {
        if let Some(driver) = self.current.read().unwrap_or_else(|p| p.into_inner()).driver.clone() {
            return Ok(driver);
        }
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if let Some(driver) = current.driver.clone() {
            return Ok(driver);
        }
        let driver = self.make_driver(&current.settings)?;
        current.driver = Some(driver.clone());
        Ok(driver)
    }

    fn pool(&self, pool: &PoolRef) -> BackendResult<driver::Pool> {
        self.driver()?.open_pool(&pool.name, pool.config.clone()).map_err(map_err)
    }

    /// Remembers the driver's version after a successful call.
    async fn refresh_version(&self, driver: &Driver) {
        if let Ok(version) = driver.version().await {
            self.current.write().unwrap_or_else(|p| p.into_inner()).version = version;
        }
    }
}

impl Backend for DriverBackend {
    fn info(&self) -> BackendInfo {
        let version = self.current.read().unwrap_or_else(|p| p.into_inner()).version.clone();
        BackendInfo { driver: driver::INFO.name.to_string(), version, remote: driver::INFO.remote }
    }

    fn refresh_info(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if !self.info().version.is_empty() {
                return;
            }
            let Ok(driver) = self.driver() else { return };
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(2), self.refresh_version(&driver)).await;
        })
    }

    fn validate_settings(&self, settings: &ServerSettings) -> BackendResult<()> {
        use crate::settings::*;
        for controller in &settings.controllers {
            ControllerUrl::parse(controller).map_err(|err| {
                BackendError::config(format!(
                    "Invalid value \"{controller}\" for \"{KEY_CONTROLLER_CONNECTION}\": {err}"
                ))
            })?;
        }
        if settings.ca_cert.is_some() {
            TlsOptions { ca: pem(&settings.ca_cert), ..Default::default() }
                .build()
                .map_err(|err| BackendError::config(format!("Invalid value for \"{KEY_CA_CERT}\": {err}")))?;
        }
        match (&settings.client_cert, &settings.client_key) {
            (None, None) => {}
            (Some(_), None) => {
                return Err(BackendError::config(format!(
                    "\"{KEY_CLIENT_CERT}\" is set without \"{KEY_CLIENT_KEY}\": set both or neither"
                )))
            }
            (None, Some(_)) => {
                return Err(BackendError::config(format!(
                    "\"{KEY_CLIENT_KEY}\" is set without \"{KEY_CLIENT_CERT}\": set both or neither"
                )))
            }
            (Some(_), Some(_)) => {
                TlsOptions {
                    client_cert: pem(&settings.client_cert),
                    client_key: pem(&settings.client_key),
                    ca: None,
                }
                .build()
                .map_err(|err| {
                    BackendError::config(format!(
                        "Invalid value for \"{KEY_CLIENT_CERT}\" / \"{KEY_CLIENT_KEY}\": {err}"
                    ))
                })?;
            }
        }
        if let Some(name) = &settings.satellite_name {
            check_name(NameKind::Node, name).map_err(|err| {
                BackendError::config(format!(
                    "Invalid value \"{name}\" for \"{KEY_SATELLITE_NAME}\": not a valid LINSTOR node name ({})",
                    err.reason
                ))
            })?;
        }
        Ok(())
    }

    fn configure<'a>(&'a self, settings: &'a ServerSettings) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.validate_settings(settings)?;
            let driver = self.make_driver(settings)?;
            let version = driver.version().await.map_err(|err| {
                BackendError::new(ErrorKind::Unavailable, format!("Failed to connect to LINSTOR: {err}"))
            })?;
            let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
            *current = Current { settings: settings.clone(), driver: Some(driver), version };
            Ok(())
        })
    }

    fn validate_pool_config(&self, name: &str, config: &Config) -> BackendResult<()> {
        Driver::validate_pool_config(name, config).map_err(map_err)
    }

    fn create_pool<'a>(&'a self, name: &'a str, config: &'a Config) -> BoxFuture<'a, BackendResult<Config>> {
        Box::pin(async move {
            let driver = self.driver()?;
            let pool = driver.create_pool(name, config.clone()).await.map_err(map_err)?;
            if let Err(err) = pool.mount().await {
                if let Err(undo) = pool.delete().await {
                    tracing::error!("storage pool {name}: cannot undo its creation: {undo}");
                }
                return Err(map_err(err));
            }
            self.refresh_version(&driver).await;
            Ok(pool.config().clone())
        })
    }

    fn update_pool<'a>(
        &'a self,
        pool: &'a PoolRef,
        config: &'a Config,
    ) -> BoxFuture<'a, BackendResult<Config>> {
        Box::pin(async move {
            let updated = self.pool(pool)?.update(config.clone()).await.map_err(map_err)?;
            Ok(updated.config().clone())
        })
    }

    fn delete_pool<'a>(&'a self, pool: &'a PoolRef) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let handle = self.pool(pool)?;
            handle.unmount().await.map_err(map_err)?;
            handle.delete().await.map(|_| ()).map_err(map_err)
        })
    }

    fn pool_resources<'a>(&'a self, pool: &'a PoolRef) -> BoxFuture<'a, BackendResult<PoolSpace>> {
        Box::pin(async move {
            let resources = self.pool(pool)?.resources().await.map_err(map_err)?;
            Ok(PoolSpace { used: resources.used_bytes, total: resources.total_bytes })
        })
    }

    fn prepare_volume(&self, pool: &PoolRef, volume: &VolumeSpec) -> BackendResult<Config> {
        let handle = self.pool(pool)?;
        let mut vol = to_volume(volume);
        handle.fill_volume_config(&mut vol);
        handle.validate_volume(&vol).map_err(map_err)?;
        Ok(vol.config)
    }

    fn validate_volume(&self, pool: &PoolRef, volume: &VolumeSpec) -> BackendResult<()> {
        self.pool(pool)?.validate_volume(&to_volume(volume)).map_err(map_err)
    }

    fn create_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move { self.pool(pool)?.create_volume(&to_volume(volume)).await.map_err(map_err) })
    }

    fn delete_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.pool(pool)?.delete_volume(&to_volume(volume)).await.map(|_| ()).map_err(map_err)
        })
    }

    fn rename_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        new_name: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.pool(pool)?.rename_volume(&to_volume(volume), new_name).await.map_err(map_err)
        })
    }

    fn update_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        config: &'a Config,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(
            async move { self.pool(pool)?.update_volume(&to_volume(volume), config).await.map_err(map_err) },
        )
    }

    fn volume_usage<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<VolumeUsage>> {
        Box::pin(async move {
            let handle = self.pool(pool)?;
            let vol = to_volume(volume);
            let used = handle.volume_usage(&vol).await.map_err(map_err)?;
            let total = handle.volume_size(&vol).await.ok();
            Ok(VolumeUsage { used, total })
        })
    }

    fn mount_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        target: Option<&'a Path>,
    ) -> BoxFuture<'a, BackendResult<MountInfo>> {
        Box::pin(async move {
            if target.is_some() && volume.content_type != ContentType::Filesystem {
                return Err(BackendError::new(
                    ErrorKind::Refused,
                    format!(
                        "Storage volume \"{}\" is a {} volume: it has no filesystem to mount at a path (use its device)",
                        volume.name, volume.content_type
                    ),
                ));
            }
            let handle = self.pool(pool)?;
            let vol = to_volume(volume);
            let mounted = handle.mount_volume(&vol).await.map_err(map_err)?;
            match self.bind_requested(bind_key(pool, volume), mounted.mount_path.as_deref(), target).await {
                Ok(path) => Ok(MountInfo { path, device: mounted.device, users: mounted.users }),
                Err(why) => {
                    if let Err(undo) = handle.unmount_volume(&vol, false).await {
                        tracing::error!("{}: cannot undo its mount: {undo}", volume.name);
                    }
                    Err(BackendError::failed(why))
                }
            }
        })
    }

    fn unmount_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<UnmountOutcome>> {
        Box::pin(async move {
            let handle = self.pool(pool)?;
            self.release_bind(&bind_key(pool, volume)).await?;
            Ok(unmount_outcome(handle.unmount_volume(&to_volume(volume), false).await.map_err(map_err)?))
        })
    }

    fn volume_path<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<PathBuf>> {
        Box::pin(async move {
            let handle = self.pool(pool)?;
            let vol = to_volume(volume);
            if volume.content_type == ContentType::Filesystem {
                return Ok(handle.mount_path(&vol.id));
            }
            handle.volume_disk_path(&vol).await.map_err(map_err)
        })
    }

    fn volume_device<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<PathBuf>> {
        Box::pin(async move { self.pool(pool)?.volume_device(&to_volume(volume)).await.map_err(map_err) })
    }

    fn recover_pools(&self) -> BoxFuture<'_, BackendResult<Vec<RecoveredPool>>> {
        Box::pin(async move {
            let pools = self.driver()?.recover_pools().await.map_err(map_err)?;
            Ok(pools.into_iter().map(|p| RecoveredPool { name: p.name, config: p.config }).collect())
        })
    }

    fn recover_volumes<'a>(&'a self, pool: &'a PoolRef) -> BoxFuture<'a, BackendResult<RecoveredVolumes>> {
        Box::pin(async move {
            let list = self.pool(pool)?.list_volumes(true).await.map_err(map_err)?;
            let volumes = list
                .volumes
                .iter()
                .map(|found| {
                    let vol = found.to_volume();
                    VolumeSpec {
                        project: vol.id.project.clone(),
                        vol_type: from_driver_type(vol.id.vol_type),
                        name: vol.id.name.clone(),
                        content_type: from_driver_content(vol.content_type),
                        config: vol.config,
                    }
                })
                .collect();
            Ok(RecoveredVolumes { volumes, warnings: list.warnings })
        })
    }

    fn create_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        name: &'a str,
    ) -> BoxFuture<'a, BackendResult<SnapshotState>> {
        Box::pin(async move {
            let info = self.pool(pool)?.create_snapshot(&to_volume(volume), name).await.map_err(map_err)?;
            Ok(snapshot_state(&info))
        })
    }

    fn delete_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        name: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.pool(pool)?.delete_snapshot(&to_volume(volume), name).await.map(|_| ()).map_err(map_err)
        })
    }

    fn rename_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        name: &'a str,
        new_name: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.pool(pool)?.rename_snapshot(&to_volume(volume), name, new_name).await.map_err(map_err)
        })
    }

    fn list_snapshots<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<Vec<SnapshotState>>> {
        Box::pin(async move {
            let list = self.pool(pool)?.list_snapshots(&to_volume(volume)).await.map_err(map_err)?;
            Ok(list.iter().map(snapshot_state).collect())
        })
    }

    fn restore_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        name: &'a str,
    ) -> BoxFuture<'a, BackendResult<RestoreOutcome>> {
        Box::pin(async move {
            let handle = self.pool(pool)?;
            let vol = to_volume(volume);
            // Where the volume is bound keeps its filesystem busy: unbound for the restore
            // (the driver unmounts and mounts its own mount point), bound again afterwards.
            let key = bind_key(pool, volume);
            let targets =
                self.binds.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned().unwrap_or_default();
            let source = handle.mount_path(&vol.id);
            let rebind = |targets: Vec<PathBuf>| async {
                let canonical = std::fs::canonicalize(&source).unwrap_or_else(|_| source.clone());
                let mounted = driver::host::mount_points().contains(&canonical);
                for target in targets {
                    if !mounted {
                        tracing::error!(
                            "{}: not mounted any more; not bound at {} again",
                            volume.name,
                            target.display()
                        );
                        self.forget_bind(&key, &target);
                        continue;
                    }
                    let (src, dst) = (source.clone(), target.clone());
                    if let Err(why) = off_thread("bind mount", move || bind_mount(&src, &dst)).await {
                        tracing::error!("{}: not bound at {} again: {why}", volume.name, target.display());
                        self.forget_bind(&key, &target);
                    }
                }
            };
            let mut unbound = Vec::new();
            for target in targets.iter().rev() {
                let t = target.clone();
                if let Err(why) = off_thread("unmount", move || unbind(&t)).await {
                    rebind(unbound).await;
                    return Err(BackendError::new(ErrorKind::InUse, why));
                }
                unbound.insert(0, target.clone());
            }
            let result = handle.restore_snapshot(&vol, name).await.map_err(map_err);
            rebind(unbound).await;
            let restored = result?;
            Ok(RestoreOutcome { deleted_snapshots: restored.deleted_snapshots })
        })
    }

    fn mount_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        name: &'a str,
        target: Option<&'a Path>,
    ) -> BoxFuture<'a, BackendResult<MountInfo>> {
        Box::pin(async move {
            if target.is_some() && volume.content_type != ContentType::Filesystem {
                return Err(BackendError::new(
                    ErrorKind::Refused,
                    format!(
                        "Storage volume \"{}\" is a {} volume: its snapshots have no filesystem to mount at a path (use the device)",
                        volume.name, volume.content_type
                    ),
                ));
            }
            let handle = self.pool(pool)?;
            let vol = to_volume(volume);
            let mounted = handle.mount_snapshot(&vol, name).await.map_err(map_err)?;
            let key = snapshot_bind_key(pool, volume, name);
            match self.bind_requested(key, mounted.mount_path.as_deref(), target).await {
                Ok(path) => Ok(MountInfo { path, device: mounted.device, users: mounted.users }),
                Err(why) => {
                    if let Err(undo) = handle.unmount_snapshot(&vol, name).await {
                        tracing::error!("{}/{name}: cannot undo its mount: {undo}", volume.name);
                    }
                    Err(BackendError::failed(why))
                }
            }
        })
    }

    fn unmount_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        name: &'a str,
    ) -> BoxFuture<'a, BackendResult<UnmountOutcome>> {
        Box::pin(async move {
            let handle = self.pool(pool)?;
            self.release_bind(&snapshot_bind_key(pool, volume, name)).await?;
            Ok(unmount_outcome(handle.unmount_snapshot(&to_volume(volume), name).await.map_err(map_err)?))
        })
    }

    fn copy_volume<'a>(
        &'a self,
        pool: &'a PoolRef,
        src: &'a VolumeSpec,
        dst: &'a VolumeSpec,
        snapshots: bool,
    ) -> BoxFuture<'a, BackendResult<Vec<String>>> {
        Box::pin(async move {
            let handle = self.pool(pool)?;
            let report =
                handle.copy_volume(&to_volume(src), &to_volume(dst), snapshots).await.map_err(map_err)?;
            Ok(report.snapshots)
        })
    }

    fn create_volume_from_snapshot<'a>(
        &'a self,
        pool: &'a PoolRef,
        src: &'a VolumeSpec,
        snapshot: &'a str,
        dst: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let handle = self.pool(pool)?;
            handle
                .create_volume_from_snapshot(&to_volume(src), snapshot, &to_volume(dst))
                .await
                .map(|_| ())
                .map_err(map_err)
        })
    }

    fn create_volume_from_image<'a>(
        &'a self,
        pool: &'a PoolRef,
        image: &'a VolumeSpec,
        dst: &'a VolumeSpec,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let handle = self.pool(pool)?;
            handle
                .create_volume_from_image(&to_volume(image), &to_volume(dst))
                .await
                .map(|_| ())
                .map_err(map_err)
        })
    }

    fn create_volume_filled<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        fill: DataWork,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let handle = self.pool(pool)?;
            handle.create_volume_filled(&to_volume(volume), data_fn(fill)).await.map_err(map_err)
        })
    }

    fn with_volume_data<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        work: DataWork,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let handle = self.pool(pool)?;
            handle.with_volume_data(&to_volume(volume), data_fn(work)).await.map_err(map_err)
        })
    }

    fn with_snapshot_data<'a>(
        &'a self,
        pool: &'a PoolRef,
        volume: &'a VolumeSpec,
        snapshot: &'a str,
        work: DataWork,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let handle = self.pool(pool)?;
            handle.with_snapshot_data(&to_volume(volume), snapshot, data_fn(work)).await.map_err(map_err)
        })
    }
}

/// A daemon data function as the driver's.
fn data_fn(work: DataWork) -> driver::DataFn {
    Box::new(move |target: &driver::DataTarget| {
        work(&DataPaths { path: target.mount_path.clone(), device: target.device.clone() })
    })
}
