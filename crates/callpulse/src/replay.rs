//! `callpulse replay`: NDJSON event files (plain or gzip, `-` for stdin) through the core at
//! full speed, for backfill checks and interval reports (`docs/reports.md`).
//!
//! Lines are decoded by the same decoder as Kafka messages, with the same rejections; past
//! times are accepted (it is history). Without `--report` the history goes through a
//! [`PartitionState`] and the final snapshot (windows read at the newest event time) is
//! written as JSON; with it, through a [`ReportBuilder`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use callpulse_core::{
    Attribution, Calendar, FcrTracker, PartitionState, ReportBuilder, ReportRow, ReportSpec,
    Retired, Snapshot, StaffLevel, StaffRow, TeamReport, Ts,
};
use callpulse_events::{DecodeLimits, Rejection, SharedClock, check, decode};
use tracing::{info, warn};

use crate::Config;

mod lines;
mod native;
mod rows;

use lines::{Line, open, read_line_capped};
use rows::RowWriter;

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// One JSON object per line.
    Ndjson,
    /// A header line, then one row per line; thresholds become `answered_within_20s` and
    /// `service_level_20s` columns; `null` is an empty field.
    Csv,
}

/// What the replayed files hold (`--from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// callpulse's event contract, one JSON event per line (docs/events.md).
    Callpulse,
    /// Asterisk's `queue_log` (file or SQL-table form; FreePBX, Issabel, VitalPBX, Wazo,
    /// PBXware).
    AsteriskQueueLog,
    /// Amazon Connect contact records and agent events, one JSON record per line or several
    /// concatenated (as Kinesis Data Firehose writes them).
    AmazonConnect,
    /// FreeSWITCH mod_callcenter events as captured from the event socket (plain format).
    Freeswitch,
    /// Genesys Cloud conversation details, one conversation (or one query response) per line.
    GenesysCloud,
    /// Call-by-call records in the Technion SEE Lab's format (the "Anonymous Bank" data),
    /// tab separated; local times in `--tz`.
    Seelab,
}

/// Interval attribution (`--attribute-to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AttributeTo {
    /// Every number of a contact goes to the interval it was offered in.
    Offered,
    /// Each event counts in the interval of its own timestamp (as live windows do).
    Event,
}

/// What `replay` was asked to do.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub files: Vec<PathBuf>,
    pub source: Source,
    /// Interval length in seconds; `None` writes the final snapshot instead of a report.
    pub report_secs: Option<u32>,
    pub tz: Option<String>,
    pub out: Option<PathBuf>,
    pub format: ReportFormat,
    pub sl_thresholds: Vec<u32>,
    pub attribute_to: AttributeTo,
    /// CSV: decimal places of fractional figures.
    pub decimals: u8,
    /// With a report: rows per queue or per team.
    pub rows: RowKind,
}

/// What a report's rows are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RowKind {
    /// Calls, tickets and FCR per queue (and the center, `*`).
    Queue,
    /// Per team: agents, time in state, occupancy, calls and their AHT parts, CSAT, NPS, QA,
    /// adherence and shrinkage.
    Team,
    /// Per agent (the scorecard per interval): the same figures, each beside its team's.
    Agent,
}

/// What a replay read, for the summary line and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    pub lines: u64,
    pub accepted: u64,
    /// Rejections by reason ([`Rejection::REASONS`] order).
    pub rejected: Vec<(&'static str, u64)>,
    /// Native lines a source could not use, by reason (`--from` other than callpulse).
    pub refused_lines: Vec<(&'static str, u64)>,
    pub rows: usize,
}

/// Parses `30m`, `1h`, `1d`, `900s` (a bare number is seconds) into seconds.
///
/// # Errors
/// A message naming the bad value.
pub fn parse_duration(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u32 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30m, 1h or 1d"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: unit must be s, m, h or d")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// Runs a replay.
///
/// # Errors
/// An unreadable input, an unwritable output, or an invalid zone or interval.
pub fn replay(
    config: &Config,
    options: &ReplayOptions,
    clock: SharedClock,
) -> anyhow::Result<ReplaySummary> {
    let out: Box<dyn Write> = match &options.out {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("while creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let mut output = Output::Write {
        rows: RowWriter::new(options.format, options.decimals),
        out,
    };
    run(config, options, clock, &mut output)
}

/// A history's per-queue interval rows (by offered interval), in memory: what `forecast`
/// learns from and is scored against.
///
/// # Errors
/// As [`replay`].
pub fn report_rows(
    config: &Config,
    files: &[PathBuf],
    source: Source,
    interval_secs: u32,
    tz: Option<String>,
    clock: SharedClock,
) -> anyhow::Result<(Vec<ReportRow>, ReplaySummary)> {
    let options = ReplayOptions {
        files: files.to_vec(),
        source,
        report_secs: Some(interval_secs),
        tz,
        out: None,
        format: ReportFormat::Ndjson,
        sl_thresholds: Vec::new(),
        attribute_to: AttributeTo::Offered,
        decimals: 3,
        rows: RowKind::Queue,
    };
    let mut output = Output::Collect(Vec::new());
    let summary = run(config, &options, clock, &mut output)?;
    let Output::Collect(rows) = output else {
        unreachable!("collected above")
    };
    Ok((rows, summary))
}

/// Where a report's rows go.
enum Output {
    Write {
        rows: RowWriter,
        out: Box<dyn Write>,
    },
    Collect(Vec<ReportRow>),
}

impl Output {
    fn rows<R: serde::Serialize + Into<Collected>>(&mut self, rows: Vec<R>) -> anyhow::Result<()> {
        match self {
            Output::Write { rows: writer, out } => writer.write(out, &rows),
            Output::Collect(all) => {
                all.extend(rows.into_iter().filter_map(|r| r.into().0));
                Ok(())
            }
        }
    }

    fn written(&self) -> usize {
        match self {
            Output::Write { rows, .. } => rows.written,
            Output::Collect(all) => all.len(),
        }
    }
}

/// A row as [`Output::Collect`] keeps it: queue rows only.
struct Collected(Option<ReportRow>);

impl From<ReportRow> for Collected {
    fn from(row: ReportRow) -> Self {
        Collected(Some(row))
    }
}

impl From<StaffRow> for Collected {
    fn from(_: StaffRow) -> Self {
        Collected(None)
    }
}

/// What one replay keeps while it reads.
struct Reading {
    sink: Sink,
    limits: DecodeLimits,
    /// The future-skew check only: replayed figures are read at the history's own time.
    now: Ts,
    high_water: Option<Ts>,
    summary: ReplaySummary,
    rejected: [u64; Rejection::REASONS.len()],
}

impl Reading {
    /// Checks and applies a mapped event.
    fn apply_mapped(&mut self, env: &callpulse_events::Envelope) -> Result<(), Rejection> {
        check(env, self.now, &self.limits)?;
        self.high_water = self.high_water.max(Some(env.ts));
        self.sink.apply(env)
    }

    fn decode_and_apply(&mut self, line: &[u8]) -> Result<(), Rejection> {
        let env = decode(line, self.now, &self.limits)?;
        self.high_water = self.high_water.max(Some(env.ts));
        self.sink.apply(&env)
    }

    fn tally(&mut self, result: Result<(), Rejection>, path: &Path, line_no: u64) {
        match result {
            Ok(()) => self.summary.accepted += 1,
            Err(rejection) => {
                let i = rejection.reason_index();
                self.rejected[i] += 1;
                // The first few of each reason name their line; then only the count.
                if self.rejected[i] <= 3 {
                    warn!(file = %path.display(), line = line_no, reason = rejection.reason(), error = %rejection, "rejected event");
                }
            }
        }
    }

    /// Rows that can no longer change, to the output.
    fn write_final(&mut self, output: &mut Output) -> anyhow::Result<()> {
        match &mut self.sink {
            Sink::Report(builder) => output.rows(builder.take_final()),
            Sink::Teams(report) => output.rows(report.take_final()),
            Sink::Live(..) => Ok(()),
        }
    }
}

fn run(
    config: &Config,
    options: &ReplayOptions,
    clock: SharedClock,
    output: &mut Output,
) -> anyhow::Result<ReplaySummary> {
    let mut policy = config.metrics.clone();
    if let Some(tz) = &options.tz {
        policy.timezone.clone_from(tz);
    }
    policy.validate().context("invalid metrics policy")?;
    let policy = Arc::new(policy);
    let sink = match options.report_secs {
        Some(secs) => {
            Calendar::check_period(secs).context("--report")?;
            let spec = ReportSpec {
                interval_secs: secs,
                calendar: policy.calendar(),
                attribution: match options.attribute_to {
                    AttributeTo::Offered => Attribution::Offered,
                    AttributeTo::Event => Attribution::Event,
                },
                sl_thresholds_override: (!options.sl_thresholds.is_empty())
                    .then(|| options.sl_thresholds.clone()),
            };
            match options.rows {
                RowKind::Queue => {
                    Sink::Report(Box::new(ReportBuilder::new(Arc::clone(&policy), spec)))
                }
                RowKind::Team => {
                    Sink::Teams(Box::new(TeamReport::new(&policy, spec, StaffLevel::Team)))
                }
                RowKind::Agent => {
                    Sink::Teams(Box::new(TeamReport::new(&policy, spec, StaffLevel::Agent)))
                }
            }
        }
        None => Sink::Live(
            Box::new(PartitionState::new(Arc::clone(&policy))),
            Box::new(FcrTracker::for_policy(&policy)),
        ),
    };
    if let Output::Write { rows, out } = output {
        match &sink {
            Sink::Report(builder) => rows.start(out, builder.thresholds())?,
            Sink::Teams(report) => rows.start_staff(out, report.level())?,
            Sink::Live(..) => {}
        }
    }
    let mut r = Reading {
        sink,
        limits: DecodeLimits {
            max_past_ms: None,
            ..config.ingest.decode_limits()
        },
        now: clock.now(),
        high_water: None,
        summary: ReplaySummary::default(),
        rejected: [0u64; Rejection::REASONS.len()],
    };
    let files = if options.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        options.files.clone()
    };
    let mut mapper = native::Mapper::for_source(options.source, config, &policy);
    let mut mapped = Vec::new();
    for path in &files {
        let mut lines = open(path)?;
        let mut line_no = 0u64;
        let mut buf = Vec::new();
        loop {
            let read = read_line_capped(&mut lines, &mut buf, r.limits.max_payload_bytes)
                .with_context(|| format!("while reading {}", path.display()))?;
            let oversized = match read {
                Line::End => break,
                Line::Oversized(len) => Some(len),
                Line::Complete => None,
            };
            line_no += 1;
            // Blank lines carry nothing, except in an event-socket capture, where they end
            // each frame's header block.
            if oversized.is_none()
                && options.source != Source::Freeswitch
                && buf.iter().all(u8::is_ascii_whitespace)
            {
                continue;
            }
            r.summary.lines += 1;
            match (oversized, &mut mapper) {
                (Some(len), _) => r.tally(Err(Rejection::PayloadTooLarge(len)), path, line_no),
                (None, None) => {
                    let result = r.decode_and_apply(&buf);
                    r.tally(result, path, line_no);
                }
                (None, Some(mapper)) => {
                    mapped.clear();
                    let text = String::from_utf8_lossy(&buf);
                    // The first few of each reason name their line; then only the count.
                    if let Err((reason, error)) = mapper.map(&text, &mut mapped)
                        && mapper.refused().get(reason) <= Some(&3)
                    {
                        warn!(file = %path.display(), line = line_no, reason, %error, "line not used");
                    }
                    for env in &mapped {
                        let result = r.apply_mapped(env);
                        r.tally(result, path, line_no);
                    }
                }
            }
            // Rows are written as they become final, so memory does not grow with the
            // history; checked every few thousand lines, as a row spans many.
            if r.summary.lines.is_multiple_of(4096) {
                r.write_final(output)?;
            }
        }
        if let Some(mapper) = &mut mapper {
            mapped.clear();
            mapper.end_of_file(&mut mapped);
            for (i, env) in mapped.iter().enumerate() {
                let result = r.apply_mapped(env);
                r.tally(result, path, line_no);
                if i % 4096 == 4095 {
                    r.write_final(output)?;
                }
            }
        }
    }
    let Reading {
        sink,
        now,
        high_water,
        mut summary,
        rejected,
        ..
    } = r;
    summary.rejected = Rejection::REASONS
        .iter()
        .zip(rejected)
        .filter(|(_, n)| *n > 0)
        .map(|(reason, n)| (*reason, n))
        .collect();
    if let Some(mapper) = &mapper {
        summary.refused_lines = mapper.refused().iter().map(|(r, n)| (*r, *n)).collect();
        mapper.log_summary();
    }
    match sink {
        Sink::Report(builder) => {
            let (last, counters) = builder.finish();
            output.rows(last)?;
            summary.rows = output.written();
            info!(?counters, "report settled");
        }
        Sink::Teams(report) => {
            let (last, counters) = report.finish();
            output.rows(last)?;
            summary.rows = output.written();
            info!(?counters, "team report settled");
        }
        Sink::Live(mut state, mut fcr) => {
            let at = high_water.unwrap_or(now);
            fcr.apply_all(state.drain_fcr_facts());
            let part = Arc::new(state.snapshot(at));
            let fcr = Arc::new(fcr.part(at, &policy));
            let snapshot = Snapshot::build(0, at, &[part], &Retired::default(), &policy)
                .with_fcr(&[fcr], &BTreeMap::new())
                .with_plan(None, &policy);
            if let Output::Write { out, .. } = output {
                serde_json::to_writer_pretty(&mut *out, &snapshot)?;
                writeln!(out)?;
            }
        }
    }
    if let Output::Write { out, .. } = output {
        out.flush().context("while writing the output")?;
    }
    info!(
        lines = summary.lines,
        accepted = summary.accepted,
        rejected = ?summary.rejected,
        rows = summary.rows,
        "replay finished"
    );
    Ok(summary)
}

enum Sink {
    Report(Box<ReportBuilder>),
    Teams(Box<TeamReport>),
    Live(Box<PartitionState>, Box<FcrTracker>),
}

impl Sink {
    fn apply(&mut self, env: &callpulse_events::Envelope) -> Result<(), Rejection> {
        match self {
            Sink::Report(builder) => builder.apply(env).map(|_| ()),
            Sink::Teams(report) => report.apply(env),
            Sink::Live(state, fcr) => {
                let applied = state.apply(env).map(|_| ());
                // Settled as they come: a history is in time order, more or less.
                for fact in state.drain_fcr_facts() {
                    fcr.apply(&fact);
                }
                applied
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        assert_eq!(parse_duration("900"), Ok(900));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("m").is_err());
    }
}
