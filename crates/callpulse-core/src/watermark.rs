//! The instance watermark: the one instant every figure of a published snapshot is read at.
//!
//! Each partition's state is as of its own watermark, the newest event time it applied.
//! A partition whose consumer has reached the end of its log (nothing more to read when last
//! asked) holds nothing back: as far as the engine can know, it is complete up to now. The
//! instance reads at the earliest watermark among the partitions still catching up, and
//! never later than the wall clock (events stamped ahead by a fast clock count when the wall
//! clock reaches them):
//!
//! - in real time every partition is caught up, so the instant is the wall clock, and
//!   windows slide, waits grow and agent states run on even when no event comes;
//! - while a backlog is consumed (a restart, a lag spike) the instant is the event time the
//!   slowest partition has reached, so "longest wait" is the customer's wait at that moment
//!   and not the consumer's lag, and the windows are those of that moment.
//!
//! The core stays clock-free: the wall clock is an argument.

use callpulse_events::Ts;

/// How far one partition's input has been applied, as the watermark needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartitionProgress {
    /// The newest event time applied; `None` before the first event.
    pub high_water: Option<Ts>,
    /// The next offset to apply (the last applied + 1); `None` before the first message.
    pub next_offset: Option<i64>,
    /// The log's end (high watermark offset) as the consumer last learned it.
    pub log_end: Option<i64>,
    /// The consumer found nothing more to read since this partition's last message (an
    /// empty poll): the answer while the log's end is not known yet.
    pub idle: bool,
}

impl PartitionProgress {
    /// Whether everything the log held when last asked has been applied. The log's end
    /// decides once known; before (the first second after an assignment) an empty poll
    /// since the partition's last message does.
    pub fn caught_up(&self) -> bool {
        match (self.next_offset, self.log_end) {
            (Some(next), Some(end)) => next >= end,
            // Nothing read yet from an empty log.
            (None, Some(end)) => end <= 0,
            (_, None) => self.idle,
        }
    }
}

/// The instant to read a snapshot at: `wall`, or the earliest high water among partitions
/// that have applied events and are still behind their log's end.
pub fn instance_watermark(wall: Ts, partitions: impl IntoIterator<Item = PartitionProgress>) -> Ts {
    partitions
        .into_iter()
        .filter(|p| !p.caught_up())
        .filter_map(|p| p.high_water)
        .fold(wall, Ts::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(high_water: Option<i64>, next: Option<i64>, end: Option<i64>) -> PartitionProgress {
        PartitionProgress {
            high_water: high_water.map(Ts),
            next_offset: next,
            log_end: end,
            idle: false,
        }
    }

    #[test]
    fn caught_up_partitions_follow_the_wall_clock() {
        let wall = Ts(10_000);
        assert_eq!(instance_watermark(wall, []), wall);
        // Caught up, even with old events: the partition is complete up to now.
        assert_eq!(
            instance_watermark(wall, [p(Some(1_000), Some(5), Some(5))]),
            wall
        );
        // A fast clock never moves the instant past the wall clock.
        assert_eq!(
            instance_watermark(wall, [p(Some(99_000), Some(5), Some(9))]),
            wall
        );
        // An empty log, or one nothing was applied from yet, holds nothing back.
        assert_eq!(instance_watermark(wall, [p(None, None, Some(0))]), wall);
        assert_eq!(instance_watermark(wall, [p(None, None, None)]), wall);
    }

    #[test]
    fn the_slowest_partition_behind_its_log_end_decides() {
        let wall = Ts(10_000);
        let parts = [
            p(Some(9_000), Some(100), Some(100)),
            p(Some(4_000), Some(50), Some(80)),
            p(Some(6_000), Some(10), None),
        ];
        assert_eq!(instance_watermark(wall, parts), Ts(4_000));
        // Before the log's end is known, an empty poll since the last message says caught up;
        // once known, the log's end decides.
        let idle = PartitionProgress {
            idle: true,
            ..p(Some(6_000), Some(10), None)
        };
        assert_eq!(instance_watermark(wall, [idle]), wall);
        let behind = PartitionProgress {
            idle: true,
            ..p(Some(6_000), Some(10), Some(20))
        };
        assert_eq!(instance_watermark(wall, [behind]), Ts(6_000));
    }
}
