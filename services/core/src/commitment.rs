//! State commitment: a homomorphic multiset hash (LtHash, 1024 lanes of u16) over the
//! module's `(key, value)` pairs.
//!
//! Why this shape: the hash must be a function of the state alone (so a snapshot can be
//! verified against a reported hash, and two histories that reach one state agree), and it
//! must update in O(changed keys), not O(state). Adding an element adds its lattice lane by
//! lane (mod 2^16); removing subtracts it, so the order of writes cannot matter.

use sha2::{Digest, Sha256, Sha512};

/// Number of u16 lanes (2048 bytes), the parameters of LtHash16 as published by Facebook.
pub const LANES: usize = 1024;

#[derive(Clone, PartialEq, Eq)]
pub struct LtHash {
    lanes: Box<[u16; LANES]>,
}

impl std::fmt::Debug for LtHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LtHash({})", hex::encode(self.digest()))
    }
}

impl Default for LtHash {
    fn default() -> Self {
        Self {
            lanes: Box::new([0u16; LANES]),
        }
    }
}

/// Expands one `(key, value)` pair to its lattice element with SHA-512 in counter mode
/// over a length-prefixed seed (so `("ab","c")` and `("a","bc")` differ).
fn element(key: &[u8], value: &[u8]) -> Box<[u16; LANES]> {
    let mut seed = Sha512::new();
    seed.update(b"opentoken/lthash/v1");
    seed.update((key.len() as u64).to_le_bytes());
    seed.update(key);
    seed.update((value.len() as u64).to_le_bytes());
    seed.update(value);
    let seed = seed.finalize();
    let mut out = Box::new([0u16; LANES]);
    // 2048 bytes = 32 SHA-512 outputs.
    for block in 0..32u32 {
        let mut h = Sha512::new();
        h.update(seed);
        h.update(block.to_le_bytes());
        let bytes = h.finalize();
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[block as usize * 32 + i] = u16::from_le_bytes([pair[0], pair[1]]);
        }
    }
    out
}

impl LtHash {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        let e = element(key, value);
        for (l, x) in self.lanes.iter_mut().zip(e.iter()) {
            *l = l.wrapping_add(*x);
        }
    }

    pub fn remove(&mut self, key: &[u8], value: &[u8]) {
        let e = element(key, value);
        for (l, x) in self.lanes.iter_mut().zip(e.iter()) {
            *l = l.wrapping_sub(*x);
        }
    }

    /// Recomputes the commitment of a full state dump, for verification of snapshots and
    /// of the incremental hash.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Self {
        let mut h = Self::new();
        for (k, v) in pairs {
            h.add(k, v);
        }
        h
    }

    /// The 32-byte digest that reports carry.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"opentoken/lthash-digest/v1");
        h.update(self.to_bytes());
        h.finalize().into()
    }

    /// Serialised lattice (little-endian lanes), persisted with each commit so that a
    /// restart resumes the incremental hash without rehashing the whole state.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.lanes.iter().flat_map(|l| l.to_le_bytes()).collect()
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != LANES * 2 {
            return None;
        }
        let mut lanes = Box::new([0u16; LANES]);
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            lanes[i] = u16::from_le_bytes([pair[0], pair[1]]);
        }
        Some(Self { lanes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_is_stable_and_add_remove_cancel() {
        let mut h = LtHash::new();
        let empty = h.digest();
        h.add(b"k", b"v");
        assert_ne!(h.digest(), empty);
        h.remove(b"k", b"v");
        assert_eq!(h.digest(), empty);
    }

    #[test]
    fn length_prefix_separates_pairs() {
        assert_ne!(
            LtHash::from_pairs([(&b"ab"[..], &b"c"[..])]).digest(),
            LtHash::from_pairs([(&b"a"[..], &b"bc"[..])]).digest()
        );
    }

    #[test]
    fn bytes_round_trip() {
        let h = LtHash::from_pairs([(&b"x"[..], &b"1"[..])]);
        assert_eq!(LtHash::from_bytes(&h.to_bytes()).unwrap(), h);
        assert!(LtHash::from_bytes(&[0u8; 3]).is_none());
    }

    proptest! {
        #[test]
        fn order_independent(pairs in proptest::collection::vec((any::<Vec<u8>>(), any::<Vec<u8>>()), 0..20)) {
            let fwd = LtHash::from_pairs(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
            let rev = LtHash::from_pairs(pairs.iter().rev().map(|(k, v)| (k.as_slice(), v.as_slice())));
            prop_assert_eq!(fwd.digest(), rev.digest());
        }
    }
}
