//! Power: `power_up {"amount"}` locks liquid tokens as power at once; `power_down {"amount"}`
//! schedules them back in installments (amount 0 cancels; see `withdrawal`).

use crate::keys::Unlock;
use crate::parse::Payload;
use crate::state::liquid_amount;
use crate::{TokenEvent, TokenModule};
use opentoken_core::{OpContext, Reject, StateRead};

impl TokenModule {
    pub(crate) fn power_up(
        &self,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        let amt = liquid_amount(from, payload, state)?;
        Ok(vec![TokenEvent::PoweredUp {
            account: from.into(),
            amount: amt,
        }])
    }

    pub(crate) fn power_down(
        &self,
        ctx: &OpContext<'_>,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        self.withdraw(ctx, from, Unlock::Power, payload, state)
    }
}
