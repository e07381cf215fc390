//! The operations registry: long work runs as an operation that clients follow through
//! `GET /1.0/operations/{id}`, `/wait` and `operation` events.
//!
//! Rules kept here:
//! - An operation is registered `Pending`, then `Running` before [`Operations::start`]
//!   returns (so the `202` answer shows it running), then ends `Success` or `Failure` (with
//!   `err`), or `Cancelled`. Each change is an `operation` event carrying the whole operation,
//!   `resources` included.
//! - A finished operation stays readable for [`KEEP_FINISHED`] (clients GET it right after the
//!   final event), then goes.
//! - Only operations started as cancellable can be cancelled; cancelling stops their work at
//!   its next await point.

use crate::events::Events;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// How long a finished operation stays readable.
pub const KEEP_FINISHED: Duration = Duration::from_secs(5);

/// Operation status codes (Incus's).
pub mod status {
    pub const RUNNING: u16 = 103;
    pub const PENDING: u16 = 105;
    pub const SUCCESS: u16 = 200;
    pub const FAILURE: u16 = 400;
    pub const CANCELLED: u16 = 401;

    pub fn name(code: u16) -> &'static str {
        match code {
            100 => "Operation created",
            101 => "Started",
            102 => "Stopped",
            103 => "Running",
            104 => "Cancelling",
            105 => "Pending",
            106 => "Starting",
            107 => "Stopping",
            108 => "Aborting",
            109 => "Freezing",
            110 => "Frozen",
            111 => "Thawed",
            112 => "Error",
            113 => "Ready",
            200 => "Success",
            400 => "Failure",
            401 => "Cancelled",
            _ => "Unknown",
        }
    }
}

/// An operation as the API renders it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Operation {
    pub id: String,
    pub class: String,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
    pub status: String,
    pub status_code: u16,
    pub resources: Option<BTreeMap<String, Vec<String>>>,
    pub metadata: Value,
    pub may_cancel: bool,
    pub err: String,
    pub location: String,
}

impl Operation {
    pub fn is_final(&self) -> bool {
        self.status_code >= 200
    }

    pub fn url(&self) -> String {
        format!("/1.0/operations/{}", self.id)
    }
}

/// What an operation is, before it starts.
#[derive(Debug, Clone)]
pub struct OperationSpec {
    /// `task`, `websocket` or `token`.
    pub class: String,
    pub description: String,
    pub project: String,
    /// URLs of what the operation touches, by kind (`storage_volumes`, ...).
    pub resources: Option<BTreeMap<String, Vec<String>>>,
    pub cancellable: bool,
}

impl OperationSpec {
    pub fn task(description: impl Into<String>, project: impl Into<String>) -> OperationSpec {
        OperationSpec {
            class: "task".into(),
            description: description.into(),
            project: project.into(),
            resources: None,
            cancellable: false,
        }
    }

    pub fn resource(mut self, kind: &str, url: String) -> OperationSpec {
        self.resources.get_or_insert_with(BTreeMap::new).entry(kind.to_string()).or_default().push(url);
        self
    }

    pub fn cancellable(mut self) -> OperationSpec {
        self.cancellable = true;
        self
    }
}

/// The outcome of an operation's work: metadata to show on success, or the error text.
pub type WorkResult = Result<Option<Value>, String>;

struct Entry {
    project: String,
    state: watch::Sender<Operation>,
    cancel: Mutex<Option<oneshot::Sender<()>>>,
}

/// Why an operation could not be cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelError {
    NotFound,
    NotCancellable,
}

/// What a running operation's work holds to report its progress.
#[derive(Clone)]
pub struct OperationHandle {
    registry: Operations,
    entry: Arc<Entry>,
}

impl OperationHandle {
    pub fn id(&self) -> String {
        self.entry.state.borrow().id.clone()
    }

    /// Replaces the operation's metadata (an `operation` event carries it) while it runs.
    pub fn set_metadata(&self, metadata: Value) {
        if self.entry.state.borrow().is_final() {
            return;
        }
        self.registry.publish(&self.entry, |op| op.metadata = metadata);
    }
}

#[derive(Clone)]
pub struct Operations {
    entries: Arc<Mutex<HashMap<String, Arc<Entry>>>>,
    events: Events,
    keep: Duration,
}

impl Operations {
    pub fn new(events: Events) -> Operations {
        Operations::with_keep(events, KEEP_FINISHED)
    }

    /// A registry that keeps finished operations for `keep` (tests use a short one).
    pub fn with_keep(events: Events, keep: Duration) -> Operations {
        Operations { entries: Arc::new(Mutex::new(HashMap::new())), events, keep }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Entry>>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn publish(&self, entry: &Entry, change: impl FnOnce(&mut Operation)) -> Operation {
        entry.state.send_modify(|op| {
            change(op);
            op.updated_at = crate::time::now();
        });
        let snapshot = entry.state.borrow().clone();
        self.events.send("operation", &entry.project, serde_json::to_value(&snapshot).unwrap_or(Value::Null));
        snapshot
    }

    /// Registers an operation and runs `work` on the runtime. Answers the operation as it is
    /// once running.
    pub fn start<F>(&self, spec: OperationSpec, work: F) -> Operation
    where
        F: Future<Output = WorkResult> + Send + 'static,
    {
        self.start_with(spec, move |_| work)
    }

    /// [`Operations::start`] for work that reports its progress: `make` gets the operation's
    /// handle and answers the work.
    pub fn start_with<M, F>(&self, spec: OperationSpec, make: M) -> Operation
    where
        M: FnOnce(OperationHandle) -> F,
        F: Future<Output = WorkResult> + Send + 'static,
    {
        let now = crate::time::now();
        let op = Operation {
            id: uuid::Uuid::new_v4().to_string(),
            class: spec.class,
            description: spec.description,
            created_at: now.clone(),
            updated_at: now,
            status: status::name(status::PENDING).into(),
            status_code: status::PENDING,
            resources: spec.resources,
            metadata: Value::Object(Default::default()),
            may_cancel: false,
            err: String::new(),
            location: crate::LOCATION.to_string(),
        };
        let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
        let (state, _) = watch::channel(op.clone());
        let entry = Arc::new(Entry {
            project: spec.project,
            state,
            cancel: Mutex::new(spec.cancellable.then_some(cancel_tx)),
        });
        self.lock().insert(op.id.clone(), Arc::clone(&entry));
        self.events.send("operation", &entry.project, serde_json::to_value(&op).unwrap_or(Value::Null));
        let running = self.publish(&entry, |op| {
            op.status_code = status::RUNNING;
            op.status = status::name(status::RUNNING).into();
            op.may_cancel = spec.cancellable;
        });
        let work = make(OperationHandle { registry: self.clone(), entry: Arc::clone(&entry) });
        let registry = self.clone();
        tokio::spawn(async move {
            let outcome = tokio::select! {
                result = work => Some(result),
                Ok(()) = cancel_rx => None,
            };
            registry.publish(&entry, |op| {
                op.may_cancel = false;
                match outcome {
                    Some(Ok(metadata)) => {
                        op.status_code = status::SUCCESS;
                        if let Some(metadata) = metadata {
                            op.metadata = metadata;
                        }
                    }
                    Some(Err(err)) => {
                        op.status_code = status::FAILURE;
                        op.err = err;
                    }
                    None => {
                        op.status_code = status::CANCELLED;
                        op.err = "Operation cancelled".into();
                    }
                }
                op.status = status::name(op.status_code).into();
            });
            tokio::time::sleep(registry.keep).await;
            let id = entry.state.borrow().id.clone();
            registry.lock().remove(&id);
        });
        running
    }

    pub fn get(&self, id: &str) -> Option<Operation> {
        self.lock().get(id).map(|entry| entry.state.borrow().clone())
    }

    /// The project an operation belongs to.
    pub fn project_of(&self, id: &str) -> Option<String> {
        self.lock().get(id).map(|entry| entry.project.clone())
    }

    /// Every operation of `project` (all projects with `None`), oldest first.
    pub fn list(&self, project: Option<&str>) -> Vec<Operation> {
        let mut ops: Vec<Operation> = self
            .lock()
            .values()
            .filter(|entry| project.is_none_or(|p| entry.project == p))
            .map(|entry| entry.state.borrow().clone())
            .collect();
        ops.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        ops
    }

    /// Waits until the operation is final or `timeout` passes (`None`: no limit), and answers
    /// it as it is then. `None` when there is no such operation.
    pub async fn wait(&self, id: &str, timeout: Option<Duration>) -> Option<Operation> {
        let mut rx = self.lock().get(id).map(|entry| entry.state.subscribe())?;
        let finished = rx.wait_for(|op| op.is_final());
        match timeout {
            Some(limit) => {
                let _ = tokio::time::timeout(limit, finished).await;
            }
            None => {
                let _ = finished.await;
            }
        }
        let op = rx.borrow().clone();
        Some(op)
    }

    /// Cancels a running, cancellable operation.
    pub fn cancel(&self, id: &str) -> Result<(), CancelError> {
        let entry = self.lock().get(id).cloned().ok_or(CancelError::NotFound)?;
        let sender = entry.cancel.lock().unwrap_or_else(|p| p.into_inner()).take();
        match sender {
            Some(sender) if !entry.state.borrow().is_final() => {
                let _ = sender.send(());
                Ok(())
            }
            _ => Err(CancelError::NotCancellable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn next_op(rx: &mut tokio::sync::broadcast::Receiver<Arc<crate::events::Event>>) -> Operation {
        let event = rx.recv().await.unwrap();
        assert_eq!(event.kind, "operation");
        serde_json::from_value(event.metadata.clone()).unwrap()
    }

    #[tokio::test]
    async fn lifecycle_events_wait_and_expiry() {
        let events = Events::new();
        let mut rx = events.subscribe();
        let ops = Operations::with_keep(events, Duration::from_millis(200));
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let spec = OperationSpec::task("Copying storage volume", "default")
            .resource("storage_volumes", "/1.0/storage-pools/p/volumes/custom/v".into());
        let op = ops.start(spec, async move {
            let _ = go_rx.await;
            Ok(Some(serde_json::json!({"done": true})))
        });
        assert_eq!((op.status.as_str(), op.status_code), ("Running", 103));
        assert_eq!(op.class, "task");
        assert_eq!(op.location, "none");
        assert_eq!(next_op(&mut rx).await.status_code, 105);
        assert_eq!(next_op(&mut rx).await.status_code, 103);
        assert_eq!(ops.list(Some("default")).len(), 1);
        assert!(ops.list(Some("other")).is_empty());
        // A wait with a short timeout answers the running operation.
        let waited = ops.wait(&op.id, Some(Duration::from_millis(20))).await.unwrap();
        assert_eq!(waited.status_code, 103);
        assert_eq!(ops.cancel(&op.id), Err(CancelError::NotCancellable));
        let waiter = {
            let ops = ops.clone();
            let id = op.id.clone();
            tokio::spawn(async move { ops.wait(&id, None).await })
        };
        go_tx.send(()).unwrap();
        let done = waiter.await.unwrap().unwrap();
        assert_eq!((done.status.as_str(), done.status_code, done.err.as_str()), ("Success", 200, ""));
        assert_eq!(done.metadata["done"], true);
        let last = next_op(&mut rx).await;
        assert_eq!(last.status_code, 200);
        assert_eq!(last.resources.unwrap()["storage_volumes"], ["/1.0/storage-pools/p/volumes/custom/v"]);
        // Kept for a while after it finished, then gone.
        assert_eq!(ops.get(&op.id).unwrap().status_code, 200);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(ops.get(&op.id).is_none());
        assert!(ops.wait(&op.id, None).await.is_none());
    }

    #[tokio::test]
    async fn failures_and_cancels() {
        let ops = Operations::with_keep(Events::new(), Duration::from_secs(5));
        let failed = ops.start(OperationSpec::task("x", "default"), async { Err("it broke".to_string()) });
        let failed = ops.wait(&failed.id, None).await.unwrap();
        assert_eq!(
            (failed.status.as_str(), failed.status_code, failed.err.as_str()),
            ("Failure", 400, "it broke")
        );

        let slow = ops.start(OperationSpec::task("y", "default").cancellable(), async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(None)
        });
        assert!(slow.may_cancel);
        assert_eq!(ops.cancel(&slow.id), Ok(()));
        let cancelled = ops.wait(&slow.id, None).await.unwrap();
        assert_eq!((cancelled.status.as_str(), cancelled.status_code), ("Cancelled", 401));
        assert_eq!(ops.cancel(&slow.id), Err(CancelError::NotCancellable));
        assert_eq!(ops.cancel("nope"), Err(CancelError::NotFound));
    }
}
