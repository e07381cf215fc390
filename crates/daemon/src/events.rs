//! The event hub behind `GET /1.0/events`: operation and lifecycle events, fanned out to every
//! listener.
//!
//! Rules: an event with a project goes only to listeners of that project (or of all projects);
//! an event without one (pool events) goes to everyone. A listener that falls too far behind
//! loses the oldest events rather than slowing the daemon down.

use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many events a slow listener may fall behind.
const BACKLOG: usize = 1024;

/// Event types a listener may ask for (`?type=`).
pub const EVENT_TYPES: [&str; 4] = ["logging", "operation", "lifecycle", "network-acl"];

/// One event, as sent on the websocket.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: String,
    pub metadata: Value,
    pub location: String,
    pub project: String,
}

/// Who made a request (lifecycle events name them).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Requestor {
    pub username: String,
    pub protocol: String,
    pub address: String,
}

impl Requestor {
    /// A caller on the unix socket.
    pub fn unix(username: impl Into<String>) -> Requestor {
        Requestor { username: username.into(), protocol: "unix".into(), address: "@".into() }
    }
}

#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<Arc<Event>>,
}

impl Default for Events {
    fn default() -> Self {
        Events::new()
    }
}

impl Events {
    pub fn new() -> Events {
        let (tx, _) = broadcast::channel(BACKLOG);
        Events { tx }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    pub fn send(&self, kind: &str, project: &str, metadata: Value) {
        let event = Event {
            kind: kind.to_string(),
            timestamp: crate::time::now(),
            metadata,
            location: crate::LOCATION.to_string(),
            project: project.to_string(),
        };
        // No listener is not an error.
        let _ = self.tx.send(Arc::new(event));
    }

    /// A lifecycle event: `action` on `source` (a `/1.0/...` URL).
    pub fn lifecycle(
        &self,
        action: &str,
        source: &str,
        context: Value,
        project: &str,
        requestor: &Requestor,
    ) {
        let metadata = serde_json::json!({
            "action": action,
            "source": source,
            "context": context,
            "requestor": requestor,
        });
        self.send("lifecycle", project, metadata);
    }
}

/// What one listener wants: event types (empty = all) and a project (`None` = all projects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub types: Vec<String>,
    pub project: Option<String>,
}

impl Subscription {
    pub fn wants(&self, event: &Event) -> bool {
        if !self.types.is_empty() && !self.types.contains(&event.kind) {
            return false;
        }
        match &self.project {
            Some(project) => event.project.is_empty() || event.project == *project,
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_by_type_and_project() {
        let event = |kind: &str, project: &str| Event {
            kind: kind.into(),
            timestamp: String::new(),
            metadata: Value::Null,
            location: "none".into(),
            project: project.into(),
        };
        let default = Subscription { types: vec![], project: Some("default".into()) };
        assert!(default.wants(&event("operation", "default")));
        assert!(default.wants(&event("lifecycle", "")));
        assert!(!default.wants(&event("lifecycle", "other")));
        let all = Subscription { types: vec!["lifecycle".into()], project: None };
        assert!(all.wants(&event("lifecycle", "other")));
        assert!(!all.wants(&event("operation", "default")));
    }

    #[tokio::test]
    async fn events_reach_subscribers() {
        let events = Events::new();
        let mut rx = events.subscribe();
        events.lifecycle(
            "storage-pool-created",
            "/1.0/storage-pools/p",
            serde_json::json!({}),
            "",
            &Requestor::unix("root"),
        );
        let got = rx.recv().await.unwrap();
        assert_eq!(got.kind, "lifecycle");
        assert_eq!(got.metadata["action"], "storage-pool-created");
        assert_eq!(got.metadata["requestor"]["protocol"], "unix");
        assert_eq!(got.location, "none");
    }
}
