//! `GET /1.0/events`: the event websocket. Every event the listener wants is one JSON text
//! frame; a ping goes out every [`PING_INTERVAL`] (clients time out after 30 s without one);
//! the socket closes when the client leaves or the daemon stops.

use super::response::{ApiError, ApiResult};
use super::Ctx;
use crate::events::{Subscription, EVENT_TYPES};
use crate::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State as S;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

pub const PING_INTERVAL: Duration = Duration::from_secs(10);

pub async fn events(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let mut types = Vec::new();
    for kind in ctx.param("type").unwrap_or("").split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !EVENT_TYPES.contains(&kind) {
            return Err(ApiError::bad_request(format!("\"{kind}\" isn't a supported event type")));
        }
        types.push(kind.to_string());
    }
    let subscription = Subscription { types, project: ctx.project_scope()? };
    let upgrade =
        upgrade.map_err(|err| ApiError::bad_request(format!("The events endpoint is a websocket: {err}")))?;
    Ok(upgrade.on_upgrade(move |socket| listen(state, subscription, socket)).into_response())
}

async fn listen(state: Arc<State>, subscription: Subscription, mut socket: WebSocket) {
    let mut events = state.events.subscribe();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => {
                    if !subscription.wants(&event) {
                        continue;
                    }
                    let Ok(text) = serde_json::to_string(&*event) else { continue };
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(missed)) => tracing::warn!("an event listener missed {missed} events"),
                Err(RecvError::Closed) => break,
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            message = socket.recv() => match message {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            },
            _ = crate::stopping(state.shutdown.clone()) => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
        }
    }
}
