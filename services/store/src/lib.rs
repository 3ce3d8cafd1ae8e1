//! The `Store` trait: where a module's durable state, events, statuses, consumed position
//! and checkpoints live.
//!
//! The one rule every backend keeps (DESIGN.md invariant 2): the position a module has
//! consumed up to is committed in the same atomic step as the state it produced. A backend
//! without transactions must make every write idempotent and keyed by chain position, and
//! write the progress row last.

use opentoken_core::{EventRecord, Message, ModuleCheckpoint, OpStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

// Without the ScyllaDB backend only the snapshot format uses the codec.
#[cfg_attr(not(feature = "scylla"), allow(dead_code))]
mod bytes;
/// The backend-independent contract suite every backend's tests run (feature `contract`).
#[cfg(feature = "contract")]
pub mod contract;
pub mod embedded;
#[cfg(feature = "scylla")]
pub mod scylla;
mod snapshot;

pub use bytes::DecodeError;
pub use embedded::EmbeddedStore;
#[cfg(feature = "scylla")]
pub use scylla::{ScyllaConfig, ScyllaStore};
pub use snapshot::{decode_snapshot, encode_snapshot, ModuleSnapshot};

/// Blocks of op statuses a store keeps behind each module's progress unless told otherwise:
/// 7 days of 3-second Hive blocks. A status is for the sender's feedback after a broadcast;
/// kept forever, every prefixed custom_json would buy permanent rows for a Hive fee.
pub const DEFAULT_KEEP_STATUS_BLOCKS: u64 = 201_600;

/// The oldest block whose statuses a store keeping the last `keep` blocks holds once a
/// module's progress is at `progress` (0 while nothing has expired): a status of block `b`
/// is kept while `b > progress - keep`.
pub fn oldest_kept_status_block(progress: u64, keep: u64) -> u64 {
    progress.saturating_add(1).saturating_sub(keep.max(1))
}

/// A state pair as stored.
pub type Pair = (Vec<u8>, Vec<u8>);

/// How far a module has consumed its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Last block fully processed and committed.
    pub block: u64,
    /// Next log offset to read from the module's topic.
    pub next_offset: u64,
}

/// One module's part of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleCommit {
    pub module: String,
    /// State writes since the previous commit, in key order (`None` deletes).
    pub changes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// The commitment lattice after these changes (`LtHash::to_bytes`).
    pub lattice: Vec<u8>,
    pub progress: Progress,
    /// The whole state after these changes, when the commit ends at a checkpoint block and
    /// the store keeps snapshots ([`Store::wants_snapshots`]).
    pub snapshot: Option<BTreeMap<Vec<u8>, Vec<u8>>>,
}

/// Everything one processor commit persists, atomically.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommitBatch {
    pub modules: Vec<ModuleCommit>,
    pub events: Vec<EventRecord>,
    pub statuses: Vec<OpStatus>,
    pub checkpoints: Vec<ModuleCheckpoint>,
    /// Replaces the stored set of messages awaiting delivery at the next block (for the
    /// modules in `modules`).
    pub pending_messages: Vec<Message>,
}

/// A module as loaded at start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadedModule {
    pub pairs: BTreeMap<Vec<u8>, Vec<u8>>,
    pub lattice: Option<Vec<u8>>,
    pub progress: Option<Progress>,
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("store backend failed during {op}: {detail}")]
    Backend { op: &'static str, detail: String },
    #[error("stored data for {what} is corrupt: {detail}")]
    Corrupt { what: String, detail: String },
    /// The commit contradicts what is stored (progress going back, a checkpoint with another
    /// hash): a stale instance or a non-deterministic module, never a transient fault.
    #[error("commit refused: {detail}")]
    Conflict { detail: String },
}

/// The `op` of the backend error a crash test's hook returns (feature `crash-hook`): the
/// process it stands for is dead, so nothing retries it.
pub(crate) const SIMULATED_CRASH: &str = "simulated crash in the middle of a commit";

/// A backend failure (a node or the database going away, a timeout) may pass; corrupt data
/// and a refused commit never do. The ScyllaDB backend retries exactly these itself.
impl opentoken_lifecycle::Transient for StoreError {
    fn is_transient(&self) -> bool {
        matches!(self, StoreError::Backend { op, .. } if *op != SIMULATED_CRASH)
    }
}

/// One module's part of a [`Restore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredModule {
    pub module: String,
    pub snapshot: ModuleSnapshot,
    /// `LtHash::to_bytes` of the snapshot's pairs.
    pub lattice: Vec<u8>,
    /// The first record of the module's topic that ends after the checkpoint block.
    pub next_offset: u64,
    /// The verified checkpoint hash.
    pub checkpoint: [u8; 32],
}

/// Puts modules back to a verified checkpoint (a node found out of consensus): their state,
/// positions, checkpoints and in-flight messages become what they were at `block`, and what
/// this node computed after it is forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restore {
    pub block: u64,
    pub modules: Vec<RestoredModule>,
}

/// The snapshot of every module at one checkpoint, as the HTTP API serves it to peers
/// (`GET /v1/snapshots/{block}`). The receiver trusts nothing in it before verifying it
/// against a final consensus hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotDoc {
    pub community: String,
    pub block: u64,
    pub modules: Vec<SnapshotDocModule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotDocModule {
    pub module: String,
    /// Hex of [`encode_snapshot`].
    pub snapshot: String,
}

impl SnapshotDoc {
    /// The snapshot of `modules` at `block` from `store`, `None` unless all are kept.
    pub fn from_store(
        store: &dyn Store,
        community: &str,
        modules: &[String],
        block: u64,
    ) -> Result<Option<Self>, StoreError> {
        let mut out = Vec::with_capacity(modules.len());
        for m in modules {
            let Some(snap) = store.snapshot(m, block)? else {
                return Ok(None);
            };
            out.push(SnapshotDocModule {
                module: m.clone(),
                snapshot: hex::encode(encode_snapshot(&snap)),
            });
        }
        Ok(Some(Self {
            community: community.to_string(),
            block,
            modules: out,
        }))
    }
}

/// A small module's committed state as the HTTP API serves it (`GET /v1/state/nodes`): what
/// a role without a store of its own (the distributed checkpointer's consensus agent) reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleStateDoc {
    pub processed_block: Option<u64>,
    /// `[key hex, value hex]`, in key order.
    pub pairs: Vec<(String, String)>,
}

impl ModuleStateDoc {
    pub fn from_store(store: &dyn Store, module: &str) -> Result<Self, StoreError> {
        let loaded = store.load_module(module)?;
        Ok(Self {
            processed_block: loaded.progress.map(|p| p.block),
            pairs: loaded
                .pairs
                .iter()
                .map(|(k, v)| (hex::encode(k), hex::encode(v)))
                .collect(),
        })
    }
}

impl StoreError {
    pub fn backend(op: &'static str, e: impl std::fmt::Display) -> Self {
        StoreError::Backend {
            op,
            detail: e.to_string(),
        }
    }
}

pub trait Store: Send + Sync {
    /// Whether commits at checkpoint blocks should carry a whole-state snapshot (a store
    /// without transactions rebuilds from the newest snapshot plus the commit chain).
    fn wants_snapshots(&self) -> bool {
        false
    }
    /// Persists a batch atomically (or idempotently with progress last).
    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError>;
    /// The module's whole state, lattice and progress.
    fn load_module(&self, module: &str) -> Result<LoadedModule, StoreError>;
    fn progress(&self, module: &str) -> Result<Option<Progress>, StoreError>;
    fn get(&self, module: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Pairs whose key starts with `prefix`, in key order, at most `limit`.
    fn scan_prefix(&self, module: &str, prefix: &[u8], limit: usize) -> Result<Vec<Pair>, StoreError>;
    /// Statuses of every op of the transaction, in chain order; those of blocks older than
    /// the kept window ([`Store::keep_status_blocks`]) are gone.
    fn statuses(&self, txid: &str) -> Result<Vec<OpStatus>, StoreError>;
    /// How many blocks of statuses the store keeps behind each module's progress (see
    /// [`oldest_kept_status_block`]), so that a reader can tell "expired" from "never seen";
    /// `None`: it keeps them all.
    fn keep_status_blocks(&self) -> Option<u64> {
        None
    }
    /// Events of a module from `from_block` on, in chain order, at most `limit`.
    fn events(&self, module: &str, from_block: u64, limit: usize) -> Result<Vec<EventRecord>, StoreError>;
    fn checkpoint(&self, module: &str, block: u64) -> Result<Option<[u8; 32]>, StoreError>;
    /// All checkpoints of a module, by block.
    fn checkpoints(&self, module: &str) -> Result<Vec<ModuleCheckpoint>, StoreError>;
    fn pending_messages(&self) -> Result<Vec<Message>, StoreError>;
    /// Small role-owned values (e.g. the checkpointer's last reported block).
    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Makes every commit so far durable. A store whose commits are durable one by one (the
    /// default) has nothing to do; one told to relax durability for a rebuild
    /// (`EmbeddedStore::relaxed_durability`) persists here what it committed since.
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Checkpoint blocks this store holds snapshots of, oldest first.
    fn snapshot_blocks(&self) -> Result<Vec<u64>, StoreError> {
        Ok(Vec::new())
    }
    /// A module's snapshot at a checkpoint block, if this store kept it.
    fn snapshot(&self, _module: &str, _block: u64) -> Result<Option<ModuleSnapshot>, StoreError> {
        Ok(None)
    }
    /// Replaces the modules' state with verified checkpoint snapshots (see [`Restore`]).
    fn restore(&self, _restore: &Restore) -> Result<(), StoreError> {
        Err(StoreError::Backend {
            op: "restore",
            detail: "this store cannot restore a snapshot in place; rebuild the node with `opentoken replay` or \
                     from a backup"
                .into(),
        })
    }
}

/// One module's committed state seen through a store, for the modules' query views (the
/// API, the balance watcher, tests): any backend serves the same views.
pub struct ModuleKv<'a> {
    pub store: &'a dyn Store,
    pub module: &'a str,
}

impl std::fmt::Debug for ModuleKv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleKv")
            .field("module", &self.module)
            .finish_non_exhaustive()
    }
}

impl opentoken_core::KvSource for ModuleKv<'_> {
    fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.store.get(self.module, key).map_err(|e| e.to_string())
    }
    fn kv_scan(&self, prefix: &[u8], limit: usize) -> Result<opentoken_core::state::KvPairs, String> {
        self.store
            .scan_prefix(self.module, prefix, limit)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_lifecycle::Transient;

    #[test]
    fn only_backend_failures_are_transient() {
        assert!(StoreError::backend("commit", "timed out").is_transient());
        assert!(!StoreError::backend(SIMULATED_CRASH, "the test hook").is_transient());
        let corrupt = StoreError::Corrupt {
            what: "event".into(),
            detail: "bad".into(),
        };
        assert!(!corrupt.is_transient());
        assert!(!StoreError::Conflict { detail: "stale".into() }.is_transient());
    }
}
