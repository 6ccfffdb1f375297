//! `callpulse replay`: NDJSON event files (plain or gzip, `-` for stdin) through the core at
//! full speed, for backfill checks and interval reports (`docs/reports.md`).
//!
//! Lines are decoded by the same decoder as Kafka messages, with the same rejections; past
//! times are accepted (it is history). Without `--report` the history goes through a
//! [`PartitionState`] and the final snapshot (windows read at the newest event time) is
//! written as JSON; with it, through a [`ReportBuilder`].

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use callpulse_core::{
    Attribution, Calendar, FcrTracker, PartitionState, ReportBuilder, ReportSpec, Retired,
    Snapshot, TeamReport, Ts, WINDOW_FIGURES, WINDOW_FIGURES_BY_THRESHOLD,
};
use callpulse_events::{DecodeLimits, Rejection, SharedClock, decode};
use serde::Serialize;
use tracing::{info, warn};

use crate::Config;

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// One JSON object per line.
    Ndjson,
    /// A header line, then one row per line; thresholds become `answered_within_20s` and
    /// `service_level_20s` columns; `null` is an empty field.
    Csv,
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
    /// Agents, time in state and occupancy per team.
    Team,
}

/// What a replay read, for the summary line and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    pub lines: u64,
    pub accepted: u64,
    /// Rejections by reason ([`Rejection::REASONS`] order).
    pub rejected: Vec<(&'static str, u64)>,
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
    let mut policy = config.metrics.clone();
    if let Some(tz) = &options.tz {
        policy.timezone.clone_from(tz);
    }
    policy.validate().context("invalid metrics policy")?;
    let policy = Arc::new(policy);
    let mut sink = match options.report_secs {
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
                RowKind::Team => Sink::Teams(Box::new(TeamReport::new(&policy, spec))),
            }
        }
        None => Sink::Live(
            Box::new(PartitionState::new(Arc::clone(&policy))),
            Box::new(FcrTracker::for_policy(&policy)),
        ),
    };
    let mut out: Box<dyn Write> = match &options.out {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("while creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let mut rows = RowWriter::new(options.format, options.decimals);
    match &sink {
        Sink::Report(builder) => rows.start(&mut out, builder.thresholds())?,
        Sink::Teams(_) => rows.start_teams(&mut out)?,
        Sink::Live(..) => {}
    }
    let limits = DecodeLimits {
        max_past_ms: None,
        ..config.ingest.decode_limits()
    };
    // The future-skew check only: replayed figures are read at the history's own time.
    let now = clock.now();
    let mut summary = ReplaySummary::default();
    let mut rejected = [0u64; Rejection::REASONS.len()];
    let mut high_water: Option<Ts> = None;
    let files = if options.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        options.files.clone()
    };
    for path in &files {
        let mut lines = open(path)?;
        let mut line_no = 0u64;
        let mut buf = Vec::new();
        loop {
            let read = read_line_capped(&mut lines, &mut buf, limits.max_payload_bytes)
                .with_context(|| format!("while reading {}", path.display()))?;
            let oversized = match read {
                Line::End => break,
                Line::Oversized(len) => Some(len),
                Line::Complete => None,
            };
            line_no += 1;
            if oversized.is_none() && buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            summary.lines += 1;
            let result = match oversized {
                Some(len) => Err(Rejection::PayloadTooLarge(len)),
                None => decode(&buf, now, &limits).and_then(|env| {
                    high_water = high_water.max(Some(env.ts));
                    sink.apply(&env)
                }),
            };
            // Rows are written as they become final, so memory does not grow with the
            // history; checked every few thousand lines, as a row spans many.
            if summary.lines % 4096 == 0 {
                match &mut sink {
                    Sink::Report(builder) => rows.write(&mut out, &builder.take_final())?,
                    Sink::Teams(report) => rows.write(&mut out, &report.take_final())?,
                    Sink::Live(..) => {}
                }
            }
            match result {
                Ok(()) => summary.accepted += 1,
                Err(rejection) => {
                    let i = rejection.reason_index();
                    rejected[i] += 1;
                    // The first few of each reason name their line; then only the count.
                    if rejected[i] <= 3 {
                        warn!(file = %path.display(), line = line_no, reason = rejection.reason(), error = %rejection, "rejected event");
                    }
                }
            }
        }
    }
    summary.rejected = Rejection::REASONS
        .iter()
        .zip(rejected)
        .filter(|(_, n)| *n > 0)
        .map(|(reason, n)| (*reason, n))
        .collect();
    match sink {
        Sink::Report(builder) => {
            let (last, counters) = builder.finish();
            rows.write(&mut out, &last)?;
            summary.rows = rows.written;
            info!(?counters, "report settled");
        }
        Sink::Teams(report) => {
            let (last, counters) = report.finish();
            rows.write(&mut out, &last)?;
            summary.rows = rows.written;
            info!(?counters, "team report settled");
        }
        Sink::Live(mut state, mut fcr) => {
            let at = high_water.unwrap_or(now);
            fcr.apply_all(state.drain_fcr_facts());
            let part = Arc::new(state.snapshot(at));
            let fcr = Arc::new(fcr.part(at, &policy));
            let snapshot = Snapshot::build(0, at, &[part], &Retired::default(), &policy)
                .with_fcr(&[fcr], &BTreeMap::new());
            serde_json::to_writer_pretty(&mut out, &snapshot)?;
            writeln!(out)?;
        }
    }
    out.flush().context("while writing the output")?;
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

/// A file, gzip-decoded when it starts with the gzip magic bytes, or stdin for `-`.
fn open(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(path).with_context(|| format!("while opening {}", path.display()))?)
    };
    let mut reader = BufReader::with_capacity(1 << 16, raw);
    let gzip = reader
        .fill_buf()
        .with_context(|| format!("while reading {}", path.display()))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    })
}

enum Line {
    Complete,
    /// Longer than the cap: skipped to its end without being held in memory.
    Oversized(usize),
    End,
}

/// Reads one line into `buf` (without the newline), holding at most `cap` bytes of it.
fn read_line_capped(reader: &mut dyn BufRead, buf: &mut Vec<u8>, cap: usize) -> io::Result<Line> {
    buf.clear();
    let mut len = 0usize;
    let mut any = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(match (any, len > cap) {
                (false, _) => Line::End,
                (true, true) => Line::Oversized(len),
                (true, false) => Line::Complete,
            });
        }
        any = true;
        let (part, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        len += part.len();
        if len <= cap {
            buf.extend_from_slice(part);
        } else {
            buf.clear();
        }
        let used = done.unwrap_or(chunk.len());
        reader.consume(used);
        if done.is_some() {
            return Ok(if len > cap {
                Line::Oversized(len)
            } else {
                Line::Complete
            });
        }
    }
}

/// The interval's columns, first in every CSV row: as RFC 3339, then its local date and
/// start and end times, which spreadsheets read as such (they do not parse RFC 3339 with an
/// offset).
const CSV_INTERVAL: &[(&str, Column)] = &[
    ("interval_start", Column::Key("interval_start")),
    ("interval_end", Column::Key("interval_end")),
    ("date", Column::Date),
    ("start", Column::LocalTime("interval_start")),
    ("end", Column::LocalTime("interval_end")),
];
/// Queue rows' columns after the window figures (the report's own); the figures' columns
/// come from [`WINDOW_FIGURES`], those keyed by threshold one per threshold.
const CSV_TAIL: &[&str] = &[
    "sl_formula",
    "fcr_success",
    "fcr_eligible",
    "fcr",
    "fcr_open",
    "fcr_unknown_customer",
];

/// Team rows' columns after the interval's.
const TEAM_COLUMNS: &[&str] = &[
    "team",
    "agents",
    "available_s",
    "on_call_s",
    "wrap_up_s",
    "aux_s",
    "offline_s",
    "occupancy",
];

/// Where a CSV column's field comes from in a row's JSON.
#[derive(Debug, Clone, Copy)]
enum Column {
    Key(&'static str),
    /// `key[threshold]` of a figure keyed by SL threshold.
    ByThreshold(&'static str, u32),
    /// The local date of `interval_start`.
    Date,
    /// The local time (`HH:MM`) of the named RFC 3339 key.
    LocalTime(&'static str),
}

/// Writes report rows as they come, in the chosen format.
struct RowWriter {
    format: ReportFormat,
    decimals: u8,
    /// The CSV columns, fixed with the header before the first row.
    columns: Vec<Column>,
    written: usize,
}

impl RowWriter {
    fn new(format: ReportFormat, decimals: u8) -> Self {
        RowWriter {
            format,
            decimals,
            columns: Vec::new(),
            written: 0,
        }
    }

    /// Queue rows' CSV header, naming every threshold a row can show.
    fn start(&mut self, out: &mut dyn Write, thresholds: BTreeSet<u32>) -> anyhow::Result<()> {
        let mut columns: Vec<(String, Column)> = vec![("queue".to_owned(), Column::Key("queue"))];
        for figure in WINDOW_FIGURES {
            if WINDOW_FIGURES_BY_THRESHOLD.contains(figure) {
                columns.extend(
                    thresholds
                        .iter()
                        .map(|t| (format!("{figure}_{t}s"), Column::ByThreshold(figure, *t))),
                );
            } else {
                columns.push(((*figure).to_owned(), Column::Key(figure)));
            }
        }
        columns.extend(CSV_TAIL.iter().map(|k| ((*k).to_owned(), Column::Key(k))));
        self.header(out, columns)
    }

    /// Team rows' CSV header.
    fn start_teams(&mut self, out: &mut dyn Write) -> anyhow::Result<()> {
        let columns = TEAM_COLUMNS
            .iter()
            .map(|k| ((*k).to_owned(), Column::Key(k)))
            .collect();
        self.header(out, columns)
    }

    /// Fixes the columns (the interval's, then `rest`) and writes the CSV header.
    fn header(&mut self, out: &mut dyn Write, rest: Vec<(String, Column)>) -> anyhow::Result<()> {
        let columns: Vec<(String, Column)> = CSV_INTERVAL
            .iter()
            .map(|(name, column)| ((*name).to_owned(), *column))
            .chain(rest)
            .collect();
        if self.format == ReportFormat::Csv {
            let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
            writeln!(out, "{}", names.join(","))?;
        }
        self.columns = columns.into_iter().map(|(_, column)| column).collect();
        Ok(())
    }

    /// Queue rows and team rows alike: a JSON line each, or the header's columns.
    fn write<R: Serialize>(&mut self, out: &mut dyn Write, rows: &[R]) -> anyhow::Result<()> {
        for row in rows {
            match self.format {
                ReportFormat::Ndjson => {
                    serde_json::to_writer(&mut *out, row)?;
                    out.write_all(b"\n")?;
                }
                ReportFormat::Csv => {
                    let value = serde_json::to_value(row)?;
                    let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
                    let fields: Vec<String> = self
                        .columns
                        .iter()
                        .map(|column| match column {
                            Column::Key(key) => csv_field(&value[*key], self.decimals),
                            Column::ByThreshold(key, t) => {
                                csv_field(&value[*key][&t.to_string()], self.decimals)
                            }
                            Column::Date => local_parts(&text("interval_start")).0,
                            Column::LocalTime(key) => local_parts(&text(key)).1,
                        })
                        .collect();
                    writeln!(out, "{}", fields.join(","))?;
                }
            }
        }
        self.written += rows.len();
        Ok(())
    }
}

/// `2026-03-29T03:00:00+02:00` -> (`2026-03-29`, `03:00`): the local date and time as
/// written (seconds are always 0: intervals start on whole minutes).
fn local_parts(rfc3339: &str) -> (String, String) {
    let date = rfc3339.get(..10).unwrap_or_default().to_owned();
    let time = rfc3339.get(11..16).unwrap_or_default().to_owned();
    (date, time)
}

fn csv_field(value: &serde_json::Value, decimals: u8) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        // Fractions rounded to what a reader uses; integers (counts) stay exact.
        serde_json::Value::Number(n) if !n.is_u64() && !n.is_i64() => {
            let rounded = format!("{:.*}", usize::from(decimals), n.as_f64().unwrap_or(0.0));
            if rounded.contains('.') {
                rounded
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_owned()
            } else {
                rounded
            }
        }
        serde_json::Value::String(s) if s.contains([',', '"', '\n', '\r']) => {
            format!("\"{}\"", s.replace('"', "\"\""))
        }
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
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

    #[test]
    fn long_lines_are_skipped_without_being_held() {
        let text = format!("short\n{}\nlast", "x".repeat(100));
        let mut reader = BufReader::with_capacity(8, text.as_bytes());
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        loop {
            match read_line_capped(&mut reader, &mut buf, 10).expect("read") {
                Line::End => break,
                Line::Complete => seen.push(String::from_utf8_lossy(&buf).into_owned()),
                Line::Oversized(n) => seen.push(format!("<{n}>")),
            }
            assert!(buf.len() <= 10);
        }
        assert_eq!(seen, ["short", "<100>", "last"]);
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let csv_field = |v: &serde_json::Value| super::csv_field(v, 4);
        assert_eq!(csv_field(&serde_json::json!(0.123_456)), "0.1235");
        assert_eq!(csv_field(&serde_json::json!(2.5)), "2.5");
        assert_eq!(csv_field(&serde_json::json!(1.0)), "1");
        assert_eq!(csv_field(&serde_json::json!(123_456_789)), "123456789");
        assert_eq!(super::csv_field(&serde_json::json!(0.666), 0), "1");
        assert_eq!(
            local_parts("2026-03-29T03:00:00+02:00"),
            ("2026-03-29".into(), "03:00".into())
        );
        assert_eq!(csv_field(&serde_json::json!("a,b")), "\"a,b\"");
        assert_eq!(
            csv_field(&serde_json::json!("say \"hi\"")),
            "\"say \"\"hi\"\"\""
        );
        assert_eq!(csv_field(&serde_json::Value::Null), "");
        assert_eq!(csv_field(&serde_json::json!(0.5)), "0.5");
    }
}
