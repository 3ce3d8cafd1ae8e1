//! Hive transfers that touch the multi-sig account.
//!
//! **To the account (a deposit).** Money has arrived, so it is never dropped: it is
//! credited to the sender's Layer-2 balance, or, when it cannot be accepted, queued back
//! to the sender as a refund with the reason in its memo. What can be accepted:
//! - a HIVE or HBD amount of at least `min_deposit` with a plain memo: credited;
//! - a memo for a module (`{"<module>": ...}`): refunded, "no module accepts `<module>`
//!   yet" (the modules that take deposits come later and will get them as messages);
//! - a memo that starts with `{` but is not such an object: refunded;
//! - below `min_deposit`: refunded;
//! - over the safety limit (`src/safety.rs`): refunded;
//! - on a chain that runs the NFT module, a memo `NFTbuy|NFTbid|NFTtrade <set>:<uid>`:
//!   escrowed for the NFT module (`src/nft.rs`) after the same checks as a plain deposit;
//!   a malformed one is refunded with the reason;
//! - on a chain that runs the DEX, a memo that is a DEX buy order (`{"rate": ...}`,
//!   `{"dex": {...}}`): escrowed for the DEX (`src/dex.rs`) after the same checks as a plain
//!   deposit; a DEX order with a bad field is refunded with the reason.
//!
//! Only what cannot be a real Hive transfer is rejected (state unchanged): VESTS, a zero
//! or negative amount, an invalid account name (Hive's transfer validation refuses all
//! of these, so nothing arrived and there is nothing to refund), or an amount that would
//! take the account's expected holdings past Hive's asset range. A transfer from the
//! account to itself moves nothing and is ignored (`nothing_to_do`).
//!
//! **From the account (a confirmation).** The transfer pays the outflow its memo names
//! (`... ot:<seq>`) when that outflow is unpaid and the transfer has exactly its
//! recipient, amount, coin and memo: the outflow is paid, and what the account is expected
//! to hold goes down. Anything else (no id, an unknown or already paid outflow, any
//! difference) is recorded as an anomaly: nothing is credited, nothing is paid, the
//! expected holdings stay, and the unexplained amount is added to `tot/anomaly/<COIN>`.

use crate::dex::escrowed;
use crate::keys::{self, Coin};
use crate::memo::{classify, cut, outflow_id, refund_memo, DepositMemo, MAX_RECORDED_MEMO};
use crate::state::{amount, fits, next_seq, outflow};
use crate::withdraw::{checked_seq, pending_room};
use crate::{MultisigEvent, MultisigModule};
use opentoken_core::account::is_valid_account_name;
use opentoken_core::{OpContext, Reject, RejectCode, StateRead, TransferOp};
use opentoken_dex::order::MemoOrder;

impl MultisigModule {
    pub(crate) fn transfer(
        &self,
        ctx: &OpContext<'_>,
        t: &TransferOp,
        state: &dyn StateRead,
    ) -> Result<Vec<MultisigEvent>, Reject> {
        let account = &self.config().account;
        if t.from == *account && t.to == *account {
            return Err(Reject::new(
                RejectCode::NothingToDo,
                format!("a transfer from @{account} to itself moves nothing; ignored"),
            ));
        }
        if t.from != *account && t.to != *account {
            return Err(Reject::new(
                RejectCode::UnknownOperation,
                format!(
                    "a transfer between @{} and @{} does not involve @{account}",
                    cut(&t.from, 20),
                    cut(&t.to, 20)
                ),
            ));
        }
        for (role, name) in [("sender", &t.from), ("recipient", &t.to)] {
            if !is_valid_account_name(name) {
                return Err(Reject::new(
                    RejectCode::InvalidAccount,
                    format!(
                        "the {role} {:?} is not a valid Hive account name: not a real transfer",
                        cut(name, 20)
                    ),
                ));
            }
        }
        let Some(coin) = Coin::from_asset(t.amount.symbol) else {
            return Err(Reject::field(format!(
                "{} cannot be transferred on Hive (only HIVE and HBD): nothing arrived, nothing to refund",
                t.amount.symbol.legacy_name()
            )));
        };
        let amt = match u64::try_from(t.amount.amount) {
            Ok(a) if a > 0 => a,
            _ => {
                return Err(Reject::field(format!(
                    "a Hive transfer moves a positive amount, this one {}: not a real transfer",
                    t.amount.amount
                )))
            }
        };
        if t.to == *account {
            self.deposit(ctx, t, coin, amt, state)
        } else {
            confirm(ctx, t, coin, amt, state)
        }
    }

    fn deposit(
        &self,
        ctx: &OpContext<'_>,
        t: &TransferOp,
        coin: Coin,
        amt: u64,
        state: &dyn StateRead,
    ) -> Result<Vec<MultisigEvent>, Reject> {
        let held = amount(state, &keys::held(coin));
        if !fits(held, amt) {
            return Err(Reject::new(
                RejectCode::Overflow,
                format!(
                    "{} more would take the expected {coin} holdings past Hive's asset range",
                    coin.format(amt)
                ),
            ));
        }
        let min = self.config().min_deposit;
        let why = if amt < min {
            format!(
                "{} is below the minimum deposit of {}",
                coin.format(amt),
                coin.format(min)
            )
        } else {
            match self.nft_memo(ctx, t, coin, amt) {
                Some(Ok(payment)) => match self.over_limit(coin, amt, state) {
                    Some(why) => why,
                    None => return Ok(vec![payment]),
                },
                Some(Err(why)) => format!("bad NFT memo: {why}"),
                None => match self.deposit_order(ctx, t, coin, amt) {
                    MemoOrder::Order(order) => match self.over_limit(coin, amt, state) {
                        Some(why) => why,
                        None => return Ok(vec![escrowed(&t.from, coin, &order, false)?]),
                    },
                    MemoOrder::Bad(why) => format!("bad DEX order: {why}"),
                    MemoOrder::NotDex => match classify(&t.memo) {
                        DepositMemo::Plain => match self.over_limit(coin, amt, state) {
                            Some(why) => why,
                            None => {
                                return Ok(vec![MultisigEvent::Deposited {
                                    account: t.from.clone(),
                                    asset: coin,
                                    amount: amt,
                                }])
                            }
                        },
                        DepositMemo::Module(name) => format!("no module accepts {name} yet"),
                        DepositMemo::Malformed(what) => format!("malformed module memo: {what}"),
                    },
                },
            }
        };
        let seq = checked_seq(state)?;
        pending_room(state, coin, amt)?;
        Ok(vec![MultisigEvent::Refunded {
            seq,
            to: t.from.clone(),
            asset: coin,
            amount: amt,
            memo: refund_memo(&why, seq),
            why,
            block: ctx.pos.block,
        }])
    }
}

/// A transfer out of the account: pays the outflow it names, or is an anomaly.
fn confirm(
    ctx: &OpContext<'_>,
    t: &TransferOp,
    coin: Coin,
    amt: u64,
    state: &dyn StateRead,
) -> Result<Vec<MultisigEvent>, Reject> {
    let why = match mismatch(t, coin, amt, state) {
        Ok(seq) => {
            return Ok(vec![MultisigEvent::OutflowPaid {
                seq,
                to: t.to.clone(),
                asset: coin,
                amount: amt,
                block: ctx.pos.block,
                txid: ctx.txid.to_string(),
            }])
        }
        Err(why) => why,
    };
    let total = amount(state, &keys::total_anomalies(coin));
    if !fits(total, amt) {
        return Err(Reject::new(
            RejectCode::Overflow,
            format!("{coin} anomalies would exceed Hive's asset range"),
        ));
    }
    Ok(vec![MultisigEvent::OutflowAnomaly {
        pos: ctx.pos,
        txid: ctx.txid.to_string(),
        to: t.to.clone(),
        asset: coin,
        amount: amt,
        memo: cut(&t.memo, MAX_RECORDED_MEMO),
        why,
    }])
}

/// The outflow `t` pays, or why it pays none.
fn mismatch(t: &TransferOp, coin: Coin, amt: u64, state: &dyn StateRead) -> Result<u64, String> {
    let seq = outflow_id(&t.memo).ok_or("the memo names no outflow (no trailing ot:<seq>)")?;
    if seq >= next_seq(state) {
        return Err(format!("ot:{seq} was never queued"));
    }
    // A record that does not decode cannot exist (only `apply` writes them); if it did,
    // the transfer is an anomaly rather than a payment of something unreadable.
    let out = match outflow(state, seq) {
        Ok(Some(out)) => out,
        Ok(None) => return Err(format!("ot:{seq} is already paid")),
        Err(e) => return Err(format!("ot:{seq} is unreadable: {}", e.what)),
    };
    if out.to != t.to {
        return Err(format!("ot:{seq} pays @{}, not @{}", out.to, t.to));
    }
    if out.asset != coin || out.amount != amt {
        return Err(format!(
            "ot:{seq} is {}, the transfer {}",
            out.asset.format(out.amount),
            coin.format(amt)
        ));
    }
    if out.memo != t.memo {
        return Err(format!("the memo differs from ot:{seq}'s"));
    }
    Ok(seq)
}
