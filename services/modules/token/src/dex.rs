//! The token side of the DEX (chains whose spec has a `modules.dex` section). The DEX module
//! holds no balances: a `dex_sell` escrows the seller's liquid tokens here (the `tot/dex`
//! total) and hands the order to the DEX as an `order` message; the DEX answers with
//! `credit` messages that release escrowed tokens to a buyer (its fill), the fee account
//! (the fee) or the seller (what did not sell). Nothing leaves the escrow but a credit, and
//! no credit may take more than the escrow holds, so the supply is conserved whatever the
//! DEX says.

use crate::keys::{self, amount};
use crate::parse::Payload;
use crate::state::{afford, escrow_credit, liquid};
use crate::{DexSetup, TokenEvent, TokenModule};
use opentoken_core::{Message, OpContext, Reject, RejectCode, StateRead};
use opentoken_dex::order::{parse_sell, Placed};
use opentoken_dex::protocol::{Credit, Liquidity, KIND_CREDIT, KIND_LIQUIDITY, MAX_LIQUIDITY_ACCOUNTS};

impl TokenModule {
    /// `dex_sell {"<token>": amount, "hive"|"hbd"|"rate"+"pair", "hours", "payout"}`: the
    /// order as `opentoken_dex::order::parse_sell` reads it, escrowed when the seller's
    /// liquid balance covers it.
    pub(crate) fn dex_sell(
        &self,
        dex: &DexSetup,
        ctx: &OpContext<'_>,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        let json_key = ctx.spec.token.to_ascii_lowercase();
        let placed = Placed {
            token: &ctx.spec.token,
            time: ctx.timestamp,
            from,
            txid: ctx.txid,
            pos: ctx.pos,
        };
        let order = parse_sell(&dex.cfg, &json_key, placed, payload)?;
        afford(from, order.amount, liquid(state, from), "liquid")?;
        if amount(state, keys::DEX_ESCROW).checked_add(order.amount).is_none() {
            return Err(Reject::new(
                RejectCode::Overflow,
                format!("escrowing {} would overflow the DEX escrow", order.amount),
            ));
        }
        Ok(vec![TokenEvent::DexEscrowed {
            account: from.to_string(),
            amount: order.amount,
            order,
        }])
    }

    /// A message from the DEX: only `credit` ([`Credit`]), which moves escrowed tokens to an
    /// account's liquid balance. Refused, never guessed: a payload that does not decode, a
    /// zero amount, an account that is neither a Hive account nor the fee account, and a
    /// credit of more than the escrow holds (the DEX would be wrong; the ledger stays whole).
    pub(crate) fn dex_message(
        &self,
        dex: &DexSetup,
        m: &Message,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        let bad = |why: String| Err(Reject::new(RejectCode::BadMessage, why));
        if m.kind == KIND_LIQUIDITY {
            return self.liquidity_reward(m, state);
        }
        if m.kind != KIND_CREDIT {
            return bad(format!(
                "token accepts only `{KIND_CREDIT}` and `{KIND_LIQUIDITY}` from dex, not {}",
                m.kind
            ));
        }
        let c: Credit = match serde_json::from_str(&m.payload) {
            Ok(c) => c,
            Err(e) => return bad(format!("a dex credit must be {{account, amount, order, why}}: {e}")),
        };
        escrow_credit(
            state,
            keys::DEX_ESCROW,
            "dex",
            &c.account,
            c.amount,
            &dex.cfg.fee_account,
        )?;
        Ok(vec![TokenEvent::DexCredited {
            account: c.account,
            amount: c.amount,
            order: c.order,
            why: c.why,
        }])
    }

    /// The DEX's `liquidity` ([`Liquidity`]) at the DAO day: the marketing pool pays
    /// `⌊rm·liquidity_reward/36500⌋` (a 365th of it at 100%), `⌊that·points/Σpoints⌋` to
    /// each bidder's claimable balance; the floors' dust stays in `rm`. Refused when the
    /// chain has no economy or the payload is not a bounded list of Hive accounts.
    fn liquidity_reward(&self, m: &Message, state: &dyn StateRead) -> Result<Vec<TokenEvent>, Reject> {
        let bad = |why: String| Err(Reject::new(RejectCode::BadMessage, why));
        let Some(eco) = &self.cfg.economy else {
            return bad("liquidity: this chain has no economy (modules.token.economy) to pay it".into());
        };
        let l: Liquidity = match serde_json::from_str(&m.payload) {
            Ok(l) => l,
            Err(e) => return bad(format!("liquidity needs {{accounts: {{name: points}}}}: {e}")),
        };
        if l.accounts.len() > MAX_LIQUIDITY_ACCOUNTS {
            return bad(format!(
                "liquidity names {} accounts; at most {MAX_LIQUIDITY_ACCOUNTS} are accepted",
                l.accounts.len()
            ));
        }
        if let Some(a) = l
            .accounts
            .keys()
            .find(|a| !opentoken_core::account::is_valid_account_name(a))
        {
            return bad(format!(
                "liquidity names {:?}, which is not a Hive account",
                a.chars().take(20).collect::<String>()
            ));
        }
        let rm = crate::economy::pool(state, keys::Pool::Marketing);
        let day = crate::economy::share(rm, eco.liquidity_reward, 36_500);
        let total = l.accounts.values().fold(0u128, |t, p| t + u128::from(*p));
        Ok(l.accounts
            .into_iter()
            .filter_map(|(account, points)| {
                let amount = u64::try_from(u128::from(day) * u128::from(points) / total.max(1)).ok()?;
                (amount > 0).then_some(TokenEvent::PoolPaid {
                    pool: keys::Pool::Marketing,
                    account,
                    amount,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
