//! `send {"to", "amount", "memo"?}`: moves liquid tokens to another account.

use crate::parse::{recipient_field, Payload};
use crate::state::liquid_amount;
use crate::{TokenEvent, TokenModule};
use opentoken_core::{Reject, StateRead};

impl TokenModule {
    pub(crate) fn send(&self, from: &str, payload: &Payload, state: &dyn StateRead) -> Result<Vec<TokenEvent>, Reject> {
        let to = recipient_field(payload, "to", from)?;
        if let Some(memo) = payload.get("memo") {
            if !memo.is_string() {
                return Err(Reject::field("memo must be a string"));
            }
        }
        let amt = liquid_amount(from, payload, state)?;
        Ok(vec![TokenEvent::Transferred {
            from: from.into(),
            to,
            amount: amt,
        }])
    }
}
