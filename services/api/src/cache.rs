//! A few recent values that never change once made, such as the encoded snapshot of a
//! checkpoint: served again without redoing the work, and bounded, so a client walking
//! through many blocks evicts instead of growing memory.

use std::collections::VecDeque;
use std::sync::Mutex;

/// The `capacity` most recently made values, by key (0 keeps none).
#[derive(Debug)]
pub(crate) struct RecentCache<K, V> {
    capacity: usize,
    entries: Mutex<VecDeque<(K, V)>>,
}

impl<K: PartialEq, V: Clone> RecentCache<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(VecDeque::with_capacity(capacity)),
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<V> {
        self.lock().iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    /// The value made last, with its key.
    pub(crate) fn newest(&self) -> Option<(K, V)>
    where
        K: Clone,
    {
        self.lock().back().cloned()
    }

    /// Keeps `value` under `key`, dropping the oldest entry when full.
    pub(crate) fn insert(&self, key: K, value: V) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        entries.retain(|(k, _)| k != &key);
        while entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((key, value));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(K, V)>> {
        // A panic in another request must not take the cache down with it.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recent_and_replaces_a_key() {
        let cache = RecentCache::new(2);
        cache.insert(1, "a");
        cache.insert(2, "b");
        cache.insert(3, "c");
        assert_eq!(cache.get(&1), None, "the oldest was evicted");
        assert_eq!(cache.get(&2), Some("b"));
        cache.insert(2, "b2");
        assert_eq!(cache.get(&2), Some("b2"));
        assert_eq!(cache.get(&3), Some("c"));
        assert_eq!(cache.newest(), Some((2, "b2")), "the value made last");
        assert_eq!(RecentCache::<u64, u64>::new(0).newest(), None);
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = RecentCache::new(0);
        cache.insert(1, "a");
        assert_eq!(cache.get(&1), None);
    }
}
