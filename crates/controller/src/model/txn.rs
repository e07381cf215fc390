//! A transaction: a private copy of the state plus the set of objects it touched. Committing
//! writes exactly those objects to the store and then publishes the copy; dropping it undoes
//! everything, so a failed API call leaves no trace.

use super::*;
use std::collections::BTreeSet;

/// Identifies one persisted object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjRef {
    ControllerProps,
    Node(NameKey),
    StoragePoolDefinition(NameKey),
    StoragePool(NameKey, NameKey),
    ResourceGroup(NameKey),
    ResourceDefinition(NameKey),
    KeyValueStore(NameKey),
    /// (resource definition, node)
    Resource(NameKey, NameKey),
    /// (resource definition, snapshot)
    SnapshotDefinition(NameKey, NameKey),
}

impl ObjRef {
    /// The store's (kind, key) for this object.
    pub fn store_key(&self) -> (&'static str, String) {
        match self {
            ObjRef::ControllerProps => ("controller_props", String::new()),
            ObjRef::Node(n) => ("node", n.to_string()),
            ObjRef::StoragePoolDefinition(p) => ("storage_pool_definition", p.to_string()),
            ObjRef::StoragePool(n, p) => ("storage_pool", format!("{n}/{p}")),
            ObjRef::ResourceGroup(g) => ("resource_group", g.to_string()),
            ObjRef::ResourceDefinition(r) => ("resource_definition", r.to_string()),
            ObjRef::KeyValueStore(k) => ("key_value_store", k.to_string()),
            ObjRef::Resource(r, n) => ("resource", format!("{r}/{n}")),
            ObjRef::SnapshotDefinition(r, s) => ("snapshot_definition", format!("{r}/{s}")),
        }
    }

    /// The object's current JSON in `state`, or `None` when it no longer exists.
    pub fn body(&self, state: &State) -> Option<String> {
        match self {
            ObjRef::ControllerProps => to_json(Some(&state.controller_props)),
            ObjRef::Node(n) => to_json(state.nodes.get(n)),
            ObjRef::StoragePoolDefinition(p) => to_json(state.storage_pool_definitions.get(p)),
            ObjRef::StoragePool(n, p) => to_json(state.storage_pools.get(&(n.clone(), p.clone()))),
            ObjRef::ResourceGroup(g) => to_json(state.resource_groups.get(g)),
            ObjRef::ResourceDefinition(r) => to_json(state.resource_definitions.get(r)),
            ObjRef::KeyValueStore(k) => to_json(state.key_value_stores.get(k)),
            ObjRef::Resource(r, n) => to_json(state.resources.get(&(r.clone(), n.clone()))),
            ObjRef::SnapshotDefinition(r, s) => {
                to_json(state.snapshot_definitions.get(&(r.clone(), s.clone())))
            }
        }
    }
}

fn to_json<T: serde::Serialize>(object: Option<&T>) -> Option<String> {
    // Our objects are plain structs of strings, numbers and string-keyed maps: serializing
    // them cannot fail.
    object.map(|o| serde_json::to_string(o).unwrap_or_default())
}

pub struct Txn {
    state: State,
    dirty: BTreeSet<ObjRef>,
    /// Nodes whose desired state changed: their satellites must hear about it.
    touched_nodes: BTreeSet<NameKey>,
}

impl Txn {
    pub fn new(state: State) -> Txn {
        Txn { state, dirty: BTreeSet::new(), touched_nodes: BTreeSet::new() }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn into_parts(self) -> (State, BTreeSet<ObjRef>) {
        (self.state, self.dirty)
    }

    /// The nodes whose desired state this transaction changed.
    pub fn touched_nodes(&self) -> &BTreeSet<NameKey> {
        &self.touched_nodes
    }

    /// Marks a node as needing its satellite to hear the new state.
    pub fn touch_node(&mut self, node: NameKey) {
        self.touched_nodes.insert(node);
    }

    fn touch_nodes_of_rd(&mut self, rd: &NameKey) {
        let nodes: Vec<NameKey> = self.state.resources_of(rd).map(|r| NameKey::new(&r.node_name)).collect();
        self.touched_nodes.extend(nodes);
    }

    pub fn set_controller_props(&mut self, props: Props) {
        self.state.controller_props = props;
        self.dirty.insert(ObjRef::ControllerProps);
    }

    pub fn put_node(&mut self, node: Node) {
        let key = NameKey::new(&node.name);
        self.dirty.insert(ObjRef::Node(key.clone()));
        self.state.nodes.insert(key, node);
    }

    pub fn remove_node(&mut self, key: &NameKey) -> Option<Node> {
        self.dirty.insert(ObjRef::Node(key.clone()));
        self.state.nodes.remove(key)
    }

    pub fn put_storage_pool_definition(&mut self, spd: StoragePoolDefinition) {
        let key = NameKey::new(&spd.name);
        self.dirty.insert(ObjRef::StoragePoolDefinition(key.clone()));
        self.state.storage_pool_definitions.insert(key, spd);
    }

    pub fn remove_storage_pool_definition(&mut self, key: &NameKey) {
        self.dirty.insert(ObjRef::StoragePoolDefinition(key.clone()));
        self.state.storage_pool_definitions.remove(key);
    }

    pub fn put_storage_pool(&mut self, pool: StoragePool) {
        let key = (NameKey::new(&pool.node_name), NameKey::new(&pool.name));
        self.dirty.insert(ObjRef::StoragePool(key.0.clone(), key.1.clone()));
        self.touched_nodes.insert(key.0.clone());
        self.state.storage_pools.insert(key, pool);
    }

    pub fn remove_storage_pool(&mut self, node: &NameKey, pool: &NameKey) {
        self.dirty.insert(ObjRef::StoragePool(node.clone(), pool.clone()));
        self.touched_nodes.insert(node.clone());
        self.state.storage_pools.remove(&(node.clone(), pool.clone()));
    }

    pub fn put_resource_group(&mut self, group: ResourceGroup) {
        let key = NameKey::new(&group.name);
        self.dirty.insert(ObjRef::ResourceGroup(key.clone()));
        self.state.resource_groups.insert(key, group);
    }

    pub fn remove_resource_group(&mut self, key: &NameKey) {
        self.dirty.insert(ObjRef::ResourceGroup(key.clone()));
        self.state.resource_groups.remove(key);
    }

    pub fn put_resource_definition(&mut self, rd: ResourceDefinition) {
        let key = NameKey::new(&rd.name);
        self.dirty.insert(ObjRef::ResourceDefinition(key.clone()));
        let old = self.state.resource_definitions.insert(key.clone(), rd);
        let new = &self.state.resource_definitions[&key];
        index_rd_change(&mut self.state.rd_props, &mut self.state.minors, &key, old.as_ref(), Some(new));
        self.touch_nodes_of_rd(&key);
    }

    pub fn remove_resource_definition(&mut self, key: &NameKey) -> Option<ResourceDefinition> {
        self.dirty.insert(ObjRef::ResourceDefinition(key.clone()));
        self.touch_nodes_of_rd(key);
        let old = self.state.resource_definitions.remove(key);
        index_rd_change(&mut self.state.rd_props, &mut self.state.minors, key, old.as_ref(), None);
        old
    }

    pub fn put_resource(&mut self, resource: Resource) {
        let key = (NameKey::new(&resource.name), NameKey::new(&resource.node_name));
        self.dirty.insert(ObjRef::Resource(key.0.clone(), key.1.clone()));
        self.touched_nodes.insert(key.1.clone());
        self.state.resources.insert(key, resource);
    }

    pub fn remove_resource(&mut self, rd: &NameKey, node: &NameKey) -> Option<Resource> {
        self.dirty.insert(ObjRef::Resource(rd.clone(), node.clone()));
        self.touched_nodes.insert(node.clone());
        self.state.resources.remove(&(rd.clone(), node.clone()))
    }

    /// Adds or replaces a snapshot definition; the nodes it was and is on hear about it.
    pub fn put_snapshot_definition(&mut self, snapshot: SnapshotDefinition) {
        let key = (NameKey::new(&snapshot.resource), NameKey::new(&snapshot.name));
        self.dirty.insert(ObjRef::SnapshotDefinition(key.0.clone(), key.1.clone()));
        self.touched_nodes.extend(snapshot.snapshots.iter().map(|s| NameKey::new(&s.node_name)));
        if let Some(old) = self.state.snapshot_definitions.insert(key, snapshot) {
            self.touched_nodes.extend(old.snapshots.iter().map(|s| NameKey::new(&s.node_name)));
        }
    }

    pub fn remove_snapshot_definition(
        &mut self,
        rd: &NameKey,
        snapshot: &NameKey,
    ) -> Option<SnapshotDefinition> {
        self.dirty.insert(ObjRef::SnapshotDefinition(rd.clone(), snapshot.clone()));
        let old = self.state.snapshot_definitions.remove(&(rd.clone(), snapshot.clone()));
        if let Some(old) = &old {
            self.touched_nodes.extend(old.snapshots.iter().map(|s| NameKey::new(&s.node_name)));
        }
        old
    }

    /// Asks `node` to take snapshot `snapshot` of `rd` now (volatile, never stored).
    pub fn set_take(&mut self, rd: &NameKey, snapshot: &NameKey, node: &NameKey, take: bool) {
        let key = (rd.clone(), snapshot.clone(), node.clone());
        if take {
            self.state.pending.takes.insert(key);
        } else {
            self.state.pending.takes.remove(&key);
        }
        self.touched_nodes.insert(node.clone());
    }

    /// Asks `node` to roll the volumes of `rd` back (volatile, never stored); `None` forgets it.
    pub fn set_rollback(&mut self, rd: &NameKey, node: &NameKey, rollback: Option<PendingRollback>) {
        let key = (rd.clone(), node.clone());
        match rollback {
            Some(r) => {
                self.state.pending.rollbacks.insert(key, r);
            }
            None => {
                self.state.pending.rollbacks.remove(&key);
            }
        }
        self.touched_nodes.insert(node.clone());
    }

    pub fn put_key_value_store(&mut self, kvs: KeyValueStore) {
        let key = NameKey::new(&kvs.name);
        self.dirty.insert(ObjRef::KeyValueStore(key.clone()));
        self.state.key_value_stores.insert(key, kvs);
    }

    pub fn remove_key_value_store(&mut self, key: &NameKey) {
        self.dirty.insert(ObjRef::KeyValueStore(key.clone()));
        self.state.key_value_stores.remove(key);
    }
}

/// Keeps the derived RD indexes (props, minor numbers) in step with one RD's change.
fn index_rd_change(
    props: &mut PropIndex,
    minors: &mut OrdSet<i32>,
    key: &NameKey,
    old: Option<&ResourceDefinition>,
    new: Option<&ResourceDefinition>,
) {
    let empty = Props::new();
    props.update(key, old.map_or(&empty, |rd| &rd.props), new.map_or(&empty, |rd| &rd.props));
    for vd in old.map(|rd| rd.volume_definitions.as_slice()).unwrap_or_default() {
        minors.remove(&vd.minor_number);
    }
    for vd in new.map(|rd| rd.volume_definitions.as_slice()).unwrap_or_default() {
        minors.insert(vd.minor_number);
    }
}

/// Rebuilds a state from stored rows of (kind, key, JSON body).
pub fn state_from_rows(rows: impl IntoIterator<Item = (String, String, String)>) -> Result<State, String> {
    fn parse<T: serde::de::DeserializeOwned>(kind: &str, key: &str, body: &str) -> Result<T, String> {
        serde_json::from_str(body).map_err(|e| format!("stored {kind} '{key}' is unreadable: {e}"))
    }
    let mut txn = Txn::new(State::default());
    for (kind, key, body) in rows {
        match kind.as_str() {
            "controller_props" => txn.set_controller_props(parse(&kind, &key, &body)?),
            "node" => txn.put_node(parse(&kind, &key, &body)?),
            "storage_pool_definition" => txn.put_storage_pool_definition(parse(&kind, &key, &body)?),
            "storage_pool" => txn.put_storage_pool(parse(&kind, &key, &body)?),
            "resource_group" => txn.put_resource_group(parse(&kind, &key, &body)?),
            "resource_definition" => txn.put_resource_definition(parse(&kind, &key, &body)?),
            "key_value_store" => txn.put_key_value_store(parse(&kind, &key, &body)?),
            "resource" => txn.put_resource(parse(&kind, &key, &body)?),
            "snapshot_definition" => txn.put_snapshot_definition(parse(&kind, &key, &body)?),
            _ => return Err(format!("the store holds an object of unknown kind '{kind}'")),
        }
    }
    Ok(txn.into_parts().0)
}
