//! `strand up`: a whole single-machine cluster in one process — the controller, a local
//! satellite as a COMBINED node named after the host, and on first start a FILE_THIN pool
//! `DfltStorPool` under the data directory; the storage daemon on `DATA/unix.socket`, with its
//! storage pool `default` on `DfltStorPool` made on first start.

use crate::serve::{runtime, stop_requested};
use controller::link::{DesiredState, Observed};
use controller::satellites::{BoxFuture, SatelliteLink};
use controller::Controller;
use linstor_api::names::{check_name, NameKey, NameKind};
use linstor_api::{ApiCallRc, NetInterface, Node, StoragePool, DEFAULT_SATELLITE_PORT, DEFAULT_STORAGE_POOL};
use satellite::{Satellite, SatelliteConfig};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How often the local satellite is brought in line and re-reports capacity and usage.
const RESYNC_INTERVAL: Duration = Duration::from_secs(10);

pub struct UpOptions {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub node_name: Option<String>,
    pub dev_dir: Option<PathBuf>,
}

/// A satellite in this process: applies run on a blocking thread.
struct EmbeddedLink(Arc<Satellite>);

impl SatelliteLink for EmbeddedLink {
    fn apply(&self, desired: DesiredState) -> BoxFuture<Result<Observed, String>> {
        let satellite = Arc::clone(&self.0);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || satellite.apply(&desired))
                .await
                .map_err(|err| format!("the local satellite stopped: {err}"))
        })
    }
}

/// The host name, as the local node's name.
pub(crate) fn host_name() -> Result<String, String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_err(|err| format!("cannot read the host name: {err}"))?
        .trim()
        .to_string();
    check_name(NameKind::Node, &name).map_err(|err| {
        format!(
            "the host name '{name}' is not a valid LINSTOR node name ({}); give one with --node-name",
            err.reason
        )
    })?;
    Ok(name)
}

fn errors_of(answer: &[ApiCallRc]) -> Option<String> {
    let errors: Vec<String> = answer.iter().filter(|rc| rc.is_error()).map(|rc| rc.to_string()).collect();
    (!errors.is_empty()).then(|| errors.join("\n"))
}

/// On first start: the local node and its default storage pool.
async fn first_start(controller: &Controller, node_name: &str, data_dir: &Path) -> Result<(), String> {
    if controller.state().node(node_name).is_some() {
        return Ok(());
    }
    // The storage daemon makes its `default` pool once it runs (default_pool.rs).
    crate::default_pool::mark_first_start(data_dir)?;
    let node = Node {
        name: node_name.to_string(),
        node_type: "COMBINED".to_string(),
        net_interfaces: vec![NetInterface {
            name: "default".to_string(),
            address: "127.0.0.1".to_string(),
            satellite_port: Some(i32::from(DEFAULT_SATELLITE_PORT)),
            satellite_encryption_type: Some("PLAIN".to_string()),
            is_active: Some(true),
            uuid: None,
        }],
        ..Default::default()
    };
    if let Some(errors) = errors_of(&controller.create_node(node)) {
        return Err(format!("cannot register the local node: {errors}"));
    }
    let pool_dir = data_dir.join("pools").join(DEFAULT_STORAGE_POOL);
    if let Some(parent) = pool_dir.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
    }
    let pool = StoragePool {
        storage_pool_name: DEFAULT_STORAGE_POOL.to_string(),
        provider_kind: "FILE_THIN".to_string(),
        props: [("StorDriver/StorPoolName".to_string(), pool_dir.display().to_string())].into(),
        ..Default::default()
    };
    if let Some(errors) = errors_of(&controller.create_storage_pool(node_name, pool).await) {
        return Err(format!("cannot create the default storage pool in {}: {errors}", pool_dir.display()));
    }
    tracing::info!(
        "first start: node '{node_name}' with FILE_THIN pool {DEFAULT_STORAGE_POOL} in {}",
        pool_dir.display()
    );
    Ok(())
}

pub fn up(options: UpOptions) -> Result<(), String> {
    satellite::require_root("strand up")?;
    let node_name = match options.node_name {
        Some(name) => {
            check_name(NameKind::Node, &name).map_err(|err| format!("--node-name: {}", err.reason))?;
            name
        }
        None => host_name()?,
    };
    let data_dir = std::path::absolute(&options.data_dir)
        .map_err(|err| format!("cannot resolve the data directory {}: {err}", options.data_dir.display()))?;
    let controller = Controller::open(&data_dir).map_err(|err| err.to_string())?;
    // Before the satellite looks at the default pool: put it on a filesystem with reflink.
    crate::pool_fs::prepare(&data_dir)?;
    let mut config = SatelliteConfig::new(&node_name);
    if let Some(dev_dir) = options.dev_dir {
        config = config.with_dev_dir(dev_dir);
    }
    let satellite = Satellite::new(config).map_err(|err| err.to_string())?;
    let node_key = NameKey::new(&node_name);
    controller.satellites.attach(node_key.clone(), Arc::new(EmbeddedLink(Arc::new(satellite))));

    runtime()?.block_on(async move {
        first_start(&controller, &node_name, &data_dir).await?;
        // Bring every volume back (after a restart or a reboot) before answering anyone.
        let nodes: BTreeSet<NameKey> = [node_key.clone()].into();
        if let Some(errors) = errors_of(&controller.sync_nodes(&nodes).await) {
            return Err(format!("the local satellite could not start: {errors}"));
        }
        if !controller.is_online(&node_key) {
            return Err("the local satellite did not report its state".to_string());
        }
        // Clones and restores whose data was still being copied when strand stopped.
        controller.resume_copy_watchers();
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|err| format!("cannot listen on {}: {err}", options.listen))?;
        // Other nodes (satellites on other hosts) are connected over the network.
        controller.start_connections();
        // The LINSTOR API answers from here on: the storage daemon below talks to it.
        let api = {
            let router = controller::rest::router(Arc::clone(&controller));
            tokio::spawn(async move {
                axum::serve(listener, router).with_graceful_shutdown(stop_requested()).await
            })
        };
        // The storage daemon (Incus storage API on DATA/unix.socket), against this controller;
        // on first start it gets its `default` pool before it answers anyone.
        let storage = crate::daemon::open_embedded(&data_dir, options.listen, &node_name)?;
        crate::default_pool::create_if_pending(&data_dir, storage.state()).await;
        let storage = storage.spawn();
        let resync = {
            let controller = Arc::clone(&controller);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(RESYNC_INTERVAL).await;
                    controller.sync_nodes(&nodes).await;
                }
            })
        };
        tracing::info!("strand is up: node '{node_name}' online, LINSTOR API on http://{}", options.listen);
        let served = api.await.map_err(|err| format!("the REST server stopped: {err}"))?;
        resync.abort();
        if let Err(err) = storage.stop().await {
            tracing::warn!("{err}");
        }
        served.map_err(|err| format!("the REST server failed: {err}"))?;
        tracing::info!("strand stopped; volumes stay attached and are found again on the next start");
        Ok(())
    })
}
