//! The poison benchmark: the poison test at the issue's scale. `--names` distinct junk
//! queue ids and as many junk agent ids (in `--teams` junk teams), the hostile messages and
//! good calls among them, all three hours back, go to a tansu broker process; `callpulse
//! run` (a process of its own) takes them. Then, at the current time, a call in a queue the
//! configuration does not name and an agent in a team it does not name. Reports the
//! engine's RSS (sampled every second, and its peak), its `/metrics` (bytes, series, scrape
//! time), the rejections by reason, and checks: every good call counted, every rejected
//! message dead-lettered, the new queue and team admitted.
//!
//! ```sh
//! cargo build --release -p callpulse -p callpulse-bench
//! CALLPULSE_BIN=target/release/callpulse target/release/poison --names 1000000
//! ```

// A benchmark's report is its output.
#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use callpulse_bench::proc_status_kib;
use callpulse_e2e::crash::{scrape, spawn_with_config};
use callpulse_e2e::poison::{event, hostile};
use callpulse_e2e::{Scrape, Tansu, free_port, http_get, wall_now};
use callpulse_sim::{EventProducer, SimTopics};
use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    /// Distinct junk queue ids, and as many junk agent ids.
    #[arg(long, default_value_t = 1_000_000)]
    names: u32,
    /// Junk teams the junk agents are spread over.
    #[arg(long, default_value_t = 2_000)]
    teams: u32,
    /// Good calls (queued in the configured queue `care`) spread through the junk.
    #[arg(long, default_value_t = 10_000)]
    good: u32,
    /// Partitions per topic.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Give up after this many seconds of consuming.
    #[arg(long, default_value_t = 900)]
    deadline_secs: u64,
}

const MAX_PAYLOAD: usize = 256 * 1024;
const CONFIG: &str = r#"
[ingest]
max_payload_bytes = 262144

[metrics.queues.care]
team = "care-team"
"#;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tansu = Tansu::start_with_topics(args.partitions).await;
    let dir = std::env::temp_dir().join(format!("callpulse-poison-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("poison.toml");
    std::fs::write(&config, CONFIG)?;

    // The junk three hours back: idle (name_idle_secs, 2 h by default) by the time the new
    // names come.
    let old = wall_now().plus_millis(-3 * 3_600_000).to_rfc3339();
    let hostile = hostile(&old, MAX_PAYLOAD);
    let producer = EventProducer::new(
        &tansu.brokers,
        &Default::default(),
        SimTopics::new("calls", "agents", "tickets", "surveys"),
    )?;
    let produced = Instant::now();
    let (mut good, mut bad) = (0u32, 0u64);
    let every_good = (args.names / args.good.max(1)).max(1);
    let every_hostile = (args.names / 100).max(1);
    for i in 0..args.names {
        let queue = format!(r#""call_id":"jc{i}","queue":"jq-{i}""#);
        producer.send_raw(
            "calls",
            &format!("jc{i}"),
            event("call_queued", &format!("jq{i}"), &old, &queue).as_bytes(),
        )?;
        let agent = format!(
            r#""agent_id":"ja-{i}","team":"jt-{}","state":"available""#,
            i % args.teams.max(1)
        );
        producer.send_raw(
            "agents",
            &format!("ja{i}"),
            event("agent_state", &format!("ja{i}"), &old, &agent).as_bytes(),
        )?;
        if i % every_good == 0 && good < args.good {
            let call = format!(r#""call_id":"g{good}","queue":"care""#);
            producer.send_raw(
                "calls",
                &format!("g{good}"),
                event("call_queued", &format!("good-{good}"), &old, &call).as_bytes(),
            )?;
            good += 1;
        }
        if i % every_hostile == 0 {
            for (payload, _) in &hostile {
                producer.send_raw("calls", "h", payload)?;
                bad += 1;
            }
        }
    }
    producer.flush(Duration::from_secs(300))?;
    let total = 2 * u64::from(args.names) + u64::from(good) + bad;
    println!(
        "produced {total} messages ({} junk queue ids, {} junk agent ids in {} teams, {good} good calls, {bad} hostile) in {:.0} s",
        args.names,
        args.names,
        args.teams,
        produced.elapsed().as_secs_f64()
    );

    let port = free_port();
    let engine = spawn_with_config(&tansu.brokers, port, "poison", Some(&config));
    let pid = engine.0.id();
    let started = Instant::now();
    let deadline = Duration::from_secs(args.deadline_secs);
    let mut rss_max_kib = 0;
    let consumed = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_max_kib = rss_max_kib.max(proc_status_kib(pid, "VmRSS").unwrap_or(0));
        if started.elapsed() > deadline {
            bail!("not every message consumed within {deadline:?}");
        }
        if let Some(m) = scrape(port).await {
            let n = m.sum("callpulse_events_consumed_total");
            if n >= total as f64 {
                break started.elapsed();
            }
        }
    };
    println!(
        "consumed in {:.1} s ({:.0} messages/s, group join included)",
        consumed.as_secs_f64(),
        total as f64 / consumed.as_secs_f64()
    );

    // Now: a queue and a team the configuration does not name.
    let now = wall_now().plus_millis(-1_000).to_rfc3339();
    producer.send_raw(
        "calls",
        "fresh",
        event(
            "call_queued",
            "fresh-1",
            &now,
            r#""call_id":"fresh","queue":"fresh-queue""#,
        )
        .as_bytes(),
    )?;
    producer.send_raw(
        "agents",
        "fresh",
        event(
            "agent_state",
            "fresh-2",
            &now,
            r#""agent_id":"fresh-agent","team":"fresh-team","state":"available""#,
        )
        .as_bytes(),
    )?;
    producer.flush(Duration::from_secs(30))?;
    let addr = format!("127.0.0.1:{port}").parse()?;
    let m = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if started.elapsed() > deadline {
            bail!("the fresh queue was not admitted within {deadline:?}");
        }
        let Some(m) = scrape(port).await else {
            continue;
        };
        // Through the API: the fresh queue came after the junk filled the labels on
        // `/metrics` (export.max_unconfigured_queue_labels), so it has no series there.
        let (_, body) = http_get(addr, "/api/v1/snapshot").await;
        let snapshot: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let fresh = snapshot["queues"].as_array().is_some_and(|queues| {
            queues
                .iter()
                .any(|q| q["queue"] == "fresh-queue" && q["totals"]["offered"] == 1)
        });
        let dead = m.value("callpulse_dead_letters_total", &[("outcome", "sent")]);
        let settled = m.sum("callpulse_events_consumed_total") >= (total + 2) as f64
            && dead == m.sum("callpulse_events_rejected_total");
        if fresh && settled {
            break m;
        }
    };
    rss_max_kib = rss_max_kib.max(proc_status_kib(pid, "VmRSS").unwrap_or(0));
    let peak_kib = proc_status_kib(pid, "VmHWM").unwrap_or(rss_max_kib);

    let care = m.value("callpulse_calls_offered_total", &[("queue", "care")]);
    if care != f64::from(good) {
        bail!("good calls counted: {care} of {good}");
    }
    let (_, snapshot) = http_get(addr, "/api/v1/snapshot").await;
    let snapshot_kib = snapshot.len() / 1024;
    let snapshot: serde_json::Value = serde_json::from_str(&snapshot).context("snapshot")?;
    let agents = snapshot["agents"].as_array().map_or(0, Vec::len);
    let has_team = snapshot["teams"]
        .as_array()
        .is_some_and(|teams| teams.iter().any(|t| t["team"] == "fresh-team"));
    if !has_team {
        bail!("the fresh team was not admitted");
    }
    let queues = snapshot["queues"].as_array().map_or(0, Vec::len);
    let mut scrapes = Vec::new();
    let mut body = String::new();
    for _ in 0..5 {
        let at = Instant::now();
        let (_, text) = http_get(addr, "/metrics").await;
        scrapes.push(at.elapsed().as_secs_f64());
        body = text;
    }
    scrapes.sort_by(f64::total_cmp);
    let series = Scrape::parse(&body).series.len();
    let reasons: Vec<String> = [
        "too_many_names",
        "malformed_json",
        "payload_too_large",
        "invalid_field",
        "duration_out_of_range",
        "timestamp_out_of_range",
    ]
    .iter()
    .map(|r| {
        let n = m.value("callpulse_events_rejected_total", &[("reason", r)]);
        format!("{r} {n}")
    })
    .collect();
    let anomaly = |kind: &str| m.value("callpulse_events_anomalies_total", &[("kind", kind)]);
    println!(
        "engine RSS: max sampled {} MiB, peak (VmHWM) {} MiB",
        rss_max_kib / 1024,
        peak_kib / 1024
    );
    println!(
        "/metrics: {} KiB, {series} series, scrape median {:.3} s; snapshot queues {queues}, withheld from /metrics {}",
        body.len() / 1024,
        scrapes[scrapes.len() / 2],
        m.value(
            "callpulse_prometheus_labels_withheld",
            &[("label", "queue")]
        )
    );
    println!("/api/v1/snapshot: {snapshot_kib} KiB, {agents} agents");
    println!("rejected: {}", reasons.join(", "));
    println!(
        "evicted: queues {}, teams {}, agents {}, waiting calls {}; good calls counted {care} of {good}; fresh queue and team admitted; dead letters = rejected",
        anomaly("queue_evicted"),
        anomaly("team_evicted"),
        anomaly("agent_evicted"),
        anomaly("call_evicted")
    );
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
