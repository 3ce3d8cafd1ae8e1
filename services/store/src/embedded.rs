//! The embedded store: module state, events, statuses, progress, checkpoints, pending
//! messages and meta as tables of the node's one redb database (shared with the embedded log).
//!
//! Why it is correct by construction (DESIGN.md invariant 2): `commit` is a single redb write
//! transaction holding the state writes, the lattice, the consumed position and every record
//! the batch produced; redb commits it atomically and durably (fsync) or not at all, also
//! when the process is killed at any instruction.
//!
//! Tables and encodings (docs/storage-engine.md has the list):
//! - `opentoken_state`: `(module, key) -> value`, raw bytes.
//! - `opentoken_lattice`: `module -> LtHash bytes`, raw.
//! - `opentoken_progress`: `module -> (block, next_offset)`.
//! - `opentoken_events`: `(module, block, trx, op, seq) -> StateEvent` (Avro single-object).
//! - `opentoken_block_statuses`: `(module, block) -> [OpStatus]`, a block's statuses as one
//!   value, and `opentoken_txid_blocks`: `(txid tag, block, module) -> ()`, the blocks a
//!   transaction has statuses in (see `statuses.rs`: why, and the encoding). Statuses older
//!   than the kept window are found and deleted by a range, not a scan
//!   ([`EmbeddedStore::keep_status_blocks`]).
//! - `opentoken_checkpoints`: `(module, block) -> [u8; 32]`.
//! - `opentoken_pending`: `(to, from, block, trx, op, seq) -> ModuleMessage` (Avro).
//! - `opentoken_meta`: `key -> bytes`, raw.
//! - `opentoken_snapshots`: `(block, module) -> ModuleSnapshot` (`encode_snapshot`), the last
//!   few checkpoints when the store keeps snapshots ([`EmbeddedStore::keep_snapshots`]).
//!
//! Integer key parts are compared numerically by redb, so key order is chain order.

use crate::DEFAULT_KEEP_STATUS_BLOCKS;
use crate::{oldest_kept_status_block, CommitBatch, LoadedModule, Progress, Store, StoreError};
use crate::{ModuleSnapshot, Restore};
use opentoken_codec::{decode_event_record, decode_message};
use opentoken_codec::{encode_event_record, encode_message};
use opentoken_core::{EventRecord, Message, ModuleCheckpoint, OpStatus};
use opentoken_log::embedded::{open_database, OpenDatabaseError};
use redb::{Database, Durability, ReadTransaction, ReadableTable, TableDefinition, TableHandle, WriteTransaction};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod snapshots;
mod statuses;

/// `(module, key)`.
type StateKey<'a> = (&'a str, &'a [u8]);
/// `(module, block, trx_in_block, op_in_trx, seq)`.
type EventKey<'a> = (&'a str, u64, u32, u32, u32);
/// `(to, from, block, trx_in_block, op_in_trx, seq)`.
type PendingKey<'a> = (&'a str, &'a str, u64, u32, u32, u32);

const STATE: TableDefinition<'_, StateKey<'_>, &[u8]> = TableDefinition::new("opentoken_state");
const LATTICE: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("opentoken_lattice");
const PROGRESS: TableDefinition<'_, &str, (u64, u64)> = TableDefinition::new("opentoken_progress");
const EVENTS: TableDefinition<'_, EventKey<'_>, &[u8]> = TableDefinition::new("opentoken_events");
const CHECKPOINTS: TableDefinition<'_, (&str, u64), [u8; 32]> = TableDefinition::new("opentoken_checkpoints");
const PENDING: TableDefinition<'_, PendingKey<'_>, &[u8]> = TableDefinition::new("opentoken_pending");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("opentoken_meta");
const SNAPSHOTS: TableDefinition<'_, (u64, &str), &[u8]> = TableDefinition::new("opentoken_snapshots");

impl From<OpenDatabaseError> for StoreError {
    fn from(e: OpenDatabaseError) -> Self {
        StoreError::Backend {
            op: "open",
            detail: e.to_string(),
        }
    }
}

/// [`Store`] on a redb database. Writers are serialised by redb (one write transaction at a
/// time); readers see the last committed snapshot and never block writers.
pub struct EmbeddedStore {
    db: Arc<Database>,
    /// Checkpoint snapshots kept (0: none, commits need not end at checkpoints).
    keep_snapshots: usize,
    /// Blocks of statuses kept behind each module's progress.
    keep_status_blocks: u64,
    /// `Some((interval, last durable commit))`: commits are durable at most this often (a
    /// rebuild), see [`EmbeddedStore::relaxed_durability`].
    relaxed: Option<(Duration, Mutex<Instant>)>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("keep_snapshots", &self.keep_snapshots)
            .field("keep_status_blocks", &self.keep_status_blocks)
            .field("relaxed", &self.relaxed.as_ref().map(|(d, _)| d))
            .finish_non_exhaustive()
    }
}

fn err<E: Into<redb::Error>>(op: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::backend(op, e.into())
}

impl EmbeddedStore {
    /// Uses the node's database (see [`open_database`]) and creates the store's tables if
    /// they do not exist, so that readers never meet a missing table.
    pub fn new(db: Arc<Database>) -> Result<Self, StoreError> {
        let tx = db.begin_write().map_err(err("open"))?;
        {
            tx.open_table(STATE).map_err(err("open"))?;
            tx.open_table(LATTICE).map_err(err("open"))?;
            tx.open_table(PROGRESS).map_err(err("open"))?;
            tx.open_table(EVENTS).map_err(err("open"))?;
            statuses::open(&tx)?;
            tx.open_table(CHECKPOINTS).map_err(err("open"))?;
            tx.open_table(PENDING).map_err(err("open"))?;
            tx.open_table(META).map_err(err("open"))?;
            tx.open_table(SNAPSHOTS).map_err(err("open"))?;
        }
        tx.commit().map_err(err("open"))?;
        Ok(Self {
            db,
            keep_snapshots: 0,
            keep_status_blocks: DEFAULT_KEEP_STATUS_BLOCKS,
            relaxed: None,
        })
    }

    /// Keep the statuses of the last `blocks` blocks behind each module's progress (at
    /// least 1; default [`DEFAULT_KEEP_STATUS_BLOCKS`]): every prefixed custom_json leaves a
    /// status, so kept forever they would grow without bound at no cost to the sender.
    /// Older ones are deleted as progress advances and the API answers them as expired.
    pub fn keep_status_blocks(mut self, blocks: u64) -> Self {
        self.keep_status_blocks = blocks.max(1);
        self
    }

    /// Keep whole-state snapshots of the last `n` checkpoints: what a node out of consensus
    /// restores from, and what peers fetch from its API. Costs one copy of the state per
    /// checkpoint.
    pub fn keep_snapshots(mut self, n: usize) -> Self {
        self.keep_snapshots = n;
        self
    }

    /// Make a commit durable (fsync) only when the last durable one is `at_least_every` old;
    /// the others are atomic but not persisted: a crash reverts the database to the last
    /// durable commit, which is consistent (state, progress and records move together), so
    /// the work lost is at most `at_least_every` of processing, done again on restart. For a
    /// rebuild into a fresh directory (`opentoken replay`), where an fsync per batch is most
    /// of the cost of a sparse chain; [`Store::sync`] makes the end durable. Never for a
    /// node that reports or pays out: what it acted on must survive a crash.
    pub fn relaxed_durability(mut self, at_least_every: Duration) -> Self {
        self.relaxed = Some((at_least_every, Mutex::new(Instant::now())));
        self
    }

    /// Whether the next commit must be durable (and if so, restarts the interval).
    fn commit_durably(&self) -> bool {
        let Some((every, last)) = &self.relaxed else {
            return true;
        };
        // A poisoned clock only means a panic elsewhere; durable is the safe answer.
        let Ok(mut last) = last.lock() else {
            return true;
        };
        if last.elapsed() >= *every {
            *last = Instant::now();
            true
        } else {
            false
        }
    }

    /// Opens (creating if needed) the database file at `path` and the store in it; for tools
    /// and tests that need only the store. Fails clearly if another process holds the file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::new(open_database(path)?)
    }

    /// The database this store lives in (shared with the embedded log).
    pub fn database(&self) -> &Arc<Database> {
        &self.db
    }

    fn read(&self, op: &'static str) -> Result<ReadTransaction, StoreError> {
        self.db.begin_read().map_err(err(op))
    }

    /// Writes the batch into `tx`; the caller commits. Any error leaves `tx` to be dropped,
    /// which aborts it.
    fn write_batch(&self, tx: &WriteTransaction, batch: &CommitBatch) -> Result<(), StoreError> {
        const OP: &str = "commit";
        let mut state = tx.open_table(STATE).map_err(err(OP))?;
        let mut lattice = tx.open_table(LATTICE).map_err(err(OP))?;
        let mut progress = tx.open_table(PROGRESS).map_err(err(OP))?;
        for m in &batch.modules {
            let module = m.module.as_str();
            if let Some(old) = progress.get(module).map_err(err(OP))?.map(|v| v.value()) {
                let (block, next_offset) = old;
                if m.progress.block < block || m.progress.next_offset < next_offset {
                    return Err(StoreError::Conflict {
                        detail: format!(
                            "module {module}: progress would go back from block {block} offset {next_offset} to block \
                             {} offset {}; another processor instance of this module has committed further (stop the \
                             stale one)",
                            m.progress.block, m.progress.next_offset
                        ),
                    });
                }
            }
            for (k, v) in &m.changes {
                match v {
                    Some(v) => {
                        state.insert((module, k.as_slice()), v.as_slice()).map_err(err(OP))?;
                    }
                    None => {
                        state.remove((module, k.as_slice())).map_err(err(OP))?;
                    }
                }
            }
            lattice.insert(module, m.lattice.as_slice()).map_err(err(OP))?;
            progress
                .insert(module, (m.progress.block, m.progress.next_offset))
                .map_err(err(OP))?;
        }

        let mut events = tx.open_table(EVENTS).map_err(err(OP))?;
        for ev in &batch.events {
            let p = ev.pos;
            events
                .insert(
                    (ev.module.as_str(), p.block, p.trx_in_block, p.op_in_trx, ev.seq),
                    encode_event_record(ev).as_slice(),
                )
                .map_err(err(OP))?;
        }

        statuses::write(tx, &batch.statuses)?;
        for m in &batch.modules {
            let oldest_kept = oldest_kept_status_block(m.progress.block, self.keep_status_blocks);
            statuses::expire(tx, &m.module, oldest_kept)?;
        }

        let mut checkpoints = tx.open_table(CHECKPOINTS).map_err(err(OP))?;
        for c in &batch.checkpoints {
            let key = (c.module.as_str(), c.block);
            if let Some(old) = checkpoints.get(key).map_err(err(OP))?.map(|v| v.value()) {
                if old != c.hash {
                    return Err(StoreError::Conflict {
                        detail: format!(
                            "module {}: checkpoint at block {} is already recorded with a different hash; this node's \
                             state diverged from what it committed before (non-determinism or a changed module \
                             version): rebuild the module with `opentoken replay`",
                            c.module, c.block
                        ),
                    });
                }
            }
            checkpoints.insert(key, c.hash).map_err(err(OP))?;
        }

        if self.keep_snapshots > 0 {
            snapshots::keep(tx, batch, self.keep_snapshots)?;
        }

        // Replace the pending messages addressed to the batch's modules.
        let mut pending = tx.open_table(PENDING).map_err(err(OP))?;
        let targets: BTreeSet<&str> = batch.modules.iter().map(|m| m.module.as_str()).collect();
        for to in targets {
            let mut stale: Vec<(String, u64, u32, u32, u32)> = Vec::new();
            for entry in pending.range(pending_range(to)).map_err(err(OP))? {
                let (k, _) = entry.map_err(err(OP))?;
                let (target, from, b, t, o, s) = k.value();
                if target != to {
                    break;
                }
                stale.push((from.to_string(), b, t, o, s));
            }
            for (from, b, t, o, s) in &stale {
                pending.remove((to, from.as_str(), *b, *t, *o, *s)).map_err(err(OP))?;
            }
        }
        for m in &batch.pending_messages {
            insert_pending(&mut pending, m, OP)?;
        }
        Ok(())
    }
}

fn insert_pending(
    table: &mut redb::Table<'_, PendingKey<'static>, &'static [u8]>,
    m: &Message,
    op: &'static str,
) -> Result<(), StoreError> {
    let p = m.pos;
    table
        .insert(
            (
                m.to.as_str(),
                m.from.as_str(),
                p.block,
                p.trx_in_block,
                p.op_in_trx,
                m.seq,
            ),
            encode_message(m).as_slice(),
        )
        .map_err(err(op))?;
    Ok(())
}

/// Keys of `PENDING` from the first one whose target is `to` on (the empty source sorts
/// first); callers stop at the first key of another target.
fn pending_range(to: &str) -> std::ops::RangeFrom<(&str, &'static str, u64, u32, u32, u32)> {
    (to, "", 0, 0, 0, 0)..
}

fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        detail: format!("{detail}; restore the data directory from a backup or rebuild it with `opentoken replay`"),
    }
}

impl Store for EmbeddedStore {
    fn wants_snapshots(&self) -> bool {
        self.keep_snapshots > 0
    }

    fn keep_status_blocks(&self) -> Option<u64> {
        Some(self.keep_status_blocks)
    }

    fn snapshot_blocks(&self) -> Result<Vec<u64>, StoreError> {
        self.snapshot_blocks_kept()
    }

    fn snapshot(&self, module: &str, block: u64) -> Result<Option<ModuleSnapshot>, StoreError> {
        self.snapshot_kept(module, block)
    }

    fn restore(&self, r: &Restore) -> Result<(), StoreError> {
        self.restore_in_place(r)
    }

    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().map_err(err("commit"))?;
        if !self.commit_durably() {
            tx.set_durability(Durability::None);
        }
        self.write_batch(&tx, batch)?;
        tx.commit().map_err(err("commit"))
    }

    fn sync(&self) -> Result<(), StoreError> {
        // An empty durable commit persists the non-durable ones before it.
        let tx = self.db.begin_write().map_err(err("sync"))?;
        tx.commit().map_err(err("sync"))?;
        if let Some((_, last)) = &self.relaxed {
            if let Ok(mut last) = last.lock() {
                *last = Instant::now();
            }
        }
        Ok(())
    }

    fn load_module(&self, module: &str) -> Result<LoadedModule, StoreError> {
        const OP: &str = "load_module";
        let tx = self.read(OP)?;
        let state = tx.open_table(STATE).map_err(err(OP))?;
        let mut pairs = BTreeMap::new();
        for entry in state.range((module, &[][..])..).map_err(err(OP))? {
            let (k, v) = entry.map_err(err(OP))?;
            let (m, key) = k.value();
            if m != module {
                break;
            }
            pairs.insert(key.to_vec(), v.value().to_vec());
        }
        let lattice = tx
            .open_table(LATTICE)
            .map_err(err(OP))?
            .get(module)
            .map_err(err(OP))?
            .map(|v| v.value().to_vec());
        let progress = tx
            .open_table(PROGRESS)
            .map_err(err(OP))?
            .get(module)
            .map_err(err(OP))?
            .map(|v| {
                let (block, next_offset) = v.value();
                Progress { block, next_offset }
            });
        Ok(LoadedModule {
            pairs,
            lattice,
            progress,
        })
    }

    fn progress(&self, module: &str) -> Result<Option<Progress>, StoreError> {
        const OP: &str = "progress";
        let tx = self.read(OP)?;
        let t = tx.open_table(PROGRESS).map_err(err(OP))?;
        Ok(t.get(module).map_err(err(OP))?.map(|v| {
            let (block, next_offset) = v.value();
            Progress { block, next_offset }
        }))
    }

    fn get(&self, module: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        const OP: &str = "get";
        let tx = self.read(OP)?;
        let t = tx.open_table(STATE).map_err(err(OP))?;
        Ok(t.get((module, key)).map_err(err(OP))?.map(|v| v.value().to_vec()))
    }

    fn scan_prefix(&self, module: &str, prefix: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        const OP: &str = "scan_prefix";
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let tx = self.read(OP)?;
        let t = tx.open_table(STATE).map_err(err(OP))?;
        for entry in t.range((module, prefix)..).map_err(err(OP))? {
            let (k, v) = entry.map_err(err(OP))?;
            let (m, key) = k.value();
            if m != module || !key.starts_with(prefix) {
                break;
            }
            out.push((key.to_vec(), v.value().to_vec()));
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    fn statuses(&self, txid: &str) -> Result<Vec<OpStatus>, StoreError> {
        const OP: &str = "statuses";
        statuses::read(&self.read(OP)?, txid)
    }

    fn events(&self, module: &str, from_block: u64, limit: usize) -> Result<Vec<EventRecord>, StoreError> {
        const OP: &str = "events";
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let tx = self.read(OP)?;
        let t = tx.open_table(EVENTS).map_err(err(OP))?;
        let range = (module, from_block, 0u32, 0u32, 0u32)..=(module, u64::MAX, u32::MAX, u32::MAX, u32::MAX);
        for entry in t.range(range).map_err(err(OP))? {
            let (k, v) = entry.map_err(err(OP))?;
            let ev = decode_event_record(v.value()).map_err(|e| {
                let (_, b, tr, o, s) = k.value();
                corrupt(format!("event of module {module} at {b}:{tr}:{o}/{s}"), e)
            })?;
            out.push(ev);
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    fn checkpoint(&self, module: &str, block: u64) -> Result<Option<[u8; 32]>, StoreError> {
        const OP: &str = "checkpoint";
        let tx = self.read(OP)?;
        let t = tx.open_table(CHECKPOINTS).map_err(err(OP))?;
        Ok(t.get((module, block)).map_err(err(OP))?.map(|v| v.value()))
    }

    fn checkpoints(&self, module: &str) -> Result<Vec<ModuleCheckpoint>, StoreError> {
        const OP: &str = "checkpoints";
        let tx = self.read(OP)?;
        let t = tx.open_table(CHECKPOINTS).map_err(err(OP))?;
        let mut out = Vec::new();
        for entry in t.range((module, 0u64)..=(module, u64::MAX)).map_err(err(OP))? {
            let (k, v) = entry.map_err(err(OP))?;
            out.push(ModuleCheckpoint {
                module: module.to_string(),
                block: k.value().1,
                hash: v.value(),
            });
        }
        Ok(out)
    }

    fn pending_messages(&self) -> Result<Vec<Message>, StoreError> {
        const OP: &str = "pending_messages";
        let tx = self.read(OP)?;
        let t = tx.open_table(PENDING).map_err(err(OP))?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(err(OP))? {
            let (k, v) = entry.map_err(err(OP))?;
            let msg = decode_message(v.value()).map_err(|e| {
                let (to, from, b, tr, o, s) = k.value();
                corrupt(format!("pending message {from}->{to} at {b}:{tr}:{o}/{s}"), e)
            })?;
            out.push(msg);
        }
        // Delivery order (DESIGN.md, module model): source module, then emission order.
        out.sort_by(|a, b| (&a.from, a.pos, a.seq, &a.to).cmp(&(&b.from, b.pos, b.seq, &b.to)));
        Ok(out)
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        const OP: &str = "put_meta";
        let tx = self.db.begin_write().map_err(err(OP))?;
        tx.open_table(META)
            .map_err(err(OP))?
            .insert(key, value)
            .map_err(err(OP))?;
        tx.commit().map_err(err(OP))
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        const OP: &str = "get_meta";
        let tx = self.read(OP)?;
        let t = tx.open_table(META).map_err(err(OP))?;
        Ok(t.get(key).map_err(err(OP))?.map(|v| v.value().to_vec()))
    }
}

/// Names of the store's tables, for diagnostics and docs.
pub fn table_names() -> [&'static str; 10] {
    [
        STATE.name(),
        LATTICE.name(),
        PROGRESS.name(),
        EVENTS.name(),
        statuses::BLOCK_STATUSES.name(),
        statuses::TXID_BLOCKS.name(),
        CHECKPOINTS.name(),
        PENDING.name(),
        META.name(),
        SNAPSHOTS.name(),
    ]
}
