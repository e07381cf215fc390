//! Nodes and their network interfaces.

use crate::{Client, Error, ListOpts, Method};
use linstor_api::{ApiCallRc, NetInterface, Node, NodeModify, NodeRestore};

impl Client {
    /// `GET /v1/nodes` (filters: `nodes`, `props`; paging).
    pub async fn node_list(&self, opts: &ListOpts) -> Result<Vec<Node>, Error> {
        self.get_json(&["v1", "nodes"], &opts.to_query()).await
    }

    /// `GET /v1/nodes/{node}`; [`Error::NotFound`] when it does not exist.
    pub async fn node_get(&self, node: &str) -> Result<Node, Error> {
        self.get_json(&["v1", "nodes", node], &[]).await
    }

    /// `POST /v1/nodes`.
    pub async fn node_create(&self, node: &Node) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", "nodes"], &[], Some(node)).await
    }

    /// `PUT /v1/nodes/{node}`: type and properties.
    pub async fn node_modify(&self, node: &str, change: &NodeModify) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::PUT, &["v1", "nodes", node], &[], Some(change)).await
    }

    /// `DELETE /v1/nodes/{node}`.
    pub async fn node_delete(&self, node: &str) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc_empty(Method::DELETE, &["v1", "nodes", node]).await
    }

    /// `DELETE /v1/nodes/{node}/lost`: removes a node that will never come back, with everything
    /// on it.
    pub async fn node_lost(&self, node: &str) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc_empty(Method::DELETE, &["v1", "nodes", node, "lost"]).await
    }

    /// `PUT /v1/nodes/{node}/reconnect`.
    pub async fn node_reconnect(&self, node: &str) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc_empty(Method::PUT, &["v1", "nodes", node, "reconnect"]).await
    }

    /// `PUT /v1/nodes/{node}/restore`: brings an evicted node back.
    pub async fn node_restore(&self, node: &str, restore: &NodeRestore) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::PUT, &["v1", "nodes", node, "restore"], &[], Some(restore)).await
    }

    /// `GET /v1/nodes/{node}/net-interfaces`.
    pub async fn netif_list(&self, node: &str) -> Result<Vec<NetInterface>, Error> {
        self.get_json(&["v1", "nodes", node, "net-interfaces"], &[]).await
    }

    /// `GET /v1/nodes/{node}/net-interfaces/{netif}`.
    pub async fn netif_get(&self, node: &str, netif: &str) -> Result<NetInterface, Error> {
        self.get_json(&["v1", "nodes", node, "net-interfaces", netif], &[]).await
    }

    /// `POST /v1/nodes/{node}/net-interfaces`.
    pub async fn netif_create(&self, node: &str, netif: &NetInterface) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", "nodes", node, "net-interfaces"], &[], Some(netif)).await
    }

    /// `PUT /v1/nodes/{node}/net-interfaces/{netif}`.
    pub async fn netif_modify(
        &self,
        node: &str,
        name: &str,
        netif: &NetInterface,
    ) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::PUT, &["v1", "nodes", node, "net-interfaces", name], &[], Some(netif)).await
    }

    /// `DELETE /v1/nodes/{node}/net-interfaces/{netif}`.
    pub async fn netif_delete(&self, node: &str, netif: &str) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc_empty(Method::DELETE, &["v1", "nodes", node, "net-interfaces", netif]).await
    }
}
