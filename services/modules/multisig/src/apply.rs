//! Evolve: how each event changes the books. Total by contract: an event `handle`
//! produced always applies, so every failure here is a broken invariant, and after every
//! event the books must balance ([`check_books`]).

use crate::keys::{self, Anomaly, Outflow, OutflowReason, OutflowState, PaidOutflow};
use crate::state::{add, broken, check_books, next_seq, outflow, push_bounded, put_json, sub};
use crate::{MultisigConfig, MultisigEvent};
use opentoken_core::module::InvariantError;
use opentoken_core::{StateRead, StateWrite};

pub(crate) fn apply(
    cfg: &MultisigConfig,
    event: &MultisigEvent,
    state: &mut dyn StateWrite,
) -> Result<(), InvariantError> {
    match event {
        MultisigEvent::Deposited { account, asset, amount } => {
            add(state, keys::balance(*asset, account), *amount)?;
            add(state, keys::total_balances(*asset), *amount)?;
            add(state, keys::held(*asset), *amount)?;
            check_books(state, *asset)
        }
        MultisigEvent::Refunded {
            seq,
            to,
            asset,
            amount,
            memo,
            why,
            block,
        } => {
            expect_seq(state, *seq)?;
            add(state, keys::held(*asset), *amount)?;
            let out = Outflow {
                to: to.clone(),
                amount: *amount,
                asset: *asset,
                memo: memo.clone(),
                reason: OutflowReason::Refund(why.clone()),
                created_block: *block,
                state: OutflowState::Pending,
            };
            queue(state, *seq, &out)?;
            check_books(state, *asset)
        }
        MultisigEvent::WithdrawalQueued {
            seq,
            account,
            to,
            asset,
            amount,
            memo,
            block,
        } => {
            expect_seq(state, *seq)?;
            sub(state, keys::balance(*asset, account), *amount)?;
            sub(state, keys::total_balances(*asset), *amount)?;
            let out = Outflow {
                to: to.clone(),
                amount: *amount,
                asset: *asset,
                memo: memo.clone(),
                reason: OutflowReason::Withdrawal,
                created_block: *block,
                state: OutflowState::Pending,
            };
            queue(state, *seq, &out)?;
            check_books(state, *asset)
        }
        MultisigEvent::OutflowPaid {
            seq,
            to,
            asset,
            amount,
            block,
            txid,
        } => {
            let out = outflow(state, *seq)?.ok_or_else(|| broken(format!("ot:{seq} is paid but not pending")))?;
            if (&out.to, out.asset, out.amount) != (to, *asset, *amount) {
                return Err(broken(format!(
                    "ot:{seq} is {} to @{}, the payment {} to @{to}",
                    out.asset.format(out.amount),
                    out.to,
                    asset.format(*amount)
                )));
            }
            state.delete(&keys::outflow(*seq));
            sub(state, keys::total_pending(*asset), *amount)?;
            sub(state, keys::held(*asset), *amount)?;
            let paid = PaidOutflow {
                to: out.to,
                amount: out.amount,
                asset: out.asset,
                memo: out.memo,
                reason: out.reason,
                created_block: out.created_block,
                paid_block: *block,
                txid: txid.clone(),
            };
            let bytes = serde_json::to_vec(&paid).map_err(|e| broken(format!("encoding paid/{seq}: {e}")))?;
            push_bounded(
                state,
                keys::PAID_PREFIX,
                keys::PAID_COUNT,
                cfg.keep_paid,
                keys::paid(*seq),
                bytes,
            )?;
            check_books(state, *asset)
        }
        MultisigEvent::OutflowAnomaly {
            pos,
            txid,
            to,
            asset,
            amount,
            memo,
            why,
        } => {
            add(state, keys::total_anomalies(*asset), *amount)?;
            let record = Anomaly {
                txid: txid.clone(),
                to: to.clone(),
                amount: *amount,
                asset: *asset,
                memo: memo.clone(),
                why: why.clone(),
            };
            let bytes = serde_json::to_vec(&record).map_err(|e| broken(format!("encoding anomaly {pos}: {e}")))?;
            push_bounded(
                state,
                keys::ANOMALY_PREFIX,
                keys::ANOMALY_COUNT,
                cfg.keep_anomalies,
                keys::anomaly(*pos),
                bytes,
            )?;
            check_books(state, *asset)
        }
    }
}

/// Refuses an outflow that is not the next number, before anything is written.
fn expect_seq(state: &dyn StateRead, seq: u64) -> Result<(), InvariantError> {
    let next = next_seq(state);
    if seq != next {
        return Err(broken(format!("outflow ot:{seq} queued, the next number is {next}")));
    }
    Ok(())
}

/// Writes outflow `seq` (checked by [`expect_seq`]) and counts it as pending.
fn queue(state: &mut dyn StateWrite, seq: u64, out: &Outflow) -> Result<(), InvariantError> {
    expect_seq(state, seq)?;
    let after = seq
        .checked_add(1)
        .ok_or_else(|| broken("the outflow counter overflows"))?;
    put_json(state, keys::outflow(seq), out)?;
    state.put(keys::SEQ.to_vec(), keys::encode_u64(after));
    add(state, keys::total_pending(out.asset), out.amount)
}

/// Both coins' books, for tests of a whole state.
#[cfg(test)]
pub(crate) fn check_all_books(state: &dyn StateRead) -> Result<(), InvariantError> {
    keys::Coin::ALL.iter().try_for_each(|c| check_books(state, *c))
}
