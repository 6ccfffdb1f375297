//! The bucket ring: fixed-width event-time buckets in a circular buffer.
//!
//! An event touches exactly one bucket (O(1), whatever the number of windows); a window is
//! the merge of its buckets, computed at read. Slots are tagged with their absolute bucket
//! number, so a slot left over from a previous lap is recognised and reset lazily: the ring
//! never needs a sweep.

use serde::{Deserialize, Serialize};

/// Anything a bucket can hold: an empty value and a way to add another into it.
pub trait Merge: Default + Clone {
    /// Adds `other` into `self` (counts add, maxima take the max, histograms add).
    fn merge(&mut self, other: &Self);
}

/// A ring of `capacity` buckets of `width_ms` event time each.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketRing<T> {
    width_ms: i64,
    /// `(bucket number, value)`; bucket number `n` covers `[n*width, (n+1)*width)` ms.
    slots: Vec<Option<(i64, T)>>,
    /// The newest bucket number seen (by write or by `advance`); buckets at or before
    /// `head - capacity` are gone.
    head: i64,
}

impl<T: Merge> BucketRing<T> {
    /// A ring able to hold `capacity` buckets.
    ///
    /// # Panics
    /// If `width_ms` or `capacity` is zero (a policy validation bug).
    pub fn new(width_ms: i64, capacity: usize) -> Self {
        assert!(
            width_ms > 0 && capacity > 0,
            "bucket ring needs a width and a capacity"
        );
        BucketRing {
            width_ms,
            slots: vec![None; capacity],
            head: i64::MIN,
        }
    }

    /// The bucket number holding `ts_ms`.
    pub fn bucket_of(&self, ts_ms: i64) -> i64 {
        ts_ms.div_euclid(self.width_ms)
    }

    /// Moves the head forward to the bucket of `now_ms` (never backwards).
    pub fn advance(&mut self, now_ms: i64) {
        self.head = self.head.max(self.bucket_of(now_ms));
    }

    /// The bucket for `ts_ms`, created empty if needed; `None` when `ts_ms` is older than
    /// the ring keeps (a late event as far as windows go).
    pub fn bucket_mut(&mut self, ts_ms: i64) -> Option<&mut T> {
        let bucket = self.bucket_of(ts_ms);
        let capacity = self.slots.len() as i64;
        if bucket <= self.head.saturating_sub(capacity) && self.head != i64::MIN {
            return None;
        }
        self.head = self.head.max(bucket);
        let slot = &mut self.slots[bucket.rem_euclid(capacity) as usize];
        if !matches!(slot, Some((tag, _)) if *tag == bucket) {
            *slot = Some((bucket, T::default()));
        }
        slot.as_mut().map(|(_, value)| value)
    }

    /// Runs `f` on every stored bucket older than the head: the closed ones, which only a
    /// late event still writes to.
    pub fn for_each_closed(&mut self, mut f: impl FnMut(&mut T)) {
        let head = self.head;
        for (bucket, value) in self.slots.iter_mut().flatten() {
            if *bucket < head {
                f(value);
            }
        }
    }

    /// The merges of the last `lens[i]` buckets up to and including the bucket of `now_ms`,
    /// one per entry of `lens`, in `lens` order (any order: each bucket is merged once, the
    /// windows are read shortest first). Buckets after `now_ms` (events from slightly fast
    /// clocks) are not included until time reaches them.
    pub fn windows(&self, now_ms: i64, lens: &[usize]) -> Vec<T> {
        let mut order: Vec<usize> = (0..lens.len()).collect();
        order.sort_by_key(|&i| lens[i]);
        let end = self.bucket_of(now_ms);
        let capacity = self.slots.len() as i64;
        let mut acc = T::default();
        let mut out = vec![T::default(); lens.len()];
        // A slot can still hold a bucket the head has already lapped if nothing overwrote it.
        let oldest_kept = self.head.saturating_sub(capacity);
        let mut taken = 0usize;
        for i in order {
            let len = lens[i];
            while taken < len {
                let bucket = end - taken as i64;
                if let Some((tag, value)) = &self.slots[bucket.rem_euclid(capacity) as usize]
                    && *tag == bucket
                    && bucket > oldest_kept
                {
                    acc.merge(value);
                }
                taken += 1;
            }
            out[i] = acc.clone();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Default, Clone, PartialEq)]
    struct Sum(u64);
    impl Merge for Sum {
        fn merge(&mut self, other: &Self) {
            self.0 += other.0;
        }
    }

    #[test]
    fn windows_sum_their_buckets() {
        let mut ring: BucketRing<Sum> = BucketRing::new(1000, 10);
        for t in [0, 999, 1000, 5500, 9999] {
            ring.bucket_mut(t).expect("in range").0 += 1;
        }
        assert_eq!(ring.windows(9_000, &[1, 5, 10]), [Sum(1), Sum(2), Sum(5)]);
        // Any order of lengths (policy order), each answered in place.
        assert_eq!(ring.windows(9_000, &[10, 1, 5]), [Sum(5), Sum(1), Sum(2)]);
        // The head moved to bucket 9: bucket -1 and older are gone, bucket 0 still kept.
        assert!(ring.bucket_mut(-1).is_none());
        assert!(ring.bucket_mut(0).is_some());
    }

    #[test]
    fn old_laps_are_not_read() {
        let mut ring: BucketRing<Sum> = BucketRing::new(1000, 4);
        ring.bucket_mut(0).expect("fresh").0 += 7;
        ring.advance(10_000);
        assert_eq!(ring.windows(10_000, &[4]), [Sum(0)]);
        // Slot 0 is reused by bucket 12 and starts empty.
        ring.bucket_mut(12_000).expect("newer").0 += 1;
        assert_eq!(ring.windows(12_000, &[4]), [Sum(1)]);
    }

    proptest! {
        /// Against the naive reference: a window is the count of events whose bucket lies in
        /// the last `len` buckets up to `now`, provided the event was not already older than
        /// the ring when it arrived.
        #[test]
        fn matches_naive_reference(
            events in proptest::collection::vec(0i64..120_000, 0..200),
            now in 0i64..150_000,
            lens in proptest::sample::subsequence(vec![1usize, 3, 5, 10, 20], 1..5),
        ) {
            let width = 1000;
            let capacity = 20;
            let mut ring: BucketRing<Sum> = BucketRing::new(width, capacity);
            let mut accepted = Vec::new();
            let mut head = i64::MIN;
            for &t in &events {
                let bucket = t.div_euclid(width);
                let late = head != i64::MIN && bucket <= head - capacity as i64;
                match ring.bucket_mut(t) {
                    Some(sum) => sum.0 += 1,
                    None => prop_assert!(late, "dropped an in-range event at {}", t),
                }
                if !late {
                    head = head.max(bucket);
                    accepted.push(t);
                }
            }
            ring.advance(now);
            let head = head.max(now.div_euclid(width));
            let end = now.div_euclid(width);
            let got = ring.windows(now, &lens);
            for (i, &len) in lens.iter().enumerate() {
                let expected = accepted
                    .iter()
                    .filter(|&&t| {
                        let b = t.div_euclid(width);
                        b <= end && b > end - len as i64 && b > head - capacity as i64
                    })
                    .count() as u64;
                prop_assert_eq!(got[i].0, expected, "len {}", len);
            }
        }
    }
}
