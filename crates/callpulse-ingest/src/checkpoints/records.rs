//! The records of the checkpoint topic: keys, manifests, chunks, and putting a slot back
//! together.

use std::collections::HashMap;
use std::hash::BuildHasher;

use rustc_hash::FxBuildHasher;

pub(super) const MANIFEST_MAGIC: &[u8; 4] = b"CPMF";
pub(super) const CHUNK_MAGIC: &[u8; 4] = b"CPCH";
pub(super) const MANIFEST_LEN: usize = 4 + 8 + 8 + 4 + 8 + 8;

#[derive(Debug, Clone, Copy)]
pub(super) struct Manifest {
    pub(super) generation: u64,
    pub(super) next_offset: i64,
    pub(super) chunks: u32,
    pub(super) len: u64,
    pub(super) checksum: u64,
}

impl Manifest {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MANIFEST_LEN);
        out.extend_from_slice(MANIFEST_MAGIC);
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&self.next_offset.to_le_bytes());
        out.extend_from_slice(&self.chunks.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.checksum.to_le_bytes());
        out
    }

    pub(super) fn decode(bytes: &[u8]) -> Option<Manifest> {
        if bytes.len() != MANIFEST_LEN || &bytes[..4] != MANIFEST_MAGIC {
            return None;
        }
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let mut chunks = [0u8; 4];
        chunks.copy_from_slice(&bytes[20..24]);
        Some(Manifest {
            generation: u64_at(4),
            next_offset: u64_at(12) as i64,
            chunks: u32::from_le_bytes(chunks),
            len: u64_at(24),
            checksum: u64_at(32),
        })
    }
}

pub(super) fn checksum(bytes: &[u8]) -> u64 {
    FxBuildHasher.hash_one(bytes)
}

/// The key prefix of one input partition's checkpoints.
pub(super) fn base_key(group: &str, topic: &str, partition: i32) -> String {
    format!("{group}\u{1f}{topic}\u{1f}{partition}")
}

pub(super) fn manifest_key(base: &str, slot: u64) -> String {
    format!("{base}\u{1f}{slot}\u{1f}m")
}

pub(super) fn chunk_key(base: &str, slot: u64, index: u32) -> String {
    format!("{base}\u{1f}{slot}\u{1f}{index}")
}

/// The latest records of one input partition's two slots, as a scan finds them.
#[derive(Debug, Default)]
pub(super) struct SlotRecords {
    pub(super) manifests: [Option<Manifest>; 2],
    pub(super) chunks: HashMap<(u64, u32), Vec<u8>>,
}

impl SlotRecords {
    /// A record of `slot`: its manifest (`m`) or chunk `which`; `None` is a tombstone.
    pub(super) fn take(&mut self, slot: u64, which: &str, value: Option<&[u8]>) {
        if which == "m" {
            self.manifests[slot as usize] = value.and_then(Manifest::decode);
            return;
        }
        let Ok(index) = which.parse::<u32>() else {
            return;
        };
        match value {
            Some(v) => {
                self.chunks.insert((slot, index), v.to_vec());
            }
            None => {
                self.chunks.remove(&(slot, index));
            }
        }
    }
}

/// `(base, slot, manifest or chunk index)` of a record key.
pub(super) fn split_key(key: &str) -> Option<(&str, u64, &str)> {
    let (rest, which) = key.rsplit_once('\u{1f}')?;
    let (base, slot) = rest.rsplit_once('\u{1f}')?;
    Some((base, slot.parse::<u64>().ok()? % 2, which))
}

/// A slot's bytes, if every chunk of its generation is there and the checksum matches.
pub(super) fn assemble(
    chunks: &HashMap<(u64, u32), Vec<u8>>,
    slot: u64,
    m: &Manifest,
) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(m.len as usize);
    for index in 0..m.chunks {
        let chunk = chunks.get(&(slot, index))?;
        if chunk.len() < 12 || &chunk[..4] != CHUNK_MAGIC {
            return None;
        }
        let mut generation = [0u8; 8];
        generation.copy_from_slice(&chunk[4..12]);
        if u64::from_le_bytes(generation) != m.generation {
            return None;
        }
        bytes.extend_from_slice(&chunk[12..]);
    }
    (bytes.len() as u64 == m.len && checksum(&bytes) == m.checksum).then_some(bytes)
}
