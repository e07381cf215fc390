//! `strand satellite`: a satellite as its own process, serving one controller over TCP.

use crate::serve::{runtime, stop_requested};
use linstor_api::names::{check_name, NameKind};
use satellite::server::{self, Server};
use satellite::{Satellite, SatelliteConfig};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;

/// The lock file that keeps two satellites off one data directory.
const LOCK_FILE: &str = "satellite.lock";

pub struct SatelliteOptions {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub node_name: Option<String>,
    pub dev_dir: Option<PathBuf>,
}

/// Holds the data directory's lock for as long as it lives.
fn lock_data_dir(data_dir: &std::path::Path) -> Result<std::fs::File, String> {
    std::fs::create_dir_all(data_dir)
        .map_err(|err| format!("cannot create the data directory {}: {err}", data_dir.display()))?;
    let path = data_dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| format!("cannot open {}: {err}", path.display()))?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(format!(
            "another satellite is running with the data directory {}; give each its own --data-dir",
            data_dir.display()
        ));
    }
    Ok(file)
}

pub fn satellite(options: SatelliteOptions) -> Result<(), String> {
    satellite::require_root("strand satellite")?;
    let node_name = match options.node_name {
        Some(name) => {
            check_name(NameKind::Node, &name).map_err(|err| format!("--node-name: {}", err.reason))?;
            name
        }
        None => crate::up::host_name()?,
    };
    let _lock = lock_data_dir(&options.data_dir)?;
    let mut config = SatelliteConfig::new(&node_name);
    if let Some(dev_dir) = options.dev_dir {
        let dev_dir = std::path::absolute(&dev_dir)
            .map_err(|err| format!("cannot resolve --dev-dir {}: {err}", dev_dir.display()))?;
        config = config.with_dev_dir(dev_dir);
    }
    let satellite = Arc::new(Satellite::new(config).map_err(|err| err.to_string())?);
    runtime()?.block_on(async move {
        let listener = server::bind(options.listen)
            .map_err(|err| format!("cannot listen on {}: {err}", options.listen))?;
        let address = listener.local_addr().unwrap_or(options.listen);
        tracing::info!(
            "satellite '{node_name}' listening on {address} (data in {})",
            options.data_dir.display()
        );
        tokio::select! {
            served = Server::new(satellite).serve(listener) => {
                served.map_err(|err| format!("the satellite server failed: {err}"))?;
            }
            _ = stop_requested() => {}
        }
        tracing::info!("satellite stopped; volumes stay attached and are found again on the next start");
        Ok(())
    })
}
