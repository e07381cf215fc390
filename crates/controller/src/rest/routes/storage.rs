use super::controller::props_change;
use super::Ctl;
use crate::model::{PropFilter, State};
use crate::ops::nodes::node_not_found;
use crate::ops::{page, Call};
use crate::rest::{body, Answer, Query, Reply};
use crate::view::storage_pool_definition_view;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use linstor_api::consts::*;
use linstor_api::names::{NameKey, NameKind};
use linstor_api::{ApiCallRc, PropsModify, StoragePool, StoragePoolDefinition};

struct PoolFilter {
    nodes: Vec<NameKey>,
    pools: Vec<NameKey>,
    props: Vec<PropFilter>,
    offset: usize,
    limit: usize,
}

impl PoolFilter {
    fn from_query(query: &Query) -> Result<PoolFilter, Reply> {
        let (offset, limit) = query.paging()?;
        Ok(PoolFilter {
            nodes: query
                .names("nodes", NameKind::Node, MASK_STOR_POOL)?
                .iter()
                .map(|n| NameKey::new(n))
                .collect(),
            pools: query
                .names("storage_pools", NameKind::StoragePool, MASK_STOR_POOL)?
                .iter()
                .map(|n| NameKey::new(n))
                .collect(),
            props: query.all_whole("props").iter().map(|p| PropFilter::parse(p)).collect(),
            offset,
            limit,
        })
    }

    fn select(&self, ctl: &crate::Controller, state: &State) -> Reply {
        let pools = state
            .storage_pools
            .iter()
            .filter(|((node, pool), sp)| {
                (self.nodes.is_empty() || self.nodes.contains(node))
                    && (self.pools.is_empty() || self.pools.contains(pool))
                    && PropFilter::all_match(&self.props, &sp.props)
            })
            .map(|(_, sp)| ctl.storage_pool_view(sp));
        Reply::json(&page(pools, self.offset, self.limit))
    }
}

pub async fn view(ctl: Ctl, RawQuery(query): RawQuery) -> Answer {
    let filter = PoolFilter::from_query(&Query::parse(query.as_deref()))?;
    Ok(filter.select(&ctl, &ctl.state()))
}

pub async fn node_pools(ctl: Ctl, Path(node): Path<String>, RawQuery(query): RawQuery) -> Answer {
    let mut filter = PoolFilter::from_query(&Query::parse(query.as_deref()))?;
    let state = ctl.state();
    let node =
        state.node(&node).ok_or_else(|| Reply::error(node_not_found(Call::new(MASK_STOR_POOL, 0), &node)))?;
    filter.nodes = vec![NameKey::new(&node.name)];
    Ok(filter.select(&ctl, &state))
}

pub async fn get(ctl: Ctl, Path((node, pool)): Path<(String, String)>) -> Reply {
    match ctl.state().storage_pool(&node, &pool) {
        Some(sp) => Reply::json(&ctl.storage_pool_view(sp)),
        None => Reply::error(ApiCallRc::new(
            FAIL_NOT_FOUND_STOR_POOL | MASK_STOR_POOL,
            format!("Storage pool '{pool}' on node '{node}' not found."),
        )),
    }
}

pub async fn create(ctl: Ctl, Path(node): Path<String>, bytes: Bytes) -> Answer {
    let input: StoragePool = body(&bytes)?;
    Ok(Reply::created(ctl.create_storage_pool(&node, input).await))
}

pub async fn modify(ctl: Ctl, Path((node, pool)): Path<(String, String)>, bytes: Bytes) -> Answer {
    let input: PropsModify = body(&bytes)?;
    Ok(Reply::ok(ctl.modify_storage_pool(&node, &pool, props_change(&input))))
}

pub async fn delete(ctl: Ctl, Path((node, pool)): Path<(String, String)>) -> Reply {
    Reply::ok(ctl.delete_storage_pool(&node, &pool))
}

pub async fn spd_list(ctl: Ctl, RawQuery(query): RawQuery) -> Answer {
    let (offset, limit) = Query::parse(query.as_deref()).paging()?;
    let state = ctl.state();
    Ok(Reply::json(&page(
        state.storage_pool_definitions.values().map(storage_pool_definition_view),
        offset,
        limit,
    )))
}

pub async fn spd_get(ctl: Ctl, Path(pool): Path<String>) -> Reply {
    match ctl.state().storage_pool_definitions.get(&NameKey::new(&pool)) {
        Some(spd) => Reply::json(&storage_pool_definition_view(spd)),
        None => Reply::error(ApiCallRc::new(
            FAIL_NOT_FOUND_STOR_POOL_DFN | MASK_STOR_POOL_DFN,
            format!("Storage pool definition '{pool}' not found."),
        )),
    }
}

pub async fn spd_create(ctl: Ctl, bytes: Bytes) -> Answer {
    let input: StoragePoolDefinition = body(&bytes)?;
    Ok(Reply::created(ctl.create_storage_pool_definition(input)))
}

pub async fn spd_modify(ctl: Ctl, Path(pool): Path<String>, bytes: Bytes) -> Answer {
    let input: PropsModify = body(&bytes)?;
    Ok(Reply::ok(ctl.modify_storage_pool_definition(&pool, props_change(&input))))
}

pub async fn spd_delete(ctl: Ctl, Path(pool): Path<String>) -> Reply {
    Reply::ok(ctl.delete_storage_pool_definition(&pool))
}
