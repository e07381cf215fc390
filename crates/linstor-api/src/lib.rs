//! Wire model of the LINSTOR REST API v1 as Strand speaks it.
//!
//! Serde types for every object the API exchanges, the `ApiCallRc` envelope with its ret-code
//! bit layout, LINSTOR's name rules and its property whitelist. No I/O lives here: the
//! controller, the client and the driver all build on these types.

pub mod consts;
pub mod names;
pub mod props;
pub mod rc;
pub mod types;

pub use rc::{ApiCallRc, ApiCallRcList};
pub use types::*;

/// The REST API version Strand's controller implements and reports.
pub const REST_API_VERSION: &str = "1.28.0";
/// Default controller ports: plain HTTP and HTTPS.
pub const DEFAULT_HTTP_PORT: u16 = 3370;
pub const DEFAULT_HTTPS_PORT: u16 = 3371;
/// Default satellite port for plain connections, and for SSL.
pub const DEFAULT_SATELLITE_PORT: u16 = 3366;
pub const DEFAULT_SATELLITE_SSL_PORT: u16 = 3367;
/// Objects that exist from the start in every LINSTOR cluster.
pub const DEFAULT_RESOURCE_GROUP: &str = "DfltRscGrp";
pub const DEFAULT_STORAGE_POOL: &str = "DfltStorPool";
pub const DEFAULT_DISKLESS_STORAGE_POOL: &str = "DfltDisklessStorPool";
