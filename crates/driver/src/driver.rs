//! The driver object: one LINSTOR client, one host, the local node and the mount table, shared
//! by every pool it opens.

use crate::error::{Error, Result};
use crate::host::{HostError, HostOps};
use crate::mounts::MountTable;
use crate::size;
use linstor_client::Client;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How the driver is set up on this host.
#[derive(Debug, Clone)]
pub struct DriverSettings {
    /// Incus's state directory: volumes are mounted under
    /// `<state_dir>/storage-pools/<pool>/<type>/<name>`.
    pub state_dir: PathBuf,
    /// `storage.linstor.satellite.name`: this host's LINSTOR node name, when it is not the host
    /// name.
    pub satellite_name: Option<String>,
    /// How often, and how far apart, mounts, unmounts and deletions are tried while the device
    /// or resource is busy (Incus: 20 times, 500 ms apart).
    pub busy_retries: u32,
    pub busy_interval: Duration,
}

impl DriverSettings {
    pub fn new(state_dir: impl Into<PathBuf>) -> DriverSettings {
        DriverSettings {
            state_dir: state_dir.into(),
            satellite_name: None,
            busy_retries: 20,
            busy_interval: Duration::from_millis(500),
        }
    }

    pub fn satellite_name(mut self, name: impl Into<String>) -> DriverSettings {
        self.satellite_name = Some(name.into()).filter(|n: &String| !n.trim().is_empty());
        self
    }
}

/// What the driver can do (Incus's driver `Info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverInfo {
    pub name: &'static str,
    /// Volume types the driver serves, as `Aux/Incus/type` spells them.
    pub volume_types: &'static [&'static str],
    /// Size of a VM's config filesystem unless `size.state` says otherwise.
    pub default_vm_block_filesystem_size: u64,
    /// One resource group serves every cluster member.
    pub remote: bool,
    /// Filesystems are put on block devices.
    pub block_backing: bool,
    /// A volume is used on one node at a time (DRBD is active/passive).
    pub volume_multi_node: bool,
    /// Image volumes are cloned per instance.
    pub optimized_images: bool,
    pub optimized_backups: bool,
    pub buckets: bool,
    /// Running instances are frozen while snapshotted or copied.
    pub running_copy_freeze: bool,
    pub direct_io: bool,
    pub io_uring: bool,
}

pub const INFO: DriverInfo = DriverInfo {
    name: "linstor",
    volume_types: &["custom", "images", "containers", "virtual-machines"],
    default_vm_block_filesystem_size: size::DEFAULT_VM_CONFIG_FS_SIZE,
    remote: true,
    block_backing: true,
    volume_multi_node: false,
    optimized_images: true,
    optimized_backups: false,
    buckets: false,
    running_copy_freeze: true,
    direct_io: true,
    io_uring: true,
};

pub(crate) struct Shared {
    pub client: Client,
    pub host: Arc<dyn HostOps>,
    pub state_dir: PathBuf,
    pub node: String,
    pub mounts: MountTable,
    pub busy_retries: u32,
    pub busy_interval: Duration,
}

impl Shared {
    /// Runs a host operation on a blocking thread.
    pub async fn host<T, F>(&self, op: F) -> Result<T, HostError>
    where
        F: FnOnce(&dyn HostOps) -> Result<T, HostError> + Send + 'static,
        T: Send + 'static,
    {
        let host = Arc::clone(&self.host);
        tokio::task::spawn_blocking(move || op(host.as_ref()))
            .await
            .map_err(|err| HostError::Unsupported(format!("the host operation stopped: {err}")))?
    }

    /// Whether something is mounted on `path`.
    pub(crate) async fn is_mounted(&self, path: &std::path::Path) -> crate::Result<bool> {
        let target = path.to_path_buf();
        self.host(move |h| h.is_mounted(&target))
            .await
            .map_err(crate::Error::host("Could not read the mount table"))
    }

    /// Runs a host operation, again while it fails with a transient error (busy device or
    /// mount point), up to the configured number of tries.
    pub async fn host_retrying<F>(&self, op: F) -> Result<(), HostError>
    where
        F: Fn(&dyn HostOps) -> Result<(), HostError> + Send + Sync + Clone + 'static,
    {
        let mut attempt = 1;
        loop {
            let op = op.clone();
            match self.host(move |h| op(h)).await {
                Err(err) if err.is_transient() && attempt < self.busy_retries.max(1) => {
                    attempt += 1;
                    tokio::time::sleep(self.busy_interval).await;
                }
                other => return other,
            }
        }
    }
}

/// The Incus `linstor` storage driver of one host. Cheap to clone.
#[derive(Clone)]
pub struct Driver {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("node", &self.shared.node)
            .field("state_dir", &self.shared.state_dir)
            .field("client", &self.shared.client)
            .finish_non_exhaustive()
    }
}

/// The host name, as the default LINSTOR node name.
pub fn host_name() -> Result<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_err(Error::io("cannot read the host name from /proc/sys/kernel/hostname"))?;
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(Error::invalid(
            "storage.linstor.satellite.name",
            "",
            "the host has no name; set storage.linstor.satellite.name to this host's LINSTOR node name",
        ));
    }
    Ok(name)
}

impl Driver {
    /// A driver talking to LINSTOR through `client` and to the host through `host`. The local
    /// LINSTOR node is `settings.satellite_name`, or else the host name.
    pub fn new(client: Client, host: Arc<dyn HostOps>, settings: DriverSettings) -> Result<Driver> {
        let node = match settings.satellite_name {
            Some(name) => name,
            None => host_name()?,
        };
        if !settings.state_dir.is_absolute() {
            return Err(Error::invalid(
                "state_dir",
                &settings.state_dir.display().to_string(),
                "the state directory must be an absolute path",
            ));
        }
        Ok(Driver {
            shared: Arc::new(Shared {
                client,
                host,
                state_dir: settings.state_dir,
                node,
                mounts: MountTable::default(),
                busy_retries: settings.busy_retries,
                busy_interval: settings.busy_interval,
            }),
        })
    }

    /// What the driver supports.
    pub fn info() -> DriverInfo {
        INFO
    }

    /// The LINSTOR node this host is.
    pub fn node_name(&self) -> &str {
        &self.shared.node
    }

    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    pub fn host(&self) -> &Arc<dyn HostOps> {
        &self.shared.host
    }

    pub fn state_dir(&self) -> &std::path::Path {
        &self.shared.state_dir
    }

    /// `"<controller version> / <DRBD version>"` (`"none"` when the DRBD module is not loaded:
    /// LINSTOR then serves volumes without DRBD).
    pub async fn version(&self) -> Result<String> {
        let controller = self
            .shared
            .client
            .controller_version()
            .await
            .map_err(Error::linstor("Could not get the LINSTOR controller version"))?;
        let drbd = std::fs::read_to_string("/sys/module/drbd/version")
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|_| "none".to_string());
        let version = controller.version.unwrap_or_else(|| "unknown".to_string());
        Ok(format!("{version} / {drbd}"))
    }
}
