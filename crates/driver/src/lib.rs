//! The Incus `linstor` storage driver: Incus storage pools and volumes on LINSTOR resource
//! groups and resource definitions, over the LINSTOR client. Works against any LINSTOR
//! controller (Strand's or LINBIT's).
//!
//! ```text
//!   daemon (its own DB of pools and volumes)
//!     │  Driver::create_pool / open_pool ──▶ Pool
//!     │  Pool::create_volume, mount_volume, set_volume_size, list_volumes, ...
//!     ▼
//!   Driver ── linstor_client::Client ──▶ LINSTOR controller (REST v1)
//!     └────── HostOps (RealHost: mkfs, mount, resize2fs, blkid, ...) ──▶ this host
//! ```
//!
//! - **Pools** ([`Pool`]) are resource groups. [`Driver::create_pool`] creates or adopts the
//!   group and answers the config to keep; [`Driver::open_pool`] reopens a pool from that
//!   config; [`Driver::recover_pools`] finds pools back from their groups.
//! - **Volumes** ([`Volume`], identity [`VolumeId`]) are resource definitions named prefix +
//!   32 random hex characters, found by their `Aux/Incus/*` properties. Every operation is a
//!   method of the pool: create, delete, rename, update, mount, unmount, resize, usage, disk
//!   path, and [`Pool::list_volumes`] for recovery.
//! - **Host operations** go through one trait, [`HostOps`]; [`RealHost`] runs the real tools.
//! - **Errors** ([`Error`]) are one line each and name the key or object they are about.
//!
//! Module map: [`config`] (keys, defaults, validation, LINSTOR properties), [`volume`]
//! (identity, naming, volume numbers), [`size`] (sizes and durations), [`host`] (the host
//! trait), [`undo`] (the undo guard of multi-step operations), and private modules for the
//! pool, volume and recovery operations, the LINSTOR calls and the mount table.

pub mod config;
mod copy;
mod data;
mod driver;
pub mod error;
pub mod host;
mod linstor;
mod mounts;
mod placement;
mod pool;
mod recover;
pub mod schedule;
pub mod size;
mod snapshot_mount;
pub mod snapshots;
pub mod undo;
pub mod volume;
mod volumes;

pub use config::Config;
pub use copy::{CopyReport, COPY_DEADLINE};
pub use data::{DataFn, DataTarget};
pub use driver::{host_name, Driver, DriverInfo, DriverSettings, INFO};
pub use error::{Error, Result};
pub use host::{Filesystem, HostError, HostOps, RealHost};
pub use mounts::MountRefs;
pub use pool::{Pool, PoolResources, RecoveredPool};
pub use recover::{RecoveredVolume, VolumeList};
pub use snapshots::{Restored, SnapshotInfo, AUX_SNAPSHOT_MAP};
pub use volume::{ContentType, Volume, VolumeId, VolumeType};
pub use volumes::{Mounted, Unmounted};
