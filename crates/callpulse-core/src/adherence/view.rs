//! Adherence as readers see it: seconds and ratios, summable (a team's day from its
//! agents' days) by the same formulas as one agent's.

use callpulse_events::{Activity, Ts};
use serde::{Deserialize, Serialize};

use super::{ACTIVITIES, AdherenceTimes, Episode, Schedule};

/// Seconds per activity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivitySeconds {
    pub open: f64,
    #[serde(rename = "break")]
    pub break_: f64,
    pub lunch: f64,
    pub training: f64,
    pub coaching: f64,
    pub meeting: f64,
    pub other: f64,
    pub off: f64,
}

impl ActivitySeconds {
    fn from_ms(ms: &[u64; ACTIVITIES]) -> Self {
        let s = |a: Activity| ms[a.index()] as f64 / 1000.0;
        ActivitySeconds {
            open: s(Activity::Open),
            break_: s(Activity::Break),
            lunch: s(Activity::Lunch),
            training: s(Activity::Training),
            coaching: s(Activity::Coaching),
            meeting: s(Activity::Meeting),
            other: s(Activity::Other),
            off: s(Activity::Off),
        }
    }

    /// The seconds of `activity`.
    pub fn get(&self, activity: Activity) -> f64 {
        match activity {
            Activity::Open => self.open,
            Activity::Break => self.break_,
            Activity::Lunch => self.lunch,
            Activity::Training => self.training,
            Activity::Coaching => self.coaching,
            Activity::Meeting => self.meeting,
            Activity::Other => self.other,
            Activity::Off => self.off,
        }
    }

    fn to_ms(self) -> [u64; ACTIVITIES] {
        // The views' seconds are whole milliseconds / 1000: exact back in ms.
        Activity::ALL.map(|a| (self.get(a) * 1000.0).round().max(0.0) as u64)
    }
}

/// An agent's or a team's adherence over a stretch of time (`docs/adherence.md`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdherenceView {
    /// Scheduled paid time (every activity but `off`).
    pub scheduled_s: f64,
    /// Of it, out of adherence past the grace.
    pub out_of_adherence_s: f64,
    /// `1 - out / scheduled`; `null` with nothing scheduled.
    pub adherence: Option<f64>,
    /// Time open for contacts, scheduled or not.
    pub worked_s: f64,
    /// `worked / scheduled open`; `null` with no open time scheduled.
    pub conformance: Option<f64>,
    /// Scheduled time per scheduled activity.
    pub planned: ActivitySeconds,
    /// Scheduled time per actual activity (`off`: absent when scheduled).
    pub actual: ActivitySeconds,
    /// Share of scheduled time planned away from `open`.
    pub shrinkage_planned: Option<f64>,
    /// Share of scheduled time actually spent away from `open` (absence included).
    pub shrinkage_actual: Option<f64>,
}

impl From<&AdherenceTimes> for AdherenceView {
    fn from(t: &AdherenceTimes) -> Self {
        let paid = t.paid();
        let share = |ms: u64| (paid > 0).then(|| ms as f64 / paid as f64);
        let open = Activity::Open.index();
        let scheduled_open = t.scheduled[open];
        AdherenceView {
            scheduled_s: paid as f64 / 1000.0,
            out_of_adherence_s: t.out as f64 / 1000.0,
            adherence: share(paid.saturating_sub(t.out)),
            worked_s: t.worked as f64 / 1000.0,
            conformance: (scheduled_open > 0).then(|| t.worked as f64 / scheduled_open as f64),
            planned: ActivitySeconds::from_ms(&t.scheduled),
            actual: ActivitySeconds::from_ms(&t.actual),
            shrinkage_planned: share(paid - scheduled_open),
            shrinkage_actual: share(paid.saturating_sub(t.actual[open])),
        }
    }
}

impl AdherenceView {
    /// Back to milliseconds (exact: the seconds are whole milliseconds).
    pub fn times(&self) -> AdherenceTimes {
        let ms = |s: f64| (s * 1000.0).round().max(0.0) as u64;
        AdherenceTimes {
            scheduled: self.planned.to_ms(),
            actual: self.actual.to_ms(),
            out: ms(self.out_of_adherence_s),
            worked: ms(self.worked_s),
        }
    }

    /// Several views added, with the ratios over the sum.
    pub fn sum<'a>(views: impl IntoIterator<Item = &'a AdherenceView>) -> AdherenceView {
        use crate::window::Merge;
        let mut total = AdherenceTimes::default();
        for v in views {
            total.merge(&v.times());
        }
        AdherenceView::from(&total)
    }

    /// Share of scheduled time in `activity`, planned and actual.
    pub fn shrinkage(&self, activity: Activity) -> (Option<f64>, Option<f64>) {
        let share = |s: f64| (self.scheduled_s > 0.0).then(|| s / self.scheduled_s);
        (
            share(self.planned.get(activity)),
            share(self.actual.get(activity)),
        )
    }
}

/// An agent's adherence now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdherenceNow {
    pub scheduled: Activity,
    pub actual: Activity,
    /// Out of adherence past the grace.
    pub out_of_adherence: bool,
    /// When the stretch out of adherence began (ms since the epoch), once past the grace.
    pub out_since_ms: Option<i64>,
    /// How long it has lasted.
    pub out_s: f64,
}

impl AdherenceNow {
    /// The state at `now` of an agent doing `actual` with `episode` (brought up to `now`).
    pub(crate) fn at(
        schedule: &Schedule,
        actual: Activity,
        episode: Episode,
        now: Ts,
        grace_ms: i64,
    ) -> Self {
        let out_since = episode.filter(|start| now.millis() - start > grace_ms);
        AdherenceNow {
            scheduled: schedule.at(now.plus_millis(-1)),
            actual,
            out_of_adherence: out_since.is_some(),
            out_since_ms: out_since,
            out_s: out_since.map_or(0.0, |start| (now.millis() - start) as f64 / 1000.0),
        }
    }
}
