//! A module's state: an ordered key-value map with write tracking and its commitment.
//!
//! Modules see typed values through their own accessors; underneath, everything is bytes
//! in a `BTreeMap`, so iteration order is defined and the commitment covers exactly what
//! the store persists.

use crate::commitment::{Delta, LtHash};
use hashbrown::hash_map::EntryRef;
use hashbrown::{HashMap, HashSet};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

/// Read access handed to `handle` and `on_block`: decisions see state, never mutate it.
pub trait StateRead {
    fn get(&self, key: &[u8]) -> Option<&[u8]>;
    /// All pairs whose key starts with `prefix`, in key order.
    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> Box<dyn Iterator<Item = (&'a [u8], &'a [u8])> + 'a>;
    /// The pairs of `scan_prefix(prefix)` whose key is at least `from`: a seek into an index
    /// ordered by a big-endian block, so finding the first entry after a block does not walk
    /// the ones before it. The default walks them; ordered stores override it.
    fn scan_prefix_from<'a>(
        &'a self,
        prefix: &[u8],
        from: &[u8],
    ) -> Box<dyn Iterator<Item = (&'a [u8], &'a [u8])> + 'a> {
        let from = from.to_vec();
        Box::new(self.scan_prefix(prefix).skip_while(move |(k, _)| *k < from.as_slice()))
    }
}

/// Write access handed to `apply`.
pub trait StateWrite: StateRead {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>);
    fn delete(&mut self, key: &[u8]);
}

/// Keys are shared, not copied, between the pairs, their order and the write tracking: a
/// key is allocated once, when it first appears.
type Key = Arc<[u8]>;
/// hashbrown's default hasher (foldhash) is seeded per process, so keys an attacker chooses
/// (account names, set names) cannot be aimed at one bucket; nothing consensus computes
/// depends on a hash map's order (see [`ModuleState`]).
type KeyMap<V> = HashMap<Key, V>;
type KeySet = HashSet<Key>;

/// A module's pairs, held twice over for the two ways they are read: a hash map for point
/// reads and writes (a balance update touches no ordered structure) and an ordered set of
/// the same keys for scans, which changes only when a key appears or disappears. An ordered
/// map alone made every read and write a walk of key comparisons: a third of the state
/// machine's time on the realistic bench. Hash-map order is never observed: the fold adds
/// lattice elements, which commute, scans walk `order`, and `take_changes` sorts.
#[derive(Debug, Clone, Default)]
pub struct ModuleState {
    values: KeyMap<Vec<u8>>,
    order: BTreeSet<Key>,
    /// Value each touched key had when the lattice was last folded (None = absent).
    unfolded: KeyMap<Option<Vec<u8>>>,
    /// Keys changed since the last `take_changes` (what the next store commit must write).
    changed: KeySet,
    lattice: LtHash,
}

/// One write the store must persist: the new value, or `None` for a delete.
pub type Change = (Vec<u8>, Option<Vec<u8>>);

impl ModuleState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a state from persisted pairs and the persisted lattice. The caller is
    /// expected to `verify` when the pairs come from an untrusted source.
    pub fn from_parts(kv: BTreeMap<Vec<u8>, Vec<u8>>, lattice: LtHash) -> Self {
        let mut values = KeyMap::with_capacity(kv.len());
        let order = kv
            .into_iter()
            .map(|(k, v)| {
                let k: Key = k.into();
                values.insert(k.clone(), v);
                k
            })
            .collect();
        Self {
            values,
            order,
            unfolded: KeyMap::default(),
            changed: KeySet::default(),
            lattice,
        }
    }

    /// Rebuilds a state from pairs alone, recomputing the lattice.
    pub fn from_pairs(kv: BTreeMap<Vec<u8>, Vec<u8>>) -> Self {
        let lattice = LtHash::from_pairs(kv.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        Self::from_parts(kv, lattice)
    }

    /// Notes that `key` changed: for the next fold, the value it had (the first change since
    /// the fold wins), and for the next store commit.
    fn note_change(&mut self, key: Key, old: Option<Vec<u8>>) {
        self.unfolded.entry(key.clone()).or_insert(old);
        self.changed.insert(key);
    }

    /// Folds pending writes into the lattice: O(keys touched since the last fold).
    pub fn fold(&mut self) {
        let pending = std::mem::take(&mut self.unfolded);
        let mut deltas = Vec::with_capacity(pending.len() * 2);
        for (k, old) in &pending {
            let new = self.values.get(k);
            if old.as_ref() == new {
                continue;
            }
            if let Some(o) = old {
                deltas.push(Delta::Remove(k, o));
            }
            if let Some(n) = new {
                deltas.push(Delta::Add(k, n));
            }
        }
        self.lattice.apply(&deltas);
    }

    /// The state commitment now (folds first).
    pub fn commitment(&mut self) -> [u8; 32] {
        self.fold();
        self.lattice.digest()
    }

    pub fn lattice(&mut self) -> &LtHash {
        self.fold();
        &self.lattice
    }

    /// Recomputes the commitment from a full dump; equal to `commitment()` unless the
    /// incremental path is broken.
    pub fn recompute_commitment(&self) -> [u8; 32] {
        LtHash::from_pairs(self.iter()).digest()
    }

    /// Drains the writes since the last call, in key order.
    pub fn take_changes(&mut self) -> Vec<Change> {
        let mut keys: Vec<Key> = self.changed.drain().collect();
        keys.sort_unstable();
        keys.into_iter()
            .map(|k| {
                let v = self.values.get(&k).cloned();
                (k.to_vec(), v)
            })
            .collect()
    }

    /// Every pair, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.order
            .iter()
            .filter_map(|k| self.values.get(k).map(|v| (&k[..], v.as_slice())))
    }

    /// A copy of every pair, in key order (a snapshot; tests compare states with it).
    pub fn to_map(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        self.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl StateRead for ModuleState {
    fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.values.get(key).map(|v| v.as_slice())
    }

    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> Box<dyn Iterator<Item = (&'a [u8], &'a [u8])> + 'a> {
        self.scan_prefix_from(prefix, prefix)
    }

    fn scan_prefix_from<'a>(
        &'a self,
        prefix: &[u8],
        from: &[u8],
    ) -> Box<dyn Iterator<Item = (&'a [u8], &'a [u8])> + 'a> {
        let p = prefix.to_vec();
        let start = if from > prefix { from } else { prefix };
        Box::new(
            self.order
                .range::<[u8], _>((Bound::Included(start), Bound::Unbounded))
                .take_while(move |k| k.starts_with(&p))
                .filter_map(|k| self.values.get(k).map(|v| (&k[..], v.as_slice()))),
        )
    }
}

impl StateWrite for ModuleState {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        // One hash of the key for the lookup and, for a new key, the insert.
        let (k, old) = match self.values.entry_ref(key.as_slice()) {
            EntryRef::Occupied(mut e) => (e.key().clone(), Some(std::mem::replace(e.get_mut(), value))),
            EntryRef::Vacant(e) => {
                let k = e.insert_entry(value).key().clone();
                self.order.insert(k.clone());
                (k, None)
            }
        };
        self.note_change(k, old);
    }

    fn delete(&mut self, key: &[u8]) {
        if let Some((k, old)) = self.values.remove_entry(key) {
            self.order.remove(key);
            self.note_change(k, Some(old));
        }
    }
}

/// Key-value pairs in key order, as a scan returns them.
pub type KvPairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Read-only access to a module's persisted state from outside the engine (the API reads
/// the store through it), so modules can offer query views that work on any backend.
pub trait KvSource {
    fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String>;
    /// Pairs whose key starts with `prefix`, in key order, at most `limit`.
    fn kv_scan(&self, prefix: &[u8], limit: usize) -> Result<KvPairs, String>;
}

impl KvSource for ModuleState {
    fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        Ok(self.get(key).map(|v| v.to_vec()))
    }
    fn kv_scan(&self, prefix: &[u8], limit: usize) -> Result<KvPairs, String> {
        Ok(self
            .scan_prefix(prefix)
            .take(limit)
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scan_prefix_from_seeks_within_the_prefix() {
        let mut s = ModuleState::new();
        for k in ["a/1", "a/3", "a/5", "b/0", "a"] {
            s.put(k.as_bytes().to_vec(), vec![1]);
        }
        let keys = |from: &[u8]| -> Vec<Vec<u8>> { s.scan_prefix_from(b"a/", from).map(|(k, _)| k.to_vec()).collect() };
        assert_eq!(keys(b"a/2"), vec![b"a/3".to_vec(), b"a/5".to_vec()]);
        assert_eq!(
            keys(b""),
            vec![b"a/1".to_vec(), b"a/3".to_vec(), b"a/5".to_vec()],
            "from before the prefix"
        );
        assert!(keys(b"a/6").is_empty() && keys(b"c").is_empty());
        // The default (a walk) agrees with the seek.
        struct Walk<'a>(&'a ModuleState);
        impl StateRead for Walk<'_> {
            fn get(&self, key: &[u8]) -> Option<&[u8]> {
                self.0.get(key)
            }
            fn scan_prefix<'b>(&'b self, prefix: &[u8]) -> Box<dyn Iterator<Item = (&'b [u8], &'b [u8])> + 'b> {
                self.0.scan_prefix(prefix)
            }
        }
        for from in [&b""[..], b"a/2", b"a/5", b"a/6", b"c"] {
            let walked: Vec<Vec<u8>> = Walk(&s)
                .scan_prefix_from(b"a/", from)
                .map(|(k, _)| k.to_vec())
                .collect();
            assert_eq!(walked, keys(from));
        }
    }

    #[test]
    fn scan_prefix_in_order() {
        let mut s = ModuleState::new();
        s.put(b"b/2".to_vec(), b"x".to_vec());
        s.put(b"b/1".to_vec(), b"y".to_vec());
        s.put(b"c/1".to_vec(), b"z".to_vec());
        let keys: Vec<_> = s.scan_prefix(b"b/").map(|(k, _)| k.to_vec()).collect();
        assert_eq!(keys, vec![b"b/1".to_vec(), b"b/2".to_vec()]);
    }

    #[test]
    fn changes_collapse_per_key() {
        let mut s = ModuleState::new();
        s.put(b"a".to_vec(), b"1".to_vec());
        s.put(b"a".to_vec(), b"2".to_vec());
        s.put(b"b".to_vec(), b"1".to_vec());
        s.delete(b"b");
        assert_eq!(
            s.take_changes(),
            vec![(b"a".to_vec(), Some(b"2".to_vec())), (b"b".to_vec(), None)]
        );
        assert!(s.take_changes().is_empty());
    }

    proptest! {
        /// Against an ordered-map model: every read (point, scan, full walk) and every
        /// drained change list is the model's, in key order, whatever order the hash maps
        /// keep (each state's hasher has its own seed: two states fed the same writes
        /// agree byte for byte).
        #[test]
        fn reads_and_changes_follow_an_ordered_model(
            ops in proptest::collection::vec((0u8..12, proptest::option::of(0u8..4), 0u8..8), 0..120)
        ) {
            let (mut a, mut b) = (ModuleState::new(), ModuleState::new());
            let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            let mut touched: BTreeSet<Vec<u8>> = BTreeSet::new();
            for (k, v, action) in ops {
                let key = vec![b'k', k % 3, k];
                match v {
                    Some(v) => {
                        a.put(key.clone(), vec![v]);
                        b.put(key.clone(), vec![v]);
                        model.insert(key.clone(), vec![v]);
                        touched.insert(key);
                    }
                    None => {
                        a.delete(&key);
                        b.delete(&key);
                        if model.remove(&key).is_some() {
                            touched.insert(key);
                        }
                    }
                }
                match action {
                    0 => { a.fold(); }
                    1 => {
                        let want: Vec<Change> = std::mem::take(&mut touched)
                            .into_iter()
                            .map(|k| { let v = model.get(&k).cloned(); (k, v) })
                            .collect();
                        prop_assert_eq!(a.take_changes(), want.clone());
                        prop_assert_eq!(b.take_changes(), want);
                    }
                    _ => {}
                }
                for p in [&b"k"[..], &[b'k', 1][..]] {
                    let scanned: Vec<(Vec<u8>, Vec<u8>)> =
                        a.scan_prefix(p).map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
                    let want: Vec<(Vec<u8>, Vec<u8>)> =
                        model.iter().filter(|(k, _)| k.starts_with(p)).map(|(k, v)| (k.clone(), v.clone())).collect();
                    prop_assert_eq!(scanned, want);
                }
            }
            prop_assert_eq!(a.to_map(), model.clone());
            prop_assert_eq!(b.to_map(), model.clone());
            prop_assert_eq!(a.len(), model.len());
            for (k, v) in &model {
                prop_assert_eq!(a.get(k), Some(v.as_slice()));
            }
            prop_assert_eq!(a.commitment(), b.commitment());
            prop_assert_eq!(a.commitment(), ModuleState::from_pairs(model).commitment());
        }
    }

    proptest! {
        /// The incremental commitment equals the one recomputed from a full dump, whatever
        /// the sequence of writes and wherever folds happen.
        #[test]
        fn incremental_equals_recomputed(ops in proptest::collection::vec((0u8..8, proptest::option::of(0u8..4), any::<bool>()), 0..60)) {
            let mut s = ModuleState::new();
            for (k, v, fold) in ops {
                match v {
                    Some(v) => s.put(vec![k], vec![v]),
                    None => s.delete(&[k]),
                }
                if fold { s.fold(); }
            }
            prop_assert_eq!(s.commitment(), s.recompute_commitment());
        }
    }
}
