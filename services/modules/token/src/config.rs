//! The token module's part of the chain spec (`modules.token`), validated strictly: a node
//! with an incomplete or mistyped genesis must refuse to start rather than fork later.

use opentoken_core::account::is_valid_account_name;
use opentoken_core::module::GenesisError;
use opentoken_core::ChainSpec;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Installments of a power-down (the reference: 4).
    #[serde(default = "four")]
    pub power_down_installments: u64,
    /// Blocks between power-down installments (the reference: 200,000).
    pub power_down_interval: u64,
    /// Installments of a governance withdrawal (the reference: 4).
    #[serde(default = "four")]
    pub gov_down_installments: u64,
    /// Blocks between governance-withdrawal installments (the reference: 201,600).
    pub gov_down_interval: u64,
    /// The least, in base units, a `send` may move to an account with no liquid balance,
    /// and a `power_grant` may start a new grant with. Each creates a state key anyone can
    /// make for a Hive transaction fee and that stays until its amount is gone; a minimum
    /// prices that. 0 (the default, the reference's behaviour): no minimum.
    #[serde(default)]
    pub min_send_to_new_account: u64,
    #[serde(default)]
    pub genesis: Genesis,
    /// Inflation and the daily DAO (`modules.token.economy`); absent: the supply changes
    /// only by genesis, node rewards and burns, as before the economy existed.
    #[serde(default)]
    pub economy: Option<EconomyConfig>,
}

fn four() -> u64 {
    4
}

/// The reference's tally mint and daily DAO (token-core §5.2, §5.4.2), with its constants as
/// defaults. Rates are basis points of what inflation minted since the last DAO day.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EconomyConfig {
    /// Each mint is `supply / interest_rate` (floored): 2,100,000 every 100 blocks is about
    /// 5.1% a year; the reference's genesis value 999,999,999,999 mints nothing until the
    /// supply reaches it.
    pub interest_rate: u64,
    /// Blocks between mints (the reference's tally: 100); a mint runs at every multiple.
    #[serde(default = "hundred")]
    pub mint_every: u64,
    /// Blocks between DAO days (28,800, a day of 3-second blocks) ...
    #[serde(default = "day")]
    pub dao_every: u64,
    /// ... at the blocks `≡ dao_offset (mod dao_every)` (the reference: 18,505).
    #[serde(default = "dao_offset")]
    pub dao_offset: u64,
    /// The node operators' cut when no runner's `bidRate` is known yet (the reference's 2500).
    #[serde(default = "quarter")]
    pub default_node_rate: u64,
    /// The marketing pool's cut (the reference: 2500, since no node sets `marketingRate`).
    #[serde(default = "quarter")]
    pub marketing_rate: u64,
    /// The most the marketing pool holds; a day's excess goes to the content pool (1e9).
    #[serde(default = "marketing_cap")]
    pub marketing_cap: u64,
    /// The delegators' cut (the reference's `delegationRate`: 2000).
    #[serde(default = "fifth")]
    pub delegation_rate: u64,
    /// The liquidity reward, percent of a 365th of the marketing pool paid each DAO day to
    /// the DEX's bidders by their liquidity points (the reference's `liq_reward`, the
    /// runners' average `liquidity` vote, 100 when none votes); needs `modules.dex.liquidity`.
    #[serde(default = "hundred")]
    pub liquidity_reward: u64,
    /// Proof of Brain (`economy.proof_of_brain`): community posts and Hive votes paid from
    /// the content pool `rc`; absent, `rc` only accumulates.
    #[serde(default)]
    pub proof_of_brain: Option<PobConfig>,
}

/// The reference's Proof of Brain (token-core §3.12–3.14, §4.3, §5.3): a Hive post becomes
/// rewardable when its `json_metadata` carries one of `meta_keys` and its
/// `comment_options` name `beneficiary` with at least `min_beneficiary_weight`; stakers'
/// Hive votes on it spend their vote mana and weigh its share of the content pool when its
/// voting window closes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PobConfig {
    /// The account a rewardable post must name as beneficiary (the reference: `dlux-io`).
    pub beneficiary: String,
    /// Its least beneficiary weight, basis points of the post's Hive rewards (1000).
    #[serde(default = "thousand")]
    pub min_beneficiary_weight: u64,
    /// `json_metadata` keys of which one must be truthy (the reference's dApp hashes:
    /// `arHash`, `vrHash`, `appHash`, `audHash`; `vidHash` alone does not qualify).
    #[serde(default = "meta_keys")]
    pub meta_keys: Vec<String>,
    /// Blocks a qualifying post waits for its `comment_options` before it is forgotten
    /// (the reference's `del_pend`: 28,800).
    #[serde(default = "day")]
    pub pending_blocks: u64,
    /// Blocks from registration to the close of voting (the reference's `post_reward`:
    /// 201,600, seven days); the post is paid at the first tally at or after it.
    #[serde(default = "week")]
    pub reward_blocks: u64,
    /// Blocks in which an empty vote-mana meter refills (the reference: 144,000).
    #[serde(default = "mana_regen")]
    pub mana_regen_blocks: u64,
    /// The payout curve's daily pool term before `daily_pool_until` (the reference forces
    /// `movingWeight.dailyPool` to 700,000 below block 50,700,000) ...
    #[serde(default = "daily_pool")]
    pub daily_pool: u64,
    /// ... and from that block on, the last DAO day's content share (what the reference's
    /// DAO sets `dailyPool` to).
    #[serde(default = "daily_pool_until")]
    pub daily_pool_until: u64,
    /// The least share of its meter, basis points, a downvote may leave in the down meter
    /// (the reference's "bigSpender" limit: 90%).
    #[serde(default = "down_floor")]
    pub down_floor: u64,
    /// The leader's voter routine (token-core §5.5): absent, the chain lists no Hive votes
    /// for the leader.
    #[serde(default)]
    pub leader_votes: Option<LeaderVotes>,
    /// Blocks a paid post's record (`/posts/:author/:permlink`) is kept: at each DAO day the
    /// records of posts paid more than this before it are dropped (the reference's DAO
    /// prunes `paid/<block>` older than 30,240 blocks), so the state does not grow with
    /// every post ever paid.
    #[serde(default = "paid_keep_blocks")]
    pub paid_keep_blocks: u64,
}

fn paid_keep_blocks() -> u64 {
    30_240
}

/// When the leader's Hive votes on registered posts are decided: each post's votes are
/// summed `check_after` blocks after it registered (the reference's `post_vote`); every
/// `every` blocks at `offset` the posts with a positive sum share 10,000 basis points of
/// vote weight by their sums (the reference's `voter`), and each vote is due from the
/// chain's `leader` until its Hive vote is seen or `keep_blocks` pass.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderVotes {
    #[serde(default = "twenty_thousand")]
    pub check_after: u64,
    #[serde(default = "three_thousand")]
    pub every: u64,
    #[serde(default = "two")]
    pub offset: u64,
    #[serde(default = "day")]
    pub keep_blocks: u64,
}

fn twenty_thousand() -> u64 {
    20_000
}
fn three_thousand() -> u64 {
    3_000
}
fn two() -> u64 {
    2
}

/// The most posts one leader-vote round lists (the rest wait for the next round).
pub const MAX_LEADER_VOTES: usize = 1_000;

fn thousand() -> u64 {
    1_000
}
fn meta_keys() -> Vec<String> {
    ["arHash", "vrHash", "appHash", "audHash"].map(String::from).to_vec()
}
fn week() -> u64 {
    201_600
}
fn mana_regen() -> u64 {
    144_000
}
fn daily_pool() -> u64 {
    700_000
}
fn daily_pool_until() -> u64 {
    50_700_000
}
fn down_floor() -> u64 {
    9_000
}

/// The most `meta_keys` a chain may list (each op's metadata is searched for all of them).
pub const MAX_META_KEYS: usize = 16;

impl PobConfig {
    pub fn validate(&self) -> Result<(), GenesisError> {
        if !is_valid_account_name(&self.beneficiary) {
            return Err(bad(format!(
                "economy.proof_of_brain.beneficiary: {:?} is not a valid Hive account name",
                self.beneficiary
            )));
        }
        if self.min_beneficiary_weight == 0 || self.min_beneficiary_weight > 10_000 {
            return Err(bad(
                "economy.proof_of_brain.min_beneficiary_weight must be 1 to 10000 basis points",
            ));
        }
        if self.meta_keys.is_empty()
            || self.meta_keys.len() > MAX_META_KEYS
            || self.meta_keys.iter().any(|k| k.is_empty() || k.len() > 64)
        {
            return Err(bad(format!(
                "economy.proof_of_brain.meta_keys must list 1 to {MAX_META_KEYS} keys of 1 to 64 bytes"
            )));
        }
        if self.pending_blocks == 0 || self.reward_blocks == 0 || self.mana_regen_blocks == 0 {
            return Err(bad(
                "economy.proof_of_brain: pending_blocks, reward_blocks and mana_regen_blocks must be at least 1",
            ));
        }
        if self.daily_pool > i64::MAX as u64 || self.down_floor > 10_000 {
            return Err(bad(
                "economy.proof_of_brain: daily_pool must be at most i64::MAX and down_floor at most 10000",
            ));
        }
        if let Some(l) = &self.leader_votes {
            if l.check_after == 0 || l.check_after >= self.reward_blocks {
                return Err(bad(
                    "economy.proof_of_brain.leader_votes.check_after must be 1 to reward_blocks - 1 (a post is checked while open)",
                ));
            }
            if l.every == 0 || l.offset >= l.every || l.keep_blocks == 0 {
                return Err(bad(
                    "economy.proof_of_brain.leader_votes: every and keep_blocks at least 1, offset below every",
                ));
            }
        }
        Ok(())
    }
}

fn hundred() -> u64 {
    100
}
fn day() -> u64 {
    28_800
}
fn dao_offset() -> u64 {
    18_505
}
fn quarter() -> u64 {
    2_500
}
fn fifth() -> u64 {
    2_000
}
fn marketing_cap() -> u64 {
    1_000_000_000
}

/// The most a runner's `bidRate` can be (the nodes module clamps `node_add` to it), so the
/// node cut never exceeds it.
pub const MAX_NODE_RATE: u64 = 1_000;

impl EconomyConfig {
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.interest_rate == 0 {
            return Err(bad(
                "economy.interest_rate must be at least 1 (a mint is supply / interest_rate)",
            ));
        }
        if self.mint_every == 0 || self.dao_every == 0 {
            return Err(bad("economy.mint_every and economy.dao_every must be at least 1 block"));
        }
        if self.dao_offset >= self.dao_every {
            return Err(bad("economy.dao_offset must be below economy.dao_every"));
        }
        let most = self
            .marketing_rate
            .saturating_add(self.delegation_rate)
            .saturating_add(self.default_node_rate.max(MAX_NODE_RATE));
        if most > 10_000 {
            return Err(bad(format!(
                "economy: marketing_rate + delegation_rate + the node rate (up to {}) must be at most 10000 basis points, got {most}",
                self.default_node_rate.max(MAX_NODE_RATE)
            )));
        }
        if self.marketing_cap > i64::MAX as u64 {
            return Err(bad("economy.marketing_cap must be at most i64::MAX"));
        }
        if self.liquidity_reward > 100 {
            return Err(bad("economy.liquidity_reward is a percent: at most 100"));
        }
        if let Some(pob) = &self.proof_of_brain {
            pob.validate()?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    #[serde(default)]
    pub balances: BTreeMap<String, u64>,
    #[serde(default)]
    pub pow: BTreeMap<String, u64>,
    #[serde(default)]
    pub gov: BTreeMap<String, u64>,
    #[serde(default)]
    pub claimable: BTreeMap<String, u64>,
    /// Accounts registered as nodes at genesis (a later nodes module takes over).
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Hive delegations to the delegation account that predate the start, in micro-VESTS.
    #[serde(default)]
    pub delegations: BTreeMap<String, u64>,
    /// Power granted at the start: `grants[from][to]`, base units `from` owns and `to` votes
    /// with, besides `from`'s own `pow` (a grant is power taken out of the grantor's).
    #[serde(default)]
    pub grants: BTreeMap<String, BTreeMap<String, u64>>,
    /// Power-downs under way at the start: `power_downs[account] = [[block, amount], ...]`,
    /// installments of the account's `pow` paid at those blocks (all after the start).
    #[serde(default)]
    pub power_downs: BTreeMap<String, Vec<(u64, u64)>>,
    /// Governance withdrawals under way at the start, of the account's `gov`, likewise.
    #[serde(default)]
    pub gov_downs: BTreeMap<String, Vec<(u64, u64)>>,
    /// The DEX's resting asks at the start (a running community's book, brought by
    /// `import-state`), best first: each one's tokens are minted into the DEX escrow and the
    /// order goes to the DEX, which rests it at the start of the first block. Only on chains
    /// that run a DEX.
    #[serde(default)]
    pub dex_orders: Vec<opentoken_dex::OrderIn>,
    /// The economy's pools at the start, by the reference's names (`ra`, `rn`, `rm`, `rd`,
    /// `rc`); only on chains with an economy.
    #[serde(default)]
    pub pools: BTreeMap<String, u64>,
    /// The economy's running figures at the start; only on chains with an economy.
    #[serde(default)]
    pub economy: EconomyGenesis,
    /// Proof of Brain under way at the start; only on chains with it.
    #[serde(default)]
    pub proof_of_brain: PobGenesis,
    /// The NFT module's side of the ledger at the start; only on chains that run it, and
    /// equal to what its genesis (`modules.nft.genesis`) holds and offers.
    #[serde(default)]
    pub nft: NftEscrowGenesis,
}

/// What the NFT module holds in this module's escrow at the start, brought from a running
/// community (`import-state`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NftEscrowGenesis {
    /// `tot/nft`: the sets' held define fees and bonds and the TOKEN auctions' high bids
    /// (created into the supply).
    #[serde(default)]
    pub escrow: u64,
    /// The TOKEN-priced items on offer and their prices (the `nftp/<item>` mirror).
    #[serde(default)]
    pub prices: BTreeMap<String, u64>,
}

/// What the economy counts between DAO days, brought from a running community.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EconomyGenesis {
    /// Each runner's wins since the last DAO day.
    #[serde(default)]
    pub wins: BTreeMap<String, u64>,
    /// The runners' average `bidRate` the next DAO day pays at (basis points).
    #[serde(default)]
    pub node_rate: Option<u64>,
    /// The last DAO day (its content share is Proof of Brain's daily pool).
    #[serde(default)]
    pub last_dao: Option<crate::economy::DaoDay>,
}

/// Proof of Brain's posts, votes and meters, brought from a running community. Posts are
/// keyed `author/permlink`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PobGenesis {
    /// Qualifying posts waiting for their options, with the block they were posted at.
    #[serde(default)]
    pub pending: BTreeMap<String, u64>,
    /// Registered posts open for votes, or closed after the last tally and not yet paid.
    #[serde(default)]
    pub posts: BTreeMap<String, GenesisPost>,
    /// Vote-mana meters; every voter of an open post has one.
    #[serde(default)]
    pub meters: BTreeMap<String, crate::pob::Mana>,
    /// The payout curve's moving weight.
    #[serde(default)]
    pub moving_weight: u64,
    /// What paid posts earned (for `/posts/:author/:permlink`).
    #[serde(default)]
    pub paid: BTreeMap<String, crate::pob::PaidPost>,
    /// Posts queued for the leader's next voter round, with their vote sums (the
    /// reference's `pendingvote`); only with `leader_votes`.
    #[serde(default)]
    pub leader_queued: BTreeMap<String, u64>,
    /// Hive votes the leader owes at the start, with their weights in basis points (the
    /// reference's `escrow/<leader>/vote:...`); listed for `leader_votes.keep_blocks`.
    #[serde(default)]
    pub leader_due: BTreeMap<String, u64>,
}

/// A registered post at the start: the block it was registered at and its votes
/// (`voter: [block, value]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GenesisPost {
    pub block: u64,
    #[serde(default)]
    pub votes: BTreeMap<String, (u64, i64)>,
}

/// The most wins a runner can have between DAO days (one per tally, far fewer than this).
const MAX_GENESIS_WINS: u64 = 10_000;

impl PobGenesis {
    fn is_empty(&self) -> bool {
        self.pending.is_empty()
            && self.posts.is_empty()
            && self.meters.is_empty()
            && self.paid.is_empty()
            && self.moving_weight == 0
            && self.leader_queued.is_empty()
            && self.leader_due.is_empty()
    }

    /// Author and permlink of a `author/permlink` key, both as Hive accepts them.
    pub fn post_key(key: &str) -> Option<(&str, &str)> {
        let (author, permlink) = key.split_once('/')?;
        (is_valid_account_name(author) && crate::pob::valid_permlink(permlink)).then_some((author, permlink))
    }

    /// `mint_every` places the tallies: a post whose voting closed after the last tally
    /// before the start is still owed its payout (the first tally pays it).
    fn validate(&self, pob: Option<&PobConfig>, starting_block: u64, mint_every: u64) -> Result<(), GenesisError> {
        if self.is_empty() {
            return Ok(());
        }
        let Some(pob) = pob else {
            return Err(bad(
                "genesis.proof_of_brain needs Proof of Brain (modules.token.economy.proof_of_brain)",
            ));
        };
        if (!self.leader_queued.is_empty() || !self.leader_due.is_empty()) && pob.leader_votes.is_none() {
            return Err(bad(
                "genesis.proof_of_brain.leader_queued/leader_due need the leader's votes (proof_of_brain.leader_votes)",
            ));
        }
        if self.leader_queued.len() + self.leader_due.len() > MAX_LEADER_VOTES {
            return Err(bad(format!(
                "genesis.proof_of_brain: at most {MAX_LEADER_VOTES} queued and due leader votes"
            )));
        }
        for (key, v) in &self.leader_queued {
            if Self::post_key(key).is_none() || *v == 0 || self.leader_due.contains_key(key) {
                return Err(bad(format!(
                    "genesis.proof_of_brain.leader_queued.{key}: an author/permlink with a positive sum, not also due"
                )));
            }
        }
        for (key, w) in &self.leader_due {
            if Self::post_key(key).is_none() || *w == 0 || *w > 10_000 {
                return Err(bad(format!(
                    "genesis.proof_of_brain.leader_due.{key}: an author/permlink with a weight of 1 to 10000"
                )));
            }
        }
        for (key, block) in &self.pending {
            if Self::post_key(key).is_none() || block.saturating_add(pob.pending_blocks) < starting_block {
                return Err(bad(format!(
                    "genesis.proof_of_brain.pending.{key}: not an author/permlink still waiting at the start"
                )));
            }
        }
        let before = starting_block.saturating_sub(1);
        let last_tally = before - before % mint_every.max(1);
        for (key, post) in &self.posts {
            if Self::post_key(key).is_none()
                || self.pending.contains_key(key)
                || post.block.saturating_add(pob.reward_blocks) <= last_tally
            {
                return Err(bad(format!(
                    "genesis.proof_of_brain.posts.{key}: not an author/permlink open for votes or unpaid at the start (its voting must close after the last tally, {last_tally})"
                )));
            }
            for (voter, (block, _)) in &post.votes {
                if !self.meters.contains_key(voter) || *block < post.block || !is_valid_account_name(voter) {
                    return Err(bad(format!(
                        "genesis.proof_of_brain.posts.{key}: the vote of {voter:?} needs a meter and a block after the post's"
                    )));
                }
            }
        }
        if let Some(key) = self.paid.keys().find(|k| Self::post_key(k).is_none()) {
            return Err(bad(format!(
                "genesis.proof_of_brain.paid.{key}: not an author/permlink"
            )));
        }
        if let Some(acct) = self.meters.keys().find(|a| !is_valid_account_name(a)) {
            return Err(bad(format!(
                "genesis.proof_of_brain.meters: {acct:?} is not a Hive account"
            )));
        }
        Ok(())
    }
}

/// The most installments one genesis schedule may list (the ops allow at most 52).
pub const MAX_GENESIS_INSTALLMENTS: usize = 52;

fn bad(why: impl Into<String>) -> GenesisError {
    GenesisError {
        module: "token".into(),
        why: why.into(),
    }
}

impl TokenConfig {
    pub fn from_spec(spec: &ChainSpec) -> Result<Self, GenesisError> {
        let v = spec
            .module_config("token")
            .ok_or_else(|| bad("the chain spec has no `modules.token` section"))?;
        let cfg: TokenConfig =
            serde_json::from_value(v.clone()).map_err(|e| bad(format!("`modules.token` is invalid: {e}")))?;
        cfg.validate()?;
        cfg.genesis.proof_of_brain.validate(
            cfg.economy.as_ref().and_then(|e| e.proof_of_brain.as_ref()),
            spec.starting_block,
            cfg.economy.as_ref().map_or(1, |e| e.mint_every),
        )?;
        for (name, schedules) in [
            ("power_downs", &cfg.genesis.power_downs),
            ("gov_downs", &cfg.genesis.gov_downs),
        ] {
            if let Some((acct, (block, _))) = schedules
                .iter()
                .find_map(|(a, i)| i.first().filter(|(b, _)| *b < spec.starting_block).map(|f| (a, f)))
            {
                return Err(bad(format!(
                    "genesis.{name}.{acct}: an installment at block {block}, before the start ({})",
                    spec.starting_block
                )));
            }
        }
        if let Some(why) = cfg
            .genesis
            .dex_orders
            .iter()
            .find_map(|o| o.genesis_fault(opentoken_dex::Side::Ask, spec.starting_block))
        {
            return Err(bad(format!("genesis.dex_orders: {why}")));
        }
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.power_down_installments == 0 || self.gov_down_installments == 0 {
            return Err(bad("installment counts must be at least 1"));
        }
        if self.power_down_installments > 52 || self.gov_down_installments > 52 {
            return Err(bad("installment counts must be at most 52"));
        }
        if self.power_down_interval == 0 || self.gov_down_interval == 0 {
            return Err(bad("installment intervals must be at least 1 block"));
        }
        let g = &self.genesis;
        let maps = [
            ("balances", &g.balances),
            ("pow", &g.pow),
            ("gov", &g.gov),
            ("claimable", &g.claimable),
        ];
        let mut supply: u64 = 0;
        for (name, m) in maps {
            for (acct, amt) in m {
                if !is_valid_account_name(acct) {
                    return Err(bad(format!(
                        "genesis.{name}: {acct:?} is not a valid Hive account name"
                    )));
                }
                supply = supply
                    .checked_add(*amt)
                    .ok_or_else(|| bad("genesis supply overflows"))?;
            }
        }
        for (from, to) in &g.grants {
            for (to, amt) in to {
                if !is_valid_account_name(from) || !is_valid_account_name(to) || from == to {
                    return Err(bad(format!(
                        "genesis.grants: {from:?} -> {to:?} is not a grant between two Hive accounts"
                    )));
                }
                supply = supply
                    .checked_add(*amt)
                    .ok_or_else(|| bad("genesis supply overflows"))?;
            }
        }
        for (pool, amt) in &g.pools {
            if crate::keys::Pool::from_name(pool).is_none() {
                return Err(bad(format!(
                    "genesis.pools: {pool:?} is not a pool (ra, rn, rm, rd, rc)"
                )));
            }
            if self.economy.is_none() && *amt > 0 {
                return Err(bad(
                    "genesis.pools needs an economy (modules.token.economy) to pay them",
                ));
            }
            supply = supply
                .checked_add(*amt)
                .ok_or_else(|| bad("genesis supply overflows"))?;
        }
        if g.dex_orders.len() > opentoken_dex::protocol::MAX_GENESIS_ORDERS {
            return Err(bad(format!(
                "genesis.dex_orders: at most {} orders",
                opentoken_dex::protocol::MAX_GENESIS_ORDERS
            )));
        }
        let mut ids = std::collections::BTreeSet::new();
        for o in &g.dex_orders {
            if let Some(why) = o.genesis_fault(opentoken_dex::Side::Ask, 0) {
                return Err(bad(format!("genesis.dex_orders: {why}")));
            }
            if !ids.insert(o.id.as_str()) {
                return Err(bad(format!("genesis.dex_orders: order {} twice", o.id)));
            }
            supply = supply
                .checked_add(o.amount)
                .ok_or_else(|| bad("genesis supply overflows"))?;
        }
        if supply > i64::MAX as u64 {
            return Err(bad("genesis supply exceeds i64::MAX"));
        }
        for (name, schedules, stake) in [
            ("power_downs", &g.power_downs, &g.pow),
            ("gov_downs", &g.gov_downs, &g.gov),
        ] {
            for (acct, installments) in schedules {
                let held = stake.get(acct).copied().unwrap_or(0);
                let total = installments.iter().try_fold(0u64, |t, (_, a)| t.checked_add(*a));
                let ordered = installments.windows(2).all(|w| w[0].0 < w[1].0);
                if installments.is_empty()
                    || installments.len() > MAX_GENESIS_INSTALLMENTS
                    || !ordered
                    || installments.iter().any(|(_, a)| *a == 0)
                {
                    return Err(bad(format!(
                        "genesis.{name}.{acct}: 1 to {MAX_GENESIS_INSTALLMENTS} installments of more than 0, at increasing blocks"
                    )));
                }
                if total.is_none_or(|t| t > held) {
                    return Err(bad(format!(
                        "genesis.{name}.{acct}: the installments add up to more than the {held} the account holds"
                    )));
                }
            }
        }
        for n in &g.nodes {
            if !is_valid_account_name(n) {
                return Err(bad(format!("genesis.nodes: {n:?} is not a valid Hive account name")));
            }
        }
        if let Some(e) = &self.economy {
            e.validate()?;
        }
        let eg = &g.economy;
        if self.economy.is_none() && (!eg.wins.is_empty() || eg.node_rate.is_some() || eg.last_dao.is_some()) {
            return Err(bad("genesis.economy needs an economy (modules.token.economy)"));
        }
        if !eg.wins.is_empty() && eg.node_rate.is_none() {
            return Err(bad("genesis.economy.wins needs the node_rate they are paid at"));
        }
        let most = self
            .economy
            .as_ref()
            .map_or(MAX_NODE_RATE, |e| e.default_node_rate.max(MAX_NODE_RATE));
        if eg.node_rate.is_some_and(|r| r > most) {
            return Err(bad(format!(
                "genesis.economy.node_rate is at most {most} (the runners' bids or the default)"
            )));
        }
        if let Some((acct, _)) = eg
            .wins
            .iter()
            .find(|(a, w)| !is_valid_account_name(a) || **w > MAX_GENESIS_WINS)
        {
            return Err(bad(format!(
                "genesis.economy.wins.{acct}: a Hive account with at most {MAX_GENESIS_WINS} wins"
            )));
        }
        for acct in g.delegations.keys() {
            if !is_valid_account_name(acct) {
                return Err(bad(format!(
                    "genesis.delegations: {acct:?} is not a valid Hive account name"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_file(name: &str) -> ChainSpec {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../infra/chains")
            .join(name);
        ChainSpec::load(&path).expect("bundled chain spec loads")
    }

    fn config(token: serde_json::Value) -> Result<TokenConfig, GenesisError> {
        let mut spec = spec_file("devnet.json");
        spec.modules.insert("token".into(), token);
        TokenConfig::from_spec(&spec)
    }

    #[test]
    fn bundled_specs_load() {
        let dlux = TokenConfig::from_spec(&spec_file("dlux.json")).expect("dlux.json");
        assert_eq!((dlux.power_down_interval, dlux.gov_down_interval), (200_000, 201_600));
        assert_eq!(dlux.power_down_installments, 4);
        assert_eq!(dlux.min_send_to_new_account, 0, "the reference has no minimum");
        // The reference's genesis (state.js): no balances, governance stake 1 and the one node
        // for the leader.
        assert!(dlux.genesis.balances.is_empty(), "{:?}", dlux.genesis.balances);
        assert_eq!(dlux.genesis.gov.get("dlux-io"), Some(&1));
        assert_eq!(dlux.genesis.nodes, vec!["dlux-io".to_string()]);
        let devnet = TokenConfig::from_spec(&spec_file("devnet.json")).expect("devnet.json");
        assert!(devnet.genesis.nodes.contains(&"alice".to_string()));
        assert_eq!(devnet.genesis.balances.get("alice"), Some(&1_000_000));
        assert_eq!(devnet.min_send_to_new_account, 0);
    }

    #[test]
    fn bad_genesis_refuses_to_start_naming_the_field() {
        let base = serde_json::json!({"power_down_interval": 10, "gov_down_interval": 10});
        assert!(config(base.clone()).is_ok());
        let cases = [
            (
                serde_json::json!({"power_down_interval": 0, "gov_down_interval": 10}),
                "intervals",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1, "power_down_installments": 0}),
                "installment counts",
            ),
            (serde_json::json!({"gov_down_interval": 10}), "power_down_interval"),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1, "typo": 1}),
                "typo",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "genesis": {"balances": {"Not-Valid": 1}}}),
                "genesis.balances",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "genesis": {"balances": {"alice": u64::MAX}, "pow": {"alice": 1}}}),
                "overflows",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "genesis": {"balances": {"alice": i64::MAX as u64 + 1}}}),
                "i64::MAX",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "genesis": {"balances": {"alice": -1}}}),
                "invalid",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "genesis": {"nodes": ["x"]}}),
                "genesis.nodes",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "min_send_to_new_account": -1}),
                "invalid",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "economy": {"interest_rate": 0}}),
                "economy.interest_rate",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "economy": {"interest_rate": 1, "mint_every": 0}}),
                "economy.mint_every",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "economy": {"interest_rate": 1, "dao_every": 100, "dao_offset": 100}}),
                "dao_offset",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "economy": {"interest_rate": 1, "marketing_rate": 6000, "delegation_rate": 2000}}),
                "at most 10000 basis points",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "economy": {"interest_rate": 1, "marketing_cap": u64::MAX}}),
                "marketing_cap",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "economy": {"interest_rate": 1, "inflation": true}}),
                "unknown field",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "economy": {"interest_rate": 1, "proof_of_brain": {"beneficiary": "X"}}}),
                "proof_of_brain.beneficiary",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "economy": {"interest_rate": 1, "proof_of_brain": {"beneficiary": "dlux-io", "meta_keys": []}}}),
                "meta_keys",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "economy": {"interest_rate": 1, "proof_of_brain": {"beneficiary": "dlux-io", "reward_blocks": 0}}}),
                "reward_blocks",
            ),
            (
                serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                    "economy": {"interest_rate": 1, "proof_of_brain": {"beneficiary": "dlux-io", "min_beneficiary_weight": 10001}}}),
                "min_beneficiary_weight",
            ),
        ];
        for (cfg, needle) in cases {
            match config(cfg.clone()) {
                Err(e) => assert!(e.why.contains(needle), "{cfg}: {:?} does not name {needle}", e.why),
                Ok(_) => panic!("{cfg} was accepted"),
            }
        }
    }
}
