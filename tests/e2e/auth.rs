//! Who sees what, over real sockets, with the engine consuming from Kafka: each role's
//! answer on every endpoint and every `/ws` frame equals its scope; JWTs from an identity
//! provider served by the test (good, expired, wrongly signed, wrong issuer or audience);
//! revocation ends a live session; request rate, per-client connections and CORS; and
//! `callpulse run` itself refusing to start open, then admitting a token it minted.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use callpulse::Config;
use callpulse_e2e::crash::produce;
use callpulse_e2e::servers::{Guard, answered, prometheus_query, queued, start_prometheus};
use callpulse_e2e::{
    Engine, Response, callpulse_binary, eventually, free_port, header, http_request, mock_cluster,
    test_config, wall_now,
};
use callpulse_events::{AgentState, AgentStateChanged, Envelope, Event, Ts};
use callpulse_export::auth::{AuthMode, Role, TokenEntry, hash_token};
use futures::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// Agents and their teams.
const AGENTS: [(&str, &str); 4] = [
    ("north-ann", "north"),
    ("north-bob", "north"),
    ("south-cy", "south"),
    ("south-dee", "south"),
];

fn events(now: Ts) -> Vec<Envelope> {
    let start = now.plus_millis(-120_000);
    let mut out: Vec<Envelope> = AGENTS
        .iter()
        .map(|(agent, team)| Envelope {
            event_id: format!("{agent}-state"),
            ts: start,
            event: Event::AgentState(AgentStateChanged {
                agent_id: (*agent).to_owned(),
                team: (*team).to_owned(),
                state: AgentState::Available,
                reason: None,
            }),
        })
        .collect();
    for i in 0..3 {
        let id = format!("call-{i}");
        let at = start.plus_millis(i * 1_000);
        out.push(queued(&id, "billing", at));
        out.push(answered(&id, "billing", at.plus_millis(4_000)));
    }
    out
}

fn secret(name: &str) -> String {
    format!("secret-of-{name}")
}

fn entry(name: &str, role: Role, teams: &[&str], agent: &str) -> TokenEntry {
    TokenEntry {
        name: name.to_owned(),
        sha256: hash_token(&secret(name)),
        role,
        teams: teams.iter().map(|t| (*t).to_owned()).collect(),
        agent: agent.to_owned(),
    }
}

fn tokens_file_text(entries: &[TokenEntry]) -> String {
    #[derive(serde::Serialize)]
    struct File<'a> {
        tokens: &'a [TokenEntry],
    }
    toml::to_string(&File { tokens: entries }).expect("toml")
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("callpulse-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

async fn get_as(addr: SocketAddr, path: &str, token: Option<&str>) -> Response {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("Authorization", b)])
        .unwrap_or_default();
    http_request(addr, "GET", path, &headers).await
}

/// The agents of [`AGENTS`] named anywhere in `text`.
fn agents_in(text: &str) -> BTreeSet<&'static str> {
    AGENTS
        .iter()
        .map(|(agent, _)| *agent)
        .filter(|agent| text.contains(&format!("\"{agent}\"")))
        .collect()
}

fn set(names: &[&'static str]) -> BTreeSet<&'static str> {
    names.iter().copied().collect()
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A `/ws` connection with `query`, or the HTTP status it was refused with.
async fn ws(addr: SocketAddr, query: &str, bearer: Option<&str>) -> Result<Socket, u16> {
    let mut request = format!("ws://{addr}/ws?{query}")
        .into_client_request()
        .expect("request");
    if let Some(token) = bearer {
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("/ws?{query}: {other}"),
    }
}

/// The next frame of type `kind`, as text.
async fn next_frame(socket: &mut Socket, kind: &str) -> String {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("open")
            .expect("ok");
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).expect("JSON");
            if value["type"] == kind || (kind == "snapshot" && value.get("type").is_none()) {
                return text.to_string();
            }
        }
    }
}

/// Waits for the server to close `socket`; its close code and reason.
async fn closed(socket: &mut Socket, within: Duration) -> (CloseCode, String) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => panic!("not closed within {within:?}"),
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                return (frame.code, frame.reason.to_string());
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("ended without a close frame: {other:?}"),
        }
    }
}

fn token_config(brokers: &str, group: &str, tokens_file: &Path) -> Config {
    let mut config = test_config(brokers, group);
    config.auth.mode = AuthMode::Required;
    config.auth.tokens = vec![
        entry("prom", Role::Metrics, &[], ""),
        entry("tv", Role::Wallboard, &[], ""),
        entry("ann", Role::Agent, &[], "north-ann"),
        entry("lead", Role::TeamLead, &["north"], ""),
        entry("boss", Role::Manager, &[], ""),
        entry("root", Role::Admin, &[], ""),
    ];
    config.auth.tokens_file = tokens_file.display().to_string();
    config.auth.reload_secs = 1;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_receives_exactly_its_scope_on_every_endpoint_and_frame() {
    let dir = temp_dir("auth-roles");
    let file = dir.join("tokens.toml");
    std::fs::write(
        &file,
        tokens_file_text(&[entry("lead-2", Role::TeamLead, &["north"], "")]),
    )
    .expect("tokens file");
    let mock = mock_cluster(1);
    let brokers = mock.bootstrap_servers();
    let engine = Engine::start(token_config(&brokers, "auth-roles", &file)).await;
    let addr = engine.addr;
    produce(&brokers, &events(wall_now()));
    let boss = secret("boss");
    eventually(Duration::from_secs(60), "four agents", || async {
        let (_, _, body) = get_as(addr, "/api/v1/snapshot", Some(&boss)).await;
        (agents_in(&body).len() == 4 && body.contains("\"billing\"")).then_some(())
    })
    .await;

    // Every endpoint, every role: the status.
    let endpoints = [
        "/",
        "/healthz",
        "/metrics",
        "/api/v1/snapshot",
        "/api/v1/queues/billing",
        "/api/v1/center",
        "/api/v1/engine",
        "/api/v1/whoami",
        "/api/v1/config",
    ];
    let table: [(Option<&str>, [u16; 9]); 7] = [
        (None, [200, 200, 401, 401, 401, 401, 401, 401, 401]),
        (Some("prom"), [200, 200, 200, 403, 403, 403, 403, 200, 403]),
        (Some("tv"), [200, 200, 403, 200, 200, 200, 200, 200, 403]),
        (Some("ann"), [200, 200, 403, 200, 200, 200, 200, 200, 403]),
        (Some("lead"), [200, 200, 403, 200, 200, 200, 200, 200, 403]),
        (Some("boss"), [200, 200, 403, 200, 200, 200, 200, 200, 403]),
        (Some("root"), [200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ];
    for (who, statuses) in table {
        let token = who.map(secret);
        for (path, expected) in endpoints.iter().zip(statuses) {
            let (status, head, body) = get_as(addr, path, token.as_deref()).await;
            assert_eq!(status, expected, "{who:?} GET {path}: {head}\n{body}");
            if status == 401 {
                assert!(
                    header(&head, "www-authenticate").is_some_and(|h| h.starts_with("Bearer")),
                    "{head}"
                );
            }
        }
    }
    // A token that is not configured, and the right token under the wrong scheme.
    assert_eq!(get_as(addr, "/api/v1/snapshot", Some("guess")).await.0, 401);
    let basic = format!("Basic {boss}");
    let (status, _, _) = http_request(
        addr,
        "GET",
        "/api/v1/snapshot",
        &[("Authorization", &basic)],
    )
    .await;
    assert_eq!(status, 401);
    // The query parameter is a credential on /ws only.
    assert_eq!(
        get_as(addr, &format!("/api/v1/snapshot?token={boss}"), None)
            .await
            .0,
        401
    );

    // What each role's snapshot holds: exactly its agents.
    let scope = [
        ("tv", set(&[])),
        ("ann", set(&["north-ann"])),
        ("lead", set(&["north-ann", "north-bob"])),
        (
            "boss",
            set(&["north-ann", "north-bob", "south-cy", "south-dee"]),
        ),
        (
            "root",
            set(&["north-ann", "north-bob", "south-cy", "south-dee"]),
        ),
    ];
    for (who, agents) in &scope {
        let (_, _, body) = get_as(addr, "/api/v1/snapshot", Some(&secret(who))).await;
        assert_eq!(&agents_in(&body), agents, "{who}: {body}");
        let snapshot: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(
            snapshot["agents"].as_array().map(Vec::len),
            Some(agents.len()),
            "{who}"
        );
        // Aggregates are everyone's: the queue and both teams.
        assert!(
            body.contains("\"billing\"") && body.contains("\"south\""),
            "{who}"
        );
        let (_, _, queue) = get_as(addr, "/api/v1/queues/billing", Some(&secret(who))).await;
        assert!(agents_in(&queue).is_subset(agents), "{who}: {queue}");
    }
    // Scorecards: an agent's day beside its team's, to whoever's scope covers the agent.
    let scorecards = [
        ("prom", "north-ann", 403),
        ("tv", "north-ann", 403),
        ("ann", "north-ann", 200),
        ("ann", "north-bob", 403),
        ("lead", "north-bob", 200),
        ("lead", "south-cy", 403),
        ("boss", "south-cy", 200),
        ("boss", "nobody", 404),
        ("root", "north-ann", 200),
    ];
    for (who, agent, expected) in scorecards {
        let path = format!("/api/v1/agents/{agent}/scorecard");
        let (status, _, body) = get_as(addr, &path, Some(&secret(who))).await;
        assert_eq!(status, expected, "{who} GET {path}: {body}");
        if status == 200 {
            let card: Value = serde_json::from_str(&body).expect("JSON");
            assert_eq!(card["agent"]["agent_id"], agent, "{body}");
            let team = agent.split('-').next().expect("team");
            assert_eq!(card["team"]["team"], team, "{body}");
            // Both of the team's agents are in its day.
            assert_eq!(card["team"]["day"]["agents"], 2, "{body}");
        } else {
            assert!(!body.contains("calls_today"), "{who}: {body}");
        }
    }
    assert_eq!(
        get_as(addr, "/api/v1/agents/north-ann/scorecard", None)
            .await
            .0,
        401
    );
    let (_, _, me) = get_as(addr, "/api/v1/whoami", Some(&secret("lead"))).await;
    let me: Value = serde_json::from_str(&me).expect("JSON");
    assert_eq!(me["role"], "team_lead");
    assert_eq!(me["agents"], json!({ "teams": ["north"] }));
    // The configuration an admin reads names the tokens, never their hashes.
    let (_, _, settings) = get_as(addr, "/api/v1/config", Some(&secret("root"))).await;
    assert!(settings.contains("\"boss\""), "{settings}");
    assert!(!settings.contains(&hash_token(&boss)), "{settings}");

    ws_scopes(addr).await;

    // Revocation: the file's token loses its session within the reload period.
    let lead2 = secret("lead-2");
    let mut session = ws(
        addr,
        &format!("protocol=2&sections=agents&token={lead2}"),
        None,
    )
    .await
    .expect("lead-2 connects");
    next_frame(&mut session, "snapshot").await;
    std::fs::write(&file, tokens_file_text(&[])).expect("revoke");
    let (code, reason) = closed(&mut session, Duration::from_secs(15)).await;
    assert_eq!(code, CloseCode::Policy, "{reason}");
    assert!(
        reason.contains("revoked") || reason.contains("expired"),
        "{reason}"
    );
    assert_eq!(get_as(addr, "/api/v1/snapshot", Some(&lead2)).await.0, 401);

    // The refusals and admissions are counted.
    let (_, _, metrics) = get_as(addr, "/metrics", Some(&secret("prom"))).await;
    let scrape = callpulse_e2e::Scrape::parse(&metrics);
    for reason in ["missing", "invalid", "forbidden"] {
        assert!(
            scrape.value(
                "callpulse_http_requests_refused_total",
                &[("reason", reason)]
            ) >= 1.0,
            "{reason}"
        );
    }
    assert!(
        scrape.value(
            "callpulse_http_requests_authenticated_total",
            &[("role", "team_lead")]
        ) >= 1.0
    );
    assert!(scrape.value("callpulse_ws_dropped_total", &[("reason", "unauthorized")]) >= 1.0);
    engine.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// `/ws`: each role's frames hold its scope; subscriptions outside it are refused.
async fn ws_scopes(addr: SocketAddr) {
    assert_eq!(ws(addr, "protocol=2", None).await.err(), Some(401));
    assert_eq!(
        ws(addr, "protocol=2", Some("not-a-token")).await.err(),
        Some(401)
    );
    assert_eq!(
        ws(addr, "protocol=2", Some(&secret("prom"))).await.err(),
        Some(403)
    );
    // A wallboard token: aggregates, never an agent; asking for agents is refused.
    let tv = secret("tv");
    let mut board = ws(
        addr,
        &format!("protocol=2&sections=center,queues,teams,alerts&token={tv}"),
        None,
    )
    .await
    .expect("tv connects");
    let frame = next_frame(&mut board, "snapshot").await;
    assert!(frame.contains("\"billing\""), "{frame}");
    assert_eq!(agents_in(&frame), set(&[]), "{frame}");
    assert_eq!(
        ws(addr, "protocol=2&sections=agents", Some(&tv))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(
        ws(addr, "", Some(&tv)).await.err(),
        Some(403),
        "v1 carries every agent"
    );
    // Subscribing to agents on an open session: closed with a reason.
    board
        .send(Message::Text(
            json!({"type": "subscribe", "sections": ["agents"]})
                .to_string()
                .into(),
        ))
        .await
        .expect("send");
    let (code, reason) = closed(&mut board, Duration::from_secs(10)).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("agents"), "{reason}");

    // A team lead: their team's agents, by header or by query.
    let lead = secret("lead");
    let mut own = ws(addr, "protocol=2&sections=agents,teams", Some(&lead))
        .await
        .expect("lead connects");
    let frame = next_frame(&mut own, "snapshot").await;
    assert_eq!(
        agents_in(&frame),
        set(&["north-ann", "north-bob"]),
        "{frame}"
    );
    assert!(
        frame.contains("\"south\""),
        "team aggregates are everyone's: {frame}"
    );
    assert_eq!(
        ws(
            addr,
            &format!("protocol=2&sections=agents&teams=south&token={lead}"),
            None
        )
        .await
        .err(),
        Some(403)
    );
    own.send(Message::Text(
        json!({"type": "subscribe", "sections": ["agents"], "teams": ["south"]})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    let (code, reason) = closed(&mut own, Duration::from_secs(10)).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("south"), "{reason}");

    // An agent: only themself.
    let mut me = ws(addr, "protocol=2&sections=agents", Some(&secret("ann")))
        .await
        .expect("ann connects");
    let frame = next_frame(&mut me, "snapshot").await;
    assert_eq!(agents_in(&frame), set(&["north-ann"]), "{frame}");

    // A manager: everyone, on v1 too.
    let mut all = ws(addr, "", Some(&secret("boss"))).await.expect("v1");
    let frame = next_frame(&mut all, "snapshot").await;
    assert_eq!(agents_in(&frame).len(), 4, "{frame}");
}

/// A P-256 signing key with its JWK.
struct SigningKey {
    kid: String,
    der: Vec<u8>,
    jwk: Value,
}

fn signing_key(kid: &str) -> SigningKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    // The uncompressed point: 0x04, then x and y, 32 bytes each.
    let raw = pair.public_key_raw();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    SigningKey {
        kid: kid.to_owned(),
        der: pair.serialize_der(),
        jwk: json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": b64(&raw[1..33]), "y": b64(&raw[33..65]),
        }),
    }
}

fn jwt(key: &SigningKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    encode(&header, claims, &EncodingKey::from_ec_der(&key.der)).expect("sign")
}

/// A minimal identity provider: its discovery document and key set over HTTP.
async fn identity_provider(jwks: Value) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let issuer = format!(
        "http://{}/realms/center",
        listener.local_addr().expect("addr")
    );
    let discovery = json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/keys") });
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (discovery, jwks) = (discovery.clone(), jwks.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split_whitespace().nth(1).unwrap_or_default();
                let (status, body) = if path.ends_with("/.well-known/openid-configuration") {
                    ("200 OK", discovery.to_string())
                } else if path.ends_with("/keys") {
                    ("200 OK", jwks.to_string())
                } else {
                    ("404 Not Found", String::new())
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    (issuer, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwts_are_checked_against_the_issuers_keys() {
    let key = signing_key("k1");
    let forger = signing_key("k1");
    let (issuer, idp) = identity_provider(json!({ "keys": [key.jwk.clone()] })).await;
    let mock = mock_cluster(1);
    let brokers = mock.bootstrap_servers();
    let mut config = test_config(&brokers, "auth-jwt");
    config.auth.mode = AuthMode::Required;
    config.auth.oidc.issuer = issuer.clone();
    config.auth.oidc.audience = "callpulse".to_owned();
    config.auth.oidc.role_claim = "realm_access.roles".to_owned();
    config.auth.oidc.teams_claim = "groups".to_owned();
    let engine = Engine::start(config).await;
    let addr = engine.addr;
    produce(&brokers, &events(wall_now()));
    let now = u64::try_from(wall_now().millis() / 1000).expect("positive");
    let claims = |role: Value, extra: Value| {
        let mut claims = json!({
            "iss": issuer, "aud": "callpulse", "sub": "user-1",
            "iat": now, "exp": now + 600, "realm_access": { "roles": role },
        });
        for (k, v) in extra.as_object().expect("object") {
            claims[k] = v.clone();
        }
        claims
    };
    let manager = jwt(
        &key,
        &claims(json!(["offline_access", "manager"]), json!({})),
    );
    eventually(Duration::from_secs(60), "four agents", || async {
        let (_, _, body) = get_as(addr, "/api/v1/snapshot", Some(&manager)).await;
        (agents_in(&body).len() == 4).then_some(())
    })
    .await;

    let lead = jwt(
        &key,
        &claims(json!("team_lead"), json!({ "groups": ["south"] })),
    );
    let (status, _, body) = get_as(addr, "/api/v1/snapshot", Some(&lead)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(agents_in(&body), set(&["south-cy", "south-dee"]));
    let mut socket = ws(
        addr,
        &format!("protocol=2&sections=agents&token={lead}"),
        None,
    )
    .await
    .expect("a JWT on /ws");
    let frame = next_frame(&mut socket, "snapshot").await;
    assert_eq!(
        agents_in(&frame),
        set(&["south-cy", "south-dee"]),
        "{frame}"
    );

    let refused = [
        (
            "expired",
            jwt(
                &key,
                &claims(json!("manager"), json!({ "exp": now - 3600 })),
            ),
            401,
            "expired",
        ),
        (
            "signed by another key under the same kid",
            jwt(&forger, &claims(json!("manager"), json!({}))),
            401,
            "invalid",
        ),
        (
            "wrong issuer",
            jwt(
                &key,
                &claims(
                    json!("manager"),
                    json!({ "iss": "http://127.0.0.1:1/evil" }),
                ),
            ),
            401,
            "invalid",
        ),
        (
            "wrong audience",
            jwt(
                &key,
                &claims(json!("manager"), json!({ "aud": "other-app" })),
            ),
            401,
            "invalid",
        ),
        (
            "not valid yet",
            jwt(
                &key,
                &claims(json!("manager"), json!({ "nbf": now + 3600 })),
            ),
            401,
            "invalid",
        ),
        (
            "a key the issuer does not publish",
            jwt(&signing_key("k9"), &claims(json!("manager"), json!({}))),
            401,
            "invalid",
        ),
        (
            "symmetric, with the public key as secret",
            encode(
                &Header::new(Algorithm::HS256),
                &claims(json!("manager"), json!({})),
                &EncodingKey::from_secret(key.jwk.to_string().as_bytes()),
            )
            .expect("sign"),
            401,
            "invalid",
        ),
        (
            "no role callpulse knows",
            jwt(&key, &claims(json!(["offline_access"]), json!({}))),
            403,
            "forbidden",
        ),
        (
            "a team lead without teams",
            jwt(&key, &claims(json!("team_lead"), json!({}))),
            403,
            "forbidden",
        ),
    ];
    for (what, token, status, reason) in refused {
        let (got, head, body) = get_as(addr, "/api/v1/snapshot", Some(&token)).await;
        assert_eq!(got, status, "{what}: {head}\n{body}");
        let body: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(body["reason"], reason, "{what}: {body}");
        assert!(
            !body.to_string().contains(&token),
            "the token is not echoed"
        );
    }
    engine.stop().await;
    idp.abort();
}

/// A CA and a certificate for 127.0.0.1 it signed: (CA certificate DER, leaf PEM, key PEM).
fn certificate() -> (Vec<u8>, String, String) {
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "callpulse test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("leaf params")
        .signed_by(&leaf_key, &issuer)
        .expect("leaf cert");
    (ca_cert.der().to_vec(), leaf.pem(), leaf_key.serialize_pem())
}

/// A TLS connection to `addr` trusting only `ca`; `None` when the handshake fails.
async fn tls_connect(
    addr: SocketAddr,
    ca: &[u8],
) -> Option<tokio_rustls::client::TlsStream<TcpStream>> {
    use rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca.to_vec())).expect("root");
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client));
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::IpAddress(addr.ip().into());
    connector.connect(name, tcp).await.ok()
}

async fn https_get(addr: SocketAddr, ca: &[u8], path: &str) -> Option<Response> {
    let stream = tls_connect(addr, ca).await?;
    Some(callpulse_e2e::exchange(stream, &addr.to_string(), "GET", path, &[]).await)
}

/// Writes a file whole (a reload never sees half of it).
fn replace(path: &Path, text: &str) {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text).expect("write");
    std::fs::rename(&partial, path).expect("rename");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_https_and_wss_and_reloads_a_renewed_certificate() {
    let dir = temp_dir("auth-tls");
    let (cert_path, key_path) = (dir.join("tls.crt"), dir.join("tls.key"));
    let (ca1, cert1, key1) = certificate();
    replace(&cert_path, &cert1);
    replace(&key_path, &key1);
    let mock = mock_cluster(1);
    let brokers = mock.bootstrap_servers();
    let mut config = test_config(&brokers, "auth-tls");
    config.export.tls.cert_file = cert_path.display().to_string();
    config.export.tls.key_file = key_path.display().to_string();
    config.export.tls.reload_secs = 1;
    let engine = Engine::start(config).await;
    let addr = engine.addr;
    produce(&brokers, &events(wall_now()));

    eventually(
        Duration::from_secs(60),
        "the snapshot over HTTPS",
        || async {
            let (status, _, body) = https_get(addr, &ca1, "/api/v1/snapshot").await?;
            (status == 200 && body.contains("\"billing\"")).then_some(())
        },
    )
    .await;
    // Plain HTTP on the TLS port gets no answer.
    let (status, _, _) = http_request(addr, "GET", "/healthz", &[]).await;
    assert_ne!(status, 200);
    // A WebSocket over the same TLS.
    let stream = tls_connect(addr, &ca1).await.expect("handshake");
    let (mut socket, _) =
        tokio_tungstenite::client_async(format!("wss://{addr}/ws?protocol=2"), stream)
            .await
            .expect("wss");
    let hello = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a frame")
        .expect("open")
        .expect("ok");
    assert!(hello.to_text().expect("text").contains("hello"), "{hello}");

    // Renewal: a certificate from another CA replaces the files; new connections get it.
    let (ca2, cert2, key2) = certificate();
    replace(&key_path, &key2);
    replace(&cert_path, &cert2);
    eventually(
        Duration::from_secs(20),
        "the renewed certificate",
        || async {
            https_get(addr, &ca2, "/healthz")
                .await
                .filter(|r| r.0 == 200)
                .map(drop)
        },
    )
    .await;
    assert!(
        tls_connect(addr, &ca1).await.is_none(),
        "the old one is gone"
    );
    // The session opened before the renewal lives on.
    socket
        .send(Message::Text(json!({"type": "ping"}).to_string().into()))
        .await
        .expect("the old session is still open");
    // A broken renewal keeps the certificate in force.
    replace(&cert_path, "not a certificate");
    let (_, _, metrics) = eventually(Duration::from_secs(20), "a failed reload", || async {
        let response = https_get(addr, &ca2, "/metrics").await?;
        let scrape = callpulse_e2e::Scrape::parse(&response.2);
        (scrape.value("callpulse_tls_reloads_total", &[("outcome", "failed")]) >= 1.0)
            .then_some(response)
    })
    .await;
    let scrape = callpulse_e2e::Scrape::parse(&metrics);
    assert!(scrape.value("callpulse_tls_reloads_total", &[("outcome", "ok")]) >= 1.0);
    assert_eq!(
        https_get(addr, &ca2, "/healthz").await.map(|r| r.0),
        Some(200)
    );
    engine.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_rate_client_connections_and_cors_are_limited() {
    let dir = temp_dir("auth-limits");
    let mock = mock_cluster(1);
    let brokers = mock.bootstrap_servers();
    let mut config = token_config(&brokers, "auth-limits", &dir.join("none.toml"));
    std::fs::write(dir.join("none.toml"), "").expect("empty tokens file");
    config.auth.rate_per_sec = 1;
    config.auth.rate_burst = 3;
    config.auth.max_connections_per_client = 3;
    config.auth.cors_origins = vec!["https://wall.example".to_owned()];
    let engine = Engine::start(config).await;
    let addr = engine.addr;

    // Per token: a burst of 3, then 429 with when to retry; another token is unaffected.
    let boss = secret("boss");
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..8 {
        let (status, head, _) = get_as(addr, "/api/v1/engine", Some(&boss)).await;
        if status == 429 {
            retry_after = header(&head, "retry-after").map(str::to_owned);
        }
        statuses.push(status);
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        retry_after.is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s >= 1)),
        "Retry-After in whole seconds"
    );
    assert_eq!(
        get_as(addr, "/api/v1/engine", Some(&secret("tv"))).await.0,
        200
    );

    // CORS: the configured origin is allowed (preflight and request), another is not.
    let tv = format!("Bearer {}", secret("tv"));
    let (status, head, _) = http_request(
        addr,
        "OPTIONS",
        "/api/v1/snapshot",
        &[
            ("Origin", "https://wall.example"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(
        header(&head, "access-control-allow-origin"),
        Some("https://wall.example")
    );
    let (_, head, _) = http_request(
        addr,
        "GET",
        "/api/v1/whoami",
        &[("Origin", "https://wall.example"), ("Authorization", &tv)],
    )
    .await;
    assert_eq!(
        header(&head, "access-control-allow-origin"),
        Some("https://wall.example")
    );
    let (_, head, _) = http_request(
        addr,
        "GET",
        "/api/v1/whoami",
        &[("Origin", "https://evil.example"), ("Authorization", &tv)],
    )
    .await;
    assert_eq!(header(&head, "access-control-allow-origin"), None, "{head}");

    // Connections per client address: three held open, the fourth is closed at once.
    // (The connections above have all been closed by now: each ended with its response.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held: Vec<TcpStream> = futures::future::join_all(
        (0..3).map(|_| async { TcpStream::connect(addr).await.expect("connect") }),
    )
    .await;
    let (status, _, _) = http_request(addr, "GET", "/healthz", &[]).await;
    assert_eq!(status, 0, "refused without an answer");
    drop(held);
    eventually(Duration::from_secs(10), "a slot again", || async {
        (http_request(addr, "GET", "/healthz", &[]).await.0 == 200).then_some(())
    })
    .await;
    let (_, _, metrics) = get_as(addr, "/metrics", Some(&secret("root"))).await;
    let scrape = callpulse_e2e::Scrape::parse(&metrics);
    assert!(
        scrape.value(
            "callpulse_http_connections_refused_total",
            &[("reason", "per_client")]
        ) >= 1.0
    );
    assert!(
        scrape.value(
            "callpulse_http_requests_refused_total",
            &[("reason", "rate_limited")]
        ) >= 1.0
    );
    engine.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// `callpulse` with `args`; its exit status and output.
fn command(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(callpulse_binary())
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .expect("callpulse runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_refuses_to_serve_open_and_prometheus_scrapes_with_a_minted_token() {
    let dir = temp_dir("auth-binary");
    let mock = mock_cluster(1);
    let brokers = mock.bootstrap_servers();
    // No credential and no `auth.mode = "off"`: it does not start.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let out = command(&["run", "--brokers", &brokers, "--listen", &listen], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("auth.mode"), "{stderr}");

    // `token new` prints the token and the entry that admits it.
    let out = command(
        &["token", "new", "--name", "prometheus", "--role", "metrics"],
        &[],
    );
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).expect("utf-8");
    let token = printed
        .lines()
        .find_map(|l| l.strip_prefix("# cpt_").map(|t| format!("cpt_{t}")))
        .expect("the token line");
    let tokens = dir.join("tokens.toml");
    std::fs::write(&tokens, &printed).expect("tokens file");
    // `token hash` gives the entry's hash for a token made elsewhere.
    let mut hashing = std::process::Command::new(callpulse_binary())
        .args(["token", "hash"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("token hash");
    std::io::Write::write_all(&mut hashing.stdin.take().expect("stdin"), token.as_bytes())
        .expect("write");
    let hashed = hashing.wait_with_output().expect("output");
    assert_eq!(
        String::from_utf8_lossy(&hashed.stdout).trim(),
        hash_token(&token)
    );
    assert!(printed.contains(&hash_token(&token)));

    let _engine = Guard(
        std::process::Command::new(callpulse_binary())
            .args(["run", "--brokers", &brokers, "--listen", &listen])
            .env("RUST_LOG", "warn")
            .env("CALLPULSE__AUTH__TOKENS_FILE", &tokens)
            .env("CALLPULSE__INGEST__LIBRDKAFKA__session.timeout.ms", "6000")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("callpulse run"),
    );
    let addr: SocketAddr = listen.parse().expect("addr");
    eventually(Duration::from_secs(30), "listening", || async {
        TcpStream::connect(addr).await.ok().map(drop)
    })
    .await;
    assert_eq!(get_as(addr, "/metrics", None).await.0, 401);
    assert_eq!(get_as(addr, "/metrics", Some(&token)).await.0, 200);
    assert_eq!(get_as(addr, "/api/v1/snapshot", Some(&token)).await.0, 403);

    // Prometheus scrapes with the token from a file, as deploy/prometheus does.
    let credentials = dir.join("callpulse.token");
    std::fs::write(&credentials, &token).expect("credentials");
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: callpulse\n    authorization:\n      credentials_file: {}\n    static_configs:\n      - targets: [\"{addr}\"]\n",
            credentials.display()
        ),
    )
    .expect("prometheus.yml");
    let (_prometheus, prom) = start_prometheus(&dir).await;
    eventually(Duration::from_secs(60), "an authorized scrape", || async {
        let (_, json) = prometheus_query(
            prom,
            "up{job=\"callpulse\"} == 1 and on() callpulse_build_info",
        )
        .await;
        json["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
            .then_some(())
    })
    .await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallboard_runs_on_a_kiosk_token_or_a_sign_in() {
    let dir = temp_dir("auth-wallboard");
    let mock = mock_cluster(1);
    let brokers = mock.bootstrap_servers();
    let config = token_config(&brokers, "auth-wallboard", &dir.join("none.toml"));
    std::fs::write(dir.join("none.toml"), "").expect("empty tokens file");
    let engine = Engine::start(config).await;
    let addr = engine.addr;
    produce(&brokers, &events(wall_now()));
    let tv = secret("tv");
    let mut browser = callpulse_e2e::browser::Browser::start().await;
    // A kiosk URL: the token is taken in and leaves the address bar.
    browser
        .call(
            "Page.navigate",
            json!({ "url": format!("http://{addr}/?token={tv}") }),
        )
        .await;
    browser
        .wait_for(
            "document.querySelectorAll('section.card').length",
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(browser.eval("location.search").await, "");
    assert_eq!(
        browser
            .eval("document.getElementById('who').textContent")
            .await,
        "tv (wallboard)"
    );
    let text = browser.eval("document.body.innerText").await;
    let text = text.as_str().expect("text");
    assert!(text.contains("billing"), "{text}");
    assert!(
        AGENTS.iter().all(|(agent, _)| !text.contains(agent)),
        "{text}"
    );

    // Without a credential: the sign-in form; a wrong token is refused; the right one works.
    browser
        .eval("sessionStorage.clear(); location.href = '/'; true")
        .await;
    browser
        .wait_for(
            "document.body.classList.contains('login')",
            Duration::from_secs(15),
        )
        .await;
    assert_eq!(
        browser
            .eval("document.querySelectorAll('section.card').length")
            .await,
        0
    );
    let sign_in = |token: &str| {
        format!(
            "document.getElementById('login-token').value = {}; \
             document.getElementById('login-form').requestSubmit(); true",
            json!(token)
        )
    };
    browser.eval(&sign_in("wrong")).await;
    browser
        .wait_for(
            "document.getElementById('login-why').textContent.length > 0",
            Duration::from_secs(15),
        )
        .await;
    browser.eval(&sign_in(&secret("lead"))).await;
    browser
        .wait_for(
            "!document.body.classList.contains('login') && document.querySelectorAll('section.card').length",
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(
        browser
            .eval("document.getElementById('who').textContent")
            .await,
        "lead (team lead)"
    );
    engine.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}
