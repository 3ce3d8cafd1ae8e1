//! Checkpoint snapshots in the embedded store: kept (and pruned to the newest few) inside
//! the commit that reaches the checkpoint, read back for the snapshot API, and restored in
//! place when the node is found out of consensus.

use super::{err, insert_pending, EmbeddedStore, CHECKPOINTS, EVENTS, LATTICE, PENDING, PROGRESS, SNAPSHOTS, STATE};
use crate::{decode_snapshot, encode_snapshot, CommitBatch, ModuleSnapshot, Restore, StoreError};
use redb::{ReadableTable, WriteTransaction};
use std::collections::BTreeSet;

/// The distinct checkpoint blocks of a snapshots table, oldest first.
fn blocks_in<T: ReadableTable<(u64, &'static str), &'static [u8]>>(
    table: &T,
    op: &'static str,
) -> Result<Vec<u64>, StoreError> {
    let mut blocks: Vec<u64> = Vec::new();
    for entry in table.iter().map_err(err(op))? {
        let (k, _) = entry.map_err(err(op))?;
        let b = k.value().0;
        if blocks.last() != Some(&b) {
            blocks.push(b);
        }
    }
    Ok(blocks)
}

/// Writes the snapshots a commit carries (each with its module's outbox of that block) and
/// prunes the table to the newest `keep` checkpoint blocks; part of the commit's transaction.
pub(super) fn keep(tx: &WriteTransaction, batch: &CommitBatch, keep: usize) -> Result<(), StoreError> {
    const OP: &str = "commit";
    let mut snaps = tx.open_table(SNAPSHOTS).map_err(err(OP))?;
    let mut wrote = false;
    for m in &batch.modules {
        let Some(pairs) = &m.snapshot else { continue };
        let snap = ModuleSnapshot {
            pairs: pairs.clone(),
            outbox: batch
                .pending_messages
                .iter()
                .filter(|msg| msg.from == m.module)
                .cloned()
                .collect(),
        };
        snaps
            .insert((m.progress.block, m.module.as_str()), encode_snapshot(&snap).as_slice())
            .map_err(err(OP))?;
        wrote = true;
    }
    if wrote {
        let blocks = blocks_in(&snaps, OP)?;
        if blocks.len() > keep {
            let cut = blocks[blocks.len() - keep];
            snaps.retain(|(b, _), _| b >= cut).map_err(err(OP))?;
        }
    }
    Ok(())
}

impl EmbeddedStore {
    pub(super) fn snapshot_blocks_kept(&self) -> Result<Vec<u64>, StoreError> {
        const OP: &str = "snapshot_blocks";
        let tx = self.read(OP)?;
        let t = tx.open_table(SNAPSHOTS).map_err(err(OP))?;
        blocks_in(&t, OP)
    }

    pub(super) fn snapshot_kept(&self, module: &str, block: u64) -> Result<Option<ModuleSnapshot>, StoreError> {
        const OP: &str = "snapshot";
        let tx = self.read(OP)?;
        let t = tx.open_table(SNAPSHOTS).map_err(err(OP))?;
        let Some(v) = t.get((block, module)).map_err(err(OP))? else {
            return Ok(None);
        };
        decode_snapshot(v.value())
            .map(Some)
            .map_err(|e| super::corrupt(format!("snapshot of module {module} at block {block}"), e))
    }

    /// One write transaction: the restored modules' state, lattice, progress, checkpoints,
    /// events, snapshots and pending messages become what they were at the block.
    pub(super) fn restore_in_place(&self, r: &Restore) -> Result<(), StoreError> {
        const OP: &str = "restore";
        let tx = self.db.begin_write().map_err(err(OP))?;
        {
            let mut state = tx.open_table(STATE).map_err(err(OP))?;
            let mut lattice = tx.open_table(LATTICE).map_err(err(OP))?;
            let mut progress = tx.open_table(PROGRESS).map_err(err(OP))?;
            let mut checkpoints = tx.open_table(CHECKPOINTS).map_err(err(OP))?;
            let mut events = tx.open_table(EVENTS).map_err(err(OP))?;
            let mut pending = tx.open_table(PENDING).map_err(err(OP))?;
            let mut snaps = tx.open_table(SNAPSHOTS).map_err(err(OP))?;
            let names: BTreeSet<&str> = r.modules.iter().map(|m| m.module.as_str()).collect();
            for m in &r.modules {
                let module = m.module.as_str();
                state.retain(|(mm, _), _| mm != module).map_err(err(OP))?;
                for (k, v) in &m.snapshot.pairs {
                    state.insert((module, k.as_slice()), v.as_slice()).map_err(err(OP))?;
                }
                lattice.insert(module, m.lattice.as_slice()).map_err(err(OP))?;
                progress.insert(module, (r.block, m.next_offset)).map_err(err(OP))?;
                checkpoints
                    .retain(|(mm, b), _| mm != module || b < r.block)
                    .map_err(err(OP))?;
                checkpoints.insert((module, r.block), m.checkpoint).map_err(err(OP))?;
                events
                    .retain(|(mm, b, ..), _| mm != module || b <= r.block)
                    .map_err(err(OP))?;
                snaps
                    .retain(|(b, mm), _| mm != module || b < r.block)
                    .map_err(err(OP))?;
                snaps
                    .insert((r.block, module), encode_snapshot(&m.snapshot).as_slice())
                    .map_err(err(OP))?;
            }
            pending.retain(|(to, ..), _| !names.contains(to)).map_err(err(OP))?;
            for msg in r.modules.iter().flat_map(|m| &m.snapshot.outbox) {
                if !names.contains(msg.to.as_str()) {
                    continue;
                }
                insert_pending(&mut pending, msg, OP)?;
            }
        }
        tx.commit().map_err(err(OP))
    }
}
