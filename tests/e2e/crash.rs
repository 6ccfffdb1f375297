//! Exact after crashes: events go into an external broker process (tansu) while the engine,
//! a separate `callpulse run` process, is SIGKILLed again and again; at the end its
//! `/api/v1/snapshot` equals that of an engine that read the same events without ever
//! stopping: every queue's windows and totals, the center, waiting calls, agents.
//! Meanwhile `/metrics` is scraped: a restarted process's counters count only what it
//! applied itself (never restored history), so Prometheus sees a reset, never a counter
//! continued from a lower non-zero value.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use callpulse_e2e::{
    Engine, Scrape, TOPICS, Tansu, callpulse_binary, free_port, http_get, test_config, wall_now,
};
use callpulse_events::{
    AgentState, AgentStateChanged, CallAbandoned, CallAnswered, CallCompleted, CallQueued,
    CsatResponse, Envelope, Event, Ts,
};
use callpulse_sim::{EventProducer, SimTopics};
use serde_json::Value;

const QUEUES: [&str; 3] = ["billing", "sales", "care"];

/// A small deterministic generator (an LCG): the same history every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// `calls` calls (and agent changes) between 40 and 25 minutes ago: inside the 1 h window
/// whenever the two engines are read, and outside the 5 and 15 minute ones. Some events of
/// a call come out of order, some twice.
fn history(calls: u32, start: Ts) -> Vec<Envelope> {
    let mut rng = Rng(7);
    let mut out = Vec::new();
    let env = |id: String, ts: Ts, event: Event| Envelope {
        event_id: id,
        ts,
        event,
    };
    for i in 0..calls {
        let queue = QUEUES[(i % 3) as usize].to_owned();
        let call = format!("c{i}");
        let t0 = start.plus_millis(i64::from(i) * 900_000 / i64::from(calls));
        let wait = rng.below(90_000) as i64;
        let mut events = vec![env(
            format!("{call}-q"),
            t0,
            Event::CallQueued(CallQueued {
                call_id: call.clone(),
                queue: queue.clone(),
                customer_id: Some(format!("k{}", rng.below(200))),
                priority: None,
                transferred_from: None,
            }),
        )];
        let outcome = rng.below(10);
        if outcome < 7 {
            events.push(env(
                format!("{call}-a"),
                t0.plus_millis(wait),
                Event::CallAnswered(CallAnswered {
                    call_id: call.clone(),
                    queue: queue.clone(),
                    agent_id: format!("a{}", i % 20),
                }),
            ));
            events.push(env(
                format!("{call}-d"),
                t0.plus_millis(wait + 120_000),
                Event::CallCompleted(CallCompleted {
                    call_id: call.clone(),
                    queue: queue.clone(),
                    agent_id: format!("a{}", i % 20),
                    talk_ms: 90_000 + rng.below(60_000) as i64,
                    hold_ms: rng.below(20_000) as i64,
                    acw_ms: 30_000,
                    resolved: Some(rng.below(2) == 0),
                }),
            ));
            if rng.below(3) == 0 {
                events.push(env(
                    format!("{call}-s"),
                    t0.plus_millis(wait + 150_000),
                    Event::CsatResponse(CsatResponse {
                        interaction_id: call.clone(),
                        queue: queue.clone(),
                        agent_id: None,
                        score: 1 + rng.below(5) as u8,
                    }),
                ));
            }
        } else if outcome < 9 {
            events.push(env(
                format!("{call}-x"),
                t0.plus_millis(wait),
                Event::CallAbandoned(CallAbandoned {
                    call_id: call.clone(),
                    queue: queue.clone(),
                }),
            ));
        } // else: still waiting.
        if i % 7 == 3 {
            events.reverse();
        }
        if i % 11 == 5 {
            events.push(events[0].clone()); // a redelivery
        }
        if i % 4 == 0 {
            let state = [
                AgentState::Available,
                AgentState::OnCall,
                AgentState::WrapUp,
            ][rng.below(3) as usize];
            events.push(env(
                format!("{call}-st"),
                t0,
                Event::AgentState(AgentStateChanged {
                    agent_id: format!("a{}", i % 20),
                    team: format!("t{}", i % 2),
                    state,
                    reason: None,
                }),
            ));
        }
        out.extend(events);
    }
    out
}

fn produce(brokers: &str, events: &[Envelope]) {
    let producer = EventProducer::new(
        brokers,
        &BTreeMap::new(),
        SimTopics::new("calls", "agents", "tickets", "surveys"),
    )
    .expect("producer");
    for env in events {
        producer.send(env).expect("send");
    }
    producer.flush(Duration::from_secs(20)).expect("flush");
}

/// `callpulse run` as a process of its own.
fn spawn_engine(brokers: &str, port: u16) -> Child {
    Command::new(callpulse_binary())
        .args([
            "run",
            "--brokers",
            brokers,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "warn")
        .env("CALLPULSE__INGEST__GROUP_ID", "crash")
        .env("CALLPULSE__INGEST__TICK_MS", "200")
        .env("CALLPULSE__INGEST__CHECKPOINTS__INTERVAL_MS", "400")
        .env("CALLPULSE__INGEST__LIBRDKAFKA__session.timeout.ms", "6000")
        .env(
            "CALLPULSE__INGEST__LIBRDKAFKA__heartbeat.interval.ms",
            "500",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("callpulse run starts")
}

async fn scrape(port: u16) -> Option<Scrape> {
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    match tokio::time::timeout(Duration::from_secs(2), http_get(addr, "/metrics")).await {
        Ok((200, body)) => Some(Scrape::parse(&body)),
        _ => None,
    }
}

/// What must be equal: every queue's windows except the calendar ones (their edges depend
/// on when they are read) and its totals and waiting calls, the center likewise, the
/// agents' states.
fn figures(snapshot: &Value) -> Value {
    let keep_windows = |windows: &Value| -> Value {
        windows
            .as_array()
            .map(|ws| {
                ws.iter()
                    .filter(|w| w["window"] != "interval" && w["window"] != "today")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    let queues: Vec<Value> = snapshot["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .map(|q| {
            serde_json::json!({
                "queue": q["queue"],
                "windows": keep_windows(&q["windows"]),
                "totals": q["totals"],
                "waiting": q["waiting"],
            })
        })
        .collect();
    let agents: Vec<Value> = snapshot["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| serde_json::json!([a["agent_id"], a["state"], a["since_ms"]]))
        .collect();
    serde_json::json!({
        "queues": queues,
        "center": keep_windows(&snapshot["center"]["windows"]),
        "agents": agents,
        "applied": snapshot["engine"]["counters"]["applied"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_again_and_again_the_engine_ends_exactly_where_an_uninterrupted_one_does() {
    let tansu = Tansu::start().await;
    callpulse_sim::ensure_topics(&tansu.brokers, &TOPICS, 3)
        .await
        .expect("topics");
    let events = history(3000, wall_now().plus_millis(-40 * 60_000));
    let chunks: Vec<&[Envelope]> = events.chunks(events.len() / 6 + 1).collect();
    let port = free_port();
    let mut kills = 0;
    for (round, chunk) in chunks.iter().enumerate() {
        produce(&tansu.brokers, chunk);
        let mut child = spawn_engine(&tansu.brokers, port);
        // Wait until this process has applied something and written a checkpoint, then
        // kill it at a point that varies from round to round.
        let mut first: Option<(f64, f64)> = None;
        let mut last_offered = 0.0;
        for _ in 0..300 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let Some(m) = scrape(port).await else {
                continue;
            };
            let offered = m.sum("callpulse_calls_offered_total");
            let consumed = m.sum("callpulse_events_consumed_total");
            // Counters count what this process applied, never what a checkpoint restored.
            assert!(
                offered <= consumed,
                "round {round}: offered {offered} > consumed {consumed}"
            );
            assert!(
                offered >= last_offered,
                "a counter went down within a process"
            );
            last_offered = offered;
            first.get_or_insert((offered, consumed));
            if m.value("callpulse_checkpoints_total", &[("outcome", "written")]) >= 1.0
                && consumed > 0.0
            {
                tokio::time::sleep(Duration::from_millis(150 * (round as u64 % 4))).await;
                break;
            }
        }
        if round + 1 < chunks.len() {
            child.kill().expect("SIGKILL");
            let _ = child.wait();
            kills += 1;
        } else {
            // The last process runs on: compare it with an engine that never stopped.
            let reference = Engine::start(test_config(&tansu.brokers, "crash-reference")).await;
            let addr = format!("127.0.0.1:{port}").parse().expect("addr");
            // Both read everything and then agree; show the difference if they never do.
            let mut last = (Value::Null, Value::Null);
            for _ in 0..240 {
                let want = figures(&reference.snapshot().await);
                let (status, body) = http_get(addr, "/api/v1/snapshot").await;
                if status == 200 {
                    let got = figures(&serde_json::from_str(&body).expect("snapshot json"));
                    last = (want, got);
                    if last.0 == last.1 && last.0["applied"].as_u64() > Some(0) {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let (want, got) = last;
            assert!(!got.is_null(), "the last engine never served a snapshot");
            assert_eq!(want, got);
            assert!(
                want["queues"].as_array().is_some_and(|q| q.len() == 3),
                "{want}"
            );
            reference.stop().await;
            child.kill().expect("stop");
            let _ = child.wait();
        }
    }
    assert!(kills >= 5, "{kills} kills");
}
