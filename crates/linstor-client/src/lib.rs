//! An async client of the LINSTOR REST API v1, for Strand's controller and LINBIT's alike.
//!
//! ```no_run
//! # async fn demo() -> Result<(), linstor_client::Error> {
//! use linstor_client::{Client, ListOpts};
//! let client = Client::builder()
//!     .controllers_str("linstor://ctrl-a,ctrl-b:3370")
//!     .build()?;
//! let version = client.controller_version().await?;
//! let rds = client
//!     .resource_definition_list(&ListOpts::new().prop("Aux/Incus/name=vol1"))
//!     .await?;
//! # let _ = (version, rds);
//! # Ok(())
//! # }
//! ```
//!
//! - **Controllers**: one or more addresses ([`ControllerUrl`]); when a controller cannot be
//!   connected to, the next one is tried, and the one that answered is tried first next time.
//!   A request that reached a controller is never re-sent elsewhere.
//! - **TLS**: a CA, a client certificate and key, in any combination ([`TlsOptions`]), over
//!   rustls with the `ring` provider. **Auth**: a bearer token, or LINSTOR's token file.
//! - **Timeouts**: a connect timeout per controller and a timeout for the whole call; no call
//!   waits forever.
//! - **Errors** ([`Error`]): not found (HTTP 404), a list of ApiCallRc with at least one error
//!   (also when the status is 2xx), transport (saying which controllers were tried), decode.
//!   Mutations return the whole ApiCallRc list on success, warnings included.
//! - **Decoding** tolerates unknown fields and unknown layer, provider or flag names: they are
//!   strings, or raw JSON, in `linstor-api`.
//!
//! Calls are methods of [`Client`], grouped by object in the modules `nodes`, `storage`,
//! `groups`, `definitions`, `resources`, `snapshots` and `controller`.

mod client;
mod controller;
mod definitions;
pub mod error;
mod groups;
mod nodes;
mod query;
mod resources;
mod snapshots;
mod storage;
pub mod tls;
pub mod url;

pub use client::{
    read_token_file, Client, ClientBuilder, Method, RawAnswer, DEFAULT_CONNECT_TIMEOUT, DEFAULT_CONTROLLER,
    DEFAULT_TIMEOUT, DEFAULT_TOKEN_FILE,
};
pub use error::{Error, TransportKind};
pub use query::ListOpts;
pub use tls::{Pem, TlsOptions};
pub use url::{ControllerUrl, Scheme};
