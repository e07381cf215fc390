//! The controller ↔ satellite protocol: what the controller wants a node to hold, and what the
//! node reports back. Plain serde types, carried in-process by `strand up` and as JSON over TCP
//! to remote satellites.
//!
//! The controller always sends a node's *whole* desired state; the satellite converges to it
//! (creating, resizing and removing what differs) and answers with everything it observes.
//! Both directions are idempotent, so a lost message is repaired by the next one. Whether the
//! satellite re-checks everything or only what changed is a matter of cost, not of meaning
//! ([`DesiredState::incremental`]).

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
    /// Snapshots this node must hold (see [`SnapshotSpec`]); snapshot files of others are
    /// removed.
    #[serde(default)]
    pub snapshots: Vec<SnapshotSpec>,
    /// One-shot rollbacks of volumes to snapshots: each id is executed at most once and
    /// answered in [`Observed::ops`] for as long as it stays in the desired state.
    #[serde(default)]
    pub rollbacks: Vec<RollbackSpec>,
    /// Sent with the changes of a call: the satellite may take volumes whose spec is the one
    /// it verified last time through a quick check instead of the whole convergence. Unset on
    /// a full sync (connect, reconnect): everything is checked and swept.
    #[serde(default)]
    pub incremental: bool,
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
    /// Where the data of a *new* volume comes from (restore, clone). Used only when the
    /// volume's file does not exist yet; an existing volume is never overwritten from it.
    #[serde(default)]
    pub source: Option<VolumeSource>,
}

/// The data a new volume starts with: a copy (reflink where the filesystem can) of a snapshot
/// or of another volume, both on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum VolumeSource {
    /// Volume `volume_number` of snapshot `snapshot` of resource `resource`, in `pool`.
    Snapshot { resource: String, snapshot: String, pool: String },
    /// The same volume number of resource `resource`, in `pool`.
    Volume { resource: String, pool: String },
}

/// One volume of one snapshot on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSpec {
    pub resource: String,
    pub snapshot: String,
    pub volume_number: i32,
    /// The pool of the volume the snapshot is (or was) taken from; its file lives there.
    pub pool: String,
    /// Take it now if it does not exist (the controller is waiting for it). Without `take`, a
    /// missing snapshot is reported missing and never re-taken from the volume's current data.
    #[serde(default)]
    pub take: bool,
}

/// Roll one volume back to one of its snapshots (any of them; newer ones are kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackSpec {
    pub id: String,
    pub resource: String,
    pub volume_number: i32,
    pub pool: String,
    pub snapshot: String,
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
    /// Every desired snapshot, in the order asked.
    #[serde(default)]
    pub snapshots: Vec<SnapshotReport>,
    /// The outcome of every one-shot operation of the desired state that has run.
    #[serde(default)]
    pub ops: Vec<OpResult>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotReport {
    pub resource: String,
    pub snapshot: String,
    pub volume_number: i32,
    pub pool: String,
    /// The snapshot's file exists.
    pub exists: bool,
    pub size_kib: i64,
    /// Set when the snapshot could not be taken, or is missing.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpResult {
    pub id: String,
    /// `None` when the operation succeeded.
    pub error: Option<String>,
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
    /// The volume's data is still being copied from its source (no reflink): no device yet.
    #[serde(default)]
    pub cloning: bool,
}

pub mod frame;

/// The version of the message set below. A satellite refuses a controller that speaks another
/// version (LINSTOR: `VERSION_MISMATCH`).
pub const PROTOCOL_VERSION: u32 = 1;

/// The TCP port satellites listen on by default (LINSTOR's plain satellite port).
pub const DEFAULT_PORT: u16 = 3366;

/// A controller → satellite message, with the id its answer carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToSatellite {
    pub id: u64,
    pub msg: ControllerMessage,
}

/// A satellite → controller message; `id` is the id of the request it answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToController {
    pub id: u64,
    pub msg: SatelliteMessage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "body")]
pub enum ControllerMessage {
    /// First message on a connection. `node_name` is the node the controller believes it
    /// reaches; the satellite refuses if it serves another.
    Hello { controller_id: String, protocol_version: u32, node_name: String },
    /// Converge to this whole desired state; answered with `Observed` (or `Error`).
    Apply(DesiredState),
    /// Liveness check; answered with `Pong`.
    Ping,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "body")]
pub enum SatelliteMessage {
    /// The handshake succeeded; the connection is this controller's.
    Welcome {
        node_name: String,
        protocol_version: u32,
    },
    /// Another controller holds this satellite (LINSTOR: `OTHER_CONTROLLER`).
    Busy {
        controller_id: String,
    },
    /// The controller asked for another node (LINSTOR: `HOSTNAME_MISMATCH`).
    WrongNode {
        node_name: String,
    },
    /// The controller speaks another protocol version (LINSTOR: `VERSION_MISMATCH`).
    VersionMismatch {
        protocol_version: u32,
    },
    Observed(Observed),
    Pong,
    /// The request could not be served; the text says why.
    Error(String),
}
