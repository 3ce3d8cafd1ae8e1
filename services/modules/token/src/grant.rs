//! `power_grant {"to", "amount"}`: sets how much of the signer's power is granted to another
//! account. The amount is the new total of that grant, not a change: more takes power from
//! the signer, less gives it back. A new grant is at least the chain's
//! `min_send_to_new_account`.

use crate::keys::{self, amount, Bucket};
use crate::parse::{amount_field, recipient_field, Payload};
use crate::state::{afford, enough_for_new_key};
use crate::{TokenEvent, TokenModule};
use opentoken_core::{Reject, RejectCode, StateRead};

impl TokenModule {
    pub(crate) fn power_grant(
        &self,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        let to = recipient_field(payload, "to", from)?;
        let amt = amount_field(payload, "amount", state)?;
        let previous = amount(state, &keys::grant(from, &to));
        if amt == previous {
            return Err(Reject::new(
                RejectCode::NothingToDo,
                format!("@{from} already grants {amt} to @{to}"),
            ));
        }
        enough_for_new_key(
            self.config().min_send_to_new_account,
            state,
            &keys::grant(from, &to),
            amt,
            &format!("a new grant to @{to}"),
        )?;
        if amt > previous {
            afford(
                from,
                amt - previous,
                amount(state, &keys::account(Bucket::Power, from)),
                "power",
            )?;
        }
        Ok(vec![TokenEvent::PowerGranted {
            from: from.into(),
            to,
            previous,
            amount: amt,
        }])
    }
}
