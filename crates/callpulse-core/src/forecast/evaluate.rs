//! The method judged on history: every day in a range is forecast as it would have been
//! live (at each interval's start, from the days before it and the day's own intervals so
//! far), against the seasonal-naive baseline, by WAPE (`Σ|forecast - actual| / Σ actual`).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::{Day, Method, Profile, SoFar, past_days, reforecast};
use crate::erlang;

/// Weighted absolute percentage error, accumulated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Wape {
    pub abs_error: f64,
    pub actual: f64,
}

impl Wape {
    pub fn add(&mut self, forecast: f64, actual: f64) {
        self.abs_error += (forecast - actual).abs();
        self.actual += actual;
    }

    /// `None` when nothing actual was scored.
    pub fn value(&self) -> Option<f64> {
        (self.actual > 0.0).then(|| self.abs_error / self.actual)
    }
}

/// What a queue's staffing is computed at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Staffing {
    pub interval_secs: u32,
    /// The queue's first SL threshold and its target.
    pub threshold_s: f64,
    pub target: f64,
}

/// One queue's scores over the evaluated days.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueScore {
    pub queue: String,
    /// Days scored, and days in the range left out: no same weekday last week (the
    /// baseline has nothing) or no usable profile.
    pub days: usize,
    pub skipped_days: usize,
    pub offered: f64,
    /// Offered calls of the next interval, forecast at its start.
    pub next: Wape,
    pub next_naive: Wape,
    /// Offered calls of every later interval of the day, forecast at each interval's start.
    pub rest_of_day: Wape,
    pub rest_of_day_naive: Wape,
    /// Handle time of the next interval's handled calls (AHT forecast × calls handled).
    pub aht_next: Wape,
    pub aht_next_naive: Wape,
}

/// One interval of an evaluated day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastRow {
    pub queue: String,
    pub date: NaiveDate,
    /// Interval index from local midnight.
    pub slot: usize,
    pub offered: f64,
    /// Forecast at this interval's start, and at the day's start.
    pub forecast_next: f64,
    pub forecast_day_start: f64,
    /// Same interval, same weekday, last week.
    pub naive: f64,
    pub aht_s: Option<f64>,
    pub forecast_aht_s: Option<f64>,
    /// Erlang C agents for the next-interval forecast at the queue's SL target, and the
    /// abandonment Erlang A expects at that staffing with the profile's observed patience.
    pub agents_erlang_c: Option<u32>,
    pub abandon_erlang_a: Option<f64>,
    /// Erlang A agents for the same forecast and target (answered within the threshold
    /// over offered), with the observed patience: callers who give up shorten the queue.
    pub agents_erlang_a: Option<u32>,
}

/// Rows and scores of one queue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    pub rows: Vec<ForecastRow>,
    pub score: QueueScore,
}

/// Evaluates `method` on `history` (the queue's days present in the history, every day
/// the same number of intervals) for the days `from..=to`.
pub fn evaluate(
    queue: &str,
    history: &BTreeMap<NaiveDate, Day>,
    from: NaiveDate,
    to: NaiveDate,
    method: &Method,
    staffing: &Staffing,
) -> Evaluation {
    let mut eval = Evaluation {
        score: QueueScore {
            queue: queue.to_owned(),
            ..QueueScore::default()
        },
        ..Evaluation::default()
    };
    let score = &mut eval.score;
    for (date, today) in history.range(from..=to) {
        let naive = date
            .checked_sub_days(Days::new(7))
            .and_then(|d| history.get(&d));
        let past = past_days(history, *date, method.weeks);
        let (Some(naive), Some(profile)) = (naive, Profile::learn(&past)) else {
            score.skipped_days += 1;
            continue;
        };
        if profile.offered.len() != today.slots.len() || naive.slots.len() != today.slots.len() {
            score.skipped_days += 1;
            continue;
        }
        score.days += 1;
        score.offered += today.offered();
        let day_start = reforecast(&profile, &SoFar::at_slot(today, 0), method);
        let naive_aht = day_aht(naive);
        for (now, actual) in today.slots.iter().enumerate() {
            let rf = reforecast(&profile, &SoFar::at_slot(today, now), method);
            score.next.add(rf.offered[0], actual.offered);
            score
                .next_naive
                .add(naive.slots[now].offered, actual.offered);
            for (j, f) in rf.offered.iter().enumerate() {
                let a = today.slots[now + j].offered;
                score.rest_of_day.add(*f, a);
                score.rest_of_day_naive.add(naive.slots[now + j].offered, a);
            }
            let naive_slot = &naive.slots[now];
            let naive_aht_s = if naive_slot.handled > 0.0 {
                Some(naive_slot.handle_s / naive_slot.handled)
            } else {
                naive_aht
            };
            if actual.handled > 0.0
                && let (Some(ours), Some(theirs)) = (rf.aht_s[0], naive_aht_s)
            {
                score.aht_next.add(ours * actual.handled, actual.handle_s);
                score
                    .aht_next_naive
                    .add(theirs * actual.handled, actual.handle_s);
            }
            let rate = rf.offered[0] / f64::from(staffing.interval_secs);
            let agents = rf.aht_s[0].and_then(|aht| {
                erlang::required_agents(rate, aht, staffing.threshold_s, staffing.target)
            });
            eval.rows.push(ForecastRow {
                queue: queue.to_owned(),
                date: *date,
                slot: now,
                offered: actual.offered,
                forecast_next: rf.offered[0],
                forecast_day_start: day_start.offered[now],
                naive: naive_slot.offered,
                aht_s: (actual.handled > 0.0).then(|| actual.handle_s / actual.handled),
                forecast_aht_s: rf.aht_s[0],
                agents_erlang_c: agents,
                abandon_erlang_a: match (agents, rf.aht_s[0], profile.patience_s) {
                    (Some(n), Some(aht), Some(patience)) if rate > 0.0 => {
                        Some(erlang::erlang_a_abandon(n, rate, aht, patience))
                    }
                    _ => None,
                },
                agents_erlang_a: match (rf.aht_s[0], profile.patience_s) {
                    (Some(aht), Some(patience)) => erlang::required_agents_erlang_a_near(
                        rate,
                        aht,
                        patience,
                        staffing.threshold_s,
                        staffing.target,
                        agents,
                    ),
                    _ => None,
                },
            });
        }
    }
    eval
}

fn day_aht(day: &Day) -> Option<f64> {
    let handled: f64 = day.slots.iter().map(|s| s.handled).sum();
    let handle_s: f64 = day.slots.iter().map(|s| s.handle_s).sum();
    (handled > 0.0).then(|| handle_s / handled)
}
