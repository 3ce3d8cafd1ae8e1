//! The token's economy (chains with `modules.token.economy`): the tally's inflation mint
//! and the daily DAO of the reference (token-core §5.2, §5.4.2), as chron work of this
//! module, with exact integer arithmetic where the reference uses floating point.
//!
//! - **Mint**, at every block `≡ 0 (mod mint_every)`: `floor(supply / interest_rate)` new
//!   tokens into the pool `ra` (an [`TokenEvent::Inflated`], the mint's reason and block),
//!   capped so that the supply stays within `i64::MAX`.
//! - **Wins**: the nodes module sends `runner_wins` at every final tally, naming the runners
//!   that agreed (each gets a win) and the runners' average `bidRate` (the node rate).
//! - **DAO day**, at every block `≡ dao_offset (mod dao_every)`, with `t` = the pool `ra`:
//!   `nodes = ⌊t·node_rate/10⁴⌋` to `rn`, `marketing = ⌊t·marketing_rate/10⁴⌋` to `rm` (what
//!   `rm` would hold above `marketing_cap` is overflow to `rc`), `delegators =
//!   ⌊t·delegation_rate/10⁴⌋` to `rd`, the rest of `t` to `rc` (content). Then `rn` is paid
//!   out by wins, `⌊rn·wins/Σwins⌋` each, and `rd` by delegated VESTS, `⌊rd·vests/Σvests⌋`
//!   each, into claimable balances; what the floors leave stays in its pool for the next
//!   day, and the win counters restart. Nobody is paid from a pool with no wins or no
//!   delegations (the reference throws or pays NaN there); the pool keeps it.
//!
//! Every token the economy creates is in exactly one place: a pool or a claimable balance,
//! so the ledger's supply check holds at every block. What is not built: the liquidity
//! reward (the DEX's `dex/liq`), the ICO rounds and the daily post (see
//! `docs/compatibility.md`).

use crate::config::{EconomyConfig, MAX_NODE_RATE};
use crate::keys::{self, amount, Pool};
use crate::state::broken;
use crate::{TokenEvent, TokenModule};
use opentoken_codec::CodecError;
use opentoken_core::module::InvariantError;
use opentoken_core::{BlockContext, Message, Reject, RejectCode, StateRead};
use serde::{Deserialize, Serialize};

/// The most accounts one `runner_wins` may name: far above any runner set (the nodes
/// module elects at most `max_runners`), so a broken sender cannot make the ledger loop.
pub const MAX_RUNNERS_PER_WIN: usize = 256;

/// One DAO day's split of the pool `ra` (all amounts in base units, rates in basis points).
/// `minted = to_nodes + to_marketing + to_delegators + to_content`; `overflow` is the part
/// of `to_marketing` that went on to the content pool because of the marketing cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaoDay {
    pub block: u64,
    pub minted: u64,
    pub node_rate: u64,
    pub marketing_rate: u64,
    pub delegation_rate: u64,
    pub to_nodes: u64,
    pub to_marketing: u64,
    pub overflow: u64,
    pub to_delegators: u64,
    pub to_content: u64,
}

/// `⌊a·num/den⌋` without overflow (`den > 0`; the result is at most `a` when `num ≤ den`).
pub fn share(a: u64, num: u64, den: u64) -> u64 {
    if den == 0 {
        return 0;
    }
    u64::try_from(u128::from(a) * u128::from(num) / u128::from(den)).unwrap_or(u64::MAX)
}

impl DaoDay {
    /// The split of `minted` at `block`, with `marketing_held` already in the pool `rm`.
    pub fn split(block: u64, minted: u64, node_rate: u64, marketing_held: u64, cfg: &EconomyConfig) -> DaoDay {
        let to_nodes = share(minted, node_rate, 10_000);
        let to_marketing = share(minted, cfg.marketing_rate, 10_000);
        let to_delegators = share(minted, cfg.delegation_rate, 10_000);
        let room = cfg.marketing_cap.saturating_sub(marketing_held);
        let overflow = to_marketing.saturating_sub(room);
        DaoDay {
            block,
            minted,
            node_rate,
            marketing_rate: cfg.marketing_rate,
            delegation_rate: cfg.delegation_rate,
            to_nodes,
            to_marketing,
            overflow,
            to_delegators,
            // The rates sum to at most 10⁴ (validated), so the cuts never exceed `minted`.
            to_content: minted
                .saturating_sub(to_nodes)
                .saturating_sub(to_marketing)
                .saturating_sub(to_delegators),
        }
    }

    /// The Avro fields, in the schema's order.
    pub(crate) fn fields(&self) -> [(&'static str, u64); 10] {
        [
            ("block", self.block),
            ("minted", self.minted),
            ("node_rate", self.node_rate),
            ("marketing_rate", self.marketing_rate),
            ("delegation_rate", self.delegation_rate),
            ("to_nodes", self.to_nodes),
            ("to_marketing", self.to_marketing),
            ("overflow", self.overflow),
            ("to_delegators", self.to_delegators),
            ("to_content", self.to_content),
        ]
    }

    pub(crate) fn from_fields(get: impl Fn(&str) -> Result<u64, CodecError>) -> Result<Self, CodecError> {
        Ok(DaoDay {
            block: get("block")?,
            minted: get("minted")?,
            node_rate: get("node_rate")?,
            marketing_rate: get("marketing_rate")?,
            delegation_rate: get("delegation_rate")?,
            to_nodes: get("to_nodes")?,
            to_marketing: get("to_marketing")?,
            overflow: get("overflow")?,
            to_delegators: get("to_delegators")?,
            to_content: get("to_content")?,
        })
    }
}

/// The first block after `after` that is `≡ offset (mod every)`.
pub(crate) fn next_multiple(after: u64, every: u64, offset: u64) -> Option<u64> {
    let every = every.max(1);
    let base = after.checked_sub(after % every)?.checked_add(offset % every)?;
    if base > after {
        Some(base)
    } else {
        base.checked_add(every)
    }
}

/// The next block after `after` with economy work (a mint or a DAO day).
pub(crate) fn next_economy_block(cfg: &EconomyConfig, after: u64) -> Option<u64> {
    let mint = next_multiple(after, cfg.mint_every, 0);
    let dao = next_multiple(after, cfg.dao_every, cfg.dao_offset);
    match (mint, dao) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The pool's balance.
pub(crate) fn pool(state: &dyn StateRead, p: Pool) -> u64 {
    amount(state, &p.key())
}

/// `held` of `pool` paid out by `weights`: `⌊held·w/Σw⌋` each, nothing of 0.
fn payouts(pool: Pool, held: u64, weights: Vec<(String, u64)>) -> Result<Vec<TokenEvent>, InvariantError> {
    let total = weights
        .iter()
        .try_fold(0u64, |t, (_, w)| t.checked_add(*w))
        .ok_or_else(|| broken(format!("the weights of pool {} overflow u64", pool.name())))?;
    Ok(weights
        .into_iter()
        .filter(|(_, w)| *w > 0)
        .map(|(account, w)| (account, share(held, w, total)))
        .filter(|(_, a)| *a > 0)
        .map(|(account, amount)| TokenEvent::PoolPaid { pool, account, amount })
        .collect())
}

/// The accounts under `prefix` (`win/`, `dlg/`) with their amounts, in key order.
fn weights(state: &dyn StateRead, prefix: &str) -> Result<Vec<(String, u64)>, InvariantError> {
    state
        .scan_prefix(prefix.as_bytes())
        .map(|(k, v)| {
            let account = std::str::from_utf8(&k[prefix.len()..])
                .map_err(|_| broken(format!("a {prefix} key is not UTF-8")))?
                .to_string();
            let w = keys::decode_u64(v).ok_or_else(|| broken(format!("{prefix}{account} is not an amount")))?;
            Ok((account, w))
        })
        .collect()
}

impl TokenModule {
    /// The economy's chron work at `ctx.block`: a DAO day (computed from the pools before
    /// this block's mint), then the mint.
    pub(crate) fn economy_on_block(
        &self,
        eco: &EconomyConfig,
        ctx: &BlockContext<'_>,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, InvariantError> {
        let mut out = Vec::new();
        if ctx.block % eco.dao_every == eco.dao_offset {
            let node_rate = state
                .get(keys::NODE_RATE)
                .and_then(keys::decode_u64)
                .unwrap_or(eco.default_node_rate);
            let day = DaoDay::split(
                ctx.block,
                pool(state, Pool::Minted),
                node_rate,
                pool(state, Pool::Marketing),
                eco,
            );
            let nodes_pool = pool(state, Pool::Nodes).saturating_add(day.to_nodes);
            let delegators_pool = pool(state, Pool::Delegators).saturating_add(day.to_delegators);
            out.push(TokenEvent::DaoDay(day));
            out.extend(payouts(Pool::Nodes, nodes_pool, weights(state, keys::WINS_PREFIX)?)?);
            out.extend(payouts(
                Pool::Delegators,
                delegators_pool,
                weights(state, keys::DELEGATION_PREFIX)?,
            )?);
        }
        if ctx.block.is_multiple_of(eco.mint_every) {
            let supply = amount(state, keys::SUPPLY);
            let room = (i64::MAX as u64).saturating_sub(supply);
            let minted = (supply / eco.interest_rate).min(room);
            if minted > 0 {
                out.push(TokenEvent::Inflated {
                    block: ctx.block,
                    amount: minted,
                });
            }
        }
        Ok(out)
    }

    /// `runner_wins` from the nodes module: `{"accounts": [..], "node_rate": n}`.
    pub(crate) fn runner_wins(&self, m: &Message) -> Result<Vec<TokenEvent>, Reject> {
        let bad = |why: String| Reject::new(RejectCode::BadMessage, why);
        if self.cfg.economy.is_none() {
            return Err(bad(
                "runner_wins: this chain has no economy (modules.token.economy) to count wins for".into(),
            ));
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wins {
            accounts: Vec<String>,
            node_rate: u64,
        }
        let w: Wins = serde_json::from_str(&m.payload).map_err(|e| {
            bad(format!(
                "runner_wins needs {{accounts: [names], node_rate: integer}}: {e}"
            ))
        })?;
        if w.accounts.is_empty() || w.accounts.len() > MAX_RUNNERS_PER_WIN {
            return Err(bad(format!(
                "runner_wins names {} accounts; 1 to {MAX_RUNNERS_PER_WIN} are accepted",
                w.accounts.len()
            )));
        }
        if let Some(a) = w
            .accounts
            .iter()
            .find(|a| !opentoken_core::account::is_valid_account_name(a))
        {
            return Err(bad(format!(
                "runner_wins names {:?}, not a Hive account",
                a.chars().take(20).collect::<String>()
            )));
        }
        if w.node_rate > MAX_NODE_RATE {
            return Err(bad(format!(
                "runner_wins node_rate {} is above the most a bidRate can be ({MAX_NODE_RATE})",
                w.node_rate
            )));
        }
        let mut accounts = w.accounts;
        accounts.sort();
        accounts.dedup();
        Ok(vec![TokenEvent::WinsCounted {
            accounts,
            node_rate: w.node_rate,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eco() -> EconomyConfig {
        serde_json::from_value(serde_json::json!({ "interest_rate": 2_100_000 })).expect("defaults")
    }

    /// The reference's split (token-core §5.4.2) worked by hand for `t` = 57,200 (the mint of
    /// a day), runners' average bidRate 800, an empty marketing pool capped at 1,000:
    /// nodes 57,200·0.08 = 4,576; marketing 57,200·0.25 = 14,300, of which 13,300 is over
    /// the cap; delegators 57,200·0.20 = 11,440; content 57,200 − 4,576 − 14,300 − 11,440 =
    /// 26,884, plus the overflow 40,184 into `rc`.
    #[test]
    fn golden_dao_split() {
        let cfg = EconomyConfig {
            marketing_cap: 1_000,
            ..eco()
        };
        let d = DaoDay::split(50_015_305, 57_200, 800, 0, &cfg);
        assert_eq!(
            (d.to_nodes, d.to_marketing, d.overflow, d.to_delegators, d.to_content),
            (4_576, 14_300, 13_300, 11_440, 26_884)
        );
        assert_eq!(d.to_content + d.overflow, 40_184);
        assert_eq!(d.to_nodes + d.to_marketing + d.to_delegators + d.to_content, d.minted);
        // A pool already at its cap takes nothing more.
        let full = DaoDay::split(1, 57_200, 800, 1_000, &cfg);
        assert_eq!(full.overflow, full.to_marketing);
        // Floors: 1 token split at 25%/20%/8% goes wholly to content.
        let dust = DaoDay::split(1, 1, 800, 0, &cfg);
        assert_eq!(
            (dust.to_nodes, dust.to_marketing, dust.to_delegators, dust.to_content),
            (0, 0, 0, 1)
        );
    }

    #[test]
    fn next_blocks_are_the_configured_multiples() {
        let cfg = eco();
        assert_eq!(next_multiple(0, 100, 0), Some(100));
        assert_eq!(next_multiple(99, 100, 0), Some(100));
        assert_eq!(next_multiple(100, 100, 0), Some(200));
        assert_eq!(next_multiple(50_000_000, 28_800, 18_505), Some(50_015_305));
        assert_eq!(next_multiple(50_015_305, 28_800, 18_505), Some(50_044_105));
        assert_eq!(next_multiple(u64::MAX - 1, 100, 0), None);
        assert_eq!(next_economy_block(&cfg, 50_015_250), Some(50_015_300));
        assert_eq!(next_economy_block(&cfg, 50_015_300), Some(50_015_305));
    }

    #[test]
    fn shares_are_floored_and_exact_for_large_amounts() {
        assert_eq!(share(u64::MAX, 3, 4), u64::MAX / 4 * 3 + 2);
        assert_eq!(share(10, 1, 3), 3);
        assert_eq!(share(10, 1, 0), 0);
    }
}
