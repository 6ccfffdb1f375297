//! Schedule adherence, conformance and shrinkage: an agent's time against its schedule.
//!
//! Every stretch of an agent's time has a *scheduled* activity (from `agent_schedule`
//! events; `off` where no segment is) and an *actual* one (the agent's state, and for aux
//! the reason, mapped by `[metrics.adherence]`). Over scheduled (paid) time:
//! - **adherence** = 1 - out-of-adherence time / scheduled time. The agent is out while the
//!   actual activity is not the scheduled one; the first `grace_secs` of each such stretch
//!   count as in adherence (the walk to the break room, the call that overruns the break's
//!   start by a minute).
//! - **conformance** = time worked (actual `open`, scheduled or not) / time scheduled open.
//! - **shrinkage**, planned and actual: the share of scheduled time in each non-productive
//!   activity, by the schedule and by what the agent did (`off` in scheduled time is
//!   absence).
//!
//! Time off schedule (scheduled `off`) is in none of these but `worked`; an agent with no schedule
//! at all is in none of them. Schedule changes
//! apply to time not yet booked: a finished state span is booked against the schedule known
//! when it ended, as agent time in state is (`occupancy.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use callpulse_events::{Activity, AgentState, ScheduleSegment, Ts};
use serde::{Deserialize, Serialize};

use crate::window::Merge;

const ACTIVITIES: usize = Activity::ALL.len();

/// `[metrics.adherence]`: how states map onto activities, and the grace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdherencePolicy {
    /// The first this many seconds of each stretch out of adherence count as in adherence.
    pub grace_secs: u32,
    /// The activity of each agent state (for `aux`, when its reason has no rule).
    pub states: StateActivities,
    /// Aux reasons (ASCII case ignored) and the activity each one is.
    pub aux_reasons: BTreeMap<String, Activity>,
}

/// The activity of each agent state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateActivities {
    pub available: Activity,
    pub on_call: Activity,
    pub wrap_up: Activity,
    pub aux: Activity,
    pub offline: Activity,
}

impl Default for StateActivities {
    fn default() -> Self {
        StateActivities {
            available: Activity::Open,
            on_call: Activity::Open,
            wrap_up: Activity::Open,
            aux: Activity::Other,
            offline: Activity::Off,
        }
    }
}

impl Default for AdherencePolicy {
    fn default() -> Self {
        let aux_reasons = [
            Activity::Break,
            Activity::Lunch,
            Activity::Training,
            Activity::Coaching,
            Activity::Meeting,
        ]
        .into_iter()
        .map(|a| (a.as_str().to_owned(), a))
        .collect();
        AdherencePolicy {
            grace_secs: 120,
            states: StateActivities::default(),
            aux_reasons,
        }
    }
}

impl AdherencePolicy {
    /// The longest grace accepted: past an hour it hides whole breaks.
    pub const MAX_GRACE_SECS: u32 = 3600;

    /// What an agent in `state` (with aux `reason`) is doing.
    pub fn actual(&self, state: AgentState, reason: Option<&str>) -> Activity {
        if state == AgentState::Aux
            && let Some(reason) = reason
            && let Some((_, activity)) = self
                .aux_reasons
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(reason))
        {
            return *activity;
        }
        let s = &self.states;
        match state {
            AgentState::Available => s.available,
            AgentState::OnCall => s.on_call,
            AgentState::WrapUp => s.wrap_up,
            AgentState::Aux => s.aux,
            AgentState::Offline => s.offline,
        }
    }

    pub(crate) fn grace_ms(&self) -> i64 {
        i64::from(self.grace_secs) * 1000
    }
}

/// Segments kept per agent: a week of a busy schedule; past it the oldest go.
const MAX_KEPT_SEGMENTS: usize = 400;

/// One agent's schedule: its segments other than `off`, in time order, apart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Schedule {
    segments: Vec<(i64, i64, Activity)>,
    /// The team the schedule staffs, when its events name one (the latest named).
    pub(crate) team: Option<Arc<str>>,
}

impl Schedule {
    /// Replaces what `[start, end)` held with `segments` (checked by the decoder: inside
    /// the span, in order, apart).
    pub(crate) fn replace(&mut self, start: Ts, end: Ts, segments: &[ScheduleSegment]) {
        let (start, end) = (start.millis(), end.millis());
        let mut kept = Vec::with_capacity(self.segments.len() + segments.len());
        for &(from, to, activity) in &self.segments {
            if from < start {
                kept.push((from, to.min(start), activity));
            }
            if to > end {
                kept.push((from.max(end), to, activity));
            }
        }
        kept.extend(
            segments
                .iter()
                .filter(|s| s.activity != Activity::Off)
                .map(|s| (s.start.millis(), s.end.millis(), s.activity)),
        );
        kept.sort_unstable_by_key(|s| s.0);
        let excess = kept.len().saturating_sub(MAX_KEPT_SEGMENTS);
        kept.drain(..excess);
        self.segments = kept;
    }

    /// Forgets segments that ended before `before`; whether any segment is left.
    pub(crate) fn prune(&mut self, before: Ts) -> bool {
        self.segments.retain(|s| s.1 > before.millis());
        !self.segments.is_empty()
    }

    /// The scheduled activity at `at`.
    pub(crate) fn at(&self, at: Ts) -> Activity {
        let at = at.millis();
        let i = self.segments.partition_point(|s| s.1 <= at);
        match self.segments.get(i) {
            Some(&(from, _, activity)) if from <= at => activity,
            _ => Activity::Off,
        }
    }

    /// Each stretch scheduled `open` overlapping `[from, to)`, clipped to it.
    pub(crate) fn open_within(&self, from: i64, to: i64) -> impl Iterator<Item = (i64, i64)> {
        let first = self.segments.partition_point(|s| s.1 <= from);
        self.segments[first..]
            .iter()
            .take_while(move |s| s.0 < to)
            .filter(|s| s.2 == Activity::Open)
            .map(move |&(start, end, _)| (start.max(from), end.min(to)))
    }

    /// Calls `f(from, to, scheduled)` for consecutive stretches covering `[from, to)`.
    fn stretches(&self, from: i64, to: i64, mut f: impl FnMut(i64, i64, Activity)) {
        let mut at = from;
        let first = self.segments.partition_point(|s| s.1 <= from);
        for &(start, end, activity) in &self.segments[first..] {
            if at >= to {
                return;
            }
            if start > at {
                f(at, start.min(to), Activity::Off);
                at = start.min(to);
            }
            let end = end.min(to);
            if end > at {
                f(at, end, activity);
                at = end;
            }
        }
        if at < to {
            f(at, to, Activity::Off);
        }
    }
}

/// One stretch of an agent's time with one scheduled and one actual activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) scheduled: Activity,
    pub(crate) actual: Activity,
    /// Time from here to `to` is out of adherence (past the grace); `i64::MAX` if none.
    pub(crate) out_from: i64,
}

/// Where an agent's current stretch out of adherence began (`None`: in adherence).
pub(crate) type Episode = Option<i64>;

/// Calls `f` with the pieces of `[from, to)` spent in `actual` against `schedule`, in time
/// order, carrying the stretch out of adherence across calls in `episode`; none without a
/// schedule.
pub(crate) fn pieces(
    schedule: Option<&Schedule>,
    actual: Activity,
    (from, to): (Ts, Ts),
    episode: &mut Episode,
    grace_ms: i64,
    mut f: impl FnMut(Piece),
) {
    let piece = |from: i64, to: i64, scheduled: Activity| {
        let out_from = if scheduled != Activity::Off && scheduled != actual {
            episode.get_or_insert(from).saturating_add(grace_ms)
        } else {
            *episode = None;
            i64::MAX
        };
        f(Piece {
            from,
            to,
            scheduled,
            actual,
            out_from,
        });
    };
    let (from, to) = (from.millis(), to.millis());
    if to <= from {
        return;
    }
    match schedule {
        Some(schedule) => schedule.stretches(from, to, piece),
        // An agent without a schedule is in no adherence figure, its work included: a
        // team's conformance is over its scheduled agents.
        None => *episode = None,
    }
}

/// Milliseconds of scheduled, actual, out-of-adherence and worked time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdherenceTimes {
    /// Per scheduled activity ([`Activity::index`]; `off` stays 0: it is not paid time).
    pub scheduled: [u64; ACTIVITIES],
    /// Per actual activity, within scheduled time (`off` here is absence).
    pub actual: [u64; ACTIVITIES],
    pub out: u64,
    /// Time actually open for contacts, scheduled or not.
    pub worked: u64,
}

impl Merge for AdherenceTimes {
    fn merge(&mut self, o: &Self) {
        for i in 0..ACTIVITIES {
            self.scheduled[i] += o.scheduled[i];
            self.actual[i] += o.actual[i];
        }
        self.out += o.out;
        self.worked += o.worked;
    }
}

impl AdherenceTimes {
    /// Adds the part of `piece` inside `[start, end)`.
    pub(crate) fn add(&mut self, piece: &Piece, start: i64, end: i64) {
        let overlap = |from: i64, to: i64| (to.min(end) - from.max(start)).max(0) as u64;
        let ms = overlap(piece.from, piece.to);
        if ms == 0 {
            return;
        }
        if piece.scheduled != Activity::Off {
            self.scheduled[piece.scheduled.index()] += ms;
            self.actual[piece.actual.index()] += ms;
            self.out += overlap(piece.from.max(piece.out_from), piece.to);
        }
        if piece.actual == Activity::Open {
            self.worked += ms;
        }
    }

    /// Scheduled paid time (every activity but `off`).
    fn paid(&self) -> u64 {
        self.scheduled.iter().sum()
    }
}

mod view;
pub use view::{ActivitySeconds, AdherenceNow, AdherenceView};

#[cfg(test)]
mod tests;
