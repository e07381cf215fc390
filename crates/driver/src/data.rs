//! A volume's data for code outside the driver: volumes made and filled in one step (image
//! volumes, imported backups), data rewritten in place, and read access to a volume or to a
//! snapshot, each through a function that gets the mount path and device.
//!
//! Rules kept here:
//! - The function runs on a blocking thread while the volume (or the snapshot's read-only
//!   copy) is mounted on this host; it is unmounted afterwards whatever the function answered.
//! - [`Pool::create_volume_filled`] leaves nothing when the function fails: the new volume is
//!   deleted again.

use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::volume::Volume;
use crate::volumes::Mounted;
use std::path::PathBuf;

/// Where a volume's data is on this host while a [`DataFn`] runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataTarget {
    /// The mounted filesystem (filesystem volumes; a VM's config filesystem).
    pub mount_path: Option<PathBuf>,
    /// The block device (block volumes, VM disks; the device under a filesystem too).
    pub device: Option<PathBuf>,
}

impl From<&Mounted> for DataTarget {
    fn from(m: &Mounted) -> DataTarget {
        DataTarget { mount_path: m.mount_path.clone(), device: m.device.clone() }
    }
}

/// Work on a volume's data; its error is one line.
pub type DataFn = Box<dyn FnOnce(&DataTarget) -> std::result::Result<(), String> + Send>;

fn data_error(context: String) -> impl FnOnce(String) -> Error {
    move |why| Error::Io { context, source: std::io::Error::other(why) }
}

async fn run(target: DataTarget, work: DataFn) -> std::result::Result<(), String> {
    tokio::task::spawn_blocking(move || work(&target))
        .await
        .map_err(|err| format!("the work on the volume's data stopped: {err}"))?
}

impl Pool {
    /// Creates a volume and fills it: `fill` runs with the new volume mounted. On failure the
    /// volume is deleted again.
    pub async fn create_volume_filled(&self, volume: &Volume, fill: DataFn) -> Result<()> {
        self.create_volume(volume).await?;
        let result = self.with_volume_data(volume, fill).await;
        if let Err(err) = result {
            if let Err(undo) = self.delete_volume(volume).await {
                tracing::warn!("{}: could not delete it after its filling failed: {undo}", volume.id);
            }
            return Err(err);
        }
        Ok(())
    }

    /// Runs `work` with the volume mounted on this host (reference counted, so a volume
    /// mounted by someone else stays mounted).
    pub async fn with_volume_data(&self, volume: &Volume, work: DataFn) -> Result<()> {
        let mounted = self.mount_volume(volume).await?;
        let result = run(DataTarget::from(&mounted), work)
            .await
            .map_err(data_error(format!("Could not write the data of {}", volume.id)));
        let unmounted = self.unmount_volume(volume, false).await;
        result?;
        unmounted.map(|_| ())
    }

    /// Runs `work` with snapshot `snapshot` of the volume mounted read-only on this host.
    pub async fn with_snapshot_data(&self, volume: &Volume, snapshot: &str, work: DataFn) -> Result<()> {
        let mounted = self.mount_snapshot(volume, snapshot).await?;
        let result = run(DataTarget::from(&mounted), work)
            .await
            .map_err(data_error(format!("Could not read snapshot \"{snapshot}\" of {}", volume.id)));
        let unmounted = self.unmount_snapshot(volume, snapshot).await;
        result?;
        unmounted.map(|_| ())
    }
}
