use super::Ctl;
use crate::model::PropFilter;
use crate::ops::nodes::node_not_found;
use crate::ops::{page, Call};
use crate::rest::{body, Answer, Query, Reply};
use crate::view::net_interface_view;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use linstor_api::consts::*;
use linstor_api::names::{NameKey, NameKind};
use linstor_api::{ApiCallRc, NetInterface, Node, NodeModify};

pub async fn list(ctl: Ctl, RawQuery(query): RawQuery) -> Answer {
    let query = Query::parse(query.as_deref());
    let names: Vec<NameKey> =
        query.names("nodes", NameKind::Node, MASK_NODE)?.iter().map(|n| NameKey::new(n)).collect();
    let filters: Vec<PropFilter> = query.all_whole("props").iter().map(|p| PropFilter::parse(p)).collect();
    let (offset, limit) = query.paging()?;
    let state = ctl.state();
    let nodes = state
        .nodes
        .iter()
        .filter(|(key, node)| {
            (names.is_empty() || names.contains(key)) && PropFilter::all_match(&filters, &node.props)
        })
        .map(|(_, node)| ctl.node_view(node));
    Ok(Reply::json(&page(nodes, offset, limit)))
}

pub async fn get(ctl: Ctl, Path(name): Path<String>) -> Reply {
    match ctl.state().node(&name) {
        Some(node) => Reply::json(&ctl.node_view(node)),
        None => Reply::error(node_not_found(Call::new(MASK_NODE, 0), &name)),
    }
}

pub async fn create(ctl: Ctl, bytes: Bytes) -> Answer {
    let input: Node = body(&bytes)?;
    Ok(Reply::created(ctl.create_node(input)))
}

pub async fn modify(ctl: Ctl, Path(name): Path<String>, bytes: Bytes) -> Answer {
    let input: NodeModify = body(&bytes)?;
    Ok(Reply::ok(ctl.modify_node(&name, input)))
}

pub async fn delete(ctl: Ctl, Path(name): Path<String>) -> Reply {
    Reply::ok(ctl.delete_node(&name))
}

pub async fn lost(ctl: Ctl, Path(name): Path<String>) -> Reply {
    Reply::ok(ctl.lost_node(&name))
}

pub async fn reconnect(ctl: Ctl, Path(name): Path<String>) -> Reply {
    Reply::ok(ctl.reconnect_node(&name).await)
}

pub async fn netif_list(ctl: Ctl, Path(node): Path<String>, RawQuery(query): RawQuery) -> Answer {
    let (offset, limit) = Query::parse(query.as_deref()).paging()?;
    let state = ctl.state();
    let node =
        state.node(&node).ok_or_else(|| Reply::error(node_not_found(Call::new(MASK_NET_IF, 0), &node)))?;
    Ok(Reply::json(&page(node.net_interfaces.iter().map(net_interface_view), offset, limit)))
}

pub async fn netif_get(ctl: Ctl, Path((node, netif)): Path<(String, String)>) -> Answer {
    let state = ctl.state();
    let node =
        state.node(&node).ok_or_else(|| Reply::error(node_not_found(Call::new(MASK_NET_IF, 0), &node)))?;
    match node.net_interfaces.iter().find(|i| i.name.eq_ignore_ascii_case(&netif)) {
        Some(found) => Ok(Reply::json(&net_interface_view(found))),
        None => Err(Reply::error(ApiCallRc::new(
            FAIL_NOT_FOUND_NET_IF | MASK_NET_IF,
            format!("Net interface '{netif}' of node '{}' not found.", node.name),
        ))),
    }
}

pub async fn netif_create(ctl: Ctl, Path(node): Path<String>, bytes: Bytes) -> Answer {
    let input: NetInterface = body(&bytes)?;
    Ok(Reply::created(ctl.create_net_interface(&node, input)))
}

pub async fn netif_modify(ctl: Ctl, Path((node, netif)): Path<(String, String)>, bytes: Bytes) -> Answer {
    let input: NetInterface = body(&bytes)?;
    Ok(Reply::ok(ctl.modify_net_interface(&node, &netif, input)))
}

pub async fn netif_delete(ctl: Ctl, Path((node, netif)): Path<(String, String)>) -> Reply {
    Reply::ok(ctl.delete_net_interface(&node, &netif))
}
