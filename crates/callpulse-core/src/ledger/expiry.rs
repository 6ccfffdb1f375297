//! Forgetting by event time, and the end of a finite history.

use callpulse_events::Ts;

use super::{CONTACT_GRACE_MS, CallLedger, CallSink};
use crate::partition::PartitionCounters;

impl CallLedger {
    /// Forgets by the event time `clock`: parked outcomes (orphaned) and early events after
    /// the orphan timeout (figures still waiting for a home are counted at their own time
    /// then), calls waiting longer than `max_wait` (stale), followed contacts a day after
    /// that, homes after their retention.
    pub(crate) fn expire(
        &mut self,
        clock: Ts,
        sink: &mut impl CallSink,
        counters: &mut PartitionCounters,
    ) {
        let orphan_before = clock.plus_millis(-self.limits.orphan_timeout_ms);
        // The maps kept for a day or more are swept a 64th of their retention apart, not at
        // every call: a sweep walks the whole map, and a report's homes hold a day of calls.
        let long_sweep_ms = (self.limits.max_wait_ms + CONTACT_GRACE_MS) / 64;
        if self
            .long_swept
            .is_none_or(|last| clock.millis_since(last) >= long_sweep_ms)
        {
            self.long_swept = Some(clock);
            // A call still unfinished a day past the longest wait will not complete.
            let contact_before = clock.plus_millis(-(self.limits.max_wait_ms + CONTACT_GRACE_MS));
            self.contacts
                .retain(|_, (_, offered)| *offered >= contact_before);
            if let Some(retention) = self.home_retention_ms {
                let home_before = clock.plus_millis(-retention);
                self.homes.retain(|_, home| home.set >= home_before);
            }
        }
        let expired: Vec<u64> = self
            .early
            .iter()
            .filter(|(_, early)| early.since < orphan_before)
            .map(|(call, _)| *call)
            .collect();
        for call in expired {
            self.release_early(call, None, false, sink);
        }
        let stale_before = clock.plus_millis(-self.limits.max_wait_ms);
        let waiting = &mut self.waiting;
        self.calls
            .retain(|call, rec| match (rec.queued, rec.parked) {
                (None, Some((_, at))) if at < orphan_before => {
                    counters.orphaned += 1;
                    false
                }
                (Some(queued), None) if queued < stale_before => {
                    if let Some(w) = waiting.get_mut(rec.queue as usize) {
                        w.remove(queued, *call);
                    }
                    counters.stale_waiting += 1;
                    false
                }
                _ => true,
            });
    }

    /// At the end of a finite history: what still waits for a home is counted at its own
    /// time, and parked outcomes are orphans.
    pub(crate) fn release_all(
        &mut self,
        sink: &mut impl CallSink,
        counters: &mut PartitionCounters,
    ) {
        let calls: Vec<u64> = self.early.keys().copied().collect();
        for call in calls {
            self.release_early(call, None, false, sink);
        }
        self.calls.retain(|_, rec| {
            if rec.queued.is_none() {
                counters.orphaned += 1;
            }
            false
        });
    }
}
