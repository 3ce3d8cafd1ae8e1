//! Evolve: how each event changes the books. Total by contract: an event `handle`
//! produced always applies, so every failure here is a broken invariant, and after every
//! event the books must balance ([`check_books`]).

use crate::keys::{
    self, threshold_of, Anomaly, AuthorityAnomaly, OpenTx, Outflow, OutflowReason, OutflowState, PaidOutflow, Signer,
    Signers,
};
use crate::sign::SIG_HEX_LEN;
use crate::signers::MAX_SIGNERS;
use crate::state::{
    add, broken, check_books, from_lower_hex, next_seq, open_tx, outflow, push_bounded, put_json, signers, sub, wanted,
};
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
                owner: None,
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
                owner: (account != to).then(|| account.clone()),
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
            state.delete(&keys::fail(*seq));
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
        MultisigEvent::SignersSet {
            signers: list,
            threshold,
        } => {
            check_list(list, *threshold)?;
            // Signatures of the open transaction count only from the current signers, each
            // with the key it was verified against.
            if let Some(tx) = open_tx(state)? {
                let before = signers(state)?.map(|s| s.signers).unwrap_or_default();
                let stale: Vec<Vec<u8>> = state
                    .scan_prefix(&keys::sigs_of(tx.checkpoint))
                    .filter_map(|(k, _)| {
                        let (_, account) = keys::sig_of(k)?;
                        let was = before.iter().find(|s| s.account == account);
                        (!was.is_some_and(|w| list.contains(w))).then(|| k.to_vec())
                    })
                    .collect();
                for k in stale {
                    state.delete(&k);
                }
            }
            put_json(
                state,
                keys::SIGNERS.to_vec(),
                &Signers {
                    signers: list.clone(),
                    threshold: *threshold,
                },
            )
        }
        MultisigEvent::TxBuilt {
            checkpoint,
            ref_block_num,
            ref_block_prefix,
            expiration,
            seqs,
            digest,
            txid,
        } => {
            can_open(state, *checkpoint)?;
            if wanted(state)?.is_some() {
                return Err(broken(format!(
                    "outflows are built into {checkpoint} while a rotation is wanted"
                )));
            }
            if seqs.is_empty() || seqs.len() > cfg.max_outflows_per_tx as usize {
                return Err(broken(format!("a transaction of {} outflows", seqs.len())));
            }
            if !seqs.windows(2).all(|w| w[0] < w[1]) {
                return Err(broken("a transaction's outflows are not in ascending order"));
            }
            for seq in seqs {
                let mut out =
                    outflow(state, *seq)?.ok_or_else(|| broken(format!("ot:{seq} is built but not unpaid")))?;
                if out.state != OutflowState::Pending {
                    return Err(broken(format!(
                        "ot:{seq} is built into {checkpoint} but {:?}",
                        out.state
                    )));
                }
                out.state = OutflowState::InTx(*checkpoint);
                put_json(state, keys::outflow(*seq), &out)?;
            }
            put_json(
                state,
                keys::tx(*checkpoint),
                &OpenTx {
                    checkpoint: *checkpoint,
                    ref_block_num: *ref_block_num,
                    ref_block_prefix: *ref_block_prefix,
                    expiration: *expiration,
                    seqs: seqs.clone(),
                    digest: digest.clone(),
                    txid: txid.clone(),
                    rotate: None,
                },
            )
        }
        MultisigEvent::SignersWanted {
            signers: list,
            threshold,
        } => {
            check_list(list, *threshold)?;
            let now = signers(state)?.ok_or_else(|| broken("a rotation is wanted before there are signers"))?;
            if &now.signers == list {
                state.delete(keys::WANTED);
                Ok(())
            } else {
                put_json(
                    state,
                    keys::WANTED.to_vec(),
                    &Signers {
                        signers: list.clone(),
                        threshold: *threshold,
                    },
                )
            }
        }
        MultisigEvent::RotationBuilt {
            checkpoint,
            ref_block_num,
            ref_block_prefix,
            expiration,
            signers: list,
            threshold,
            digest,
            txid,
        } => {
            check_list(list, *threshold)?;
            can_open(state, *checkpoint)?;
            let rotate = Signers {
                signers: list.clone(),
                threshold: *threshold,
            };
            if wanted(state)?.as_ref() != Some(&rotate) {
                return Err(broken(format!(
                    "the rotation of {checkpoint} is not to the wanted signers"
                )));
            }
            put_json(
                state,
                keys::tx(*checkpoint),
                &OpenTx {
                    checkpoint: *checkpoint,
                    ref_block_num: *ref_block_num,
                    ref_block_prefix: *ref_block_prefix,
                    expiration: *expiration,
                    seqs: vec![],
                    digest: digest.clone(),
                    txid: txid.clone(),
                    rotate: Some(rotate),
                },
            )
        }
        MultisigEvent::Rotated {
            checkpoint,
            signers: list,
            threshold,
            ..
        } => {
            let tx = expect_open(state, *checkpoint)?;
            let now = Signers {
                signers: list.clone(),
                threshold: *threshold,
            };
            if tx.rotate.as_ref() != Some(&now) {
                return Err(broken(format!(
                    "the rotation of {checkpoint} lands with other signers than it was built with"
                )));
            }
            close(state, *checkpoint);
            if wanted(state)?.as_ref() == Some(&now) {
                state.delete(keys::WANTED);
            }
            put_json(state, keys::SIGNERS.to_vec(), &now)
        }
        MultisigEvent::AuthorityAnomaly { pos, txid, why } => {
            let record = AuthorityAnomaly {
                txid: txid.clone(),
                why: why.clone(),
            };
            let bytes =
                serde_json::to_vec(&record).map_err(|e| broken(format!("encoding authority anomaly {pos}: {e}")))?;
            push_bounded(
                state,
                keys::AUTH_ANOMALY_PREFIX,
                keys::AUTH_ANOMALY_COUNT,
                cfg.keep_anomalies,
                keys::auth_anomaly(*pos),
                bytes,
            )
        }
        MultisigEvent::SignatureAccepted {
            checkpoint,
            account,
            sig,
        } => {
            expect_open(state, *checkpoint)?;
            let known = signers(state)?.is_some_and(|s| s.signers.iter().any(|x| &x.account == account));
            if !known {
                return Err(broken(format!("@{account} signs but is not a signer")));
            }
            let key = keys::sig(*checkpoint, account);
            if state.get(&key).is_some() {
                return Err(broken(format!("@{account} signs {checkpoint} twice")));
            }
            if sig.len() != SIG_HEX_LEN || from_lower_hex(sig).is_none() {
                return Err(broken(format!(
                    "@{account}'s signature is not 65 bytes of lower-case hex"
                )));
            }
            state.put(key, sig.as_bytes().to_vec());
            Ok(())
        }
        MultisigEvent::TxExpired { checkpoint, seqs } => expire(state, *checkpoint, seqs),
        MultisigEvent::TxFailed {
            checkpoint,
            seqs,
            batch,
        } => {
            if seqs.is_empty() || *batch == 0 || *batch > cfg.max_outflows_per_tx {
                return Err(broken(format!(
                    "the transaction of {checkpoint} fails with {} outflows, next batch {batch}",
                    seqs.len()
                )));
            }
            expire(state, *checkpoint, seqs)?;
            if *batch == cfg.max_outflows_per_tx {
                state.delete(keys::BATCH);
            } else {
                state.put(keys::BATCH.to_vec(), keys::encode_u64(u64::from(*batch)));
            }
            if let [seq] = seqs.as_slice() {
                add(state, keys::fail(*seq), 1)?;
            }
            Ok(())
        }
        MultisigEvent::OutflowReturned {
            seq,
            account,
            asset,
            amount,
            ..
        } => {
            let out = outflow(state, *seq)?.ok_or_else(|| broken(format!("ot:{seq} is returned but not unpaid")))?;
            if out.state != OutflowState::Pending
                || out.owner() != account
                || (out.asset, out.amount) != (*asset, *amount)
            {
                return Err(broken(format!(
                    "ot:{seq} ({:?}, {} owned by @{}) is returned as {} to @{account}",
                    out.state,
                    out.asset.format(out.amount),
                    out.owner(),
                    asset.format(*amount)
                )));
            }
            state.delete(&keys::outflow(*seq));
            state.delete(&keys::fail(*seq));
            sub(state, keys::total_pending(*asset), *amount)?;
            add(state, keys::balance(*asset, account), *amount)?;
            add(state, keys::total_balances(*asset), *amount)?;
            check_books(state, *asset)
        }
        MultisigEvent::Escrowed {
            module,
            account,
            asset,
            amount,
            order,
            from_l2,
        } => {
            check_escrow(module, account, *asset, *amount, order)?;
            if *from_l2 {
                sub(state, keys::balance(*asset, account), *amount)?;
                sub(state, keys::total_balances(*asset), *amount)?;
            } else {
                add(state, keys::held(*asset), *amount)?;
            }
            add(state, keys::total_escrow(module, *asset), *amount)?;
            check_books(state, *asset)
        }
        MultisigEvent::EscrowPaid {
            module,
            account,
            asset,
            amount,
            ..
        } => {
            if *amount == 0 {
                return Err(broken(format!("{module} pays @{account} nothing")));
            }
            sub(state, keys::total_escrow(module, *asset), *amount)?;
            add(state, keys::balance(*asset, account), *amount)?;
            add(state, keys::total_balances(*asset), *amount)?;
            check_books(state, *asset)
        }
        MultisigEvent::EscrowPaidOut {
            module,
            seq,
            to,
            asset,
            amount,
            memo,
            order,
            why,
            block,
        } => {
            expect_seq(state, *seq)?;
            if *amount == 0 {
                return Err(broken(format!("{module} pays @{to} nothing (ot:{seq})")));
            }
            sub(state, keys::total_escrow(module, *asset), *amount)?;
            let out = Outflow {
                to: to.clone(),
                amount: *amount,
                asset: *asset,
                memo: memo.clone(),
                reason: OutflowReason::Module {
                    module: module.clone(),
                    order: order.clone(),
                    why: why.clone(),
                },
                created_block: *block,
                state: OutflowState::Pending,
                owner: None,
            };
            queue(state, *seq, &out)?;
            check_books(state, *asset)
        }
        MultisigEvent::CollateralSet { stake } => {
            if *stake > crate::state::MAX_AMOUNT {
                return Err(broken(format!("collateral {stake} is outside the ledger's range")));
            }
            state.put(keys::COLLATERAL.to_vec(), keys::encode_u64(*stake));
            Ok(())
        }
        MultisigEvent::TxSettled { checkpoint } => {
            let tx = expect_open(state, *checkpoint)?;
            let unpaid = crate::build::unpaid_of(&tx, state)?;
            if !unpaid.is_empty() {
                return Err(broken(format!(
                    "the transaction of {checkpoint} is settled with {unpaid:?} unpaid"
                )));
            }
            close(state, *checkpoint);
            if let Some(batch) = state.get(keys::BATCH).and_then(keys::decode_u64) {
                let max = cfg.max_outflows_per_tx;
                let next = crate::build::grown(u32::try_from(batch).unwrap_or(max), max);
                if next >= max {
                    state.delete(keys::BATCH);
                } else {
                    state.put(keys::BATCH.to_vec(), keys::encode_u64(u64::from(next)));
                }
            }
            Ok(())
        }
    }
}

/// An escrowed order is the buy of `amount` of `asset` by `account` that `handle` parsed:
/// the DEX is told exactly what the books escrowed.
/// The escrowed message matches the escrow: the DEX's order (a bid of that coin and
/// amount by that account) or the NFT module's coin payment (that payer, coin and amount).
fn check_escrow(
    module: &str,
    account: &str,
    asset: keys::Coin,
    amount: u64,
    payload: &str,
) -> Result<(), InvariantError> {
    match module {
        "dex" => check_order(account, asset, amount, payload),
        "nft" => {
            let c: opentoken_nft::protocol::CoinIn = serde_json::from_str(payload)
                .map_err(|e| broken(format!("the escrowed NFT payment does not decode: {e}")))?;
            if amount == 0 || c.from != account || c.amount != amount || c.coin != asset.to_string() {
                return Err(broken(format!(
                    "escrowed {} for @{account}, but the NFT payment is {} {} by @{}",
                    asset.format(amount),
                    c.amount,
                    c.coin,
                    c.from
                )));
            }
            Ok(())
        }
        other => Err(broken(format!("coin escrowed for {other:?}, which holds none"))),
    }
}

fn check_order(account: &str, asset: keys::Coin, amount: u64, order: &str) -> Result<(), InvariantError> {
    let o: opentoken_dex::OrderIn =
        serde_json::from_str(order).map_err(|e| broken(format!("the escrowed order does not decode: {e}")))?;
    let pair = crate::dex::pair_of(asset);
    if amount == 0 || o.from != account || o.amount != amount || o.pair != pair || o.side != opentoken_dex::Side::Bid {
        return Err(broken(format!(
            "escrowed {} for @{account}, but the order is a {} of {} {} by @{}",
            asset.format(amount),
            o.side.as_str(),
            o.amount,
            o.pair.symbol(),
            o.from
        )));
    }
    Ok(())
}

/// The open transaction of `checkpoint` expires: its unpaid outflows (`seqs`) are pending
/// again.
fn expire(state: &mut dyn StateWrite, checkpoint: u64, seqs: &[u64]) -> Result<(), InvariantError> {
    let tx = expect_open(state, checkpoint)?;
    let unpaid = crate::build::unpaid_of(&tx, state)?;
    if unpaid != seqs {
        return Err(broken(format!(
            "the transaction of {checkpoint} expires returning {seqs:?}, its unpaid outflows are {unpaid:?}"
        )));
    }
    for seq in seqs {
        let mut out = outflow(state, *seq)?.ok_or_else(|| broken(format!("ot:{seq} vanished")))?;
        out.state = OutflowState::Pending;
        put_json(state, keys::outflow(*seq), &out)?;
    }
    close(state, checkpoint);
    Ok(())
}

/// A signer list as the module stores it: 1..=40, sorted by account without repeats, and
/// its threshold.
fn check_list(list: &[Signer], threshold: u32) -> Result<(), InvariantError> {
    if list.is_empty() || list.len() > MAX_SIGNERS {
        return Err(broken(format!("{} signers", list.len())));
    }
    if !list.windows(2).all(|w| w[0].account < w[1].account) {
        return Err(broken("the signers are not sorted by account without repeats"));
    }
    if threshold != threshold_of(list.len()) {
        return Err(broken(format!("threshold {threshold} for {} signers", list.len())));
    }
    Ok(())
}

/// A transaction (outflows or rotation) can be opened at `checkpoint`: there are signers
/// and none is open.
fn can_open(state: &dyn StateRead, checkpoint: u64) -> Result<(), InvariantError> {
    if signers(state)?.is_none() {
        return Err(broken(format!(
            "the transaction of {checkpoint} is built without signers"
        )));
    }
    if let Some(open) = open_tx(state)? {
        return Err(broken(format!(
            "the transaction of {checkpoint} is built while that of {} is open",
            open.checkpoint
        )));
    }
    Ok(())
}

/// The open transaction, which must be the one of `checkpoint`.
fn expect_open(state: &dyn StateRead, checkpoint: u64) -> Result<OpenTx, InvariantError> {
    match open_tx(state)? {
        Some(tx) if tx.checkpoint == checkpoint => Ok(tx),
        other => Err(broken(format!(
            "the transaction of {checkpoint} is not the open one ({:?})",
            other.map(|t| t.checkpoint)
        ))),
    }
}

/// Deletes a transaction and its signatures.
fn close(state: &mut dyn StateWrite, checkpoint: u64) {
    let sigs: Vec<Vec<u8>> = state
        .scan_prefix(&keys::sigs_of(checkpoint))
        .map(|(k, _)| k.to_vec())
        .collect();
    for k in sigs {
        state.delete(&k);
    }
    state.delete(&keys::tx(checkpoint));
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
