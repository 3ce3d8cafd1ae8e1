//! Taking over a running community: the reference node's full state dump (what its `/state`
//! route returns, `{state: {...}}`; layout in token-core §2.2) read at block N into a chain
//! spec whose genesis is that state, so that an opentoken node follows Hive from N+1.
//!
//! What the ledger holds is carried over: liquid, claimable, powered and governance
//! balances, grants, power-downs and governance withdrawals under way (their installments
//! read from `chrono`), Hive delegations, the economy's pools, node registrations and the
//! runners; the economy's running figures and Proof of Brain under way. On chains that run
//! the DEX, its resting orders, ticks and liquidity points (`dex.rs`), and the multi-sig
//! account's queued transfers (`multisig.rs`). On chains that run the NFT module, its state is carried too (`nft.rs`): sets,
//! NFTs and their owners, mint tokens, profile pictures, and the open sales, auctions
//! (with their TOKEN high bids) and reserved transfers; what the NFT module holds in the
//! token (held define fees, bonds, high bids) is in the token's `genesis.nft` and the
//! supply. Everything else is accounted for, never dropped silently:
//! - a path this importer does not know, or a value that cannot be what the reference
//!   writes there (a fractional or negative amount, an account name Hive would refuse, a
//!   schedule without its `chrono` entry), **refuses** the import with the list of them;
//! - a known path whose value opentoken does not import (the feed, Proof of Brain's posts
//!   and meters, the DEX's trade history, the NFT offers opentoken cannot hold (HIVE/HBD auction
//!   bids, mint-token HIVE/HBD sales: closed at the import, their items back to the
//!   sellers), dividends, the node records' statistics, the reference's drifting `t`
//!   counters) is **reported** with what it held, and the import goes on.

mod dex;
mod multisig;
mod nft;

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
const NOT_IMPORTED: [(&str, &str); 16] = [
    ("feed", "the human-readable feed; opentoken keeps op statuses instead"),
    (
        "up",
        "Proof of Brain vote meters, and the base chain runs no Proof of Brain",
    ),
    (
        "down",
        "Proof of Brain vote meters, and the base chain runs no Proof of Brain",
    ),
    (
        "pend",
        "Proof of Brain posts, and the base chain runs no Proof of Brain",
    ),
    (
        "posts",
        "Proof of Brain posts, and the base chain runs no Proof of Brain",
    ),
    ("pendingvote", "the leader's pending Hive votes (no ledger effect)"),
    (
        "pendingpayment",
        "Proof of Brain posts closed and waiting for the next tally, and the base chain runs no Proof of Brain",
    ),
    (
        "paid",
        "the reference's per-tally payout records, and the base chain runs no Proof of Brain",
    ),
    ("ipfs", "IPFS pins to verify (no ledger effect)"),
    ("postQueue", "the daily post's news queue (no ledger effect)"),
    ("escrow", "Hive ops nodes should broadcast (no ledger effect)"),
    ("nomention", "the daily post's mention preferences (no ledger effect)"),
    ("rolling", "legacy, deleted daily by the reference"),
    ("br", "legacy, deleted daily by the reference"),
    ("ico", "legacy ICO bookkeeping"),
    (
        "queue",
        "the reference's runner queue; opentoken's nodes module elects its own",
    ),
];

/// Accumulates findings while reading the dump.
#[derive(Default)]
pub(crate) struct Reader {
    refused: Vec<Finding>,
    reported: Vec<Finding>,
}

impl Reader {
    pub(crate) fn refuse(&mut self, path: impl Into<String>, why: impl Into<String>) {
        if self.refused.len() < MAX_FINDINGS {
            self.refused.push(Finding {
                path: path.into(),
                why: why.into(),
            });
        }
    }

    pub(crate) fn report(&mut self, path: impl Into<String>, why: impl Into<String>) {
        if self.reported.len() < MAX_FINDINGS {
            self.reported.push(Finding {
                path: path.into(),
                why: why.into(),
            });
        }
    }

    /// A non-negative integer amount (the reference stores JS numbers; a fractional,
    /// negative or non-numeric one cannot be a ledger amount).
    pub(crate) fn amount(&mut self, path: &str, v: &Value) -> Option<u64> {
        match v.as_u64() {
            Some(a) if a <= i64::MAX as u64 => Some(a),
            _ => {
                self.refuse(path, format!("{v} is not a non-negative integer amount"));
                None
            }
        }
    }

    pub(crate) fn object<'a>(&mut self, path: &str, v: &'a Value) -> Option<&'a Map<String, Value>> {
        let o = v.as_object();
        if o.is_none() {
            self.refuse(path, "is not an object");
        }
        o
    }

    /// The posts of a `<path>/<author>/<permlink>` tree as `(path, "author/permlink", post)`,
    /// each key one Hive accepts; a level that is not an object and a key that is not an
    /// author/permlink are refused by path.
    pub(crate) fn posts<'a>(&mut self, path: &str, v: &'a Value) -> Vec<(String, String, &'a Value)> {
        let mut out = Vec::new();
        let Some(authors) = self.object(path, v) else {
            return out;
        };
        for (author, permlinks) in authors {
            let Some(permlinks) = self.object(&format!("{path}/{author}"), permlinks) else {
                continue;
            };
            for (permlink, post) in permlinks {
                let at = format!("{path}/{author}/{permlink}");
                let key = format!("{author}/{permlink}");
                if opentoken_token::config::PobGenesis::post_key(&key).is_none() {
                    self.refuse(at, "is not an author/permlink");
                    continue;
                }
                out.push((at, key, post));
            }
        }
        out
    }

    pub(crate) fn account(&mut self, path: &str, name: &str) -> bool {
        let ok = is_valid_account_name(name);
        if !ok {
            self.refuse(path, format!("{name:?} is not a Hive account name"));
        }
        ok
    }

    /// `{account: amount}` with the reference's running total `t` checked against the sum.
    pub(crate) fn accounts(&mut self, root: &str, v: &Value, with_total: bool) -> BTreeMap<String, u64> {
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

/// The reference's node records (`markets/node/<a>`) as the nodes module's genesis
/// records: the API URL (when it passes `node_add`'s rules), the votes (clamped as
/// `node_add` clamps) and the counters. Report keys and multi-sig keys are opentoken's and
/// each node registers its own; the reference's other counters are reported.
fn node_records_of(n: &Map<String, Value>, base: &Value, r: &mut Reader) -> Map<String, Value> {
    let mut out = Map::new();
    if base.pointer("/modules/nodes").is_none() {
        return out;
    }
    let allow_private = base
        .pointer("/modules/nodes/allow_private_domains")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let votes = [
        ("bidRate", "bid_rate"),
        ("dm", "dm"),
        ("ds", "ds"),
        ("dv", "dv"),
        ("liquidity", "liquidity"),
    ];
    let counters = [
        ("attempts", "attempts"),
        ("yays", "yays"),
        ("wins", "wins"),
        ("strikes", "strikes"),
        ("lastGood", "last_good"),
    ];
    for (name, rec) in n {
        let path = format!("markets/node/{name}");
        if !is_valid_account_name(name) {
            continue;
        }
        let Some(rec) = rec.as_object() else {
            r.refuse(path, "is not a node record");
            continue;
        };
        let mut g = Map::new();
        match rec.get("domain").and_then(Value::as_str) {
            Some(d)
                if opentoken_nodes::domain::parse_domain(d, opentoken_nodes::MAX_DOMAIN_CHARS, allow_private)
                    .is_ok() =>
            {
                g.insert("domain".into(), json!(d));
            }
            Some(d) if !d.is_empty() => r.report(
                format!("{path}/domain"),
                format!(
                    "{:?} is no API URL node_add accepts: the record starts without one",
                    d.chars().take(80).collect::<String>()
                ),
            ),
            _ => {}
        }
        for ((from, to), (_, least, most)) in votes.iter().zip(opentoken_nodes::config::VOTE_RANGES) {
            match rec.get(*from).map(|v| (v, v.as_u64())) {
                None | Some((Value::Null, _)) => {}
                Some((_, Some(v))) => {
                    let c = v.clamp(least, most);
                    if c != v {
                        r.report(
                            format!("{path}/{from}"),
                            format!("{v} is clamped to {c}, as node_add clamps it"),
                        );
                    }
                    g.insert((*to).into(), json!(c));
                }
                // The reference keeps some votes as strings or floats.
                Some((v, None)) => match v
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                {
                    Some(x) => {
                        g.insert((*to).into(), json!(x.clamp(least, most)));
                    }
                    None => r.refuse(format!("{path}/{from}"), format!("{v} is not a vote")),
                },
            }
        }
        for (from, to) in counters {
            match rec.get(from).map(|v| (v, v.as_u64())) {
                None | Some((Value::Null, _)) => {}
                Some((_, Some(v))) => {
                    g.insert(to.into(), json!(v));
                }
                Some((v, None)) => r.refuse(format!("{path}/{from}"), format!("{v} is not a count")),
            }
        }
        out.insert(name.clone(), Value::Object(g));
    }
    if !out.is_empty() {
        r.report(
            "markets/node",
            format!(
                "{} node records carried (domain, votes, attempts, yays, wins, strikes, lastGood); report and multi-sig keys are opentoken's, each node registers its own with node_add; the reference's other fields (burned, moved, contracts, escrows, report, mskey, tw, ty, g) are not carried",
                out.len()
            ),
        );
    }
    out
}

/// The leader's voter routine under way: posts queued for the next round
/// (`pendingvote/<a>/<p>`, a post snapshot whose `v` is its vote sum) and the Hive votes the
/// leader owes (`escrow/<leader>/vote:<a>/<p>` = `["vote", {..., weight}]`). The escrow's
/// other entries (the daily post, other nodes' ops) are reported.
fn leader_votes(
    state: &Map<String, Value>,
    leader: &str,
    r: &mut Reader,
) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let mut queued = BTreeMap::new();
    let mut due = BTreeMap::new();
    if let Some(pv) = state.get("pendingvote") {
        for (path, key, post) in r.posts("pendingvote", pv) {
            // The reference sums with JS `+`: a float or null vote makes `v` a float or null;
            // only a positive integer sum queues a vote.
            match post.get("v").and_then(Value::as_u64) {
                Some(v) if v > 0 => {
                    queued.insert(key, v);
                }
                _ => r.report(path, "no positive integer vote sum: not queued"),
            }
        }
    }
    if let Some(escrow) = state.get("escrow").and_then(|e| r.object("escrow", e)) {
        for (node, ops) in escrow {
            let Some(ops) = ops.as_object().filter(|_| node == leader) else {
                r.report(
                    format!("escrow/{node}"),
                    "Hive ops for a node to broadcast (no ledger effect)",
                );
                continue;
            };
            let mut flat: Vec<(String, &Value)> = Vec::new();
            for (k, v) in ops {
                match (k.strip_prefix("vote:"), v.as_object()) {
                    // `vote:<a>/<p>` as one key, or split into `vote:<a>` → `<p>`.
                    (Some(a), Some(m)) if !a.contains('/') && !v.is_array() => {
                        flat.extend(m.iter().map(|(p, op)| (format!("{a}/{p}"), op)));
                    }
                    (Some(ap), _) => flat.push((ap.to_string(), v)),
                    (None, _) => r.report(
                        format!("escrow/{node}/{k}"),
                        "a Hive op for the leader to broadcast (no ledger effect)",
                    ),
                }
            }
            for (key, op) in flat {
                let path = format!("escrow/{node}/vote:{key}");
                let weight = op.get(1).and_then(|b| b.get("weight")).and_then(Value::as_u64);
                match (opentoken_token::config::PobGenesis::post_key(&key), weight) {
                    (Some(_), Some(w)) if (1..=10_000).contains(&w) => {
                        queued.remove(&key);
                        due.insert(key, w);
                    }
                    (Some(_), Some(0)) => r.report(path, "a vote of weight 0: not carried"),
                    _ => r.refuse(
                        path,
                        "is not [\"vote\", {author, permlink, weight}] on an author/permlink",
                    ),
                }
            }
        }
    }
    (queued, due)
}

/// What paid posts earned: the reference's tally keeps each tally's paid posts as
/// `paid/<block>/<author>/<permlink>` (the post with `t.totalWeight`, `author_payout` and each
/// vote's `p`), pruned by its DAO like opentoken's `paid/<author>/<permlink>`. A post paid
/// twice keeps its last record.
fn paid_records(state: &Map<String, Value>, r: &mut Reader) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Some(paid) = state.get("paid").and_then(|p| r.object("paid", p)) else {
        return out;
    };
    let mut tallies: Vec<(u64, &String, &Value)> = Vec::new();
    for (num, v) in paid {
        match num.parse::<u64>() {
            Ok(b) => tallies.push((b, num, v)),
            Err(_) => r.refuse(format!("paid/{num}"), "is not a tally block"),
        }
    }
    tallies.sort_by_key(|(b, _, _)| *b);
    for (block, num, v) in tallies {
        for (path, key, post) in r.posts(&format!("paid/{num}"), v) {
            // A post of no weight was paid nothing (no annotations); a negative, float or
            // null figure (the reference's downvote hazards) is not rounded into one.
            let figure = |v: Option<&Value>| match v {
                None => Some(0),
                Some(v) => v.as_u64(),
            };
            let weight = figure(post.pointer("/t/totalWeight"));
            let author_share = figure(post.get("author_payout"));
            let mut curation = Some(0u64);
            if let Some(votes) = post.get("votes").and_then(Value::as_object) {
                for vote in votes.values() {
                    curation = curation.zip(figure(vote.get("p"))).map(|(a, b)| a.saturating_add(b));
                }
            }
            match (weight, author_share, curation) {
                (Some(weight), Some(author_share), Some(curation)) => {
                    out.insert(
                        key,
                        json!({"block": block, "weight": weight, "author_share": author_share, "curation": curation}),
                    );
                }
                _ => r.report(
                    path,
                    "a weight, author_payout or vote payout that is not a whole number: the post's record (what /posts/:author/:permlink shows once paid) is not carried",
                ),
            }
        }
    }
    out
}

/// The chrono key's block: `"<block>:<hash>"`.
pub(crate) fn chrono_block(key: &str) -> Option<u64> {
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
    let tree = dump.get("state").unwrap_or(dump);
    let state = tree
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
        if !matches!(op, "power_down" | "gov_down") && !nft::CHRONO_OPS.contains(&op) && !dex::CHRONO_OPS.contains(&op)
        {
            r.report(format!("chrono/{key}"), format!("scheduled `{op}`: not imported"));
        }
    }

    // Nodes and runners.
    let mut nodes: Vec<String> = Vec::new();
    let mut node_records = Map::new();
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
                node_records = node_records_of(n, base, &mut r);
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

    // The economy's running figures and Proof of Brain, on chains that run them.
    let pob_base = base.pointer("/modules/token/economy/proof_of_brain");
    let pob_blocks = |name: &str, default: u64| {
        pob_base
            .and_then(|p| p.get(name))
            .and_then(Value::as_u64)
            .unwrap_or(default)
    };
    let mut economy_genesis = json!({});
    let mut pob_genesis = json!({});
    let mut leader_votes_carried = false;
    if economy {
        let mut wins = BTreeMap::new();
        if let Some(n) = tree.pointer("/markets/node").and_then(Value::as_object) {
            for (name, rec) in n {
                match rec.get("wins").map(|w| (w, w.as_u64())) {
                    Some((_, Some(w))) if w > 0 && is_valid_account_name(name) => {
                        wins.insert(name.clone(), w);
                    }
                    Some((w, None)) if !w.is_null() => {
                        r.refuse(format!("markets/node/{name}/wins"), format!("{w} is not a count"))
                    }
                    _ => {}
                }
            }
        }
        economy_genesis["wins"] = json!(wins);
        // A node rate the economy could be paying at: the runners' bids (at most 1000) or
        // the chain's default; the reference's genesis 2000 and reset 2500 are defaults.
        let allowed = base
            .pointer("/modules/token/economy/default_node_rate")
            .and_then(Value::as_u64)
            .unwrap_or(2_500)
            .max(1_000);
        match tree.pointer("/stats/nodeRate").map(|v| (v, v.as_u64())) {
            Some((_, Some(rate))) if rate <= allowed => economy_genesis["node_rate"] = json!(rate),
            Some((v, _)) => r.report(
                "stats/nodeRate",
                format!("{v} is no rate this chain pays at (0 to {allowed}): the next DAO day uses the default or the runners' bids"),
            ),
            None => {}
        }
        if !wins.is_empty() && economy_genesis.get("node_rate").is_none() {
            economy_genesis["node_rate"] = json!(allowed.min(
                base.pointer("/modules/token/economy/default_node_rate")
                    .and_then(Value::as_u64)
                    .unwrap_or(2_500)
            ));
        }
    }
    let known_pob = ["up", "down", "pend", "posts", "pendingpayment", "paid"];
    if pob_base.is_some() {
        let (reward, pending_for) = (
            pob_blocks("reward_blocks", 201_600),
            pob_blocks("pending_blocks", 28_800),
        );
        let mut pending = BTreeMap::new();
        if let Some(p) = state.get("pend").and_then(|p| r.object("pend", p)) {
            for (key, v) in p {
                let path = format!("pend/{key}");
                match v.get("block_num").and_then(Value::as_u64) {
                    Some(b) if b + pending_for > block => {
                        pending.insert(key.clone(), b);
                    }
                    Some(_) => r.report(path, "expired before the import block"),
                    None => r.refuse(path, "has no block_num"),
                }
            }
        }
        let mut posts = BTreeMap::new();
        let mut voters = std::collections::BTreeSet::new();
        // Open posts, and those whose voting closed since the last tally (the reference
        // moved them to `pendingpayment`; its next tally pays them, as opentoken's first
        // tally pays a post whose voting closed).
        for root in ["posts", "pendingpayment"] {
            let Some(p) = state.get(root) else {
                continue;
            };
            for (path, key, post) in r.posts(root, p) {
                let Some(b) = post.get("block").and_then(Value::as_u64) else {
                    r.refuse(path, "has no block");
                    continue;
                };
                if root == "posts" && b + reward < block {
                    r.report(path, "its voting closed before the import block");
                    continue;
                }
                if root == "pendingpayment" && b + reward > block {
                    r.refuse(path, "waits for payment but its voting has not closed");
                    continue;
                }
                let mut votes = BTreeMap::new();
                if let Some(vs) = post.get("votes").and_then(Value::as_object) {
                    for (voter, vote) in vs {
                        match (vote.get("b").and_then(Value::as_u64), vote.get("v")) {
                            // The reference stores NaN votes as null; null counts as 0.
                            (Some(_), Some(v)) if v.is_null() => {}
                            (Some(vb), Some(v)) => match v.as_i64() {
                                Some(v) => {
                                    voters.insert(voter.clone());
                                    votes.insert(voter.clone(), json!([vb, v]));
                                }
                                None => {
                                    r.refuse(format!("{path}/votes/{voter}"), format!("{v} is not an integer vote"))
                                }
                            },
                            _ => r.refuse(format!("{path}/votes/{voter}"), "is not {b, v}"),
                        }
                    }
                }
                posts.insert(key, json!({"block": b, "votes": votes}));
            }
        }
        let mut meters = BTreeMap::new();
        let meter = |v: Option<&Value>| -> Option<(u64, u64, u64)> {
            let v = v?;
            Some((
                v.get("max").and_then(Value::as_u64).unwrap_or(0),
                v.get("power").and_then(Value::as_u64)?,
                v.get("last").and_then(Value::as_u64)?,
            ))
        };
        if let Some(ups) = state.get("up").and_then(|u| r.object("up", u)) {
            for (acct, up) in ups {
                let Some((max, power, last)) = meter(Some(up)) else {
                    r.refuse(format!("up/{acct}"), "is not {max, last, power}");
                    continue;
                };
                let (down_power, down_last) = match meter(tree.pointer(&format!("/down/{acct}"))) {
                    Some((_, p, l)) => (p, l),
                    None => {
                        r.report(
                            format!("down/{acct}"),
                            "no down meter (or the reference's null one): starts full",
                        );
                        (max, last)
                    }
                };
                meters.insert(
                    acct.clone(),
                    json!({"up_power": power, "up_last": last, "down_power": down_power, "down_last": down_last}),
                );
            }
        }
        if let Some(v) = voters.iter().find(|v| !meters.contains_key(*v)) {
            r.refuse(format!("up/{v}"), "a voter of an open post without a meter");
        }
        let paid = paid_records(state, &mut r);
        pob_genesis = json!({"pending": pending, "posts": posts, "meters": meters, "paid": paid});
        if let Some(leader) = pob_base
            .and_then(|p| p.get("leader_votes"))
            .filter(|l| !l.is_null())
            .and(base.get("leader").and_then(Value::as_str))
        {
            let (queued, due) = leader_votes(state, leader, &mut r);
            pob_genesis["leader_queued"] = json!(queued);
            pob_genesis["leader_due"] = json!(due);
            leader_votes_carried = true;
        }
        if let Some(mw) = tree.pointer("/stats/movingWeight/running").and_then(Value::as_u64) {
            pob_genesis["moving_weight"] = json!(mw);
        }
        if let (Some(daily), Some(every), Some(offset)) = (
            tree.pointer("/stats/movingWeight/dailyPool").and_then(Value::as_u64),
            base.pointer("/modules/token/economy/dao_every")
                .and_then(Value::as_u64)
                .or(Some(28_800)),
            base.pointer("/modules/token/economy/dao_offset")
                .and_then(Value::as_u64)
                .or(Some(18_505)),
        ) {
            let last = block.checked_sub((block + every - offset % every) % every.max(1));
            if let Some(last) = last {
                economy_genesis["last_dao"] = json!({"block": last, "minted": 0, "node_rate": 0, "marketing_rate": 0,
                    "delegation_rate": 0, "to_nodes": 0, "to_marketing": 0, "overflow": 0, "to_delegators": 0,
                    "to_content": daily});
                r.report(
                    "stats/movingWeight/dailyPool",
                    format!("imported as the content share of the DAO day at {last}; the day's other figures are unknown (0)"),
                );
            }
        }
    }

    // Everything else: known and reported, or unknown and refused.
    for (key, v) in state {
        if pob_base.is_some() && known_pob.contains(&key.as_str()) {
            continue;
        }
        if leader_votes_carried && matches!(key.as_str(), "pendingvote" | "escrow") {
            continue;
        }
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
        if known.contains(&key.as_str())
            || dex::PATHS.contains(&key.as_str())
            || multisig::PATHS.contains(&key.as_str())
            || nft::PATHS.contains(&key.as_str())
        {
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
        let imported =
            |k: &str| k == "tokenSupply" || (economy && k == "nodeRate") || (pob_base.is_some() && k == "movingWeight");
        for key in stats.keys().filter(|k| !imported(k)) {
            r.report(
                format!("stats/{key}"),
                "a rate, constant or counter of the reference: the base chain spec's constants apply",
            );
        }
    }
    // The base's genesis sections are replaced by the dump's; each module's importer fills
    // its own and the token module's fields it needs (the tokens it holds in escrow).
    let mut spec = base.clone();
    for module in ["token", "nodes", "dex", "nft", "multisig"] {
        if let Some(m) = spec
            .pointer_mut(&format!("/modules/{module}"))
            .and_then(Value::as_object_mut)
        {
            m.insert("genesis".into(), json!({}));
        }
    }
    let dex_held = dex::import(state, &mut r, block, &mut spec);
    multisig::import(state, &mut r, &mut spec);
    let nft_held = nft::import(state, &mut r, block, &mut spec);
    if !r.refused.is_empty() {
        return Err(ImportError::Refused(r.refused));
    }
    let supply = [&balances, &claimable, &pow, &gov, &pools]
        .iter()
        .flat_map(|m| m.values())
        .chain(grants.values().flat_map(|m| m.values()))
        .map(|a| u128::from(*a))
        .sum::<u128>()
        + dex_held
        + nft_held;
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

    spec["starting_block"] = json!(block + 1);
    let ledger = json!({
        "balances": balances, "pow": pow, "gov": gov, "claimable": claimable,
        "nodes": nodes, "delegations": delegations, "grants": grants,
        "power_downs": power_downs, "gov_downs": gov_downs, "pools": pools,
        "economy": economy_genesis, "proof_of_brain": pob_genesis,
    });
    if let (Some(g), Some(fields)) = (
        spec.pointer_mut("/modules/token/genesis")
            .and_then(Value::as_object_mut),
        ledger.as_object(),
    ) {
        g.extend(fields.clone());
    }
    if spec.pointer("/modules/nodes").is_some() {
        spec["modules"]["nodes"]["genesis"] = json!({ "runners": runners, "nodes": node_records });
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

    /// Proof of Brain's posts (nested `posts/<author>/<permlink>`), pending posts
    /// (`pend/<author/permlink>`), meters, the moving weight, wins and the node rate go to
    /// the genesis of a chain that runs them; a post whose voting closed before N and a
    /// `null` vote are not carried.
    #[test]
    fn proof_of_brain_and_the_economy() {
        let mut b = base(true);
        b["modules"]["token"]["economy"]["proof_of_brain"] = json!({"beneficiary": "dlux-io", "reward_blocks": 500});
        b["modules"]["token"]["economy"]["dao_every"] = json!(100);
        b["modules"]["token"]["economy"]["dao_offset"] = json!(5);
        let dump = json!({"state": {
            "pow": {"bob": 4_000},
            "pend": {"alice/waiting": {"author": "alice", "permlink": "waiting", "block_num": 990, "meta": {}}},
            "posts": {"alice": {
                "open": {"block": 900, "author": "alice", "permlink": "open", "customJSON": {},
                         "votes": {"bob": {"b": 905, "v": 4_000}, "carol": {"b": 906, "v": null}}},
                "closed": {"block": 1, "votes": {}}}},
            "up": {"bob": {"max": 200_000, "last": 905, "power": 196_000}},
            "down": {},
            "markets": {"node": {"bob": {"wins": 3, "domain": "x"}, "carol": {"wins": 0}}},
            "stats": {"tokenSupply": 4_000, "nodeRate": 700, "movingWeight": {"running": 12, "dailyPool": 300}},
        }});
        let ok = import_state(&dump, 1_000, &b).expect("imports");
        let g = &ok.spec["modules"]["token"]["genesis"];
        assert_eq!(g["proof_of_brain"]["pending"], json!({"alice/waiting": 990}));
        assert_eq!(
            g["proof_of_brain"]["posts"],
            json!({"alice/open": {"block": 900, "votes": {"bob": [905, 4_000]}}})
        );
        assert_eq!(
            g["proof_of_brain"]["meters"]["bob"],
            json!({"up_power": 196_000, "up_last": 905, "down_power": 200_000, "down_last": 905})
        );
        assert_eq!(g["proof_of_brain"]["moving_weight"], 12);
        assert_eq!(g["economy"]["wins"], json!({"bob": 3}));
        assert_eq!(g["economy"]["node_rate"], 700);
        assert_eq!(g["economy"]["last_dao"]["to_content"], 300);
        assert_eq!(
            g["economy"]["last_dao"]["block"], 905,
            "the last block ≡ 5 (mod 100) up to 1000"
        );
        let paths: Vec<&str> = ok.not_imported.iter().map(|f| f.path.as_str()).collect();
        for want in ["posts/alice/closed", "down/bob", "stats/movingWeight/dailyPool"] {
            assert!(paths.contains(&want), "{want} not reported: {paths:?}");
        }
        // Without Proof of Brain in the base chain the same paths are reported, not imported.
        let plain = import_state(&dump, 1_000, &base(true)).expect("imports");
        let paths: Vec<&str> = plain.not_imported.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"posts") && paths.contains(&"up"), "{paths:?}");
    }

    /// The leader's voter routine under way: `pendingvote` posts queued with their sums,
    /// the leader's `escrow` votes due with their weights (a due post is not also queued),
    /// the escrow's other ops reported; the genesis is one the token module accepts.
    #[test]
    fn leader_votes_under_way() {
        let mut b = base(true);
        b["modules"]["token"]["economy"]["proof_of_brain"] =
            json!({"beneficiary": "dlux-io", "reward_blocks": 500, "leader_votes": {"check_after": 100}});
        let dump = json!({"state": {
            "pendingvote": {"alice": {"p1": {"author": "alice", "permlink": "p1", "v": 900},
                                      "p2": {"author": "alice", "permlink": "p2", "v": null}},
                            "bob": {"p3": {"v": 50}}},
            "escrow": {"dlux-io": {"vote:bob/p3": ["vote", {"voter": "dlux-io", "author": "bob", "permlink": "p3", "weight": 2_500}],
                                   "vote:carol": {"p4": ["vote", {"voter": "dlux-io", "author": "carol", "permlink": "p4", "weight": 7_500}]},
                                   "comment": ["comment", {}]},
                       "someone": {"x": 1}},
        }});
        let ok = import_state(&dump, 1_000, &b).expect("imports");
        let g = &ok.spec["modules"]["token"]["genesis"]["proof_of_brain"];
        assert_eq!(g["leader_queued"], json!({"alice/p1": 900}));
        assert_eq!(g["leader_due"], json!({"bob/p3": 2_500, "carol/p4": 7_500}));
        let paths: Vec<&str> = ok.not_imported.iter().map(|f| f.path.as_str()).collect();
        for want in ["pendingvote/alice/p2", "escrow/dlux-io/comment", "escrow/someone"] {
            assert!(paths.contains(&want), "{want} not reported: {paths:?}");
        }
        let spec = opentoken_core::ChainSpec::from_json(&ok.spec.to_string()).expect("a spec");
        opentoken_registry::modules(&spec).expect("the token module takes the leader's votes");
        let bad = json!({"state": {"escrow": {"dlux-io": {"vote:bob/p3": ["vote", {"weight": "all"}]}}}});
        match import_state(&bad, 1_000, &b) {
            Err(ImportError::Refused(f)) => assert_eq!(f[0].path, "escrow/dlux-io/vote:bob/p3"),
            other => panic!("{other:?}"),
        }
    }

    /// The reference's `paid/<tally>/<author>/<permlink>` records become what each post
    /// earned (its last tally's record when paid twice); a negative figure is reported and
    /// not carried; a tally key that is not a block is refused.
    #[test]
    fn paid_records_are_carried() {
        let mut b = base(true);
        b["modules"]["token"]["economy"]["proof_of_brain"] = json!({"beneficiary": "dlux-io"});
        let dump = json!({"state": {"paid": {
            "900": {"alice": {"p1": {"t": {"totalWeight": 10}, "author_payout": 1, "votes": {"bob": {"p": 1}}}}},
            "1000": {"alice": {"p1": {"t": {"totalWeight": 40}, "author_payout": 7,
                                      "votes": {"bob": {"b": 1, "v": 30, "p": 4}, "carol": {"b": 2, "v": 10, "p": 2}}},
                               "p2": {"t": {"totalWeight": 0}, "votes": {}},
                               "p3": {"t": {"totalWeight": -5}}}},
        }}});
        let ok = import_state(&dump, 1_000, &b).expect("imports");
        assert_eq!(
            ok.spec["modules"]["token"]["genesis"]["proof_of_brain"]["paid"],
            json!({"alice/p1": {"block": 1000, "weight": 40, "author_share": 7, "curation": 6},
                   "alice/p2": {"block": 1000, "weight": 0, "author_share": 0, "curation": 0}})
        );
        assert!(ok.not_imported.iter().any(|f| f.path == "paid/1000/alice/p3"));
        let spec = opentoken_core::ChainSpec::from_json(&ok.spec.to_string()).expect("a spec");
        opentoken_registry::modules(&spec).expect("the token module takes the paid records");
        let bad = json!({"state": {"paid": {"later": {}}}});
        match import_state(&bad, 1_000, &b) {
            Err(ImportError::Refused(f)) => assert_eq!(f[0].path, "paid/later"),
            other => panic!("{other:?}"),
        }
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
