use super::Ctl;
use crate::ops::props::PropsChange;
use crate::rest::{body, Answer, Query, Reply};
use crate::view::{count, key_value_store_view};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use linstor_api::consts::*;
use linstor_api::{ApiCallRc, ControllerVersion, PropsModify, REST_API_VERSION};

pub async fn health() -> Reply {
    Reply::Empty(StatusCode::OK)
}

pub async fn version() -> Reply {
    Reply::json(&ControllerVersion {
        version: Some(format!("strand-{}", crate::VERSION)),
        git_hash: option_env!("STRAND_GIT_HASH").map(str::to_string),
        build_time: option_env!("STRAND_BUILD_TIME").map(str::to_string),
        rest_api_version: Some(REST_API_VERSION.to_string()),
    })
}

pub async fn props(ctl: Ctl) -> Reply {
    Reply::json(&ctl.state().controller_props)
}

pub fn props_change(input: &PropsModify) -> PropsChange<'_> {
    PropsChange {
        override_props: &input.override_props,
        delete_props: &input.delete_props,
        delete_namespaces: &input.delete_namespaces,
    }
}

pub async fn set_props(ctl: Ctl, bytes: Bytes) -> Answer {
    let input: PropsModify = body(&bytes)?;
    Ok(Reply::created(ctl.modify_controller_props(props_change(&input))))
}

pub async fn delete_prop(ctl: Ctl, Path(key): Path<String>) -> Reply {
    Reply::ok(ctl.delete_controller_prop(&key))
}

pub async fn kvs_list(ctl: Ctl) -> Reply {
    let state = ctl.state();
    Reply::json(&state.key_value_stores.values().map(key_value_store_view).collect::<Vec<_>>())
}

pub async fn kvs_get(ctl: Ctl, Path(name): Path<String>) -> Reply {
    let state = ctl.state();
    let found = state.key_value_stores.get(&name.as_str().into()).map(key_value_store_view);
    Reply::json(&found.into_iter().collect::<Vec<_>>())
}

pub async fn kvs_modify(ctl: Ctl, Path(name): Path<String>, bytes: Bytes) -> Answer {
    let input: PropsModify = body(&bytes)?;
    Ok(Reply::ok(ctl.modify_key_value_store(&name, props_change(&input))))
}

pub async fn kvs_delete(ctl: Ctl, Path(name): Path<String>) -> Reply {
    Reply::ok(ctl.delete_key_value_store(&name))
}

pub async fn stats(ctl: Ctl, Path(what): Path<String>, RawQuery(query): RawQuery) -> Reply {
    let _ = Query::parse(query.as_deref());
    match count(&ctl.state(), &what) {
        Some(count) => Reply::json(&linstor_api::Count { count }),
        None => Reply::Fixed {
            entries: vec![ApiCallRc::new(
                UNKNOWN_API_CALL,
                format!("There are no statistics about '{what}'."),
            )],
            status: StatusCode::NOT_FOUND,
        },
    }
}
