//! The replay benchmark: `callpulse replay` against the naive baseline (`naive.rs`) on the
//! same generated NDJSON file, in the same run, alternately, `--rounds` times. Prints each
//! one's events per second and the ratios: snapshot mode (`callpulse replay FILE`) and
//! report mode (`callpulse replay --report 1m --attribute-to event FILE`) over the naive
//! program. Before timing, checks that the report's per-minute offered, answered and
//! abandoned calls equal the naive program's, queue by queue: the same job, done right.
//!
//! ```sh
//! cargo build --release -p callpulse -p callpulse-bench
//! target/release/replay-ratio --events 5000000
//! ```
//!
//! Both sides run on one core: the naive program is single-threaded, and `replay` is one
//! thread of core work (reading and decoding included).

// A benchmark's report is its output.
#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use callpulse_bench::{mixed_events, naive};
use callpulse_events::Ts;
use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    /// Events in the generated file.
    #[arg(long, default_value_t = 5_000_000)]
    events: usize,
    /// Queues the events are spread over.
    #[arg(long, default_value_t = 100)]
    queues: usize,
    /// Rounds of (naive, replay, replay --report).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The callpulse binary to measure.
    #[arg(long, default_value = "target/release/callpulse")]
    callpulse: String,
    /// Write the generated events here and keep them (for a profiler), instead of a
    /// temporary file.
    #[arg(long, value_name = "FILE")]
    keep: Option<std::path::PathBuf>,
}

/// (queue, minute) -> (offered, answered, abandoned), zero entries left out.
type PerMinute = BTreeMap<(String, i64), (u64, u64, u64)>;

fn naive_minutes(out: &naive::Naive) -> PerMinute {
    out.minutes
        .iter()
        .map(|((queue, minute), m)| {
            (
                (queue.clone(), *minute),
                (m.offered, m.answered, m.abandoned),
            )
        })
        .filter(|(_, v)| *v != (0, 0, 0))
        .collect()
}

fn report_minutes(report: &Path) -> anyhow::Result<PerMinute> {
    let text = std::fs::read_to_string(report)?;
    let mut out = PerMinute::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line)?;
        let queue = row["queue"].as_str().context("queue")?;
        if queue == "*" {
            continue;
        }
        let start = row["interval_start"].as_str().context("interval_start")?;
        let minute = chrono::DateTime::parse_from_rfc3339(start)?
            .timestamp_millis()
            .div_euclid(60_000);
        let n = |k: &str| row[k].as_u64().unwrap_or(0);
        let v = (n("offered"), n("answered"), n("abandoned"));
        if v != (0, 0, 0) {
            out.insert((queue.to_owned(), minute), v);
        }
    }
    Ok(out)
}

fn replay(bin: &str, args: &[&str]) -> anyhow::Result<f64> {
    let start = Instant::now();
    let status = Command::new(bin)
        .arg("replay")
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("while starting {bin}"))?;
    if !status.success() {
        bail!("{bin} replay {args:?}: {status}");
    }
    Ok(start.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("callpulse-replay-ratio-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = args
        .keep
        .clone()
        .unwrap_or_else(|| dir.join("events.ndjson"));
    let report = dir.join("report.ndjson");
    // A fixed day, so every run replays the same history.
    let events = mixed_events(args.events, args.queues, Ts(1_764_547_200_000));
    let mut out = BufWriter::new(std::fs::File::create(&file)?);
    for env in &events {
        writeln!(out, "{}", env.to_json())?;
    }
    out.flush()?;
    drop(events);
    let bytes = std::fs::metadata(&file)?.len();
    let (file_s, report_s) = (
        file.to_str().context("path")?.to_owned(),
        report.to_str().context("path")?.to_owned(),
    );
    println!(
        "{} events ({:.0} MB, {} queues) in {}",
        args.events,
        bytes as f64 / 1e6,
        args.queues,
        file.display()
    );

    let report_args = [
        "--report",
        "1m",
        "--attribute-to",
        "event",
        "--out",
        &report_s,
        &file_s,
    ];
    // The same job, the same figures.
    let baseline = naive::run(BufReader::new(std::fs::File::open(&file)?));
    replay(&args.callpulse, &report_args)?;
    let (want, got) = (naive_minutes(&baseline), report_minutes(&report)?);
    if want != got {
        let differ = want.iter().filter(|(k, v)| got.get(*k) != Some(*v)).count();
        bail!(
            "per-minute offered/answered/abandoned differ in {differ} of {} (queue, minute) cells ({} in the report)",
            want.len(),
            got.len()
        );
    }
    println!(
        "per-minute offered, answered, abandoned: {} (queue, minute) cells equal; naive rows {}",
        want.len(),
        baseline.rows.len()
    );

    let n = args.events as f64;
    let (mut naive_rates, mut snap_ratios, mut report_ratios) = (vec![], vec![], vec![]);
    for round in 0..args.rounds {
        let start = Instant::now();
        let run = naive::run(BufReader::new(std::fs::File::open(&file)?));
        let naive_s = start.elapsed().as_secs_f64();
        std::hint::black_box(run.rows.len());
        let snap_s = replay(&args.callpulse, &[&file_s])?;
        let report_secs = replay(&args.callpulse, &report_args)?;
        let (naive_rate, snap_rate, report_rate) = (n / naive_s, n / snap_s, n / report_secs);
        println!(
            "round {round}: naive {naive_rate:>10.0} ev/s   replay {snap_rate:>10.0} ev/s ({:.2}x)   replay --report 1m {report_rate:>10.0} ev/s ({:.2}x)",
            snap_rate / naive_rate,
            report_rate / naive_rate
        );
        naive_rates.push(naive_rate);
        snap_ratios.push(snap_rate / naive_rate);
        report_ratios.push(report_rate / naive_rate);
    }
    println!(
        "median: naive {:.0} ev/s; replay {:.2}x, replay --report 1m {:.2}x the naive program",
        median(naive_rates),
        median(snap_ratios),
        median(report_ratios)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
