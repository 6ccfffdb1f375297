//! JSON API, health and the `/metrics` text.

use std::sync::atomic::Ordering;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use prometheus::{Encoder, TextEncoder};
use serde_json::json;

use crate::auth::{AgentScope, Principal};
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

/// `GET /api/v1/snapshot`: the latest snapshot, as the WebSocket's `data`, with the agents
/// the caller's role sees (all for managers and admins; none for a wallboard).
pub(crate) async fn snapshot(
    State(state): State<ExportState>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let published = state.latest.load();
    let body = match principal.agent_scope() {
        AgentScope::All => published.json.to_string(),
        scope => published.scoped_json(&scope),
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `GET /api/v1/whoami`: who the credential proves and what it sees (the wallboard page
/// asks this before it connects).
pub(crate) async fn whoami(
    State(state): State<ExportState>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let agents = match principal.agent_scope() {
        AgentScope::None => json!("none"),
        AgentScope::All => json!("all"),
        AgentScope::One(agent) => json!({ "agent": agent }),
        AgentScope::Teams(teams) => json!({ "teams": teams }),
    };
    Json(json!({
        "subject": principal.subject,
        "role": principal.role,
        "via": principal.via,
        "expires": principal.expires,
        "agents": agents,
        "auth": state.auth.mode(),
    }))
    .into_response()
}

/// `GET /api/v1/config` (admin): the effective configuration, token hashes left out.
pub(crate) async fn settings(State(state): State<ExportState>) -> Response {
    Json(state.settings.as_ref().clone()).into_response()
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
        .ok_or_else(|| ApiError::NotFound(format!("queue {:?}", short(&queue))))?;
    Ok(
        Json(json!({ "seq": published.snapshot.seq, "at": published.snapshot.at, "queue": view }))
            .into_response(),
    )
}

/// `GET /api/v1/center`: the top of the org chart: the center's calls, every agent's day
/// merged, and each group (docs/org.md). Aggregates only, for every reading role.
pub(crate) async fn center(State(state): State<ExportState>) -> Response {
    let published = state.latest.load();
    let snap = &published.snapshot;
    Json(json!({ "seq": snap.seq, "at": snap.at, "center": snap.center })).into_response()
}

/// `GET /api/v1/groups/{group}`: one group of the org chart, with its teams.
pub(crate) async fn group(
    State(state): State<ExportState>,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    let published = state.latest.load();
    let snap = &published.snapshot;
    let view = snap
        .center
        .groups
        .iter()
        .find(|g| *g.group == *group)
        .ok_or_else(|| ApiError::NotFound(format!("group {:?}", short(&group))))?;
    let teams: Vec<_> = snap
        .teams
        .iter()
        .filter(|t| view.teams.contains(&t.team))
        .collect();
    Ok(
        Json(json!({ "seq": snap.seq, "at": snap.at, "group": view, "teams": teams }))
            .into_response(),
    )
}

/// `GET /api/v1/teams/{team}`: one team, and the group it belongs to.
pub(crate) async fn team(
    State(state): State<ExportState>,
    Path(team): Path<String>,
) -> Result<Response, ApiError> {
    let published = state.latest.load();
    let snap = &published.snapshot;
    let view = snap
        .teams
        .iter()
        .find(|t| *t.team == *team)
        .ok_or_else(|| ApiError::NotFound(format!("team {:?}", short(&team))))?;
    let group = snap
        .center
        .groups
        .iter()
        .find(|g| g.teams.contains(&view.team))
        .map(|g| &g.group);
    Ok(
        Json(json!({ "seq": snap.seq, "at": snap.at, "team": view, "group": group }))
            .into_response(),
    )
}

/// `GET /api/v1/agents/{agent}/scorecard`: the agent's day (calls and their AHT parts,
/// CSAT, NPS, QA, time in state and occupancy, adherence) beside its team's, for whoever's
/// scope covers the agent.
pub(crate) async fn scorecard(
    State(state): State<ExportState>,
    Extension(principal): Extension<Principal>,
    Path(agent): Path<String>,
) -> Result<Response, ApiError> {
    let scope = principal.agent_scope();
    let refused = || {
        ApiError::Forbidden(format!(
            "agent {:?} is outside what role {} may see",
            short(&agent),
            principal.role
        ))
    };
    // Refused before the lookup where the scope alone decides: no agent's existence leaks.
    match &scope {
        AgentScope::None => return Err(refused()),
        AgentScope::One(own) if **own != *agent => return Err(refused()),
        _ => {}
    }
    let published = state.latest.load();
    let snap = &published.snapshot;
    let view = snap
        .agents
        .iter()
        .find(|a| *a.agent_id == *agent)
        .ok_or_else(|| ApiError::NotFound(format!("agent {:?}", short(&agent))))?;
    if !scope.covers(&view.team, &view.agent_id) {
        return Err(refused());
    }
    let team = snap.teams.iter().find(|t| t.team == view.team);
    Ok(Json(json!({
        "seq": snap.seq,
        "at": snap.at,
        "agent": view,
        "team": {
            "team": view.team,
            "day": team.map(|t| &t.day),
        },
    }))
    .into_response())
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

/// How long the Kafka cluster may stay silent before `/readyz` says the figures are going
/// stale (librdkafka's statistics, which show a broker up, come every second).
pub(crate) const READY_BROKER_SILENCE_S: f64 = 30.0;

/// `GET /readyz`: ingest has had a partition assignment, a snapshot has been published, and
/// the Kafka cluster was heard from within [`READY_BROKER_SILENCE_S`]. The body says which
/// of these hold, and how many partitions this instance owns now.
pub(crate) async fn readyz(State(state): State<ExportState>) -> Response {
    let assigned = state.ready.load(Ordering::Acquire);
    let latest = state.latest.load();
    let engine = &latest.snapshot.engine;
    let seq = latest.snapshot.seq;
    let broker_reachable = engine
        .broker_contact_age_s
        .is_some_and(|age| age <= READY_BROKER_SILENCE_S);
    let ready = assigned && seq > 0 && broker_reachable;
    let body = json!({
        "ready": ready,
        "assigned": assigned,
        "partitions": engine.partitions,
        "seq": seq,
        "broker_reachable": broker_reachable,
        "broker_contact_age_s": engine.broker_contact_age_s,
        "last_message_age_s": engine.last_message_age_s,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// A name from the request, cut to 64 characters for an error body: a client that sends
/// 10 KB gets a short answer, not its own request back.
fn short(name: &str) -> String {
    match name.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_owned(),
    }
}
