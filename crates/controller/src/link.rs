//! The controller ↔ satellite protocol: what the controller wants a node to hold, and what the
//! node reports back. Plain serde types, carried in-process by `strand up` and as JSON over TCP
//! to remote satellites.
//!
//! The controller always sends a node's *whole* desired state; the satellite converges to it
//! (creating, resizing and removing what differs) and answers with everything it observes.
//! Both directions are idempotent, so a lost message is repaired by the next one.

use serde::{Deserialize, Serialize};

/// Everything one node should hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DesiredState {
    /// The LINSTOR node name the satellite serves.
    pub node_name: String,
    /// Increases with every change the controller makes; echoed back in [`Observed`].
    pub generation: u64,
    pub storage_pools: Vec<PoolSpec>,
    pub volumes: Vec<VolumeSpec>,
}

/// A storage pool with a backing store on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSpec {
    pub name: String,
    /// LINSTOR provider kind, upper case (`FILE`, `FILE_THIN`, `DISKLESS`, `LVM`, ...).
    pub provider_kind: String,
    /// `StorDriver/StorPoolName`: the directory of FILE pools, the VG of LVM pools, ...
    pub backing: String,
}

/// One volume of one resource on this node (STORAGE layer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeSpec {
    pub resource: String,
    pub volume_number: i32,
    /// The storage pool holding the volume.
    pub pool: String,
    /// Size the block device must have, in KiB.
    pub size_kib: i64,
}

/// What a node reports after converging (or when asked).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub node_name: String,
    /// The generation of the desired state this report answers.
    pub generation: u64,
    /// Provider kinds this node can serve, and why others are not available.
    pub providers: Vec<String>,
    pub unsupported_providers: Vec<(String, String)>,
    /// Layer kinds this node can serve (`STORAGE`, and `DRBD` where DRBD 9 is loaded), and why
    /// others are not available.
    pub layers: Vec<String>,
    pub unsupported_layers: Vec<(String, String)>,
    pub storage_pools: Vec<PoolReport>,
    pub volumes: Vec<VolumeReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolReport {
    pub name: String,
    pub total_capacity_kib: i64,
    pub free_capacity_kib: i64,
    /// Whether snapshots (reflink copies for FILE pools) work in this pool.
    pub supports_snapshots: bool,
    /// Set when the pool cannot be used; the message says why and how to fix it.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeReport {
    pub resource: String,
    pub volume_number: i32,
    pub pool: String,
    /// The block device, e.g. `/dev/loop3`.
    pub device_path: Option<String>,
    /// A path that stays the same across restarts: `/dev/strand/<rsc>/<vlmnr>`.
    pub stable_path: Option<String>,
    pub allocated_size_kib: i64,
    pub usable_size_kib: i64,
    /// `UpToDate` when the device is attached at its size, `Failed` otherwise.
    pub disk_state: String,
    /// Whether the device is open (mounted, or held by a process).
    pub in_use: bool,
    /// Set when the volume could not be brought to its desired state.
    pub error: Option<String>,
}
