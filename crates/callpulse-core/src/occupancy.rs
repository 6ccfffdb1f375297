//! Time in state and occupancy: how agents spent the window.
//!
//! Each agent state lasts from its event to the agent's next event. A finished span is
//! spread over the event-time buckets it covers, in its team's ring; the span still running
//! is added at read time, clipped to each window. Occupancy is the industry's
//! `(on_call + wrap_up) / (available + on_call + wrap_up)` time: aux and offline time are
//! neither busy nor idle.

use callpulse_events::{AgentState, Ts};
use serde::{Deserialize, Serialize};

use crate::adherence::AdherenceTimes;
use crate::window::{BucketRing, Merge};

/// Milliseconds per state, indexed by [`AgentState::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateTimes(pub [u64; AgentState::ALL.len()]);

impl Merge for StateTimes {
    fn merge(&mut self, other: &Self) {
        for (ours, theirs) in self.0.iter_mut().zip(other.0) {
            *ours += theirs;
        }
    }
}

impl StateTimes {
    /// Busy over productive time; `None` with no productive time.
    pub fn occupancy(&self) -> Option<f64> {
        let busy = self.0[AgentState::OnCall.index()] + self.0[AgentState::WrapUp.index()];
        let productive = busy + self.0[AgentState::Available.index()];
        (productive > 0).then(|| busy as f64 / productive as f64)
    }

    /// Adds the part of `[from, to)` in state `state` that overlaps `[start, end)`.
    pub(crate) fn add_overlap(
        &mut self,
        state: AgentState,
        from: Ts,
        to: Ts,
        start: i64,
        end: i64,
    ) {
        let overlap = to.millis().min(end) - from.millis().max(start);
        if overlap > 0 {
            self.0[state.index()] += overlap as u64;
        }
    }
}

/// Seconds per state and occupancy, as readers see them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateTimeView {
    pub available_s: f64,
    pub on_call_s: f64,
    pub wrap_up_s: f64,
    pub aux_s: f64,
    pub offline_s: f64,
    pub occupancy: Option<f64>,
}

impl StateTimeView {
    /// Several views' times added, and the occupancy over the sum (a team's day from its
    /// agents' days): the same formula as one view's.
    pub fn sum<'a>(views: impl IntoIterator<Item = &'a StateTimeView>) -> StateTimeView {
        let mut total = StateTimes::default();
        for v in views {
            for (state, s) in [
                (AgentState::Available, v.available_s),
                (AgentState::OnCall, v.on_call_s),
                (AgentState::WrapUp, v.wrap_up_s),
                (AgentState::Aux, v.aux_s),
                (AgentState::Offline, v.offline_s),
            ] {
                // The views' seconds are whole milliseconds / 1000: exact back in ms.
                total.0[state.index()] += (s * 1000.0).round().max(0.0) as u64;
            }
        }
        StateTimeView::from(&total)
    }
}

impl From<&StateTimes> for StateTimeView {
    fn from(t: &StateTimes) -> Self {
        let s = |state: AgentState| t.0[state.index()] as f64 / 1000.0;
        StateTimeView {
            available_s: s(AgentState::Available),
            on_call_s: s(AgentState::OnCall),
            wrap_up_s: s(AgentState::WrapUp),
            aux_s: s(AgentState::Aux),
            offline_s: s(AgentState::Offline),
            occupancy: t.occupancy(),
        }
    }
}

/// An agent's or a team's time: per state, and against the schedule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentTime {
    pub states: StateTimes,
    pub adherence: AdherenceTimes,
}

impl Merge for AgentTime {
    fn merge(&mut self, other: &Self) {
        self.states.merge(&other.states);
        self.adherence.merge(&other.adherence);
    }
}

/// Calls `add(bucket, start, end)` for each of the ring's buckets `[from, to)` touches (the
/// part older than the ring is dropped: no window reaches it); `add` books its overlap.
pub(crate) fn spread<T: Merge>(
    ring: &mut BucketRing<T>,
    width_ms: i64,
    capacity: usize,
    (from, to): (Ts, Ts),
    mut add: impl FnMut(&mut T, i64, i64),
) {
    let from_ms = from.millis().max(to.millis() - width_ms * capacity as i64);
    if to.millis() <= from_ms {
        return;
    }
    let mut bucket = from_ms.div_euclid(width_ms);
    let last = (to.millis() - 1).div_euclid(width_ms);
    while bucket <= last {
        let (start, end) = (bucket * width_ms, (bucket + 1) * width_ms);
        if let Some(slot) = ring.bucket_mut(start) {
            add(slot, start.max(from_ms), end);
        }
        bucket += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_span(
        ring: &mut BucketRing<StateTimes>,
        width_ms: i64,
        capacity: usize,
        state: AgentState,
        from: Ts,
        to: Ts,
    ) {
        spread(ring, width_ms, capacity, (from, to), |slot, start, end| {
            slot.add_overlap(state, from, to, start, end);
        });
    }

    #[test]
    fn spans_split_across_buckets_and_occupancy() {
        let mut ring = BucketRing::<StateTimes>::new(60_000, 6);
        // 90 s on a call from 00:30 to 02:00, then 30 s available.
        record_span(
            &mut ring,
            60_000,
            6,
            AgentState::OnCall,
            Ts(30_000),
            Ts(120_000),
        );
        record_span(
            &mut ring,
            60_000,
            6,
            AgentState::Available,
            Ts(120_000),
            Ts(150_000),
        );
        let windows = ring.windows(150_000, &[1, 3]);
        assert_eq!(windows[0].0[AgentState::Available.index()], 30_000);
        assert_eq!(windows[0].0[AgentState::OnCall.index()], 0);
        assert_eq!(windows[1].0[AgentState::OnCall.index()], 90_000);
        assert_eq!(windows[1].occupancy(), Some(0.75));
        // A day offline only touches the buckets the ring keeps.
        record_span(
            &mut ring,
            60_000,
            6,
            AgentState::Offline,
            Ts(150_000),
            Ts(86_400_000),
        );
        let w = ring.windows(86_400_000, &[6]);
        assert_eq!(w[0].0[AgentState::Offline.index()], 5 * 60_000);
        assert_eq!(StateTimes::default().occupancy(), None);
    }
}
