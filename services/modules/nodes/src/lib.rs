//! The nodes module: the registry of consensus nodes, their signed checkpoint reports, the
//! stake-weighted tally of those reports, and the election of the runner (consensus) set.
//!
//! It follows the reference node (DLUX Open_Token, `nodes.js`, `report.js`, `tally.js`) in
//! op names and node parameters, with the decisions of `consensus-multisig.md`:
//! - `node_add` carries an ed25519 report key and optionally a Hive multi-sig key, each with a
//!   proof of possession bound to the account, chain and a recent block (the reference's
//!   memo "challenge" proves nothing);
//! - a report is an ed25519-signed statement about a checkpoint block N, accepted only in
//!   blocks N+1 ..= N+report_window, once per node;
//! - checkpoint N is final when runners holding strictly more than 2/3 of the runner set's
//!   governance stake (frozen when the tally opened) reported the same hash (the reference:
//!   one runner one vote, > 1/2);
//! - the runner set changes only when a tally closes: runners that did not agree are dropped,
//!   at most one agreeing non-runner is elected; every decision is a state event.
//!
//! Governance stake lives in the token module; this module keeps a mirror fed by the token's
//! messages, and tells the token module about registrations and rewards:
//!
//! | direction | kind | payload |
//! |---|---|---|
//! | token -> nodes | `gov_added`, `gov_removed` | `{"account", "amount" > 0}` |
//! | nodes -> token | `node_registered`, `node_removed` | `{"account"}` |
//! | nodes -> token | `node_reward` | `{"account", "amount"}` per runner kept by a final tally |
//!
//! The state layout is in [`keys`]. Liveness needs runners with stake: a tally whose runner
//! set holds no stake (no runners registered, or none with governance stake) finalises
//! nothing and elects nobody, so a community must list registered, staked `genesis.runners`.
//!
//! Everything is integer arithmetic over state, so every node computes the same events.

pub mod config;
pub mod events;
pub mod keys;
mod parse;
mod signing;
pub mod views;

pub use config::{NodesConfig, NodesGenesis};
pub use events::{NodesEvent, TallyClose};
pub use keys::{NodeRecord, NodesStats, Stake, Tally};
pub use signing::{
    node_add_json, node_add_signing_bytes, report_json, report_signing_bytes, NODE_ADD_DOMAIN, REPORT_OP_DOMAIN,
};

use ed25519_dalek::VerifyingKey;
use keys::{decode_json, decode_u64, hash_from_hex, is_supermajority, Corrupt};
use opentoken_core::account::is_valid_account_name;
use opentoken_core::module::{EventDecodeError, GenesisError, InvariantError};
use opentoken_core::{
    Auth, BlockContext, ChainSpec, HiveOp, Input, Message, Module, OpContext, Outgoing, Reject, RejectCode, Route,
    StateRead, StateWrite,
};
use parse::{clamped, describe, hex_field, preview, str_field, u64_field, Payload};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// The module's name: state, topics, and the address of its messages.
pub const NAME: &str = "nodes";
/// The module the governance stake comes from, and registrations and rewards go to.
pub const TOKEN: &str = "token";

const ROUTES: &[Route] = &[
    Route {
        name: "node_add",
        auth: Auth::Active,
    },
    Route {
        name: "node_delete",
        auth: Auth::Active,
    },
    Route {
        name: "report",
        auth: Auth::Active,
    },
];

/// Longest accepted `domain`.
pub const MAX_DOMAIN_CHARS: usize = 256;
/// Longest accepted report `version`.
pub const MAX_VERSION_CHARS: usize = 64;

/// The module. Stateless itself: all it needs besides the state is its validated config.
pub struct NodesModule {
    cfg: NodesConfig,
    /// The spec's checkpoint interval, for `next_due_block` (which gets no spec).
    checkpoint_interval: u64,
}

fn broken(what: impl Into<String>) -> InvariantError {
    InvariantError {
        module: NAME.into(),
        what: what.into(),
    }
}

impl From<Corrupt> for InvariantError {
    fn from(c: Corrupt) -> Self {
        broken(c.to_string())
    }
}

/// A decision met state this module cannot have written. `handle` can only refuse, and must
/// not guess: the op is refused (identically on every node with the same state) and the
/// processor stops at the next `on_block`/`apply` that reads the same key.
fn corrupt(c: Corrupt) -> Reject {
    Reject::new(
        RejectCode::BadMessage,
        format!("{c}; the op was not applied (a bug or a damaged store)"),
    )
}

/// Typed reads of the module's state (generic so `apply` can read through its writer).
struct Read<'a, S: StateRead + ?Sized>(&'a S);

/// What `handle` and `on_block` read through.
type StateReader<'a> = Read<'a, dyn StateRead + 'a>;

impl<S: StateRead + ?Sized> Read<'_, S> {
    fn node(&self, account: &str) -> Result<Option<NodeRecord>, Corrupt> {
        let key = keys::node(account);
        self.0.get(&key).map(|v| decode_json(&key, v)).transpose()
    }

    fn gov(&self, account: &str) -> Result<u64, Corrupt> {
        let key = keys::gov(account);
        self.0
            .get(&key)
            .map(|v| decode_u64(&key, v))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    fn runners(&self) -> Result<Vec<String>, Corrupt> {
        self.0
            .get(keys::RUNNERS)
            .map(|v| decode_json(keys::RUNNERS, v))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    fn stats(&self) -> Result<NodesStats, Corrupt> {
        self.0
            .get(keys::STATS)
            .map(|v| decode_json(keys::STATS, v))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// The open tally; there is at most one.
    fn open_tally(&self) -> Result<Option<Tally>, Corrupt> {
        let mut it = self.0.scan_prefix(keys::TALLY_PREFIX.as_bytes());
        let Some((k, v)) = it.next() else {
            return Ok(None);
        };
        if let Some((k2, _)) = it.next() {
            return Err(Corrupt::new(k2, "a second tally is open"));
        }
        let t: Tally = decode_json(k, v)?;
        if keys::block_of(k, keys::TALLY_PREFIX) != Some(t.block) {
            return Err(Corrupt::new(k, format!("holds the tally of block {}", t.block)));
        }
        Ok(Some(t))
    }

    fn is_active(&self, account: &str) -> Result<bool, Corrupt> {
        Ok(self.node(account)?.is_some_and(|n| n.active))
    }
}

/// Checks an API URL: `http(s)://` plus at least one character, printable ASCII without
/// spaces, no trailing slash (clients append paths), at most [`MAX_DOMAIN_CHARS`].
fn check_domain(domain: &str) -> Result<(), Reject> {
    let fail = |why: &str| Err(Reject::field(format!("`domain` {why}, got {:?}", preview(domain))));
    if domain.is_empty() {
        return fail("must not be empty");
    }
    if domain.len() > MAX_DOMAIN_CHARS {
        return fail(&format!("must be at most {MAX_DOMAIN_CHARS} characters"));
    }
    if !domain.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return fail("must be printable ASCII without spaces (a URL)");
    }
    let rest = domain
        .strip_prefix("https://")
        .or_else(|| domain.strip_prefix("http://"));
    match rest {
        None => fail("must start with http:// or https://"),
        Some("") => fail("must name a host after the scheme"),
        Some(_) if domain.ends_with('/') => fail("must not end with '/'"),
        Some(_) => Ok(()),
    }
}

fn check_account(from: &str) -> Result<(), Reject> {
    if is_valid_account_name(from) {
        Ok(())
    } else {
        Err(Reject::new(
            RejectCode::InvalidAccount,
            format!("{:?} is not a valid Hive account name", preview(from)),
        ))
    }
}

/// The median of stakes, rounded down (0 for none), in u128 so two stakes can be added.
fn median(mut stakes: Vec<u64>) -> u128 {
    stakes.sort_unstable();
    let n = stakes.len();
    match n {
        0 => 0,
        _ if n % 2 == 1 => u128::from(stakes[n / 2]),
        _ => (u128::from(stakes[n / 2 - 1]) + u128::from(stakes[n / 2])) / 2,
    }
}

impl NodesModule {
    pub fn new(cfg: NodesConfig, spec: &ChainSpec) -> Result<Self, GenesisError> {
        cfg.validate(spec)?;
        Ok(Self {
            cfg,
            checkpoint_interval: spec.checkpoint_interval,
        })
    }

    pub fn from_spec(spec: &ChainSpec) -> Result<Self, GenesisError> {
        Self::new(NodesConfig::from_spec(spec)?, spec)
    }

    pub fn config(&self) -> &NodesConfig {
        &self.cfg
    }

    /// `node_add`: registers, re-registers or updates the signer's node. The payload is a
    /// full statement (absent votes take their defaults); counters survive.
    fn node_add(
        &self,
        ctx: &OpContext,
        from: &str,
        payload: &Payload,
        read: &StateReader<'_>,
    ) -> Result<Vec<NodesEvent>, Reject> {
        let domain = str_field(payload, "domain")?;
        check_domain(domain)?;
        let bid_rate = clamped(payload, "bidRate", 1, 1000, 500)?;
        let dm = clamped(payload, "dm", 1, 10000, 10000)?;
        let ds = clamped(payload, "ds", 0, 10000, 0)?;
        let dv = clamped(payload, "dv", 0, 10000, 1500)?;
        let liquidity = clamped(payload, "liquidity", 0, 100, 100)?;

        let report_key = hex_field::<32>(payload, "report_key", "an ed25519 public key")?;
        let vk = VerifyingKey::from_bytes(&report_key)
            .map_err(|_| Reject::field("`report_key` is not a valid ed25519 public key (not a curve point)"))?;
        if vk.is_weak() {
            return Err(Reject::field(
                "`report_key` is a weak (small-order) ed25519 key; any signature would verify",
            ));
        }

        let block = ctx.pos.block;
        let pop_block = u64_field(payload, "pop_block")?;
        if pop_block > block {
            return Err(Reject::field(format!(
                "`pop_block` {pop_block} is after this op's block {block}"
            )));
        }
        if block - pop_block > self.cfg.pop_max_age {
            return Err(Reject::field(format!(
                "`pop_block` {pop_block} is {} blocks before this op's block {block}; proofs of possession expire after {} blocks, sign again",
                block - pop_block,
                self.cfg.pop_max_age
            )));
        }

        let mskey = match payload.get("mskey") {
            None => None,
            Some(serde_json::Value::String(s)) => Some(
                opentoken_hive_tx::PublicKey::from_string(s)
                    .map_err(|e| Reject::field(format!("`mskey` is not a Hive public key: {e}")))?,
            ),
            Some(v) => {
                return Err(Reject::field(format!(
                    "`mskey` must be a string (STM...), got {}",
                    describe(v)
                )))
            }
        };
        let mskey_text = mskey.map(|k| k.to_string());
        if mskey.is_none() && payload.contains_key("mskey_pop") {
            return Err(Reject::field("`mskey_pop` is given without `mskey`"));
        }

        let chain_id = ctx.spec.hive_chain_id();
        let signed = node_add_signing_bytes(
            &chain_id,
            &ctx.spec.prefix,
            from,
            domain,
            &report_key,
            mskey_text.as_deref().unwrap_or(""),
            pop_block,
        );
        let report_pop = hex_field::<64>(payload, "report_pop", "an ed25519 signature")?;
        vk.verify_strict(&signed, &ed25519_dalek::Signature::from_bytes(&report_pop))
            .map_err(|_| {
                Reject::field(format!(
                    "`report_pop` does not verify with `report_key` over the node_add signing bytes \
                     (chain id, prefix {:?}, account @{from}, domain, report_key, mskey, pop_block {pop_block})",
                    ctx.spec.prefix
                ))
            })?;

        if let (Some(key), Some(text)) = (mskey, mskey_text.as_deref()) {
            if !payload.contains_key("mskey_pop") {
                return Err(Reject::field(
                    "`mskey_pop` is required with `mskey` (a 65-byte recoverable signature proving the key)",
                ));
            }
            let sig_bytes = hex_field::<65>(payload, "mskey_pop", "a 65-byte recoverable secp256k1 signature")?;
            let sig = opentoken_hive_tx::Signature::from_bytes(&sig_bytes)
                .map_err(|e| Reject::field(format!("`mskey_pop` is not a Hive signature: {e}")))?;
            let digest: [u8; 32] = Sha256::digest(&signed).into();
            let signer = sig
                .recover(&digest)
                .map_err(|e| Reject::field(format!("`mskey_pop` does not recover a key: {e}")))?;
            if signer != key {
                return Err(Reject::field(format!(
                    "`mskey_pop` was made by {signer}, not by `mskey` {text} (or over other signing bytes)"
                )));
            }
        }

        let existing = read.node(from).map_err(corrupt)?;
        let registered = existing.as_ref().is_none_or(|n| !n.active);
        let record = NodeRecord {
            domain: domain.to_string(),
            bid_rate,
            dm,
            ds,
            dv,
            liquidity,
            report_key: hex::encode(report_key),
            mskey: mskey_text,
            active: true,
            attempts: existing.as_ref().map_or(0, |n| n.attempts),
            yays: existing.as_ref().map_or(0, |n| n.yays),
            wins: existing.as_ref().map_or(0, |n| n.wins),
            strikes: existing.as_ref().map_or(0, |n| n.strikes),
            last_good: existing.as_ref().map_or(0, |n| n.last_good),
            registered_at: match &existing {
                Some(n) if n.active => n.registered_at,
                _ => block,
            },
        };
        if existing.as_ref() == Some(&record) {
            return Err(Reject::new(
                RejectCode::NothingToDo,
                format!("@{from} is already registered with exactly these settings"),
            ));
        }
        Ok(vec![NodesEvent::NodeAdded {
            account: from.to_string(),
            registered,
            record,
        }])
    }

    /// `report`: one signed vote per node on checkpoint N's hash, inside N's window.
    /// Checks run cheapest first; the signature is checked last, before anything is recorded.
    fn report(
        &self,
        ctx: &OpContext,
        from: &str,
        payload: &Payload,
        read: &StateReader<'_>,
    ) -> Result<Vec<NodesEvent>, Reject> {
        let node = match read.node(from).map_err(corrupt)? {
            None => {
                return Err(Reject::new(
                    RejectCode::NotANode,
                    format!("@{from} is not a registered node; only nodes report"),
                ))
            }
            Some(n) if !n.active => {
                return Err(Reject::new(
                    RejectCode::NotANode,
                    format!("@{from} deleted its node registration; register again with node_add to report"),
                ))
            }
            Some(n) => n,
        };
        let block = u64_field(payload, "block")?;
        let hash = hex_field::<32>(payload, "hash", "the consensus hash")?;
        let version = str_field(payload, "version")?;
        if version.chars().count() > MAX_VERSION_CHARS {
            return Err(Reject::field(format!(
                "`version` must be at most {MAX_VERSION_CHARS} characters"
            )));
        }
        let sig = hex_field::<64>(payload, "sig", "an ed25519 signature")?;

        let interval = ctx.spec.checkpoint_interval;
        if !block.is_multiple_of(interval) {
            return Err(Reject::field(format!(
                "block {block} is not a checkpoint block (a multiple of {interval})"
            )));
        }
        let now = ctx.pos.block;
        let window = self.cfg.report_window;
        let last = block.saturating_add(window);
        if now <= block {
            return Err(Reject::field(format!(
                "too early: reports for checkpoint {block} are accepted in blocks {}..={last}, this is block {now}",
                block.saturating_add(1)
            )));
        }
        if now > last {
            return Err(Reject::field(format!(
                "too late: reports for checkpoint {block} are accepted in blocks {}..={last}, this is block {now}",
                block.saturating_add(1)
            )));
        }
        let tally = read
            .open_tally()
            .map_err(corrupt)?
            .filter(|t| t.block == block)
            .ok_or_else(|| Reject::field(format!("no tally open for checkpoint {block}")))?;
        if tally.votes.contains_key(from) {
            return Err(Reject::new(
                RejectCode::NothingToDo,
                format!("@{from} already reported checkpoint {block}"),
            ));
        }

        let key_bytes = hash_from_hex(&node.report_key)
            .ok_or_else(|| corrupt(Corrupt::new(&keys::node(from), "report_key is not 64 hex digits")))?;
        let key = VerifyingKey::from_bytes(&key_bytes)
            .map_err(|_| corrupt(Corrupt::new(&keys::node(from), "report_key is not a curve point")))?;
        let signed = report_signing_bytes(&ctx.spec.hive_chain_id(), &ctx.spec.prefix, block, &hash);
        key.verify_strict(&signed, &ed25519_dalek::Signature::from_bytes(&sig))
            .map_err(|_| {
                Reject::field(format!(
                    "`sig` does not verify with @{from}'s registered report key over \
                     (chain id, prefix {:?}, checkpoint {block}, hash)",
                    ctx.spec.prefix
                ))
            })?;

        let weight = tally.stake_of(from);
        let mut out = vec![NodesEvent::ReportAccepted {
            account: from.to_string(),
            block,
            hash,
            version: version.to_string(),
            weight,
        }];
        if tally.final_hash.is_none() {
            let hex_hash = hex::encode(hash);
            let mut stake = tally.stake_for(&hex_hash);
            if tally.is_runner(from) {
                stake += u128::from(weight);
            }
            if is_supermajority(stake, u128::from(tally.total)) {
                out.push(NodesEvent::CheckpointFinal {
                    block,
                    hash,
                    at: now,
                    stake: u64::try_from(stake).unwrap_or(tally.total),
                    total: tally.total,
                });
            }
        }
        Ok(out)
    }

    /// The token module's governance-stake changes; anything else is refused, never guessed.
    fn message(&self, m: &Message, read: &StateReader<'_>) -> Result<Vec<NodesEvent>, Reject> {
        let bad = |why: String| Reject::new(RejectCode::BadMessage, why);
        if m.from != TOKEN {
            return Err(bad(format!(
                "nodes accepts messages from {TOKEN} only, not {} from {}",
                m.kind, m.from
            )));
        }
        let adding = match m.kind.as_str() {
            "gov_added" => true,
            "gov_removed" => false,
            other => {
                return Err(bad(format!(
                    "nodes accepts gov_added/gov_removed from {TOKEN}, not {other}"
                )))
            }
        };
        let v: serde_json::Value =
            serde_json::from_str(&m.payload).map_err(|e| bad(format!("{} payload is not JSON: {e}", m.kind)))?;
        let account = v
            .get("account")
            .and_then(|a| a.as_str())
            .filter(|a| is_valid_account_name(a))
            .ok_or_else(|| bad(format!("{} needs `account`, a valid Hive account name", m.kind)))?;
        let amount = v
            .get("amount")
            .and_then(|a| a.as_u64())
            .filter(|a| *a > 0)
            .ok_or_else(|| bad(format!("{} needs `amount`, a positive integer", m.kind)))?;
        let now = read.gov(account).map_err(corrupt)?;
        let gov = if adding {
            now.checked_add(amount).ok_or_else(|| {
                bad(format!(
                    "gov_added of {amount} to @{account} overflows the mirror ({now})"
                ))
            })?
        } else {
            now.checked_sub(amount).ok_or_else(|| {
                bad(format!(
                    "gov_removed of {amount} from @{account} exceeds the mirrored stake {now}"
                ))
            })?
        };
        Ok(vec![NodesEvent::GovChanged {
            account: account.to_string(),
            gov,
        }])
    }

    /// What closing tally `t` decides (see the crate docs and `TallyClose`).
    fn close(&self, t: &Tally, read: &StateReader<'_>) -> Result<TallyClose, InvariantError> {
        let current = read.runners()?;
        let Some(final_hex) = &t.final_hash else {
            // No finality: nobody can be judged, only deleted nodes leave.
            let mut runners = Vec::new();
            let mut dropped = Vec::new();
            for r in current {
                let deleted = read.node(&r)?.is_some_and(|n| !n.active);
                if deleted {
                    dropped.push(r);
                } else {
                    runners.push(r);
                }
            }
            return Ok(TallyClose {
                block: t.block,
                final_hash: None,
                runners_after: Vec::new(),
                dropped,
                elected: None,
                runners,
                reported: Vec::new(),
                agreed: Vec::new(),
                chaos: read.stats()?.chaos.saturating_add(1),
                reward: 0,
            });
        };
        let final_hash =
            hash_from_hex(final_hex).ok_or_else(|| broken(format!("tally {} has a malformed final hash", t.block)))?;

        let mut reported = Vec::new();
        let mut agreed = Vec::new();
        for (account, h) in &t.votes {
            if read.is_active(account)? {
                reported.push(account.clone());
                if h == final_hex {
                    agreed.push(account.clone());
                }
            }
        }
        let runners_after: Vec<String> = t
            .runners
            .iter()
            .filter(|r| agreed.contains(&r.account))
            .map(|r| r.account.clone())
            .collect();
        // The agreeing non-runner with the most governance stake (ties: first by name).
        let mut candidate: Option<(&String, u64)> = None;
        for a in agreed.iter().filter(|a| !t.is_runner(a)) {
            let g = read.gov(a)?;
            if g > 0 && candidate.is_none_or(|(_, best)| g > best) {
                candidate = Some((a, g));
            }
        }
        let kept = runners_after.len() as u64;
        let elected = match candidate {
            Some((a, g)) if kept < self.cfg.max_runners => {
                let mut stakes = Vec::with_capacity(runners_after.len());
                for r in &runners_after {
                    stakes.push(read.gov(r)?);
                }
                (kept < self.cfg.min_runners || u128::from(g) > median(stakes)).then(|| a.clone())
            }
            _ => None,
        };
        let mut runners = runners_after.clone();
        runners.extend(elected.iter().cloned());
        runners.sort();
        // Everyone in the set or the snapshot who is not in it any more: runners that did not
        // agree or left, and runners that were not registered when the tally opened (they
        // could not be judged; an elected one among them stays).
        let dropped: Vec<String> = current
            .iter()
            .chain(t.runners.iter().map(|r| &r.account))
            .filter(|a| !runners.contains(a))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Ok(TallyClose {
            block: t.block,
            final_hash: Some(final_hash),
            runners_after,
            dropped,
            elected,
            runners,
            reported,
            agreed,
            chaos: 0,
            reward: self.cfg.reward_per_win,
        })
    }

    /// The tally of checkpoint `block`: the runner set's registered, active members with
    /// their stake now, frozen so that stake moved during the window cannot swing the vote.
    fn open(&self, block: u64, runners: &[String], read: &StateReader<'_>) -> Result<NodesEvent, InvariantError> {
        let mut stakes = Vec::new();
        let mut total: u64 = 0;
        for r in runners {
            if read.is_active(r)? {
                let stake = read.gov(r)?;
                total = total
                    .checked_add(stake)
                    .ok_or_else(|| broken(format!("the runner set's governance stake overflows u64 at @{r}")))?;
                stakes.push(Stake {
                    account: r.clone(),
                    stake,
                });
            }
        }
        Ok(NodesEvent::TallyOpened {
            block,
            runners: stakes,
            total,
        })
    }
}

fn put_json<T: serde::Serialize>(state: &mut dyn StateWrite, key: Vec<u8>, value: &T) -> Result<(), InvariantError> {
    let bytes =
        serde_json::to_vec(value).map_err(|e| broken(format!("encoding {}: {e}", String::from_utf8_lossy(&key))))?;
    state.put(key, bytes);
    Ok(())
}

fn put_runners(state: &mut dyn StateWrite, runners: &[String]) -> Result<(), InvariantError> {
    let mut sorted = runners.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.is_empty() {
        state.delete(keys::RUNNERS);
        Ok(())
    } else {
        put_json(state, keys::RUNNERS.to_vec(), &sorted)
    }
}

fn update_node(
    state: &mut dyn StateWrite,
    account: &str,
    f: impl FnOnce(&mut NodeRecord),
) -> Result<(), InvariantError> {
    let key = keys::node(account);
    let mut rec: NodeRecord = Read(&*state)
        .node(account)?
        .ok_or_else(|| broken(format!("event names @{account}, who has no node record")))?;
    f(&mut rec);
    put_json(state, key, &rec)
}

fn open_tally_at<S: StateRead + ?Sized>(state: &S, block: u64) -> Result<Tally, InvariantError> {
    Read(state)
        .open_tally()?
        .filter(|t| t.block == block)
        .ok_or_else(|| broken(format!("event for checkpoint {block}, whose tally is not open")))
}

fn hash_short(h: &[u8; 32]) -> String {
    hex::encode(&h[..6])
}

impl Module for NodesModule {
    type Event = NodesEvent;

    fn name(&self) -> &'static str {
        NAME
    }

    fn routes(&self) -> &[Route] {
        ROUTES
    }

    fn accepts_hive_op(&self, _op: &HiveOp, _spec: &ChainSpec) -> bool {
        false
    }

    fn genesis(&self, _spec: &ChainSpec) -> Result<Vec<NodesEvent>, GenesisError> {
        let mut runners = self.cfg.genesis.runners.clone();
        runners.sort();
        Ok(if runners.is_empty() {
            Vec::new()
        } else {
            vec![NodesEvent::RunnersInitialised { runners }]
        })
    }

    fn handle(&self, ctx: &OpContext, input: Input, state: &dyn StateRead) -> Result<Vec<NodesEvent>, Reject> {
        let read = Read(state);
        match input {
            Input::CustomJson {
                name, from, payload, ..
            } => {
                check_account(from)?;
                match name {
                    "node_add" => self.node_add(ctx, from, payload, &read),
                    "node_delete" => match read.node(from).map_err(corrupt)? {
                        Some(n) if n.active => Ok(vec![NodesEvent::NodeDeleted {
                            account: from.to_string(),
                        }]),
                        Some(_) => Err(Reject::new(
                            RejectCode::NotANode,
                            format!("@{from} already deleted its node registration"),
                        )),
                        None => Err(Reject::new(
                            RejectCode::NotANode,
                            format!("@{from} is not a registered node"),
                        )),
                    },
                    "report" => self.report(ctx, from, payload, &read),
                    other => Err(Reject::new(
                        RejectCode::UnknownOperation,
                        format!("nodes has no operation `{other}`"),
                    )),
                }
            }
            Input::Hive(op) => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("nodes does not handle Hive `{}`", op.name()),
            )),
            Input::Message(m) => self.message(m, &read),
        }
    }

    fn on_block(&self, ctx: &BlockContext, state: &dyn StateRead) -> Result<Vec<NodesEvent>, InvariantError> {
        let read = Read(state);
        let mut out = Vec::new();
        let opening = ctx.block.is_multiple_of(ctx.spec.checkpoint_interval);
        let mut runners = read.runners()?;
        if let Some(t) = read.open_tally()? {
            // `opening` also closes a tally that is still open (possible only if the window
            // was configured longer than the interval), so that never two are open.
            if ctx.block >= t.block.saturating_add(self.cfg.report_window) || opening {
                let close = self.close(&t, &read)?;
                runners = close.runners.clone();
                out.push(NodesEvent::TallyClosed(close));
            }
        }
        if opening {
            out.push(self.open(ctx.block, &runners, &read)?);
        }
        Ok(out)
    }

    fn next_due_block(&self, state: &dyn StateRead, after: u64) -> Option<u64> {
        let interval = self.checkpoint_interval.max(1);
        let next_checkpoint = (after / interval).checked_add(1).and_then(|k| k.checked_mul(interval));
        let close = match Read(state).open_tally() {
            // A broken tally: run the next block, whose on_block reports the problem.
            Err(_) => after.checked_add(1),
            Ok(None) => None,
            Ok(Some(t)) => Some(
                t.block
                    .saturating_add(self.cfg.report_window)
                    .max(after.saturating_add(1)),
            ),
        };
        match (next_checkpoint, close) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn apply(&self, event: &NodesEvent, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        match event {
            NodesEvent::RunnersInitialised { runners } => put_runners(state, runners),
            NodesEvent::NodeAdded { account, record, .. } => put_json(state, keys::node(account), record),
            NodesEvent::NodeDeleted { account } => update_node(state, account, |n| n.active = false),
            NodesEvent::ReportAccepted {
                account, block, hash, ..
            } => {
                let mut t = open_tally_at(&*state, *block)?;
                t.votes.insert(account.clone(), hex::encode(hash));
                put_json(state, keys::tally(*block), &t)
            }
            NodesEvent::CheckpointFinal { block, hash, at, .. } => {
                let mut t = open_tally_at(&*state, *block)?;
                t.final_hash = Some(hex::encode(hash));
                t.final_block = Some(*at);
                put_json(state, keys::tally(*block), &t)?;
                state.put(keys::final_hash(*block), hash.to_vec());
                let mut stats = Read(&*state).stats()?;
                stats.last_final = Some(*block);
                put_json(state, keys::STATS.to_vec(), &stats)
            }
            NodesEvent::GovChanged { account, gov } => {
                if *gov == 0 {
                    state.delete(&keys::gov(account));
                } else {
                    state.put(keys::gov(account), gov.to_be_bytes().to_vec());
                }
                Ok(())
            }
            NodesEvent::TallyOpened { block, runners, total } => {
                let t = Tally {
                    block: *block,
                    runners: runners.clone(),
                    total: *total,
                    votes: Default::default(),
                    final_hash: None,
                    final_block: None,
                };
                put_json(state, keys::tally(*block), &t)
            }
            NodesEvent::TallyClosed(c) => {
                state.delete(&keys::tally(c.block));
                for a in &c.reported {
                    update_node(state, a, |n| n.attempts = n.attempts.saturating_add(1))?;
                }
                for a in &c.agreed {
                    update_node(state, a, |n| {
                        n.yays = n.yays.saturating_add(1);
                        n.last_good = c.block;
                    })?;
                }
                for a in &c.runners_after {
                    update_node(state, a, |n| n.wins = n.wins.saturating_add(1))?;
                }
                if c.final_hash.is_some() {
                    // Accounts without a record (genesis runners that never registered)
                    // leave the set without a strike.
                    for a in &c.dropped {
                        if Read(&*state).node(a)?.is_some() {
                            update_node(state, a, |n| n.strikes = n.strikes.saturating_add(1))?;
                        }
                    }
                }
                put_runners(state, &c.runners)?;
                let mut stats = Read(&*state).stats()?;
                stats.chaos = c.chaos;
                put_json(state, keys::STATS.to_vec(), &stats)
            }
        }
    }

    fn messages(&self, event: &NodesEvent) -> Vec<Outgoing> {
        let to_token = |kind: &str, payload: serde_json::Value| Outgoing {
            to: TOKEN.into(),
            kind: kind.into(),
            payload: payload.to_string(),
        };
        match event {
            NodesEvent::NodeAdded {
                account,
                registered: true,
                ..
            } => vec![to_token("node_registered", serde_json::json!({ "account": account }))],
            NodesEvent::NodeDeleted { account } => {
                vec![to_token("node_removed", serde_json::json!({ "account": account }))]
            }
            NodesEvent::TallyClosed(c) if c.reward > 0 => c
                .runners_after
                .iter()
                .map(|a| to_token("node_reward", serde_json::json!({ "account": a, "amount": c.reward })))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn sends_to(&self) -> &[&'static str] {
        &[TOKEN]
    }

    /// Governance-stake updates from the token module only change the mirror.
    fn sends_on_messages(&self) -> bool {
        false
    }

    fn event_kind(&self, event: &NodesEvent) -> &'static str {
        event.kind()
    }

    fn encode_event(&self, event: &NodesEvent) -> Result<Vec<u8>, InvariantError> {
        event
            .encode()
            .map_err(|e| broken(format!("encoding {}: {e}", event.kind())))
    }

    fn decode_event(&self, bytes: &[u8]) -> Result<NodesEvent, EventDecodeError> {
        NodesEvent::decode(bytes).map_err(|e| EventDecodeError {
            module: NAME.into(),
            why: e.to_string(),
        })
    }

    fn describe(&self, event: &NodesEvent) -> String {
        match event {
            NodesEvent::RunnersInitialised { runners } => format!("genesis: runners {}", runners.join(", ")),
            NodesEvent::NodeAdded {
                account,
                registered,
                record,
            } => format!(
                "@{account} {} the node {} at {}",
                if *registered { "registered" } else { "updated" },
                record.domain,
                record.bid_rate
            ),
            NodesEvent::NodeDeleted { account } => format!("@{account} deleted its node"),
            NodesEvent::ReportAccepted {
                account,
                block,
                hash,
                weight,
                ..
            } => format!(
                "@{account} reported {} for checkpoint {block} (stake {weight})",
                hash_short(hash)
            ),
            NodesEvent::CheckpointFinal {
                block,
                hash,
                stake,
                total,
                ..
            } => format!(
                "checkpoint {block} is final at {} ({stake} of {total} stake)",
                hash_short(hash)
            ),
            NodesEvent::GovChanged { account, gov } => format!("@{account} governance stake is {gov}"),
            NodesEvent::TallyOpened { block, runners, total } => {
                format!(
                    "tally of checkpoint {block} opened: {} runners, {total} stake",
                    runners.len()
                )
            }
            NodesEvent::TallyClosed(c) => match &c.final_hash {
                Some(h) => format!(
                    "tally of checkpoint {} closed final at {}: {} runners kept, {} dropped{}",
                    c.block,
                    hash_short(h),
                    c.runners_after.len(),
                    c.dropped.len(),
                    c.elected
                        .as_ref()
                        .map(|e| format!(", @{e} elected"))
                        .unwrap_or_default()
                ),
                None => format!(
                    "tally of checkpoint {} closed without finality ({} in a row)",
                    c.block, c.chaos
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests;
