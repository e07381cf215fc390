//! What the two binaries of this package share: `strand` (the CLIs) and `strandd` (the
//! services `strand up|controller|satellite|daemon` run).

/// The data directory of `strand up` and `strand controller` when none is given.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/strand";

/// The binary of the long-running services, next to `strand`.
pub const SERVICES_BINARY: &str = "strandd";
