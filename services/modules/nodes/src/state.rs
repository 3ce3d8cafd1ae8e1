//! The module's state, typed: reads that refuse a value this module cannot have written
//! (reporting it as [`Corrupt`] instead of guessing), and the write helpers of `apply`. The
//! key layout is in [`crate::keys`].

use crate::keys::{self, decode_hash, decode_json, decode_u64, Corrupt, NodeRecord, NodesStats, Signer, Tally};
use crate::NAME;
use opentoken_core::module::InvariantError;
use opentoken_core::{Reject, RejectCode, StateRead, StateWrite};
use opentoken_dex::protocol::Params;

/// A broken invariant of this module: the processor stops rather than guess.
pub(crate) fn broken(what: impl Into<String>) -> InvariantError {
    InvariantError {
        module: NAME.into(),
        what: what.into(),
    }
}

impl From<Corrupt> for InvariantError {
    fn from(c: Corrupt) -> Self {
        broken(c.to_string())
    }
}

/// A decision met state this module cannot have written. `handle` can only refuse, and must
/// not guess: the op is refused (identically on every node with the same state) and the
/// processor stops at the next `on_block`/`apply` that reads the same key.
pub(crate) fn corrupt(c: Corrupt) -> Reject {
    Reject::new(
        RejectCode::BadMessage,
        format!("{c}; the op was not applied (a bug or a damaged store)"),
    )
}

/// Typed reads of the module's state (generic so `apply` can read through its writer).
pub(crate) struct Read<'a, S: StateRead + ?Sized>(pub(crate) &'a S);

/// What `handle` and `on_block` read through.
pub(crate) type StateReader<'a> = Read<'a, dyn StateRead + 'a>;

impl<S: StateRead + ?Sized> Read<'_, S> {
    pub(crate) fn node(&self, account: &str) -> Result<Option<NodeRecord>, Corrupt> {
        let key = keys::node(account);
        self.0.get(&key).map(|v| decode_json(&key, v)).transpose()
    }

    pub(crate) fn gov(&self, account: &str) -> Result<u64, Corrupt> {
        let key = keys::gov(account);
        self.0
            .get(&key)
            .map(|v| decode_u64(&key, v))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    pub(crate) fn runners(&self) -> Result<Vec<String>, Corrupt> {
        self.0
            .get(keys::RUNNERS)
            .map(|v| decode_json(keys::RUNNERS, v))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// The collateral last sent to the multisig module (`None` before the first).
    pub(crate) fn collateral_sent(&self) -> Option<u64> {
        self.0
            .get(keys::MS_COLLATERAL)
            .and_then(|v| <[u8; 8]>::try_from(v).ok())
            .map(u64::from_be_bytes)
    }

    /// The DEX parameters last sent to the DEX (`None` before the first).
    pub(crate) fn dex_params_sent(&self) -> Result<Option<Params>, Corrupt> {
        self.0
            .get(keys::DEX_PARAMS)
            .map(|v| decode_json(keys::DEX_PARAMS, v))
            .transpose()
    }

    /// The signers last sent to the multisig module (empty before the first).
    pub(crate) fn signers_sent(&self) -> Result<Vec<Signer>, Corrupt> {
        self.0
            .get(keys::MS_SIGNERS)
            .map(|v| decode_json(keys::MS_SIGNERS, v))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    pub(crate) fn stats(&self) -> Result<NodesStats, Corrupt> {
        self.0
            .get(keys::STATS)
            .map(|v| decode_json(keys::STATS, v))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// The open tally; there is at most one.
    pub(crate) fn open_tally(&self) -> Result<Option<Tally>, Corrupt> {
        let mut it = self.0.scan_prefix(keys::TALLY_PREFIX.as_bytes());
        let Some((k, v)) = it.next() else {
            return Ok(None);
        };
        if let Some((k2, _)) = it.next() {
            return Err(Corrupt::new(k2, "a second tally is open"));
        }
        let t: Tally = decode_json(k, v)?;
        if keys::block_of(k, keys::TALLY_PREFIX) != Some(t.block) {
            return Err(Corrupt::new(k, format!("holds the tally of block {}", t.block)));
        }
        if !t.votes.is_empty() {
            // Votes are `vote/<N>/<account>` keys; a tally holding them is state of the
            // layout before, which this module cannot continue.
            return Err(Corrupt::new(
                k,
                "holds votes in the tally value (they belong in vote/<N>/ keys)",
            ));
        }
        Ok(Some(t))
    }

    /// The hash `account` reported for checkpoint `block`, if its report was counted.
    pub(crate) fn vote(&self, block: u64, account: &str) -> Result<Option<[u8; 32]>, Corrupt> {
        let key = keys::vote(block, account);
        self.0.get(&key).map(|v| decode_hash(&key, v)).transpose()
    }

    /// Every counted vote of checkpoint `block`, by account (in account order).
    pub(crate) fn votes(&self, block: u64) -> Result<Vec<(String, [u8; 32])>, Corrupt> {
        let prefix = keys::votes_of(block);
        self.0
            .scan_prefix(&prefix)
            .map(|(k, v)| {
                let account = String::from_utf8_lossy(k.get(prefix.len()..).unwrap_or_default()).into_owned();
                Ok((account, decode_hash(k, v)?))
            })
            .collect()
    }

    /// The frozen stake of the runners that reported `hash` for checkpoint `block`.
    pub(crate) fn hash_stake(&self, block: u64, hash: &[u8; 32]) -> Result<u64, Corrupt> {
        let key = keys::hash_stake(block, hash);
        self.0
            .get(&key)
            .map(|v| decode_u64(&key, v))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    pub(crate) fn is_active(&self, account: &str) -> Result<bool, Corrupt> {
        Ok(self.node(account)?.is_some_and(|n| n.active))
    }
}

/// Writes a JSON value; an encoding failure is a bug, not input.
pub(crate) fn put_json<T: serde::Serialize>(
    state: &mut dyn StateWrite,
    key: Vec<u8>,
    value: &T,
) -> Result<(), InvariantError> {
    let bytes =
        serde_json::to_vec(value).map_err(|e| broken(format!("encoding {}: {e}", String::from_utf8_lossy(&key))))?;
    state.put(key, bytes);
    Ok(())
}

/// The runner set, sorted and without duplicates so its bytes depend on the set alone; an
/// empty set deletes the key.
pub(crate) fn put_runners(state: &mut dyn StateWrite, runners: &[String]) -> Result<(), InvariantError> {
    let mut sorted = runners.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.is_empty() {
        state.delete(keys::RUNNERS);
        Ok(())
    } else {
        put_json(state, keys::RUNNERS.to_vec(), &sorted)
    }
}

/// Changes an existing node record: an event can only name a node `handle` found.
pub(crate) fn update_node(
    state: &mut dyn StateWrite,
    account: &str,
    f: impl FnOnce(&mut NodeRecord),
) -> Result<(), InvariantError> {
    let key = keys::node(account);
    let mut rec: NodeRecord = Read(&*state)
        .node(account)?
        .ok_or_else(|| broken(format!("event names @{account}, who has no node record")))?;
    f(&mut rec);
    put_json(state, key, &rec)
}

/// Deletes every key under `prefix` (the votes or stake sums of a closed tally).
pub(crate) fn delete_prefix(state: &mut dyn StateWrite, prefix: &[u8]) {
    let doomed: Vec<Vec<u8>> = state.scan_prefix(prefix).map(|(k, _)| k.to_vec()).collect();
    for k in doomed {
        state.delete(&k);
    }
}

/// Deletes all but the newest `keep` final hashes. Called on each new final, so there
/// are at most `keep + 1` to look at (more only once, in a state from before pruning).
pub(crate) fn prune_finals(state: &mut dyn StateWrite, keep: u64) {
    let all: Vec<Vec<u8>> = state
        .scan_prefix(keys::FINAL_PREFIX.as_bytes())
        .map(|(k, _)| k.to_vec())
        .collect();
    let excess = all.len().saturating_sub(usize::try_from(keep).unwrap_or(usize::MAX));
    for k in all.iter().take(excess) {
        state.delete(k);
    }
}

/// The open tally of checkpoint `block`, which an event about that checkpoint requires.
pub(crate) fn open_tally_at<S: StateRead + ?Sized>(state: &S, block: u64) -> Result<Tally, InvariantError> {
    Read(state)
        .open_tally()?
        .filter(|t| t.block == block)
        .ok_or_else(|| broken(format!("event for checkpoint {block}, whose tally is not open")))
}
