//! Hive `delegate_vesting_shares` to the community's delegation account: the ledger keeps
//! each delegator's current delegation (in micro-VESTS); 0 removes it.

use crate::keys;
use crate::{TokenEvent, TokenModule};
use opentoken_core::{DelegateVestingSharesOp, OpContext, Reject, RejectCode, StateRead};

impl TokenModule {
    pub(crate) fn delegate(
        &self,
        ctx: &OpContext<'_>,
        d: &DelegateVestingSharesOp,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        if d.delegatee != ctx.spec.delegation_account {
            return Err(Reject::new(
                RejectCode::InvalidAccount,
                format!(
                    "delegation to @{} is not to the delegation account @{}",
                    d.delegatee, ctx.spec.delegation_account
                ),
            ));
        }
        if d.vesting_shares.symbol != opentoken_core::AssetSymbol::Vests {
            return Err(Reject::field(format!(
                "vesting_shares must be VESTS, got {}",
                d.vesting_shares.to_legacy()
            )));
        }
        if !opentoken_core::account::is_valid_account_name(&d.delegator) {
            return Err(Reject::new(
                RejectCode::InvalidAccount,
                format!("{:?} is not a valid Hive account", d.delegator),
            ));
        }
        let vests =
            u64::try_from(d.vesting_shares.amount).map_err(|_| Reject::field("vesting_shares must not be negative"))?;
        let had = state.get(&keys::delegation(&d.delegator)).is_some();
        Ok(match (vests, had) {
            (0, true) => vec![TokenEvent::DelegationRemoved {
                account: d.delegator.clone(),
            }],
            (0, false) => vec![],
            (v, _) => vec![TokenEvent::DelegationSet {
                account: d.delegator.clone(),
                vests: v,
            }],
        })
    }
}
