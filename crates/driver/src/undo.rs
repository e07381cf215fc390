//! The undo guard of multi-step operations.
//!
//! Each step that changes something registers how to take it back. When the operation
//! succeeds it calls [`Undo::commit`] and nothing is undone; when it fails,
//! [`Undo::finish`] runs the registered steps, newest first, before the error is returned, so
//! a failed operation leaves nothing behind. A guard dropped without either (the operation's
//! future was cancelled, or panicked) still runs its steps, on the current Tokio runtime.
//! Failures of undo steps are logged, never hidden behind the original error.

use std::future::Future;
use std::pin::Pin;

type BoxFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Step = Box<dyn FnOnce() -> BoxFuture + Send>;

#[must_use = "an undo guard does its work when the operation fails: call finish() or commit()"]
pub struct Undo {
    operation: String,
    steps: Vec<(String, Step)>,
}

impl Undo {
    pub fn new(operation: impl Into<String>) -> Undo {
        Undo { operation: operation.into(), steps: Vec::new() }
    }

    /// Registers how to take back a step that was (or is about to be) done.
    pub fn push<F, Fut>(&mut self, label: impl Into<String>, step: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.steps.push((label.into(), Box::new(move || Box::pin(step()) as BoxFuture)));
    }

    /// How many undo steps are registered.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The operation succeeded: keep everything.
    pub fn commit(mut self) {
        self.steps.clear();
    }

    /// Takes everything back now, newest step first. Returns the failures (also logged).
    pub async fn rollback(mut self) -> Vec<String> {
        let steps = std::mem::take(&mut self.steps);
        run_steps(&self.operation, steps).await
    }

    /// Commits on success, rolls back on failure; returns `result` either way.
    pub async fn finish<T, E>(self, result: Result<T, E>) -> Result<T, E> {
        match result {
            Ok(value) => {
                self.commit();
                Ok(value)
            }
            Err(err) => {
                self.rollback().await;
                Err(err)
            }
        }
    }
}

async fn run_steps(operation: &str, steps: Vec<(String, Step)>) -> Vec<String> {
    let mut failures = Vec::new();
    for (label, step) in steps.into_iter().rev() {
        tracing::debug!("{operation}: undo: {label}");
        if let Err(err) = step().await {
            tracing::warn!("{operation}: could not undo ({label}): {err}");
            failures.push(format!("{label}: {err}"));
        }
    }
    failures
}

impl Drop for Undo {
    fn drop(&mut self) {
        if self.steps.is_empty() {
            return;
        }
        let steps = std::mem::take(&mut self.steps);
        let operation = self.operation.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                tracing::warn!("{operation}: interrupted; undoing {} step(s) in the background", steps.len());
                handle.spawn(async move {
                    run_steps(&operation, steps).await;
                });
            }
            Err(_) => tracing::error!(
                "{operation}: interrupted outside a Tokio runtime; {} undo step(s) could not run",
                steps.len()
            ),
        }
    }
}

impl std::fmt::Debug for Undo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let labels: Vec<&str> = self.steps.iter().map(|(l, _)| l.as_str()).collect();
        f.debug_struct("Undo").field("operation", &self.operation).field("steps", &labels).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    type Log = Arc<Mutex<Vec<String>>>;

    fn recorder() -> (Log, impl Fn(&str) -> Step) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = Arc::clone(&log);
        let make = move |name: &str| {
            let log = Arc::clone(&log2);
            let name = name.to_string();
            Box::new(move || {
                Box::pin(async move {
                    if let Ok(mut log) = log.lock() {
                        log.push(name.clone());
                    }
                    if name == "fails" {
                        Err("boom".to_string())
                    } else {
                        Ok(())
                    }
                }) as BoxFuture
            }) as Step
        };
        (log, make)
    }

    fn logged(log: &Log) -> Vec<String> {
        log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    #[tokio::test]
    async fn failure_runs_steps_newest_first_and_keeps_going() {
        let (log, make) = recorder();
        let mut undo = Undo::new("test");
        for name in ["first", "fails", "third"] {
            let step = make(name);
            undo.push(name, step);
        }
        assert_eq!(undo.len(), 3);
        let result: Result<(), &str> = undo.finish(Err("failed")).await;
        assert_eq!(result, Err("failed"));
        assert_eq!(logged(&log), ["third", "fails", "first"]);
    }

    #[tokio::test]
    async fn success_undoes_nothing() {
        let (log, make) = recorder();
        let mut undo = Undo::new("test");
        undo.push("a", make("a"));
        let result: Result<u8, &str> = undo.finish(Ok(1)).await;
        assert_eq!(result, Ok(1));
        assert!(logged(&log).is_empty());
    }

    #[tokio::test]
    async fn dropping_an_armed_guard_still_undoes() {
        let (log, make) = recorder();
        let mut undo = Undo::new("test");
        undo.push("a", make("a"));
        drop(undo);
        for _ in 0..100 {
            if !logged(&log).is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(logged(&log), ["a"]);
    }
}
