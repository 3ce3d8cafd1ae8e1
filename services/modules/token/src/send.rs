//! `send {"to", "amount", "memo"?}`: moves liquid tokens to another account.

use crate::parse::{amount_field, positive, recipient_field, Payload};
use crate::state::{afford, liquid};
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
        let amt = positive(amount_field(payload, "amount", state)?)?;
        afford(from, amt, liquid(state, from), "liquid")?;
        Ok(vec![TokenEvent::Transferred {
            from: from.into(),
            to,
            amount: amt,
        }])
    }
}
