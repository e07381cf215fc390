//! The storage pool `default` that `strand up` makes on its first start, so that
//! `strand storage volume create default vol` works on a fresh machine with nothing else.
//!
//! Rules:
//! - Only on first start: the branch of `strand up` that registers the local node (which
//!   happens once per data directory) first writes the marker `DATA/default-pool.pending`,
//!   durably. After the storage daemon has the pool, the marker goes. A start that finds the
//!   marker (the first start was interrupted) tries again; a start without it never makes the
//!   pool, so a user who deleted `default` does not get it back, nor does a daemon whose
//!   database was lost (`strand admin recover` brings its pools back).
//! - The pool is made through the storage daemon before its socket answers anyone: driver
//!   `linstor`, `linstor.resource_group.place_count=1`, `linstor.resource_group.storage_pool` =
//!   the node's default storage pool (`DfltStorPool`). A pool `default` the daemon has already
//!   counts as made.
//! - A failure is logged with its reason and leaves the marker (the next start tries again);
//!   it never keeps `strand up` from serving.

use daemon::api::pools::{create_pool, PoolsPost};
use daemon::events::Requestor;
use linstor_api::DEFAULT_STORAGE_POOL;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The name of the pool.
pub const NAME: &str = "default";
/// The marker of a first start whose default pool is not made yet.
const MARKER: &str = "default-pool.pending";

fn marker(data_dir: &Path) -> PathBuf {
    data_dir.join(MARKER)
}

/// The default pool's config.
fn config() -> daemon::Config {
    [
        ("linstor.resource_group.place_count".to_string(), "1".to_string()),
        ("linstor.resource_group.storage_pool".to_string(), DEFAULT_STORAGE_POOL.to_string()),
    ]
    .into()
}

/// Records, durably, that this data directory's first start is under way. Call before the
/// first start registers anything.
pub fn mark_first_start(data_dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(data_dir)
        .map_err(|err| format!("cannot create {}: {err}", data_dir.display()))?;
    let path = marker(data_dir);
    let written = std::fs::File::create(&path).and_then(|mut file| {
        file.write_all(b"strand up makes the storage pool \"default\" when this file exists\n")?;
        file.sync_all()
    });
    written.map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    // The marker's directory entry too.
    std::fs::File::open(data_dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|err| format!("cannot sync {}: {err}", data_dir.display()))
}

/// Makes the pool `default` if the first start has not made it yet (see the module's rules).
/// The storage daemon must not answer on its socket yet; the controller must.
pub async fn create_if_pending(data_dir: &Path, state: &daemon::State) {
    let path = marker(data_dir);
    if !path.exists() {
        return;
    }
    let body = PoolsPost {
        name: NAME.to_string(),
        driver: "linstor".to_string(),
        description: String::new(),
        config: Some(config()),
    };
    match create_pool(state, body, &Requestor::unix("root")).await {
        Ok(_) => tracing::info!(
            "first start: storage pool \"{NAME}\" (LINSTOR resource group \"{NAME}\" on {DEFAULT_STORAGE_POOL}, one replica)"
        ),
        Err(err) if err.status == axum::http::StatusCode::CONFLICT => {}
        Err(err) => {
            tracing::error!(
                "first start: cannot create the storage pool \"{NAME}\": {} (tried again at the next start)",
                err.message
            );
            return;
        }
    }
    if let Err(err) = std::fs::remove_file(&path) {
        tracing::warn!("cannot remove {}: {err}", path.display());
    }
}
