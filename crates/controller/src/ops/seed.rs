//! The objects every LINSTOR cluster starts with.

use super::new_uuid;
use crate::model::{ResourceGroup, StoragePoolDefinition, Txn};
use linstor_api::names::NameKey;
use linstor_api::{
    AutoSelectFilter, Props, DEFAULT_DISKLESS_STORAGE_POOL, DEFAULT_RESOURCE_GROUP, DEFAULT_STORAGE_POOL,
};

/// On a new database: `DfltRscGrp` (place count 2) and the two default storage pool
/// definitions. An existing database is left as it is.
pub fn initial_objects(txn: &mut Txn) {
    if txn.state().resource_groups.contains_key(&NameKey::new(DEFAULT_RESOURCE_GROUP)) {
        return;
    }
    txn.put_resource_group(ResourceGroup {
        name: DEFAULT_RESOURCE_GROUP.to_string(),
        uuid: new_uuid(),
        description: None,
        props: Props::new(),
        select_filter: AutoSelectFilter { place_count: Some(2), ..Default::default() },
        peer_slots: None,
        volume_groups: Vec::new(),
    });
    for name in [DEFAULT_STORAGE_POOL, DEFAULT_DISKLESS_STORAGE_POOL] {
        txn.put_storage_pool_definition(StoragePoolDefinition {
            name: name.to_string(),
            uuid: new_uuid(),
            props: Props::new(),
        });
    }
}
