//! `/ws`: the wallboard feed. Protocol in `docs/ws-protocol.md`.
//!
//! Each client reads the `watch` channel on its own: the core and the publisher never wait
//! for a client. A client that is slow gets whatever is newest when it is ready again: v1
//! frames are whole snapshots and v2 deltas start from the client's own last frame, so
//! skipping ticks needs no resync. A client that cannot take a frame within the send
//! timeout, or whose write buffer passes its cap, is disconnected and counted; a frame
//! larger than that cap closes the socket with code 1009 and a reason saying what to ask for.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tracing::debug;

use crate::auth::guard::{refuse as refuse_request, session_closed};
use crate::auth::{AgentScope, Principal, Refusal};
use crate::config::SMALL_FRAME_BYTES;
use crate::feed::subscription::ClientMessage;
use crate::feed::{HISTORY, Subscription};
use crate::{ApiError, ExportState};

/// Close codes: 1001 "going away" (shutdown), 1008 "policy violation" (a subscription
/// outside the role's scope, an expired or revoked credential), 1009 "message too big" (a
/// frame over the client's cap).
const GOING_AWAY: u16 = 1001;
const POLICY: u16 = 1008;
const TOO_BIG: u16 = 1009;

/// `/ws` query parameters: `protocol` (1, the default, or 2) and, for v2, the initial
/// subscription (comma-separated `sections`, `queues`, `teams`).
#[derive(Debug, Deserialize)]
pub(crate) struct WsQuery {
    protocol: Option<u32>,
    sections: Option<String>,
    queues: Option<String>,
    teams: Option<String>,
}

pub(crate) async fn upgrade(
    State(state): State<ExportState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<WsQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let forbidden = |message: String| {
        state
            .telemetry
            .auth_refused
            .with_label_values(&["forbidden"])
            .inc();
        Ok(refuse_request(&Refusal::Forbidden(message), true))
    };
    let subscription = match query.protocol.unwrap_or(1) {
        // v1 is the whole snapshot, every agent in it.
        1 if principal.agent_scope() != AgentScope::All => {
            return forbidden(format!(
                "protocol 1 sends every agent; role {} gets protocol=2",
                principal.role
            ));
        }
        1 => None,
        2 => {
            let asked = Subscription::from_query(
                query.sections.as_deref(),
                query.queues.as_deref(),
                query.teams.as_deref(),
            )
            .map_err(ApiError::BadRequest)?;
            match asked.within(&principal) {
                Ok(subscription) => Some(subscription),
                Err(message) => return forbidden(message),
            }
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "protocol {other} is not served; use 1 or 2"
            )));
        }
    };
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
    // tungstenite panics unless its flush threshold is below the cap.
    let flush_at = (128 * 1024).min(config.ws_max_write_buffer_bytes / 2);
    Ok(ws
        .write_buffer_size(flush_at)
        .max_message_size(config.ws_max_message_bytes)
        .max_frame_size(config.ws_max_message_bytes)
        .max_write_buffer_size(config.ws_max_write_buffer_bytes)
        .on_upgrade(move |socket| client(socket, state, permit, principal, subscription)))
}

type Tx = SplitSink<WebSocket, Message>;

/// One client's connection: its sink, limits and counters.
struct Conn {
    tx: Tx,
    state: ExportState,
    send_timeout: Duration,
    principal: Principal,
}

/// What became of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Sent,
    /// Large, and the shared budget was in use: not sent; the client gets a later frame.
    Deferred,
}

impl Conn {
    /// Sends `text`; `Err` names why the client is dropped.
    async fn send(&mut self, text: Utf8Bytes) -> Result<Sent, &'static str> {
        // tungstenite fails a frame past its write-buffer cap and drops the client without a
        // word: say why instead.
        let cap = self.state.config.ws_max_write_buffer_bytes;
        if text.len().saturating_add(14) > cap {
            let reason = format!(
                "frame of {} bytes exceeds this server's {cap}-byte cap: use protocol 2 and subscribe to fewer queues or teams, or leave agents out",
                text.len()
            );
            self.close(TOO_BIG, &reason).await;
            return Err("too_large");
        }
        // tungstenite copies each frame into the client's buffer, where it stays until the
        // socket takes it: large frames share one budget, so clients that never read cannot
        // hold a frame each.
        let _budget = if text.len() > SMALL_FRAME_BYTES {
            let bytes = u32::try_from(text.len()).unwrap_or(u32::MAX);
            match Arc::clone(&self.state.ws_budget).try_acquire_many_owned(bytes) {
                Ok(permit) => Some(permit),
                Err(_) => {
                    self.state.telemetry.ws_deferred.inc();
                    return Ok(Sent::Deferred);
                }
            }
        } else {
            None
        };
        match tokio::time::timeout(self.send_timeout, self.tx.send(Message::Text(text))).await {
            Ok(Ok(())) => {
                self.state.telemetry.ws_frames.inc();
                Ok(Sent::Sent)
            }
            Ok(Err(_)) => Err("send_error"),
            Err(_) => Err("slow"),
        }
    }

    /// Sends a small control frame (never deferred: it is under the budget's floor).
    async fn send_json(&mut self, value: &serde_json::Value) -> Result<(), &'static str> {
        self.send(Utf8Bytes::from(value.to_string()))
            .await
            .map(drop)
    }

    /// `Err` when the credential has expired or been revoked (the client is told why).
    async fn check_credential(&mut self) -> Result<(), &'static str> {
        if self.state.auth.still_valid(&self.principal) {
            return Ok(());
        }
        self.close(
            POLICY,
            "credential expired or revoked: reconnect with a valid one",
        )
        .await;
        Err("unauthorized")
    }

    async fn close(&mut self, code: u16, reason: &str) {
        // Close reasons are at most 123 bytes.
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let close = CloseFrame {
            code,
            reason: reason[..end].into(),
        };
        let _ = tokio::time::timeout(self.send_timeout, self.tx.send(Message::Close(Some(close))))
            .await;
    }
}

async fn client(
    socket: WebSocket,
    state: ExportState,
    _permit: OwnedSemaphorePermit,
    principal: Principal,
    subscription: Option<Subscription>,
) {
    let telemetry = state.telemetry.clone();
    telemetry.ws_clients.inc();
    let started = Instant::now();
    let (tx, rx) = socket.split();
    let mut conn = Conn {
        tx,
        send_timeout: Duration::from_millis(state.config.ws_send_timeout_ms),
        state,
        principal,
    };
    let outcome = match subscription {
        None => v1(&mut conn, rx).await,
        Some(subscription) => v2(&mut conn, rx, subscription).await,
    };
    if matches!(
        outcome,
        "slow" | "send_error" | "too_large" | "unauthorized"
    ) {
        telemetry.ws_dropped.with_label_values(&[outcome]).inc();
    }
    debug!(outcome, "websocket client finished");
    session_closed(&conn.principal, outcome, started.elapsed().as_secs_f64());
    telemetry.ws_clients.dec();
}

/// v1: the whole snapshot at every tick; the client says nothing.
async fn v1(conn: &mut Conn, mut rx: SplitStream<WebSocket>) -> &'static str {
    let mut changes = conn.state.latest.changes();
    let mut first = true;
    loop {
        changes.mark_unchanged();
        if let Err(outcome) = conn.check_credential().await {
            return outcome;
        }
        let frame = conn.state.latest.load().v1_frame(first);
        match conn.send(frame).await {
            Ok(Sent::Sent) => first = false,
            Ok(Sent::Deferred) => {}
            Err(outcome) => return outcome,
        }
        tokio::select! {
            biased;
            () = conn.state.shutdown.cancelled() => return shut_down(conn).await,
            changed = changes.changed() => if changed.is_err() { return "publisher_stopped" },
            incoming = ignore_until_closed(&mut rx) => return incoming,
        }
    }
}

async fn shut_down(conn: &mut Conn) -> &'static str {
    conn.close(GOING_AWAY, "server shutting down").await;
    "shutdown"
}

/// Reads client frames until the client closes or errs (v1 clients have nothing to say;
/// pings are answered by the protocol layer).
async fn ignore_until_closed(rx: &mut SplitStream<WebSocket>) -> &'static str {
    loop {
        match rx.next().await {
            None | Some(Ok(Message::Close(_))) => return "client_closed",
            Some(Err(_)) => return "client_error",
            Some(Ok(_)) => {}
        }
    }
}

/// v2: a snapshot of the subscription, then deltas, alert events and heartbeats; the client
/// may change its subscription, ask for a resync or ping.
async fn v2(
    conn: &mut Conn,
    mut rx: SplitStream<WebSocket>,
    mut subscription: Subscription,
) -> &'static str {
    let heartbeat = Duration::from_millis(conn.state.config.ws_heartbeat_ms);
    let mut changes = conn.state.latest.changes();
    let hello = json!({
        "type": "hello",
        "protocol": 2,
        "version": env!("CARGO_PKG_VERSION"),
        "heartbeat_ms": conn.state.config.ws_heartbeat_ms,
        "history": HISTORY,
    });
    if let Err(outcome) = conn.send_json(&hello).await {
        return outcome;
    }
    // The last frame's seq (None: the next frame is a snapshot) and the last alert event
    // sent: a new client starts at the present, with no old events.
    let mut base: Option<u64> = None;
    let mut events_after = conn.state.latest.load().feed.seq();
    let mut last_sent = Instant::now();
    // An agent's own entry sits under its team: when the team changes, a snapshot replaces
    // the old entry.
    let mut own_team = None;
    loop {
        changes.mark_unchanged();
        if let Err(outcome) = conn.check_credential().await {
            return outcome;
        }
        let published = conn.state.latest.load();
        let feed = &published.feed;
        if let AgentScope::One(agent) = subscription.agent_scope() {
            let team = feed.team_of(agent).cloned();
            if team != own_team {
                own_team = team;
                base = None;
            }
        }
        if base != Some(feed.seq()) {
            for event in feed.events_after(events_after, &subscription) {
                if let Err(outcome) = conn.send(Utf8Bytes::from(&**event)).await {
                    return outcome;
                }
            }
            events_after = feed.seq();
            match conn.send(feed.frame(&subscription, base)).await {
                Ok(Sent::Sent) => {
                    base = Some(feed.seq());
                    last_sent = Instant::now();
                }
                // The next tick's frame starts from the same base.
                Ok(Sent::Deferred) => {}
                Err(outcome) => return outcome,
            }
        }
        drop(published);
        tokio::select! {
            biased;
            () = conn.state.shutdown.cancelled() => return shut_down(conn).await,
            changed = changes.changed() => if changed.is_err() { return "publisher_stopped" },
            () = tokio::time::sleep_until(last_sent + heartbeat) => {
                let beat = json!({"type": "heartbeat", "seq": base});
                if let Err(outcome) = conn.send_json(&beat).await {
                    return outcome;
                }
                last_sent = Instant::now();
            }
            incoming = rx.next() => match incoming {
                None | Some(Ok(Message::Close(_))) => return "client_closed",
                Some(Err(_)) => return "client_error",
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<ClientMessage>(&text) {
                        Ok(ClientMessage::Resync) => base = None,
                        Ok(ClientMessage::Subscribe { sections, queues, teams }) => {
                            match Subscription::parse(sections, queues, teams) {
                                Ok(new) => match new.within(&conn.principal) {
                                    Ok(new) => {
                                        subscription = new;
                                        base = None;
                                    }
                                    Err(reason) => {
                                        // Outside the role's scope: not a typo to correct but
                                        // a request to refuse, so the session ends, saying why.
                                        conn.state.telemetry.auth_refused.with_label_values(&["forbidden"]).inc();
                                        conn.close(POLICY, &reason).await;
                                        return "unauthorized";
                                    }
                                },
                                Err(error) => {
                                    if let Err(outcome) = refuse(conn, &error).await {
                                        return outcome;
                                    }
                                }
                            }
                        }
                        Ok(ClientMessage::Ping { id }) => {
                            let pong = json!({"type": "pong", "id": id, "seq": base});
                            if let Err(outcome) = conn.send_json(&pong).await {
                                return outcome;
                            }
                        }
                        Err(error) => {
                            if let Err(outcome) = refuse(conn, &error.to_string()).await {
                                return outcome;
                            }
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    if let Err(outcome) = refuse(conn, "binary frames are not understood; send JSON text").await {
                        return outcome;
                    }
                }
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Answers a message the server cannot act on, and counts it.
async fn refuse(conn: &mut Conn, error: &str) -> Result<(), &'static str> {
    conn.state.telemetry.ws_refused.inc();
    debug!(error, "websocket client message refused");
    conn.send_json(&json!({"type": "error", "error": error}))
        .await
}
