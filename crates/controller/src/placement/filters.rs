//! The filter chain: each filter keeps or rejects one candidate pool, and its name says why
//! in a placement error ("3 on offline nodes").

use super::{Candidate, Request};
use crate::model::ProviderKind;
use linstor_api::names::NameKey;

type Filter = fn(&Candidate, &Request) -> bool;

/// Every filter with the phrase that explains a rejection.
pub const FILTERS: [(&str, Filter); 9] = [
    ("on offline nodes", node_online),
    ("diskless", diskful),
    ("excluded by provider_list", provider_listed),
    ("on nodes without the needed layers", layers_supported),
    ("not in storage_pool / storage_pool_list", pool_listed),
    ("not in node_name_list", node_listed),
    ("on nodes that already hold the resource", not_already_there),
    ("on nodes with a resource of not_place_with_rsc", not_placed_with),
    ("without enough free space", enough_space),
];

fn node_online(candidate: &Candidate, _: &Request) -> bool {
    candidate.online
}

fn diskful(candidate: &Candidate, _: &Request) -> bool {
    candidate.provider != ProviderKind::Diskless
}

fn provider_listed(candidate: &Candidate, request: &Request) -> bool {
    let list = &request.filter.provider_list;
    list.is_empty() || list.iter().any(|p| p.eq_ignore_ascii_case(candidate.provider.as_str()))
}

fn layers_supported(candidate: &Candidate, request: &Request) -> bool {
    request.layer_stack.iter().all(|layer| candidate.layers.iter().any(|l| l.eq_ignore_ascii_case(layer)))
}

fn pool_listed(candidate: &Candidate, request: &Request) -> bool {
    let filter = request.filter;
    let mut listed = filter.storage_pool.iter().chain(&filter.storage_pool_list).peekable();
    listed.peek().is_none() || listed.any(|pool| pool.eq_ignore_ascii_case(&candidate.pool))
}

fn node_listed(candidate: &Candidate, request: &Request) -> bool {
    let list = &request.filter.node_name_list;
    list.is_empty() || list.iter().any(|node| NameKey::new(node) == candidate.node)
}

fn not_already_there(candidate: &Candidate, request: &Request) -> bool {
    !candidate.resources_on_node.contains(&NameKey::new(request.resource))
        && !request.existing.iter().any(|(node, _)| *node == candidate.node)
}

fn not_placed_with(candidate: &Candidate, request: &Request) -> bool {
    let filter = request.filter;
    if filter.not_place_with_rsc.iter().any(|rsc| candidate.resources_on_node.contains(&NameKey::new(rsc))) {
        return false;
    }
    match filter.not_place_with_rsc_regex.as_deref().filter(|p| !p.is_empty()) {
        // The regex was checked when the filter was stored; one that fails to build here
        // matches nothing. LINSTOR matches it case-insensitively against resource names.
        Some(pattern) => {
            match regex::RegexBuilder::new(&format!("^(?:{pattern})$")).case_insensitive(true).build() {
                Ok(regex) => !candidate.resources_on_node.iter().any(|rsc| regex.is_match(rsc.as_str())),
                Err(_) => true,
            }
        }
        None => true,
    }
}

fn enough_space(candidate: &Candidate, request: &Request) -> bool {
    candidate.available_kib.is_some_and(|available| available >= request.size_kib)
}
