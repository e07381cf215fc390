//! Results that say whether anything changed, in the style of stratisd: every side-effecting
//! call answers "it was already so" or "I made it so", which makes idempotence testable and
//! lets convergence log exactly what it did.

use std::fmt;

/// Result of an "ensure it exists" call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateAction<T> {
    /// It existed already; nothing was done.
    Existed(T),
    /// It was created.
    Created(T),
}

impl<T> CreateAction<T> {
    pub fn changed(&self) -> bool {
        matches!(self, CreateAction::Created(_))
    }
    pub fn into_inner(self) -> T {
        match self {
            CreateAction::Existed(t) | CreateAction::Created(t) => t,
        }
    }
}

/// Result of an "ensure it is gone" call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteAction {
    /// It was not there.
    Absent,
    /// It was removed.
    Deleted,
}

impl DeleteAction {
    pub fn changed(self) -> bool {
        self == DeleteAction::Deleted
    }
}

/// Result of an "ensure it has this value" call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetAction {
    Unchanged,
    Changed,
}

impl SetAction {
    pub fn changed(self) -> bool {
        self == SetAction::Changed
    }
}

/// One thing that [`crate::Satellite::converge`] changed on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `pool <name>`, `volume <rsc>/<vlmnr>`, or a path for housekeeping.
    pub subject: String,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    PoolDirCreated,
    VolumeCreated {
        size_kib: i64,
    },
    VolumeResized {
        from_kib: i64,
        to_kib: i64,
    },
    Attached {
        device: String,
    },
    CapacityRefreshed {
        device: String,
    },
    /// A loop device found again was marked for automatic detach; the mark was removed.
    AutoclearCleared {
        device: String,
    },
    Linked {
        device: String,
    },
    VolumeDeleted,
    /// A loop device in a pool directory whose backing file is gone or is attached twice.
    LoopDetached {
        device: String,
    },
    StaleTempRemoved,
    StaleLinkRemoved,
    /// A snapshot file was made from its volume.
    SnapshotTaken,
    /// A snapshot file that is no longer desired was removed.
    SnapshotDeleted,
    /// The volume's data was replaced by a snapshot's.
    RolledBack {
        snapshot: String,
    },
    /// A new volume was made by reflink from a snapshot or another volume.
    MadeFrom {
        source: String,
    },
    /// A new volume is being copied from its source in the background (no reflink).
    CopyStarted {
        source: String,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.subject;
        match &self.kind {
            ChangeKind::PoolDirCreated => write!(f, "{s}: directory created"),
            ChangeKind::VolumeCreated { size_kib } => write!(f, "{s}: created ({size_kib} KiB)"),
            ChangeKind::VolumeResized { from_kib, to_kib } => {
                write!(f, "{s}: resized from {from_kib} KiB to {to_kib} KiB")
            }
            ChangeKind::Attached { device } => write!(f, "{s}: attached as {device}"),
            ChangeKind::CapacityRefreshed { device } => write!(f, "{s}: capacity of {device} refreshed"),
            ChangeKind::AutoclearCleared { device } => write!(f, "{s}: autoclear removed from {device}"),
            ChangeKind::Linked { device } => write!(f, "{s}: stable path now points to {device}"),
            ChangeKind::VolumeDeleted => write!(f, "{s}: deleted"),
            ChangeKind::LoopDetached { device } => write!(f, "{s}: detached {device}"),
            ChangeKind::StaleTempRemoved => write!(f, "{s}: stale temporary file removed"),
            ChangeKind::StaleLinkRemoved => write!(f, "{s}: stale link removed"),
            ChangeKind::SnapshotTaken => write!(f, "{s}: taken"),
            ChangeKind::SnapshotDeleted => write!(f, "{s}: deleted"),
            ChangeKind::RolledBack { snapshot } => write!(f, "{s}: rolled back to snapshot {snapshot}"),
            ChangeKind::MadeFrom { source } => write!(f, "{s}: made from {source} by reflink"),
            ChangeKind::CopyStarted { source } => write!(f, "{s}: copying from {source} in the background"),
        }
    }
}
