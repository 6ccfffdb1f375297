//! Bounded memory of applied `event_id`s, so an at-least-once redelivery is not counted twice.
//!
//! Ids are kept in full, so two different ids are never taken for one another: a 64-bit hash
//! finds the candidate, the bytes decide. (The rare id whose hash another remembered id
//! already has is kept in a small exact map beside the index.) Ids are grouped in
//! generations (the partition's event-time bucket when they arrived), each with its bytes in
//! one arena. Whole generations expire once older than the retention; at the capacity the
//! oldest ids go one at a time, so the id just inserted is never the one forgotten.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash};

use rustc_hash::{FxBuildHasher, FxHashMap};

/// One generation's ids: their bytes in one arena, and `(hash, start, len)` per id.
#[derive(Debug, Serialize, Deserialize)]
struct Generation {
    number: i64,
    /// Ids before this index were evicted at the capacity.
    first: usize,
    bytes: String,
    ids: Vec<(u64, u32, u32)>,
}

impl Generation {
    fn id(&self, index: usize) -> &str {
        let (_, start, len) = self.ids[index];
        &self.bytes[start as usize..(start + len) as usize]
    }

    fn live(&self) -> usize {
        self.ids.len() - self.first
    }
}

/// What the memory knows of an id.
enum Lookup {
    Known,
    /// Not known, but another remembered id has its hash.
    HashTaken,
    Free,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Dedupe {
    /// Hash -> (generation number, index in it) of the first remembered id with that hash.
    index: FxHashMap<u64, (i64, u32)>,
    /// Ids whose hash was already taken by another remembered id, with their generation.
    collided: FxHashMap<Box<str>, i64>,
    generations: VecDeque<Generation>,
    /// Ids remembered (indexed and collided).
    len: usize,
    capacity: usize,
    /// Ids forgotten because of the capacity cap rather than age; a redelivery of one of them
    /// would be counted twice, so this is surfaced as a counter.
    pub(crate) evicted_early: u64,
}

/// Hash of any key (call, ticket, customer ids): one hasher for every such map.
pub(crate) fn key_hash<T: Hash + ?Sized>(key: &T) -> u64 {
    FxBuildHasher.hash_one(key)
}

impl Dedupe {
    pub(crate) fn new(capacity: usize) -> Self {
        Dedupe {
            index: FxHashMap::default(),
            collided: FxHashMap::default(),
            generations: VecDeque::new(),
            len: 0,
            capacity,
            evicted_early: 0,
        }
    }

    fn generation(&self, number: i64) -> Option<&Generation> {
        let at = self
            .generations
            .binary_search_by_key(&number, |g| g.number)
            .ok()?;
        self.generations.get(at)
    }

    /// What the memory knows of `id` (with hash `hash`).
    fn lookup(&self, id: &str, hash: u64) -> Lookup {
        let indexed = self.index.get(&hash).and_then(|&(number, index)| {
            self.generation(number).map(|g| g.id(index as usize) == id)
        });
        if indexed == Some(true) || (!self.collided.is_empty() && self.collided.contains_key(id)) {
            Lookup::Known
        } else if indexed.is_some() {
            Lookup::HashTaken
        } else {
            Lookup::Free
        }
    }

    /// Remembers `id` in `generation` (never decreasing between calls); false when it was
    /// already known (a duplicate).
    pub(crate) fn insert(&mut self, id: &str, generation: i64) -> bool {
        self.insert_hashed(id, key_hash(id), generation)
    }

    fn insert_hashed(&mut self, id: &str, hash: u64, generation: i64) -> bool {
        if self.capacity == 0 {
            return true;
        }
        let hash_taken = match self.lookup(id, hash) {
            Lookup::Known => return false,
            Lookup::HashTaken => true,
            Lookup::Free => false,
        };
        if self
            .generations
            .back()
            .is_none_or(|g| g.number < generation)
        {
            self.generations.push_back(Generation {
                number: generation,
                first: 0,
                bytes: String::new(),
                ids: Vec::new(),
            });
        }
        let Some(newest) = self.generations.back_mut() else {
            return true;
        };
        if hash_taken {
            self.collided.insert(Box::from(id), newest.number);
        } else {
            // Ids are bounded by the payload cap (64 KiB by default), far below u32.
            let start = newest.bytes.len() as u32;
            newest.bytes.push_str(id);
            newest.ids.push((hash, start, id.len() as u32));
            self.index
                .insert(hash, (newest.number, newest.ids.len() as u32 - 1));
        }
        self.len += 1;
        while self.len > self.capacity {
            let evicted = self.evict_oldest();
            if evicted == 0 {
                break;
            }
            self.evicted_early += evicted;
        }
        true
    }

    /// Forgets the oldest remembered id, or a whole generation's collided ids once its
    /// indexed ones are gone; how many were forgotten. The newest id goes last.
    fn evict_oldest(&mut self) -> u64 {
        loop {
            let Some(oldest) = self.generations.front_mut() else {
                return 0;
            };
            if oldest.live() == 0 {
                let number = oldest.number;
                self.pop_oldest();
                let dropped = self.drop_collided_through(number);
                if dropped > 0 {
                    return dropped;
                }
                continue;
            }
            let (hash, _, _) = oldest.ids[oldest.first];
            let key = (oldest.number, oldest.first as u32);
            oldest.first += 1;
            if self.index.get(&hash) == Some(&key) {
                self.index.remove(&hash);
            }
            // One generation can bring far more ids than the capacity (a flood within one
            // bucket): drop the evicted prefix once it is half the generation, so the arena
            // stays within twice the capacity however many ids a bucket brings.
            if oldest.first >= 64 && oldest.first * 2 >= oldest.ids.len() {
                compact(oldest, &mut self.index);
            }
            self.len -= 1;
            return 1;
        }
    }

    /// Forgets collided ids of generations up to `number`; how many.
    fn drop_collided_through(&mut self, number: i64) -> u64 {
        let before = self.collided.len();
        self.collided.retain(|_, g| *g > number);
        let dropped = before - self.collided.len();
        self.len -= dropped;
        dropped as u64
    }

    /// Forgets generations older than `oldest_kept`.
    pub(crate) fn expire(&mut self, oldest_kept: i64) {
        while self
            .generations
            .front()
            .is_some_and(|g| g.number < oldest_kept)
        {
            self.pop_oldest();
        }
        if !self.collided.is_empty() {
            let _ = self.drop_collided_through(oldest_kept - 1);
        }
    }

    fn pop_oldest(&mut self) {
        let Some(g) = self.generations.pop_front() else {
            return;
        };
        for (i, (hash, _, _)) in g.ids.iter().enumerate().skip(g.first) {
            if self.index.get(hash) == Some(&(g.number, i as u32)) {
                self.index.remove(hash);
            }
        }
        self.len -= g.live();
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// Drops a generation's evicted ids from its arena, and re-points the index at the ids left.
fn compact(g: &mut Generation, index: &mut FxHashMap<u64, (i64, u32)>) {
    let mut bytes = String::with_capacity(g.bytes.len() / 2);
    let mut ids = Vec::with_capacity(g.live());
    for old in g.first..g.ids.len() {
        let (hash, _, len) = g.ids[old];
        let start = bytes.len() as u32;
        bytes.push_str(g.id(old));
        if let Some(entry) = index
            .get_mut(&hash)
            .filter(|e| **e == (g.number, old as u32))
        {
            entry.1 = ids.len() as u32;
        }
        ids.push((hash, start, len));
    }
    g.bytes = bytes;
    g.ids = ids;
    g.first = 0;
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn detects_duplicates_until_expiry() {
        let mut d = Dedupe::new(100);
        assert!(d.insert("a", 1));
        assert!(!d.insert("a", 1));
        assert!(d.insert("b", 2));
        d.expire(2);
        assert!(d.insert("a", 3), "generation 1 expired");
        assert!(!d.insert("b", 3));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn capacity_evicts_the_oldest_ids_never_the_new_one() {
        let mut d = Dedupe::new(2);
        d.insert("1", 1);
        d.insert("2", 2);
        d.insert("3", 3);
        assert_eq!(d.evicted_early, 1);
        assert!(d.insert("1", 3), "forgotten");
        assert!(!d.insert("3", 3));
        // More ids in one generation than the capacity: the newest are kept.
        let mut d = Dedupe::new(3);
        for i in 0..10 {
            assert!(d.insert(&format!("x{i}"), 7));
            assert!(!d.insert(&format!("x{i}"), 7), "x{i} just inserted");
        }
        assert_eq!((d.len(), d.evicted_early), (3, 7));
        assert!(!d.insert("x9", 7));
        assert!(d.insert("x0", 7), "the oldest went first");
    }

    #[test]
    fn ids_with_the_same_hash_are_told_apart() {
        let mut d = Dedupe::new(10);
        assert!(d.insert_hashed("first", 42, 1));
        assert!(
            d.insert_hashed("second", 42, 1),
            "a real event, not a duplicate"
        );
        assert!(!d.insert_hashed("second", 42, 2));
        assert!(!d.insert_hashed("first", 42, 2));
        assert_eq!(d.len(), 2);
        // The first holder of the hash expires; the collided id is still known.
        assert!(d.insert_hashed("third", 7, 3));
        d.expire(1);
        assert!(!d.insert_hashed("second", 42, 3));
        d.expire(2);
        assert!(
            d.insert_hashed("first", 42, 3),
            "expired with its generation"
        );
        assert!(!d.insert_hashed("first", 42, 3));
    }

    #[test]
    fn a_flood_within_one_generation_stays_within_the_capacity() {
        let mut d = Dedupe::new(100);
        for i in 0..10_000 {
            assert!(d.insert(&format!("flood-{i}"), 1));
        }
        let g = d.generations.back().expect("one generation");
        assert!(g.ids.len() <= 200, "{} ids held", g.ids.len());
        assert!(!d.insert("flood-9999", 1), "the newest are still known");
        assert!(!d.insert("flood-9901", 1));
        assert!(d.insert("flood-0", 1), "the oldest were forgotten");
    }

    proptest! {
        /// Against a naive reference that keeps every id with its generation: with a
        /// degenerate hash (few values, so collisions are everywhere) the answer is exact
        /// while nothing was evicted for capacity, and the count never passes the capacity.
        #[test]
        fn matches_naive_reference(
            ops in proptest::collection::vec((0u8..40, 0i64..3), 1..200),
            capacity in 1usize..60,
        ) {
            let mut d = Dedupe::new(capacity);
            let mut naive: Vec<(String, i64)> = Vec::new();
            let mut generation = 0;
            for (n, step) in ops {
                generation += step;
                let (id, hash) = (format!("id{n}"), u64::from(n % 4));
                if step == 2 {
                    d.expire(generation - 1);
                    naive.retain(|(_, g)| *g >= generation - 1);
                }
                let known = naive.iter().any(|(n, _)| *n == id);
                let fresh = d.insert_hashed(&id, hash, generation);
                if d.evicted_early == 0 {
                    prop_assert_eq!(fresh, !known, "id {}", id);
                }
                if fresh && !known {
                    naive.push((id, generation));
                }
                prop_assert!(d.len() <= capacity);
            }
        }
    }
}
