//! `claim {"gov"?}`: pays out the claimable balance (where node rewards go), half liquid and
//! the rest locked into power, or into governance stake for a registered node that asks.

use crate::keys::{self, amount, Bucket};
use crate::parse::{bool_field, Payload};
use crate::state::is_node;
use crate::{TokenEvent, TokenModule};
use opentoken_core::{Reject, RejectCode, StateRead};

impl TokenModule {
    pub(crate) fn claim(
        &self,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        let to_gov = bool_field(payload, "gov")?.unwrap_or(false);
        let claim = amount(state, &keys::account(Bucket::Claimable, from));
        if claim == 0 {
            return Err(Reject::new(
                RejectCode::NothingToDo,
                format!("@{from} has nothing to claim"),
            ));
        }
        if to_gov && !is_node(state, from) {
            return Err(Reject::new(
                RejectCode::NotANode,
                format!("@{from} is not a registered node; claim into gov needs one"),
            ));
        }
        let liquid_half = claim / 2;
        Ok(vec![TokenEvent::Claimed {
            account: from.into(),
            liquid: liquid_half,
            locked: claim - liquid_half,
            to_gov,
        }])
    }
}
