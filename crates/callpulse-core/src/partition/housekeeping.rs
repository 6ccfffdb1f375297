//! Forgetting, by the partition's own event time.

use super::PartitionState;

impl PartitionState {
    /// Expiry driven by the partition's own watermark (the newest event time it applied),
    /// never by the read instant or a wall clock: what a partition forgets depends only on
    /// the events it was given, so the same events at any pace leave the same state.
    pub(super) fn housekeeping(&mut self) {
        let bucket_ms = self.policy.bucket_ms();
        let Some(clock) = self.high_water else {
            return;
        };
        let bucket = clock.millis().div_euclid(bucket_ms);
        if bucket == self.swept_bucket {
            return;
        }
        self.swept_bucket = bucket;
        for q in &mut self.queues {
            q.windows.ring.advance(clock.millis());
        }
        for t in self.ticket_queues.iter_mut().flatten() {
            t.ring.advance(clock.millis());
        }
        self.center.windows.ring.advance(clock.millis());
        self.tickets
            .expire(clock.plus_millis(-i64::from(self.policy.ticket_retention_secs) * 1000));
        let orphan_before = clock.plus_millis(-i64::from(self.policy.orphan_timeout_secs) * 1000);
        // A call still unfinished a day past the longest wait will not complete.
        let customer_before =
            clock.plus_millis(-(i64::from(self.policy.max_wait_secs) + 86_400) * 1000);
        self.call_customers
            .retain(|_, (_, offered)| *offered >= customer_before);
        self.early_completions
            .retain(|_, (done, _)| *done >= orphan_before);
        self.agents.expire_offline(
            clock.plus_millis(-i64::from(self.policy.agent_offline_retention_secs) * 1000),
        );
        let stale_before = clock.plus_millis(-i64::from(self.policy.max_wait_secs) * 1000);
        let (queues, counters) = (&mut self.queues, &mut self.counters);
        self.calls
            .retain(|call, rec| match (rec.queued, rec.parked) {
                (None, Some((_, at))) if at < orphan_before => {
                    counters.orphaned += 1;
                    false
                }
                (Some(queued), None) if queued < stale_before => {
                    queues[rec.queue as usize].waiting.remove(queued, *call);
                    counters.stale_waiting += 1;
                    false
                }
                _ => true,
            });
        // Remember ids as long as a redelivery could still change a window or a parked call.
        let keep_ms = (self.ring_capacity as i64) * bucket_ms
            + i64::from(self.policy.orphan_timeout_secs) * 1000;
        self.dedupe
            .expire((clock.millis() - keep_ms).div_euclid(bucket_ms));
    }
}
