//! Governance stake: `gov_up {"amount"}` locks a registered node's liquid tokens as
//! governance stake (mirrored to the nodes module, where it weighs reports and elects
//! runners); `gov_down {"amount"}` schedules them back in installments (see `withdrawal`).

use crate::keys::Unlock;
use crate::parse::Payload;
use crate::state::{is_node, liquid_amount};
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
        let amt = liquid_amount(from, payload, state)?;
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
