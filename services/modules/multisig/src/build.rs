//! The multi-sig transaction that pays the outflow queue, built by every node alike in the
//! chron work of checkpoint blocks, the only blocks whose id and time chron work sees.
//!
//! At checkpoint `N` with header `h`, in this order:
//! 1. **Settle**: the open transaction whose outflows are all paid is closed (`TxSettled`).
//! 2. **Expire**: otherwise, when `h.timestamp > expiration`, no later block can include it
//!    (Hive applies a transaction only while the head time is before its expiration), and
//!    every block up to `N` has been processed, so an inclusion would have been seen: its
//!    outflows still unpaid are pending again (`TxExpired`). If it had its threshold of
//!    signatures and nothing of it was paid, Hive refused it (a recipient that does not
//!    exist, say): `TxFailed` halves the outflows the next transactions carry until one
//!    lands (then doubles them per landed transaction, up to `max_outflows_per_tx`), so a
//!    bad outflow ends up alone, and an outflow that fails alone
//!    `return_after_failures` times is credited back to its owner (`OutflowReturned`)
//!    instead of blocking the queue for everyone.
//!    A rotation (`src/rotate.rs`) is never settled here (its `account_update2` on chain
//!    settles it) but expires the same way.
//! 3. **Build**, when signers are set and no transaction is open (also right after 1 or 2,
//!    in the same chron work): when a rotation is wanted, the rotation (outflows wait, so
//!    that no transaction is ever signed by an authority on its way out); else the oldest
//!    `max_outflows_per_tx` pending outflows, one
//!    transfer each in `seq` order, with TaPoS from block `N` (`ref_block_num = N & 0xffff`,
//!    `ref_block_prefix` = bytes 4..8 of its id, little-endian) and
//!    `expiration = h.timestamp + tx_expiration_secs` (`TxBuilt`).
//!
//! One transaction is open at a time, and an outflow enters a new one only after the one
//! holding it can no longer be included, so no outflow is ever in two transactions that
//! could both land.

use crate::keys::{self, OpenTx, Outflow, OutflowState};
use crate::state::{amount, broken, open_tx, outflow, signers, to_hex, wanted};
use crate::{MultisigEvent, MultisigModule};
use opentoken_core::module::InvariantError;
use opentoken_core::{Asset, BlockContext, BlockHeader, StateRead};
use opentoken_hive_tx::{Operation, Packing, Transaction};
use std::collections::BTreeSet;

/// The transfer that pays `out` from `account`.
pub(crate) fn transfer_op(account: &str, out: &Outflow) -> Result<Operation, String> {
    let amount = i64::try_from(out.amount).map_err(|_| format!("{} is outside Hive's asset range", out.amount))?;
    Ok(Operation::Transfer {
        from: account.to_string(),
        to: out.to.clone(),
        amount: Asset::new(amount, out.asset.asset()),
        memo: out.memo.clone(),
    })
}

impl MultisigModule {
    /// The chron work: settle, expire, build (see the module doc).
    pub(crate) fn chron(
        &self,
        ctx: &BlockContext<'_>,
        state: &dyn StateRead,
    ) -> Result<Vec<MultisigEvent>, InvariantError> {
        let Some(h) = ctx.header else {
            return Ok(vec![]);
        };
        if !ctx.spec.is_checkpoint(ctx.block) {
            return Ok(vec![]);
        }
        let mut events = Vec::new();
        let mut returned = BTreeSet::new();
        let mut gone = BTreeSet::new();
        let max = self.config().max_outflows_per_tx;
        let mut batch = match state.get(keys::BATCH) {
            Some(_) => u32::try_from(amount(state, keys::BATCH)).unwrap_or(max).clamp(1, max),
            None => max,
        };
        let mut open = open_tx(state)?;
        if let Some(tx) = &open {
            let unpaid = unpaid_of(tx, state)?;
            if tx.rotate.is_some() {
                if h.timestamp > tx.expiration {
                    events.push(MultisigEvent::TxExpired {
                        checkpoint: tx.checkpoint,
                        seqs: vec![],
                    });
                    open = None;
                }
            } else if unpaid.is_empty() {
                events.push(MultisigEvent::TxSettled {
                    checkpoint: tx.checkpoint,
                });
                batch = grown(batch, max);
                open = None;
            } else if h.timestamp > tx.expiration {
                returned.extend(unpaid.iter().copied());
                if unpaid.len() == tx.seqs.len() && fully_signed(tx, state)? {
                    batch = u32::try_from(unpaid.len() / 2).unwrap_or(1).clamp(1, max);
                    let alone = match unpaid.as_slice() {
                        [seq] => Some(*seq),
                        _ => None,
                    };
                    events.push(MultisigEvent::TxFailed {
                        checkpoint: tx.checkpoint,
                        seqs: unpaid,
                        batch,
                    });
                    if let Some(seq) = alone {
                        let failures = amount(state, &keys::fail(seq)).saturating_add(1);
                        if failures >= u64::from(self.config().return_after_failures) {
                            let out = outflow(state, seq)?.ok_or_else(|| broken(format!("ot:{seq} vanished")))?;
                            gone.insert(seq);
                            events.push(MultisigEvent::OutflowReturned {
                                seq,
                                account: out.owner().to_string(),
                                asset: out.asset,
                                amount: out.amount,
                                why: format!(
                                    "Hive refused it {failures} times alone in a fully signed transaction (the recipient @{} may not exist)",
                                    out.to
                                ),
                            });
                        }
                    }
                } else {
                    events.push(MultisigEvent::TxExpired {
                        checkpoint: tx.checkpoint,
                        seqs: unpaid,
                    });
                }
                open = None;
            }
        }
        if open.is_none() {
            match wanted(state)? {
                Some(w) => events.extend(self.build_rotation(ctx, h, w, state)?),
                None => events.extend(self.build(ctx, h, &returned, &gone, batch, state)?),
            }
        }
        Ok(events)
    }

    /// The transaction of checkpoint `ctx.block`, if there is anything to pay and someone
    /// to sign: at most `batch` outflows. `returned` are the outflows an expiry in the same
    /// chron work makes pending, `gone` those it credits back.
    fn build(
        &self,
        ctx: &BlockContext<'_>,
        h: BlockHeader<'_>,
        returned: &BTreeSet<u64>,
        gone: &BTreeSet<u64>,
        batch: u32,
        state: &dyn StateRead,
    ) -> Result<Option<MultisigEvent>, InvariantError> {
        if signers(state)?.is_none() {
            return Ok(None);
        }
        let account = &self.config().account;
        let max = batch as usize;
        let (mut seqs, mut operations) = (Vec::new(), Vec::new());
        for (k, v) in state.scan_prefix(keys::OUT_PREFIX) {
            if seqs.len() == max {
                break;
            }
            let seq = keys::seq_of(k, keys::OUT_PREFIX).ok_or_else(|| broken("a malformed out/ key"))?;
            if gone.contains(&seq) {
                continue;
            }
            let out: Outflow =
                serde_json::from_slice(v).map_err(|e| broken(format!("out/{seq} does not decode: {e}")))?;
            match out.state {
                OutflowState::Pending => {}
                OutflowState::InTx(_) if returned.contains(&seq) => {}
                OutflowState::InTx(n) => {
                    return Err(broken(format!(
                        "ot:{seq} is in the transaction of checkpoint {n}, which is not open"
                    )))
                }
            }
            operations.push(transfer_op(account, &out).map_err(|e| broken(format!("ot:{seq}: {e}")))?);
            seqs.push(seq);
        }
        if seqs.is_empty() {
            return Ok(None);
        }
        let (tx, digest) = self.transaction(ctx, h, operations)?;
        Ok(Some(MultisigEvent::TxBuilt {
            checkpoint: ctx.block,
            ref_block_num: tx.ref_block_num,
            ref_block_prefix: tx.ref_block_prefix,
            expiration: u64::from(tx.expiration),
            seqs,
            digest,
            txid: tx.id(Packing::Legacy),
        }))
    }

    /// The transaction of checkpoint `ctx.block` holding `operations`: TaPoS from the
    /// block, expiration from its time, and the digest signers sign (hex).
    pub(crate) fn transaction(
        &self,
        ctx: &BlockContext<'_>,
        h: BlockHeader<'_>,
        operations: Vec<Operation>,
    ) -> Result<(Transaction, String), InvariantError> {
        let block = ctx.block;
        let expiration = h
            .timestamp
            .checked_add(self.config().tx_expiration_secs)
            .and_then(|e| u32::try_from(e).ok())
            .ok_or_else(|| {
                broken(format!(
                    "block {block}'s time {} + the expiration overflows Hive's u32 time",
                    h.timestamp
                ))
            })?;
        // The header comes from a verified block: an id that is not 40 hex digits cannot.
        let tx = Transaction::with_reference(block, h.id, expiration, operations)
            .map_err(|e| broken(format!("block {block}'s id: {e}")))?;
        let digest = to_hex(&tx.sig_digest(&ctx.spec.hive_chain_id(), Packing::Legacy));
        Ok((tx, digest))
    }

    /// The next checkpoint after `after` when chron work may have something to do there: a
    /// transaction is open (to settle or expire), or signers are set and outflows or a
    /// rotation wait.
    pub(crate) fn next_due(&self, state: &dyn StateRead, after: u64) -> Option<u64> {
        let open = state.scan_prefix(keys::TX_PREFIX).next().is_some();
        // With no transaction open, every unpaid outflow is pending.
        let waiting = state.get(keys::SIGNERS).is_some()
            && (state.get(keys::WANTED).is_some() || state.scan_prefix(keys::OUT_PREFIX).next().is_some());
        if !(open || waiting) {
            return None;
        }
        let interval = self.checkpoint_interval.max(1);
        (after / interval).checked_add(1)?.checked_mul(interval)
    }
}

/// The batch after a transaction landed: doubled, up to `max`. Growing back (rather than
/// jumping to `max`) keeps an outflow Hive refuses from failing a full batch again soon.
pub(crate) fn grown(batch: u32, max: u32) -> u32 {
    batch.saturating_mul(2).min(max)
}

/// Whether `tx` has at least the signers' threshold of accepted signatures: every node
/// could assemble it, so if it expired unseen, Hive refused it.
fn fully_signed(tx: &OpenTx, state: &dyn StateRead) -> Result<bool, InvariantError> {
    let Some(list) = signers(state)? else {
        return Ok(false);
    };
    let count = state.scan_prefix(&keys::sigs_of(tx.checkpoint)).count();
    Ok(count >= list.threshold as usize)
}

/// The outflows of `tx` not paid yet; each must still be in it.
pub(crate) fn unpaid_of(tx: &OpenTx, state: &dyn StateRead) -> Result<Vec<u64>, InvariantError> {
    let mut unpaid = Vec::new();
    for seq in &tx.seqs {
        match outflow(state, *seq)? {
            None => {}
            Some(out) if out.state == OutflowState::InTx(tx.checkpoint) => unpaid.push(*seq),
            Some(out) => {
                return Err(broken(format!(
                    "ot:{seq} is in the transaction of checkpoint {} but {:?}",
                    tx.checkpoint, out.state
                )))
            }
        }
    }
    Ok(unpaid)
}
