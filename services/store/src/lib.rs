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

pub mod embedded;
#[cfg(feature = "scylla")]
pub mod scylla;
#[cfg(feature = "contract")]
pub use embedded::contract;
pub use embedded::EmbeddedStore;
#[cfg(feature = "scylla")]
pub use scylla::{ScyllaConfig, ScyllaStore};

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
    /// Statuses of every op of the transaction, in chain order.
    fn statuses(&self, txid: &str) -> Result<Vec<OpStatus>, StoreError>;
    /// Events of a module from `from_block` on, in chain order, at most `limit`.
    fn events(&self, module: &str, from_block: u64, limit: usize) -> Result<Vec<EventRecord>, StoreError>;
    fn checkpoint(&self, module: &str, block: u64) -> Result<Option<[u8; 32]>, StoreError>;
    /// All checkpoints of a module, by block.
    fn checkpoints(&self, module: &str) -> Result<Vec<ModuleCheckpoint>, StoreError>;
    fn pending_messages(&self) -> Result<Vec<Message>, StoreError>;
    /// Small role-owned values (e.g. the checkpointer's last reported block).
    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

/// One module's committed state seen through a store, for the modules' query views (the
/// API, the balance watcher, tests): any backend serves the same views.
pub struct ModuleKv<'a> {
    pub store: &'a dyn Store,
    pub module: &'a str,
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
