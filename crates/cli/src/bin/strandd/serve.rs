//! Running the long-lived services until Ctrl-C or SIGTERM.

use controller::Controller;
use std::net::SocketAddr;
use std::path::Path;

pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the async runtime: {err}"))
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn stop_requested() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}

pub fn controller(listen: SocketAddr, data_dir: &Path) -> Result<(), String> {
    let controller = Controller::open(data_dir).map_err(|err| err.to_string())?;
    runtime()?.block_on(async move {
        controller.start_connections();
        // Clones and restores whose data was still being copied when the controller stopped:
        // their watchers sync the nodes (with backoff) until the satellites are back.
        controller.resume_copy_watchers();
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|err| format!("cannot listen on {listen}: {err}"))?;
        tracing::info!("controller listening on http://{listen}, data in {}", data_dir.display());
        axum::serve(listener, controller::rest::router(controller))
            .with_graceful_shutdown(stop_requested())
            .await
            .map_err(|err| format!("the REST server failed: {err}"))?;
        tracing::info!("controller stopped");
        Ok(())
    })
}
