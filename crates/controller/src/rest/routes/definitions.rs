use super::{volume_number, Ctl};
use crate::model::{PropFilter, State};
use crate::ops::definitions::rd_not_found;
use crate::ops::{page, Call};
use crate::rest::{body, Answer, Query, Reply};
use crate::view::{known_layers, resource_definition_view, volume_definition_view};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use linstor_api::consts::*;
use linstor_api::names::{NameKey, NameKind};
use linstor_api::{
    ApiCallRc, ResourceDefinitionCreate, ResourceDefinitionModify, VolumeDefinitionCreate,
    VolumeDefinitionModify,
};

const RD: Call = Call::new(MASK_RSC_DFN, 0);

/// The resource definitions a list request selects, in name order. Props filters go through
/// the props index, so their cost follows the size of the answer.
fn select<'a>(
    state: &'a State,
    names: &[NameKey],
    filters: &[PropFilter],
) -> Vec<&'a crate::model::ResourceDefinition> {
    let matches = |rd: &crate::model::ResourceDefinition| PropFilter::all_match(filters, &rd.props);
    if !names.is_empty() {
        return names
            .iter()
            .filter_map(|key| state.resource_definitions.get(key))
            .filter(|rd| matches(rd))
            .collect();
    }
    match state.rd_props.candidates(filters) {
        Some(keys) => keys
            .iter()
            .filter_map(|key| state.resource_definitions.get(key))
            .filter(|rd| matches(rd))
            .collect(),
        None => state.resource_definitions.values().collect(),
    }
}

pub async fn list(ctl: Ctl, RawQuery(query): RawQuery) -> Answer {
    let query = Query::parse(query.as_deref());
    let mut names: Vec<NameKey> = query
        .names("resource_definitions", NameKind::ResourceDefinition, MASK_RSC_DFN)?
        .iter()
        .map(|n| NameKey::new(n))
        .collect();
    names.sort();
    names.dedup();
    let filters: Vec<PropFilter> = query.all_whole("props").iter().map(|p| PropFilter::parse(p)).collect();
    let with_volumes = query.flag("with_volume_definitions")?;
    let (offset, limit) = query.paging()?;
    let state = ctl.state();
    let selected = select(&state, &names, &filters);
    let views = selected.into_iter().map(|rd| resource_definition_view(&state, rd, with_volumes));
    Ok(Reply::json(&page(views, offset, limit)))
}

pub async fn get(ctl: Ctl, Path(name): Path<String>, RawQuery(query): RawQuery) -> Answer {
    let with_volumes = Query::parse(query.as_deref()).flag("with_volume_definitions")?;
    let state = ctl.state();
    match state.resource_definition(&name) {
        Some(rd) => Ok(Reply::json(&resource_definition_view(&state, rd, with_volumes))),
        None => Err(Reply::error(rd_not_found(RD, &name))),
    }
}

pub async fn create(ctl: Ctl, bytes: Bytes) -> Answer {
    let input: ResourceDefinitionCreate = body(&bytes)?;
    Ok(Reply::created(ctl.create_resource_definition(input)))
}

pub async fn modify(ctl: Ctl, Path(name): Path<String>, bytes: Bytes) -> Answer {
    let input: ResourceDefinitionModify = body(&bytes)?;
    Ok(Reply::ok(ctl.modify_resource_definition(&name, input)))
}

pub async fn delete(ctl: Ctl, Path(name): Path<String>) -> Reply {
    Reply::ok(ctl.delete_resource_definition(&name).await)
}

pub async fn vd_list(ctl: Ctl, Path(name): Path<String>, RawQuery(query): RawQuery) -> Answer {
    let (offset, limit) = Query::parse(query.as_deref()).paging()?;
    let state = ctl.state();
    let rd = state.resource_definition(&name).ok_or_else(|| Reply::error(rd_not_found(RD, &name)))?;
    let layers = known_layers(&state, rd);
    Ok(Reply::json(&page(
        rd.volume_definitions.iter().map(|vd| volume_definition_view(&layers, vd)),
        offset,
        limit,
    )))
}

pub async fn vd_get(ctl: Ctl, Path((name, number)): Path<(String, String)>) -> Answer {
    let state = ctl.state();
    let rd = state.resource_definition(&name).ok_or_else(|| Reply::error(rd_not_found(RD, &name)))?;
    match volume_number(&number).and_then(|n| rd.volume_definition(n)) {
        Some(vd) => Ok(Reply::json(&volume_definition_view(&known_layers(&state, rd), vd))),
        None => Err(Reply::error(ApiCallRc::new(
            FAIL_NOT_FOUND_VLM_DFN | MASK_VLM_DFN,
            format!(
                "Volume definition with number '{number}' of resource definition '{}' not found.",
                rd.name
            ),
        ))),
    }
}

pub async fn vd_create(ctl: Ctl, Path(name): Path<String>, bytes: Bytes) -> Answer {
    let input: VolumeDefinitionCreate = body(&bytes)?;
    Ok(Reply::created(ctl.create_volume_definition(&name, input).await))
}

pub async fn vd_modify(ctl: Ctl, Path((name, number)): Path<(String, String)>, bytes: Bytes) -> Answer {
    let input: VolumeDefinitionModify = body(&bytes)?;
    Ok(Reply::ok(ctl.modify_volume_definition(&name, volume_number(&number).unwrap_or(-1), input).await))
}

pub async fn vd_delete(ctl: Ctl, Path((name, number)): Path<(String, String)>) -> Reply {
    Reply::ok(ctl.delete_volume_definition(&name, volume_number(&number).unwrap_or(-1)).await)
}
