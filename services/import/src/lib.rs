//! Taking over a running community: the reference node's full state dump (what its `/state`
//! route returns, `{state: {...}}`; layout in token-core §2.2) read at block N into a chain
//! spec whose genesis is that state, so that an opentoken node follows Hive from N+1.
//!
//! What the ledger holds is carried over: liquid, claimable, powered and governance
//! balances, grants, power-downs and governance withdrawals under way (their installments
//! read from `chrono`), Hive delegations, the economy's pools, node registrations and the
//! runners. Everything else is accounted for, never dropped silently:
//! - a path this importer does not know, or a value that cannot be what the reference
//!   writes there (a fractional or negative amount, an account name Hive would refuse, a
//!   schedule without its `chrono` entry), **refuses** the import with the list of them;
//! - a known path whose value opentoken does not import (the feed, Proof of Brain's posts
//!   and meters, the DEX's and NFT's state, the node records' statistics, the reference's
//!   drifting `t` counters) is **reported** with what it held, and the import goes on.

use opentoken_core::account::is_valid_account_name;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use thiserror::Error;

/// The most findings one report lists per kind; a dump with more is summarised (a broken
/// dump must not make a report as large as itself).
pub const MAX_FINDINGS: usize = 1_000;

/// Why a path was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The path in the reference's state tree, `/`-separated (`balances/alice`).
    pub path: String,
    pub why: String,
}

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("the dump is not the reference's state: {0}")]
    NotAState(String),
    #[error("the base chain spec cannot take an imported genesis: {0}")]
    BadBase(String),
    #[error("the dump has {} path(s) that are unknown or malformed; nothing was imported:\n{}", .0.len(), list(.0))]
    Refused(Vec<Finding>),
}

fn list(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("  {}: {}", f.path, f.why))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An imported chain: the spec to run, and what was not imported (with why).
#[derive(Debug, Clone)]
pub struct Imported {
    pub spec: Value,
    pub not_imported: Vec<Finding>,
    /// The supply the imported genesis holds, in base units.
    pub supply: u64,
}

/// The reference's pseudo-accounts under `balances/` that are opentoken's economy pools.
const POOLS: [&str; 5] = ["ra", "rn", "rm", "rd", "rc"];
/// Pseudo-accounts opentoken has no place for (the ICO inventory and auction, unused pools).
const UNUSED_POOLS: [&str; 5] = ["ri", "rl", "rb", "re", "rr"];

/// Top-level paths the importer knows but does not import, with why.
const NOT_IMPORTED: [(&str, &str); 21] = [
    ("feed", "the human-readable feed; opentoken keeps op statuses instead"),
    (
        "up",
        "Proof of Brain vote meters: not imported yet; the meters start full",
    ),
    (
        "down",
        "Proof of Brain vote meters: not imported yet; the meters start full",
    ),
    ("pend", "Proof of Brain posts waiting for options: not imported yet"),
    ("posts", "Proof of Brain posts open for votes: not imported yet"),
    ("pendingvote", "the leader's pending Hive votes (no ledger effect)"),
    ("pendingpayment", "posts waiting for the next tally: not imported yet"),
    ("paid", "the record of paid posts"),
    ("ipfs", "IPFS pins to verify (no ledger effect)"),
    ("postQueue", "the daily post's news queue (no ledger effect)"),
    ("escrow", "Hive ops nodes should broadcast (no ledger effect)"),
    ("nomention", "the daily post's mention preferences (no ledger effect)"),
    ("rolling", "legacy, deleted daily by the reference"),
    ("br", "legacy, deleted daily by the reference"),
    ("ico", "legacy ICO bookkeeping"),
    (
        "dex",
        "the DEX's books and history: not imported yet (a DEX chain starts with empty books)",
    ),
    ("contracts", "DEX contracts: not imported yet"),
    ("col", "DEX collateral: not imported yet"),
    ("nft", "NFTs: not imported yet"),
    ("sets", "NFT sets: not imported yet"),
    (
        "queue",
        "the reference's runner queue; opentoken's nodes module elects its own",
    ),
];

/// Accumulates findings while reading the dump.
#[derive(Default)]
struct Reader {
    refused: Vec<Finding>,
    reported: Vec<Finding>,
}

impl Reader {
    fn refuse(&mut self, path: impl Into<String>, why: impl Into<String>) {
        if self.refused.len() < MAX_FINDINGS {
            self.refused.push(Finding {
                path: path.into(),
                why: why.into(),
            });
        }
    }

    fn report(&mut self, path: impl Into<String>, why: impl Into<String>) {
        if self.reported.len() < MAX_FINDINGS {
            self.reported.push(Finding {
                path: path.into(),
                why: why.into(),
            });
        }
    }

    /// A non-negative integer amount (the reference stores JS numbers; a fractional,
    /// negative or non-numeric one cannot be a ledger amount).
    fn amount(&mut self, path: &str, v: &Value) -> Option<u64> {
        match v.as_u64() {
            Some(a) if a <= i64::MAX as u64 => Some(a),
            _ => {
                self.refuse(path, format!("{v} is not a non-negative integer amount"));
                None
            }
        }
    }

    fn object<'a>(&mut self, path: &str, v: &'a Value) -> Option<&'a Map<String, Value>> {
        let o = v.as_object();
        if o.is_none() {
            self.refuse(path, "is not an object");
        }
        o
    }

    fn account(&mut self, path: &str, name: &str) -> bool {
        let ok = is_valid_account_name(name);
        if !ok {
            self.refuse(path, format!("{name:?} is not a Hive account name"));
        }
        ok
    }

    /// `{account: amount}` with the reference's running total `t` checked against the sum.
    fn accounts(&mut self, root: &str, v: &Value, with_total: bool) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let Some(m) = self.object(root, v) else {
            return out;
        };
        for (name, amount) in m {
            let path = format!("{root}/{name}");
            if with_total && name == "t" {
                continue;
            }
            if self.account(&path, name) {
                if let Some(a) = self.amount(&path, amount) {
                    if a > 0 {
                        out.insert(name.clone(), a);
                    }
                }
            }
        }
        if with_total {
            if let Some(t) = m.get("t") {
                let sum: u128 = out.values().map(|a| u128::from(*a)).sum();
                if t.as_u64().map(u128::from) != Some(sum) {
                    self.report(
                        format!("{root}/t"),
                        format!("the reference's running total {t} is not the sum of the accounts ({sum}); opentoken keeps the sum"),
                    );
                }
            }
        }
        out
    }
}

/// The chrono key's block: `"<block>:<hash>"`.
fn chrono_block(key: &str) -> Option<u64> {
    key.split_once(':')?.0.parse().ok()
}

/// The installments of `<root>/<account>/<key>` entries (`powd`, `govd`), read from `chrono`.
fn schedules(
    r: &mut Reader,
    root: &str,
    op: &str,
    tree: Option<&Value>,
    chrono: &Map<String, Value>,
    after: u64,
) -> BTreeMap<String, Vec<(u64, u64)>> {
    let mut out: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    let Some(tree) = tree else {
        return out;
    };
    let Some(accounts) = r.object(root, tree) else {
        return out;
    };
    for (account, keys) in accounts {
        let apath = format!("{root}/{account}");
        if !r.account(&apath, account) {
            continue;
        }
        let Some(keys) = r.object(&apath, keys) else {
            continue;
        };
        for key in keys.keys() {
            let path = format!("{apath}/{key}");
            let Some(entry) = chrono.get(key) else {
                // The reference leaves `govd` keys behind when a withdrawal is replaced
                // (token-core §3.8): nothing is due there any more. A `powd` key is deleted
                // with its entry, so one without is not the reference's state.
                if root == "govd" {
                    r.report(
                        path,
                        "no chrono entry: a stale key the reference left behind, nothing is due",
                    );
                } else {
                    r.refuse(path, "no chrono entry for this installment");
                }
                continue;
            };
            let (Some(block), Some(by), Some(amount)) = (
                chrono_block(key),
                entry.get("by").and_then(Value::as_str),
                entry.get("amount").and_then(Value::as_u64),
            ) else {
                r.refuse(
                    format!("chrono/{key}"),
                    "is not a `{block}:{hash}` entry with `by` and `amount`",
                );
                continue;
            };
            if entry.get("op").and_then(Value::as_str) != Some(op) || by != account {
                r.refuse(format!("chrono/{key}"), format!("is not a {op} of @{account}"));
                continue;
            }
            if block <= after {
                r.refuse(
                    format!("chrono/{key}"),
                    format!("is due at {block}, not after the import block {after}: the dump is not of that block"),
                );
                continue;
            }
            if amount > 0 {
                out.entry(account.clone()).or_default().push((block, amount));
            }
        }
    }
    for installments in out.values_mut() {
        installments.sort();
        installments.dedup_by(|a, b| {
            // Two installments at one block are one (the reference keys them by block).
            if a.0 == b.0 {
                b.1 = b.1.saturating_add(a.1);
                true
            } else {
                false
            }
        });
    }
    out
}

/// Imports `dump` (the reference's `/state` answer at block `block`) into a copy of `base`
/// (a chain spec: the community's constants), whose genesis becomes that state and whose
/// first block is `block + 1`.
pub fn import_state(dump: &Value, block: u64, base: &Value) -> Result<Imported, ImportError> {
    let state = dump
        .get("state")
        .unwrap_or(dump)
        .as_object()
        .ok_or_else(|| ImportError::NotAState("neither `{state: {...}}` nor a state object".into()))?;
    if base.pointer("/modules/token").is_none() {
        return Err(ImportError::BadBase("it has no `modules.token` section".into()));
    }
    let economy = base.pointer("/modules/token/economy").is_some();
    let mut r = Reader::default();
    let empty = Map::new();
    let chrono = match state.get("chrono") {
        Some(c) => r.object("chrono", c).unwrap_or(&empty),
        None => &empty,
    };

    // Balances: accounts, the economy's pools, and pseudo-accounts without a place.
    let mut balances = BTreeMap::new();
    let mut pools = BTreeMap::new();
    if let Some(b) = state.get("balances").and_then(|b| r.object("balances", b)) {
        for (name, v) in b {
            let path = format!("balances/{name}");
            let Some(a) = r.amount(&path, v) else { continue };
            if POOLS.contains(&name.as_str()) {
                if a > 0 && !economy {
                    r.report(
                        &path,
                        format!("{a} in a pool, and the base chain runs no economy: not imported"),
                    );
                } else if a > 0 {
                    pools.insert(name.clone(), a);
                }
            } else if UNUSED_POOLS.contains(&name.as_str()) || name.starts_with("n:") {
                if a > 0 {
                    r.report(
                        &path,
                        format!("{a} in a pool opentoken does not keep (ICO, royalties): not imported"),
                    );
                }
            } else if r.account(&path, name) && a > 0 {
                balances.insert(name.clone(), a);
            }
        }
    }
    let claimable = state
        .get("cbalances")
        .map(|v| r.accounts("cbalances", v, false))
        .unwrap_or_default();
    let pow = state.get("pow").map(|v| r.accounts("pow", v, true)).unwrap_or_default();
    let gov = state.get("gov").map(|v| r.accounts("gov", v, true)).unwrap_or_default();
    let delegations = state
        .get("delegations")
        .map(|v| r.accounts("delegations", v, false))
        .unwrap_or_default();

    // Grants: `granting/<from>/<to>`, checked against the mirror `granted/<to>/<from>`.
    let mut grants: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    if let Some(g) = state.get("granting").and_then(|g| r.object("granting", g)) {
        for (from, tos) in g {
            let fpath = format!("granting/{from}");
            if !r.account(&fpath, from) {
                continue;
            }
            let tos = r.accounts(&fpath, tos, true);
            if !tos.is_empty() {
                grants.insert(from.clone(), tos);
            }
        }
    }
    if let Some(g) = state.get("granted").and_then(|g| r.object("granted", g)) {
        for (to, froms) in g {
            let Some(froms) = froms.as_object() else {
                r.refuse(format!("granted/{to}"), "is not an object");
                continue;
            };
            for (from, amount) in froms.iter().filter(|(f, _)| f.as_str() != "t") {
                let want = grants.get(from).and_then(|m| m.get(to)).copied().unwrap_or(0);
                if amount.as_u64() != Some(want) {
                    r.refuse(
                        format!("granted/{to}/{from}"),
                        format!("{amount} does not mirror granting/{from}/{to} ({want})"),
                    );
                }
            }
        }
    }
    for (from, tos) in &grants {
        if let Some(to) = tos.keys().find(|to| *to == from) {
            r.refuse(format!("granting/{from}/{to}"), "a grant to oneself");
        }
    }

    let power_downs = schedules(&mut r, "powd", "power_down", state.get("powd"), chrono, block);
    let gov_downs = schedules(&mut r, "govd", "gov_down", state.get("govd"), chrono, block);
    for (name, schedules, stake) in [("powd", &power_downs, &pow), ("govd", &gov_downs, &gov)] {
        for (account, installments) in schedules {
            let due: u128 = installments.iter().map(|(_, a)| u128::from(*a)).sum();
            let held = stake.get(account).copied().unwrap_or(0);
            if due > u128::from(held) {
                r.refuse(
                    format!("{name}/{account}"),
                    format!("installments of {due} from a stake of {held}"),
                );
            }
        }
    }
    for (key, entry) in chrono {
        let op = entry.get("op").and_then(Value::as_str).unwrap_or("");
        if !matches!(op, "power_down" | "gov_down") {
            r.report(format!("chrono/{key}"), format!("scheduled `{op}`: not imported"));
        }
    }

    // Nodes and runners.
    let mut nodes: Vec<String> = Vec::new();
    if let Some(m) = state.get("markets").and_then(|m| r.object("markets", m)) {
        for (market, v) in m {
            if market != "node" {
                r.report(format!("markets/{market}"), "not imported");
                continue;
            }
            if let Some(n) = r.object("markets/node", v) {
                for name in n.keys() {
                    if r.account(&format!("markets/node/{name}"), name) {
                        nodes.push(name.clone());
                    }
                }
                if !n.is_empty() {
                    r.report(
                        "markets/node",
                        format!(
                            "{} node records: registrations imported, their statistics (wins, yays, bidRate, domain) not yet",
                            n.len()
                        ),
                    );
                }
            }
        }
    }
    let mut runners: Vec<String> = Vec::new();
    if let Some(m) = state.get("runners").and_then(|m| r.object("runners", m)) {
        for name in m.keys() {
            if r.account(&format!("runners/{name}"), name) {
                runners.push(name.clone());
            }
        }
    }

    // Everything else: known and reported, or unknown and refused.
    for (key, v) in state {
        let known = [
            "balances",
            "cbalances",
            "pow",
            "gov",
            "delegations",
            "granting",
            "granted",
            "powd",
            "govd",
            "chrono",
            "markets",
            "runners",
            "stats",
        ];
        if known.contains(&key.as_str()) {
            continue;
        }
        match NOT_IMPORTED.iter().find(|(k, _)| k == key) {
            Some((_, why)) => {
                let n = v.as_object().map_or(1, Map::len);
                if n > 0 {
                    r.report(key.clone(), format!("{n} entries: {why}"));
                }
            }
            None => r.refuse(key.clone(), "an unknown path: opentoken does not know what it holds"),
        }
    }

    if let Some(stats) = state.get("stats").and_then(|s| r.object("stats", s)) {
        for key in stats.keys().filter(|k| k.as_str() != "tokenSupply") {
            r.report(
                format!("stats/{key}"),
                "a rate, constant or counter of the reference: the base chain spec's constants apply",
            );
        }
    }
    if !r.refused.is_empty() {
        return Err(ImportError::Refused(r.refused));
    }
    let supply = [&balances, &claimable, &pow, &gov, &pools]
        .iter()
        .flat_map(|m| m.values())
        .chain(grants.values().flat_map(|m| m.values()))
        .map(|a| u128::from(*a))
        .sum::<u128>();
    let supply = u64::try_from(supply)
        .ok()
        .filter(|s| *s <= i64::MAX as u64)
        .ok_or_else(|| ImportError::NotAState("the holdings add up to more than i64::MAX".into()))?;
    if let Some(t) = state.get("stats").and_then(|s| s.get("tokenSupply")) {
        if t.as_u64() != Some(supply) {
            r.report(
                "stats/tokenSupply",
                format!(
                    "the reference counts {t}; the imported holdings add up to {supply}, which opentoken's supply is"
                ),
            );
        }
    }

    let mut spec = base.clone();
    spec["starting_block"] = json!(block + 1);
    let token = &mut spec["modules"]["token"];
    token["genesis"] = json!({
        "balances": balances, "pow": pow, "gov": gov, "claimable": claimable,
        "nodes": nodes, "delegations": delegations, "grants": grants,
        "power_downs": power_downs, "gov_downs": gov_downs, "pools": pools,
    });
    if spec.pointer("/modules/nodes").is_some() {
        spec["modules"]["nodes"]["genesis"] = json!({ "runners": runners });
    } else if !runners.is_empty() {
        r.report("runners", "the base chain runs no nodes module: not imported");
    }
    Ok(Imported {
        spec,
        not_imported: r.reported,
        supply,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(economy: bool) -> Value {
        let mut token = json!({"power_down_interval": 200_000, "gov_down_interval": 201_600});
        if economy {
            token["economy"] = json!({"interest_rate": 999_999_999_999u64});
        }
        json!({"name": "dlux", "prefix": "dlux_", "token": "DLUX", "precision": 3, "starting_block": 1,
               "leader": "dlux-io", "msaccount": "dlux-cc", "delegation_account": "dlux-io",
               "checkpoint_interval": 100, "modules": {"token": token}})
    }

    /// The reference leaves `govd` keys behind (token-core §3.8): reported, nothing due. An
    /// installment due at or before the import block cannot be in a dump of that block.
    #[test]
    fn stale_and_overdue_schedules() {
        let dump = json!({"state": {
            "gov": {"alice": 100, "t": 100},
            "govd": {"alice": {"900:Qm1": "900:Qm1"}},
        }});
        let ok = import_state(&dump, 1_000, &base(false)).expect("imports");
        assert!(
            ok.not_imported.iter().any(|f| f.path == "govd/alice/900:Qm1"),
            "{:?}",
            ok.not_imported
        );
        assert_eq!(ok.spec["modules"]["token"]["genesis"]["gov_downs"], json!({}));
        let overdue = json!({"state": {
            "gov": {"alice": 100},
            "govd": {"alice": {"900:Qm1": "900:Qm1"}},
            "chrono": {"900:Qm1": {"op": "gov_down", "by": "alice", "amount": 25, "block": 900}},
        }});
        let Err(ImportError::Refused(f)) = import_state(&overdue, 1_000, &base(false)) else {
            panic!("an overdue installment is refused")
        };
        assert_eq!(f[0].path, "chrono/900:Qm1");
    }

    /// Pools go to the genesis on a chain with an economy and are reported on one without;
    /// the runners need a nodes module to go anywhere.
    #[test]
    fn pools_and_runners_follow_the_base_chain() {
        let dump = json!({"balances": {"rc": 500, "alice": 1}, "runners": {"dlux-io": {"g": 1}}});
        let with = import_state(&dump, 10, &base(true)).expect("imports");
        assert_eq!(with.spec["modules"]["token"]["genesis"]["pools"], json!({"rc": 500}));
        assert_eq!(with.supply, 501);
        let without = import_state(&dump, 10, &base(false)).expect("imports");
        let paths: Vec<&str> = without.not_imported.iter().map(|f| f.path.as_str()).collect();
        assert!(
            paths.contains(&"balances/rc") && paths.contains(&"runners"),
            "{paths:?}"
        );
        assert_eq!(without.supply, 1);
        assert_eq!(without.spec["starting_block"], 11);
    }
}
