//! A bounded copy of some of a module's committed keys. The modules' views read a
//! `StateRead`, which the store cannot lend; so an answer first copies the few keys it
//! needs from the store (bounded scans and point reads) into a [`Part`], and the module's
//! own views then run on that copy (the DEX's and the NFT module's routes do).

use opentoken_core::state::KvPairs;
use opentoken_core::{KvSource, StateRead};
use std::collections::BTreeMap;
use std::ops::Bound;

#[derive(Debug, Default)]
pub(crate) struct Part {
    kv: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl StateRead for Part {
    fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.kv.get(key).map(Vec::as_slice)
    }

    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> Box<dyn Iterator<Item = (&'a [u8], &'a [u8])> + 'a> {
        let p = prefix.to_vec();
        Box::new(
            self.kv
                .range::<Vec<u8>, _>((Bound::Included(p.clone()), Bound::Unbounded))
                .take_while(move |(k, _)| k.starts_with(&p))
                .map(|(k, v)| (k.as_slice(), v.as_slice())),
        )
    }
}

impl Part {
    /// Copies one key (nothing when it is absent); the error is the store's.
    pub(crate) fn load(&mut self, src: &dyn KvSource, key: &[u8]) -> Result<(), String> {
        if let Some(v) = src.kv_get(key)? {
            self.kv.insert(key.to_vec(), v);
        }
        Ok(())
    }

    /// Copies the first `limit` keys under `prefix` and returns them.
    pub(crate) fn scan(&mut self, src: &dyn KvSource, prefix: &[u8], limit: usize) -> Result<KvPairs, String> {
        let pairs = src.kv_scan(prefix, limit)?;
        for (k, v) in &pairs {
            self.kv.insert(k.clone(), v.clone());
        }
        Ok(pairs)
    }

    /// Puts a pair read some other way.
    pub(crate) fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.kv.insert(key, value);
    }
}
