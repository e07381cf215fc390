//! Snapshots: create, list, delete, rollback and restore.

use crate::{Client, Error, ListOpts, Method};
use linstor_api::{
    ApiCallRc, CreateMultiSnapshotRequest, PropsModify, Snapshot, SnapshotRestore, SnapshotRollback,
};

const RD: &str = "resource-definitions";

impl Client {
    /// `GET /v1/view/snapshots`: snapshots of every definition (filters: `nodes`, `resources`,
    /// `snapshots`; paging).
    pub async fn snapshot_view(&self, opts: &ListOpts) -> Result<Vec<Snapshot>, Error> {
        self.get_json(&["v1", "view", "snapshots"], &opts.to_query()).await
    }

    /// `GET /v1/resource-definitions/{rd}/snapshots`.
    pub async fn snapshot_list(&self, rd: &str) -> Result<Vec<Snapshot>, Error> {
        self.get_json(&["v1", RD, rd, "snapshots"], &[]).await
    }

    /// `GET /v1/resource-definitions/{rd}/snapshots/{snapshot}`.
    pub async fn snapshot_get(&self, rd: &str, snapshot: &str) -> Result<Snapshot, Error> {
        self.get_json(&["v1", RD, rd, "snapshots", snapshot], &[]).await
    }

    /// `POST /v1/resource-definitions/{rd}/snapshots`: `snapshot.name` names it, `nodes`
    /// limits it to some nodes (all nodes of the resource when empty).
    pub async fn snapshot_create(&self, rd: &str, snapshot: &Snapshot) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", RD, rd, "snapshots"], &[], Some(snapshot)).await
    }

    /// `POST /v1/actions/snapshot/multi`: snapshots of several definitions at once.
    pub async fn snapshot_create_multi(
        &self,
        request: &CreateMultiSnapshotRequest,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", "actions", "snapshot", "multi"], &[], Some(request)).await
    }

    /// `PUT /v1/resource-definitions/{rd}/snapshots/{snapshot}`: properties.
    pub async fn snapshot_modify(
        &self,
        rd: &str,
        snapshot: &str,
        change: &PropsModify,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::PUT, &["v1", RD, rd, "snapshots", snapshot], &[], Some(change)).await
    }

    /// `DELETE /v1/resource-definitions/{rd}/snapshots/{snapshot}`, on `nodes` only when given.
    pub async fn snapshot_delete(
        &self,
        rd: &str,
        snapshot: &str,
        nodes: &[String],
    ) -> Result<Vec<ApiCallRc>, Error> {
        let query: Vec<(String, String)> = nodes.iter().map(|n| ("nodes".to_string(), n.clone())).collect();
        self.call_rc::<()>(Method::DELETE, &["v1", RD, rd, "snapshots", snapshot], &query, None).await
    }

    /// `POST /v1/resource-definitions/{rd}/snapshot-rollback/{snapshot}`.
    pub async fn snapshot_rollback(
        &self,
        rd: &str,
        snapshot: &str,
        request: &SnapshotRollback,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", RD, rd, "snapshot-rollback", snapshot], &[], Some(request)).await
    }

    /// `POST /v1/resource-definitions/{rd}/snapshot-restore-volume-definition/{snapshot}`:
    /// creates the volume definitions of `request.to_resource` from the snapshot.
    pub async fn snapshot_restore_volume_definition(
        &self,
        rd: &str,
        snapshot: &str,
        request: &SnapshotRestore,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(
            Method::POST,
            &["v1", RD, rd, "snapshot-restore-volume-definition", snapshot],
            &[],
            Some(request),
        )
        .await
    }

    /// `POST /v1/resource-definitions/{rd}/snapshot-restore-resource/{snapshot}`: creates the
    /// resources of `request.to_resource` (on `request.nodes`, or where the snapshot is).
    pub async fn snapshot_restore_resource(
        &self,
        rd: &str,
        snapshot: &str,
        request: &SnapshotRestore,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", RD, rd, "snapshot-restore-resource", snapshot], &[], Some(request))
            .await
    }
}
