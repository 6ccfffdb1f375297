//! The HTTP middleware every route but the open ones goes through: it authenticates the
//! request, takes it from the credential's rate allowance, checks the role reaches the
//! endpoint, hands the [`Principal`] to the handler and writes the audit log.
//!
//! Audit lines go to the `callpulse::audit` target (filter or route them on their own):
//! one per authenticated request or WebSocket session, one per refusal. They name the
//! token (its configured name) or the JWT subject, never the credential itself, and the
//! path without its query (a WebSocket's query may carry a token).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::{info, warn};

use super::{Access, Principal, Refusal, Via};
use crate::ExportState;

/// What a guarded route group needs.
#[derive(Debug, Clone)]
pub(crate) struct Guarded {
    pub(crate) state: ExportState,
    pub(crate) access: Access,
}

/// The bearer credential: the `Authorization` header, or for `/ws` (browsers cannot set
/// headers on a WebSocket) the `token` query parameter.
fn credential(request: &Request) -> Option<String> {
    if let Some(value) = request.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    if request.uri().path() != "/ws" {
        return None;
    }
    form_urlencoded::parse(request.uri().query()?.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
}

pub(crate) async fn guard(
    State(guarded): State<Guarded>,
    mut request: Request,
    next: Next,
) -> Response {
    let state = &guarded.state;
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_default();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let presented = credential(&request);
    let outcome = match state.auth.authenticate(presented.as_deref()).await {
        Ok(principal) => state
            .auth
            .check_rate(&principal)
            .and_then(|()| {
                if principal.may(guarded.access) {
                    Ok(())
                } else {
                    Err(Refusal::Forbidden(format!(
                        "role {} may not use {path}: it needs {}",
                        principal.role,
                        guarded.access.needs()
                    )))
                }
            })
            .map(|()| principal.clone())
            .map_err(|refusal| (Some(principal), refusal)),
        Err(refusal) => Err((None, refusal)),
    };
    match outcome {
        Ok(principal) => {
            let audited = principal.via != Via::Open;
            if audited {
                state
                    .telemetry
                    .auth_allowed
                    .with_label_values(&[principal.role.as_str()])
                    .inc();
            }
            let subject = std::sync::Arc::clone(&principal.subject);
            let role = principal.role;
            let via = principal.via;
            request.extensions_mut().insert(principal);
            let response = next.run(request).await;
            if audited {
                info!(
                    target: "callpulse::audit",
                    outcome = "allowed",
                    subject = &*subject,
                    role = role.as_str(),
                    via = ?via,
                    %method,
                    path,
                    peer,
                    status = response.status().as_u16(),
                );
            }
            response
        }
        Err((principal, refusal)) => {
            state
                .telemetry
                .auth_refused
                .with_label_values(&[refusal.reason()])
                .inc();
            warn!(
                target: "callpulse::audit",
                outcome = "refused",
                reason = refusal.reason(),
                detail = refusal.message(),
                subject = principal.as_ref().map_or("", |p| &*p.subject),
                role = principal.as_ref().map_or("", |p| p.role.as_str()),
                %method,
                path,
                peer,
                status = refusal.status(),
            );
            refuse(&refusal, presented.is_some())
        }
    }
}

/// The response to a refused request.
pub(crate) fn refuse(refusal: &Refusal, presented: bool) -> Response {
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
    let mut response = (
        status,
        Json(json!({ "error": refusal.message(), "reason": refusal.reason() })),
    )
        .into_response();
    let headers = response.headers_mut();
    match refusal {
        Refusal::RateLimited(wait) => {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        _ if status == StatusCode::UNAUTHORIZED => {
            // RFC 6750: a client that sent no token gets no error code.
            let challenge = if presented {
                r#"Bearer realm="callpulse", error="invalid_token""#
            } else {
                r#"Bearer realm="callpulse""#
            };
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        _ => {}
    }
    response
}

/// Audit line for the end of a WebSocket session (its start is the upgrade request's line).
pub(crate) fn session_closed(principal: &Principal, outcome: &str, secs: f64) {
    if principal.via != Via::Open {
        info!(
            target: "callpulse::audit",
            outcome = "session_closed",
            subject = &*principal.subject,
            role = principal.role.as_str(),
            end = outcome,
            secs,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, auth: Option<&str>) -> Request {
        let mut builder = Request::builder().uri(uri);
        if let Some(value) = auth {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        builder.body(axum::body::Body::empty()).expect("request")
    }

    #[test]
    fn credentials_come_from_the_header_or_a_websocket_query() {
        assert_eq!(
            credential(&request("/api/v1/snapshot", Some("Bearer abc"))),
            Some("abc".to_owned())
        );
        assert_eq!(
            credential(&request("/api/v1/snapshot", Some("bearer  abc "))),
            Some("abc".to_owned())
        );
        assert_eq!(
            credential(&request("/api/v1/snapshot", Some("Basic abc"))),
            None
        );
        assert_eq!(
            credential(&request("/api/v1/snapshot?token=abc", None)),
            None,
            "only /ws reads the query"
        );
        assert_eq!(
            credential(&request("/ws?protocol=2&token=a%2Bb%3D", None)),
            Some("a+b=".to_owned())
        );
        assert_eq!(
            credential(&request("/ws?token=%zz%2", None)),
            Some("%zz%2".to_owned())
        );
    }
}
