//! Withdrawals of power (`power_down`) and governance stake (`gov_down`): scheduling them in
//! equal installments, and paying each installment as chron work in the block it falls due.

use crate::keys::{self, amount, Unlock};
use crate::parse::{amount_field, Payload};
use crate::state::broken;
use crate::{TokenEvent, TokenModule};
use opentoken_core::module::InvariantError;
use opentoken_core::{BlockContext, OpContext, Reject, RejectCode, StateRead};

impl TokenModule {
    /// The installments of withdrawing `total` from `block` on: the configured count at the
    /// configured interval, the remainder in the last one. Installments of 0 (a total below
    /// the count) are kept, as the reference keeps them: a wallet shows the same schedule,
    /// and paying 0 changes no balance.
    fn schedule(&self, unlock: Unlock, block: u64, total: u64) -> Vec<(u64, u64)> {
        let (n, interval) = match unlock {
            Unlock::Power => (self.cfg.power_down_installments, self.cfg.power_down_interval),
            Unlock::Gov => (self.cfg.gov_down_installments, self.cfg.gov_down_interval),
        };
        let each = total / n;
        let rest = total % n;
        (1..=n)
            .map(|i| {
                (
                    block.saturating_add(interval.saturating_mul(i)),
                    if i == n { each + rest } else { each },
                )
            })
            .collect()
    }

    /// Schedules a withdrawal of `amount`, replacing any pending one; 0 cancels it.
    pub(crate) fn withdraw(
        &self,
        ctx: &OpContext<'_>,
        from: &str,
        unlock: Unlock,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        let amt = amount_field(payload, "amount", state)?;
        let held = amount(state, &keys::account(unlock.bucket(), from));
        let pending = state.get(&keys::schedule_index(unlock, from)).is_some();
        let what = match unlock {
            Unlock::Power => "power",
            Unlock::Gov => "governance stake",
        };
        if amt == 0 {
            return if pending {
                Ok(vec![TokenEvent::WithdrawalCancelled {
                    account: from.to_string(),
                    unlock,
                }])
            } else {
                Err(Reject::new(
                    RejectCode::NothingToDo,
                    format!("amount 0 cancels a withdrawal of {what}, and none is scheduled"),
                ))
            };
        }
        if amt > held {
            return Err(Reject::new(
                RejectCode::InsufficientFunds,
                format!("cannot withdraw {amt} of {what}: @{from} holds {held}"),
            ));
        }
        Ok(vec![TokenEvent::WithdrawalScheduled {
            account: from.to_string(),
            unlock,
            total: amt,
            installments: self.schedule(unlock, ctx.pos.block, amt),
        }])
    }

    /// The installments due at `ctx.block`, each paid at most what its account still holds.
    pub(crate) fn pay_installments(
        &self,
        ctx: &BlockContext<'_>,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, InvariantError> {
        let mut out = Vec::new();
        for (k, v) in state.scan_prefix(keys::SCHEDULE_PREFIX) {
            let (block, unlock, account) =
                keys::parse_schedule(k).ok_or_else(|| broken(format!("malformed schedule key {k:?}")))?;
            if block > ctx.block {
                break;
            }
            let scheduled = keys::decode_u64(v).ok_or_else(|| broken("malformed schedule amount"))?;
            out.push(TokenEvent::WithdrawalPaid {
                account,
                unlock,
                block,
                scheduled,
                paid: scheduled,
            });
        }
        // Pay what is left: stake granted away or already withdrawn cannot be paid twice, also
        // when several installments of one account fall due in one block.
        let mut spent: std::collections::BTreeMap<(String, Unlock), u64> = std::collections::BTreeMap::new();
        for e in &mut out {
            if let TokenEvent::WithdrawalPaid {
                account, unlock, paid, ..
            } = e
            {
                let held = amount(state, &keys::account(unlock.bucket(), account));
                let used = spent.entry((account.clone(), *unlock)).or_insert(0);
                *paid = (*paid).min(held.saturating_sub(*used));
                *used += *paid;
            }
        }
        Ok(out)
    }
}

/// The block of the earliest pending installment (schedule keys sort by block).
pub(crate) fn next_installment(state: &dyn StateRead) -> Option<u64> {
    state
        .scan_prefix(keys::SCHEDULE_PREFIX)
        .next()
        .and_then(|(k, _)| keys::parse_schedule(k))
        .map(|(b, _, _)| b)
}
