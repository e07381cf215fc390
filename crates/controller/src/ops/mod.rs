//! The API operations: each validates its input, changes the state in one transaction and
//! answers with LINSTOR's ret codes. The REST layer is a thin translation onto these.

pub mod clone;
pub mod controller;
pub mod definitions;
pub mod groups;
pub mod kvs;
pub mod nodes;
pub mod props;
pub mod resources;
pub mod seed;
pub mod sizes;
pub mod snapshots;
pub mod storage;

use linstor_api::consts::*;
use linstor_api::names::{check_name, NameKind};
use linstor_api::ApiCallRc;

/// The object and operation bits of one API call, from which its ret codes are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub object: i64,
    pub operation: i64,
}

impl Call {
    pub const fn new(object: i64, operation: i64) -> Call {
        Call { object, operation }
    }
    pub fn rc(self, code: i64, message: impl Into<String>) -> ApiCallRc {
        ApiCallRc::new(code | self.object | self.operation, message)
    }
    pub fn created(self, message: impl Into<String>) -> ApiCallRc {
        self.rc(CREATED, message)
    }
    pub fn modified(self, message: impl Into<String>) -> ApiCallRc {
        self.rc(MODIFIED, message)
    }
    pub fn deleted(self, message: impl Into<String>) -> ApiCallRc {
        self.rc(DELETED, message)
    }
}

/// Checks a name and turns a violation into LINSTOR's error entry.
pub fn valid_name(call: Call, kind: NameKind, name: &str) -> Result<(), ApiCallRc> {
    check_name(kind, name).map_err(|err| {
        let code = match kind {
            NameKind::Node => FAIL_INVLD_NODE_NAME,
            NameKind::ResourceDefinition => FAIL_INVLD_RSC_NAME,
            NameKind::ResourceGroup => FAIL_INVLD_RSC_GRP_NAME,
            NameKind::Snapshot => FAIL_INVLD_SNAPSHOT_NAME,
            NameKind::StoragePool => FAIL_INVLD_STOR_POOL_NAME,
            NameKind::NetInterface => FAIL_INVLD_NET_NAME,
            NameKind::KeyValueStore => FAIL_INVLD_KVS_NAME,
        };
        let (min, max) = kind.limits();
        call.rc(code, err.message()).with_cause(err.reason).with_correction(format!(
            "Use {min} to {max} characters: letters, digits, '_' and '-', starting with a letter or '_'{}.",
            if kind == NameKind::Node { " (for nodes: a valid host name)" } else { "" }
        ))
    })
}

/// Applies LINSTOR's `offset`/`limit` paging (a limit of 0 means no limit).
pub fn page<T>(items: impl Iterator<Item = T>, offset: usize, limit: usize) -> Vec<T> {
    let items = items.skip(offset);
    if limit == 0 {
        items.collect()
    } else {
        items.take(limit).collect()
    }
}

/// A fresh object UUID.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}
