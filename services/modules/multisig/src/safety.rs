//! The safety limit: what the account may hold is bounded by what the runners who could
//! take it would lose.
//!
//! The nodes module sends a `collateral` message `{"stake": N}` at tally closes when it
//! changes: the governance stake (token base units) of the cheapest coalition of signers
//! that reaches the account's threshold (the `floor(2n/3) + 1` smallest stakes). With the
//! chain's `safety_price` (milli-coin per whole token), the limit per coin is
//! `stake × price / 10^precision`. A deposit that would take what the account is expected
//! to hold (`held`) past it is refunded with the reason, never kept. Without a price there
//! is no limit; with a price but no collateral yet, the limit is zero. Withdrawals are
//! never limited: lowering what the account holds is always safe.

use crate::keys::{self, Coin};
use crate::memo::cut;
use crate::state::{amount, MAX_AMOUNT};
use crate::{MultisigEvent, MultisigModule};
use opentoken_core::{Message, Reject, RejectCode, StateRead};
use serde_json::Value;

/// The message kind the nodes module sends the collateral with.
pub const KIND: &str = "collateral";

/// The limit per coin for `stake` at `price` milli-coin per whole token of `scale` base
/// units, capped at the ledger's range.
pub fn limit(stake: u64, price: u64, scale: u64) -> u64 {
    let l = u128::from(stake) * u128::from(price) / u128::from(scale.max(1));
    u64::try_from(l).unwrap_or(u64::MAX).min(MAX_AMOUNT)
}

impl MultisigModule {
    /// The limit of `coin`, `None` when the chain sets no price.
    pub(crate) fn safety_limit(&self, coin: Coin, state: &dyn StateRead) -> Option<u64> {
        let p = self.config().safety_price?;
        let price = match coin {
            Coin::Hive => p.hive,
            Coin::Hbd => p.hbd,
        };
        Some(limit(amount(state, keys::COLLATERAL), price, self.token_scale()))
    }

    /// Why a deposit of `amt` cannot be accepted under the limit, if it cannot.
    pub(crate) fn over_limit(&self, coin: Coin, amt: u64, state: &dyn StateRead) -> Option<String> {
        let limit = self.safety_limit(coin, state)?;
        let held = amount(state, &keys::held(coin));
        if held.checked_add(amt).is_some_and(|n| n <= limit) {
            return None;
        }
        Some(format!(
            "over the safety limit: @{} may hold {} (the signers' collateral), holds {}",
            self.config().account,
            coin.format(limit),
            coin.format(held)
        ))
    }

    pub(crate) fn set_collateral(&self, m: &Message, state: &dyn StateRead) -> Result<Vec<MultisigEvent>, Reject> {
        let bad = |why: String| Reject::new(RejectCode::BadMessage, why);
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(&m.payload) else {
            return Err(bad("a collateral message is a JSON object {\"stake\": N}".into()));
        };
        if let Some(k) = obj.keys().find(|k| *k != "stake") {
            return Err(bad(format!("unknown field `{}` in a collateral message", cut(k, 32))));
        }
        let stake = obj
            .get("stake")
            .and_then(Value::as_u64)
            .filter(|s| *s <= MAX_AMOUNT)
            .ok_or_else(|| bad("`stake` must be an integer of at most i64::MAX".into()))?;
        if state.get(keys::COLLATERAL).is_some() && amount(state, keys::COLLATERAL) == stake {
            return Err(Reject::new(
                RejectCode::NothingToDo,
                format!("the collateral is already {stake}"),
            ));
        }
        Ok(vec![MultisigEvent::CollateralSet { stake }])
    }
}

#[cfg(test)]
mod tests {
    use super::limit;

    #[test]
    fn the_limit_is_stake_times_price_per_whole_token() {
        assert_eq!(limit(1_000, 1_000, 1_000), 1_000, "1 token at 1.000 HIVE");
        assert_eq!(limit(140_000, 10_000, 1_000), 1_400_000, "140 tokens at 10 HIVE");
        assert_eq!(limit(999, 1, 1_000), 0, "rounds down");
        assert_eq!(limit(0, 1_000, 1_000), 0);
        assert_eq!(
            limit(u64::MAX, u64::MAX, 1),
            i64::MAX as u64,
            "capped at the ledger's range"
        );
        assert_eq!(limit(5, 7, 0), 35, "a zero scale counts as one");
    }
}
