//! Storage pools, storage pool definitions and the max-volume-size query.

use crate::{Client, Error, ListOpts, Method};
use linstor_api::{
    ApiCallRc, AutoSelectFilter, MaxVolumeSizes, PropsModify, StoragePool, StoragePoolDefinition,
};

impl Client {
    /// `GET /v1/view/storage-pools`: pools of every node (filters: `nodes`, `storage_pools`,
    /// `props`, `cached`; paging).
    pub async fn storage_pool_view(&self, opts: &ListOpts) -> Result<Vec<StoragePool>, Error> {
        self.get_json(&["v1", "view", "storage-pools"], &opts.to_query()).await
    }

    /// `GET /v1/nodes/{node}/storage-pools`.
    pub async fn storage_pool_list(&self, node: &str, opts: &ListOpts) -> Result<Vec<StoragePool>, Error> {
        self.get_json(&["v1", "nodes", node, "storage-pools"], &opts.to_query()).await
    }

    /// `GET /v1/nodes/{node}/storage-pools/{pool}`.
    pub async fn storage_pool_get(&self, node: &str, pool: &str) -> Result<StoragePool, Error> {
        self.get_json(&["v1", "nodes", node, "storage-pools", pool], &[]).await
    }

    /// `POST /v1/nodes/{node}/storage-pools`.
    pub async fn storage_pool_create(&self, node: &str, pool: &StoragePool) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", "nodes", node, "storage-pools"], &[], Some(pool)).await
    }

    /// `PUT /v1/nodes/{node}/storage-pools/{pool}`: properties.
    pub async fn storage_pool_modify(
        &self,
        node: &str,
        pool: &str,
        change: &PropsModify,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::PUT, &["v1", "nodes", node, "storage-pools", pool], &[], Some(change)).await
    }

    /// `DELETE /v1/nodes/{node}/storage-pools/{pool}`.
    pub async fn storage_pool_delete(&self, node: &str, pool: &str) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc_empty(Method::DELETE, &["v1", "nodes", node, "storage-pools", pool]).await
    }

    /// `GET /v1/storage-pool-definitions`.
    pub async fn storage_pool_definition_list(
        &self,
        opts: &ListOpts,
    ) -> Result<Vec<StoragePoolDefinition>, Error> {
        self.get_json(&["v1", "storage-pool-definitions"], &opts.to_query()).await
    }

    /// `GET /v1/storage-pool-definitions/{pool}`.
    pub async fn storage_pool_definition_get(&self, pool: &str) -> Result<StoragePoolDefinition, Error> {
        self.get_json(&["v1", "storage-pool-definitions", pool], &[]).await
    }

    /// `POST /v1/storage-pool-definitions`.
    pub async fn storage_pool_definition_create(
        &self,
        definition: &StoragePoolDefinition,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", "storage-pool-definitions"], &[], Some(definition)).await
    }

    /// `PUT /v1/storage-pool-definitions/{pool}`.
    pub async fn storage_pool_definition_modify(
        &self,
        pool: &str,
        change: &PropsModify,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::PUT, &["v1", "storage-pool-definitions", pool], &[], Some(change)).await
    }

    /// `DELETE /v1/storage-pool-definitions/{pool}`.
    pub async fn storage_pool_definition_delete(&self, pool: &str) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc_empty(Method::DELETE, &["v1", "storage-pool-definitions", pool]).await
    }

    /// `OPTIONS /v1/query-max-volume-size`: the largest volume each candidate pool set could
    /// hold under `filter`.
    pub async fn query_max_volume_size(&self, filter: &AutoSelectFilter) -> Result<MaxVolumeSizes, Error> {
        self.call_json(Method::OPTIONS, &["v1", "query-max-volume-size"], Some(filter)).await
    }
}
