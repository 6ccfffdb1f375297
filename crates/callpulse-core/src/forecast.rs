//! Intraday reforecast: offered calls and AHT for the rest of the day, per queue and
//! interval, from the historical shape of the same weekday scaled by today's actuals so far.
//!
//! The method, as workforce-management tools do it (NICE IEX, Verint, Calabrio call it
//! "intraday reforecasting"):
//! - The **profile** of a weekday is the mean, interval by interval, of the same weekday's
//!   last [`Method::weeks`] days in the history. A day whose volume is far from the others'
//!   median (a holiday, an outage: under half or over twice it) is left out, so one odd
//!   week does not bend the shape.
//! - During the day, the profile is **scaled** by how today compares with it so far:
//!   `(actual so far + k) / (profile so far + k)`, with `k` = [`Method::damping`] × the
//!   profile's day total. Early in the day the ratio stays near 1 (a few calls say little);
//!   as the day fills, today's own level takes over.
//! - AHT likewise: the profile's AHT per interval (handle time over handled calls of those
//!   days), scaled by today's handle time over what the profile's AHT predicted for today's
//!   handled calls so far, damped by [`Method::aht_damping_calls`].
//!
//! The baseline it is judged against ([`evaluate`]) is **seasonal naive**: the same
//! interval of the same weekday last week. All of this is pure arithmetic on interval
//! actuals: the binary reads the history (`callpulse forecast`) and the core does no I/O.

use chrono::NaiveDate;

mod evaluate;

pub use evaluate::{Evaluation, ForecastRow, QueueScore, Staffing, Wape, evaluate};

/// One interval's actuals.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Slot {
    /// Calls offered to the queue in the interval.
    pub offered: f64,
    /// Calls completed (offered in the interval) and their handle time: AHT's parts.
    pub handled: f64,
    pub handle_s: f64,
    /// Abandons, and the time all callers offered in the interval waited (answered and
    /// abandoned): observed patience's parts.
    pub abandoned: f64,
    pub wait_s: f64,
}

/// One day of a queue, interval by interval from local midnight.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    pub slots: Vec<Slot>,
}

impl Day {
    pub fn empty(date: NaiveDate, slots: usize) -> Self {
        Day {
            date,
            slots: vec![Slot::default(); slots],
        }
    }

    pub fn offered(&self) -> f64 {
        self.slots.iter().map(|s| s.offered).sum()
    }
}

/// The method's parameters (`callpulse forecast --weeks --damping`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Method {
    /// Same weekdays averaged into the profile.
    pub weeks: usize,
    /// Pseudo-count of the volume ratio, as a share of the profile's day total.
    pub damping: f64,
    /// Pseudo-count of the AHT ratio, in calls.
    pub aht_damping_calls: f64,
}

impl Default for Method {
    fn default() -> Self {
        // Chosen on the Anonymous Bank data's March-May (docs/forecast.md).
        Method {
            weeks: 8,
            damping: 0.1,
            aht_damping_calls: 50.0,
        }
    }
}

/// A weekday's typical day: mean offered and AHT per interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub offered: Vec<f64>,
    /// AHT per interval; where the profile's days handled nothing in an interval, their
    /// day's AHT.
    pub aht_s: Vec<Option<f64>>,
    /// Mean patience of the profile's days (waits over abandons), seconds.
    pub patience_s: Option<f64>,
    /// Days averaged.
    pub days: usize,
}

impl Profile {
    /// The profile of `days` (the same weekday's past days, newest first); `None` without a
    /// usable day. Days far from the median volume are left out (see the module docs).
    pub fn learn(days: &[&Day]) -> Option<Profile> {
        let width = days.first()?.slots.len();
        let mut totals: Vec<f64> = days.iter().map(|d| d.offered()).collect();
        totals.sort_by(f64::total_cmp);
        let median = totals[totals.len() / 2];
        let typical: Vec<&&Day> = days
            .iter()
            .filter(|d| {
                let total = d.offered();
                d.slots.len() == width && total >= median * 0.5 && total <= median * 2.0
            })
            .collect();
        if typical.is_empty() {
            return None;
        }
        let n = typical.len() as f64;
        let mut sum = vec![Slot::default(); width];
        for day in &typical {
            for (acc, s) in sum.iter_mut().zip(&day.slots) {
                acc.offered += s.offered;
                acc.handled += s.handled;
                acc.handle_s += s.handle_s;
                acc.abandoned += s.abandoned;
                acc.wait_s += s.wait_s;
            }
        }
        let handled: f64 = sum.iter().map(|s| s.handled).sum();
        let handle_s: f64 = sum.iter().map(|s| s.handle_s).sum();
        let day_aht = (handled > 0.0).then(|| handle_s / handled);
        let abandoned: f64 = sum.iter().map(|s| s.abandoned).sum();
        let waited: f64 = sum.iter().map(|s| s.wait_s).sum();
        Some(Profile {
            offered: sum.iter().map(|s| s.offered / n).collect(),
            aht_s: sum
                .iter()
                .map(|s| {
                    if s.handled > 0.0 {
                        Some(s.handle_s / s.handled)
                    } else {
                        day_aht
                    }
                })
                .collect(),
            patience_s: (abandoned > 0.0).then(|| waited / abandoned),
            days: typical.len(),
        })
    }

    pub fn total(&self) -> f64 {
        self.offered.iter().sum()
    }
}

/// The forecast for the intervals from `now` (an interval index; the intervals before it
/// are actual in `today`) to the day's end: offered and AHT per interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Reforecast {
    pub from: usize,
    pub offered: Vec<f64>,
    pub aht_s: Vec<Option<f64>>,
}

/// Reforecasts the rest of `today` at interval `now` (see the module docs).
pub fn reforecast(profile: &Profile, today: &Day, now: usize, method: &Method) -> Reforecast {
    let now = now.min(profile.offered.len());
    let done = &today.slots[..now.min(today.slots.len())];
    let actual: f64 = done.iter().map(|s| s.offered).sum();
    let expected: f64 = profile.offered[..done.len()].iter().sum();
    let k = method.damping * profile.total();
    let volume = if expected + k > 0.0 {
        (actual + k) / (expected + k)
    } else {
        1.0
    };
    // Today's handle time against what the profile's AHT says today's calls would take.
    let (handle_s, predicted_s, handled) =
        done.iter()
            .zip(&profile.aht_s)
            .fold((0.0, 0.0, 0.0), |(h, p, n), (s, aht)| {
                (
                    h + s.handle_s,
                    p + s.handled * aht.unwrap_or(0.0),
                    n + s.handled,
                )
            });
    let mean_aht = if handled > 0.0 {
        predicted_s / handled
    } else {
        0.0
    };
    let pseudo_s = method.aht_damping_calls * mean_aht;
    let aht_ratio = if predicted_s + pseudo_s > 0.0 {
        (handle_s + pseudo_s) / (predicted_s + pseudo_s)
    } else {
        1.0
    };
    Reforecast {
        from: now,
        offered: profile.offered[now..].iter().map(|o| o * volume).collect(),
        aht_s: profile.aht_s[now..]
            .iter()
            .map(|a| a.map(|a| a * aht_ratio))
            .collect(),
    }
}

#[cfg(test)]
mod tests;
