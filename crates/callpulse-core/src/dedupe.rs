//! Bounded memory of applied `event_id`s, so an at-least-once redelivery is not counted twice.
//!
//! Ids are remembered by a 64-bit hash, grouped in generations (the event-time bucket that
//! was newest when they arrived). Whole generations expire once they are older than the
//! retention, or earliest-first when the capacity is reached; eviction is O(1) per id.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash};

use rustc_hash::{FxBuildHasher, FxHashMap};

#[derive(Debug)]
pub(crate) struct Dedupe {
    seen: FxHashMap<u64, i64>,
    generations: VecDeque<(i64, Vec<u64>)>,
    capacity: usize,
    /// Ids forgotten because of the capacity cap rather than age; a redelivery of one of them
    /// would be counted twice, so this is surfaced as a counter.
    pub(crate) evicted_early: u64,
}

/// The key an id is remembered by.
pub(crate) fn id_hash(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
}

/// Hash of any key (call ids), with the same hasher.
pub(crate) fn key_hash<T: Hash + ?Sized>(key: &T) -> u64 {
    FxBuildHasher.hash_one(key)
}

impl Dedupe {
    pub(crate) fn new(capacity: usize) -> Self {
        Dedupe {
            seen: FxHashMap::default(),
            generations: VecDeque::new(),
            capacity,
            evicted_early: 0,
        }
    }

    /// Remembers `id` in `generation`; false when it was already known (a duplicate).
    pub(crate) fn insert(&mut self, id: u64, generation: i64) -> bool {
        if self.capacity == 0 {
            return true;
        }
        if self.seen.contains_key(&id) {
            return false;
        }
        self.seen.insert(id, generation);
        match self.generations.back_mut() {
            Some((g, ids)) if *g >= generation => ids.push(id),
            _ => self.generations.push_back((generation, vec![id])),
        }
        while self.seen.len() > self.capacity {
            self.evicted_early += self.pop_oldest();
        }
        true
    }

    /// Forgets generations older than `oldest_kept`.
    pub(crate) fn expire(&mut self, oldest_kept: i64) {
        while self
            .generations
            .front()
            .is_some_and(|(g, _)| *g < oldest_kept)
        {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) -> u64 {
        let Some((_, ids)) = self.generations.pop_front() else {
            return 0;
        };
        for id in &ids {
            self.seen.remove(id);
        }
        ids.len() as u64
    }

    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_duplicates_until_expiry() {
        let mut d = Dedupe::new(100);
        assert!(d.insert(id_hash("a"), 1));
        assert!(!d.insert(id_hash("a"), 1));
        assert!(d.insert(id_hash("b"), 2));
        d.expire(2);
        assert!(d.insert(id_hash("a"), 3), "generation 1 expired");
        assert!(!d.insert(id_hash("b"), 3));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn capacity_evicts_oldest_generation() {
        let mut d = Dedupe::new(2);
        d.insert(1, 1);
        d.insert(2, 2);
        d.insert(3, 3);
        assert_eq!(d.evicted_early, 1);
        assert!(d.insert(1, 3), "forgotten");
        assert!(!d.insert(3, 3));
    }
}
