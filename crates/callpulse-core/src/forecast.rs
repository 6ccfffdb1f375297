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
use serde::{Deserialize, Serialize};

mod evaluate;
mod profiles;

pub use evaluate::{Evaluation, ForecastRow, QueueScore, Staffing, Wape, evaluate};
pub use profiles::{PROFILE_VERSION, ProfileError, ProfileSet, WEEKDAYS, past_days};

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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

    /// The profile's AHT over its whole day, weighted by its calls.
    pub fn day_aht(&self) -> Option<f64> {
        let (calls, handle_s) = self
            .offered
            .iter()
            .zip(&self.aht_s)
            .filter_map(|(o, a)| a.map(|a| (*o, o * a)))
            .fold((0.0, 0.0), |(n, h), (o, oh)| (n + o, h + oh));
        (calls > 0.0).then(|| handle_s / calls)
    }
}

/// What the day has brought so far: the inputs of the scaling. The evaluation sums a
/// day's finished intervals ([`SoFar::at_slot`]); the engine reads a queue's `today` window
/// at any instant, mid-interval included.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SoFar {
    /// How far into the day, in intervals from local midnight (2.5: halfway through the
    /// third).
    pub at: f64,
    /// Where the figures below begin, likewise (0: midnight). An engine that started
    /// mid-day without the morning's state has seen the day from then on only.
    pub from: f64,
    pub offered: f64,
    /// Calls completed and their handle time.
    pub handled: f64,
    pub handle_s: f64,
}

impl SoFar {
    /// The day's first `now` intervals.
    pub fn at_slot(today: &Day, now: usize) -> SoFar {
        let done = &today.slots[..now.min(today.slots.len())];
        SoFar {
            at: done.len() as f64,
            from: 0.0,
            offered: done.iter().map(|s| s.offered).sum(),
            handled: done.iter().map(|s| s.handled).sum(),
            handle_s: done.iter().map(|s| s.handle_s).sum(),
        }
    }
}

/// The forecast for the intervals from `from` (the interval `at` falls in; the ones before
/// it are past) to the day's end: offered and AHT per interval, each a whole interval's
/// worth at the rate expected now.
#[derive(Debug, Clone, PartialEq)]
pub struct Reforecast {
    pub from: usize,
    pub offered: Vec<f64>,
    pub aht_s: Vec<Option<f64>>,
    /// Today's level against the profile's so far (damped), and its handle time's.
    pub volume_ratio: f64,
    pub aht_ratio: f64,
}

impl Profile {
    /// What the profile expected by `at` (fractional intervals): offered calls, and the
    /// handle time of those calls at its AHT per interval.
    pub fn expected_by(&self, at: f64) -> (f64, f64) {
        let whole = (at.max(0.0).floor() as usize).min(self.offered.len());
        let part = if whole < self.offered.len() {
            at - whole as f64
        } else {
            0.0
        };
        let mut offered = 0.0;
        let mut handle_s = 0.0;
        for (i, (o, aht)) in self.offered.iter().zip(&self.aht_s).enumerate() {
            let share = if i < whole {
                1.0
            } else if i == whole {
                part
            } else {
                break;
            };
            offered += o * share;
            handle_s += o * share * aht.unwrap_or(0.0);
        }
        (offered, handle_s)
    }
}

/// Reforecasts the rest of the day at `so_far.at` (see the module docs).
pub fn reforecast(profile: &Profile, so_far: &SoFar, method: &Method) -> Reforecast {
    let from = (so_far.at.max(0.0).floor() as usize).min(profile.offered.len());
    let (expected, expected_handle_s) = {
        let (to, to_s) = profile.expected_by(so_far.at);
        let (from, from_s) = profile.expected_by(so_far.from.min(so_far.at));
        (to - from, to_s - from_s)
    };
    let k = method.damping * profile.total();
    let volume_ratio = if expected + k > 0.0 {
        (so_far.offered + k) / (expected + k)
    } else {
        1.0
    };
    // Today's handle time against what the profile's AHT says today's handled calls would
    // take: the profile's mean AHT over the part of the day gone (weighted by its calls).
    let mean_aht = if expected > 0.0 {
        expected_handle_s / expected
    } else {
        profile.day_aht().unwrap_or(0.0)
    };
    let predicted_s = so_far.handled * mean_aht;
    let pseudo_s = method.aht_damping_calls * mean_aht;
    let aht_ratio = if predicted_s + pseudo_s > 0.0 {
        (so_far.handle_s + pseudo_s) / (predicted_s + pseudo_s)
    } else {
        1.0
    };
    Reforecast {
        from,
        offered: profile.offered[from..]
            .iter()
            .map(|o| o * volume_ratio)
            .collect(),
        aht_s: profile.aht_s[from..]
            .iter()
            .map(|a| a.map(|a| a * aht_ratio))
            .collect(),
        volume_ratio,
        aht_ratio,
    }
}

#[cfg(test)]
mod tests;
