//! Op statuses stored per block, with a compact transaction-id index.
//!
//! Why this layout: a status is written once per op and read only when someone asks for a
//! transaction (`/api/status/:txid`). Keyed by transaction id, every status landed on another
//! B-tree page (transaction ids are hashes), so each insert cost a page walk and a page
//! rewrite that grew with the table; stored as one value per `(module, block)` the statuses
//! of a block are one append at the right edge of the tree, and the index holds only a
//! 16-byte number and the module per transaction and block.
//!
//! - `opentoken_block_statuses`: `(module, block) -> [u32 LE length, OpStatus (Avro
//!   single-object)]*`, the block's statuses of that module in chain order.
//! - `opentoken_txid_blocks`: `(txid tag, block, module) -> ()`, where the tag is the first 8
//!   bytes of SHA-256(txid) read big-endian. A lookup reads the blocks its tag names and keeps
//!   the statuses whose txid is the one asked for, so a tag collision costs a block read and
//!   never returns another transaction's status. Tags are a hash of what the chain hashed
//!   already; to make one transaction share a tag with a given other, a sender would need
//!   about 2^64 attempts, and it would buy one extra block read.
//!
//! Writing a `(module, block)` that holds statuses already (a batch committed again after a
//! crash, or ops of the same block in two batches) merges by chain position and transaction
//! id: a status with both the same replaces the old one, as the per-row table it replaces
//! did (keyed by transaction id and position).

use super::{corrupt, err};
use crate::StoreError;
use opentoken_codec::{decode_op_status, encode_op_status};
use opentoken_core::{ChainPos, OpStatus};
use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle, WriteTransaction};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// `(module, block)`.
type BlockKey<'a> = (&'a str, u64);
/// `(txid tag, block, module)`.
type TxidKey<'a> = (u64, u64, &'a str);
/// One block's statuses of a module, keyed as the per-row table was: by position, then
/// transaction id.
type BlockStatuses<'a> = BTreeMap<(ChainPos, &'a str), &'a OpStatus>;

pub(super) const BLOCK_STATUSES: TableDefinition<'_, BlockKey<'_>, &[u8]> =
    TableDefinition::new("opentoken_block_statuses");
pub(super) const TXID_BLOCKS: TableDefinition<'_, TxidKey<'_>, ()> = TableDefinition::new("opentoken_txid_blocks");

/// The layout before statuses were stored per block, read once to move a database's
/// statuses into the new tables and then deleted.
type OldStatusKey<'a> = (&'a str, u64, u32, u32, &'a str);
type OldStatusIndexKey<'a> = (&'a str, u64, u32, u32, &'a str);
const OLD_STATUSES: TableDefinition<'_, OldStatusKey<'_>, &[u8]> = TableDefinition::new("opentoken_statuses");
const OLD_STATUS_INDEX: TableDefinition<'_, OldStatusIndexKey<'_>, ()> = TableDefinition::new("opentoken_status_index");

/// The index tag of a transaction id.
pub(super) fn txid_tag(txid: &str) -> u64 {
    let d = Sha256::digest(txid.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b)
}

/// Encodes a block's statuses (already in chain order).
fn encode_block<'a>(statuses: impl IntoIterator<Item = &'a OpStatus>) -> Vec<u8> {
    let mut out = Vec::new();
    for s in statuses {
        let bytes = encode_op_status(s);
        // A status is an op name, two account names, a transaction id and a reason the
        // engine bounds: far below 4 GiB.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

/// Decodes a block's statuses; `what` names the block for a corruption error.
fn decode_block(bytes: &[u8], what: impl Fn() -> String) -> Result<Vec<OpStatus>, StoreError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(corrupt(what(), "a status length is cut short"));
        };
        let len = u32::from_le_bytes(*len) as usize;
        if tail.len() < len {
            return Err(corrupt(
                what(),
                format!("a status of {len} bytes has only {} left", tail.len()),
            ));
        }
        let (one, tail) = tail.split_at(len);
        out.push(decode_op_status(one).map_err(|e| corrupt(what(), e))?);
        rest = tail;
    }
    Ok(out)
}

fn block_what(module: &str, block: u64) -> impl Fn() -> String + '_ {
    move || format!("statuses of module {module} at block {block}")
}

/// Writes a batch's statuses: one value per `(module, block)`, merged with what that block
/// holds already, and one index entry per transaction id, block and module.
pub(super) fn write(tx: &WriteTransaction, statuses: &[OpStatus]) -> Result<(), StoreError> {
    const OP: &str = "commit";
    if statuses.is_empty() {
        return Ok(());
    }
    let mut blocks: BTreeMap<(&str, u64), BlockStatuses<'_>> = BTreeMap::new();
    for s in statuses {
        blocks
            .entry((s.module.as_str(), s.pos.block))
            .or_default()
            .insert((s.pos, s.txid.as_str()), s);
    }
    let mut table = tx.open_table(BLOCK_STATUSES).map_err(err(OP))?;
    let mut index = tx.open_table(TXID_BLOCKS).map_err(err(OP))?;
    for ((module, block), new) in blocks {
        let old = match table.get((module, block)).map_err(err(OP))? {
            Some(v) => decode_block(v.value(), block_what(module, block))?,
            None => Vec::new(),
        };
        let bytes = if old.is_empty() {
            encode_block(new.values().copied())
        } else {
            let mut merged: BlockStatuses<'_> = old.iter().map(|s| ((s.pos, s.txid.as_str()), s)).collect();
            merged.extend(new.iter().map(|(k, s)| (*k, *s)));
            encode_block(merged.values().copied())
        };
        table.insert((module, block), bytes.as_slice()).map_err(err(OP))?;
        let mut tags: Vec<u64> = new.values().map(|s| txid_tag(&s.txid)).collect();
        tags.sort_unstable();
        tags.dedup();
        for tag in tags {
            index.insert((tag, block, module), ()).map_err(err(OP))?;
        }
    }
    Ok(())
}

/// Deletes `module`'s statuses of blocks before `oldest_kept` and their index entries (a
/// range read of exactly what expired: the work of a commit is the statuses it expires).
pub(super) fn expire(tx: &WriteTransaction, module: &str, oldest_kept: u64) -> Result<(), StoreError> {
    const OP: &str = "commit";
    if oldest_kept == 0 {
        return Ok(());
    }
    let mut table = tx.open_table(BLOCK_STATUSES).map_err(err(OP))?;
    let mut index = tx.open_table(TXID_BLOCKS).map_err(err(OP))?;
    let mut expired: Vec<(u64, Vec<u64>)> = Vec::new();
    for entry in table.range((module, 0u64)..(module, oldest_kept)).map_err(err(OP))? {
        let (k, v) = entry.map_err(err(OP))?;
        let block = k.value().1;
        let mut tags: Vec<u64> = decode_block(v.value(), block_what(module, block))?
            .iter()
            .map(|s| txid_tag(&s.txid))
            .collect();
        tags.sort_unstable();
        tags.dedup();
        expired.push((block, tags));
    }
    for (block, tags) in &expired {
        for tag in tags {
            index.remove((*tag, *block, module)).map_err(err(OP))?;
        }
        table.remove((module, *block)).map_err(err(OP))?;
    }
    Ok(())
}

/// The statuses of every op of `txid`, in chain order (then module).
pub(super) fn read(tx: &ReadTransaction, txid: &str) -> Result<Vec<OpStatus>, StoreError> {
    const OP: &str = "statuses";
    let table = tx.open_table(BLOCK_STATUSES).map_err(err(OP))?;
    let index = tx.open_table(TXID_BLOCKS).map_err(err(OP))?;
    let tag = txid_tag(txid);
    let mut out = Vec::new();
    for entry in index.range((tag, 0u64, "")..).map_err(err(OP))? {
        let (k, _) = entry.map_err(err(OP))?;
        let (t, block, module) = k.value();
        if t != tag {
            break;
        }
        if let Some(v) = table.get((module, block)).map_err(err(OP))? {
            let all = decode_block(v.value(), block_what(module, block))?;
            out.extend(all.into_iter().filter(|s| s.txid == txid));
        }
    }
    out.sort_by(|a, b| (a.pos, &a.module).cmp(&(b.pos, &b.module)));
    Ok(out)
}

/// Creates the tables and moves the statuses of a database written with the per-row layout
/// into them (once: the old tables are deleted afterwards), so an upgraded node keeps
/// answering for the transactions of its status window.
pub(super) fn open(tx: &WriteTransaction) -> Result<(), StoreError> {
    const OP: &str = "open";
    tx.open_table(BLOCK_STATUSES).map_err(err(OP))?;
    tx.open_table(TXID_BLOCKS).map_err(err(OP))?;
    let has_old = tx
        .list_tables()
        .map_err(err(OP))?
        .any(|t| t.name() == OLD_STATUSES.name() || t.name() == OLD_STATUS_INDEX.name());
    if !has_old {
        return Ok(());
    }
    let mut moved = 0u64;
    {
        let old = tx.open_table(OLD_STATUSES).map_err(err(OP))?;
        let total = old.len().map_err(err(OP))?;
        // In bounded pieces: a week of statuses of a busy token is millions of rows.
        const PIECE: usize = 100_000;
        let mut batch = Vec::with_capacity(PIECE.min(usize::try_from(total).unwrap_or(PIECE)));
        for entry in old.iter().map_err(err(OP))? {
            let (k, v) = entry.map_err(err(OP))?;
            let (txid, b, t, o, module) = k.value();
            batch.push(
                decode_op_status(v.value())
                    .map_err(|e| corrupt(format!("status of transaction {txid} at {b}:{t}:{o} ({module})"), e))?,
            );
            if batch.len() == PIECE {
                write(tx, &batch)?;
                moved += batch.len() as u64;
                batch.clear();
            }
        }
        write(tx, &batch)?;
        moved += batch.len() as u64;
    }
    tx.delete_table(OLD_STATUSES).map_err(err(OP))?;
    tx.delete_table(OLD_STATUS_INDEX).map_err(err(OP))?;
    tracing::info!(statuses = moved, "op statuses moved to the per-block layout");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::{Outcome, RejectCode};

    fn status(txid: &str, block: u64, trx: u32, module: &str) -> OpStatus {
        OpStatus {
            txid: txid.into(),
            pos: ChainPos {
                block,
                trx_in_block: trx,
                op_in_trx: 0,
            },
            module: module.into(),
            op: "send".into(),
            from: "alice".into(),
            outcome: Outcome::Rejected {
                code: RejectCode::MalformedJson,
                reason: "x".into(),
            },
        }
    }

    #[test]
    fn a_block_round_trips_and_a_cut_block_is_corrupt() {
        let st = [status("a", 5, 0, "token"), status("b", 5, 1, "token")];
        let bytes = encode_block(&st);
        assert_eq!(decode_block(&bytes, || "b".into()).unwrap(), st);
        let first = 4 + encode_op_status(&st[0]).len();
        for cut in (1..bytes.len()).filter(|c| *c != first) {
            assert!(decode_block(&bytes[..cut], || "b".into()).is_err(), "cut at {cut}");
        }
        assert!(decode_block(&[], || "b".into()).unwrap().is_empty());
    }
}
