//! `callpulse forecast`: the intraday reforecast ([`callpulse_core::forecast`]) judged on
//! history. The files are read as `replay --report` reads them (per queue and interval, by
//! offered interval, in `--tz`); each day from `--from` to `--to` is forecast as it would
//! have been live, interval by interval, and scored against the seasonal-naive baseline.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use callpulse_core::forecast::{
    Day, Evaluation, Method, ProfileSet, QueueScore, Slot, Staffing, Wape, evaluate,
};
use callpulse_core::{Calendar, ReportRow};
use callpulse_events::SharedClock;
use chrono::{DateTime, NaiveDate, Timelike};
use tracing::info;

use crate::Config;
use crate::replay::{self, Source};

/// What `forecast` was asked to do.
#[derive(Debug, Clone)]
pub struct ForecastOptions {
    pub files: Vec<PathBuf>,
    pub source: Source,
    /// The days scored, inclusive; the history before `from` trains the first ones.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub interval_secs: u32,
    pub tz: Option<String>,
    pub method: Method,
    /// Where the per-interval rows go (CSV), if anywhere.
    pub rows_out: Option<PathBuf>,
    /// Where the profiles learned up to `to` go (JSON), if anywhere.
    pub profile_out: Option<PathBuf>,
}

/// The profiles `[forecast] profile` names, checked against the engine's calendar; `None`
/// when it names none.
///
/// # Errors
/// An unreadable or invalid file, or one made for another time zone or interval.
pub fn load_profiles(config: &Config) -> anyhow::Result<Option<Arc<ProfileSet>>> {
    let path = &config.forecast.profile;
    if path.is_empty() {
        return Ok(None);
    }
    let context = || format!("while loading the forecast profile {path} ([forecast] profile)");
    let text = std::fs::read_to_string(path).with_context(context)?;
    let profiles: ProfileSet = serde_json::from_str(&text).with_context(context)?;
    profiles.check().with_context(context)?;
    profiles
        .check_engine(&config.metrics.timezone, config.metrics.interval_mins * 60)
        .with_context(context)?;
    info!(
        path,
        queues = profiles.queues.len(),
        learned_to = %profiles.learned_to,
        "forecast profile loaded"
    );
    Ok(Some(Arc::new(profiles)))
}

/// Runs the evaluation; writes the per-queue summary table to `out`.
///
/// # Errors
/// Unreadable input, an invalid range or interval, or no day that could be scored.
pub fn forecast(
    config: &Config,
    options: &ForecastOptions,
    clock: SharedClock,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<QueueScore>> {
    if options.from > options.to {
        bail!("--from {} is after --to {}", options.from, options.to);
    }
    Calendar::check_period(options.interval_secs).context("--interval")?;
    if options.interval_secs >= 86_400 {
        bail!("--interval must be shorter than a day: the reforecast works within the day");
    }
    if options.method.weeks == 0 {
        bail!("--weeks must be at least 1");
    }
    let (rows, summary) = replay::report_rows(
        config,
        &options.files,
        options.source,
        options.interval_secs,
        options.tz.clone(),
        clock,
    )?;
    info!(
        lines = summary.lines,
        accepted = summary.accepted,
        rows = rows.len(),
        "history read"
    );
    let history = days_by_queue(&rows, options.interval_secs)?;
    let mut metrics = config.metrics.clone();
    if let Some(tz) = &options.tz {
        metrics.timezone.clone_from(tz);
    }
    let mut csv = match &options.rows_out {
        Some(path) => Some(csv::Writer::from_writer(
            File::create(path).with_context(|| format!("while creating {}", path.display()))?,
        )),
        None => None,
    };
    let mut scores = Vec::new();
    for (queue, days) in &history {
        let policy = metrics.queue(queue);
        let staffing = Staffing {
            interval_secs: options.interval_secs,
            threshold_s: f64::from(policy.sl_thresholds_secs.first().copied().unwrap_or(20)),
            target: policy.sl_target,
        };
        let Evaluation { rows, score } = evaluate(
            queue,
            days,
            options.from,
            options.to,
            &options.method,
            &staffing,
        );
        if let Some(csv) = &mut csv {
            for row in &rows {
                csv.serialize(row).context("while writing the rows")?;
            }
        }
        scores.push(score);
    }
    if let Some(mut csv) = csv {
        csv.flush().context("while writing the rows")?;
    }
    if let Some(path) = &options.profile_out {
        let tz = options.tz.as_deref().unwrap_or(&metrics.timezone);
        let profiles = ProfileSet::learn(
            &history,
            options.to,
            options.method,
            options.interval_secs,
            tz,
        );
        let file =
            File::create(path).with_context(|| format!("while creating {}", path.display()))?;
        serde_json::to_writer(std::io::BufWriter::new(file), &profiles)
            .with_context(|| format!("while writing {}", path.display()))?;
        info!(path = %path.display(), queues = profiles.queues.len(), "profiles written");
    }
    if scores.iter().all(|s| s.days == 0) {
        bail!(
            "no day from {} to {} could be scored: each needs the same weekday a week before \
             in the history",
            options.from,
            options.to
        );
    }
    write_summary(out, &scores, options)?;
    Ok(scores)
}

/// Each queue's days, interval by interval. A day is in the history when the center had
/// any call that day; a queue's intervals without a row are zeros.
fn days_by_queue(
    rows: &[ReportRow],
    interval_secs: u32,
) -> anyhow::Result<BTreeMap<String, BTreeMap<NaiveDate, Day>>> {
    let per_day = (86_400 / interval_secs) as usize;
    let mut located = Vec::with_capacity(rows.len());
    let mut dates = BTreeSet::new();
    for row in rows {
        // The interval's start in the report's zone, with its offset: the local clock.
        let start = DateTime::parse_from_rfc3339(&row.interval_start)
            .with_context(|| format!("report row start {:?}", row.interval_start))?
            .naive_local();
        let slot = (start.num_seconds_from_midnight() / interval_secs) as usize;
        dates.insert(start.date());
        located.push((start.date(), slot.min(per_day - 1), row));
    }
    let mut history: BTreeMap<String, BTreeMap<NaiveDate, Day>> = BTreeMap::new();
    for (date, slot, row) in located {
        let days = history.entry(row.queue.clone()).or_insert_with(|| {
            dates
                .iter()
                .map(|d| (*d, Day::empty(*d, per_day)))
                .collect()
        });
        let m = &row.metrics;
        let s: &mut Slot = &mut days.get_mut(&date).expect("every date").slots[slot];
        // A DST day's repeated hour lands twice in one slot: added, not overwritten.
        s.offered += m.offered as f64;
        s.handled += m.completed as f64;
        s.handle_s += m.handle_sum_s;
        s.abandoned += m.abandoned as f64;
        s.wait_s += m.wait_sum_s + m.avg_abandon_s.unwrap_or(0.0) * m.abandoned as f64;
    }
    Ok(history)
}

fn write_summary(
    out: &mut dyn Write,
    scores: &[QueueScore],
    options: &ForecastOptions,
) -> anyhow::Result<()> {
    let pct = |w: &Wape| {
        w.value()
            .map_or("-".to_owned(), |v| format!("{:.1} %", v * 100.0))
    };
    writeln!(
        out,
        "WAPE, {} to {}, {} s intervals; reforecast (profile of {} weeks, damping {}) vs \
         seasonal naive (same interval, same weekday, last week)\n",
        options.from,
        options.to,
        options.interval_secs,
        options.method.weeks,
        options.method.damping
    )?;
    writeln!(
        out,
        "| queue | days | offered | next interval | naive | rest of day | naive | AHT next | naive |"
    )?;
    writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )?;
    for s in scores {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.queue,
            s.days,
            s.offered,
            pct(&s.next),
            pct(&s.next_naive),
            pct(&s.rest_of_day),
            pct(&s.rest_of_day_naive),
            pct(&s.aht_next),
            pct(&s.aht_next_naive),
        )?;
    }
    let skipped: usize = scores.iter().map(|s| s.skipped_days).max().unwrap_or(0);
    if skipped > 0 {
        writeln!(
            out,
            "\n{skipped} day(s) in the range not scored: no same weekday a week before, or no \
             usable profile"
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use callpulse_events::{ManualClock, Ts};
    use chrono::{Datelike, Days};

    use super::*;

    /// SEE Lab records: on each day, `per_hour` calls an hour from 08:00 to 15:59 to queue
    /// PS, each waiting 10 s and talking 100 s.
    fn history(days: &[(NaiveDate, u32)]) -> String {
        let mut text = String::from(
            "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\tq_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver\n",
        );
        let mut id = 0;
        for (date, per_hour) in days {
            for hour in 8..16 {
                for i in 0..*per_hour {
                    id += 1;
                    let minute = i * 60 / per_hour;
                    let t = |s: u32| format!("{hour}:{minute:02}:{s:02}");
                    let end = format!("{}:{:02}:55", hour, minute + 1);
                    text.push_str(&format!(
                        "AA0101\t{id}\t0\t2\tPS\t{}\t{}\t{}\t5\t{}\t{}\t10\tAGENT\t{}\t{}\t100\tDANA\n",
                        date.format("%y%m%d"),
                        t(0),
                        t(5),
                        t(5),
                        t(15),
                        t(15),
                        end,
                    ));
                }
            }
        }
        text
    }

    fn run(days: &[(NaiveDate, u32)], from: NaiveDate, to: NaiveDate) -> Vec<QueueScore> {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("calls.txt");
        std::fs::write(&path, history(days)).expect("write");
        let rows = dir.path().join("rows.csv");
        let config = Config::load(None, &HashMap::new()).expect("config");
        let options = ForecastOptions {
            files: vec![path],
            source: Source::Seelab,
            from,
            to,
            interval_secs: 1800,
            tz: Some("Asia/Jerusalem".into()),
            method: Method {
                weeks: 2,
                ..Method::default()
            },
            rows_out: Some(rows.clone()),
            profile_out: Some(dir.path().join("profile.json")),
        };
        let clock = Arc::new(ManualClock::new(Ts(i64::MAX / 4)));
        let mut out = Vec::new();
        let scores = forecast(&config, &options, clock, &mut out).expect("forecast");
        let table = String::from_utf8(out).expect("utf-8");
        assert!(table.contains("| PS |"), "{table}");
        let csv = std::fs::read_to_string(rows).expect("rows");
        // A header, then 48 intervals per scored day per queue (PS and the center).
        let scored: usize = scores.iter().map(|s| s.days).sum();
        assert_eq!(csv.lines().count(), 1 + 48 * scored, "{csv}");
        // The profiles the engine would load for the week after `to`: refused under
        // another zone, read under the file's own.
        let mut config = config;
        config.forecast.profile = dir.path().join("profile.json").display().to_string();
        let error = load_profiles(&config).expect_err("UTC engine");
        assert!(format!("{error:#}").contains("Asia/Jerusalem"), "{error:#}");
        config.metrics.timezone = "Asia/Jerusalem".into();
        let profiles = load_profiles(&config).expect("load").expect("some");
        assert_eq!(profiles.learned_to, to);
        let weekday = to.weekday().num_days_from_monday() as u8;
        let ps = profiles
            .profile("PS", weekday)
            .expect("the same weekday as --to");
        // 8:00-15:59 local: intervals 16 to 31 carry the calls.
        assert!(
            ps.offered[16] > 0.0 && ps.offered[15] == 0.0,
            "{:?}",
            ps.offered
        );
        scores
    }

    #[test]
    fn steady_weeks_are_forecast_exactly_and_a_busier_day_better_than_last_week() {
        let monday = NaiveDate::from_ymd_opt(1999, 3, 1).expect("date");
        let mondays: Vec<NaiveDate> = (0..4).map(|w| monday + Days::new(7 * w)).collect();
        let steady: Vec<(NaiveDate, u32)> = mondays.iter().map(|d| (*d, 4)).collect();
        let scores = run(&steady, mondays[2], mondays[3]);
        let ps = scores.iter().find(|s| s.queue == "PS").expect("PS");
        assert_eq!((ps.days, ps.offered), (2, 64.0));
        assert_eq!(ps.next.value(), Some(0.0));
        assert_eq!(ps.rest_of_day.value(), Some(0.0));
        assert_eq!(ps.next_naive.value(), Some(0.0));
        // Handle time: 100 s talk per call, exactly.
        assert_eq!(ps.aht_next.value(), Some(0.0));

        let mut busy = steady.clone();
        busy[3].1 = 8;
        let scores = run(&busy, mondays[3], mondays[3]);
        let ps = scores.iter().find(|s| s.queue == "PS").expect("PS");
        assert_eq!(ps.next_naive.value(), Some(0.5));
        assert!(ps.next.value() < Some(0.4), "{ps:?}");
        assert!(ps.rest_of_day.value() < ps.rest_of_day_naive.value());
    }

    #[test]
    fn a_range_without_last_week_is_refused() {
        let monday = NaiveDate::from_ymd_opt(1999, 3, 1).expect("date");
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("calls.txt");
        std::fs::write(&path, history(&[(monday, 4)])).expect("write");
        let options = ForecastOptions {
            files: vec![path],
            source: Source::Seelab,
            from: monday,
            to: monday,
            interval_secs: 1800,
            tz: Some("Asia/Jerusalem".into()),
            method: Method::default(),
            rows_out: None,
            profile_out: None,
        };
        let config = Config::load(None, &HashMap::new()).expect("config");
        let clock = Arc::new(ManualClock::new(Ts(i64::MAX / 4)));
        let error = forecast(&config, &options, clock, &mut Vec::new()).expect_err("nothing");
        assert!(error.to_string().contains("could be scored"), "{error}");
    }
}
