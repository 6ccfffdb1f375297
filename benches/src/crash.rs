//! The crash benchmark: the e2e crash scenario at scale. `callpulse run` (a process of its
//! own, on a tansu broker process) is SIGKILLed `--rounds - 1` times while the events of
//! `--calls` calls arrive in as many chunks; at the end its snapshot is compared with an
//! engine that never stopped, and the restart times are reported.
//!
//! ```sh
//! cargo build --release -p callpulse -p callpulse-bench
//! CALLPULSE_BIN=target/release/callpulse target/release/crash --calls 320000 --rounds 21
//! ```

use anyhow::bail;
use callpulse_e2e::crash::{crash_run, history};
use callpulse_e2e::{Tansu, wall_now};
use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    /// Calls in the history (about 3.2 events each).
    #[arg(long, default_value_t = 320_000)]
    calls: u32,
    /// Engine processes started; all but the last are SIGKILLed.
    #[arg(long, default_value_t = 21)]
    rounds: usize,
    /// Partitions per topic.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
}

#[allow(clippy::print_stdout)] // a benchmark's report
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tansu = Tansu::start_with_topics(args.partitions).await;
    let events = history(args.calls, wall_now().plus_millis(-40 * 60_000));
    #[allow(clippy::disallowed_methods)] // a benchmark measures wall time
    let started = std::time::Instant::now();
    let report = crash_run(&tansu.brokers, &events, args.rounds).await;
    let mut restarts = report.restart_secs.clone();
    restarts.sort_by(f64::total_cmp);
    let median = restarts.get(restarts.len() / 2).copied().unwrap_or(0.0);
    let max = restarts.last().copied().unwrap_or(0.0);
    let equal = !report.got.is_null() && report.want == report.got;
    println!(
        "{} events, {} kills, {:.0} s in all; restart to first checkpoint: median {:.1} s, max {:.1} s; figures equal to an uninterrupted run: {}",
        report.events,
        report.kills,
        started.elapsed().as_secs_f64(),
        median,
        max,
        if equal { "yes" } else { "NO" }
    );
    if !equal {
        println!("want {}\ngot  {}", report.want, report.got);
        bail!("the crashed engine's figures differ");
    }
    Ok(())
}
