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
    /// Judge the intraday reforecast on history: forecast and actual per queue and
    /// interval, and the WAPE of next-interval and rest-of-day forecasts beside the
    /// seasonal-naive baseline (docs/forecast.md).
    Forecast(ForecastArgs),
    /// Mint bearer tokens for the API, /ws, /metrics and the wallboard (docs/security.md).
    Token(TokenArgs),
    /// Produce a contact-center system's own records to Kafka as contract events
    /// (docs/sources.md).
    #[command(subcommand)]
    Source(SourceCommand),
}

/// `callpulse source`: which system's records.
#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Asterisk's queue_log (FreePBX, Issabel, VitalPBX, Wazo, PBXware): once, or following
    /// the file across log rotation, resuming where it stopped.
    AsteriskQueueLog(QueueLogArgs),
    /// FreeSWITCH mod_callcenter, live from the event socket, reconnecting when it drops.
    Freeswitch(FreeswitchArgs),
    /// Asterisk's queue events, live from the manager interface (AMI), reconnecting when it
    /// drops.
    AsteriskAmi(AmiArgs),
}

/// `callpulse source asterisk-ami`.
#[derive(Debug, Args)]
pub struct AmiArgs {
    /// The manager interface, HOST:PORT (Asterisk listens on 5038). User and secret are
    /// [sources.asterisk] ami_username and ami_secret.
    #[arg(long, value_name = "HOST:PORT")]
    pub ami: String,
    /// Kafka bootstrap servers (default: ingest.brokers). Security settings come from
    /// [ingest.librdkafka].
    #[arg(long)]
    pub brokers: Option<String>,
    /// Longest wait (ms) between reconnection attempts; the wait doubles from 200 ms.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(200..=300_000))]
    pub reconnect_max_ms: u64,
}

/// `callpulse source freeswitch`.
#[derive(Debug, Args)]
pub struct FreeswitchArgs {
    /// The event socket, HOST:PORT (mod_event_socket listens on 8021). The password is
    /// [sources.freeswitch] password.
    #[arg(long, value_name = "HOST:PORT")]
    pub esl: String,
    /// Kafka bootstrap servers (default: ingest.brokers). Security settings come from
    /// [ingest.librdkafka].
    #[arg(long)]
    pub brokers: Option<String>,
    /// Longest wait (ms) between reconnection attempts; the wait doubles from 200 ms.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(200..=300_000))]
    pub reconnect_max_ms: u64,
}

/// `callpulse source asterisk-queue-log`.
#[derive(Debug, Args)]
pub struct QueueLogArgs {
    /// The queue_log file, e.g. /var/log/asterisk/queue_log.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Keep reading as Asterisk appends, across rotation (FILE renamed to FILE.1 or
    /// truncated), until stopped.
    #[arg(long)]
    pub follow: bool,
    /// Kafka bootstrap servers (default: ingest.brokers). Security settings come from
    /// [ingest.librdkafka].
    #[arg(long)]
    pub brokers: Option<String>,
    /// Where the position read up to is kept, to resume after a restart without loss or
    /// duplicates (a small JSON file; its directory must be writable).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// How often (ms) a followed file is checked for new lines and rotation.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub poll_ms: u64,
}

/// `callpulse token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// What `callpulse token` does.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new random token and the `[[tokens]]` entry (its SHA-256) that admits it.
    New(TokenNewArgs),
    /// Print the SHA-256 of a token read from stdin (for a token made elsewhere).
    Hash,
}

/// `callpulse token new`.
#[derive(Debug, Args)]
pub struct TokenNewArgs {
    /// Who holds it (audit lines name it).
    #[arg(long)]
    pub name: String,
    /// metrics, wallboard, agent, team_lead, manager or admin.
    #[arg(long)]
    pub role: String,
    /// For team_lead: the teams whose agents it sees (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub teams: Vec<String>,
    /// For agent: the agent id it is.
    #[arg(long)]
    pub agent: Option<String>,
    /// Write the token to this file (created, owner-only) instead of printing it: for a
    /// scraper's credentials file or a secret made by a script. Stdout then has the entry only.
    #[arg(long, value_name = "FILE")]
    pub token_out: Option<PathBuf>,
}

/// `callpulse replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Event files, one JSON event per line (or one native record per line, --from), read
    /// in order; `-` (or none) reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// What the files hold: callpulse's own events, or a system's native records
    /// (docs/sources.md).
    #[arg(long, value_enum, default_value_t = crate::replay::Source::Callpulse)]
    pub from: crate::replay::Source,
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
            source: args.from,
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

/// `callpulse forecast`.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// History files (as `replay` reads them, --source), oldest first.
    #[arg(long = "history", value_name = "FILE", required = true, num_args = 1..)]
    pub history: Vec<PathBuf>,
    /// What the files hold.
    #[arg(long, value_enum, default_value_t = crate::replay::Source::Callpulse)]
    pub source: crate::replay::Source,
    /// First day scored (YYYY-MM-DD, local); earlier history trains the profiles.
    #[arg(long, value_name = "DATE")]
    pub from: chrono::NaiveDate,
    /// Last day scored, inclusive.
    #[arg(long, value_name = "DATE")]
    pub to: chrono::NaiveDate,
    /// Interval length (e.g. 15m, 30m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = crate::replay::parse_duration)]
    pub interval: u32,
    /// IANA time zone of the days and intervals (overrides metrics.timezone).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Same weekdays averaged into a day's profile.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=52))]
    pub weeks: u16,
    /// How slowly the day's own level takes over: the pseudo-count of the volume ratio, as
    /// a share of the profile's day total (0: at once).
    #[arg(long, default_value_t = 0.1)]
    pub damping: f64,
    /// Write the per-interval rows (forecast, actual, baseline, AHT, Erlang staffing) to this
    /// CSV file.
    #[arg(long, value_name = "FILE")]
    pub rows: Option<PathBuf>,
    /// Write each queue's profile per weekday, learned from the history up to --to, to this
    /// JSON file: what the engine's `[forecast] profile` reads to reforecast the days after.
    #[arg(long, value_name = "FILE")]
    pub profile_out: Option<PathBuf>,
}

impl ForecastArgs {
    /// The options, with the damping checked.
    ///
    /// # Errors
    /// A damping that is negative or not a number.
    pub fn options(&self) -> anyhow::Result<crate::forecast::ForecastOptions> {
        if !(self.damping.is_finite() && self.damping >= 0.0) {
            anyhow::bail!("--damping must be a number >= 0, not {}", self.damping);
        }
        Ok(crate::forecast::ForecastOptions {
            files: self.history.clone(),
            source: self.source,
            from: self.from,
            to: self.to,
            interval_secs: self.interval,
            tz: self.tz.clone(),
            method: callpulse_core::forecast::Method {
                weeks: usize::from(self.weeks),
                damping: self.damping,
                ..callpulse_core::forecast::Method::default()
            },
            rows_out: self.rows.clone(),
            profile_out: self.profile_out.clone(),
        })
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
