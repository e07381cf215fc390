//! The autoplacer: which storage pools get the replicas of a resource definition.
//!
//! Placement is a chain of small filters, each of which may reject a candidate pool for one
//! stated reason, followed by a selection that takes the best-scored pools (most free space,
//! then fewest resources) on distinct nodes while keeping the spread rules
//! (`replicas_on_same`, `replicas_on_different`, `x_replicas_on_different_map`). Everything
//! here is pure: the caller gathers the candidates from the state and the satellites' reports.

mod filters;
mod select;

pub use filters::FILTERS;
pub use select::select;

use crate::model::ProviderKind;
use linstor_api::names::NameKey;
use linstor_api::{AutoSelectFilter, Props};
use std::collections::BTreeSet;

/// One storage pool that could hold a replica.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub node: NameKey,
    pub node_name: String,
    pub pool: String,
    pub provider: ProviderKind,
    pub node_props: Props,
    pub online: bool,
    /// Layers the node's satellite supports.
    pub layers: Vec<String>,
    /// Free space in KiB a new volume may use (thin pools: with oversubscription); `None`
    /// while the satellite has not reported the pool.
    pub available_kib: Option<i64>,
    /// Resources already on the node.
    pub resource_count: usize,
    /// Resource definitions (case-folded) with a replica on the node.
    pub resources_on_node: BTreeSet<NameKey>,
}

/// What is being placed.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub resource: &'a str,
    pub filter: &'a AutoSelectFilter,
    /// Total size of the resource's volumes, in KiB.
    pub size_kib: i64,
    /// The layer stack the replicas will have.
    pub layer_stack: &'a [String],
    /// Nodes already holding a diskful replica, with their props (they count toward the
    /// replica total and constrain the spread rules).
    pub existing: Vec<(NameKey, Props)>,
}

impl Request<'_> {
    /// How many new replicas are wanted.
    pub fn wanted(&self) -> usize {
        let total = self.filter.place_count.unwrap_or(2).max(0) as usize;
        let additional = self.filter.additional_place_count.unwrap_or(0).max(0) as usize;
        total.saturating_sub(self.existing.len()) + additional
    }
}

/// Why placement failed, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementError {
    pub wanted: usize,
    pub possible: usize,
    pub cause: String,
}

/// Runs the filter chain and the selection: the chosen candidates, best first.
pub fn place<'c>(
    candidates: &'c [Candidate],
    request: &Request,
) -> Result<Vec<&'c Candidate>, PlacementError> {
    let wanted = request.wanted();
    let mut rejected: Vec<(&'static str, usize)> = Vec::new();
    let mut usable: Vec<&Candidate> = Vec::new();
    'candidates: for candidate in candidates {
        for (name, filter) in FILTERS {
            if !filter(candidate, request) {
                match rejected.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, count)) => *count += 1,
                    None => rejected.push((name, 1)),
                }
                continue 'candidates;
            }
        }
        usable.push(candidate);
    }
    let chosen = select(usable.clone(), request);
    if chosen.len() >= wanted {
        return Ok(chosen.into_iter().take(wanted).collect());
    }
    let mut reasons: Vec<String> = rejected.iter().map(|(name, count)| format!("{count} {name}")).collect();
    let usable_nodes: BTreeSet<&NameKey> = usable.iter().map(|c| &c.node).collect();
    let rules = spread_rules(request.filter);
    if rules.is_empty() {
        reasons.push(format!("{} usable pool(s) on {} node(s)", usable.len(), usable_nodes.len()));
    } else {
        reasons.push(format!(
            "{} usable pool(s) on {} node(s), {} of them selectable together under {}",
            usable.len(),
            usable_nodes.len(),
            chosen.len(),
            rules.join(", ")
        ));
    }
    Err(PlacementError {
        wanted,
        possible: chosen.len(),
        cause: format!("Of {} candidate storage pool(s): {}.", candidates.len(), reasons.join("; ")),
    })
}

/// The spread rules of a filter, as written in it (for messages).
fn spread_rules(filter: &AutoSelectFilter) -> Vec<String> {
    let mut rules = Vec::new();
    if !filter.replicas_on_same.is_empty() {
        rules.push(format!("replicas_on_same [{}]", filter.replicas_on_same.join(", ")));
    }
    if !filter.replicas_on_different.is_empty() {
        rules.push(format!("replicas_on_different [{}]", filter.replicas_on_different.join(", ")));
    }
    if !filter.x_replicas_on_different_map.is_empty() {
        let map: Vec<String> =
            filter.x_replicas_on_different_map.iter().map(|(k, v)| format!("{k}={v}")).collect();
        rules.push(format!("x_replicas_on_different_map [{}]", map.join(", ")));
    }
    rules
}

/// Where `diskless_on_remaining` puts diskless replicas, and where it cannot: every online
/// node (with a diskless pool) that holds no replica of the resource and was not chosen,
/// split by whether it has DRBD (a diskless replica is a DRBD client; without DRBD there is
/// nothing to attach). Answers (with DRBD, without DRBD), each in node order without repeats.
pub fn diskless_on_remaining<'c>(
    candidates: &'c [Candidate],
    request: &Request,
    chosen: &[&Candidate],
) -> (Vec<&'c Candidate>, Vec<&'c Candidate>) {
    let resource = NameKey::new(request.resource);
    let mut seen: BTreeSet<&NameKey> = chosen.iter().map(|c| &c.node).collect();
    seen.extend(request.existing.iter().map(|(node, _)| node));
    let mut remaining: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.online && c.provider == ProviderKind::Diskless)
        .filter(|c| !c.resources_on_node.contains(&resource))
        .collect();
    remaining.sort_by(|a, b| a.node.cmp(&b.node));
    remaining.retain(|c| seen.insert(&c.node));
    remaining.into_iter().partition(|c| c.layers.iter().any(|l| l.eq_ignore_ascii_case("DRBD")))
}

#[cfg(test)]
mod tests;
