//! Strand's LINSTOR-compatible controller.
//!
//! The whole desired state lives in memory ([`model::State`]). Every API call that changes it
//! runs as one [`model::Txn`] on a private copy: the objects it touched are written to the
//! [`store::Store`] in one transaction, and only then is the copy published to readers. A call
//! that fails, or whose commit fails, changes nothing.

// An error here is the API answer itself (an ApiCallRc), made at most once per call: boxing it
// would only add noise.
#![allow(clippy::result_large_err)]

pub mod link;
pub mod model;
pub mod ops;
pub mod rest;
pub mod store;
pub mod view;

use linstor_api::consts::*;
use linstor_api::{ApiCallRc, ApiCallRcList};
use model::{state_from_rows, State, Txn};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use store::{Change, SqliteStore, Store, StoreError};

/// Strand's own version, reported as the controller `version` so clients can tell it apart.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The database file of the controller inside its data directory.
pub const DATABASE_FILE: &str = "controller.db";

pub struct Controller {
    state: RwLock<Arc<State>>,
    store: Mutex<Box<dyn Store>>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the controller database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot load the controller database: {0}")]
    Load(String),
}

impl Controller {
    /// Opens the controller on the SQLite database in `data_dir`, creating both if needed.
    pub fn open(data_dir: &Path) -> Result<Arc<Controller>, OpenError> {
        std::fs::create_dir_all(data_dir).map_err(|source| OpenError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        Controller::with_store(Box::new(SqliteStore::open(&data_dir.join(DATABASE_FILE))?))
    }

    /// Opens the controller on any store; a new store gets LINSTOR's initial objects.
    pub fn with_store(mut store: Box<dyn Store>) -> Result<Arc<Controller>, OpenError> {
        let state = state_from_rows(store.load()?).map_err(OpenError::Load)?;
        let controller = Arc::new(Controller {
            state: RwLock::new(Arc::new(state)),
            store: Mutex::new(store),
        });
        controller
            .write(|txn| {
                ops::seed::initial_objects(txn);
                Ok(())
            })
            .map_err(|rc| OpenError::Load(rc.message))?;
        Ok(controller)
    }

    /// A consistent snapshot of the whole state, for reads.
    pub fn state(&self) -> Arc<State> {
        Arc::clone(
            &self
                .state
                .read()
                .unwrap_or_else(|poison| poison.into_inner()),
        )
    }

    /// Runs `op` as one transaction: on `Ok` the changes are stored and published, on `Err`
    /// (or when storing fails) nothing changes.
    pub fn write<T>(
        &self,
        op: impl FnOnce(&mut Txn) -> Result<T, ApiCallRc>,
    ) -> Result<T, ApiCallRc> {
        let mut store = self
            .store
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let mut txn = Txn::new((*self.state()).clone());
        let answer = op(&mut txn)?;
        let (state, dirty) = txn.into_parts();
        let changes: Vec<Change> = dirty
            .iter()
            .map(|obj| {
                let (kind, key) = obj.store_key();
                match obj.body(&state) {
                    Some(body) => Change::Put { kind, key, body },
                    None => Change::Delete { kind, key },
                }
            })
            .collect();
        if !changes.is_empty() {
            store.apply(&changes).map_err(|err| {
                tracing::error!("commit failed: {err}");
                ApiCallRc::new(
                    FAIL_SQL,
                    "The change could not be stored; nothing was changed.",
                )
                .with_cause(err.to_string())
            })?;
        }
        *self
            .state
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = Arc::new(state);
        Ok(answer)
    }

    /// Like [`Controller::write`] for operations that answer with a list of ret codes.
    pub fn write_answer(
        &self,
        op: impl FnOnce(&mut Txn) -> Result<ApiCallRcList, ApiCallRc>,
    ) -> ApiCallRcList {
        self.write(op).unwrap_or_else(|err| vec![err])
    }
}
