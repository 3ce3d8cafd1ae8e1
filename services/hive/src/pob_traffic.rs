//! Generated Proof of Brain traffic (chains with `modules.token.economy.proof_of_brain`):
//! community posts (a qualifying `comment` with its `comment_options` naming the
//! beneficiary, and now and then one without, which waits and is forgotten) and Hive votes
//! of the genesis accounts on recent posts, up and down. Deterministic in (seed, block):
//! posts are at every `POST_EVERY`-th block, so a vote finds its post by arithmetic.

use crate::traffic::{Rng, TrafficConfig};
use opentoken_core::{ChainSpec, HiveOp};
use serde_json::json;

/// A post is written at every block that is a multiple of this.
const POST_EVERY: u64 = 7;
/// Votes look back at most this many blocks for a post.
const VOTE_LOOKBACK: u64 = 600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PobTraffic {
    /// The account rewardable posts name as beneficiary.
    pub beneficiary: String,
    /// The `json_metadata` key that makes a post qualify.
    pub meta_key: String,
}

impl PobTraffic {
    /// The chain's Proof of Brain settings, when it runs it.
    pub fn from_spec(spec: &ChainSpec) -> Option<Self> {
        let pob = spec.module_config("token")?.get("economy")?.get("proof_of_brain")?;
        let meta_key = pob
            .get("meta_keys")
            .and_then(|k| k.get(0))
            .and_then(|k| k.as_str())
            .unwrap_or("arHash");
        Some(PobTraffic {
            beneficiary: pob.get("beneficiary")?.as_str()?.to_string(),
            meta_key: meta_key.to_string(),
        })
    }
}

fn other(name: &str, body: serde_json::Value) -> HiveOp {
    HiveOp::Other {
        name: name.into(),
        body: body.to_string(),
    }
}

/// The author of the post of block `b` (a multiple of [`POST_EVERY`]).
fn author(cfg: &TrafficConfig, b: u64) -> Option<&str> {
    let n = cfg.accounts.len() as u64;
    (n > 0).then(|| cfg.accounts[((b / POST_EVERY) % n) as usize].as_str())
}

/// Block `num`'s Proof of Brain transactions (each a list of ops).
pub fn pob_transactions(cfg: &TrafficConfig, t: &PobTraffic, rng: &mut Rng, num: u64) -> Vec<Vec<HiveOp>> {
    let mut txs = Vec::new();
    if num.is_multiple_of(POST_EVERY) {
        if let Some(author) = author(cfg, num) {
            let permlink = format!("pob-{num}");
            let meta = json!({ t.meta_key.as_str(): format!("Qm{num}"), "tags": ["dlux"] }).to_string();
            let mut ops = vec![other(
                "comment",
                json!({"parent_author": "", "parent_permlink": "dlux", "author": author, "permlink": permlink,
                       "title": format!("Post {num}"), "body": "generated", "json_metadata": meta}),
            )];
            if !rng.chance(200) {
                ops.push(other(
                    "comment_options",
                    json!({"author": author, "permlink": permlink, "max_accepted_payout": "1000000.000 HBD",
                           "percent_hbd": 10000, "allow_votes": true, "allow_curation_rewards": true,
                           "extensions": [[0, {"beneficiaries": [{"account": t.beneficiary, "weight": rng.range(1_000, 10_000)}]}]]}),
                ));
            }
            txs.push(ops);
        }
    }
    for _ in 0..rng.range(0, 3) {
        let back = rng.range(1, VOTE_LOOKBACK);
        let Some(b) = num.checked_sub(back).map(|b| b - b % POST_EVERY).filter(|b| *b > 0) else {
            continue;
        };
        let (Some(author), Some(voter)) = (author(cfg, b), rng.pick(&cfg.accounts)) else {
            continue;
        };
        let weight: i64 = if rng.chance(150) {
            -(rng.range(1, 10_000) as i64)
        } else {
            rng.range(0, 10_000) as i64
        };
        txs.push(vec![other(
            "vote",
            json!({"voter": voter, "author": author, "permlink": format!("pob-{b}"), "weight": weight}),
        )]);
    }
    txs
}
