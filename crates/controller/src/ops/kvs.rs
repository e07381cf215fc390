//! Key-value stores: free-form props under a name.

use super::props::{modify_props, PropsChange};
use super::{valid_name, Call};
use crate::model::KeyValueStore;
use crate::Controller;
use linstor_api::consts::*;
use linstor_api::names::{NameKey, NameKind};
use linstor_api::props::PropObject;
use linstor_api::ApiCallRcList;

const KVS_MOD: Call = Call::new(MASK_KVS, MASK_MOD);
const KVS_DEL: Call = Call::new(MASK_KVS, MASK_DEL);

impl Controller {
    /// Modifies a key-value store, creating it when it does not exist yet.
    pub fn modify_key_value_store(&self, name: &str, change: PropsChange) -> ApiCallRcList {
        self.write_answer(|txn| {
            valid_name(KVS_MOD, NameKind::KeyValueStore, name)?;
            let mut kvs = txn
                .state()
                .key_value_stores
                .get(&NameKey::new(name))
                .cloned()
                .unwrap_or_else(|| KeyValueStore { name: name.to_string(), ..Default::default() });
            let mut answer = modify_props(KVS_MOD, PropObject::KeyValueStore, &mut kvs.props, change)?;
            answer.push(KVS_MOD.modified(format!("Key value store '{}' modified.", kvs.name)));
            txn.put_key_value_store(kvs);
            Ok(answer)
        })
    }

    pub fn delete_key_value_store(&self, name: &str) -> ApiCallRcList {
        self.write_answer(|txn| {
            let key = NameKey::new(name);
            let Some(kvs) = txn.state().key_value_stores.get(&key).cloned() else {
                return Ok(vec![KVS_DEL.rc(WARN_NOT_FOUND, format!("Key value store '{name}' not found."))]);
            };
            txn.remove_key_value_store(&key);
            Ok(vec![KVS_DEL.deleted(format!("Key value store '{}' deleted.", kvs.name))])
        })
    }
}
