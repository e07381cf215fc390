//! Resource groups, their volume groups, spawn and the size queries.

use crate::{Client, Error, ListOpts, Method};
use linstor_api::{
    ApiCallRc, MaxVolumeSizes, QuerySizeInfoRequest, QuerySizeInfoResponse, ResourceGroup,
    ResourceGroupAdjust, ResourceGroupModify, ResourceGroupSpawn, VolumeGroup, VolumeGroupModify,
};

impl Client {
    /// `GET /v1/resource-groups` (filters: `resource_groups`, `props`; paging).
    pub async fn resource_group_list(&self, opts: &ListOpts) -> Result<Vec<ResourceGroup>, Error> {
        self.get_json(&["v1", "resource-groups"], &opts.to_query()).await
    }

    /// `GET /v1/resource-groups/{group}`.
    pub async fn resource_group_get(&self, group: &str) -> Result<ResourceGroup, Error> {
        self.get_json(&["v1", "resource-groups", group], &[]).await
    }

    /// `POST /v1/resource-groups`.
    pub async fn resource_group_create(&self, group: &ResourceGroup) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", "resource-groups"], &[], Some(group)).await
    }

    /// `PUT /v1/resource-groups/{group}`.
    pub async fn resource_group_modify(
        &self,
        group: &str,
        change: &ResourceGroupModify,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::PUT, &["v1", "resource-groups", group], &[], Some(change)).await
    }

    /// `DELETE /v1/resource-groups/{group}`.
    pub async fn resource_group_delete(&self, group: &str) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc_empty(Method::DELETE, &["v1", "resource-groups", group]).await
    }

    /// `POST /v1/resource-groups/{group}/spawn`: a resource definition with volume definitions
    /// of the given sizes, placed by the group's rules unless `definitions_only`.
    pub async fn resource_group_spawn(
        &self,
        group: &str,
        spawn: &ResourceGroupSpawn,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", "resource-groups", group, "spawn"], &[], Some(spawn)).await
    }

    /// `POST /v1/resource-groups/{group}/adjust`.
    pub async fn resource_group_adjust(
        &self,
        group: &str,
        adjust: &ResourceGroupAdjust,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", "resource-groups", group, "adjust"], &[], Some(adjust)).await
    }

    /// `POST /v1/resource-groups/adjustall`.
    pub async fn resource_group_adjust_all(
        &self,
        adjust: &ResourceGroupAdjust,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", "resource-groups", "adjustall"], &[], Some(adjust)).await
    }

    /// `GET /v1/resource-groups/{group}/query-max-volume-size`.
    pub async fn resource_group_query_max_volume_size(&self, group: &str) -> Result<MaxVolumeSizes, Error> {
        self.get_json(&["v1", "resource-groups", group, "query-max-volume-size"], &[]).await
    }

    /// `POST /v1/resource-groups/{group}/query-size-info`.
    pub async fn resource_group_query_size_info(
        &self,
        group: &str,
        request: &QuerySizeInfoRequest,
    ) -> Result<QuerySizeInfoResponse, Error> {
        self.call_json(Method::POST, &["v1", "resource-groups", group, "query-size-info"], Some(request))
            .await
    }

    /// `GET /v1/resource-groups/{group}/volume-groups`.
    pub async fn volume_group_list(&self, group: &str) -> Result<Vec<VolumeGroup>, Error> {
        self.get_json(&["v1", "resource-groups", group, "volume-groups"], &[]).await
    }

    /// `GET /v1/resource-groups/{group}/volume-groups/{number}`.
    pub async fn volume_group_get(&self, group: &str, number: i32) -> Result<VolumeGroup, Error> {
        let number = number.to_string();
        self.get_json(&["v1", "resource-groups", group, "volume-groups", &number], &[]).await
    }

    /// `POST /v1/resource-groups/{group}/volume-groups`.
    pub async fn volume_group_create(
        &self,
        group: &str,
        volume_group: &VolumeGroup,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(
            Method::POST,
            &["v1", "resource-groups", group, "volume-groups"],
            &[],
            Some(volume_group),
        )
        .await
    }

    /// `PUT /v1/resource-groups/{group}/volume-groups/{number}`.
    pub async fn volume_group_modify(
        &self,
        group: &str,
        number: i32,
        change: &VolumeGroupModify,
    ) -> Result<Vec<ApiCallRc>, Error> {
        let number = number.to_string();
        self.call_rc(
            Method::PUT,
            &["v1", "resource-groups", group, "volume-groups", &number],
            &[],
            Some(change),
        )
        .await
    }

    /// `DELETE /v1/resource-groups/{group}/volume-groups/{number}`.
    pub async fn volume_group_delete(&self, group: &str, number: i32) -> Result<Vec<ApiCallRc>, Error> {
        let number = number.to_string();
        self.call_rc_empty(Method::DELETE, &["v1", "resource-groups", group, "volume-groups", &number]).await
    }
}
