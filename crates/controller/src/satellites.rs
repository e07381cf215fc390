//! The controller's side of its satellites: one link per node, what each node last reported,
//! and pushing a node's desired state after every change that concerns it.

use crate::link::{DesiredState, Observed, PoolSpec, VolumeSpec};
use crate::model::State;
use linstor_api::names::NameKey;
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How a satellite is reached: in-process for `strand up`, over TCP for remote nodes.
pub trait SatelliteLink: Send + Sync {
    /// Sends the node's whole desired state; resolves to what the node observes afterwards.
    fn apply(&self, desired: DesiredState) -> BoxFuture<Result<Observed, String>>;
}

/// The longest a node may take to converge before the call answers without it.
pub const APPLY_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Default)]
pub struct Satellites {
    links: RwLock<HashMap<NameKey, Arc<dyn SatelliteLink>>>,
    observed: RwLock<HashMap<NameKey, Arc<Observed>>>,
    /// One lock per node, so that applies to a node never interleave and each one carries a
    /// state at least as new as the one before.
    node_locks: Mutex<HashMap<NameKey, Arc<tokio::sync::Mutex<()>>>>,
    generation: AtomicU64,
}

/// The outcome of pushing desired state to one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    Applied,
    NotConnected,
    Failed(String),
}

impl Satellites {
    pub fn attach(&self, node: NameKey, link: Arc<dyn SatelliteLink>) {
        self.links.write().unwrap_or_else(|p| p.into_inner()).insert(node, link);
    }

    pub fn detach(&self, node: &NameKey) {
        self.links.write().unwrap_or_else(|p| p.into_inner()).remove(node);
        self.observed.write().unwrap_or_else(|p| p.into_inner()).remove(node);
    }

    fn link(&self, node: &NameKey) -> Option<Arc<dyn SatelliteLink>> {
        self.links.read().unwrap_or_else(|p| p.into_inner()).get(node).cloned()
    }

    /// Whether the node has a link that answered its last apply.
    pub fn is_online(&self, node: &NameKey) -> bool {
        self.link(node).is_some() && self.observed(node).is_some()
    }

    pub fn observed(&self, node: &NameKey) -> Option<Arc<Observed>> {
        self.observed.read().unwrap_or_else(|p| p.into_inner()).get(node).cloned()
    }

    fn node_lock(&self, node: &NameKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.node_locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(node.clone()).or_default())
    }

    /// Pushes the current desired state of `node` (from `state()`, read under the node's lock)
    /// and records what the node reports.
    pub async fn sync(&self, node: &NameKey, state: impl Fn() -> Arc<State>) -> SyncOutcome {
        let Some(link) = self.link(node) else { return SyncOutcome::NotConnected };
        let lock = self.node_lock(node);
        let _guard = lock.lock().await;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let desired = desired_state(&state(), node, generation);
        match tokio::time::timeout(APPLY_TIMEOUT, link.apply(desired)).await {
            Ok(Ok(observed)) => {
                self.observed
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(node.clone(), Arc::new(observed));
                SyncOutcome::Applied
            }
            Ok(Err(message)) => {
                self.observed.write().unwrap_or_else(|p| p.into_inner()).remove(node);
                SyncOutcome::Failed(message)
            }
            Err(_) => SyncOutcome::Failed(format!("no answer within {} s", APPLY_TIMEOUT.as_secs())),
        }
    }
}

/// Everything `node` should hold according to `state`.
pub fn desired_state(state: &State, node: &NameKey, generation: u64) -> DesiredState {
    let node_name = state.nodes.get(node).map_or_else(|| node.to_string(), |n| n.name.clone());
    let storage_pools = state
        .storage_pools_of(node)
        .map(|pool| PoolSpec {
            name: pool.name.clone(),
            provider_kind: pool.provider_kind.as_str().to_string(),
            backing: pool.props.get(crate::ops::storage::KEY_STOR_POOL_NAME).cloned().unwrap_or_default(),
        })
        .collect();
    let mut volumes = Vec::new();
    for resource in state.resources_on(node).filter(|r| !r.is_diskless()) {
        let Some(rd) = state.resource_definition(&resource.name) else { continue };
        for vd in &rd.volume_definitions {
            let Some(volume) = resource.volumes.iter().find(|v| v.volume_number == vd.volume_number) else {
                continue;
            };
            volumes.push(VolumeSpec {
                resource: rd.name.clone(),
                volume_number: vd.volume_number,
                pool: volume.storage_pool.clone(),
                size_kib: vd.size_kib,
            });
        }
    }
    DesiredState { node_name, generation, storage_pools, volumes }
}

/// Nodes whose desired state a set of changed objects concerns.
pub type TouchedNodes = BTreeSet<NameKey>;
