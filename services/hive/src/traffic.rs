//! Generated user traffic for the simulator: valid token ops, invalid ones of every kind
//! the node must reject, and unrelated Hive ops. Deterministic: a function of (seed, block).

use crate::dex_traffic::DexTraffic;
use crate::nft_traffic::NftTraffic;
use crate::pob_traffic::PobTraffic;
use opentoken_core::{Asset, AssetSymbol, CustomJsonOp, DelegateVestingSharesOp, HiveOp, TransferOp};
use serde_json::json;
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficConfig {
    /// custom_json id prefix, e.g. `dlux_`.
    pub prefix: String,
    /// Accounts that act (they should hold genesis balances).
    pub accounts: Vec<String>,
    /// Accounts registered as nodes (allowed to gov_up).
    pub nodes: Vec<String>,
    pub delegation_account: String,
    /// Community ops per block, inclusive range.
    pub ops_per_block: (u32, u32),
    /// Share of generated community ops that are invalid, per mille.
    pub invalid_per_mille: u32,
    /// The multi-sig account: when set, blocks also carry deposits to it (HIVE and HBD
    /// transfers) and withdrawal requests (`<prefix>ms_withdraw`), after the other traffic
    /// and from their own random stream, so `None` leaves the chain exactly as before.
    pub msaccount: Option<String>,
    /// The chain's DEX (only with `msaccount`): when set, blocks also carry DEX orders,
    /// cancellations and invalid orders ([`crate::dex_traffic`]) after the multi-sig
    /// traffic and from their own random stream, so `None` leaves the chain as before.
    pub dex: Option<DexTraffic>,
    /// The chain's NFT module: when set, blocks also carry NFT ops ([`crate::nft_traffic`])
    /// after the DEX traffic and from their own random stream, so `None` leaves the chain
    /// as before.
    pub nft: Option<NftTraffic>,
    /// The chain's Proof of Brain: when set, blocks also carry posts and votes
    /// ([`crate::pob_traffic`]) after the NFT traffic and from their own random stream, so
    /// `None` leaves the chain as before.
    pub pob: Option<PobTraffic>,
}

/// SplitMix64: tiny, fast, and identical everywhere (no dependency on a crate's RNG version).
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, block: u64, stream: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"opentoken/devnet/rng");
        h.update(seed.to_le_bytes());
        h.update(block.to_le_bytes());
        h.update(stream);
        let d = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        Rng(u64::from_le_bytes(b))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.range(0, 999) < u64::from(per_mille)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.range(0, items.len() as u64 - 1) as usize)
        }
    }
}

fn cj(prefix: &str, name: &str, signer: &str, active: bool, json: String) -> HiveOp {
    HiveOp::CustomJson(CustomJsonOp {
        required_auths: if active { vec![signer.to_string()] } else { vec![] },
        required_posting_auths: if active { vec![] } else { vec![signer.to_string()] },
        id: format!("{prefix}{name}"),
        json,
    })
}

/// A uniformly drawn account of `accounts` other than `actor` ("null" when there is none),
/// without building the list of the others for every op: the draw is the one `rng.pick`
/// makes over that list (same random numbers, same answer). Account lists are sorted and
/// unique (genesis map keys), so `actor` is found in O(log n); another list is searched.
fn pick_other(rng: &mut Rng, accounts: &[String], actor: &str) -> String {
    let skip = match accounts.binary_search_by(|a| a.as_str().cmp(actor)) {
        Ok(at) => Some(at),
        Err(_) => accounts.iter().position(|a| a == actor),
    };
    let others = accounts.len() - usize::from(skip.is_some());
    if others == 0 {
        return "null".into();
    }
    let i = rng.range(0, others as u64 - 1) as usize;
    let i = match skip {
        Some(s) if i >= s => i + 1,
        _ => i,
    };
    accounts.get(i).cloned().unwrap_or_else(|| "null".into())
}

/// One generated op signed by `actor` (a transaction groups ops of one signer).
pub fn op(cfg: &TrafficConfig, rng: &mut Rng, actor: &str) -> HiveOp {
    let p = cfg.prefix.as_str();
    let mut peer = |rng: &mut Rng| -> String { pick_other(rng, &cfg.accounts, actor) };
    if rng.chance(cfg.invalid_per_mille) {
        return invalid(cfg, rng, actor, &mut peer);
    }
    match rng.range(0, 99) {
        0..=34 => {
            let to = peer(rng);
            cj(p, "send", actor, true, json!({"to": to, "amount": rng.range(1, 50_000)}).to_string())
        }
        35..=46 => cj(p, "power_up", actor, true, json!({"amount": rng.range(1, 30_000)}).to_string()),
        47..=54 => cj(p, "power_down", actor, true, json!({"amount": rng.range(0, 20_000)}).to_string()),
        55..=62 => {
            let to = peer(rng);
            cj(p, "power_grant", actor, true, json!({"to": to, "amount": rng.range(0, 20_000)}).to_string())
        }
        63..=70 => {
            let node = rng.pick(&cfg.nodes).cloned().unwrap_or_else(|| actor.to_string());
            cj(p, "gov_up", &node, true, json!({"amount": rng.range(1, 20_000)}).to_string())
        }
        71..=75 => cj(p, "gov_down", actor, true, json!({"amount": rng.range(0, 10_000)}).to_string()),
        76..=79 => {
            let gov = rng.chance(300);
            cj(p, "claim", actor, true, if gov { json!({"gov": true}) } else { json!({}) }.to_string())
        }
        80..=84 => HiveOp::DelegateVestingShares(DelegateVestingSharesOp {
            delegator: actor.to_string(),
            delegatee: cfg.delegation_account.clone(),
            vesting_shares: Asset::new(rng.range(0, 3) as i64 * rng.range(1_000_000, 9_000_000_000) as i64, AssetSymbol::Vests),
        }),
        85..=89 => HiveOp::CustomJson(CustomJsonOp {
            required_auths: vec![],
            required_posting_auths: vec![actor.to_string()],
            id: "sm_sps".into(),
            json: json!({"action": "stake", "qty": rng.range(1, 100)}).to_string(),
        }),
        90..=94 => HiveOp::Transfer(TransferOp {
            from: actor.to_string(),
            to: peer(rng),
            amount: Asset::new(rng.range(1, 10_000) as i64, AssetSymbol::Hive),
            memo: String::new(),
        }),
        _ => HiveOp::Other {
            name: "vote".into(),
            body: json!({"voter": actor, "author": peer(rng), "permlink": format!("post-{}", rng.range(1, 99)), "weight": 10000})
                .to_string(),
        },
    }
}

fn invalid(cfg: &TrafficConfig, rng: &mut Rng, actor: &str, peer: &mut dyn FnMut(&mut Rng) -> String) -> HiveOp {
    let p = cfg.prefix.as_str();
    match rng.range(0, 15) {
        0 => cj(p, "send", actor, true, "{\"to\": \"bob\", \"amount\": ".into()),
        1 => cj(p, "send", actor, true, "[1, 2, 3]".into()),
        2 => {
            let to = peer(rng);
            cj(p, "send", actor, false, json!({"to": to, "amount": 5}).to_string())
        }
        3 => cj(p, "power_up", actor, true, json!({"amount": -500}).to_string()),
        4 => cj(p, "power_up", actor, true, json!({"amount": 0}).to_string()),
        5 => cj(
            p,
            "send",
            actor,
            true,
            json!({"to": peer(rng), "amount": "1.5"}).to_string(),
        ),
        6 => cj(
            p,
            "send",
            actor,
            true,
            json!({"to": peer(rng), "amount": "0x10"}).to_string(),
        ),
        7 => cj(p, "power_up", actor, true, "{\"amount\": 1e30}".into()),
        8 => cj(p, "frobnicate", actor, true, "{}".into()),
        9 => cj(
            p,
            "send",
            actor,
            true,
            json!({"to": peer(rng), "amount": 1, "memo": "x".repeat(8200)}).to_string(),
        ),
        10 => cj(p, "send", actor, true, json!({"to": actor, "amount": 10}).to_string()),
        11 => cj(
            p,
            "send",
            actor,
            true,
            json!({"to": "Not-An-Account", "amount": 10}).to_string(),
        ),
        12 => cj(
            p,
            "power_grant",
            actor,
            true,
            json!({"to": actor, "amount": 10}).to_string(),
        ),
        13 => {
            let non_node = cfg
                .accounts
                .iter()
                .find(|a| !cfg.nodes.contains(a))
                .cloned()
                .unwrap_or_else(|| actor.to_string());
            cj(p, "gov_up", &non_node, true, json!({"amount": 10}).to_string())
        }
        14 => cj(
            p,
            "send",
            actor,
            true,
            json!({"to": peer(rng), "amount": 9_000_000_000_000u64}).to_string(),
        ),
        _ => cj(p, "power_down", actor, false, json!({"amount": 10}).to_string()),
    }
}

/// How many multi-sig transactions a block gets (0 to 2; about one block in two has one).
pub fn multisig_count(rng: &mut Rng) -> u64 {
    match rng.range(0, 9) {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Memos of deposits that are not plain: what a multi-sig node must survive reading.
const ODD_MEMOS: [&str; 5] = ["{\"to\": ", "[1, 2]", "not json", "ünïcødé ✓", "@Not-An-Account"];

/// One multi-sig operation of a traffic account (`ms` excluded), or `None` when the one
/// drawn cannot be afforded. `available(account, symbol)` is what the account may still
/// spend in this block (see `Budget`): deposits never exceed it, so they never overdraw.
///
/// - deposits (55 %): a transfer of 0.001 to 25 HIVE or 5 HBD to `ms`, memo "" or (1 in
///   10) a malformed one;
/// - withdrawal requests (35 %): custom_json `<prefix>ms_withdraw`, active authority,
///   `{"amount": <milli-units>, "asset": "HIVE"|"HBD"}` and sometimes `"to"`;
/// - invalid withdrawal requests (10 %), each of a kind a node must refuse.
pub fn multisig_op(
    cfg: &TrafficConfig,
    ms: &str,
    rng: &mut Rng,
    available: impl Fn(&str, AssetSymbol) -> i64,
) -> Option<HiveOp> {
    let users: Vec<&String> = cfg.accounts.iter().filter(|a| a.as_str() != ms).collect();
    let actor = rng.pick(&users)?.to_string();
    let hbd = rng.chance(300);
    let (symbol, asset_name, cap) = if hbd {
        (AssetSymbol::Hbd, "HBD", 5_000)
    } else {
        (AssetSymbol::Hive, "HIVE", 25_000)
    };
    let withdraw = |json: String, active: bool| cj(&cfg.prefix, "ms_withdraw", &actor, active, json);
    match rng.range(0, 99) {
        0..=54 => {
            let memo = if rng.chance(100) {
                rng.pick(&ODD_MEMOS).copied().unwrap_or_default()
            } else {
                ""
            };
            let cap = available(&actor, symbol).min(cap);
            let amount = rng.range(1, cap.max(1) as u64) as i64;
            (cap >= 1).then(|| {
                HiveOp::Transfer(TransferOp {
                    from: actor.clone(),
                    to: ms.to_string(),
                    amount: Asset::new(amount, symbol),
                    memo: memo.to_string(),
                })
            })
        }
        55..=89 => {
            let mut body = json!({"amount": rng.range(1, 20_000), "asset": asset_name});
            if rng.chance(300) {
                let others: Vec<&&String> = users.iter().filter(|a| a.as_str() != actor).collect();
                if let Some(to) = rng.pick(&others) {
                    body["to"] = Value::String(to.to_string());
                }
            }
            Some(withdraw(body.to_string(), true))
        }
        _ => Some(match rng.range(0, 9) {
            0 => withdraw(json!({"amount": 0, "asset": asset_name}).to_string(), true),
            1 => withdraw(json!({"amount": -5, "asset": asset_name}).to_string(), true),
            2 => withdraw(json!({"amount": "1.000", "asset": asset_name}).to_string(), true),
            3 => withdraw(json!({"amount": 10, "asset": "VESTS"}).to_string(), true),
            4 => withdraw(json!({"amount": 10}).to_string(), true),
            5 => withdraw(json!({"amount": 10, "asset": asset_name}).to_string(), false),
            6 => withdraw(
                json!({"amount": 10, "asset": asset_name, "to": "Not-An-Account"}).to_string(),
                true,
            ),
            7 => withdraw("not json".into(), true),
            8 => withdraw("{\"amount\": 1.5, \"asset\": \"HIVE\"}".into(), true),
            _ => withdraw(
                json!({"amount": 9_000_000_000_000_000u64, "asset": asset_name}).to_string(),
                true,
            ),
        }),
    }
}

/// A benchmark stream: blocks `range` of community traffic drawn with [`op`] (the same op
/// mix, invalid share and non-community noise as the simulator), without the simulator's
/// Hive ledger, signatures or shadow state, so it scales to millions of accounts.
/// `busy_per_mille` of the blocks carry `cfg.ops_per_block` ops; the others are empty
/// (Hive's real density for one community: most blocks hold none of its ops). Ids are
/// hashes of (seed, position): unique and deterministic, not Hive's.
pub fn bench_stream(
    cfg: &TrafficConfig,
    seed: u64,
    range: std::ops::RangeInclusive<u64>,
    busy_per_mille: u32,
) -> Vec<opentoken_core::Block> {
    let id = |what: &[u8], num: u64, i: u64| {
        let mut h = Sha256::new();
        h.update(b"opentoken/bench/");
        h.update(what);
        h.update(seed.to_le_bytes());
        h.update(num.to_le_bytes());
        h.update(i.to_le_bytes());
        hex::encode(&h.finalize()[..20])
    };
    let mut previous = id(b"block", range.start().saturating_sub(1), 0);
    let first = *range.start();
    range
        .map(|num| {
            let mut rng = Rng::new(seed, num, b"bench");
            let mut transactions = Vec::new();
            if rng.chance(busy_per_mille) {
                let n = rng.range(u64::from(cfg.ops_per_block.0), u64::from(cfg.ops_per_block.1));
                for i in 0..n {
                    let Some(actor) = rng.pick(&cfg.accounts).cloned() else {
                        break;
                    };
                    transactions.push(opentoken_core::Transaction {
                        txid: id(b"tx", num, i),
                        operations: vec![op(cfg, &mut rng, &actor)],
                    });
                }
            }
            let block = opentoken_core::Block {
                num,
                id: id(b"block", num, 0),
                previous: std::mem::take(&mut previous),
                timestamp: crate::simulator::GENESIS_TIME + 3 * (num - first),
                witness: "witness-a".into(),
                transactions,
            };
            previous = block.id.clone();
            block
        })
        .collect()
}

#[cfg(test)]
mod bench_stream_tests {
    use super::*;

    fn cfg(accounts: usize) -> TrafficConfig {
        TrafficConfig {
            prefix: "dlux_".into(),
            accounts: (0..accounts).map(|i| format!("u{i:07}")).collect(),
            nodes: vec![],
            delegation_account: "dlux-io".into(),
            ops_per_block: (5, 5),
            invalid_per_mille: 100,
            msaccount: None,
            dex: None,
            nft: None,
            pob: None,
        }
    }

    #[test]
    fn the_stream_is_deterministic_chained_and_as_dense_as_asked() {
        let c = cfg(1_000);
        let a = bench_stream(&c, 7, 1..=2_000, 100);
        assert_eq!(a, bench_stream(&c, 7, 1..=2_000, 100));
        assert_ne!(a, bench_stream(&c, 8, 1..=2_000, 100));
        for w in a.windows(2) {
            assert_eq!(w[1].previous, w[0].id);
            assert_eq!(w[1].num, w[0].num + 1);
        }
        let busy = a.iter().filter(|b| !b.transactions.is_empty()).count();
        assert!(
            (150..=250).contains(&busy),
            "{busy} of 2,000 blocks busy at 100 per mille"
        );
        assert!(a.iter().all(|b| b.transactions.is_empty() || b.transactions.len() == 5));
        let dense = bench_stream(&c, 7, 1..=100, 1_000);
        assert!(dense.iter().all(|b| b.transactions.len() == 5));
    }

    #[test]
    fn a_peer_is_never_the_actor_and_the_draw_matches_the_filtered_pick() {
        let accounts: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        for seed in 0..200 {
            for actor in ["a", "c", "d", "zz"] {
                let mut fast = Rng::new(seed, 1, b"t");
                let mut slow = Rng::new(seed, 1, b"t");
                let others: Vec<&String> = accounts.iter().filter(|a| a.as_str() != actor).collect();
                let want = slow
                    .pick(&others)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "null".into());
                let got = pick_other(&mut fast, &accounts, actor);
                assert_eq!(got, want);
                assert_ne!(got, actor);
            }
        }
        assert_eq!(pick_other(&mut Rng::new(1, 1, b"t"), &["a".to_string()], "a"), "null");
    }
}
