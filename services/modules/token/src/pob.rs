//! Proof of Brain (chains with `economy.proof_of_brain`): community posts, stakers' Hive
//! votes on them, and their payout from the content pool `rc` (token-core §3.12–3.14, §4.3,
//! §5.3), with exact integer arithmetic and the reference's bugs fixed
//! (`docs/compatibility.md`).
//!
//! - **comment**: a Hive post whose `json_metadata` has a truthy value under one of the
//!   chain's `meta_keys` waits `pending_blocks` for its `comment_options`.
//! - **comment_options** naming the beneficiary with at least `min_beneficiary_weight`
//!   registers a waiting post: votes count until `reward_blocks` later.
//! - **vote** by an account with power (its own plus power granted to it): the vote's value
//!   is `⌊P·weight/500000⌋` of the up meter `P` (a 100% vote at a full meter is the voter's
//!   power and spends 2%); a downvote spends the down meter the same way and counts
//!   negative, refused when it would leave the meter below `down_floor`. Meters hold
//!   `50·power` and refill in `mana_regen_blocks`.
//! - **payout**, at each tally (the mint blocks): the posts whose voting closed since the
//!   last tally share `⌊(rc + 200·d)·⌊W/2016⌋ / (200·304·r)⌋` (never more than `rc` holds),
//!   where `W` is their total weight, `r` the moving weight's floor and `d` the daily pool
//!   (`daily_pool` before `daily_pool_until`, then the last DAO day's content share); each
//!   post gets its weight's share, half to the author and half to its upvoters by their
//!   lateness-decayed weights, into claimable balances. What floors leave stays in `rc`.
//!
//! Hive votes on anything else (most of mainnet's) never reach the ledger's status store:
//! [`TokenModule::pob_concerns`] drops them like ops the router never sends.

use crate::config::PobConfig;
use crate::keys::{self, pob as k, Bucket, Pool};
use crate::state::broken;
use crate::{TokenEvent, TokenModule};
use opentoken_core::module::InvariantError;
use opentoken_core::{OpContext, Reject, RejectCode, StateRead};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Hive's vote weight range (basis points of a full vote).
const FULL_VOTE: i64 = 10_000;
/// A 100% vote spends `1/VOTE_SHARE` of the meter, which holds `VOTE_SHARE·power`.
const VOTE_SHARE: u64 = 50;
/// The curve's constants (token-core §5.3): 2016 tallies of 100 blocks are seven days; the
/// floor adds `W/140`; the day's pool is `(rc/200 + daily_pool)/304` per tally.
const SAMPLES: u128 = 2016;
const FLOOR_DIVISOR: u128 = 140;
const RC_DIVISOR: u128 = 200;
const PER_TALLY: u128 = 304;
/// Stake above this votes as this much, so that meters (`50·power`) stay within `i64`.
pub const MAX_VOTING_POWER: u64 = (i64::MAX as u64) / VOTE_SHARE;
/// Hive's longest permlink.
const MAX_PERMLINK: usize = 256;

/// A Hive op Proof of Brain reads, decoded from the body `HiveOp::Other` carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PobOp {
    Comment {
        author: String,
        permlink: String,
    },
    Options {
        author: String,
        permlink: String,
    },
    Vote {
        voter: String,
        author: String,
        permlink: String,
        weight: i64,
    },
}

/// The vote-mana meters of one account (token-core §3.14), in meter units (`50·power` full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mana {
    pub up_power: u64,
    pub up_last: u64,
    pub down_power: u64,
    pub down_last: u64,
}

impl Mana {
    pub fn full(max: u64, block: u64) -> Mana {
        Mana {
            up_power: max,
            up_last: block,
            down_power: max,
            down_last: block,
        }
    }
    pub fn encode(&self) -> Vec<u8> {
        [self.up_power, self.up_last, self.down_power, self.down_last]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect()
    }
    pub fn decode(v: &[u8]) -> Option<Mana> {
        let mut n = v.chunks_exact(8).map(keys::decode_u64);
        let m = Mana {
            up_power: n.next()??,
            up_last: n.next()??,
            down_power: n.next()??,
            down_last: n.next()??,
        };
        (v.len() == 32).then_some(m)
    }
}

/// A meter `power` last set at `last`, refilled to `block`: `min(power + ⌊max·Δ/regen⌋, max)`.
pub fn heal(power: u64, last: u64, max: u64, block: u64, regen: u64) -> u64 {
    let refill = u128::from(max) * u128::from(block.saturating_sub(last)) / u128::from(regen.max(1));
    u64::try_from((u128::from(power) + refill).min(u128::from(max))).unwrap_or(max)
}

/// `⌊meter·|weight|/500000⌋`: what a vote of `weight` takes from a meter.
pub fn vote_value(meter: u64, weight: i64) -> u64 {
    let w = u128::from(weight.unsigned_abs());
    u64::try_from(u128::from(meter) * w / (u128::from(VOTE_SHARE) * FULL_VOTE as u128)).unwrap_or(0)
}

/// The power an account votes with: its own plus what others grant it, capped.
pub(crate) fn voting_power(state: &dyn StateRead, acct: &str) -> u64 {
    let own = keys::amount(state, &keys::account(Bucket::Power, acct));
    let granted = keys::amount(state, &keys::granted(acct));
    own.saturating_add(granted).min(MAX_VOTING_POWER)
}

/// JavaScript truthiness of a JSON value (what the reference's `meta.arHash || …` tests).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

fn field<'a>(m: &'a serde_json::Map<String, Value>, name: &str) -> Result<&'a str, String> {
    m.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{name}` is missing or not a string"))
}

/// A permlink as Hive accepts it: 1 to 256 of `[a-z0-9-]`.
pub fn valid_permlink(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= MAX_PERMLINK
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn author_permlink(m: &serde_json::Map<String, Value>) -> Result<(String, String), String> {
    let author = field(m, "author")?;
    let permlink = field(m, "permlink")?;
    if !opentoken_core::account::is_valid_account_name(author) {
        return Err(format!("author {author:?} is not a valid Hive account name"));
    }
    if !valid_permlink(permlink) {
        return Err(format!(
            "permlink {:?} is not 1 to {MAX_PERMLINK} of [a-z0-9-]",
            permlink.chars().take(40).collect::<String>()
        ));
    }
    Ok((author.to_string(), permlink.to_string()))
}

/// Decodes a Hive op for Proof of Brain: `Ok(None)` for anything it does not read (another
/// op, a post without the metadata, options without the beneficiary), `Err` for a body the
/// chain could not have produced. The same function routes (ingester) and decides
/// (processor), so both read an op alike.
pub(crate) fn parse(cfg: &PobConfig, name: &str, body: &str) -> Result<Option<PobOp>, String> {
    if !matches!(name, "comment" | "comment_options" | "vote") {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(body).map_err(|e| format!("{name} body is not JSON: {e}"))?;
    let m = v.as_object().ok_or_else(|| format!("{name} body is not an object"))?;
    match name {
        "comment" => {
            // The reference: a metadata parse error is `{}`, and so is `null` (where it halts).
            let meta = opentoken_core::custom_json::parse(field(m, "json_metadata")?).unwrap_or(Value::Null);
            let qualifies = meta
                .as_object()
                .is_some_and(|meta| cfg.meta_keys.iter().any(|key| meta.get(key).is_some_and(truthy)));
            if !qualifies {
                return Ok(None);
            }
            let (author, permlink) = author_permlink(m)?;
            Ok(Some(PobOp::Comment { author, permlink }))
        }
        "comment_options" => {
            // The reference reads `extensions[0][1].beneficiaries`: the first extension, in
            // the legacy pair form the block decoder normalises both encodings to.
            let Some(beneficiaries) = m
                .get("extensions")
                .and_then(|e| e.get(0))
                .and_then(|e| e.get(1))
                .and_then(|e| e.get("beneficiaries"))
                .and_then(Value::as_array)
            else {
                return Ok(None);
            };
            let named = beneficiaries.iter().any(|b| {
                b.get("account").and_then(Value::as_str) == Some(cfg.beneficiary.as_str())
                    && b.get("weight")
                        .and_then(Value::as_u64)
                        .is_some_and(|w| w >= cfg.min_beneficiary_weight)
            });
            if !named {
                return Ok(None);
            }
            let (author, permlink) = author_permlink(m)?;
            Ok(Some(PobOp::Options { author, permlink }))
        }
        _ => {
            let voter = field(m, "voter")?;
            if !opentoken_core::account::is_valid_account_name(voter) {
                return Err(format!("voter {voter:?} is not a valid Hive account name"));
            }
            let weight = m
                .get("weight")
                .and_then(Value::as_i64)
                .filter(|w| (-FULL_VOTE..=FULL_VOTE).contains(w))
                .ok_or("vote `weight` is not an integer from -10000 to 10000")?;
            let (author, permlink) = author_permlink(m)?;
            Ok(Some(PobOp::Vote {
                voter: voter.to_string(),
                author,
                permlink,
                weight,
            }))
        }
    }
}

/// A registered post's (registered block, closing block).
pub(crate) fn post(state: &dyn StateRead, author: &str, permlink: &str) -> Option<(u64, u64)> {
    let v = state.get(&k::post(author, permlink))?;
    Some((keys::decode_u64(v.get(..8)?)?, keys::decode_u64(v.get(8..16)?)?))
}

/// A vote's (block, value).
pub(crate) fn decode_vote(v: &[u8]) -> Option<(u64, i64)> {
    Some((
        keys::decode_u64(v.get(..8)?)?,
        i64::from_be_bytes(v.get(8..16)?.try_into().ok()?),
    ))
}

pub(crate) fn encode_vote(block: u64, value: i64) -> Vec<u8> {
    let mut v = block.to_be_bytes().to_vec();
    v.extend_from_slice(&value.to_be_bytes());
    v
}

/// One of the leader's Hive votes decided in a voter round: the post, its vote sum and the
/// weight (basis points) the leader votes with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderVote {
    pub author: String,
    pub permlink: String,
    pub sum: u64,
    pub weight: u64,
}

/// A due leader vote's value: its weight and the block it stops being listed.
pub(crate) fn decode_due(v: &[u8]) -> Option<(u64, u64)> {
    Some((keys::decode_u64(v.get(..8)?)?, keys::decode_u64(v.get(8..16)?)?))
}

/// The sum of a registered post's votes (downvotes negative), never below 0.
fn vote_sum(state: &dyn StateRead, author: &str, permlink: &str) -> Result<u64, InvariantError> {
    let mut sum: i128 = 0;
    for (_, v) in state.scan_prefix(k::votes_of(author, permlink).as_bytes()) {
        let (_, value) =
            decode_vote(v).ok_or_else(|| broken(format!("a vote on @{author}/{permlink} is malformed")))?;
        sum += i128::from(value);
    }
    Ok(u64::try_from(sum.max(0)).unwrap_or(u64::MAX))
}

/// At the DAO day `block`: the records of posts paid before `block - paid_keep_blocks` (the
/// reference's `parseInt(k) < num − 30240`). One walk over the paid records a day; they
/// are only those of the last `paid_keep_blocks` plus a day.
fn prune_paid(cfg: &PobConfig, block: u64, state: &dyn StateRead) -> Result<Option<TokenEvent>, InvariantError> {
    let Some(before) = block.checked_sub(cfg.paid_keep_blocks) else {
        return Ok(None);
    };
    let mut posts = Vec::new();
    for (key, v) in state.scan_prefix(k::PAID_PREFIX.as_bytes()) {
        let post =
            std::str::from_utf8(&key[k::PAID_PREFIX.len()..]).map_err(|_| broken("a paid-post key is not UTF-8"))?;
        let paid: PaidPost =
            serde_json::from_slice(v).map_err(|e| broken(format!("the paid record of @{post} is malformed: {e}")))?;
        if paid.block < before {
            posts.push(post.to_string());
        }
    }
    Ok((!posts.is_empty()).then_some(TokenEvent::PaidPruned { block, posts }))
}

/// What a closed post earned, as `paid/<author>/<permlink>` keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidPost {
    pub block: u64,
    pub weight: u64,
    pub author_share: u64,
    pub curation: u64,
}

/// One closed post's payout: the author's half and each curator's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPayout {
    pub author: String,
    pub permlink: String,
    pub weight: u64,
    pub author_share: u64,
    pub curators: Vec<(String, u64)>,
}

/// A post closing at a tally: its key parts, registration block and votes in key order.
struct Closing {
    author: String,
    permlink: String,
    registered: u64,
    votes: Vec<(String, u64, i64)>,
}

/// The tally's payout of `closing` posts from a content pool holding `rc`, with the moving
/// weight `running` (token-core §5.3, in exact integers): (total payout, new running,
/// total weight, per-post payouts).
fn payout(
    cfg: &PobConfig,
    rc: u64,
    daily_pool: u64,
    running: u64,
    closing: &[Closing],
) -> (u64, u64, u64, Vec<PostPayout>) {
    let reward = u128::from(cfg.reward_blocks);
    // Each post's weight is the sum of its votes, never below 0; its curators are its
    // upvoters, weighted by how early they voted.
    let mut weighed = Vec::with_capacity(closing.len());
    let mut weights: u128 = 0;
    for p in closing {
        let total: i128 = p.votes.iter().map(|(_, _, v)| i128::from(*v)).sum();
        let weight = u64::try_from(total.max(0)).unwrap_or(u64::MAX);
        let curators: Vec<(String, u128)> = p
            .votes
            .iter()
            .filter(|(_, _, v)| *v > 0)
            .map(|(voter, block, v)| {
                let late = u128::from(block.saturating_sub(p.registered)).min(reward);
                (voter.clone(), v.unsigned_abs() as u128 * (reward - late) / reward)
            })
            .collect();
        weights += u128::from(weight);
        weighed.push((p, weight, curators));
    }
    let running = u128::from(running);
    let floor = (running * FLOOR_DIVISOR + weights) / (FLOOR_DIVISOR * SAMPLES) + 1;
    let running_weight = (running / SAMPLES).max(floor);
    let this_weight = weights / SAMPLES;
    let pool = u128::from(rc) + RC_DIVISOR * u128::from(daily_pool);
    let total = pool
        .saturating_mul(this_weight)
        .checked_div(RC_DIVISOR * PER_TALLY * running_weight)
        .unwrap_or(0)
        .min(u128::from(rc));
    let new_running = u64::try_from((running * (SAMPLES - 1) + weights) / SAMPLES).unwrap_or(u64::MAX);
    let mut posts = Vec::with_capacity(weighed.len());
    for (p, weight, curators) in weighed {
        let share = (total * u128::from(weight)).checked_div(weights).unwrap_or(0);
        let linear: u128 = curators.iter().map(|(_, w)| *w).sum();
        let curators = curators
            .into_iter()
            .filter_map(|(voter, w)| {
                let amount = (share * w).checked_div(linear * 2).unwrap_or(0);
                (amount > 0).then(|| (voter, u64::try_from(amount).unwrap_or(0)))
            })
            .collect();
        posts.push(PostPayout {
            author: p.author.clone(),
            permlink: p.permlink.clone(),
            weight,
            author_share: u64::try_from(share / 2).unwrap_or(0),
            curators,
        });
    }
    (
        u64::try_from(total).unwrap_or(0),
        new_running,
        u64::try_from(weights).unwrap_or(u64::MAX),
        posts,
    )
}

/// The curve's daily pool term at `block`: the configured constant before
/// `daily_pool_until`, then the last DAO day's content share (0 before the first).
pub(crate) fn daily_pool(cfg: &PobConfig, block: u64, state: &dyn StateRead) -> u64 {
    if block < cfg.daily_pool_until {
        return cfg.daily_pool;
    }
    state
        .get(keys::LAST_DAY)
        .and_then(|v| serde_json::from_slice::<crate::economy::DaoDay>(v).ok())
        .map_or(0, |d| d.to_content)
}

impl TokenModule {
    fn pob_config(&self) -> Option<&PobConfig> {
        self.cfg.economy.as_ref().and_then(|e| e.proof_of_brain.as_ref())
    }

    /// Whether the router sends this Hive op to the ledger (decided from the op alone).
    pub(crate) fn pob_routes(&self, name: &str, body: &str) -> bool {
        self.pob_config()
            .is_some_and(|cfg| matches!(parse(cfg, name, body), Ok(Some(_))))
    }

    /// Whether a routed op concerns the ledger's state: a new qualifying post, options for
    /// a waiting one, a staker's vote on an open registered post. Everything else is
    /// dropped without a status (an edit, a vote on another post, a vote without stake).
    pub(crate) fn pob_concerns(&self, ctx: &OpContext<'_>, name: &str, body: &str, state: &dyn StateRead) -> bool {
        let Some(cfg) = self.pob_config() else {
            return false;
        };
        match parse(cfg, name, body) {
            Err(_) => true,
            Ok(None) => false,
            Ok(Some(PobOp::Comment { author, permlink })) => {
                state.get(&k::pending(&author, &permlink)).is_none()
                    && state.get(&k::post(&author, &permlink)).is_none()
                    && state.get(&k::paid(&author, &permlink)).is_none()
            }
            Ok(Some(PobOp::Options { author, permlink })) => state.get(&k::pending(&author, &permlink)).is_some(),
            Ok(Some(PobOp::Vote {
                voter,
                author,
                permlink,
                ..
            })) => {
                (post(state, &author, &permlink).is_some_and(|(_, closes)| ctx.pos.block <= closes)
                    && voting_power(state, &voter) > 0)
                    || self.leader_owes(ctx, &voter, &author, &permlink, state)
            }
        }
    }

    /// Whether `voter` is the chain's leader and owes a Hive vote on the post.
    fn leader_owes(
        &self,
        ctx: &OpContext<'_>,
        voter: &str,
        author: &str,
        permlink: &str,
        state: &dyn StateRead,
    ) -> bool {
        voter == ctx.spec.leader && state.get(&k::leader_due(author, permlink)).is_some()
    }

    /// Decides a Proof of Brain op the engine found concerns the ledger.
    pub(crate) fn pob_handle(
        &self,
        ctx: &OpContext<'_>,
        name: &str,
        body: &str,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        let Some(cfg) = self.pob_config() else {
            return Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("token does not handle Hive `{name}`: this chain runs no Proof of Brain"),
            ));
        };
        let block = ctx.pos.block;
        let op = parse(cfg, name, body).map_err(Reject::field)?.ok_or_else(|| {
            Reject::new(
                RejectCode::NothingToDo,
                format!("this `{name}` is not for Proof of Brain"),
            )
        })?;
        match op {
            PobOp::Comment { author, permlink } => {
                if state.get(&k::pending(&author, &permlink)).is_some()
                    || state.get(&k::post(&author, &permlink)).is_some()
                    || state.get(&k::paid(&author, &permlink)).is_some()
                {
                    return Err(Reject::new(
                        RejectCode::NothingToDo,
                        format!("@{author}/{permlink} is already known to Proof of Brain"),
                    ));
                }
                Ok(vec![TokenEvent::PostPending {
                    author,
                    permlink,
                    block,
                    expires: block.saturating_add(cfg.pending_blocks),
                }])
            }
            PobOp::Options { author, permlink } => {
                if state.get(&k::pending(&author, &permlink)).is_none() {
                    return Err(Reject::new(
                        RejectCode::NothingToDo,
                        format!("@{author}/{permlink} is not a post waiting for its options"),
                    ));
                }
                Ok(vec![TokenEvent::PostRegistered {
                    author,
                    permlink,
                    block,
                    closes: block.saturating_add(cfg.reward_blocks),
                }])
            }
            PobOp::Vote {
                voter,
                author,
                permlink,
                weight,
            } => {
                // The leader's Hive vote on a post it owed one settles that, whether or not it
                // also counts as a Proof of Brain vote.
                let mut out = Vec::new();
                if self.leader_owes(ctx, &voter, &author, &permlink, state) {
                    out.push(TokenEvent::LeaderVoted {
                        author: author.clone(),
                        permlink: permlink.clone(),
                        block,
                    });
                }
                let open = post(state, &author, &permlink).is_some_and(|(_, closes)| block <= closes);
                let power = voting_power(state, &voter);
                if (!open || power == 0) && !out.is_empty() {
                    return Ok(out);
                }
                if !open {
                    return Err(Reject::new(
                        RejectCode::NothingToDo,
                        format!("@{author}/{permlink} is not a registered post open for votes"),
                    ));
                }
                if power == 0 {
                    return Err(Reject::new(
                        RejectCode::InsufficientFunds,
                        format!("@{voter} has no power to vote with"),
                    ));
                }
                let max = power * VOTE_SHARE;
                let mut mana = state
                    .get(&k::mana(&voter))
                    .and_then(Mana::decode)
                    .unwrap_or_else(|| Mana::full(max, block));
                let value = if weight >= 0 {
                    let p = heal(mana.up_power, mana.up_last, max, block, cfg.mana_regen_blocks);
                    let spent = vote_value(p, weight);
                    mana.up_power = p - spent;
                    mana.up_last = block;
                    i64::try_from(spent).unwrap_or(i64::MAX)
                } else {
                    let d = heal(mana.down_power, mana.down_last, max, block, cfg.mana_regen_blocks);
                    let spent = vote_value(d, weight);
                    let floor = crate::economy::share(max, cfg.down_floor, 10_000);
                    if d - spent < floor {
                        return Err(Reject::new(
                            RejectCode::InsufficientFunds,
                            format!(
                                "@{voter}'s downvote would leave its down mana at {} of {max}, below the floor of {floor}",
                                d - spent
                            ),
                        ));
                    }
                    mana.down_power = d - spent;
                    mana.down_last = block;
                    -i64::try_from(spent).unwrap_or(i64::MAX)
                };
                out.push(TokenEvent::VoteCast {
                    voter,
                    author,
                    permlink,
                    block,
                    value,
                    mana,
                });
                Ok(out)
            }
        }
    }

    /// The chron work of Proof of Brain at `block`: forget the waiting posts whose options
    /// never came, at a DAO day drop the old paid records, and at a tally block pay the
    /// posts whose voting closed.
    pub(crate) fn pob_on_block(
        &self,
        block: u64,
        tally: bool,
        dao_day: bool,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, InvariantError> {
        let Some(cfg) = self.pob_config() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        if dao_day {
            out.extend(prune_paid(cfg, block, state)?);
        }
        for (key, _) in state.scan_prefix(k::PENDING_EXPIRY_PREFIX) {
            let (expires, author, permlink) = k::parse_indexed(k::PENDING_EXPIRY_PREFIX, key)
                .ok_or_else(|| broken("a pending-post expiry key is malformed"))?;
            if expires > block {
                break;
            }
            out.push(TokenEvent::PostExpired {
                author,
                permlink,
                expires,
            });
        }
        if let Some(l) = &cfg.leader_votes {
            out.extend(self.leader_work(cfg, l, block, state)?);
        }
        if !tally {
            return Ok(out);
        }
        let mut closing = Vec::new();
        for (key, _) in state.scan_prefix(k::CLOSING_PREFIX) {
            let (closes, author, permlink) =
                k::parse_indexed(k::CLOSING_PREFIX, key).ok_or_else(|| broken("a closing-post key is malformed"))?;
            if closes > block {
                break;
            }
            let (registered, _) = post(state, &author, &permlink)
                .ok_or_else(|| broken(format!("@{author}/{permlink} closes but is not a registered post")))?;
            let prefix = k::votes_of(&author, &permlink);
            let votes = state
                .scan_prefix(prefix.as_bytes())
                .map(|(vk, vv)| {
                    let voter = std::str::from_utf8(&vk[prefix.len()..])
                        .map_err(|_| broken("a vote key is not UTF-8"))?
                        .to_string();
                    let (b, v) = decode_vote(vv).ok_or_else(|| broken(format!("the vote of @{voter} is malformed")))?;
                    Ok((voter, b, v))
                })
                .collect::<Result<Vec<_>, InvariantError>>()?;
            closing.push(Closing {
                author,
                permlink,
                registered,
                votes,
            });
        }
        let running = keys::amount(state, k::MOVING_WEIGHT);
        let rc = crate::economy::pool(state, Pool::Content);
        let daily = daily_pool(cfg, block, state);
        let (total, new_running, weights, posts) = payout(cfg, rc, daily, running, &closing);
        if closing.is_empty() && new_running == running {
            return Ok(out);
        }
        out.push(TokenEvent::PobTally {
            block,
            weights,
            running: new_running,
            payout: total,
        });
        out.extend(posts.into_iter().map(|p| TokenEvent::PostPaid { block, payout: p }));
        Ok(out)
    }

    /// The leader's voter routine at `block` (token-core §5.5): due votes no longer listed,
    /// posts registered `check_after` blocks ago queued by their vote sums, and at a voter
    /// round the queued posts' weights.
    fn leader_work(
        &self,
        cfg: &PobConfig,
        l: &crate::config::LeaderVotes,
        block: u64,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, InvariantError> {
        let mut out = Vec::new();
        for (key, _) in state.scan_prefix(k::LEADER_EXPIRY_PREFIX) {
            let (expires, author, permlink) = k::parse_indexed(k::LEADER_EXPIRY_PREFIX, key)
                .ok_or_else(|| broken("a leader-vote expiry key is malformed"))?;
            if expires > block {
                break;
            }
            out.push(TokenEvent::LeaderVoteExpired { author, permlink });
        }
        if let Some(registered) = block.checked_sub(l.check_after) {
            let mut prefix = k::CLOSING_PREFIX.to_vec();
            prefix.extend_from_slice(&registered.saturating_add(cfg.reward_blocks).to_be_bytes());
            for (key, _) in state.scan_prefix(&prefix) {
                let (_, author, permlink) = k::parse_indexed(k::CLOSING_PREFIX, key)
                    .ok_or_else(|| broken("a closing-post key is malformed"))?;
                if post(state, &author, &permlink).map(|(r, _)| r) != Some(registered) {
                    continue;
                }
                let sum = vote_sum(state, &author, &permlink)?;
                if sum > 0 && state.get(&k::leader_due(&author, &permlink)).is_none() {
                    out.push(TokenEvent::LeaderVoteQueued { author, permlink, sum });
                }
            }
        }
        if block % l.every == l.offset {
            let mut queued = Vec::new();
            let prefix = k::LEADER_QUEUED_PREFIX.as_bytes();
            for (key, v) in state.scan_prefix(prefix).take(crate::config::MAX_LEADER_VOTES) {
                let (author, permlink) = std::str::from_utf8(&key[prefix.len()..])
                    .ok()
                    .and_then(|ap| ap.split_once('/'))
                    .ok_or_else(|| broken("a queued leader-vote key is malformed"))?;
                let sum = keys::decode_u64(v).ok_or_else(|| broken("a queued leader vote is malformed"))?;
                queued.push((author.to_string(), permlink.to_string(), sum));
            }
            let total: u128 = queued.iter().map(|(_, _, s)| u128::from(*s)).sum();
            if total > 0 {
                let votes = queued
                    .into_iter()
                    .map(|(author, permlink, sum)| LeaderVote {
                        author,
                        permlink,
                        sum,
                        weight: u64::try_from(u128::from(sum) * 10_000 / total).unwrap_or(10_000),
                    })
                    .collect();
                out.push(TokenEvent::LeaderVotesDue {
                    block,
                    expires: block.saturating_add(l.keep_blocks),
                    votes,
                });
            }
        }
        Ok(out)
    }

    /// The next block after `after` at which a waiting post is forgotten, or the leader's
    /// routine has work.
    pub(crate) fn pob_next_due(&self, state: &dyn StateRead, after: u64) -> Option<u64> {
        let cfg = self.pob_config()?;
        let next = after.saturating_add(1);
        let pending = state
            .scan_prefix(k::PENDING_EXPIRY_PREFIX)
            .next()
            .and_then(|(key, _)| k::parse_indexed(k::PENDING_EXPIRY_PREFIX, key))
            .map(|(expires, _, _)| expires.max(next));
        let Some(l) = &cfg.leader_votes else {
            return pending;
        };
        let expiry = state
            .scan_prefix(k::LEADER_EXPIRY_PREFIX)
            .next()
            .and_then(|(key, _)| k::parse_indexed(k::LEADER_EXPIRY_PREFIX, key))
            .map(|(expires, _, _)| expires.max(next));
        // A post's check is `check_after` after it registered, `reward_blocks` before it closes.
        // Seek to the first post closing at or after `next + reward_blocks - check_after`.
        let mut from = k::CLOSING_PREFIX.to_vec();
        from.extend_from_slice(
            &next
                .saturating_add(cfg.reward_blocks)
                .saturating_sub(l.check_after)
                .to_be_bytes(),
        );
        let check = state
            .scan_prefix_from(k::CLOSING_PREFIX, &from)
            .next()
            .and_then(|(key, _)| k::parse_indexed(k::CLOSING_PREFIX, key))
            .map(|(closes, _, _)| {
                closes
                    .saturating_sub(cfg.reward_blocks)
                    .saturating_add(l.check_after)
                    .max(next)
            });
        let round = crate::economy::next_multiple(after, l.every, l.offset)
            .filter(|_| state.scan_prefix(k::LEADER_QUEUED_PREFIX.as_bytes()).next().is_some());
        [pending, expiry, check, round].into_iter().flatten().min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PobConfig {
        serde_json::from_value(serde_json::json!({"beneficiary": "dlux-io"})).unwrap()
    }

    #[test]
    fn a_comment_qualifies_by_a_truthy_meta_key_only() {
        let c = cfg();
        let body = |meta: &str| {
            serde_json::json!({"parent_author": "", "parent_permlink": "dlux", "author": "alice", "permlink": "p-1",
                "title": "t", "body": "b", "json_metadata": meta})
            .to_string()
        };
        let yes = Some(PobOp::Comment {
            author: "alice".into(),
            permlink: "p-1".into(),
        });
        assert_eq!(parse(&c, "comment", &body(r#"{"arHash":"Qm1"}"#)), Ok(yes.clone()));
        assert_eq!(
            parse(&c, "comment", &body(r#"{"vrHash":1,"tags":[]}"#)),
            Ok(yes.clone())
        );
        assert_eq!(parse(&c, "comment", &body(r#"{"appHash":{}}"#)), Ok(yes));
        for no in [
            r#"{"vidHash":"Qm1"}"#,
            r#"{"arHash":""}"#,
            r#"{"arHash":0}"#,
            r#"{"arHash":null}"#,
            r#"{"arHash":false}"#,
            "null",
            "not json",
            "[1]",
            "",
        ] {
            assert_eq!(parse(&c, "comment", &body(no)), Ok(None), "{no}");
        }
        assert!(parse(&c, "comment", "{").is_err());
        let bad_permlink =
            serde_json::json!({"author": "alice", "permlink": "../x", "json_metadata": r#"{"arHash":"q"}"#});
        assert!(parse(&c, "comment", &bad_permlink.to_string()).is_err());
        assert_eq!(parse(&c, "transfer", "{}"), Ok(None));
    }

    #[test]
    fn options_qualify_by_the_beneficiary_and_its_weight() {
        let c = cfg();
        let body = |account: &str, weight: u64| {
            serde_json::json!({"author": "alice", "permlink": "p", "max_accepted_payout": "1000000.000 HBD",
                "percent_hbd": 10000, "allow_votes": true, "allow_curation_rewards": true,
                "extensions": [[0, {"beneficiaries": [{"account": "bob", "weight": 500}, {"account": account, "weight": weight}]}]]})
            .to_string()
        };
        assert!(matches!(
            parse(&c, "comment_options", &body("dlux-io", 1000)),
            Ok(Some(PobOp::Options { .. }))
        ));
        assert_eq!(parse(&c, "comment_options", &body("dlux-io", 999)), Ok(None));
        assert_eq!(parse(&c, "comment_options", &body("dlux-iox", 5000)), Ok(None));
        assert_eq!(
            parse(
                &c,
                "comment_options",
                r#"{"author":"alice","permlink":"p","extensions":[]}"#
            ),
            Ok(None)
        );
    }

    #[test]
    fn votes_outside_hives_weight_range_are_malformed() {
        let c = cfg();
        let vote =
            |w: i64| serde_json::json!({"voter": "bob", "author": "alice", "permlink": "p", "weight": w}).to_string();
        assert!(matches!(
            parse(&c, "vote", &vote(-10_000)),
            Ok(Some(PobOp::Vote { weight: -10_000, .. }))
        ));
        assert!(parse(&c, "vote", &vote(10_001)).is_err());
        assert!(parse(
            &c,
            "vote",
            r#"{"voter":"bob","author":"alice","permlink":"p","weight":"100"}"#
        )
        .is_err());
    }

    /// Before `daily_pool_until` the daily pool is the constant; from it on, the last DAO
    /// day's content share (the reference's DAO sets `movingWeight.dailyPool = ra`).
    #[test]
    fn the_daily_pool_follows_the_dao_from_its_block_on() {
        let c = cfg();
        let mut state = opentoken_core::ModuleState::new();
        assert_eq!(daily_pool(&c, 50_699_999, &state), 700_000);
        assert_eq!(daily_pool(&c, 50_700_000, &state), 0, "no DAO day yet");
        let eco: crate::config::EconomyConfig =
            serde_json::from_value(serde_json::json!({"interest_rate": 1})).unwrap();
        let day = crate::economy::DaoDay::split(50_700_105, 1_000_000, 2_500, 0, &eco);
        assert_eq!(
            day.to_content, 300_000,
            "1,000,000 less 25% nodes, 25% marketing, 20% delegators"
        );
        opentoken_core::StateWrite::put(&mut state, keys::LAST_DAY.to_vec(), serde_json::to_vec(&day).unwrap());
        assert_eq!(daily_pool(&c, 50_700_200, &state), 300_000);
        assert_eq!(daily_pool(&c, 50_000_000, &state), 700_000);
    }

    #[test]
    fn meters_refill_linearly_and_a_full_vote_spends_two_percent() {
        // 1,000 power: a 50,000 meter; a 100% vote is worth the power and spends 2%.
        assert_eq!(vote_value(50_000, 10_000), 1_000);
        assert_eq!(vote_value(49_000, 5_000), 490);
        assert_eq!(vote_value(49_000, -5_000), 490);
        // Half the regeneration period refills half the meter, never above it.
        assert_eq!(heal(0, 100, 50_000, 100 + 72_000, 144_000), 25_000);
        assert_eq!(heal(40_000, 0, 50_000, 1_000_000, 144_000), 50_000);
        assert_eq!(heal(10, 5, 50_000, 5, 144_000), 10);
    }

    /// The payout of one tally computed by hand from the spec's formulas (§5.3).
    #[test]
    fn one_payout_by_hand() {
        let c = cfg();
        // One post registered at block 1,000, votes of 4,000 (at registration) and 2,000
        // (half way through the window) and a downvote of 1,000.
        let closing = vec![Closing {
            author: "alice".into(),
            permlink: "p".into(),
            registered: 1_000,
            votes: vec![
                ("bob".into(), 1_000, 4_000),
                ("carol".into(), 1_000 + 100_800, 2_000),
                ("dave".into(), 2_000, -1_000),
            ],
        }];
        let rc = 10_000_000;
        let running = 0;
        let (total, new_running, weights, posts) = payout(&c, rc, c.daily_pool, running, &closing);
        // W = 4000 + 2000 − 1000 = 5000.
        assert_eq!(weights, 5_000);
        // floor = ⌊(0·140 + 5000)/(140·2016)⌋ + 1 = 1; running_weight = max(0, 1) = 1;
        // this_weight = ⌊5000/2016⌋ = 2;
        // payout = ⌊(10,000,000 + 200·700,000)·2/(200·304·1)⌋ = ⌊300,000,000/60,800⌋ = 4,934.
        assert_eq!(total, 4_934);
        // running = ⌊(0·2015 + 5000)/2016⌋ = 2.
        assert_eq!(new_running, 2);
        // The one post takes the whole payout: the author ⌊4934/2⌋ = 2467; curators by
        // lateness: bob 4000·201600/201600 = 4000, carol ⌊2000·100800/201600⌋ = 1000, so
        // bob ⌊4934·4000/(5000·2)⌋ = 1973 and carol ⌊4934·1000/10000⌋ = 493.
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].author_share, 2_467);
        assert_eq!(posts[0].curators, vec![("bob".into(), 1_973), ("carol".into(), 493)]);
        // The payout never exceeds the pool.
        let (capped, ..) = payout(&c, 10, c.daily_pool, 0, &closing);
        // ⌊(10 + 140,000,000)·2/60,800⌋ = 4605, capped to what rc holds.
        assert_eq!(capped, 10);
    }
}
