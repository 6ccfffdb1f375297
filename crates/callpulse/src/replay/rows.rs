//! Report rows written as they come: NDJSON, or CSV with columns fixed by the header.

use std::collections::BTreeSet;
use std::io::Write;

use callpulse_core::{StaffLevel, WINDOW_FIGURES, WINDOW_FIGURES_BY_THRESHOLD};
use serde::Serialize;

use super::ReportFormat;

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

/// Team and agent rows' columns: each level's own first, then these, then its own tail.
const TEAM_HEAD: &[&str] = &["team", "agents"];
const AGENT_HEAD: &[&str] = &["agent", "team"];
/// Time in state, the calls, FCR and surveys, QA, and adherence: the figures of both levels.
const STAFF_COLUMNS: &[&str] = &[
    "available_s",
    "on_call_s",
    "wrap_up_s",
    "aux_s",
    "offline_s",
    "occupancy",
    "answered",
    "completed",
    "aht_s",
    "talk_avg_s",
    "hold_avg_s",
    "acw_avg_s",
    "resolved_reported_ratio",
    "fcr_eligible",
    "fcr_success",
    "fcr",
    "fcr_open",
    "csat_responses",
    "csat",
    "nps_responses",
    "nps",
    "qa_evaluations",
    "qa_score",
    "qa_pass_rate",
    "qa_critical_failure_rate",
    "scheduled_s",
    "out_of_adherence_s",
    "adherence",
];
const TEAM_TAIL: &[&str] = &[
    "worked_s",
    "scheduled_open_s",
    "conformance",
    "shrinkage_planned",
    "shrinkage_actual",
    "planned_break_s",
    "actual_break_s",
    "planned_lunch_s",
    "actual_lunch_s",
    "planned_training_s",
    "actual_training_s",
    "planned_coaching_s",
    "actual_coaching_s",
    "planned_meeting_s",
    "actual_meeting_s",
    "planned_other_s",
    "actual_other_s",
    "absent_s",
];
/// An agent's figures, then its team's in the same interval.
const AGENT_TAIL: &[&str] = &[
    "conformance",
    "team_agents",
    "team_occupancy",
    "team_aht_s",
    "team_completed_per_agent",
    "team_resolved_reported_ratio",
    "team_fcr",
    "team_csat",
    "team_nps",
    "team_qa_score",
    "team_adherence",
    "team_conformance",
];

/// A staff report's columns after the interval's.
fn staff_columns(level: StaffLevel) -> Vec<(String, Column)> {
    let (head, tail) = match level {
        StaffLevel::Team => (TEAM_HEAD, TEAM_TAIL),
        StaffLevel::Agent => (AGENT_HEAD, AGENT_TAIL),
    };
    [head, STAFF_COLUMNS, tail]
        .concat()
        .into_iter()
        .map(|k| (k.to_owned(), Column::Key(k)))
        .collect()
}

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
pub(super) struct RowWriter {
    format: ReportFormat,
    decimals: u8,
    /// The CSV columns, fixed with the header before the first row.
    columns: Vec<Column>,
    pub(super) written: usize,
}

impl RowWriter {
    pub(super) fn new(format: ReportFormat, decimals: u8) -> Self {
        RowWriter {
            format,
            decimals,
            columns: Vec::new(),
            written: 0,
        }
    }

    /// Queue rows' CSV header, naming every threshold a row can show.
    pub(super) fn start(
        &mut self,
        out: &mut dyn Write,
        thresholds: BTreeSet<u32>,
    ) -> anyhow::Result<()> {
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

    /// Team or agent rows' CSV header.
    pub(super) fn start_staff(
        &mut self,
        out: &mut dyn Write,
        level: StaffLevel,
    ) -> anyhow::Result<()> {
        self.header(out, staff_columns(level))
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
    pub(super) fn write<R: Serialize>(
        &mut self,
        out: &mut dyn Write,
        rows: &[R],
    ) -> anyhow::Result<()> {
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

    /// Every key of a team row and of an agent row is a CSV column of its level, once, and
    /// every column a key.
    #[test]
    fn staff_columns_are_the_rows_keys() {
        use callpulse_core::{Calendar, MetricsPolicy, ReportSpec, TeamReport};
        use callpulse_events::{AgentState, AgentStateChanged, Envelope, Event, Ts};
        for level in [StaffLevel::Team, StaffLevel::Agent] {
            let spec = ReportSpec {
                interval_secs: 1800,
                calendar: Calendar::utc(),
                attribution: callpulse_core::Attribution::Event,
                sl_thresholds_override: None,
            };
            let mut report = TeamReport::new(&MetricsPolicy::default(), spec, level);
            for (id, ms) in [("1", 0), ("2", 600_000)] {
                report
                    .apply(&Envelope {
                        event_id: id.into(),
                        ts: Ts(1_764_158_400_000 + ms),
                        event: Event::AgentState(AgentStateChanged {
                            agent_id: "a".into(),
                            team: "t".into(),
                            state: AgentState::Available,
                            reason: None,
                        }),
                    })
                    .expect("applied");
            }
            let (rows, _) = report.finish();
            let row = serde_json::to_value(&rows[0]).expect("json");
            let mut keys: Vec<&str> = row
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .filter(|k| !k.starts_with("interval_"))
                .collect();
            let columns = staff_columns(level);
            let mut columns: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
            keys.sort_unstable();
            columns.sort_unstable();
            assert_eq!(keys, columns, "{level:?}");
        }
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
