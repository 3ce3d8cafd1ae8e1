//! The order peers are asked for a snapshot in. Runners first, by governance stake: they
//! are elected and carry the stake that made the checkpoint final, so the first one asked is
//! the likeliest to be honest. Then the other active nodes, also by stake: registration is
//! free, so a crowd of fresh nodes without stake comes last. Ties go by account name, so
//! every node asks in the same order.

use opentoken_core::KvSource;
use opentoken_nodes::views;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// A node that may serve a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub account: String,
    /// The API URL it registered.
    pub domain: String,
}

/// The active nodes of `state` other than `own` that registered a domain, in the order they
/// are asked.
pub fn peer_order(state: &dyn KvSource, own: &str) -> Vec<Peer> {
    let runners: BTreeMap<String, u64> = views::runners(state).into_iter().collect();
    let mut ranked: Vec<(bool, u64, Peer)> = views::nodes(state)
        .into_iter()
        .filter(|(a, n)| n.active && a != own && !n.domain.is_empty())
        .map(|(account, n)| {
            let (runner, stake) = match runners.get(&account) {
                Some(stake) => (true, *stake),
                None => (false, views::try_gov(state, &account).unwrap_or(0)),
            };
            let peer = Peer {
                account,
                domain: n.domain,
            };
            (runner, stake, peer)
        })
        .collect();
    ranked.sort_by(|(r1, s1, p1), (r2, s2, p2)| {
        (Reverse(*r1), Reverse(*s1), &p1.account).cmp(&(Reverse(*r2), Reverse(*s2), &p2.account))
    });
    ranked.into_iter().map(|(_, _, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::ModuleState;
    use opentoken_nodes::{keys, NodeRecord};
    use std::collections::BTreeMap;

    fn record(domain: &str, active: bool) -> NodeRecord {
        NodeRecord {
            domain: domain.into(),
            bid_rate: 500,
            dm: 10000,
            ds: 0,
            dv: 1500,
            liquidity: 100,
            report_key: "00".repeat(32),
            mskey: None,
            active,
            attempts: 0,
            yays: 0,
            wins: 0,
            strikes: 0,
            last_good: 0,
            registered_at: 1,
        }
    }

    #[test]
    fn runners_by_stake_then_others_by_stake_ties_by_name() {
        let mut pairs = BTreeMap::new();
        let mut node = |a: &str, domain: &str, active: bool, gov: u64| {
            let r = serde_json::to_vec(&record(domain, active)).expect("json");
            pairs.insert(keys::node(a), r);
            if gov > 0 {
                pairs.insert(keys::gov(a), gov.to_be_bytes().to_vec());
            }
        };
        node("me", "https://me.example", true, 90);
        node("small-runner", "https://s.example", true, 10);
        node("big-runner", "https://b.example", true, 50);
        node("tied-b", "https://tb.example", true, 30);
        node("tied-a", "https://ta.example", true, 30);
        node("gone-runner", "https://g.example", false, 80);
        node("rich-node", "https://r.example", true, 70);
        node("sybil-2", "https://2.example", true, 0);
        node("sybil-1", "https://1.example", true, 0);
        node("no-domain", "", true, 60);
        let runners = ["big-runner", "gone-runner", "me", "small-runner", "tied-a", "tied-b"];
        pairs.insert(keys::RUNNERS.to_vec(), serde_json::to_vec(&runners).expect("json"));
        let state = ModuleState::from_pairs(pairs);

        let order: Vec<String> = peer_order(&state, "me").into_iter().map(|p| p.account).collect();
        assert_eq!(
            order,
            [
                "big-runner",
                "tied-a",
                "tied-b",
                "small-runner",
                "rich-node",
                "sybil-1",
                "sybil-2"
            ]
        );
        let first = &peer_order(&state, "me")[0];
        assert_eq!(first.domain, "https://b.example");
    }
}
