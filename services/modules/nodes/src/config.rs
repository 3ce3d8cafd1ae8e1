//! The nodes module's part of the chain spec (`modules.nodes`), validated strictly: every node
//! of a community must run the same tally rules, so a mistyped or inconsistent section must
//! stop the node at start rather than fork it later.

use opentoken_core::account::is_valid_account_name;
use opentoken_core::module::GenesisError;
use opentoken_core::ChainSpec;
use serde::Deserialize;
use std::collections::BTreeSet;

/// Parameters of the registry, the tally and the election. Every field has a default, so a
/// spec without a `modules.nodes` section runs the module with the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodesConfig {
    /// Reports for checkpoint N are accepted in blocks N+1 ..= N+report_window; the tally of
    /// N closes at the end of block N+report_window. At most `checkpoint_interval`, so that
    /// at most one tally is open at a time.
    #[serde(default = "default_report_window")]
    pub report_window: u64,
    /// Upper bound of the runner set (the reference: 25).
    #[serde(default = "default_max_runners")]
    pub max_runners: u64,
    /// Below this many runners a candidate is elected without the stake threshold (the
    /// reference: 9), so a small set can grow.
    #[serde(default = "default_min_runners")]
    pub min_runners: u64,
    /// Tokens (base units) minted as claimable to each runner that agreed on a final
    /// checkpoint; 0 turns rewards off.
    #[serde(default)]
    pub reward_per_win: u64,
    /// A node_add's proof of possession must be signed at most this many blocks before the
    /// op's block, so an old signed registration cannot be replayed much later.
    #[serde(default = "default_pop_max_age")]
    pub pop_max_age: u64,
    /// Accept `node_add` domains naming `localhost` or an IP literal in a non-public range
    /// (loopback, private, link-local, ...), and let the consensus agent fetch snapshots
    /// from such addresses. Only for devnets, whose nodes run on 127.0.0.1: elsewhere a
    /// free registration would point recovering nodes at their own private network.
    #[serde(default)]
    pub allow_private_domains: bool,
    /// Governance stake (base units) a node outside the tally's runner set must hold for
    /// its report to be counted: such a report is a candidacy for election, and election
    /// needs stake anyway. A report without it is refused before it costs any state, so a
    /// crowd of free registrations cannot make the tally grow (see `docs/compatibility.md`).
    #[serde(default = "default_min_candidate_stake")]
    pub min_candidate_stake: u64,
    /// How many of the newest `final/<N>` hashes are kept; older ones are deleted when a
    /// new checkpoint becomes final. The agent judges consensus at the newest final
    /// checkpoint it has its own hash for and recovers to the newest one, so a few suffice.
    #[serde(default = "default_keep_finals")]
    pub keep_finals: u64,
    #[serde(default)]
    pub genesis: NodesGenesis,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NodesGenesis {
    /// The initial runner (consensus) set. A runner only counts in a tally once it is a
    /// registered node (it needs a report key), so these accounts register like any node.
    #[serde(default)]
    pub runners: Vec<String>,
    /// Node records at the start (a running community's, brought by `import-state`): their
    /// API URL, votes and counters. They have no report key (the reference has none), so
    /// each node registers one with `node_add` before its reports count; its counters and
    /// votes carry over.
    #[serde(default)]
    pub nodes: std::collections::BTreeMap<String, GenesisNode>,
}

/// A node record at the start. The votes take `node_add`'s defaults when absent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisNode {
    /// The public API URL; empty when the community's does not pass `node_add`'s rules.
    #[serde(default)]
    pub domain: String,
    #[serde(default = "default_bid_rate")]
    pub bid_rate: u64,
    #[serde(default = "default_dm")]
    pub dm: u64,
    #[serde(default)]
    pub ds: u64,
    #[serde(default = "default_dv")]
    pub dv: u64,
    #[serde(default = "default_liquidity")]
    pub liquidity: u64,
    #[serde(default)]
    pub attempts: u64,
    #[serde(default)]
    pub yays: u64,
    #[serde(default)]
    pub wins: u64,
    #[serde(default)]
    pub strikes: u64,
    #[serde(default)]
    pub last_good: u64,
}

/// The vote ranges `node_add` clamps to: (field, least, most).
pub const VOTE_RANGES: [(&str, u64, u64); 5] = [
    ("bid_rate", 1, 1000),
    ("dm", 1, 10_000),
    ("ds", 0, 10_000),
    ("dv", 0, 10_000),
    ("liquidity", 0, 100),
];

/// The most node records one genesis may list.
pub const MAX_GENESIS_NODES: usize = 10_000;

fn default_bid_rate() -> u64 {
    500
}
fn default_dm() -> u64 {
    10_000
}
fn default_dv() -> u64 {
    1500
}
fn default_liquidity() -> u64 {
    100
}

impl GenesisNode {
    pub fn votes(&self) -> [u64; 5] {
        [self.bid_rate, self.dm, self.ds, self.dv, self.liquidity]
    }
}

fn default_report_window() -> u64 {
    100
}
fn default_max_runners() -> u64 {
    25
}
fn default_min_runners() -> u64 {
    9
}
fn default_pop_max_age() -> u64 {
    1200
}
fn default_min_candidate_stake() -> u64 {
    1
}
fn default_keep_finals() -> u64 {
    16
}

impl Default for NodesConfig {
    fn default() -> Self {
        Self {
            report_window: default_report_window(),
            max_runners: default_max_runners(),
            min_runners: default_min_runners(),
            reward_per_win: 0,
            pop_max_age: default_pop_max_age(),
            allow_private_domains: false,
            min_candidate_stake: default_min_candidate_stake(),
            keep_finals: default_keep_finals(),
            genesis: NodesGenesis::default(),
        }
    }
}

fn bad(why: impl Into<String>) -> GenesisError {
    GenesisError {
        module: "nodes".into(),
        why: why.into(),
    }
}

impl NodesConfig {
    /// Reads and validates `modules.nodes`; an absent section means all defaults. An absent
    /// `report_window` is 100 capped at the checkpoint interval, so that the defaults are
    /// valid for every spec.
    pub fn from_spec(spec: &ChainSpec) -> Result<Self, GenesisError> {
        let section = spec.module_config("nodes");
        let mut cfg = match section {
            None => NodesConfig::default(),
            Some(v) => {
                serde_json::from_value(v.clone()).map_err(|e| bad(format!("`modules.nodes` is invalid: {e}")))?
            }
        };
        if section.and_then(|v| v.get("report_window")).is_none() {
            cfg.report_window = cfg.report_window.min(spec.checkpoint_interval);
        }
        cfg.validate(spec)?;
        Ok(cfg)
    }

    /// Checks the values against each other and against the spec's checkpoint interval.
    pub fn validate(&self, spec: &ChainSpec) -> Result<(), GenesisError> {
        if self.report_window == 0 || self.report_window > spec.checkpoint_interval {
            return Err(bad(format!(
                "report_window must be 1..={} (the checkpoint interval), got {}",
                spec.checkpoint_interval, self.report_window
            )));
        }
        if self.max_runners == 0 {
            return Err(bad("max_runners must be at least 1"));
        }
        if self.min_runners > self.max_runners {
            return Err(bad(format!(
                "min_runners ({}) must not exceed max_runners ({})",
                self.min_runners, self.max_runners
            )));
        }
        if self.reward_per_win > i64::MAX as u64 {
            return Err(bad("reward_per_win must be at most i64::MAX"));
        }
        if self.pop_max_age == 0 {
            return Err(bad(
                "pop_max_age must be at least 1 block (a registration can never land in the block it was signed at)",
            ));
        }
        if self.min_candidate_stake == 0 {
            return Err(bad(
                "min_candidate_stake must be at least 1 (a node without stake can never be elected, so its report would only cost state)",
            ));
        }
        if self.keep_finals == 0 {
            return Err(bad(
                "keep_finals must be at least 1 (recovery restores the newest final checkpoint)",
            ));
        }
        let mut seen = BTreeSet::new();
        for r in &self.genesis.runners {
            if !is_valid_account_name(r) {
                return Err(bad(format!("genesis.runners: {r:?} is not a valid Hive account name")));
            }
            if !seen.insert(r) {
                return Err(bad(format!("genesis.runners: {r:?} is listed twice")));
            }
        }
        if self.genesis.nodes.len() > MAX_GENESIS_NODES {
            return Err(bad(format!("genesis.nodes: at most {MAX_GENESIS_NODES} records")));
        }
        for (account, n) in &self.genesis.nodes {
            if !is_valid_account_name(account) {
                return Err(bad(format!(
                    "genesis.nodes: {account:?} is not a valid Hive account name"
                )));
            }
            if !n.domain.is_empty() {
                crate::domain::parse_domain(&n.domain, crate::MAX_DOMAIN_CHARS, self.allow_private_domains)
                    .map_err(|why| bad(format!("genesis.nodes.{account}.domain: {why}")))?;
            }
            for ((field, least, most), v) in VOTE_RANGES.iter().zip(n.votes()) {
                if v < *least || v > *most {
                    return Err(bad(format!(
                        "genesis.nodes.{account}.{field}: {v} is outside {least}..={most}"
                    )));
                }
            }
        }
        if self.genesis.runners.len() as u64 > self.max_runners {
            return Err(bad(format!(
                "genesis.runners lists {} accounts, more than max_runners ({})",
                self.genesis.runners.len(),
                self.max_runners
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(nodes: Option<serde_json::Value>) -> ChainSpec {
        let mut s = opentoken_core::test_utils::test_spec();
        s.checkpoint_interval = 100;
        if let Some(n) = nodes {
            s.modules.insert("nodes".into(), n);
        }
        s
    }

    #[test]
    fn absent_section_means_defaults() {
        let c = NodesConfig::from_spec(&spec(None)).unwrap();
        assert_eq!(c, NodesConfig::default());
        assert_eq!(
            (
                c.report_window,
                c.max_runners,
                c.min_runners,
                c.reward_per_win,
                c.pop_max_age,
                c.min_candidate_stake,
                c.keep_finals
            ),
            (100, 25, 9, 0, 1200, 1, 16)
        );
        assert!(c.genesis.runners.is_empty());
        assert!(!c.allow_private_domains, "private domains are a devnet opt-in");
    }

    #[test]
    fn default_window_fits_a_short_interval() {
        let mut s = spec(None);
        s.checkpoint_interval = 10;
        assert_eq!(NodesConfig::from_spec(&s).unwrap().report_window, 10);
        s.modules
            .insert("nodes".into(), json!({"max_runners": 3, "min_runners": 1}));
        assert_eq!(NodesConfig::from_spec(&s).unwrap().report_window, 10);
        s.modules.insert("nodes".into(), json!({"report_window": 11}));
        assert!(
            NodesConfig::from_spec(&s).is_err(),
            "an explicit window is never adjusted"
        );
    }

    #[test]
    fn good_section_parses() {
        let c = NodesConfig::from_spec(&spec(Some(json!({
            "report_window": 50, "max_runners": 5, "min_runners": 3, "reward_per_win": 7,
            "pop_max_age": 10, "allow_private_domains": true, "min_candidate_stake": 500,
            "keep_finals": 4, "genesis": {"runners": ["alice", "bob"]}
        }))))
        .unwrap();
        assert_eq!(c.report_window, 50);
        assert!(c.allow_private_domains);
        assert_eq!((c.min_candidate_stake, c.keep_finals), (500, 4));
        assert_eq!(c.genesis.runners, vec!["alice", "bob"]);
    }

    #[test]
    fn bad_sections_are_genesis_errors_naming_the_problem() {
        let cases = [
            (json!({"report_window": 0}), "report_window"),
            (json!({"report_window": 101}), "report_window"),
            (json!({"max_runners": 0}), "max_runners"),
            (json!({"min_runners": 26}), "min_runners"),
            (json!({"pop_max_age": 0}), "pop_max_age"),
            (json!({"min_candidate_stake": 0}), "min_candidate_stake"),
            (json!({"keep_finals": 0}), "keep_finals"),
            (json!({"reward_per_win": u64::MAX}), "reward_per_win"),
            (json!({"typo": 1}), "typo"),
            (json!({"genesis": {"runners": ["Alice"]}}), "genesis.runners"),
            (json!({"genesis": {"runners": ["alice", "alice"]}}), "twice"),
            (json!({"genesis": {"other": []}}), "other"),
            (
                json!({"max_runners": 1, "min_runners": 1, "genesis": {"runners": ["alice", "bob"]}}),
                "max_runners",
            ),
            (json!({"report_window": -1}), "invalid"),
            (json!({"report_window": "5"}), "invalid"),
            (json!({"allow_private_domains": "yes"}), "invalid"),
        ];
        for (cfg, needle) in cases {
            match NodesConfig::from_spec(&spec(Some(cfg.clone()))) {
                Err(e) => {
                    assert_eq!(e.module, "nodes");
                    assert!(e.why.contains(needle), "{cfg}: {:?} does not name {needle}", e.why)
                }
                Ok(c) => panic!("{cfg} was accepted as {c:?}"),
            }
        }
    }
}
