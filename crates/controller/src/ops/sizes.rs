//! Size queries: how large a volume a resource group (or a placement filter) can still place.

use super::groups::{checked_filter, rg_not_found};
use super::resources::{candidates, DEFAULT_OVERSUBSCRIPTION};
use super::Call;
use crate::placement::{self, Request};
use crate::Controller;
use linstor_api::consts::*;
use linstor_api::{
    ApiCallRc, AutoSelectFilter, Candidate, MaxVolumeSizes, QuerySizeInfoResponse, QuerySizeInfoSpaceInfo,
    QuerySizeInfoSpawnResult,
};
use std::collections::BTreeSet;

const QUERY: Call = Call::new(MASK_RSC_GRP, 0);

/// One placement of `filter` with no size asked: the chosen pools, or none.
fn best_placement<'c>(
    pool_candidates: &'c [placement::Candidate],
    filter: &AutoSelectFilter,
) -> Option<Vec<&'c placement::Candidate>> {
    let request = Request { resource: "", filter, size_kib: 0, layer_stack: &[], existing: Vec::new() };
    placement::place(pool_candidates, &request).ok().filter(|chosen| !chosen.is_empty())
}

impl Controller {
    fn group_filter(
        &self,
        group: Option<&str>,
        over: &AutoSelectFilter,
    ) -> Result<AutoSelectFilter, ApiCallRc> {
        let base = match group {
            Some(name) => self
                .state()
                .resource_group(name)
                .ok_or_else(|| rg_not_found(QUERY, name))?
                .select_filter
                .clone(),
            None => AutoSelectFilter::default(),
        };
        checked_filter(QUERY, &base.merged_with(over))
    }

    /// `query-max-volume-size`: for each storage pool name, the largest volume that fits on
    /// as many nodes as the filter places replicas.
    pub fn query_max_volume_size(
        &self,
        group: Option<&str>,
        over: &AutoSelectFilter,
    ) -> Result<MaxVolumeSizes, ApiCallRc> {
        let filter = self.group_filter(group, over)?;
        let state = self.state();
        let all = candidates(self, &state);
        let pool_names: BTreeSet<String> = all.iter().map(|c| c.pool.clone()).collect();
        let mut result = Vec::new();
        for pool in pool_names {
            let pinned = AutoSelectFilter {
                storage_pool: Some(pool.clone()),
                storage_pool_list: Vec::new(),
                ..filter.clone()
            };
            let Some(chosen) = best_placement(&all, &pinned) else { continue };
            result.push(Candidate {
                storage_pool: Some(chosen[0].pool.clone()),
                max_volume_size_kib: chosen.iter().filter_map(|c| c.available_kib).min(),
                node_names: chosen.iter().map(|c| c.node_name.clone()).collect(),
                all_thin: Some(chosen.iter().all(|c| c.provider.is_thin())),
            });
        }
        if result.is_empty() {
            return Err(QUERY
                .rc(FAIL_NOT_ENOUGH_NODES, "No storage pool can hold the replicas this placement asks for.")
                .with_correction("Add online nodes with storage pools, or relax the placement rules."));
        }
        Ok(MaxVolumeSizes {
            candidates: result,
            default_max_oversubscription_ratio: Some(DEFAULT_OVERSUBSCRIPTION),
        })
    }

    /// `query-size-info`: the space a spawn from the group would get, and where it would go.
    pub fn query_size_info(
        &self,
        group: &str,
        over: &AutoSelectFilter,
    ) -> Result<QuerySizeInfoResponse, ApiCallRc> {
        let filter = self.group_filter(Some(group), over)?;
        let state = self.state();
        let all = candidates(self, &state);
        let chosen = best_placement(&all, &filter).unwrap_or_default();
        let capacity: i64 = chosen
            .iter()
            .filter_map(|c| {
                let observed = self.satellites.observed(&c.node)?;
                observed
                    .storage_pools
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(&c.pool))
                    .map(|p| p.total_capacity_kib)
            })
            .min()
            .unwrap_or(0);
        let max = chosen.iter().filter_map(|c| c.available_kib).min().unwrap_or(0);
        Ok(QuerySizeInfoResponse {
            space_info: Some(QuerySizeInfoSpaceInfo {
                max_vlm_size_in_kib: max,
                available_size_in_kib: Some(max),
                capacity_in_kib: Some(capacity),
                default_max_oversubscription_ratio: Some(DEFAULT_OVERSUBSCRIPTION),
                max_oversubscription_ratio: Some(DEFAULT_OVERSUBSCRIPTION),
                max_free_capacity_oversubscription_ratio: Some(DEFAULT_OVERSUBSCRIPTION),
                max_total_capacity_oversubscription_ratio: Some(DEFAULT_OVERSUBSCRIPTION),
                next_spawn_result: chosen
                    .iter()
                    .map(|c| QuerySizeInfoSpawnResult {
                        node_name: c.node_name.clone(),
                        stor_pool_name: c.pool.clone(),
                        ..Default::default()
                    })
                    .collect(),
            }),
            reports: Vec::new(),
        })
    }
}
