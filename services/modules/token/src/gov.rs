//! Governance stake: `gov_up {"amount"}` locks a registered node's liquid tokens as
//! governance stake (mirrored to the nodes module, where it weighs reports and elects
//! runners); `gov_down {"amount"}` schedules them back in installments (see `withdrawal`).

use crate::keys::Unlock;
use crate::parse::{amount_field, positive, Payload};
use crate::state::{afford, is_node, liquid};
use crate::{TokenEvent, TokenModule};
use opentoken_core::{OpContext, Reject, RejectCode, StateRead};

impl TokenModule {
    pub(crate) fn gov_up(
        &self,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        if !is_node(state, from) {
            return Err(Reject::new(
                RejectCode::NotANode,
                format!("@{from} is not a registered node; only nodes lock governance stake"),
            ));
        }
        let amt = positive(amount_field(payload, "amount", state)?)?;
        afford(from, amt, liquid(state, from), "liquid")?;
        Ok(vec![TokenEvent::GovLocked {
            account: from.into(),
            amount: amt,
        }])
    }

    pub(crate) fn gov_down(
        &self,
        ctx: &OpContext<'_>,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        self.withdraw(ctx, from, Unlock::Gov, payload, state)
    }
}
