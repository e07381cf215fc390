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
pub mod links;
pub mod model;
pub mod ops;
pub mod placement;
pub mod rest;
pub mod satellites;
pub mod store;
pub mod view;

use linstor_api::consts::*;
use linstor_api::{ApiCallRc, ApiCallRcList};
use model::{state_from_rows, State, Txn};
use satellites::{SyncOutcome, TouchedNodes};
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
    pub satellites: satellites::Satellites,
    /// The network connections to remote satellites (see [`links`]).
    pub connections: links::Connections,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot open the controller database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot load the controller database: {0}")]
    Load(String),
}

impl Controller {
    /// Opens the controller on the SQLite database in `data_dir`, creating both if needed.
    pub fn open(data_dir: &Path) -> Result<Arc<Controller>, OpenError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| OpenError::DataDir { path: data_dir.display().to_string(), source })?;
        Controller::with_store(Box::new(SqliteStore::open(&data_dir.join(DATABASE_FILE))?))
    }

    /// Opens the controller on any store; a new store gets LINSTOR's initial objects.
    pub fn with_store(mut store: Box<dyn Store>) -> Result<Arc<Controller>, OpenError> {
        let state = state_from_rows(store.load()?).map_err(OpenError::Load)?;
        let controller = Arc::new(Controller {
            state: RwLock::new(Arc::new(state)),
            store: Mutex::new(store),
            satellites: Default::default(),
            connections: Default::default(),
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
        Arc::clone(&self.state.read().unwrap_or_else(|poison| poison.into_inner()))
    }

    /// Runs `op` as one transaction: on `Ok` the changes are stored and published, on `Err`
    /// (or when storing fails) nothing changes.
    pub fn write<T>(&self, op: impl FnOnce(&mut Txn) -> Result<T, ApiCallRc>) -> Result<T, ApiCallRc> {
        self.write_tracked(op).map(|(answer, _)| answer)
    }

    /// Like [`Controller::write`], also telling which nodes' desired state changed.
    pub fn write_tracked<T>(
        &self,
        op: impl FnOnce(&mut Txn) -> Result<T, ApiCallRc>,
    ) -> Result<(T, TouchedNodes), ApiCallRc> {
        let mut store = self.store.lock().unwrap_or_else(|poison| poison.into_inner());
        let mut txn = Txn::new((*self.state()).clone());
        let answer = op(&mut txn)?;
        let touched = txn.touched_nodes().clone();
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
                ApiCallRc::new(FAIL_SQL, "The change could not be stored; nothing was changed.")
                    .with_cause(err.to_string())
            })?;
        }
        *self.state.write().unwrap_or_else(|poison| poison.into_inner()) = Arc::new(state);
        Ok((answer, touched))
    }

    /// Runs `op` as one transaction, then brings the satellites of every node it concerns up
    /// to date, adding their warnings (node not connected) and errors to the answer.
    pub async fn write_and_sync(
        &self,
        op: impl FnOnce(&mut Txn) -> Result<ApiCallRcList, ApiCallRc>,
    ) -> ApiCallRcList {
        match self.write_tracked(op) {
            Ok((mut answer, touched)) => {
                answer.extend(self.sync_nodes(&touched).await);
                answer
            }
            Err(err) => vec![err],
        }
    }

    /// Pushes the desired state to each node in `nodes`, concurrently.
    pub async fn sync_nodes(&self, nodes: &TouchedNodes) -> ApiCallRcList {
        let syncs = nodes
            .iter()
            .map(|node| async move { (node, self.satellites.sync(node, || self.state(), false).await) });
        let outcomes = futures_util::future::join_all(syncs).await;
        let state = self.state();
        let mut answer = Vec::new();
        for (node, outcome) in outcomes {
            let name = state.nodes.get(node).map_or_else(|| node.to_string(), |n| n.name.clone());
            match outcome {
                SyncOutcome::Applied => {}
                SyncOutcome::NotConnected => answer.push(
                    ApiCallRc::new(
                        WARN_NOT_CONNECTED | MASK_NODE,
                        format!("No active connection to satellite '{name}'."),
                    )
                    .with_details("The change is applied when the satellite connects again."),
                ),
                SyncOutcome::Failed(message) => answer.push(
                    ApiCallRc::new(
                        WARN_STLT_NOT_UPDATED | MASK_NODE,
                        format!("Satellite '{name}' could not apply the change."),
                    )
                    .with_cause(message),
                ),
            }
        }
        answer
    }

    /// Whether `node`'s satellite is connected.
    pub fn is_online(&self, node: &linstor_api::names::NameKey) -> bool {
        self.satellites.is_online(node)
    }

    /// Like [`Controller::write`] for operations that answer with a list of ret codes.
    pub fn write_answer(
        &self,
        op: impl FnOnce(&mut Txn) -> Result<ApiCallRcList, ApiCallRc>,
    ) -> ApiCallRcList {
        self.write(op).unwrap_or_else(|err| vec![err])
    }
}
