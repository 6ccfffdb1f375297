//! The feed benchmark: `/ws` clients while the engine ingests, at 1,000 queues and 10,000
//! agents. N events are preloaded into a tansu broker process; then, alternately in each
//! round, `callpulse run` (a process of its own) consumes them all
//! - with no client, and
//! - with `--clients` clients: half of them readers (v2, five queues each, the center and
//!   alerts: a wallboard), half never reading (a quarter v1, a quarter v2 with every queue
//!   and every agent: the heaviest frames), connected before the first event is consumed.
//!
//! Prints each run's ingest rate (first to last event, as `e2e-load` times it), the ratio
//! with/without clients, the engine's peak and final RSS, the frame sizes, the clients the
//! server dropped by reason, and checks that no reader was dropped and every reader's
//! frames chained (`base` = the previous frame's `seq`). Bounded: every wait has a deadline.
//!
//! ```sh
//! cargo build --release -p callpulse -p callpulse-bench
//! target/release/feed-load --events 400000 --clients 1000
//! ```

// A benchmark's report is its output.
#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use callpulse_bench::{mixed_events, proc_status_kib};
use callpulse_e2e::{Scrape, Tansu, free_port, http_get};
use callpulse_sim::{EventProducer, SimTopics};
use clap::Parser;
use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Parser)]
struct Args {
    /// Events to preload.
    #[arg(long, default_value_t = 400_000)]
    events: usize,
    /// Distinct queues in the events (10,000 agents in 20 teams come with them).
    #[arg(long, default_value_t = 1_000)]
    queues: usize,
    /// WebSocket clients in the runs with clients; half read, half never do.
    #[arg(long, default_value_t = 1_000)]
    clients: usize,
    /// Partitions per topic.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Rounds of (without clients, with clients).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// The callpulse binary to measure.
    #[arg(long, default_value = "target/release/callpulse")]
    callpulse: String,
    /// Deadline for one run, seconds.
    #[arg(long, default_value_t = 600)]
    deadline_secs: u64,
}

/// What the readers saw.
#[derive(Default)]
struct ReaderStats {
    frames: AtomicU64,
    bytes: AtomicU64,
    max_frame: AtomicU64,
    broken_chains: AtomicU64,
    closed_by_server: AtomicU64,
    alive: AtomicU64,
}

struct Engine {
    child: Child,
    port: u16,
}

impl Engine {
    fn start(bin: &str, brokers: &str, group: &str, clients: usize) -> anyhow::Result<Engine> {
        let port = free_port();
        let child = Command::new(bin)
            .arg("run")
            .env("CALLPULSE__INGEST__BROKERS", brokers)
            .env("CALLPULSE__INGEST__GROUP_ID", group)
            .env("CALLPULSE__INGEST__TICK_MS", "1000")
            .env("CALLPULSE__METRICS__MAX_QUEUES", "2000")
            .env(
                "CALLPULSE__EXPORT__WS_MAX_CLIENTS",
                (clients + 16).to_string(),
            )
            .env("CALLPULSE__EXPORT__LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("while starting {bin}"))?;
        Ok(Engine { child, port })
    }

    fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn kib(&self, field: &str) -> u64 {
        proc_status_kib(self.child.id(), field).unwrap_or(0)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

async fn wait_http(addr: std::net::SocketAddr, deadline: Instant) -> anyhow::Result<()> {
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the engine never listened")
}

/// Waits until `expected` events are processed; the time from the first consumed one.
async fn ingest(
    addr: std::net::SocketAddr,
    expected: usize,
    deadline: Instant,
) -> anyhow::Result<Duration> {
    let mut first: Option<Instant> = None;
    loop {
        if Instant::now() > deadline {
            bail!("the engine did not apply {expected} events before the deadline");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (status, body) = http_get(addr, "/api/v1/engine").await;
        if status != 200 {
            continue;
        }
        let progress: serde_json::Value = serde_json::from_str(&body)?;
        if first.is_none() && progress["engine"]["consumed"].as_u64().unwrap_or(0) > 0 {
            first = Some(Instant::now());
        }
        if progress["processed"].as_u64().unwrap_or(0) >= expected as u64 {
            return Ok(first.map_or(Duration::ZERO, |f| f.elapsed()));
        }
    }
}

/// A wallboard: reads every frame and checks the chain.
async fn reader(url: String, stats: Arc<ReaderStats>, stop: Arc<AtomicBool>) {
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(&url).await else {
        stats.closed_by_server.fetch_add(1, Ordering::Relaxed);
        return;
    };
    stats.alive.fetch_add(1, Ordering::Relaxed);
    let mut last: Option<u64> = None;
    while !stop.load(Ordering::Relaxed) {
        let next = tokio::time::timeout(Duration::from_millis(500), ws.next()).await;
        let message = match next {
            Err(_) => continue,
            Ok(Some(Ok(message))) => message,
            Ok(_) => {
                stats.closed_by_server.fetch_add(1, Ordering::Relaxed);
                stats.alive.fetch_sub(1, Ordering::Relaxed);
                return;
            }
        };
        let Message::Text(text) = message else {
            if matches!(message, Message::Close(_)) {
                stats.closed_by_server.fetch_add(1, Ordering::Relaxed);
                stats.alive.fetch_sub(1, Ordering::Relaxed);
                return;
            }
            continue;
        };
        stats.frames.fetch_add(1, Ordering::Relaxed);
        stats.bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
        stats
            .max_frame
            .fetch_max(text.len() as u64, Ordering::Relaxed);
        let Ok(frame) = serde_json::from_str::<serde_json::Value>(&text) else {
            stats.broken_chains.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        match frame["type"].as_str() {
            Some("snapshot") => last = frame["seq"].as_u64(),
            Some("update") => {
                if frame["base"].as_u64() != last {
                    stats.broken_chains.fetch_add(1, Ordering::Relaxed);
                }
                last = frame["seq"].as_u64();
            }
            _ => {}
        }
    }
}

/// A client that connects and never reads: its socket fills and the server must drop it.
async fn sleeper(url: String, stop: Arc<AtomicBool>) {
    let Ok((ws, _)) = tokio_tungstenite::connect_async(&url).await else {
        return;
    };
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(ws);
}

/// One run; returns (ingest time, peak RSS KiB, final RSS KiB, scrape at the end).
async fn run(
    args: &Args,
    brokers: &str,
    group: &str,
    clients: usize,
    stats: &Arc<ReaderStats>,
) -> anyhow::Result<(Duration, u64, u64, Scrape)> {
    let deadline = Instant::now() + Duration::from_secs(args.deadline_secs);
    let engine = Engine::start(&args.callpulse, brokers, group, clients)?;
    let result = async {
        wait_http(engine.addr(), deadline).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let base = format!("ws://127.0.0.1:{}/ws", engine.port);
        let mut tasks = Vec::new();
        for i in 0..clients {
            let stop = Arc::clone(&stop);
            if i % 2 == 0 {
                let queues: Vec<String> = (0..5)
                    .map(|k| format!("queue-{:03}", (i / 2 * 5 + k) % args.queues))
                    .collect();
                let url = format!(
                    "{base}?protocol=2&sections=center,queues,alerts&queues={}",
                    queues.join(",")
                );
                tasks.push(tokio::spawn(reader(url, Arc::clone(stats), stop)));
            } else if i % 4 == 1 {
                tasks.push(tokio::spawn(sleeper(base.clone(), stop)));
            } else {
                let url = format!("{base}?protocol=2&sections=center,queues,teams,agents");
                tasks.push(tokio::spawn(sleeper(url, stop)));
            }
        }
        let took = ingest(engine.addr(), args.events, deadline).await?;
        let peak = engine.kib("VmHWM");
        // Past the send timeout every non-reader is gone; what stays is the engine's.
        tokio::time::sleep(Duration::from_secs(8)).await;
        let rss = engine.kib("VmRSS");
        let (_, text) = http_get(engine.addr(), "/metrics").await;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            let _ = task.await;
        }
        Ok::<_, anyhow::Error>((took, peak, rss, Scrape::parse(&text)))
    }
    .await;
    engine.stop();
    result
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tansu = Tansu::start_with_topics(args.partitions).await;
    let start = callpulse_e2e::wall_now().plus_millis(-60 * 60 * 1000);
    let mut events = mixed_events(args.events, args.queues, start);
    let newest = events.iter().map(|e| e.ts).max().unwrap_or(start);
    let shift = callpulse_e2e::wall_now().millis() - 60_000 - newest.millis();
    for env in &mut events {
        env.ts = env.ts.plus_millis(shift.min(0));
    }
    let producer = EventProducer::new(
        &tansu.brokers,
        &BTreeMap::new(),
        SimTopics::new("calls", "agents", "tickets", "surveys"),
    )?;
    for env in &events {
        producer.send(env)?;
    }
    producer.flush(Duration::from_secs(300))?;
    println!(
        "preloaded {} events ({} queues, 10,000 agents) into tansu; {} clients per loaded run",
        args.events, args.queues, args.clients
    );
    let mut ratios = Vec::new();
    let mut verdicts = Vec::new();
    for round in 0..args.rounds {
        let none = Arc::new(ReaderStats::default());
        let (bare, bare_peak, bare_rss, _) =
            run(&args, &tansu.brokers, &format!("bare-{round}"), 0, &none).await?;
        let stats = Arc::new(ReaderStats::default());
        let (loaded, peak, rss, scrape) = run(
            &args,
            &tansu.brokers,
            &format!("loaded-{round}"),
            args.clients,
            &stats,
        )
        .await?;
        let rate = |d: Duration| args.events as f64 / d.as_secs_f64();
        let ratio = rate(loaded) / rate(bare);
        ratios.push(ratio);
        let dropped = |reason| scrape.value("callpulse_ws_dropped_total", &[("reason", reason)]);
        let frames = stats.frames.load(Ordering::Relaxed);
        println!(
            "round {round}: no clients {:>8.0} ev/s (peak RSS {} MiB, after {} MiB)   with clients {:>8.0} ev/s (peak RSS {} MiB, after {} MiB)   ratio {ratio:.2}",
            rate(bare),
            bare_peak / 1024,
            bare_rss / 1024,
            rate(loaded),
            peak / 1024,
            rss / 1024,
        );
        println!(
            "         readers: {frames} frames, {:.1} KB mean, {:.1} KB largest, broken chains {}, closed by the server {}, still connected {}",
            stats.bytes.load(Ordering::Relaxed) as f64 / frames.max(1) as f64 / 1e3,
            stats.max_frame.load(Ordering::Relaxed) as f64 / 1e3,
            stats.broken_chains.load(Ordering::Relaxed),
            stats.closed_by_server.load(Ordering::Relaxed),
            stats.alive.load(Ordering::Relaxed),
        );
        println!(
            "         server dropped: slow {}, send_error {}, too_large {}, too_many {}; frames sent {}",
            dropped("slow"),
            dropped("send_error"),
            dropped("too_large"),
            dropped("too_many"),
            scrape.value("callpulse_ws_frames_sent_total", &[]),
        );
        verdicts.push(
            stats.closed_by_server.load(Ordering::Relaxed) == 0
                && stats.broken_chains.load(Ordering::Relaxed) == 0,
        );
    }
    println!(
        "median ingest ratio with/without clients: {:.2} (target >= 0.90); readers all kept and chained: {}",
        median(ratios),
        verdicts.iter().all(|v| *v)
    );
    Ok(())
}
