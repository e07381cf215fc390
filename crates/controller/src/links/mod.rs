//! Keeping the controller connected to its remote satellites.
//!
//! One supervisor task ([`Controller::start_connections`]) looks at the nodes every second (and
//! at once when poked): every SATELLITE or COMBINED node with an active net interface gets a
//! node task, except nodes whose link was attached in-process before (the embedded satellite
//! of `strand up`). A node task connects to the interface's address and satellite port
//! ([`tcp::connect`]), attaches the link, pushes the full desired state, then pings; when the
//! connection dies it detaches the link at once and tries again with backoff.
//!
//! Rules:
//! - A node is ONLINE only while its link is connected and has answered a full sync; the
//!   moment a connection is found dead (end of stream, read error, no pong within
//!   [`PING_TIMEOUT`]) its link reports disconnected and every request waiting on it fails,
//!   so calls touching the node answer `WARN_NOT_CONNECTED` instead of waiting.
//! - On every (re)connect the satellite gets the whole desired state: changes made while it
//!   was away reach it then.
//! - A node that is deleted, lost, or whose address changes loses its task (and connection)
//!   within a second; a new node is connected without a restart.
//! - Pings and the periodic resync run independently, so a slow apply never delays the
//!   detection of a dead connection.

pub mod tcp;

use crate::satellites::{SatelliteLink, SyncOutcome};
use crate::Controller;
use linstor_api::names::NameKey;
use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How often a connected satellite is pinged.
pub const PING_INTERVAL: Duration = Duration::from_secs(2);
/// How long a ping may wait for its pong before the connection counts as dead.
pub const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// How often a connected satellite gets the full desired state again (drift repair, fresh
/// capacity reports).
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(30);
/// Reconnect backoff: from the first to the last, doubling.
pub const MIN_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often the supervisor looks for new, changed and removed nodes.
const SCAN_INTERVAL: Duration = Duration::from_secs(1);

/// The connection state of every remote node.
pub struct Connections {
    controller_id: String,
    inner: Mutex<Inner>,
    wake: Notify,
}

#[derive(Default)]
struct Inner {
    started: bool,
    /// Nodes served in-process; never connected over the network.
    local: BTreeSet<NameKey>,
    tasks: HashMap<NameKey, NodeTask>,
    /// Why a node is not online, when there is more to say than OFFLINE.
    status: HashMap<NameKey, &'static str>,
}

struct NodeTask {
    target: SocketAddr,
    reconnect: Arc<Notify>,
    handle: JoinHandle<()>,
}

impl Default for Connections {
    fn default() -> Connections {
        Connections {
            controller_id: uuid::Uuid::new_v4().to_string(),
            inner: Mutex::new(Inner::default()),
            wake: Notify::new(),
        }
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        for (_, task) in inner.tasks.drain() {
            task.handle.abort();
        }
    }
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This controller's id, sent in every handshake.
    pub fn controller_id(&self) -> &str {
        &self.controller_id
    }

    /// The node's `connection_status` when it is not online (OFFLINE unless something more
    /// precise is known: OTHER_CONTROLLER, HOSTNAME_MISMATCH, VERSION_MISMATCH, ...).
    pub fn status(&self, node: &NameKey) -> &'static str {
        self.lock().status.get(node).copied().unwrap_or("OFFLINE")
    }

    fn set_status(&self, node: &NameKey, status: &'static str) {
        self.lock().status.insert(node.clone(), status);
    }

    /// Whether `node` is served by a network connection of this controller.
    pub fn is_remote(&self, node: &NameKey) -> bool {
        self.lock().tasks.contains_key(node)
    }

    /// Asks the supervisor to look at the nodes now (after a node was created or removed).
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// Drops `node`'s connection and connects again at once. `false` when the node has no
    /// network connection to drop.
    pub fn reconnect(&self, node: &NameKey) -> bool {
        match self.lock().tasks.get(node) {
            Some(task) => {
                task.reconnect.notify_one();
                true
            }
            None => false,
        }
    }
}

/// The address of `node`'s satellite, if it is one the controller connects to.
fn target_of(node: &crate::model::Node) -> Option<SocketAddr> {
    if !["SATELLITE", "COMBINED"].iter().any(|t| node.node_type.eq_ignore_ascii_case(t)) {
        return None;
    }
    let netif = node.net_interfaces.iter().find(|i| i.is_active && i.satellite_port.is_some())?;
    let address: IpAddr = netif.address.parse().ok()?;
    Some(SocketAddr::new(address, netif.satellite_port?))
}

impl Controller {
    /// Starts the supervisor that keeps every remote satellite connected (idempotent). Nodes
    /// that already have a link (the embedded satellite of `strand up`) are left alone.
    pub fn start_connections(self: &Arc<Self>) {
        {
            let mut inner = self.connections.lock();
            if inner.started {
                return;
            }
            inner.started = true;
            let state = self.state();
            inner.local = state.nodes.keys().filter(|key| self.satellites.has_link(key)).cloned().collect();
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(ctl) = weak.upgrade() else { return };
                ctl.reconcile_connections(&weak);
                let wake = async { ctl.connections.wake.notified().await };
                tokio::select! {
                    _ = tokio::time::sleep(SCAN_INTERVAL) => {}
                    _ = wake => {}
                }
            }
        });
    }

    /// Starts, restarts and stops node tasks to match the nodes in the state.
    fn reconcile_connections(&self, weak: &Weak<Controller>) {
        let state = self.state();
        let mut inner = self.connections.lock();
        let wanted: HashMap<NameKey, (String, SocketAddr)> = state
            .nodes
            .iter()
            .filter(|(key, _)| !inner.local.contains(*key))
            .filter_map(|(key, node)| Some((key.clone(), (node.name.clone(), target_of(node)?))))
            .collect();
        let stale: Vec<NameKey> = inner
            .tasks
            .iter()
            .filter(|(key, task)| {
                !matches!(wanted.get(*key), Some((_, target)) if *target == task.target)
                    || task.handle.is_finished()
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in stale {
            if let Some(task) = inner.tasks.remove(&key) {
                task.handle.abort();
            }
            inner.status.remove(&key);
            // The task's link, if attached, goes with it (a local link is never in `tasks`).
            self.satellites.detach(&key);
            tracing::info!("stopped connecting to satellite '{key}'");
        }
        for (key, (name, target)) in wanted {
            if inner.tasks.contains_key(&key) {
                continue;
            }
            let reconnect = Arc::new(Notify::new());
            let handle = tokio::spawn(run_node(
                weak.clone(),
                key.clone(),
                name,
                target,
                Arc::clone(&reconnect),
                self.connections.controller_id.clone(),
            ));
            inner.tasks.insert(key, NodeTask { target, reconnect, handle });
        }
    }
}

/// Pushes the full desired state to `node` and records how it went.
async fn full_sync(weak: Weak<Controller>, node: NameKey, name: String) {
    let Some(ctl) = weak.upgrade() else { return };
    match ctl.satellites.sync(&node, || ctl.state(), true).await {
        SyncOutcome::Applied => tracing::info!("satellite '{name}' is online"),
        SyncOutcome::NotConnected => {}
        SyncOutcome::Failed(message) => {
            ctl.connections.set_status(&node, "FULL_SYNC_FAILED");
            tracing::warn!("satellite '{name}' could not apply its state: {message}");
        }
    }
}

/// Keeps one node connected until aborted.
async fn run_node(
    weak: Weak<Controller>,
    node: NameKey,
    name: String,
    target: SocketAddr,
    reconnect: Arc<Notify>,
    controller_id: String,
) {
    let mut backoff = MIN_BACKOFF;
    let mut last_error: Option<tcp::ConnectError> = None;
    loop {
        let attempt = tcp::connect(target, &name, &controller_id).await;
        let Some(ctl) = weak.upgrade() else { return };
        match attempt {
            Ok(connection) => {
                backoff = MIN_BACKOFF;
                last_error = None;
                tracing::info!("connected to satellite '{name}' at {target}");
                let link: Arc<dyn SatelliteLink> = connection.link.clone();
                ctl.connections.set_status(&node, "CONNECTED");
                ctl.satellites.attach(node.clone(), Arc::clone(&link));
                drop(ctl);
                let reason = watch(&weak, &node, &name, &connection, &reconnect).await;
                let Some(ctl) = weak.upgrade() else { return };
                ctl.satellites.detach_link(&node, &link);
                ctl.connections.set_status(&node, "OFFLINE");
                drop(connection);
                tracing::warn!("satellite '{name}' is offline: {reason}");
                if reason == RECONNECT_REQUESTED {
                    continue;
                }
            }
            Err(err) => {
                ctl.connections.set_status(&node, err.status());
                if last_error.as_ref() != Some(&err) {
                    tracing::info!("cannot connect to satellite '{name}': {err}");
                } else {
                    tracing::debug!("cannot connect to satellite '{name}': {err}");
                }
                last_error = Some(err);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = reconnect.notified() => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

const RECONNECT_REQUESTED: &str = "a reconnect was requested";

/// Syncs, then pings and resyncs until the connection dies or a reconnect is requested;
/// answers why it ended.
async fn watch(
    weak: &Weak<Controller>,
    node: &NameKey,
    name: &str,
    connection: &tcp::Connection,
    reconnect: &Notify,
) -> String {
    // The syncs run on their own, so pings go on while a satellite converges.
    let mut sync = tokio::spawn(full_sync(weak.clone(), node.clone(), name.to_string()));
    let mut last_sync = tokio::time::Instant::now();
    let result = loop {
        tokio::select! {
            _ = tokio::time::sleep(PING_INTERVAL) => {}
            _ = connection.link.wait_closed() => {
                break connection.link.closed_reason().unwrap_or_else(|| "the connection closed".into());
            }
            _ = reconnect.notified() => break RECONNECT_REQUESTED.to_string(),
        }
        if let Err(err) = connection.link.ping(PING_TIMEOUT).await {
            break err;
        }
        if last_sync.elapsed() >= RESYNC_INTERVAL && sync.is_finished() {
            sync = tokio::spawn(full_sync(weak.clone(), node.clone(), name.to_string()));
            last_sync = tokio::time::Instant::now();
        }
    };
    connection.link.close(result.clone());
    sync.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NetInterface, Node};

    fn node(node_type: &str, netifs: Vec<(&str, Option<u16>, bool)>) -> Node {
        Node {
            name: "n".into(),
            node_type: node_type.into(),
            uuid: String::new(),
            flags: Vec::new(),
            props: Default::default(),
            net_interfaces: netifs
                .into_iter()
                .map(|(address, port, active)| NetInterface {
                    name: "x".into(),
                    address: address.into(),
                    satellite_port: port,
                    satellite_encryption_type: Some("PLAIN".into()),
                    is_active: active,
                    uuid: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn targets() {
        let addr = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        assert_eq!(
            target_of(&node("SATELLITE", vec![("127.0.0.1", Some(3366), true)])),
            addr("127.0.0.1:3366")
        );
        assert_eq!(target_of(&node("COMBINED", vec![("fd00::1", Some(4000), true)])), addr("[fd00::1]:4000"));
        assert_eq!(
            target_of(&node(
                "SATELLITE",
                vec![("127.0.0.1", Some(3366), false), ("127.0.0.2", Some(3366), true)]
            )),
            addr("127.0.0.2:3366")
        );
        assert_eq!(target_of(&node("SATELLITE", vec![("127.0.0.1", None, true)])), None);
        assert_eq!(target_of(&node("SATELLITE", vec![("127.0.0.1", Some(3366), false)])), None);
        assert_eq!(target_of(&node("AUXILIARY", vec![("127.0.0.1", Some(3366), true)])), None);
        assert_eq!(target_of(&node("CONTROLLER", vec![("127.0.0.1", Some(3366), true)])), None);
    }
}
