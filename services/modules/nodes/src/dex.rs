//! The DEX's governance parameters: on a chain that runs the DEX (the spec's `modules.dex`
//! section, [`opentoken_dex::DexConfig::from_spec`]), the runners' `node_add` votes set its
//! fee and bid limits, and this module tells it what they are.
//!
//! - **What:** the averages of the runners' `bidRate`, `dm` and `ds` weighted by their
//!   governance stake (the mirror this module keeps), floored, integers only; a runner
//!   without an active node record or without stake has no say, and a runner set with no
//!   stake at all votes the defaults (`node_add`'s: 500, 10000, 0). They are sent as a
//!   [`Params`] message of kind [`KIND_PARAMS`]: `fee_ppm` = the `bidRate` average × 10
//!   (500 -> 5000 ppm = 0.5%), `dex_max_bp` = the `dm` average, `dex_slope_bp` = the `ds`
//!   average.
//! - **When:** at each tally close, like the collateral, for the runner set it leaves (a
//!   vote changed by `node_add` counts from the next close, so a message never depends on
//!   the order of ops within a tally).
//! - **Only changes:** the last parameters sent are kept at `dex/params`, and equal ones are
//!   not sent again; the first close sends them whatever they are, so the DEX learns them.
//! - **Collateral:** the `collateral` message sent to the multisig module is sent to the
//!   DEX too, with the same payload (`src/signers.rs`).
//!
//! A chain without the DEX never computes the parameters and never writes the key, so its
//! state, events and messages are what they were before this existed.

use crate::keys::{Corrupt, NodeRecord};
use crate::state::Read;
use crate::{NodesEvent, NodesModule};
use opentoken_core::{Outgoing, StateRead};
use opentoken_dex::protocol::{Params, KIND_PARAMS, NAME as DEX};

/// `node_add`'s default votes (`src/registry.rs`): what a runner set without stake votes.
const DEFAULT_BID_RATE: u64 = 500;
const DEFAULT_DM: u64 = 10_000;
const DEFAULT_DS: u64 = 0;

/// The DEX fee in parts per million is the `bidRate` average times this, as the DEX protocol
/// defines it ([`Params::fee_ppm`]): the default 500 is 5000 ppm, 0.5%.
const FEE_PPM_PER_BID_RATE: u64 = 10;

impl NodesModule {
    /// The `DexParamsSent` event at a tally close with runner set `runners`, when the
    /// parameters they voted differ from the last ones sent; never on a chain without the
    /// DEX.
    pub(crate) fn dex_params_update<S: StateRead + ?Sized>(
        &self,
        read: &Read<'_, S>,
        runners: &[String],
    ) -> Result<Option<NodesEvent>, Corrupt> {
        if !self.dex {
            return Ok(None);
        }
        let params = voted_params(read, runners)?;
        if read.dex_params_sent()? == Some(params) {
            return Ok(None);
        }
        Ok(Some(NodesEvent::DexParamsSent { params }))
    }
}

/// The parameters runner set `runners` votes (see the module docs). Each runner is counted
/// once, whatever the list holds.
pub(crate) fn voted_params<S: StateRead + ?Sized>(read: &Read<'_, S>, runners: &[String]) -> Result<Params, Corrupt> {
    let mut votes: Vec<(u64, NodeRecord)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for account in runners {
        if !seen.insert(account.as_str()) {
            continue;
        }
        if let Some(record) = read.node(account)?.filter(|n| n.active) {
            votes.push((read.gov(account)?, record));
        }
    }
    Ok(weighted(&votes))
}

/// The stake-weighted, floored averages of `(stake, record)` votes, as [`Params`]. In u128:
/// a stake times a vote (at most 10000) and their sums cannot overflow.
fn weighted(votes: &[(u64, NodeRecord)]) -> Params {
    let total: u128 = votes.iter().map(|(g, _)| u128::from(*g)).sum();
    let average = |vote: fn(&NodeRecord) -> u64, default: u64| -> u64 {
        if total == 0 {
            return default;
        }
        let sum: u128 = votes
            .iter()
            .map(|(g, r)| u128::from(*g).saturating_mul(u128::from(vote(r))))
            .fold(0u128, u128::saturating_add);
        // At most the largest vote, so it fits.
        u64::try_from(sum / total).unwrap_or(default)
    };
    Params {
        fee_ppm: average(|r| r.bid_rate, DEFAULT_BID_RATE).saturating_mul(FEE_PPM_PER_BID_RATE),
        dex_max_bp: average(|r| r.dm, DEFAULT_DM),
        dex_slope_bp: average(|r| r.ds, DEFAULT_DS),
    }
}

/// The `params` message of a `DexParamsSent` event: `Params` as serde writes it, the DEX's
/// canonical JSON. Serialising three integers cannot fail; if it ever did, nothing is sent
/// rather than a payload the DEX would refuse.
pub(crate) fn params_message(params: &Params) -> Vec<Outgoing> {
    serde_json::to_string(params)
        .map(|payload| Outgoing {
            to: DEX.into(),
            kind: KIND_PARAMS.into(),
            payload,
        })
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(bid_rate: u64, dm: u64, ds: u64) -> NodeRecord {
        NodeRecord {
            domain: "https://x.example".into(),
            bid_rate,
            dm,
            ds,
            dv: 1500,
            liquidity: 100,
            report_key: "ab".repeat(32),
            mskey: None,
            active: true,
            attempts: 0,
            yays: 0,
            wins: 0,
            strikes: 0,
            last_good: 0,
            registered_at: 1,
        }
    }

    fn params(fee_ppm: u64, dex_max_bp: u64, dex_slope_bp: u64) -> Params {
        Params {
            fee_ppm,
            dex_max_bp,
            dex_slope_bp,
        }
    }

    #[test]
    fn the_averages_are_weighted_by_stake_and_floored() {
        // (3*100 + 1*1000) / 4 = 325; (3*1 + 1*10000) / 4 = 2500 (10003/4 = 2500.75);
        // (3*0 + 1*7) / 4 = 1 (1.75).
        let votes = [(3, rec(100, 1, 0)), (1, rec(1000, 10_000, 7))];
        assert_eq!(weighted(&votes), params(3250, 2500, 1));
        // One voter: its votes.
        assert_eq!(weighted(&[(9, rec(1, 1, 10_000))]), params(10, 1, 10_000));
    }

    #[test]
    fn no_stake_votes_the_defaults_and_zero_stake_has_no_say() {
        assert_eq!(weighted(&[]), params(5000, 10_000, 0));
        assert_eq!(weighted(&[(0, rec(1, 1, 10_000))]), params(5000, 10_000, 0));
        assert_eq!(
            weighted(&[(0, rec(1, 1, 10_000)), (5, rec(700, 300, 20))]),
            params(7000, 300, 20)
        );
    }

    #[test]
    fn the_largest_stakes_do_not_overflow() {
        let votes = [
            (u64::MAX, rec(1000, 10_000, 10_000)),
            (u64::MAX, rec(999, 9_999, 9_999)),
        ];
        // (1000 + 999) / 2 = 999 (floored) for each.
        assert_eq!(weighted(&votes), params(9990, 9999, 9999));
    }

    #[test]
    fn the_message_is_the_dex_params_as_serde_writes_them() {
        let p = params(4000, 8000, 100);
        let m = params_message(&p);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].to.as_str(), m[0].kind.as_str()), ("dex", "params"));
        assert_eq!(m[0].payload, r#"{"fee_ppm":4000,"dex_max_bp":8000,"dex_slope_bp":100}"#);
        assert_eq!(serde_json::from_str::<Params>(&m[0].payload).unwrap(), p);
    }
}
