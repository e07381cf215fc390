//! Storage pool definitions and storage pools.

use super::nodes::node_not_found;
use super::props::{checked_props, modify_props, PropsChange};
use super::{new_uuid, valid_name, Call};
use crate::model::{ProviderKind, StoragePool, StoragePoolDefinition};
use crate::Controller;
use linstor_api::consts::*;
use linstor_api::names::{NameKey, NameKind};
use linstor_api::props::PropObject;
use linstor_api::{ApiCallRc, ApiCallRcList, Props};

const SPD_CRT: Call = Call::new(MASK_STOR_POOL_DFN, MASK_CRT);
const SPD_MOD: Call = Call::new(MASK_STOR_POOL_DFN, MASK_MOD);
const SPD_DEL: Call = Call::new(MASK_STOR_POOL_DFN, MASK_DEL);
const SP_CRT: Call = Call::new(MASK_STOR_POOL, MASK_CRT);
const SP_MOD: Call = Call::new(MASK_STOR_POOL, MASK_MOD);
const SP_DEL: Call = Call::new(MASK_STOR_POOL, MASK_DEL);

/// The backing-pool key every provider uses today.
pub const KEY_STOR_POOL_NAME: &str = "StorDriver/StorPoolName";
const KEY_THIN_POOL: &str = "StorDriver/ThinPool";
/// Keys older clients send instead of `StorDriver/StorPoolName`.
const LEGACY_POOL_KEYS: [&str; 4] =
    ["StorDriver/FileDir", "StorDriver/LvmVg", "StorDriver/ZPool", "StorDriver/ZPoolThin"];

/// Renames the legacy backing-pool keys to `StorDriver/StorPoolName` and merges
/// `StorDriver/ThinPool` into it as `<vg>/<thinpool>`, as LINSTOR's REST layer does.
pub fn normalize_pool_props(mut props: Props) -> Props {
    for legacy in LEGACY_POOL_KEYS {
        if let Some(value) = props.remove(legacy) {
            props.insert(KEY_STOR_POOL_NAME.to_string(), value);
        }
    }
    if let Some(thin) = props.remove(KEY_THIN_POOL) {
        let merged = match props.get(KEY_STOR_POOL_NAME) {
            Some(vg) if !thin.contains('/') => format!("{vg}/{thin}"),
            _ => thin,
        };
        props.insert(KEY_STOR_POOL_NAME.to_string(), merged);
    }
    props
}

fn provider_kind(text: &str) -> Result<ProviderKind, ApiCallRc> {
    ProviderKind::parse(text).ok_or_else(|| {
        let kinds: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
        SP_CRT
            .rc(FAIL_INVLD_PROVIDER, format!("The storage provider kind '{text}' is invalid."))
            .with_correction(format!("Use one of: {}.", kinds.join(", ")))
    })
}

fn check_backing_pool(kind: ProviderKind, props: &Props) -> Result<(), ApiCallRc> {
    if !kind.has_backing_pool() {
        return Ok(());
    }
    let Some(value) = props.get(KEY_STOR_POOL_NAME) else {
        return Err(SP_CRT
            .rc(FAIL_INVLD_PROP, format!("A {} storage pool needs a backing pool.", kind.as_str()))
            .with_correction(format!(
                "Set '{KEY_STOR_POOL_NAME}' (a directory for FILE pools, a volume group for LVM, a zpool for ZFS)."
            )));
    };
    if matches!(kind, ProviderKind::File | ProviderKind::FileThin) && !value.starts_with('/') {
        return Err(SP_CRT
            .rc(
                FAIL_INVLD_PROP,
                format!("The directory '{value}' of a {} pool is not an absolute path.", kind.as_str()),
            )
            .with_correction("Give the absolute path of the pool's directory."));
    }
    Ok(())
}

fn pool_not_found(call: Call, node: &str, pool: &str) -> ApiCallRc {
    call.rc(FAIL_NOT_FOUND_STOR_POOL, format!("Storage pool '{pool}' on node '{node}' not found."))
}

impl Controller {
    pub fn create_storage_pool_definition(&self, input: linstor_api::StoragePoolDefinition) -> ApiCallRcList {
        self.write_answer(|txn| {
            valid_name(SPD_CRT, NameKind::StoragePool, &input.storage_pool_name)?;
            let key = NameKey::new(&input.storage_pool_name);
            if let Some(existing) = txn.state().storage_pool_definitions.get(&key) {
                return Err(SPD_CRT.rc(
                    FAIL_EXISTS_STOR_POOL_DFN,
                    format!("Storage pool definition '{}' already exists.", existing.name),
                ));
            }
            let spd = StoragePoolDefinition {
                name: input.storage_pool_name.clone(),
                uuid: new_uuid(),
                props: checked_props(SPD_CRT, PropObject::StoragePoolDefinition, &input.props)?,
            };
            let answer = vec![SPD_CRT
                .created(format!("New storage pool definition '{}' created.", spd.name))
                .with_details(format!("Storage pool definition '{}' UUID is: {}", spd.name, spd.uuid))];
            txn.put_storage_pool_definition(spd);
            Ok(answer)
        })
    }

    pub fn modify_storage_pool_definition(&self, name: &str, change: PropsChange) -> ApiCallRcList {
        self.write_answer(|txn| {
            let Some(mut spd) = txn.state().storage_pool_definitions.get(&NameKey::new(name)).cloned() else {
                return Err(SPD_MOD.rc(
                    FAIL_NOT_FOUND_STOR_POOL_DFN,
                    format!("Storage pool definition '{name}' not found."),
                ));
            };
            let mut answer =
                modify_props(SPD_MOD, PropObject::StoragePoolDefinition, &mut spd.props, change)?;
            answer.push(SPD_MOD.modified(format!("Storage pool definition '{}' modified.", spd.name)));
            txn.put_storage_pool_definition(spd);
            Ok(answer)
        })
    }

    pub fn delete_storage_pool_definition(&self, name: &str) -> ApiCallRcList {
        self.write_answer(|txn| {
            let key = NameKey::new(name);
            let Some(spd) = txn.state().storage_pool_definitions.get(&key).cloned() else {
                return Ok(vec![
                    SPD_DEL.rc(WARN_NOT_FOUND, format!("Storage pool definition '{name}' not found."))
                ]);
            };
            let users: Vec<String> = txn
                .state()
                .storage_pools
                .values()
                .filter(|p| NameKey::new(&p.name) == key)
                .map(|p| p.node_name.clone())
                .collect();
            if !users.is_empty() {
                return Err(SPD_DEL
                    .rc(
                        FAIL_IN_USE,
                        format!("Storage pool definition '{}' still has storage pools.", spd.name),
                    )
                    .with_cause(format!("Nodes with this pool: {}", users.join(", ")))
                    .with_correction("Delete the storage pools on those nodes first."));
            }
            txn.remove_storage_pool_definition(&key);
            Ok(vec![SPD_DEL.deleted(format!("Storage pool definition '{}' deleted.", spd.name))])
        })
    }

    /// Creates a storage pool; when the node's satellite is connected, the call answers after it
    /// set the pool up, and a pool it cannot use is not kept.
    pub async fn create_storage_pool(
        &self,
        node_name: &str,
        input: linstor_api::StoragePool,
    ) -> ApiCallRcList {
        let pool_name = input.storage_pool_name.clone();
        let result = self.write_tracked(|txn| {
            let Some(node) = txn.state().node(node_name).cloned() else {
                return Err(node_not_found(SP_CRT, node_name));
            };
            valid_name(SP_CRT, NameKind::StoragePool, &input.storage_pool_name)?;
            let kind = provider_kind(&input.provider_kind)?;
            let props =
                checked_props(SP_CRT, PropObject::StoragePool, &normalize_pool_props(input.props.clone()))?;
            check_backing_pool(kind, &props)?;
            if let Some(existing) = txn.state().storage_pool(&node.name, &input.storage_pool_name) {
                return Err(SP_CRT.rc(
                    FAIL_EXISTS_STOR_POOL,
                    format!("Storage pool '{}' already exists on node '{}'.", existing.name, node.name),
                ));
            }
            let spd_key = NameKey::new(&input.storage_pool_name);
            let pool_name = match txn.state().storage_pool_definitions.get(&spd_key) {
                Some(spd) => spd.name.clone(),
                None => {
                    txn.put_storage_pool_definition(StoragePoolDefinition {
                        name: input.storage_pool_name.clone(),
                        uuid: new_uuid(),
                        props: Props::new(),
                    });
                    input.storage_pool_name.clone()
                }
            };
            let pool = StoragePool {
                name: pool_name,
                node_name: node.name.clone(),
                provider_kind: kind,
                uuid: new_uuid(),
                props,
            };
            let answer = vec![SP_CRT
                .created(format!("New storage pool '{}' on node '{}' registered.", pool.name, node.name))
                .with_details(format!(
                    "Storage pool '{}' on node '{}' UUID is: {}",
                    pool.name, node.name, pool.uuid
                ))
                .with_obj_ref("StorPool", &pool.name)
                .with_obj_ref("Node", &node.name)];
            txn.put_storage_pool(pool);
            Ok(answer)
        });
        let (mut answer, touched) = match result {
            Ok(ok) => ok,
            Err(err) => return vec![err],
        };
        answer.extend(self.sync_nodes(&touched).await);
        let node = NameKey::new(node_name);
        let error = self.satellites.observed(&node).and_then(|observed| {
            observed
                .storage_pools
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&pool_name))
                .and_then(|p| p.error.clone())
        });
        if let Some(error) = error {
            answer.push(
                SP_CRT
                    .rc(
                        FAIL_STOR_POOL_CONFIGURATION_ERROR,
                        format!("Storage pool '{pool_name}' on node '{node_name}' cannot be used."),
                    )
                    .with_cause(error),
            );
            if let Ok(((), touched)) = self.write_tracked(|txn| {
                txn.remove_storage_pool(&node, &NameKey::new(&pool_name));
                Ok(())
            }) {
                answer.extend(self.sync_nodes(&touched).await);
            }
        }
        answer
    }

    pub fn modify_storage_pool(
        &self,
        node_name: &str,
        pool_name: &str,
        change: PropsChange,
    ) -> ApiCallRcList {
        self.write_answer(|txn| {
            let Some(mut pool) = txn.state().storage_pool(node_name, pool_name).cloned() else {
                return Err(pool_not_found(SP_MOD, node_name, pool_name));
            };
            let overrides = normalize_pool_props(change.override_props.clone());
            let change = PropsChange { override_props: &overrides, ..change };
            let mut answer = modify_props(SP_MOD, PropObject::StoragePool, &mut pool.props, change)?;
            answer.push(
                SP_MOD
                    .modified(format!("Storage pool '{}' on node '{}' modified.", pool.name, pool.node_name)),
            );
            txn.put_storage_pool(pool);
            Ok(answer)
        })
    }

    pub fn delete_storage_pool(&self, node_name: &str, pool_name: &str) -> ApiCallRcList {
        self.write_answer(|txn| {
            let Some(pool) = txn.state().storage_pool(node_name, pool_name).cloned() else {
                if txn.state().node(node_name).is_none() {
                    return Ok(vec![SP_DEL.rc(WARN_NOT_FOUND, format!("Node '{node_name}' not found."))]);
                }
                return Ok(vec![SP_DEL.rc(
                    WARN_NOT_FOUND,
                    format!("Storage pool '{pool_name}' on node '{node_name}' not found."),
                )]);
            };
            let node = NameKey::new(&pool.node_name);
            let users: Vec<String> = txn
                .state()
                .resources_on(&node)
                .filter(|r| r.volumes.iter().any(|v| v.storage_pool.eq_ignore_ascii_case(&pool.name)))
                .map(|r| r.name.clone())
                .take(10)
                .collect();
            if !users.is_empty() {
                return Err(SP_DEL
                    .rc(
                        FAIL_IN_USE,
                        format!(
                            "Storage pool '{}' on node '{}' still holds volumes.",
                            pool.name, pool.node_name
                        ),
                    )
                    .with_cause(format!("Resources with volumes in the pool include: {}", users.join(", ")))
                    .with_correction("Delete those resources first."));
            }
            txn.remove_storage_pool(&node, &NameKey::new(&pool.name));
            Ok(vec![SP_DEL
                .deleted(format!("Storage pool '{}' on node '{}' deleted.", pool.name, pool.node_name))
                .with_details(format!("Storage pool '{}' UUID was: {}", pool.name, pool.uuid))])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn legacy_pool_keys_are_renamed_and_thin_pools_merged() {
        assert_eq!(
            normalize_pool_props(props(&[("StorDriver/FileDir", "/srv/pool")])),
            props(&[(KEY_STOR_POOL_NAME, "/srv/pool")])
        );
        assert_eq!(
            normalize_pool_props(props(&[("StorDriver/LvmVg", "vg0"), ("StorDriver/ThinPool", "thin")])),
            props(&[(KEY_STOR_POOL_NAME, "vg0/thin")])
        );
        assert_eq!(
            normalize_pool_props(props(&[("StorDriver/ZPoolThin", "tank")])),
            props(&[(KEY_STOR_POOL_NAME, "tank")])
        );
    }
}
