//! Read models for the HTTP API, over any backend (`KvSource`). Field names follow the
//! reference node's `/@:account`, `/stats` and `/coin` responses so wallets keep working.

use crate::keys::{self, decode_blocks, decode_u64, Bucket, Unlock};
use opentoken_core::KvSource;
use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ViewError {
    #[error("reading ledger state: {0}")]
    Read(String),
    #[error("ledger state is malformed at {0}")]
    Malformed(String),
}

fn get_u64(src: &dyn KvSource, key: &[u8]) -> Result<u64, ViewError> {
    match src.kv_get(key).map_err(ViewError::Read)? {
        None => Ok(0),
        Some(v) => decode_u64(&v).ok_or_else(|| ViewError::Malformed(String::from_utf8_lossy(key).into_owned())),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installment {
    pub block: u64,
    pub amount: u64,
}

#[allow(non_snake_case)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountView {
    pub account: String,
    /// Liquid tokens (base units).
    pub balance: u64,
    /// Claimable rewards.
    pub claim: u64,
    /// Staked tokens not granted away.
    pub poweredUp: u64,
    /// Power others grant to this account.
    pub granted: u64,
    /// Power this account grants to others.
    pub granting: u64,
    /// Governance stake.
    pub gov: u64,
    pub power_downs: Vec<Installment>,
    pub gov_downs: Vec<Installment>,
    /// Hive Power delegated to the community's delegation account, micro-VESTS.
    pub delegation_vests: u64,
    /// Registered as a node.
    pub is_node: bool,
    /// Proof of Brain's upvote meter, as the reference shows it: `max` is 50 × the power
    /// the account votes with (its own plus granted), `power` what it had at `last`.
    pub up: Meter,
    /// The downvote meter, likewise.
    pub down: Meter,
    /// The reference's `heldCollateral` (`col/<account>`): collateral that DEX escrow agents
    /// once posted. No operation of the reference writes it any more and opentoken's DEX
    /// holds no per-account collateral (the multi-sig account holds the coin), so it is 0,
    /// as the reference answers; wallets read the field.
    pub heldCollateral: u64,
}

/// A vote-mana meter (`/@:account`'s `up` and `down`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Meter {
    pub max: u64,
    pub last: u64,
    pub power: u64,
}

fn meters(src: &dyn KvSource, account: &str, voting_power: u64) -> Result<(Meter, Meter), ViewError> {
    let max = voting_power.min(crate::pob::MAX_VOTING_POWER) * 50;
    let mana = match src.kv_get(&keys::pob::mana(account)).map_err(ViewError::Read)? {
        None => crate::pob::Mana::full(max, 0),
        Some(v) => crate::pob::Mana::decode(&v).ok_or_else(|| ViewError::Malformed(format!("mana/{account}")))?,
    };
    Ok((
        Meter {
            max,
            last: mana.up_last,
            power: mana.up_power.min(max),
        },
        Meter {
            max,
            last: mana.down_last,
            power: mana.down_power.min(max),
        },
    ))
}

fn installments(src: &dyn KvSource, unlock: Unlock, account: &str) -> Result<Vec<Installment>, ViewError> {
    let blocks = src
        .kv_get(&keys::schedule_index(unlock, account))
        .map_err(ViewError::Read)?
        .map(|v| decode_blocks(&v));
    let mut out = Vec::new();
    for block in blocks.unwrap_or_default() {
        let amount = get_u64(src, &keys::schedule(block, unlock, account))?;
        out.push(Installment { block, amount });
    }
    Ok(out)
}

/// The first `limit` grants `account` makes, by recipient in account order, and whether
/// there are more (an account can grant to any number of others; a public answer lists a
/// bounded number). Grants received have no per-grantor index, only their total.
pub fn grants_out(src: &dyn KvSource, account: &str, limit: usize) -> Result<(Vec<(String, u64)>, bool), ViewError> {
    let prefix = format!("gra/{account}/").into_bytes();
    let mut pairs = src.kv_scan(&prefix, limit.saturating_add(1)).map_err(ViewError::Read)?;
    let more = pairs.len() > limit;
    pairs.truncate(limit);
    let mut out = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        let to = String::from_utf8_lossy(k.get(prefix.len()..).unwrap_or_default()).into_owned();
        let amount = decode_u64(&v).ok_or_else(|| ViewError::Malformed(String::from_utf8_lossy(&k).into_owned()))?;
        out.push((to, amount));
    }
    Ok((out, more))
}

pub fn account_view(src: &dyn KvSource, account: &str) -> Result<AccountView, ViewError> {
    let powered = get_u64(src, &keys::account(Bucket::Power, account))?;
    let granted = get_u64(src, &keys::granted(account))?;
    let (up, down) = meters(src, account, powered.saturating_add(granted))?;
    Ok(AccountView {
        account: account.to_string(),
        balance: get_u64(src, &keys::account(Bucket::Liquid, account))?,
        claim: get_u64(src, &keys::account(Bucket::Claimable, account))?,
        poweredUp: powered,
        granted,
        granting: get_u64(src, &keys::granting(account))?,
        gov: get_u64(src, &keys::account(Bucket::Gov, account))?,
        power_downs: installments(src, Unlock::Power, account)?,
        gov_downs: installments(src, Unlock::Gov, account)?,
        delegation_vests: get_u64(src, &keys::delegation(account))?,
        is_node: src.kv_get(&keys::node(account)).map_err(ViewError::Read)?.is_some(),
        up,
        down,
        heldCollateral: 0,
    })
}

#[allow(non_snake_case)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsView {
    pub tokenSupply: u64,
    pub liquid: u64,
    pub powered: u64,
    pub gov: u64,
    pub claimable: u64,
    pub granted: u64,
    /// Tokens the DEX holds for open sell orders (0 on chains without a DEX).
    pub in_dex: u64,
    /// Tokens the NFT module holds: define fees until the first mint, bonds, high bids.
    pub in_nft: u64,
    /// The economy's pools under the reference's names (`ra` minted since the last DAO day,
    /// `rn` nodes, `rm` marketing, `rd` delegators, `rc` content); empty without an economy.
    pub pools: std::collections::BTreeMap<&'static str, u64>,
    /// The runners' average `bidRate` the next DAO day pays node operators at (the
    /// reference's `stats.nodeRate`), once the nodes module sent one.
    pub nodeRate: Option<u64>,
    /// The last DAO day's split.
    pub last_dao: Option<crate::economy::DaoDay>,
    /// Proof of Brain's payout curve (the reference's `movingWeight.running`).
    pub movingWeight: MovingWeight,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MovingWeight {
    pub running: u64,
}

pub fn stats_view(src: &dyn KvSource) -> Result<StatsView, ViewError> {
    Ok(StatsView {
        tokenSupply: get_u64(src, keys::SUPPLY)?,
        liquid: get_u64(src, Bucket::Liquid.total_key())?,
        powered: get_u64(src, Bucket::Power.total_key())?,
        gov: get_u64(src, Bucket::Gov.total_key())?,
        claimable: get_u64(src, Bucket::Claimable.total_key())?,
        granted: get_u64(src, keys::GRANTED_TOTAL)?,
        in_dex: get_u64(src, keys::DEX_ESCROW)?,
        in_nft: get_u64(src, keys::NFT_ESCROW)?,
        pools: {
            let mut pools = std::collections::BTreeMap::new();
            for p in keys::Pool::ALL {
                let held = get_u64(src, &p.key())?;
                if held > 0 {
                    pools.insert(p.name(), held);
                }
            }
            pools
        },
        nodeRate: match src.kv_get(keys::NODE_RATE).map_err(ViewError::Read)? {
            None => None,
            Some(v) => Some(decode_u64(&v).ok_or_else(|| ViewError::Malformed("eco/node_rate".into()))?),
        },
        last_dao: match src.kv_get(keys::LAST_DAY).map_err(ViewError::Read)? {
            None => None,
            Some(v) => Some(serde_json::from_slice(&v).map_err(|_| ViewError::Malformed("eco/day".into()))?),
        },
        movingWeight: MovingWeight {
            running: get_u64(src, keys::pob::MOVING_WEIGHT)?,
        },
    })
}

/// One vote on a post, as the reference keeps it (`votes[voter] = {b, v}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostVote {
    pub b: u64,
    pub v: i64,
}

/// A post Proof of Brain knows: waiting for its options, open for votes, or paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostView {
    pub author: String,
    pub permlink: String,
    /// `pending` (waiting for options until `expires`), `open` (votes count until
    /// `closes`), or `paid`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes: Option<u64>,
    pub votes: std::collections::BTreeMap<String, PostVote>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid: Option<crate::pob::PaidPost>,
}

/// The most votes one post view lists (a post's votes are bounded by the stakers; this
/// bounds the response).
pub const MAX_POST_VOTES: usize = 10_000;

/// A post by author and permlink, `None` if Proof of Brain does not know it.
pub fn post_view(src: &dyn KvSource, author: &str, permlink: &str) -> Result<Option<PostView>, ViewError> {
    let malformed = |what: &str| ViewError::Malformed(format!("{what}{author}/{permlink}"));
    let mut view = PostView {
        author: author.to_string(),
        permlink: permlink.to_string(),
        status: "open",
        expires: None,
        block: None,
        closes: None,
        votes: Default::default(),
        paid: None,
    };
    if let Some(v) = src
        .kv_get(&keys::pob::post(author, permlink))
        .map_err(ViewError::Read)?
    {
        let (block, closes) = v
            .get(..16)
            .and_then(|b| Some((decode_u64(&b[..8])?, decode_u64(&b[8..])?)))
            .ok_or_else(|| malformed("pst/"))?;
        view.block = Some(block);
        view.closes = Some(closes);
        let prefix = keys::pob::votes_of(author, permlink);
        for (k, v) in src
            .kv_scan(prefix.as_bytes(), MAX_POST_VOTES)
            .map_err(ViewError::Read)?
        {
            let voter = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            let (b, v) = crate::pob::decode_vote(&v).ok_or_else(|| malformed("vot/"))?;
            view.votes.insert(voter, PostVote { b, v });
        }
        return Ok(Some(view));
    }
    if let Some(v) = src
        .kv_get(&keys::pob::pending(author, permlink))
        .map_err(ViewError::Read)?
    {
        view.status = "pending";
        view.expires = Some(decode_u64(&v).ok_or_else(|| malformed("pnd/"))?);
        return Ok(Some(view));
    }
    if let Some(v) = src
        .kv_get(&keys::pob::paid(author, permlink))
        .map_err(ViewError::Read)?
    {
        view.status = "paid";
        view.paid = Some(serde_json::from_slice(&v).map_err(|_| malformed("paid/"))?);
        return Ok(Some(view));
    }
    Ok(None)
}

/// A Hive vote the chain's leader owes (token-core §5.5's `escrow/<leader>/vote:...`): the
/// post, the weight in basis points, and the block until which it is listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueLeaderVote {
    pub author: String,
    pub permlink: String,
    pub weight: u64,
    pub until: u64,
}

/// A post queued for the leader's next voter round: author, permlink and vote sum.
pub type QueuedLeaderVote = (String, String, u64);

/// The leader's due votes, in post order, at most `limit`, and the posts queued for the
/// next voter round with their vote sums.
pub fn leader_votes(
    src: &dyn KvSource,
    limit: usize,
) -> Result<(Vec<DueLeaderVote>, Vec<QueuedLeaderVote>), ViewError> {
    let split = |k: &[u8], prefix: &str| {
        std::str::from_utf8(&k[prefix.len()..])
            .ok()
            .and_then(|ap| ap.split_once('/'))
            .map(|(a, p)| (a.to_string(), p.to_string()))
            .ok_or_else(|| ViewError::Malformed(String::from_utf8_lossy(k).into_owned()))
    };
    let mut due = Vec::new();
    let prefix = keys::pob::LEADER_DUE_PREFIX;
    for (k, v) in src.kv_scan(prefix.as_bytes(), limit).map_err(ViewError::Read)? {
        let (author, permlink) = split(&k, prefix)?;
        let (weight, until) = crate::pob::decode_due(&v).ok_or_else(|| ViewError::Malformed("lvd/".into()))?;
        due.push(DueLeaderVote {
            author,
            permlink,
            weight,
            until,
        });
    }
    let mut queued = Vec::new();
    let prefix = keys::pob::LEADER_QUEUED_PREFIX;
    for (k, v) in src.kv_scan(prefix.as_bytes(), limit).map_err(ViewError::Read)? {
        let (author, permlink) = split(&k, prefix)?;
        queued.push((
            author,
            permlink,
            decode_u64(&v).ok_or_else(|| ViewError::Malformed("lvq/".into()))?,
        ));
    }
    Ok((due, queued))
}

/// The posts open for votes, in the order their voting closes, at most `limit`, each
/// `(author, permlink, registered block, closes)`.
pub fn open_posts(src: &dyn KvSource, limit: usize) -> Result<Vec<(String, String, u64, u64)>, ViewError> {
    let mut out = Vec::new();
    for (k, _) in src.kv_scan(keys::pob::CLOSING_PREFIX, limit).map_err(ViewError::Read)? {
        let (closes, author, permlink) = keys::pob::parse_indexed(keys::pob::CLOSING_PREFIX, &k)
            .ok_or_else(|| ViewError::Malformed(String::from_utf8_lossy(&k).into_owned()))?;
        let block = src
            .kv_get(&keys::pob::post(&author, &permlink))
            .map_err(ViewError::Read)?
            .and_then(|v| decode_u64(v.get(..8)?))
            .ok_or_else(|| ViewError::Malformed(format!("pst/{author}/{permlink}")))?;
        out.push((author, permlink, block, closes));
    }
    Ok(out)
}

/// The reference's `/coin` audit: every holding summed from the accounts themselves,
/// compared with the supply counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupplyCheck {
    pub check: String,
    pub ok: bool,
    pub supply: u64,
    pub counted: u64,
    pub liquid_supply: u64,
    pub locked_pow: u64,
    pub locked_gov: u64,
    pub in_claims: u64,
    pub granted: u64,
    /// Tokens the DEX holds for open sell orders (its maintained total: the DEX, not this
    /// ledger, keeps them per order).
    pub in_dex: u64,
    /// Tokens the NFT module holds (the reference's `in_NFTS`).
    #[serde(rename = "in_NFTS")]
    pub in_nft: u64,
    /// Tokens in the economy's pools (inflation not yet paid out).
    pub in_pools: u64,
}

/// Sums at most this many entries per bucket; a ledger larger than this is summed from the
/// maintained totals instead (and says so).
const SCAN_LIMIT: usize = 1_000_000;

fn sum(src: &dyn KvSource, prefix: &[u8]) -> Result<u64, ViewError> {
    let mut total: u64 = 0;
    for (k, v) in src.kv_scan(prefix, SCAN_LIMIT).map_err(ViewError::Read)? {
        let x = decode_u64(&v).ok_or_else(|| ViewError::Malformed(String::from_utf8_lossy(&k).into_owned()))?;
        total = total.saturating_add(x);
    }
    Ok(total)
}

pub fn supply_check(src: &dyn KvSource) -> Result<SupplyCheck, ViewError> {
    let supply = get_u64(src, keys::SUPPLY)?;
    let liquid = sum(src, Bucket::Liquid.prefix().as_bytes())?;
    let pow = sum(src, Bucket::Power.prefix().as_bytes())?;
    let gov = sum(src, Bucket::Gov.prefix().as_bytes())?;
    let claims = sum(src, Bucket::Claimable.prefix().as_bytes())?;
    let granted = sum(src, b"gra/")?;
    let in_dex = get_u64(src, keys::DEX_ESCROW)?;
    let in_nft = get_u64(src, keys::NFT_ESCROW)?;
    let in_pools = sum(src, keys::POOL_PREFIX.as_bytes())?;
    let counted = liquid
        .saturating_add(in_pools)
        .saturating_add(pow)
        .saturating_add(gov)
        .saturating_add(claims)
        .saturating_add(granted)
        .saturating_add(in_dex)
        .saturating_add(in_nft);
    Ok(SupplyCheck {
        check: format!(
            "supply check: state {supply} vs counted {counted}: {}",
            i128::from(supply) - i128::from(counted)
        ),
        ok: supply == counted,
        supply,
        counted,
        liquid_supply: liquid,
        locked_pow: pow,
        locked_gov: gov,
        in_claims: claims,
        granted,
        in_dex,
        in_nft,
        in_pools,
    })
}
