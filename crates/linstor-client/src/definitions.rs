//! Resource definitions and volume definitions, clone and sync status.

use crate::{Client, Error, ListOpts, Method};
use linstor_api::{
    ApiCallRc, ResourceDefinition, ResourceDefinitionCloneRequest, ResourceDefinitionCloneStarted,
    ResourceDefinitionCloneStatus, ResourceDefinitionCreate, ResourceDefinitionModify,
    ResourceDefinitionSyncStatus, VolumeDefinition, VolumeDefinitionCreate, VolumeDefinitionModify,
};

impl Client {
    /// `GET /v1/resource-definitions` (filters: `resource_definitions`, `props`,
    /// `with_volume_definitions`; paging).
    pub async fn resource_definition_list(&self, opts: &ListOpts) -> Result<Vec<ResourceDefinition>, Error> {
        self.get_json(&["v1", "resource-definitions"], &opts.to_query()).await
    }

    /// `GET /v1/resource-definitions/{rd}`.
    pub async fn resource_definition_get(&self, rd: &str) -> Result<ResourceDefinition, Error> {
        self.get_json(&["v1", "resource-definitions", rd], &[]).await
    }

    /// `POST /v1/resource-definitions`.
    pub async fn resource_definition_create(
        &self,
        create: &ResourceDefinitionCreate,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", "resource-definitions"], &[], Some(create)).await
    }

    /// `PUT /v1/resource-definitions/{rd}`: properties, port, peer slots, layers, group.
    pub async fn resource_definition_modify(
        &self,
        rd: &str,
        change: &ResourceDefinitionModify,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::PUT, &["v1", "resource-definitions", rd], &[], Some(change)).await
    }

    /// `DELETE /v1/resource-definitions/{rd}`.
    pub async fn resource_definition_delete(&self, rd: &str) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc_empty(Method::DELETE, &["v1", "resource-definitions", rd]).await
    }

    /// `POST /v1/resource-definitions/{rd}/clone`: starts a clone; poll
    /// [`Client::resource_definition_clone_status`] until it is done.
    pub async fn resource_definition_clone(
        &self,
        rd: &str,
        request: &ResourceDefinitionCloneRequest,
    ) -> Result<ResourceDefinitionCloneStarted, Error> {
        let started: ResourceDefinitionCloneStarted =
            self.call_json(Method::POST, &["v1", "resource-definitions", rd, "clone"], Some(request)).await?;
        if crate::error::has_error(&started.messages) {
            return Err(Error::Api(started.messages));
        }
        Ok(started)
    }

    /// `GET /v1/resource-definitions/{rd}/clone/{clone}`.
    pub async fn resource_definition_clone_status(
        &self,
        rd: &str,
        clone: &str,
    ) -> Result<ResourceDefinitionCloneStatus, Error> {
        self.get_json(&["v1", "resource-definitions", rd, "clone", clone], &[]).await
    }

    /// `GET /v1/resource-definitions/{rd}/sync-status`.
    pub async fn resource_definition_sync_status(
        &self,
        rd: &str,
    ) -> Result<ResourceDefinitionSyncStatus, Error> {
        self.get_json(&["v1", "resource-definitions", rd, "sync-status"], &[]).await
    }

    /// `GET /v1/resource-definitions/{rd}/volume-definitions`.
    pub async fn volume_definition_list(&self, rd: &str) -> Result<Vec<VolumeDefinition>, Error> {
        self.get_json(&["v1", "resource-definitions", rd, "volume-definitions"], &[]).await
    }

    /// `GET /v1/resource-definitions/{rd}/volume-definitions/{number}`.
    pub async fn volume_definition_get(&self, rd: &str, number: i32) -> Result<VolumeDefinition, Error> {
        let number = number.to_string();
        self.get_json(&["v1", "resource-definitions", rd, "volume-definitions", &number], &[]).await
    }

    /// `POST /v1/resource-definitions/{rd}/volume-definitions`.
    pub async fn volume_definition_create(
        &self,
        rd: &str,
        create: &VolumeDefinitionCreate,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(
            Method::POST,
            &["v1", "resource-definitions", rd, "volume-definitions"],
            &[],
            Some(create),
        )
        .await
    }

    /// `PUT /v1/resource-definitions/{rd}/volume-definitions/{number}`: size, properties, flags.
    pub async fn volume_definition_modify(
        &self,
        rd: &str,
        number: i32,
        change: &VolumeDefinitionModify,
    ) -> Result<Vec<ApiCallRc>, Error> {
        let number = number.to_string();
        self.call_rc(
            Method::PUT,
            &["v1", "resource-definitions", rd, "volume-definitions", &number],
            &[],
            Some(change),
        )
        .await
    }

    /// Resizes a volume definition (a [`Client::volume_definition_modify`] with only `size_kib`).
    pub async fn volume_definition_resize(
        &self,
        rd: &str,
        number: i32,
        size_kib: i64,
    ) -> Result<Vec<ApiCallRc>, Error> {
        let change = VolumeDefinitionModify { size_kib: Some(size_kib), ..Default::default() };
        self.volume_definition_modify(rd, number, &change).await
    }

    /// `DELETE /v1/resource-definitions/{rd}/volume-definitions/{number}`.
    pub async fn volume_definition_delete(&self, rd: &str, number: i32) -> Result<Vec<ApiCallRc>, Error> {
        let number = number.to_string();
        self.call_rc_empty(Method::DELETE, &["v1", "resource-definitions", rd, "volume-definitions", &number])
            .await
    }
}
