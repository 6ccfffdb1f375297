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
        self.agents.expire_offline(
            clock.plus_millis(-i64::from(self.policy.agent_offline_retention_secs) * 1000),
        );
        let (ledger, mut sink, counters) = self.split();
        ledger.expire(clock, &mut sink, counters);
        // Remember ids as long as a redelivery could still change a window or a parked call.
        let keep_ms = (self.ring_capacity as i64) * bucket_ms
            + i64::from(self.policy.orphan_timeout_secs) * 1000;
        self.dedupe
            .expire((clock.millis() - keep_ms).div_euclid(bucket_ms));
    }
}
