//! The controller's desired state: every LINSTOR object, keyed by case-folded name, in
//! persistent maps (`imbl`) so that a transaction works on an O(1) copy and readers always see
//! a consistent snapshot.

mod objects;
mod prop_index;
mod txn;

pub use objects::*;
pub use prop_index::{PropFilter, PropIndex};
pub use txn::{state_from_rows, ObjRef, Txn};

use imbl::{OrdMap, OrdSet};
use linstor_api::names::NameKey;
use linstor_api::Props;

/// Key of an object tied to a node: (node, pool) for storage pools, (resource, node) for
/// resources.
pub type NodeScoped = (NameKey, NameKey);

#[derive(Debug, Clone, Default)]
pub struct State {
    pub controller_props: Props,
    pub nodes: OrdMap<NameKey, Node>,
    pub storage_pool_definitions: OrdMap<NameKey, StoragePoolDefinition>,
    /// Keyed by (node, storage pool).
    pub storage_pools: OrdMap<NodeScoped, StoragePool>,
    pub resource_groups: OrdMap<NameKey, ResourceGroup>,
    pub resource_definitions: OrdMap<NameKey, ResourceDefinition>,
    pub key_value_stores: OrdMap<NameKey, KeyValueStore>,
    /// Keyed by (resource definition, node).
    pub resources: OrdMap<NodeScoped, Resource>,
    /// Keyed by (resource definition, snapshot).
    pub snapshot_definitions: OrdMap<(NameKey, NameKey), SnapshotDefinition>,
    /// Volatile: satellite work that API calls are waiting for. Never stored, so it is empty
    /// after a restart (a snapshot is then never re-taken, a rollback never re-run).
    pub pending: Pending,
    /// Derived: resource definitions by their own props, for props-filtered lookups.
    pub rd_props: PropIndex,
    /// Derived: DRBD minor numbers in use by volume definitions.
    pub minors: OrdSet<i32>,
}

/// One-shot satellite work in flight (see [`State::pending`]).
#[derive(Debug, Clone, Default)]
pub struct Pending {
    /// Snapshots to take now, as (resource definition, snapshot, node).
    pub takes: OrdSet<(NameKey, NameKey, NameKey)>,
    /// Rollbacks by (resource definition, node).
    pub rollbacks: OrdMap<(NameKey, NameKey), PendingRollback>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRollback {
    /// Answered by the satellite under this id.
    pub id: String,
    pub snapshot: String,
}

impl State {
    /// The snapshot definitions of one resource definition, in name order.
    pub fn snapshots_of<'a>(&'a self, rd: &'a NameKey) -> impl Iterator<Item = &'a SnapshotDefinition> + 'a {
        let from = (rd.clone(), NameKey::new(""));
        self.snapshot_definitions.range(from..).take_while(move |((r, _), _)| r == rd).map(|(_, s)| s)
    }
    pub fn snapshot_definition(&self, rd: &str, snapshot: &str) -> Option<&SnapshotDefinition> {
        self.snapshot_definitions.get(&(NameKey::new(rd), NameKey::new(snapshot)))
    }
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(&NameKey::new(name))
    }
    pub fn resource_group(&self, name: &str) -> Option<&ResourceGroup> {
        self.resource_groups.get(&NameKey::new(name))
    }
    pub fn resource_definition(&self, name: &str) -> Option<&ResourceDefinition> {
        self.resource_definitions.get(&NameKey::new(name))
    }
    pub fn storage_pool(&self, node: &str, pool: &str) -> Option<&StoragePool> {
        self.storage_pools.get(&(NameKey::new(node), NameKey::new(pool)))
    }
    pub fn resource(&self, rd: &str, node: &str) -> Option<&Resource> {
        self.resources.get(&(NameKey::new(rd), NameKey::new(node)))
    }
    /// The resources of one resource definition, in node order.
    pub fn resources_of<'a>(&'a self, rd: &'a NameKey) -> impl Iterator<Item = &'a Resource> + 'a {
        let from = (rd.clone(), NameKey::new(""));
        self.resources.range(from..).take_while(move |((r, _), _)| r == rd).map(|(_, r)| r)
    }
    /// The resources placed on one node.
    pub fn resources_on<'a>(&'a self, node: &'a NameKey) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.iter().filter(move |((_, n), _)| n == node).map(|(_, r)| r)
    }
    /// The storage pools of one node, in name order.
    pub fn storage_pools_of<'a>(&'a self, node: &'a NameKey) -> impl Iterator<Item = &'a StoragePool> + 'a {
        let from = (node.clone(), NameKey::new(""));
        self.storage_pools.range(from..).take_while(move |((n, _), _)| n == node).map(|(_, p)| p)
    }
}
