//! The crash scenario shared by `tests/e2e/crash.rs` (CI: 5 kills) and the `crash` bench
//! (20 kills over a million events): events go into a broker while `callpulse run`, a
//! process of its own, is SIGKILLed again and again; at the end its snapshot is compared with
//! that of an engine that never stopped.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use callpulse_events::{
    AgentState, AgentStateChanged, CallAbandoned, CallAnswered, CallCompleted, CallQueued,
    CsatResponse, Envelope, Event, Ts,
};
use callpulse_sim::{EventProducer, SimTopics};
use serde_json::Value;

use crate::{Engine, Scrape, callpulse_binary, free_port, test_config, try_http_get};

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
pub fn history(calls: u32, start: Ts) -> Vec<Envelope> {
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
                let score = 1 + rng.below(5) as u8;
                events.push(env(
                    format!("{call}-s"),
                    t0.plus_millis(wait + 150_000),
                    Event::CsatResponse(CsatResponse {
                        interaction_id: call.clone(),
                        queue: queue.clone(),
                        agent_id: None,
                        score: Some(score),
                        // From the score rather than a draw of its own: the generator's
                        // sequence (and every history the tests rely on) stays as it was.
                        nps: Some(score * 2),
                    }),
                ));
            }
        } else if outcome < 9 {
            events.push(env(
                format!("{call}-x"),
                t0.plus_millis(wait),
                Event::CallAbandoned(CallAbandoned::new(call.clone(), queue.clone())),
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

pub fn produce(brokers: &str, events: &[Envelope]) {
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

/// A `callpulse run` process, SIGKILLed when dropped: a failed assertion must not leave it
/// running (and polling the broker) after the test.
#[derive(Debug)]
pub struct Running(pub Child);

impl Running {
    /// SIGKILL, and wait for it.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `callpulse run` as a process of its own, in the crash test's group.
pub fn spawn_engine(brokers: &str, port: u16) -> Running {
    spawn_in_group(brokers, port, "crash")
}

/// `callpulse run` as a process of its own, in consumer group `group` (its FCR and snapshot
/// topics are named after the group, as by default).
pub fn spawn_in_group(brokers: &str, port: u16, group: &str) -> Running {
    spawn_with_config(brokers, port, group, None)
}

/// As [`spawn_in_group`], with `config` (a TOML file) layered over the defaults.
pub fn spawn_with_config(
    brokers: &str,
    port: u16,
    group: &str,
    config: Option<&std::path::Path>,
) -> Running {
    let mut command = Command::new(callpulse_binary());
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let child = command
        .args([
            "run",
            "--brokers",
            brokers,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "warn,callpulse_ingest=info")
        .env("CALLPULSE__INGEST__GROUP_ID", group)
        .env("CALLPULSE__AUTH__MODE", "off")
        .env("CALLPULSE__INGEST__TICK_MS", "200")
        .env("CALLPULSE__INGEST__CHECKPOINTS__INTERVAL_MS", "400")
        .env("CALLPULSE__INGEST__LIBRDKAFKA__session.timeout.ms", "6000")
        .env(
            "CALLPULSE__INGEST__LIBRDKAFKA__heartbeat.interval.ms",
            "500",
        )
        .stdout(Stdio::null())
        // Warnings to a file per port, appended across restarts: a failing run says why.
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(std::env::temp_dir().join(format!("callpulse-run-{port}.log")))
                .map_or_else(|_| Stdio::null(), Stdio::from),
        )
        .spawn()
        .expect("callpulse run starts");
    Running(child)
}

pub async fn scrape(port: u16) -> Option<Scrape> {
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    // Polled from the moment the process is spawned: not listening yet is "not yet".
    match try_http_get(addr, "/metrics", Duration::from_secs(2)).await {
        Some((200, body)) => Some(Scrape::parse(&body)),
        _ => None,
    }
}

/// What must be equal: every queue's windows except the calendar ones (their edges depend
/// on when they are read), its totals, waiting calls and FCR, the center likewise, the
/// agents' states.
pub fn figures(snapshot: &Value) -> Value {
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
                // FCR outcomes are counted at the repeat contact or the window's end, both
                // inside the history: the 1 h window holds them all whenever it is read,
                // the shorter ones' edges cut through it.
                "fcr": {
                    "eligible_total": q["fcr"]["eligible_total"],
                    "success_total": q["fcr"]["success_total"],
                    "pending": q["fcr"]["pending"],
                    "1h": q["fcr"]["windows"]
                        .as_array()
                        .and_then(|ws| ws.iter().find(|w| w["window"] == "1h"))
                        .cloned(),
                },
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
        "counters": snapshot["engine"]["counters"],
    })
}

/// What a crash run did and found.
#[derive(Debug)]
pub struct CrashReport {
    pub events: usize,
    pub kills: usize,
    /// Per restarted process: seconds from start until it had applied something and written
    /// a checkpoint.
    pub restart_secs: Vec<f64>,
    /// The uninterrupted engine's figures and the crashed one's, as last compared.
    pub want: Value,
    pub got: Value,
}

/// Produces `events` in `rounds` chunks into `brokers` (topics made), starting a fresh
/// `callpulse run` for each and SIGKILLing it at a point that varies, except the last;
/// then compares the last with an in-process engine that read everything without stopping.
/// Scrapes assert, round by round, that counters count only what each process applied and
/// never go down within a process.
pub async fn crash_run(brokers: &str, events: &[Envelope], rounds: usize) -> CrashReport {
    let chunks: Vec<&[Envelope]> = events.chunks(events.len() / rounds + 1).collect();
    let port = free_port();
    let mut kills = 0;
    let mut restart_secs = Vec::new();
    let mut last = (Value::Null, Value::Null);
    for (round, chunk) in chunks.iter().enumerate() {
        produce(brokers, chunk);
        let mut child = spawn_engine(brokers, port);
        #[allow(clippy::disallowed_methods)] // timing a restart for the report
        let started = std::time::Instant::now();
        let mut last_offered = 0.0;
        for _ in 0..600 {
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
            if m.value("callpulse_checkpoints_total", &[("outcome", "written")]) >= 1.0
                && consumed > 0.0
            {
                restart_secs.push(started.elapsed().as_secs_f64());
                tokio::time::sleep(Duration::from_millis(150 * (round as u64 % 4))).await;
                break;
            }
        }
        if round + 1 < chunks.len() {
            child.kill();
            kills += 1;
            continue;
        }
        // The last process runs on: compare it with an engine that never stopped.
        let reference = Engine::start(test_config(brokers, "crash-reference")).await;
        let addr = format!("127.0.0.1:{port}").parse().expect("addr");
        for _ in 0..600 {
            let want = figures(&reference.snapshot().await);
            let (status, body) = try_http_get(addr, "/api/v1/snapshot", Duration::from_secs(15))
                .await
                .unwrap_or_default();
            if status == 200 {
                let got = figures(&serde_json::from_str(&body).expect("snapshot json"));
                last = (want, got);
                if last.0 == last.1 && last.0["applied"].as_u64() > Some(0) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        reference.stop().await;
        child.kill();
    }
    CrashReport {
        events: events.len(),
        kills,
        restart_secs,
        want: last.0,
        got: last.1,
    }
}
