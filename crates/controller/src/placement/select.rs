//! Choosing replicas among the usable pools: best score first, one pool per node, within
//! the spread rules.

use super::{Candidate, Request};
use linstor_api::Props;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// A spread rule entry: `key` or `key=value`.
fn split_rule(rule: &str) -> (&str, Option<&str>) {
    match rule.split_once('=') {
        Some((key, value)) => (key, Some(value)),
        None => (rule, None),
    }
}

/// Orders candidates: most available space first, then fewest resources, then by name.
fn by_score(candidates: &mut [&Candidate]) {
    candidates.sort_by_key(|c| {
        (Reverse(c.available_kib.unwrap_or(0)), c.resource_count, c.node.clone(), c.pool.clone())
    });
}

/// Whether `props` may join a selection whose members (existing replicas and chosen pools) have
/// `members` props, under the `replicas_on_different` and `x_replicas_on_different_map` rules.
fn spread_allows(request: &Request, members: &[&Props], props: &Props) -> bool {
    for rule in &request.filter.replicas_on_different {
        let (key, value) = split_rule(rule);
        let Some(mine) = props.get(key) else { continue };
        if value.is_some_and(|v| v != mine) {
            continue;
        }
        if members.iter().any(|m| m.get(key) == Some(mine)) {
            return false;
        }
    }
    for (key, limit) in &request.filter.x_replicas_on_different_map {
        let Some(mine) = props.get(key) else { continue };
        let same = members.iter().filter(|m| m.get(key) == Some(mine)).count();
        if same >= (*limit).max(1) as usize {
            return false;
        }
    }
    true
}

/// Greedy selection of distinct nodes from `candidates` (already in score order).
fn greedy<'c>(candidates: &[&'c Candidate], request: &Request) -> Vec<&'c Candidate> {
    let mut chosen: Vec<&Candidate> = Vec::new();
    let wanted = request.wanted();
    for candidate in candidates {
        if chosen.len() == wanted {
            break;
        }
        if chosen.iter().any(|c| c.node == candidate.node) {
            continue;
        }
        let members: Vec<&Props> =
            request.existing.iter().map(|(_, p)| p).chain(chosen.iter().map(|c| &c.node_props)).collect();
        if spread_allows(request, &members, &candidate.node_props) {
            chosen.push(candidate);
        }
    }
    chosen
}

/// The values of `replicas_on_same` keys a candidate has, or `None` if it lacks one or has
/// a value other than the rule asks for.
fn same_group(request: &Request, props: &Props) -> Option<Vec<String>> {
    request
        .filter
        .replicas_on_same
        .iter()
        .map(|rule| {
            let (key, value) = split_rule(rule);
            let mine = props.get(key)?;
            value.is_none_or(|v| v == mine).then(|| mine.clone())
        })
        .collect()
}

/// Selects up to `request.wanted()` candidates, best first.
pub fn select<'c>(mut candidates: Vec<&'c Candidate>, request: &Request) -> Vec<&'c Candidate> {
    by_score(&mut candidates);
    if request.filter.replicas_on_same.is_empty() {
        return greedy(&candidates, request);
    }
    // All replicas must share the values of the `replicas_on_same` keys: existing replicas fix
    // the group; otherwise every group is tried and the one that places most (then the best
    // scored) wins.
    let mut groups: BTreeMap<Vec<String>, Vec<&Candidate>> = BTreeMap::new();
    for candidate in candidates {
        if let Some(group) = same_group(request, &candidate.node_props) {
            groups.entry(group).or_default().push(candidate);
        }
    }
    if let Some((_, props)) = request.existing.first() {
        let fixed: Option<Vec<String>> = same_group(request, props);
        return match fixed.and_then(|group| groups.remove(&group)) {
            Some(members) => greedy(&members, request),
            None => Vec::new(),
        };
    }
    groups
        .values()
        .map(|members| greedy(members, request))
        .max_by_key(|chosen| (chosen.len(), chosen.iter().map(|c| c.available_kib.unwrap_or(0)).sum::<i64>()))
        .unwrap_or_default()
}
