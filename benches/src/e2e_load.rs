//! End-to-end load harness: N events preloaded into the four topics of an external broker
//! (tansu, started here on a free loopback port), then, alternately in each round:
//! - a raw rdkafka consumer that only counts messages (the baseline),
//! - the `callpulse run` process, until every message is applied or rejected, with
//!   checkpoints every `--checkpoint-interval-ms`, and
//! - the same with checkpoints off,
//!
//! each in a fresh consumer group reading from the start, timed from its first message to
//! its last, so the group join (tens of seconds on some brokers) is left out of both. Prints both rates, their ratio
//! per round and the medians, and the engine's peak RSS. Bounded: a fixed number of rounds, and
//! every wait has a deadline.

// A benchmark's report is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use callpulse_bench::mixed_events;
use callpulse_e2e::{Tansu, free_port, http_get};
use callpulse_sim::{EventProducer, SimTopics};
use clap::Parser;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

const TOPICS: [&str; 4] = ["calls", "agents", "tickets", "surveys"];

#[derive(Debug, Parser)]
struct Args {
    /// Events to preload.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Partitions per topic.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Rounds of (raw, engine).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The callpulse binary to measure.
    #[arg(long, default_value = "target/release/callpulse")]
    callpulse: String,
    /// `tansu` (external broker process) or `mock` (librdkafka's mock cluster in this
    /// process; it keeps only ~5 MB per partition, so use enough partitions for the load).
    #[arg(long, default_value = "tansu")]
    broker: String,
    /// Deadline for one run, seconds.
    #[arg(long, default_value_t = 300)]
    deadline_secs: u64,
    /// How often the engine checkpoints in the "checkpoints on" runs (ms). Shorter than the
    /// default 30 s, so that a run of seconds writes several.
    #[arg(long, default_value_t = 1_000)]
    checkpoint_interval_ms: u64,
}

#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
fn now() -> Instant {
    Instant::now()
}

fn raw_consume(
    brokers: &str,
    group: &str,
    expected: usize,
    deadline: Duration,
) -> anyhow::Result<Duration> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    let start = now();
    consumer.subscribe(&TOPICS)?;
    let mut count = 0usize;
    // Timed from the first message: the group join (slow on some brokers) is not consuming.
    let mut first: Option<Instant> = None;
    while count < expected {
        if start.elapsed() > deadline {
            bail!("raw consumer saw {count} of {expected} messages before the deadline");
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(_)) => {
                first.get_or_insert_with(now);
                count += 1;
            }
            Some(Err(err)) => eprintln!("raw consumer: {err}"),
            None => {}
        }
    }
    Ok(first.map_or(Duration::ZERO, |t| t.elapsed()))
}

/// User + system CPU seconds the process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ") ".
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of /proc/pid/stat, 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    callpulse_bench::proc_status_kib(pid, "VmHWM")
}

async fn engine_consume(
    bin: &str,
    brokers: &str,
    group: &str,
    expected: usize,
    deadline: Duration,
    checkpoints: &[(&str, String)],
) -> anyhow::Result<(Duration, u64, f64)> {
    let port = free_port();
    let start = now();
    let mut child = Command::new(bin)
        .arg("run")
        .envs(checkpoints.iter().map(|(k, v)| (*k, v.as_str())))
        .env("CALLPULSE__INGEST__BROKERS", brokers)
        .env("CALLPULSE__INGEST__GROUP_ID", group)
        .env(
            "CALLPULSE__INGEST__TICK_MS",
            std::env::var("E2E_TICK_MS").unwrap_or_else(|_| "1000".into()),
        )
        .env("CALLPULSE__EXPORT__LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("while starting {bin}"))?;
    let addr = format!("127.0.0.1:{port}").parse()?;
    let pid = child.id();
    let result = async {
        // Timed from the first message read, as the baseline is: the group join and the first
        // fetch after assignment are not consuming. Both ends are seen through
        // /api/v1/engine polled every 20 ms (a full /metrics scrape at that rate would cost the
        // engine more than it measures); progress is published once per tick, so the engine's
        // figure includes up to one tick of detection latency (it is the pessimistic side).
        let mut first: Option<(Instant, f64)> = None;
        loop {
            if start.elapsed() > deadline {
                bail!("engine did not apply {expected} events before the deadline");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            if std::net::TcpStream::connect(addr).is_err() {
                continue;
            }
            let (status, body) = http_get(addr, "/api/v1/engine").await;
            if status != 200 {
                continue;
            }
            let progress: serde_json::Value = serde_json::from_str(&body)?;
            if first.is_none() && progress["engine"]["consumed"].as_u64().unwrap_or(0) > 0 {
                first = Some((now(), cpu_secs(pid)));
            }
            let done = progress["processed"].as_u64().unwrap_or(0) as f64;
            if done >= expected as f64 {
                let (at, cpu) = first.unwrap_or((now(), 0.0));
                return Ok((at.elapsed(), cpu_secs(pid) - cpu));
            }
        }
    }
    .await;
    let rss = peak_rss_kib(pid).unwrap_or(0);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    let (elapsed, cpu) = result?;
    Ok((elapsed, rss, cpu))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut _tansu = None;
    let mut _mock = None;
    let brokers = match args.broker.as_str() {
        "tansu" => {
            let tansu = Tansu::start_with_topics(args.partitions).await;
            let brokers = tansu.brokers.clone();
            _tansu = Some(tansu);
            brokers
        }
        "mock" => {
            let mock = rdkafka::mocking::MockCluster::new(1)?;
            for topic in TOPICS {
                mock.create_topic(topic, args.partitions, 1)?;
            }
            mock.create_topic(callpulse_e2e::CHECKPOINT_TOPIC, 4, 1)?;
            mock.create_topic(callpulse_e2e::DEAD_LETTER_TOPIC, 1, 1)?;
            // The mock has no admin API: each round's group gets its own repartition and
            // snapshot topics (named after the group, as by default), made here.
            for round in 0..args.rounds {
                for group in [format!("engine-{round}"), format!("engine-off-{round}")] {
                    mock.create_topic(&format!("{group}.fcr-facts"), 4, 1)?;
                    mock.create_topic(&format!("{group}.snapshots"), 1, 1)?;
                }
            }
            let brokers = mock.bootstrap_servers();
            _mock = Some(mock);
            brokers
        }
        other => bail!("unknown broker {other:?}: tansu or mock"),
    };
    let start = callpulse_e2e::wall_now().plus_millis(-60 * 60 * 1000);
    let mut events = mixed_events(args.events, 100, start);
    // A million events span more than an hour: shift them so the newest lies a minute in
    // the past, or the engine would rightly reject the tail as stamped in the future.
    let newest = events.iter().map(|e| e.ts).max().unwrap_or(start);
    let shift = callpulse_e2e::wall_now().millis() - 60_000 - newest.millis();
    for env in &mut events {
        env.ts = env.ts.plus_millis(shift.min(0));
    }
    let producer = EventProducer::new(
        &brokers,
        &BTreeMap::new(),
        SimTopics::new("calls", "agents", "tickets", "surveys"),
    )?;
    let t = now();
    for env in &events {
        producer.send(env)?;
    }
    producer.flush(Duration::from_secs(300))?;
    let bytes: usize = events.iter().map(|e| e.to_json().len()).sum();
    println!(
        "preloaded {} events ({:.1} MB, {} partitions x 4 topics, 100 queues) into {} in {:.1} s",
        args.events,
        bytes as f64 / 1e6,
        args.partitions,
        args.broker,
        t.elapsed().as_secs_f64()
    );
    let deadline = Duration::from_secs(args.deadline_secs);
    let (mut raw_rates, mut engine_rates, mut ratios, mut rss) = (vec![], vec![], vec![], 0u64);
    let mut on_off = vec![];
    let on = [
        ("CALLPULSE__INGEST__CHECKPOINTS__ENABLED", "true".to_owned()),
        (
            "CALLPULSE__INGEST__CHECKPOINTS__INTERVAL_MS",
            args.checkpoint_interval_ms.to_string(),
        ),
    ];
    let off = [(
        "CALLPULSE__INGEST__CHECKPOINTS__ENABLED",
        "false".to_owned(),
    )];
    for round in 0..args.rounds {
        let raw_brokers = brokers.clone();
        let n = args.events;
        let raw = tokio::task::spawn_blocking(move || {
            raw_consume(&raw_brokers, &format!("raw-{round}"), n, deadline)
        })
        .await??;
        let (engine, peak, cpu) = engine_consume(
            &args.callpulse,
            &brokers,
            &format!("engine-{round}"),
            n,
            deadline,
            &on,
        )
        .await?;
        let (engine_off, _, _) = engine_consume(
            &args.callpulse,
            &brokers,
            &format!("engine-off-{round}"),
            n,
            deadline,
            &off,
        )
        .await?;
        let (raw_rate, engine_rate) = (
            n as f64 / raw.as_secs_f64(),
            n as f64 / engine.as_secs_f64(),
        );
        rss = rss.max(peak);
        let off_rate = n as f64 / engine_off.as_secs_f64();
        println!(
            "round {round}: raw {raw_rate:>10.0} msg/s ({:.2} s)   engine {engine_rate:>10.0} ev/s ({:.2} s, {:.2} CPU s)   engine/raw {:.2}   checkpoints off {off_rate:>10.0} ev/s, on/off {:.2}   engine peak RSS {:.0} MiB",
            raw.as_secs_f64(),
            engine.as_secs_f64(),
            cpu,
            engine_rate / raw_rate,
            engine_rate / off_rate,
            peak as f64 / 1024.0
        );
        on_off.push(engine_rate / off_rate);
        raw_rates.push(raw_rate);
        engine_rates.push(engine_rate);
        ratios.push(engine_rate / raw_rate);
    }
    println!(
        "median: raw {:.0} msg/s, engine {:.0} ev/s, engine/raw {:.2}, checkpoints every {} ms / off {:.2}; engine peak RSS {:.0} MiB",
        median(raw_rates),
        median(engine_rates),
        median(ratios),
        args.checkpoint_interval_ms,
        median(on_off),
        rss as f64 / 1024.0
    );
    Ok(())
}
