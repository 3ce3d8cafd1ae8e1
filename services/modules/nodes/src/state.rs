//! The module's state, typed: reads that refuse a value this module cannot have written
//! (reporting it as [`Corrupt`] instead of guessing), and the write helpers of `apply`. The
//! key layout is in [`crate::keys`].

use crate::keys::{self, decode_json, decode_u64, Corrupt, NodeRecord, NodesStats, Tally};
use crate::NAME;
use opentoken_core::module::InvariantError;
use opentoken_core::{Reject, RejectCode, StateRead, StateWrite};

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
        Ok(Some(t))
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

/// The open tally of checkpoint `block`, which an event about that checkpoint requires.
pub(crate) fn open_tally_at<S: StateRead + ?Sized>(state: &S, block: u64) -> Result<Tally, InvariantError> {
    Read(state)
        .open_tally()?
        .filter(|t| t.block == block)
        .ok_or_else(|| broken(format!("event for checkpoint {block}, whose tally is not open")))
}
