//! The multi-sig signers: on a chain whose spec configures the multisig module
//! (`modules.multisig`), this module names the holders of the community account's active
//! authority to it with a `signers` message `{"signers": [{"account", "key"}, ...]}`.
//!
//! - **Who:** the runners (the `runners` set) whose node is active and registered a
//!   multi-sig key (`mskey`, proven by `node_add`); a runner without one is left out, as the
//!   account cannot hold a key nobody knows. At most [`MAX_SIGNERS`] (Hive's limit on an
//!   authority's members, which the multisig module enforces): when more runners have keys,
//!   the ones with the most governance stake, ties by account name. A key that a signer
//!   ranked higher already holds is left out too (the multisig module refuses a list with a
//!   key twice). The list is sorted by account.
//! - **When:** where the inputs of that list change: a tally close (the runner set and the
//!   stake ranking), and a `node_add` or `node_delete` of a runner (its key, or whether it is
//!   active). Governance-stake messages from the token module do not recompute it, so a
//!   message never makes this module send ([`Module::sends_on_messages`] stays `false`); a
//!   stake change reorders the top 40 at the next close. Genesis sends nothing: genesis
//!   runners are names without node records, so none has a key yet, and the first list goes
//!   out when a runner registers one.
//! - **Collateral:** at each tally close, the governance stake of the cheapest coalition of
//!   those signers that can sign (the `floor(2n/3) + 1` smallest stakes) is sent as a
//!   `collateral` message `{"stake": N}` when it changed (kept at `ms/collateral`); the
//!   multisig module bounds what the account may hold by it. On a chain that runs the DEX
//!   the same message goes to it too (`src/dex.rs`).
//! - **Only changes:** the last list sent is kept at `ms/signers`, and a list equal to it is
//!   not sent again (the multisig module would refuse it as nothing to do). An empty list
//!   is never sent (the multisig module needs 1..=40): the account keeps its last signers
//!   until a runner with a key is back. A chain without the multisig module never computes
//!   the list and never writes the key, so its state is what it was before this existed.
//!
//! [`Module::sends_on_messages`]: opentoken_core::Module::sends_on_messages

use crate::keys::{Corrupt, NodeRecord, Signer};
use crate::state::Read;
use crate::{NodesEvent, NodesModule};
use opentoken_core::{Outgoing, StateRead};
use std::collections::BTreeSet;

/// The module that holds the community's multi-sig account.
pub const MULTISIG: &str = "multisig";
/// The message kind that names its signers.
pub const SIGNERS_KIND: &str = "signers";
/// The message kind that says the signers' collateral.
pub const COLLATERAL_KIND: &str = "collateral";
/// Hive's limit on the members of one authority (`HIVE_MAX_AUTHORITY_MEMBERSHIP`).
pub const MAX_SIGNERS: usize = 40;

impl NodesModule {
    /// The `SignersSent` event for runner set `runners` when its signers differ from the
    /// last ones sent and are not empty; `None` otherwise, and always on a chain without
    /// the multisig module. `changed` is a record an event decided alongside will write
    /// (`node_add`, `node_delete`), read instead of the stored one.
    pub(crate) fn signers_update<S: StateRead + ?Sized>(
        &self,
        read: &Read<'_, S>,
        runners: &[String],
        changed: Option<(&str, &NodeRecord)>,
    ) -> Result<Option<NodesEvent>, Corrupt> {
        if !self.multisig {
            return Ok(None);
        }
        let signers = signers_of(read, runners, changed)?;
        if signers.is_empty() || signers == read.signers_sent()? {
            return Ok(None);
        }
        Ok(Some(NodesEvent::SignersSent { signers }))
    }

    /// The `CollateralSent` event at a tally close with runner set `runners`, when the
    /// cheapest signing coalition's stake differs from the last one sent; never on a chain
    /// without the multisig module, nor while there are no signers.
    pub(crate) fn collateral_update<S: StateRead + ?Sized>(
        &self,
        read: &Read<'_, S>,
        runners: &[String],
    ) -> Result<Option<NodesEvent>, Corrupt> {
        if !self.multisig {
            return Ok(None);
        }
        let signers = signers_of(read, runners, None)?;
        if signers.is_empty() {
            return Ok(None);
        }
        let mut stakes = Vec::with_capacity(signers.len());
        for s in &signers {
            stakes.push(read.gov(&s.account)?);
        }
        let stake = cheapest_coalition(stakes);
        if read.collateral_sent() == Some(stake) {
            return Ok(None);
        }
        Ok(Some(NodesEvent::CollateralSent { stake }))
    }

    /// The update after `account`'s record becomes `record`: only a runner's record is an
    /// input of the list, so anyone else's costs one read of the runner set.
    pub(crate) fn signers_on_record<S: StateRead + ?Sized>(
        &self,
        read: &Read<'_, S>,
        account: &str,
        record: &NodeRecord,
    ) -> Result<Option<NodesEvent>, Corrupt> {
        if !self.multisig {
            return Ok(None);
        }
        let runners = read.runners()?;
        if !runners.iter().any(|r| r == account) {
            return Ok(None);
        }
        self.signers_update(read, &runners, Some((account, record)))
    }
}

/// The signers of runner set `runners` (see the module docs), sorted by account.
pub(crate) fn signers_of<S: StateRead + ?Sized>(
    read: &Read<'_, S>,
    runners: &[String],
    changed: Option<(&str, &NodeRecord)>,
) -> Result<Vec<Signer>, Corrupt> {
    let mut ranked: Vec<(u64, Signer)> = Vec::new();
    for account in runners.iter().collect::<BTreeSet<_>>() {
        let stored;
        let record = match changed {
            Some((a, r)) if a == account => Some(r),
            _ => {
                stored = read.node(account)?;
                stored.as_ref()
            }
        };
        if let Some(NodeRecord {
            active: true,
            mskey: Some(key),
            ..
        }) = record
        {
            ranked.push((
                read.gov(account)?,
                Signer {
                    account: account.clone(),
                    key: key.clone(),
                },
            ));
        }
    }
    // The most stake first, ties by account name.
    ranked.sort_by(|(ga, a), (gb, b)| gb.cmp(ga).then_with(|| a.account.cmp(&b.account)));
    let mut taken = BTreeSet::new();
    let mut signers: Vec<Signer> = ranked
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| taken.insert(s.key.clone()))
        .take(MAX_SIGNERS)
        .collect();
    signers.sort();
    Ok(signers)
}

/// The `collateral` message of a `CollateralSent` event, to the multisig module or (the
/// same payload) to the DEX.
pub(crate) fn collateral_message(to: &str, stake: u64) -> Outgoing {
    Outgoing {
        to: to.into(),
        kind: COLLATERAL_KIND.into(),
        payload: serde_json::json!({ "stake": stake }).to_string(),
    }
}

/// The stake of the cheapest coalition of `signers` that reaches the account's threshold
/// (`floor(2n/3) + 1` of `n`): the sum of that many smallest stakes. What colluding signers
/// would forfeit at least, so the multisig module bounds what the account holds by it.
pub(crate) fn cheapest_coalition(mut stakes: Vec<u64>) -> u64 {
    let needed = 2 * stakes.len() / 3 + 1;
    stakes.sort_unstable();
    stakes.iter().take(needed).fold(0u64, |sum, s| sum.saturating_add(*s))
}

/// The `signers` message of a `SignersSent` event.
pub(crate) fn message(signers: &[Signer]) -> Outgoing {
    let list: Vec<serde_json::Value> = signers
        .iter()
        .map(|s| serde_json::json!({"account": s.account, "key": s.key}))
        .collect();
    Outgoing {
        to: MULTISIG.into(),
        kind: SIGNERS_KIND.into(),
        payload: serde_json::json!({ "signers": list }).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::cheapest_coalition;

    #[test]
    fn the_cheapest_coalition_is_the_smallest_stakes_that_reach_the_threshold() {
        assert_eq!(cheapest_coalition(vec![]), 0);
        assert_eq!(cheapest_coalition(vec![5]), 5, "one of one");
        assert_eq!(cheapest_coalition(vec![7, 5]), 12, "two of two");
        assert_eq!(cheapest_coalition(vec![3, 1, 2]), 6, "three of three");
        assert_eq!(cheapest_coalition(vec![10, 1, 100, 5]), 16, "three of four: 1 + 5 + 10");
        assert_eq!(cheapest_coalition(vec![u64::MAX, u64::MAX]), u64::MAX, "saturates");
        let forty: Vec<u64> = (1..=40).collect();
        assert_eq!(cheapest_coalition(forty), (1..=27).sum::<u64>(), "27 of 40");
    }
}
