use super::{volume_number, Ctl};
use crate::model::PropFilter;
use crate::ops::groups::rg_not_found;
use crate::ops::{page, Call};
use crate::rest::{body, Answer, Query, Reply};
use crate::view::{resource_group_view, volume_group_view};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use linstor_api::consts::*;
use linstor_api::names::{NameKey, NameKind};
use linstor_api::{
    ApiCallRc, ResourceGroup, ResourceGroupModify, ResourceGroupSpawn, VolumeGroup, VolumeGroupModify,
};

const RG: Call = Call::new(MASK_RSC_GRP, 0);

pub async fn list(ctl: Ctl, RawQuery(query): RawQuery) -> Answer {
    let query = Query::parse(query.as_deref());
    let names: Vec<NameKey> = query
        .names("resource_groups", NameKind::ResourceGroup, MASK_RSC_GRP)?
        .iter()
        .map(|n| NameKey::new(n))
        .collect();
    let filters: Vec<PropFilter> = query.all_whole("props").iter().map(|p| PropFilter::parse(p)).collect();
    let (offset, limit) = query.paging()?;
    let state = ctl.state();
    let groups = state
        .resource_groups
        .iter()
        .filter(|(key, rg)| {
            (names.is_empty() || names.contains(key)) && PropFilter::all_match(&filters, &rg.props)
        })
        .map(|(_, rg)| resource_group_view(rg));
    Ok(Reply::json(&page(groups, offset, limit)))
}

pub async fn get(ctl: Ctl, Path(name): Path<String>) -> Reply {
    match ctl.state().resource_group(&name) {
        Some(rg) => Reply::json(&resource_group_view(rg)),
        None => Reply::error(rg_not_found(RG, &name)),
    }
}

pub async fn create(ctl: Ctl, bytes: Bytes) -> Answer {
    let input: ResourceGroup = body(&bytes)?;
    Ok(Reply::created(ctl.create_resource_group(input)))
}

pub async fn modify(ctl: Ctl, Path(name): Path<String>, bytes: Bytes) -> Answer {
    let input: ResourceGroupModify = body(&bytes)?;
    let cleared = cleared_filter_lists(&bytes);
    Ok(Reply::ok(ctl.modify_resource_group(&name, input, &cleared)))
}

/// The list fields of `select_filter` that a modify body gives as empty lists: LINSTOR clears
/// those (an absent field keeps its value; the typed body cannot tell the two apart).
fn cleared_filter_lists(bytes: &[u8]) -> Vec<String> {
    let Ok(raw) = serde_json::from_slice::<serde_json::Value>(bytes) else { return Vec::new() };
    let Some(filter) = raw.get("select_filter").and_then(|f| f.as_object()) else { return Vec::new() };
    filter
        .iter()
        .filter(|(_, value)| {
            value.as_array().is_some_and(Vec::is_empty) || value.as_object().is_some_and(|o| o.is_empty())
        })
        .map(|(key, _)| key.clone())
        .collect()
}

pub async fn delete(ctl: Ctl, Path(name): Path<String>) -> Reply {
    Reply::ok(ctl.delete_resource_group(&name))
}

pub async fn spawn(ctl: Ctl, Path(name): Path<String>, bytes: Bytes) -> Answer {
    let input: ResourceGroupSpawn = body(&bytes)?;
    Ok(Reply::created(ctl.spawn_and_place(&name, input).await))
}

pub async fn vg_list(ctl: Ctl, Path(name): Path<String>, RawQuery(query): RawQuery) -> Answer {
    let (offset, limit) = Query::parse(query.as_deref()).paging()?;
    let state = ctl.state();
    let rg = state.resource_group(&name).ok_or_else(|| Reply::error(rg_not_found(RG, &name)))?;
    Ok(Reply::json(&page(rg.volume_groups.iter().map(volume_group_view), offset, limit)))
}

pub async fn vg_get(ctl: Ctl, Path((name, number)): Path<(String, String)>) -> Answer {
    let state = ctl.state();
    let rg = state.resource_group(&name).ok_or_else(|| Reply::error(rg_not_found(RG, &name)))?;
    let found = volume_number(&number).and_then(|n| rg.volume_groups.iter().find(|vg| vg.volume_number == n));
    match found {
        Some(vg) => Ok(Reply::json(&volume_group_view(vg))),
        None => Err(Reply::error(ApiCallRc::new(
            FAIL_NOT_FOUND_VLM_GRP | MASK_VLM_GRP,
            format!("Volume group with number '{number}' of resource group '{}' not found.", rg.name),
        ))),
    }
}

pub async fn vg_create(ctl: Ctl, Path(name): Path<String>, bytes: Bytes) -> Answer {
    let input: VolumeGroup = body(&bytes)?;
    Ok(Reply::created(ctl.create_volume_group(&name, input)))
}

pub async fn vg_modify(ctl: Ctl, Path((name, number)): Path<(String, String)>, bytes: Bytes) -> Answer {
    let input: VolumeGroupModify = body(&bytes)?;
    let number = volume_number(&number).unwrap_or(-1);
    Ok(Reply::ok(ctl.modify_volume_group(&name, number, input)))
}

pub async fn vg_delete(ctl: Ctl, Path((name, number)): Path<(String, String)>) -> Reply {
    Reply::ok(ctl.delete_volume_group(&name, volume_number(&number).unwrap_or(-1)))
}

pub async fn query_max_volume_size(ctl: Ctl, Path(name): Path<String>) -> Reply {
    match ctl.query_max_volume_size(Some(&name), &Default::default()) {
        Ok(sizes) => Reply::json(&sizes),
        Err(rc) => Reply::error(rc),
    }
}

/// `OPTIONS /v1/query-max-volume-size` with a placement filter as body.
pub async fn query_max_volume_size_by_filter(ctl: Ctl, bytes: Bytes) -> Answer {
    let filter: linstor_api::AutoSelectFilter =
        if bytes.is_empty() { Default::default() } else { body(&bytes)? };
    ctl.query_max_volume_size(None, &filter).map(|sizes| Reply::json(&sizes)).map_err(Reply::error)
}

pub async fn query_size_info(ctl: Ctl, Path(name): Path<String>, bytes: Bytes) -> Answer {
    let request: linstor_api::QuerySizeInfoRequest =
        if bytes.is_empty() { Default::default() } else { body(&bytes)? };
    let filter = request.select_filter.unwrap_or_default();
    ctl.query_size_info(&name, &filter).map(|info| Reply::json(&info)).map_err(Reply::error)
}
