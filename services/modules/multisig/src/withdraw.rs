//! `ms_withdraw {"amount", "asset", "to"?, "memo"?}` (active authority): takes HIVE or HBD
//! out of the signer's Layer-2 balance and queues the Hive transfer that pays it, from the
//! multi-sig account to `to` (the signer by default), with the memo `<memo> ot:<seq>`.

use crate::keys::{self, Coin};
use crate::memo::{check_user_memo, outflow_memo};
use crate::parse::{account_field, amount_field, coin_field, only_fields, string_field, Payload};
use crate::state::{amount, balance, next_seq};
use crate::{MultisigEvent, MultisigModule};
use opentoken_core::{OpContext, Reject, RejectCode, StateRead};

const FIELDS: &[&str] = &["amount", "asset", "to", "memo"];

impl MultisigModule {
    pub(crate) fn withdraw(
        &self,
        ctx: &OpContext<'_>,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<MultisigEvent>, Reject> {
        only_fields(payload, FIELDS)?;
        let coin = coin_field(payload, "asset")?;
        let amt = amount_field(payload, "amount")?;
        if amt == 0 {
            return Err(Reject::field("`amount` must be greater than 0"));
        }
        let min = self.config().min_withdrawal;
        if amt < min {
            return Err(Reject::field(format!(
                "`amount` {} is below the minimum withdrawal of {} (min_withdrawal)",
                coin.format(amt),
                coin.format(min)
            )));
        }
        let to = account_field(payload, "to")?.unwrap_or_else(|| from.to_string());
        if to == self.config().account {
            return Err(Reject::new(
                RejectCode::InvalidAccount,
                format!("`to` must not be the multi-sig account @{to} itself"),
            ));
        }
        let user_memo = string_field(payload, "memo")?.unwrap_or("");
        check_user_memo(user_memo).map_err(Reject::field)?;
        let have = balance(state, coin, from);
        if amt > have {
            return Err(Reject::new(
                RejectCode::InsufficientFunds,
                format!("@{from} has {}, needs {}", coin.format(have), coin.format(amt)),
            ));
        }
        let seq = checked_seq(state)?;
        pending_room(state, coin, amt)?;
        Ok(vec![MultisigEvent::WithdrawalQueued {
            seq,
            account: from.to_string(),
            to,
            asset: coin,
            amount: amt,
            memo: outflow_memo(user_memo, seq),
            block: ctx.pos.block,
        }])
    }
}

/// The next outflow number, refused (not wrapped) at the end of the range.
pub(crate) fn checked_seq(state: &dyn StateRead) -> Result<u64, Reject> {
    let seq = next_seq(state);
    if seq == u64::MAX {
        return Err(Reject::new(RejectCode::Overflow, "the outflow counter is exhausted"));
    }
    Ok(seq)
}

/// Refuses an outflow the pending total could not count. Pending outflows are part of
/// what is held, so this cannot happen without a broken invariant; checking it here turns
/// a would-be stop of the processor into a recorded rejection.
pub(crate) fn pending_room(state: &dyn StateRead, coin: Coin, amt: u64) -> Result<(), Reject> {
    let pending = amount(state, &keys::total_pending(coin));
    if !crate::state::fits(pending, amt) {
        return Err(Reject::new(
            RejectCode::Overflow,
            format!("{coin} outflows pending would exceed Hive's asset range"),
        ));
    }
    Ok(())
}
