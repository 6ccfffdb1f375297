//! JSON API, health and the `/metrics` text.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, TextEncoder};
use serde_json::json;

use crate::{ApiError, ExportState};

/// `GET /metrics`: everything in the registry, text format 0.0.4.
pub(crate) async fn metrics(State(state): State<ExportState>) -> Result<Response, ApiError> {
    // Building a thousand queues' families is milliseconds of CPU: not on a runtime thread.
    let body = tokio::task::spawn_blocking(move || {
        let families = state.registry.gather();
        let mut body = Vec::with_capacity(64 * 1024);
        TextEncoder::new()
            .encode(&families, &mut body)
            .map(|()| body)
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok((
        [(
            header::CONTENT_TYPE,
            TextEncoder::new().format_type().to_owned(),
        )],
        body,
    )
        .into_response())
}

/// `GET /api/v1/snapshot`: the latest snapshot, as the WebSocket's `data`.
pub(crate) async fn snapshot(State(state): State<ExportState>) -> Response {
    let json = std::sync::Arc::clone(&state.latest.load().json);
    (
        [(header::CONTENT_TYPE, "application/json")],
        json.to_string(),
    )
        .into_response()
}

/// `GET /api/v1/queues/{queue}`: one queue of the latest snapshot.
pub(crate) async fn queue(
    State(state): State<ExportState>,
    Path(queue): Path<String>,
) -> Result<Response, ApiError> {
    let published = state.latest.load();
    let view = published
        .snapshot
        .queue(&queue)
        .ok_or_else(|| ApiError::NotFound(format!("queue {queue:?}")))?;
    Ok(
        Json(json!({ "seq": published.snapshot.seq, "at": published.snapshot.at, "queue": view }))
            .into_response(),
    )
}

/// `GET /api/v1/engine`: the engine's own progress at the latest snapshot (consumed,
/// applied, rejected, partitions, newest event time): cheap to poll, unlike a full scrape.
pub(crate) async fn engine(State(state): State<ExportState>) -> Response {
    let published = state.latest.load();
    let snap = &published.snapshot;
    Json(json!({
        "seq": snap.seq,
        "at": snap.at,
        "engine": snap.engine,
        "processed": snap.engine.processed(),
    }))
    .into_response()
}

/// `GET /healthz`: the process serves requests (liveness).
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: ingest has partitions assigned and a snapshot has been published.
pub(crate) async fn readyz(State(state): State<ExportState>) -> Response {
    let assigned = state.ready.load(Ordering::Acquire);
    let seq = state.latest.load().snapshot.seq;
    let body = json!({ "ready": assigned && seq > 0, "assigned": assigned, "seq": seq });
    let status = if assigned && seq > 0 {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
