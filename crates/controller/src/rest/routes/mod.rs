//! Route table of the REST API.

mod controller;
mod definitions;
mod groups;
mod nodes;
mod resources;
mod snapshots;
mod storage;

use crate::Controller;
use axum::routing::{delete, get, options, post, put};
use axum::Router;
use std::sync::Arc;

pub type Ctl = axum::extract::State<Arc<Controller>>;

pub fn all() -> Router<Arc<Controller>> {
    Router::new()
        .route("/health", get(controller::health))
        .route("/v1/controller/version", get(controller::version))
        .route("/v1/controller/properties", get(controller::props).post(controller::set_props))
        .route("/v1/controller/properties/{*key}", delete(controller::delete_prop))
        .route("/v1/key-value-store", get(controller::kvs_list))
        .route(
            "/v1/key-value-store/{instance}",
            get(controller::kvs_get).put(controller::kvs_modify).delete(controller::kvs_delete),
        )
        .route("/v1/stats/{what}", get(controller::stats))
        .route("/v1/nodes", get(nodes::list).post(nodes::create))
        .route("/v1/nodes/{node}", get(nodes::get).put(nodes::modify).delete(nodes::delete))
        .route("/v1/nodes/{node}/lost", delete(nodes::lost))
        .route("/v1/nodes/{node}/reconnect", put(nodes::reconnect))
        .route("/v1/nodes/{node}/net-interfaces", get(nodes::netif_list).post(nodes::netif_create))
        .route(
            "/v1/nodes/{node}/net-interfaces/{netif}",
            get(nodes::netif_get).put(nodes::netif_modify).delete(nodes::netif_delete),
        )
        .route("/v1/nodes/{node}/storage-pools", get(storage::node_pools).post(storage::create))
        .route(
            "/v1/nodes/{node}/storage-pools/{pool}",
            get(storage::get).put(storage::modify).delete(storage::delete),
        )
        .route("/v1/view/storage-pools", get(storage::view))
        .route("/v1/view/resources", get(resources::view))
        .route("/v1/resource-definitions/{rd}/autoplace", post(resources::autoplace))
        .route("/v1/resource-definitions/{rd}/resources", get(resources::list).post(resources::create))
        .route(
            "/v1/resource-definitions/{rd}/resources/{node}",
            get(resources::get).post(resources::create_on_node).delete(resources::delete),
        )
        .route(
            "/v1/resource-definitions/{rd}/resources/{node}/make-available",
            post(resources::make_available),
        )
        .route("/v1/resource-definitions/{rd}/resources/{node}/volumes", get(resources::volumes))
        .route("/v1/resource-definitions/{rd}/resources/{node}/volumes/{number}", get(resources::volume))
        .route("/v1/storage-pool-definitions", get(storage::spd_list).post(storage::spd_create))
        .route(
            "/v1/storage-pool-definitions/{pool}",
            get(storage::spd_get).put(storage::spd_modify).delete(storage::spd_delete),
        )
        .route("/v1/resource-groups", get(groups::list).post(groups::create))
        .route("/v1/resource-groups/{group}", get(groups::get).put(groups::modify).delete(groups::delete))
        .route("/v1/resource-groups/{group}/spawn", post(groups::spawn))
        .route("/v1/resource-groups/{group}/query-max-volume-size", get(groups::query_max_volume_size))
        .route("/v1/resource-groups/{group}/query-size-info", post(groups::query_size_info))
        .route("/v1/query-max-volume-size", options(groups::query_max_volume_size_by_filter))
        .route("/v1/resource-groups/{group}/volume-groups", get(groups::vg_list).post(groups::vg_create))
        .route(
            "/v1/resource-groups/{group}/volume-groups/{number}",
            get(groups::vg_get).put(groups::vg_modify).delete(groups::vg_delete),
        )
        .route("/v1/view/snapshots", get(snapshots::view))
        .route("/v1/actions/snapshot/multi", post(snapshots::create_multi))
        .route("/v1/resource-definitions/{rd}/snapshots", get(snapshots::list).post(snapshots::create))
        .route(
            "/v1/resource-definitions/{rd}/snapshots/{snap}",
            get(snapshots::get).put(snapshots::modify).delete(snapshots::delete),
        )
        .route("/v1/resource-definitions/{rd}/snapshot-rollback/{snap}", post(snapshots::rollback))
        .route(
            "/v1/resource-definitions/{rd}/snapshot-restore-volume-definition/{snap}",
            post(snapshots::restore_volume_definitions),
        )
        .route(
            "/v1/resource-definitions/{rd}/snapshot-restore-resource/{snap}",
            post(snapshots::restore_resources),
        )
        .route("/v1/resource-definitions/{rd}/clone", post(snapshots::clone))
        .route("/v1/resource-definitions/{rd}/clone/{clone}", get(snapshots::clone_status))
        .route("/v1/resource-definitions", get(definitions::list).post(definitions::create))
        .route(
            "/v1/resource-definitions/{rd}",
            get(definitions::get).put(definitions::modify).delete(definitions::delete),
        )
        .route(
            "/v1/resource-definitions/{rd}/volume-definitions",
            get(definitions::vd_list).post(definitions::vd_create),
        )
        .route(
            "/v1/resource-definitions/{rd}/volume-definitions/{number}",
            get(definitions::vd_get).put(definitions::vd_modify).delete(definitions::vd_delete),
        )
}

/// A volume number from a path; anything else is not a volume that exists.
pub fn volume_number(text: &str) -> Option<i32> {
    text.parse().ok()
}
