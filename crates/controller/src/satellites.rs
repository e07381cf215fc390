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

    /// Whether the link still reaches its satellite. A network link that lost its connection
    /// answers `false` at once, so that calls treat the node as not connected.
    fn is_connected(&self) -> bool {
        true
    }
}

/// The longest a node may take to converge before the call answers without it.
pub const APPLY_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Default)]
pub struct Satellites {
    links: RwLock<HashMap<NameKey, Arc<dyn SatelliteLink>>>,
    observed: RwLock<HashMap<NameKey, Report>>,
    /// One lock per node, so that applies to a node never interleave and each one carries a
    /// state at least as new as the one before.
    node_locks: Mutex<HashMap<NameKey, Arc<tokio::sync::Mutex<()>>>>,
    generation: AtomicU64,
}

/// Where each volume is in a node's report: resource → (volume number, index in
/// [`Observed::volumes`]). Built once per report, so views look volumes up in O(1).
pub type VolumeIndex = HashMap<NameKey, Vec<(i32, usize)>>;

/// A node's last report with its volume index.
#[derive(Clone)]
struct Report {
    observed: Arc<Observed>,
    volumes: Arc<VolumeIndex>,
}

impl Report {
    fn new(observed: Observed) -> Report {
        let mut volumes = VolumeIndex::new();
        for (i, v) in observed.volumes.iter().enumerate() {
            volumes.entry(NameKey::new(&v.resource)).or_default().push((v.volume_number, i));
        }
        Report { observed: Arc::new(observed), volumes: Arc::new(volumes) }
    }
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

    /// Detaches `link` from `node` if it is still the node's link (a newer one stays).
    pub fn detach_link(&self, node: &NameKey, link: &Arc<dyn SatelliteLink>) {
        let mut links = self.links.write().unwrap_or_else(|p| p.into_inner());
        if links.get(node).is_some_and(|current| Arc::ptr_eq(current, link)) {
            links.remove(node);
            self.observed.write().unwrap_or_else(|p| p.into_inner()).remove(node);
        }
    }

    fn link(&self, node: &NameKey) -> Option<Arc<dyn SatelliteLink>> {
        self.links.read().unwrap_or_else(|p| p.into_inner()).get(node).cloned()
    }

    /// Whether the node has a link at all (connected or not).
    pub fn has_link(&self, node: &NameKey) -> bool {
        self.link(node).is_some()
    }

    /// Whether the node has a link that still reaches its satellite.
    pub fn is_connected(&self, node: &NameKey) -> bool {
        self.link(node).is_some_and(|link| link.is_connected())
    }

    /// Whether the node has a connected link that answered its last apply.
    pub fn is_online(&self, node: &NameKey) -> bool {
        self.link(node).is_some_and(|link| link.is_connected()) && self.observed(node).is_some()
    }

    pub fn observed(&self, node: &NameKey) -> Option<Arc<Observed>> {
        self.observed.read().unwrap_or_else(|p| p.into_inner()).get(node).map(|r| Arc::clone(&r.observed))
    }

    /// The node's last report with the index of its volumes.
    pub fn observed_indexed(&self, node: &NameKey) -> Option<(Arc<Observed>, Arc<VolumeIndex>)> {
        let reports = self.observed.read().unwrap_or_else(|p| p.into_inner());
        reports.get(node).map(|r| (Arc::clone(&r.observed), Arc::clone(&r.volumes)))
    }

    fn node_lock(&self, node: &NameKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.node_locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(node.clone()).or_default())
    }

    /// Pushes the current desired state of `node` (from `state()`, read under the node's lock)
    /// and records what the node reports. A full sync has the node check everything; otherwise
    /// it may take what it verified before and did not change through a quick check.
    pub async fn sync(&self, node: &NameKey, state: impl Fn() -> Arc<State>, full: bool) -> SyncOutcome {
        let Some(link) = self.link(node).filter(|link| link.is_connected()) else {
            return SyncOutcome::NotConnected;
        };
        let lock = self.node_lock(node);
        let _guard = lock.lock().await;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let started = std::time::Instant::now();
        let desired = DesiredState { incremental: !full, ..desired_state(&state(), node, generation) };
        let answer = tokio::time::timeout(APPLY_TIMEOUT, link.apply(desired)).await;
        tracing::debug!("apply to {node}: {:.2} ms", started.elapsed().as_secs_f64() * 1000.0);
        match answer {
            Ok(Ok(observed)) => {
                self.observed
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(node.clone(), Report::new(observed));
                SyncOutcome::Applied
            }
            Ok(Err(message)) => {
                self.observed.write().unwrap_or_else(|p| p.into_inner()).remove(node);
                if link.is_connected() {
                    SyncOutcome::Failed(message)
                } else {
                    // The connection dropped during the apply: the node is gone, not failing.
                    self.detach_link(node, &link);
                    SyncOutcome::NotConnected
                }
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
                source: crate::ops::snapshots::source_spec(state, node, vd.volume_number, volume),
            });
        }
    }
    let (snapshots, rollbacks) = crate::ops::snapshots::desired_snapshot_work(state, node);
    DesiredState { node_name, generation, storage_pools, volumes, snapshots, rollbacks, incremental: false }
}

/// Nodes whose desired state a set of changed objects concerns.
pub type TouchedNodes = BTreeSet<NameKey>;
