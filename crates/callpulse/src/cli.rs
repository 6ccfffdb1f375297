//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// callpulse: real-time contact-center metrics from Kafka events.
#[derive(Debug, Parser)]
#[command(name = "callpulse", version)]
pub struct Cli {
    /// TOML configuration file, layered over the shipped defaults (config/callpulse.toml).
    /// Environment variables CALLPULSE__SECTION__KEY override both.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format on stderr. Verbosity comes from RUST_LOG (default: info).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// What to run.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Consume from a Kafka cluster and serve /metrics, /ws, the API and the wallboard.
    Run(RunArgs),
    /// Run everything in one process: an in-process Kafka-protocol broker, the simulator
    /// producing into it, the engine consuming from it, and the HTTP server.
    Demo(DemoArgs),
    /// Produce simulated contact-center events to a Kafka cluster.
    Simulate(SimulateArgs),
    /// Read NDJSON event files (plain or gzip; `-` is stdin) through the core at full speed:
    /// the final snapshot as JSON, or with --report an interval report (docs/reports.md).
    Replay(ReplayArgs),
}

/// `callpulse replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Event files, one JSON event per line, read in order; `-` (or none) reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write an interval report with this interval (e.g. 15m, 30m, 1h, 1d), aligned to the
    /// configured time zone's clock.
    #[arg(long, value_name = "DURATION", value_parser = crate::replay::parse_duration)]
    pub report: Option<u32>,
    /// IANA time zone for interval alignment (overrides metrics.timezone).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = crate::replay::ReportFormat::Ndjson)]
    pub format: crate::replay::ReportFormat,
    /// Service-level threshold in seconds, replacing every queue's configured ones
    /// (repeat for several, e.g. --sl-threshold 20 --sl-threshold 60).
    #[arg(long = "sl-threshold", value_name = "SECONDS")]
    pub sl_thresholds: Vec<u32>,
    /// Which interval a number counts in: the contact's offer time, or the event's own.
    #[arg(long, value_enum, default_value_t = crate::replay::AttributeTo::Offered)]
    pub attribute_to: crate::replay::AttributeTo,
    /// With --report: rows per queue (calls, tickets, FCR) or per team (agents, time in
    /// state, occupancy).
    #[arg(long, value_enum, default_value_t = crate::replay::RowKind::Queue)]
    pub rows: crate::replay::RowKind,
    /// CSV: decimal places of fractional figures (ratios, seconds); counts are exact.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=12))]
    pub decimals: u8,
}

impl From<&ReplayArgs> for crate::replay::ReplayOptions {
    fn from(args: &ReplayArgs) -> Self {
        crate::replay::ReplayOptions {
            files: args.files.clone(),
            report_secs: args.report,
            tz: args.tz.clone(),
            out: args.out.clone(),
            format: args.format,
            sl_thresholds: args.sl_thresholds.clone(),
            attribute_to: args.attribute_to,
            decimals: args.decimals,
            rows: args.rows,
        }
    }
}

/// `callpulse run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Kafka bootstrap servers (overrides ingest.brokers).
    #[arg(long)]
    pub brokers: Option<String>,
    /// HTTP listen address (overrides export.listen).
    #[arg(long)]
    pub listen: Option<String>,
}

/// `callpulse demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// HTTP listen address (overrides export.listen); port 0 picks a free port.
    #[arg(long)]
    pub listen: Option<String>,
    /// Partitions per topic in the in-process broker.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// Simulator seed (overrides simulator.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Follow the real time of day (quiet at night) instead of a busy hour all day.
    #[arg(long)]
    pub real_day: bool,
    /// Minutes of history simulated before going live, so windows start full.
    #[arg(long, default_value_t = 60)]
    pub backfill_mins: u32,
}

/// `callpulse simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Kafka bootstrap servers (overrides ingest.brokers).
    #[arg(long)]
    pub brokers: Option<String>,
    /// Multiply call volume and staffing (overrides simulator.scale).
    #[arg(long)]
    pub scale: Option<f64>,
    /// Simulator seed (overrides simulator.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Produce this many events as fast as possible (simulated time fast-forwarded from
    /// --lookback-mins ago, shifted back if needed so no event lies in the future), then
    /// exit. Without it, produce in real time until stopped.
    #[arg(long)]
    pub count: Option<usize>,
    /// With --count: how far back simulated time starts.
    #[arg(long, default_value_t = 60)]
    pub lookback_mins: u32,
    /// Create the four topics first (ignored if they exist).
    #[arg(long)]
    pub create_topics: bool,
    /// Partitions per topic when creating them.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
}
