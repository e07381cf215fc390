//! Resources and volumes: create, place, make available, view, toggle disk.

use crate::{Client, Error, ListOpts, Method};
use linstor_api::{
    ApiCallRc, AutoPlaceRequest, PropsModify, ResourceCreate, ResourceMakeAvailable, ResourceModify,
    ResourceWithVolumes, ToggleDiskRequest, Volume,
};

const RD: &str = "resource-definitions";

impl Client {
    /// `GET /v1/view/resources`: resources of every definition with their volumes (filters:
    /// `nodes`, `resources`, `storage_pools`, `props`; paging).
    pub async fn resource_view(&self, opts: &ListOpts) -> Result<Vec<ResourceWithVolumes>, Error> {
        self.get_json(&["v1", "view", "resources"], &opts.to_query()).await
    }

    /// `GET /v1/resource-definitions/{rd}/resources`.
    pub async fn resource_list(&self, rd: &str, opts: &ListOpts) -> Result<Vec<ResourceWithVolumes>, Error> {
        self.get_json(&["v1", RD, rd, "resources"], &opts.to_query()).await
    }

    /// `GET /v1/resource-definitions/{rd}/resources/{node}`.
    pub async fn resource_get(&self, rd: &str, node: &str) -> Result<ResourceWithVolumes, Error> {
        self.get_json(&["v1", RD, rd, "resources", node], &[]).await
    }

    /// `POST /v1/resource-definitions/{rd}/resources`: several resources in one call.
    pub async fn resource_create(
        &self,
        rd: &str,
        resources: &[ResourceCreate],
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", RD, rd, "resources"], &[], Some(resources)).await
    }

    /// `POST /v1/resource-definitions/{rd}/resources/{node}`.
    pub async fn resource_create_on_node(
        &self,
        rd: &str,
        node: &str,
        resource: &ResourceCreate,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", RD, rd, "resources", node], &[], Some(resource)).await
    }

    /// `PUT /v1/resource-definitions/{rd}/resources/{node}`.
    pub async fn resource_modify(
        &self,
        rd: &str,
        node: &str,
        change: &ResourceModify,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::PUT, &["v1", RD, rd, "resources", node], &[], Some(change)).await
    }

    /// `DELETE /v1/resource-definitions/{rd}/resources/{node}`; `keep_tiebreaker` keeps a
    /// diskless tie-breaker in its place when one is needed.
    pub async fn resource_delete(
        &self,
        rd: &str,
        node: &str,
        keep_tiebreaker: bool,
    ) -> Result<Vec<ApiCallRc>, Error> {
        let query =
            if keep_tiebreaker { vec![("keep_tiebreaker".to_string(), "true".to_string())] } else { vec![] };
        self.call_rc::<()>(Method::DELETE, &["v1", RD, rd, "resources", node], &query, None).await
    }

    /// `POST /v1/resource-definitions/{rd}/resources/{node}/make-available`: makes sure the
    /// resource is usable on the node (creates it, diskless or diskful, if needed).
    pub async fn resource_make_available(
        &self,
        rd: &str,
        node: &str,
        request: &ResourceMakeAvailable,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", RD, rd, "resources", node, "make-available"], &[], Some(request))
            .await
    }

    /// `POST /v1/resource-definitions/{rd}/resources/{node}/activate`.
    pub async fn resource_activate(&self, rd: &str, node: &str) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc_empty(Method::POST, &["v1", RD, rd, "resources", node, "activate"]).await
    }

    /// `POST /v1/resource-definitions/{rd}/resources/{node}/deactivate`.
    pub async fn resource_deactivate(&self, rd: &str, node: &str) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc_empty(Method::POST, &["v1", RD, rd, "resources", node, "deactivate"]).await
    }

    /// `PUT /v1/resource-definitions/{rd}/resources/{node}/toggle-disk`.
    pub async fn resource_toggle_disk(
        &self,
        rd: &str,
        node: &str,
        request: &ToggleDiskRequest,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::PUT, &["v1", RD, rd, "resources", node, "toggle-disk"], &[], Some(request)).await
    }

    /// `PUT .../toggle-disk/diskless[/{pool}]`: removes the disk of a resource.
    pub async fn resource_make_diskless(
        &self,
        rd: &str,
        node: &str,
        diskless_pool: Option<&str>,
    ) -> Result<Vec<ApiCallRc>, Error> {
        let mut path = vec!["v1", RD, rd, "resources", node, "toggle-disk", "diskless"];
        path.extend(diskless_pool);
        self.call_rc_empty(Method::PUT, &path).await
    }

    /// `PUT .../toggle-disk/diskful[/{pool}]`: gives a diskless resource a disk.
    pub async fn resource_make_diskful(
        &self,
        rd: &str,
        node: &str,
        pool: Option<&str>,
    ) -> Result<Vec<ApiCallRc>, Error> {
        let mut path = vec!["v1", RD, rd, "resources", node, "toggle-disk", "diskful"];
        path.extend(pool);
        self.call_rc_empty(Method::PUT, &path).await
    }

    /// `POST /v1/resource-definitions/{rd}/autoplace`.
    pub async fn resource_autoplace(
        &self,
        rd: &str,
        request: &AutoPlaceRequest,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", RD, rd, "autoplace"], &[], Some(request)).await
    }

    /// `GET /v1/resource-definitions/{rd}/resources/{node}/volumes`.
    pub async fn volume_list(&self, rd: &str, node: &str) -> Result<Vec<Volume>, Error> {
        self.get_json(&["v1", RD, rd, "resources", node, "volumes"], &[]).await
    }

    /// `GET /v1/resource-definitions/{rd}/resources/{node}/volumes/{number}`.
    pub async fn volume_get(&self, rd: &str, node: &str, number: i32) -> Result<Volume, Error> {
        let number = number.to_string();
        self.get_json(&["v1", RD, rd, "resources", node, "volumes", &number], &[]).await
    }

    /// `PUT /v1/resource-definitions/{rd}/resources/{node}/volumes/{number}`: properties.
    pub async fn volume_modify(
        &self,
        rd: &str,
        node: &str,
        number: i32,
        change: &PropsModify,
    ) -> Result<Vec<ApiCallRc>, Error> {
        let number = number.to_string();
        self.call_rc(Method::PUT, &["v1", RD, rd, "resources", node, "volumes", &number], &[], Some(change))
            .await
    }
}
