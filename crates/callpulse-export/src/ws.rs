//! `/ws`: the wallboard feed. Protocol in `docs/ws-protocol.md`.
//!
//! Each client reads the `watch` channel on its own: the core and the publisher never wait
//! for a client. A client that is slow gets whatever is newest when it is ready again
//! (`watch` keeps only the latest, and every frame is a full snapshot, so skipping is a
//! resync); one that cannot take a frame within the send timeout, or whose write buffer
//! passes its cap, is disconnected and counted.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use tokio::sync::OwnedSemaphorePermit;
use tracing::debug;

use crate::{ApiError, ExportState};

/// Close code 1001 ("going away") for shutdown, 1008 ("policy") for a too-slow client.
const GOING_AWAY: u16 = 1001;

pub(crate) async fn upgrade(
    State(state): State<ExportState>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let Ok(permit) = Arc::clone(&state.ws_slots).try_acquire_owned() else {
        state
            .telemetry
            .ws_dropped
            .with_label_values(&["too_many"])
            .inc();
        return Err(ApiError::Unavailable(
            "too many websocket clients".to_owned(),
        ));
    };
    let config = &state.config;
    Ok(ws
        .max_message_size(config.ws_max_message_bytes)
        .max_frame_size(config.ws_max_message_bytes)
        .max_write_buffer_size(config.ws_max_write_buffer_bytes)
        .on_upgrade(move |socket| client(socket, state, permit)))
}

async fn client(socket: WebSocket, state: ExportState, _permit: OwnedSemaphorePermit) {
    let telemetry = &state.telemetry;
    telemetry.ws_clients.inc();
    let send_timeout = Duration::from_millis(state.config.ws_send_timeout_ms);
    let (mut tx, mut rx) = socket.split();
    let mut changes = state.latest.changes();
    let mut kind = "snapshot";
    let outcome = loop {
        changes.mark_unchanged();
        let frame = state.latest.load().frame(kind);
        kind = "update";
        match tokio::time::timeout(send_timeout, tx.send(Message::Text(frame.into()))).await {
            Ok(Ok(())) => telemetry.ws_frames.inc(),
            Ok(Err(_)) => break "send_error",
            Err(_) => break "slow",
        }
        tokio::select! {
            biased;
            () = state.shutdown.cancelled() => {
                let close = CloseFrame { code: GOING_AWAY, reason: "server shutting down".into() };
                let _ = tokio::time::timeout(send_timeout, tx.send(Message::Close(Some(close)))).await;
                break "shutdown";
            }
            changed = changes.changed() => if changed.is_err() { break "publisher_stopped" },
            incoming = next_control(&mut rx) => break incoming,
        }
    };
    if matches!(outcome, "slow" | "send_error") {
        telemetry.ws_dropped.with_label_values(&[outcome]).inc();
    }
    debug!(outcome, "websocket client finished");
    telemetry.ws_clients.dec();
}

/// Reads client frames until the client closes or errs. Clients have nothing to say in v1;
/// pings are answered by the protocol layer, other frames are ignored.
async fn next_control(rx: &mut futures::stream::SplitStream<WebSocket>) -> &'static str {
    loop {
        match rx.next().await {
            None | Some(Ok(Message::Close(_))) => return "client_closed",
            Some(Err(_)) => return "client_error",
            Some(Ok(_)) => {}
        }
    }
}
