//! The module's state: key layout, value types and their encoding.
//!
//! | key | value |
//! |---|---|
//! | `node/<account>` | [`NodeRecord`], canonical JSON (kept when the node deletes itself, with `active: false`, so its counters survive a re-registration) |
//! | `gov/<account>` | governance stake mirror, 8-byte big-endian `u64`; deleted at 0 |
//! | `runners` | the current runner set, JSON array of account names, sorted; absent when empty |
//! | `tally/<N>` | the open [`Tally`] of checkpoint N (at most one), canonical JSON, with `votes` always `{}` (a tally without votes keeps the bytes it had before votes moved out) |
//! | `vote/<N>/<account>` | the 32-byte hash `account` reported for checkpoint N, while N's tally is open |
//! | `stake/<N>/<hash hex>` | 8-byte big-endian sum of the frozen stake of the runners that reported that hash for N, while N's tally is open; absent at 0 |
//! | `final/<N>` | the 32-byte consensus hash of a finalised checkpoint N; the newest `keep_finals` are kept |
//! | `stats` | [`NodesStats`], canonical JSON; absent until the first tally closes or finalises |
//! | `ms/signers` | the last [`Signer`] list sent to the multisig module, canonical JSON, sorted by account; absent until one is sent, and always absent on a chain without the multisig module |
//! | `ms/collateral` | the last collateral sent to the multisig module (and the DEX), 8-byte big-endian `u64`; absent until one is sent, and always absent on a chain without the multisig module |
//! | `dex/params` | the last DEX parameters sent to the DEX ([`opentoken_dex::protocol::Params`]), canonical JSON; absent until the first tally close, and always absent on a chain without the DEX |
//!
//! `<N>` is the block number as 20 decimal digits, zero padded, so that byte order is block
//! order. One key per vote and a per-hash stake sum make accepting a report a constant
//! number of small writes, whatever the number of reporters; closing the tally deletes
//! the `vote/<N>/` and `stake/<N>/` keys. Canonical JSON is serde_json's output for these structs: fields in declaration
//! order, maps sorted, integers only; equal states are equal bytes, which the commitment
//! (over the key-value set) needs.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

pub const NODE_PREFIX: &str = "node/";
pub const GOV_PREFIX: &str = "gov/";
pub const RUNNERS: &[u8] = b"runners";
pub const TALLY_PREFIX: &str = "tally/";
pub const FINAL_PREFIX: &str = "final/";
pub const VOTE_PREFIX: &str = "vote/";
pub const STAKE_PREFIX: &str = "stake/";
pub const STATS: &[u8] = b"stats";
pub const MS_SIGNERS: &[u8] = b"ms/signers";
pub const MS_COLLATERAL: &[u8] = b"ms/collateral";
pub const DEX_PARAMS: &[u8] = b"dex/params";

pub fn node(account: &str) -> Vec<u8> {
    format!("{NODE_PREFIX}{account}").into_bytes()
}

pub fn gov(account: &str) -> Vec<u8> {
    format!("{GOV_PREFIX}{account}").into_bytes()
}

pub fn tally(block: u64) -> Vec<u8> {
    format!("{TALLY_PREFIX}{block:020}").into_bytes()
}

/// `vote/<N>/`: the votes of checkpoint N, in account order.
pub fn votes_of(block: u64) -> Vec<u8> {
    format!("{VOTE_PREFIX}{block:020}/").into_bytes()
}

pub fn vote(block: u64, account: &str) -> Vec<u8> {
    format!("{VOTE_PREFIX}{block:020}/{account}").into_bytes()
}

/// `stake/<N>/`: the per-hash runner stake sums of checkpoint N.
pub fn stakes_of(block: u64) -> Vec<u8> {
    format!("{STAKE_PREFIX}{block:020}/").into_bytes()
}

pub fn hash_stake(block: u64, hash: &[u8; 32]) -> Vec<u8> {
    format!("{STAKE_PREFIX}{block:020}/{}", hex::encode(hash)).into_bytes()
}

pub fn final_hash(block: u64) -> Vec<u8> {
    format!("{FINAL_PREFIX}{block:020}").into_bytes()
}

/// The block of a `tally/<N>` or `final/<N>` key.
pub fn block_of(key: &[u8], prefix: &str) -> Option<u64> {
    let digits = key.strip_prefix(prefix.as_bytes())?;
    if digits.len() != 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A registered node (active or deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRecord {
    /// Public API URL, `http(s)://...` without a trailing slash.
    pub domain: String,
    /// Vote for the node-reward share and DEX fee, basis points (1..=1000).
    pub bid_rate: u64,
    /// "DEX max" vote (1..=10000).
    pub dm: u64,
    /// "DEX slope" vote (0..=10000).
    pub ds: u64,
    /// "DAO vote" (0..=10000).
    pub dv: u64,
    /// Liquidity reward vote, percent (0..=100).
    pub liquidity: u64,
    /// ed25519 public key reports must be signed with, 64 lowercase hex digits.
    pub report_key: String,
    /// Hive public key (`STM...`) for the community multi-sig, with proven possession.
    pub mskey: Option<String>,
    /// `false` once the node deleted itself: it no longer reports, is dropped from the
    /// runner set at the next tally close, and cannot be elected.
    pub active: bool,
    /// Final tallies in which the node reported the checkpoint (any hash).
    pub attempts: u64,
    /// Final tallies in which the node reported the final hash.
    pub yays: u64,
    /// Final tallies the node was a runner in and agreed with.
    pub wins: u64,
    /// Times the node was dropped from the runner set.
    pub strikes: u64,
    /// The last checkpoint the node agreed on (0 = never).
    pub last_good: u64,
    /// Block of the latest (re-)registration.
    pub registered_at: u64,
}

/// One runner of a tally with its stake, frozen when the tally opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stake {
    pub account: String,
    pub stake: u64,
}

/// A holder of the multi-sig account's active authority, as this module names it to the
/// multisig module: a runner and its registered multi-sig key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signer {
    pub account: String,
    /// Hive public key, `STM...` (the runner's `mskey`).
    pub key: String,
}

/// The tally of one checkpoint, open from block N to N+report_window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tally {
    /// The checkpoint block N.
    pub block: u64,
    /// The runner set when the tally opened (registered, active nodes), by account.
    pub runners: Vec<Stake>,
    /// Sum of `runners` stakes: finality needs more than 2/3 of it.
    pub total: u64,
    /// account -> reported hash (hex), for every node whose report was counted. Always
    /// empty in state (the votes are the `vote/<N>/` keys); the views fill it in.
    pub votes: BTreeMap<String, String>,
    /// The hash that reached finality (hex), once it did.
    pub final_hash: Option<String>,
    /// The block in which it did.
    pub final_block: Option<u64>,
}

impl Tally {
    /// The stake the account holds in this tally (0 for non-runners).
    pub fn stake_of(&self, account: &str) -> u64 {
        self.runners
            .iter()
            .find(|r| r.account == account)
            .map(|r| r.stake)
            .unwrap_or(0)
    }

    pub fn is_runner(&self, account: &str) -> bool {
        self.runners.iter().any(|r| r.account == account)
    }
}

/// Whether `stake` of `total` is final: strictly more than 2/3, and a runner set with no
/// stake finalises nothing. Integers only (u128, so 3 * stake cannot overflow).
pub fn is_supermajority(stake: u128, total: u128) -> bool {
    total > 0 && stake.saturating_mul(3) > total.saturating_mul(2)
}

/// Counters of the consensus process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodesStats {
    /// Consecutive tallies that closed without finality ("chaos" in the reference).
    pub chaos: u64,
    /// The latest finalised checkpoint.
    pub last_final: Option<u64>,
}

/// The state holds a value this module cannot have written: storage corruption or a bug.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("nodes state at `{key}` is malformed: {why}")]
pub struct Corrupt {
    pub key: String,
    pub why: String,
}

impl Corrupt {
    pub fn new(key: &[u8], why: impl Into<String>) -> Self {
        Self {
            key: String::from_utf8_lossy(key).into_owned(),
            why: why.into(),
        }
    }
}

pub fn decode_json<T: for<'de> Deserialize<'de>>(key: &[u8], v: &[u8]) -> Result<T, Corrupt> {
    serde_json::from_slice(v).map_err(|e| Corrupt::new(key, e.to_string()))
}

pub fn decode_u64(key: &[u8], v: &[u8]) -> Result<u64, Corrupt> {
    <[u8; 8]>::try_from(v)
        .map(u64::from_be_bytes)
        .map_err(|_| Corrupt::new(key, format!("expected 8 bytes, found {}", v.len())))
}

pub fn decode_hash(key: &[u8], v: &[u8]) -> Result<[u8; 32], Corrupt> {
    <[u8; 32]>::try_from(v).map_err(|_| Corrupt::new(key, format!("expected 32 bytes, found {}", v.len())))
}

/// 32 bytes from 64 hex digits (either case).
pub fn hash_from_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_keys_sort_by_block_and_parse_back() {
        assert!(tally(9) < tally(10));
        assert!(final_hash(999) < final_hash(1000));
        assert_eq!(block_of(&final_hash(1234), FINAL_PREFIX), Some(1234));
        assert_eq!(block_of(&tally(u64::MAX), TALLY_PREFIX), Some(u64::MAX));
        assert_eq!(block_of(b"final/12", FINAL_PREFIX), None);
        assert_eq!(block_of(&tally(5), FINAL_PREFIX), None);
        assert!(vote(9, "zed") < vote(10, "alice"));
        assert!(vote(10, "alice").starts_with(&votes_of(10)));
        assert!(!vote(100, "alice").starts_with(&votes_of(10)));
        assert!(hash_stake(10, &[0xab; 32]).starts_with(&stakes_of(10)));
    }

    #[test]
    fn supermajority_is_strictly_more_than_two_thirds() {
        assert!(is_supermajority(75, 100));
        assert!(!is_supermajority(60, 100));
        assert!(!is_supermajority(2, 3));
        assert!(is_supermajority(3, 3));
        assert!(!is_supermajority(0, 0));
        assert!(is_supermajority(u128::from(u64::MAX), u128::from(u64::MAX)));
        assert!(!is_supermajority(20, 30));
        assert!(is_supermajority(21, 30));
    }
}
