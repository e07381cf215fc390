//! Strand's satellite: turns a node's desired state (storage pools and volumes, as
//! [`controller::link::DesiredState`]) into real block devices, and reports what it observes
//! ([`controller::link::Observed`]).
//!
//! FILE and FILE_THIN pools are directories; a volume is the file `<dir>/<rsc>_<vlmnr:05>.img`
//! attached as a loop device (direct I/O where the filesystem allows it), reachable at the
//! stable path `/dev/strand/<rsc>/<vlmnr>`. The satellite keeps no database: it finds its
//! files and loop devices again after a restart, and re-attaches them after a reboot.
//!
//! Module map (one job each; each side-effecting subsystem behind one trait):
//! - [`loopdev`]: loop devices by ioctl, found again through sysfs ([`loopdev::LoopDevices`]).
//! - [`provider`]: the backing files of FILE/FILE_THIN pools, their naming, capacity and
//!   reflink probe; which provider kinds this node serves ([`provider::StorageProvider`]).
//! - [`devlinks`]: the stable symlinks ([`devlinks::DevLinks`]).
//! - [`usage`]: whether a device is mounted or held open ([`usage::Usage`]).
//! - [`layers`]: which layers (STORAGE, DRBD) this node serves.
//! - [`reconcile`]: the convergence rules, written next to the code that keeps them; the rules
//!   of snapshots (`<rsc>_<vlmnr:05>_<snap>.img`), rollback, restore and clone are in its
//!   `snapshots` module, those of incremental runs in its `incremental` module.
//! - [`action`]: results that say whether anything changed.
//! - [`server`]: the TCP server a remote controller talks to (`strand satellite`).

pub mod action;
pub mod devlinks;
pub mod layers;
pub mod loopdev;
pub mod provider;
pub mod reconcile;
pub mod server;
mod sys;
pub mod usage;

pub use action::{Change, ChangeKind};
pub use reconcile::{Applied, Host, RECHECK_EVERY};
pub use sys::FileId;

use controller::link::{DesiredState, Observed, PoolReport, VolumeReport};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Where stable device links go unless configured otherwise.
pub const DEFAULT_DEV_DIR: &str = "/dev/strand";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SatelliteConfig {
    /// The LINSTOR node name this satellite serves.
    pub node_name: String,
    /// Directory of the stable links `<dev_dir>/<rsc>/<vlmnr>`; default [`DEFAULT_DEV_DIR`].
    /// Give every satellite on one host its own.
    pub dev_dir: PathBuf,
    /// How long a volume checked by one run is trusted by the incremental runs after it:
    /// within it they read only whether it is in use, after it they check its file, device
    /// and link again. Default [`RECHECK_EVERY`].
    pub recheck_every: Duration,
}

impl SatelliteConfig {
    pub fn new(node_name: impl Into<String>) -> SatelliteConfig {
        SatelliteConfig {
            node_name: node_name.into(),
            dev_dir: PathBuf::from(DEFAULT_DEV_DIR),
            recheck_every: RECHECK_EVERY,
        }
    }

    pub fn with_dev_dir(mut self, dev_dir: impl Into<PathBuf>) -> SatelliteConfig {
        self.dev_dir = dev_dir.into();
        self
    }

    pub fn with_recheck_every(mut self, every: Duration) -> SatelliteConfig {
        self.recheck_every = every;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SatelliteError {
    #[error("the satellite needs a node name")]
    NoNodeName,
    #[error("the device link directory must be an absolute path, not {0:?}")]
    RelativeDevDir(PathBuf),
}

/// One node's satellite. Thread-safe; share it with an `Arc`. Runs of [`Satellite::apply`]
/// and [`Satellite::observe`] are serialized. Both block (they do file and device I/O): call
/// them from a blocking thread in async code.
pub struct Satellite {
    config: SatelliteConfig,
    host: Host,
    memory: Mutex<reconcile::Memory>,
}

impl std::fmt::Debug for Satellite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Satellite").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Satellite {
    /// A satellite on the real kernel: loop devices, links under `config.dev_dir`.
    pub fn new(config: SatelliteConfig) -> Result<Satellite, SatelliteError> {
        let host = Host {
            loops: Box::new(loopdev::KernelLoops::new()),
            links: Box::new(devlinks::FsDevLinks::new(config.dev_dir.clone())),
            usage: Box::new(usage::KernelUsage::new()),
        };
        Satellite::with_host(config, host)
    }

    /// A satellite on other implementations of the host subsystems.
    pub fn with_host(config: SatelliteConfig, host: Host) -> Result<Satellite, SatelliteError> {
        if config.node_name.trim().is_empty() {
            return Err(SatelliteError::NoNodeName);
        }
        if !config.dev_dir.is_absolute() {
            return Err(SatelliteError::RelativeDevDir(config.dev_dir));
        }
        Ok(Satellite { config, host, memory: Mutex::new(reconcile::Memory::default()) })
    }

    pub fn config(&self) -> &SatelliteConfig {
        &self.config
    }

    /// Converges the host to `desired` and reports what is there afterwards. Idempotent;
    /// never panics: every failure is an `error` in the report of its pool or volume.
    ///
    /// The report lists the desired volumes in their order, then any volume of a desired pool
    /// that is no longer desired but could not be removed (it is in use), with the reason.
    pub fn apply(&self, desired: &DesiredState) -> Observed {
        self.converge(desired).observed
    }

    /// Like [`Satellite::apply`], also answering what was changed.
    pub fn converge(&self, desired: &DesiredState) -> Applied {
        self.run(desired, true)
    }

    /// Reports what is there, changing nothing. (The one-time reflink probe of a pool
    /// directory writes and removes two small hidden files.)
    pub fn observe(&self, desired: &DesiredState) -> Observed {
        self.run(desired, false).observed
    }

    fn run(&self, desired: &DesiredState, apply: bool) -> Applied {
        let mut memory = self.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = catch_unwind(AssertUnwindSafe(|| {
            reconcile::run(&self.host, &mut memory, &self.config, desired, apply)
        }));
        result.unwrap_or_else(|_| {
            let why = "internal error in the satellite (see its log)".to_string();
            Applied {
                observed: Observed {
                    node_name: self.config.node_name.clone(),
                    generation: desired.generation,
                    storage_pools: desired
                        .storage_pools
                        .iter()
                        .map(|p| PoolReport {
                            name: p.name.clone(),
                            error: Some(why.clone()),
                            ..Default::default()
                        })
                        .collect(),
                    volumes: desired
                        .volumes
                        .iter()
                        .map(|v| VolumeReport {
                            resource: v.resource.clone(),
                            volume_number: v.volume_number,
                            pool: v.pool.clone(),
                            disk_state: reconcile::FAILED.to_string(),
                            error: Some(why.clone()),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                },
                changes: Vec::new(),
            }
        })
    }
}

/// `Ok` when running as root; otherwise the message to stop with, e.g.
/// `strand up needs root: loop devices, mounts and /dev/strand need it; run it with sudo`.
pub fn require_root(what: &str) -> Result<(), String> {
    if sys::is_root() {
        Ok(())
    } else {
        Err(format!(
            "{what} needs root: loop devices, mounts and {DEFAULT_DEV_DIR} need it; run it with sudo"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satellite_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Satellite>();
    }

    #[test]
    fn config_is_checked() {
        assert!(matches!(Satellite::new(SatelliteConfig::new(" ")), Err(SatelliteError::NoNodeName)));
        assert!(matches!(
            Satellite::new(SatelliteConfig::new("n").with_dev_dir("rel")),
            Err(SatelliteError::RelativeDevDir(_))
        ));
        let sat = Satellite::new(SatelliteConfig::new("n")).unwrap();
        assert_eq!(sat.config().dev_dir, PathBuf::from(DEFAULT_DEV_DIR));
    }

    #[test]
    fn root_requirement() {
        match require_root("strand up") {
            Ok(()) => assert!(sys::is_root()),
            Err(msg) => {
                assert!(!sys::is_root());
                assert!(msg.starts_with("strand up needs root") && msg.contains("sudo"), "{msg}");
            }
        }
    }
}
