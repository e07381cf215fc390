use super::{volume_number, Ctl};
use crate::model::PropFilter;
use crate::ops::definitions::rd_not_found;
use crate::ops::resources::rsc_not_found;
use crate::ops::{page, Call};
use crate::rest::{array_body, body, Answer, Query, Reply};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use linstor_api::consts::*;
use linstor_api::names::{NameKey, NameKind};
use linstor_api::{ApiCallRc, AutoPlaceRequest, ResourceCreate, ResourceMakeAvailable};

const RSC: Call = Call::new(MASK_RSC, 0);

/// `GET /v1/view/resources`: every resource with its volumes, served from memory.
pub async fn view(ctl: Ctl, RawQuery(query): RawQuery) -> Answer {
    let query = Query::parse(query.as_deref());
    let nodes: Vec<NameKey> =
        query.names("nodes", NameKind::Node, MASK_RSC)?.iter().map(|n| NameKey::new(n)).collect();
    let rds: Vec<NameKey> = query
        .names("resources", NameKind::ResourceDefinition, MASK_RSC)?
        .iter()
        .map(|n| NameKey::new(n))
        .collect();
    let pools: Vec<String> = query.names("storage_pools", NameKind::StoragePool, MASK_RSC)?;
    let filters: Vec<PropFilter> = query.all_whole("props").iter().map(|p| PropFilter::parse(p)).collect();
    let (offset, limit) = query.paging()?;
    let state = ctl.state();
    let selected = state.resources.iter().filter(|((rd, node), resource)| {
        (nodes.is_empty() || nodes.contains(node))
            && (rds.is_empty() || rds.contains(rd))
            && (pools.is_empty()
                || resource
                    .volumes
                    .iter()
                    .any(|v| pools.iter().any(|p| p.eq_ignore_ascii_case(&v.storage_pool))))
            && PropFilter::all_match(&filters, &resource.props)
    });
    let selected = selected.skip(offset).take(if limit == 0 { usize::MAX } else { limit });
    // Resources come in resource definition order: walk the definitions alongside, and look
    // each node's report up once.
    let mut rds = state.resource_definitions.iter().peekable();
    let mut reports = std::collections::HashMap::new();
    let views = selected.map(|((rd_key, node_key), resource)| {
        while rds.peek().is_some_and(|(key, _)| *key < rd_key) {
            rds.next();
        }
        let rd = rds.peek().filter(|(key, _)| *key == rd_key).map(|(_, rd)| *rd);
        let report =
            reports.entry(node_key.clone()).or_insert_with(|| ctl.satellites.observed_indexed(node_key));
        ctl.resource_view_with(&state, resource, rd, report.as_ref())
    });
    Ok(Reply::json_array(views))
}

pub async fn list(ctl: Ctl, Path(rd): Path<String>, RawQuery(query): RawQuery) -> Answer {
    let (offset, limit) = Query::parse(query.as_deref()).paging()?;
    let state = ctl.state();
    let rd = state.resource_definition(&rd).ok_or_else(|| Reply::error(rd_not_found(RSC, &rd)))?;
    let key = NameKey::new(&rd.name);
    let views = state.resources_of(&key).map(|r| ctl.resource_view(&state, r).resource);
    Ok(Reply::json(&page(views, offset, limit)))
}

pub async fn get(ctl: Ctl, Path((rd, node)): Path<(String, String)>) -> Reply {
    let state = ctl.state();
    match state.resource(&rd, &node) {
        Some(resource) => Reply::json(&ctl.resource_view(&state, resource).resource),
        None => Reply::error(rsc_not_found(RSC, &rd, &node)),
    }
}

pub async fn volumes(
    ctl: Ctl,
    Path((rd, node)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Answer {
    let (offset, limit) = Query::parse(query.as_deref()).paging()?;
    let state = ctl.state();
    let resource = state.resource(&rd, &node).ok_or_else(|| Reply::error(rsc_not_found(RSC, &rd, &node)))?;
    Ok(Reply::json(&page(ctl.resource_view(&state, resource).volumes.into_iter(), offset, limit)))
}

pub async fn volume(ctl: Ctl, Path((rd, node, number)): Path<(String, String, String)>) -> Answer {
    let state = ctl.state();
    let resource = state.resource(&rd, &node).ok_or_else(|| Reply::error(rsc_not_found(RSC, &rd, &node)))?;
    let number = volume_number(&number);
    let found = ctl
        .resource_view(&state, resource)
        .volumes
        .into_iter()
        .find(|v| v.volume_number == number && number.is_some());
    found.map(|v| Reply::json(&v)).ok_or_else(|| {
        Reply::error(ApiCallRc::new(
            FAIL_NOT_FOUND_VLM | MASK_VLM,
            format!(
                "Volume {} of resource '{rd}' on node '{node}' not found.",
                number.map_or("?".into(), |n| n.to_string())
            ),
        ))
    })
}

pub async fn create(ctl: Ctl, Path(rd): Path<String>, bytes: Bytes) -> Answer {
    let creates: Vec<ResourceCreate> = array_body(&bytes)?;
    Ok(Reply::created(ctl.create_resources(&rd, creates).await))
}

pub async fn create_on_node(ctl: Ctl, Path((rd, node)): Path<(String, String)>, bytes: Bytes) -> Answer {
    let mut create: ResourceCreate = if bytes.is_empty() { ResourceCreate::default() } else { body(&bytes)? };
    if create.resource.node_name.is_empty() {
        create.resource.node_name = node;
    }
    Ok(Reply::created(ctl.create_resources(&rd, vec![create]).await))
}

pub async fn delete(ctl: Ctl, Path((rd, node)): Path<(String, String)>) -> Reply {
    Reply::ok(ctl.delete_resource(&rd, &node).await)
}

pub async fn make_available(ctl: Ctl, Path((rd, node)): Path<(String, String)>, bytes: Bytes) -> Answer {
    let request: ResourceMakeAvailable = if bytes.is_empty() { Default::default() } else { body(&bytes)? };
    Ok(Reply::ok(ctl.make_available(&rd, &node, request).await))
}

pub async fn autoplace(ctl: Ctl, Path(rd): Path<String>, bytes: Bytes) -> Answer {
    let request: AutoPlaceRequest = body(&bytes)?;
    Ok(Reply::created(ctl.autoplace(&rd, request).await))
}
