//! State commitment: a homomorphic multiset hash (LtHash, 1024 lanes of u16) over the
//! module's `(key, value)` pairs.
//!
//! Why this shape: the hash must be a function of the state alone (so a snapshot can be
//! verified against a reported hash, and two histories that reach one state agree), and it
//! must update in O(changed keys), not O(state). Adding an element adds its lattice lane by
//! lane (mod 2^16); removing subtracts it, so the order of writes cannot matter.
//!
//! Each pair's element (v2) is the first 2,048 bytes of the ChaCha20 keystream (RFC 8439,
//! nonce 0, counter from 0) keyed by `SHA-256("opentoken/lthash/v2" ‖ len(key) ‖ key ‖
//! len(value) ‖ value)` (lengths as u64 little-endian). SHA-256 makes the seed collision
//! resistant at 128 bits; ChaCha20 is a PRF keyed by 256 bits, so the element is as good as
//! a random oracle's answer for LtHash's lattice argument, at about a tenth of the cost of
//! the v1 element (SHA-512 in counter mode, 33 compressions). `docs/architecture.md`
//! gives the measurements and the argument.

use chacha20::cipher::{KeyIvInit, StreamCipher};
use sha2::{Digest, Sha256, Sha512};

/// Number of u16 lanes (2048 bytes), the parameters of LtHash16 as published by Facebook.
pub const LANES: usize = 1024;

/// Bytes of one element: one little-endian u16 per lane.
const ELEMENT_BYTES: usize = LANES * 2;

/// Below this many elements a fold stays on the calling thread: starting a scoped thread
/// costs tens of microseconds, an element about one.
const PARALLEL_FOLD_MIN: usize = 256;

/// Threads a large fold uses: the cores this process may run on (at most 8), asked once
/// (the answer reads cgroup files, too slow for every fold).
fn fold_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(8))
}

/// Pairs `from_pairs` gathers before folding them (bounds the borrowed slice list).
const FROM_PAIRS_BATCH: usize = 16_384;

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

/// One change to fold into a lattice: a pair enters or leaves the multiset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delta<'a> {
    Add(&'a [u8], &'a [u8]),
    Remove(&'a [u8], &'a [u8]),
}

/// `domain ‖ u64le(len key) ‖ key ‖ u64le(len value) ‖ value` hashed with `D`:
/// length-prefixed so that `("ab","c")` and `("a","bc")` differ.
fn pair_digest<D: Digest>(domain: &[u8], key: &[u8], value: &[u8]) -> D {
    let mut h = D::new();
    h.update(domain);
    h.update((key.len() as u64).to_le_bytes());
    h.update(key);
    h.update((value.len() as u64).to_le_bytes());
    h.update(value);
    h
}

/// The pair's v2 seed.
fn seed(key: &[u8], value: &[u8]) -> [u8; 32] {
    pair_digest::<Sha256>(b"opentoken/lthash/v2", key, value)
        .finalize()
        .into()
}

/// Writes the pair's element (its lanes as little-endian bytes) into `out`.
fn element(key: &[u8], value: &[u8], out: &mut [u8; ELEMENT_BYTES]) {
    out.fill(0);
    let key = seed(key, value);
    let mut stream = chacha20::ChaCha20::new(&key.into(), &[0u8; 12].into());
    stream.apply_keystream(out);
}

impl LtHash {
    pub fn new() -> Self {
        Self::default()
    }

    fn add_bytes(&mut self, e: &[u8; ELEMENT_BYTES]) {
        for (l, x) in self.lanes.iter_mut().zip(e.chunks_exact(2)) {
            *l = l.wrapping_add(u16::from_le_bytes([x[0], x[1]]));
        }
    }

    fn sub_bytes(&mut self, e: &[u8; ELEMENT_BYTES]) {
        for (l, x) in self.lanes.iter_mut().zip(e.chunks_exact(2)) {
            *l = l.wrapping_sub(u16::from_le_bytes([x[0], x[1]]));
        }
    }

    fn combine(&mut self, other: &LtHash) {
        for (l, x) in self.lanes.iter_mut().zip(other.lanes.iter()) {
            *l = l.wrapping_add(*x);
        }
    }

    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        self.apply_here(&[Delta::Add(key, value)]);
    }

    pub fn remove(&mut self, key: &[u8], value: &[u8]) {
        self.apply_here(&[Delta::Remove(key, value)]);
    }

    /// Folds many changes at once, on every core when there are enough of them. Lanes add
    /// modulo 2^16, so partial sums computed on separate threads and then added give exactly
    /// the sequential result, whatever the split (or whether a thread could be started).
    pub fn apply(&mut self, deltas: &[Delta<'_>]) {
        let threads = if deltas.len() < PARALLEL_FOLD_MIN {
            1
        } else {
            fold_threads()
        };
        if threads < 2 {
            self.apply_here(deltas);
            return;
        }
        let mut parts = deltas.chunks(deltas.len().div_ceil(threads));
        let mine = parts.next().unwrap_or(&[]);
        std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .map(|part| {
                    let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
                        let mut h = LtHash::new();
                        h.apply_here(part);
                        h
                    });
                    // A thread the system refuses is folded here instead.
                    spawned.map_err(|_| part)
                })
                .collect();
            // The calling thread folds the first part itself.
            self.apply_here(mine);
            for handle in handles {
                match handle {
                    Ok(h) => match h.join() {
                        Ok(partial) => self.combine(&partial),
                        // A fold cannot panic on any input (no indexing, no fallible
                        // allocation short of OOM); if it ever did, propagate it.
                        Err(panic) => std::panic::resume_unwind(panic),
                    },
                    Err(part) => self.apply_here(part),
                }
            }
        });
    }

    fn apply_here(&mut self, deltas: &[Delta<'_>]) {
        let mut e = [0u8; ELEMENT_BYTES];
        for d in deltas {
            match *d {
                Delta::Add(k, v) => {
                    element(k, v, &mut e);
                    self.add_bytes(&e);
                }
                Delta::Remove(k, v) => {
                    element(k, v, &mut e);
                    self.sub_bytes(&e);
                }
            }
        }
    }

    /// Recomputes the commitment of a full state dump, for verification of snapshots and
    /// of the incremental hash (on every core for a large state).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Self {
        let mut h = Self::new();
        let mut batch = Vec::with_capacity(FROM_PAIRS_BATCH);
        for (k, v) in pairs {
            batch.push(Delta::Add(k, v));
            if batch.len() == FROM_PAIRS_BATCH {
                h.apply(&batch);
                batch.clear();
            }
        }
        h.apply(&batch);
        h
    }

    /// The 32-byte digest that reports carry.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"opentoken/lthash-digest/v2");
        h.update(self.to_bytes());
        h.finalize().into()
    }

    /// Serialised lattice (little-endian lanes), persisted with each commit so that a
    /// restart resumes the incremental hash without rehashing the whole state.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.lanes.iter().flat_map(|l| l.to_le_bytes()).collect()
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != ELEMENT_BYTES {
            return None;
        }
        let mut lanes = Box::new([0u16; LANES]);
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            lanes[i] = u16::from_le_bytes([pair[0], pair[1]]);
        }
        Some(Self { lanes })
    }
}

/// The v1 commitment (element: SHA-512 in counter mode over a length-prefixed seed, 33
/// compressions; same lattice and lane order) of a set of pairs. No node computes it: it is
/// kept so that a test can hash one state both ways and show that replacing the element
/// changed the commitment and nothing else (`tests/tests/pinned.rs`), and so the
/// measurement that chose v2 can be repeated (`make bench-commitment`).
#[doc(hidden)]
pub fn v1_digest<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> [u8; 32] {
    let mut lanes = [0u16; LANES];
    for (key, value) in pairs {
        let e = v1_element(key, value);
        for (l, x) in lanes.iter_mut().zip(e.iter()) {
            *l = l.wrapping_add(*x);
        }
    }
    let mut h = Sha256::new();
    h.update(b"opentoken/lthash-digest/v1");
    for l in lanes {
        h.update(l.to_le_bytes());
    }
    h.finalize().into()
}

#[doc(hidden)]
pub fn v1_element(key: &[u8], value: &[u8]) -> [u16; LANES] {
    let seed = pair_digest::<Sha512>(b"opentoken/lthash/v1", key, value).finalize();
    let mut out = [0u16; LANES];
    for (block, lanes) in out.chunks_exact_mut(32).enumerate() {
        let mut h = Sha512::new();
        h.update(seed);
        h.update((block as u32).to_le_bytes());
        let bytes = h.finalize();
        for (lane, pair) in lanes.iter_mut().zip(bytes.chunks_exact(2)) {
            *lane = u16::from_le_bytes([pair[0], pair[1]]);
        }
    }
    out
}

/// The v2 element of one pair as lanes, for the criterion bench of the hot path.
#[doc(hidden)]
pub fn v2_element(key: &[u8], value: &[u8]) -> [u16; LANES] {
    let mut e = [0u8; ELEMENT_BYTES];
    element(key, value, &mut e);
    let mut out = [0u16; LANES];
    for (lane, pair) in out.iter_mut().zip(e.chunks_exact(2)) {
        *lane = u16::from_le_bytes([pair[0], pair[1]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Printed by `python3 tools/lthash_v2.py`.
    const KAT_ALICE_FIRST_LANES: [u16; 4] = [29419, 30728, 28180, 51723];
    const KAT_ALICE_LAST_LANE: u16 = 33791;
    const KAT_THREE_PAIRS_DIGEST: &str = "92e5c5ce84ebdd762b2ee913d152590e3908fe428222910a4e8adc9965dd95a9";
    const KAT_THREE_PAIRS_V1_DIGEST: &str = "64aeea74a7e873a6cf9c168a97e72b42decc8899772ac707441e3ab28d9434d2";

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

    /// Known answers computed outside Rust (`tools/lthash_v2.py`, a from-the-RFC ChaCha20
    /// and Python's hashlib), so the element is the documented construction and not merely
    /// whatever this crate's dependencies compute.
    #[test]
    fn v2_element_matches_the_independent_implementation() {
        let e = v2_element(b"bal/alice", &1000u64.to_be_bytes());
        assert_eq!(e[..4], KAT_ALICE_FIRST_LANES);
        assert_eq!(e[LANES - 1], KAT_ALICE_LAST_LANE);
        let h = LtHash::from_pairs([
            (&b"bal/alice"[..], &1000u64.to_be_bytes()[..]),
            (&b"bal/bob"[..], &b""[..]),
            (&b""[..], &b"x"[..]),
        ]);
        assert_eq!(hex::encode(h.digest()), KAT_THREE_PAIRS_DIGEST);
    }

    #[test]
    fn v1_is_the_previous_element() {
        // The digest of the same three pairs under v1, from the code before the change.
        let pairs = [
            (&b"bal/alice"[..], &1000u64.to_be_bytes()[..]),
            (&b"bal/bob"[..], &b""[..]),
            (&b""[..], &b"x"[..]),
        ];
        assert_eq!(hex::encode(v1_digest(pairs)), KAT_THREE_PAIRS_V1_DIGEST);
        assert_ne!(v1_digest(pairs), LtHash::from_pairs(pairs).digest());
    }

    #[test]
    fn a_parallel_fold_equals_the_sequential_one() {
        let keys: Vec<(Vec<u8>, Vec<u8>)> = (0..(PARALLEL_FOLD_MIN as u32 * 3 + 7))
            .map(|i| (format!("k{i}").into_bytes(), i.to_be_bytes().to_vec()))
            .collect();
        let deltas: Vec<Delta<'_>> = keys
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                if i % 5 == 0 {
                    Delta::Remove(k, v)
                } else {
                    Delta::Add(k, v)
                }
            })
            .collect();
        let mut parallel = LtHash::new();
        parallel.apply(&deltas);
        let mut sequential = LtHash::new();
        for d in &deltas {
            match *d {
                Delta::Add(k, v) => sequential.add(k, v),
                Delta::Remove(k, v) => sequential.remove(k, v),
            }
        }
        assert_eq!(parallel, sequential);
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
