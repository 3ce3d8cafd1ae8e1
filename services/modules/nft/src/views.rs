//! Typed reads of the module's state for the API and tests. Every list is bounded by its
//! caller's limit.

use crate::keys::{self, Nft, Offer, Set};
use crate::protocol::OfferKind;
use opentoken_core::StateRead;

fn decode<T: serde::de::DeserializeOwned>(v: &[u8]) -> Option<T> {
    serde_json::from_slice(v).ok()
}

fn tail(key: &[u8], prefix: &[u8]) -> Option<String> {
    std::str::from_utf8(key.get(prefix.len()..)?).ok().map(str::to_string)
}

pub fn set(state: &dyn StateRead, name: &str) -> Option<Set> {
    state.get(&keys::set(name)).and_then(decode)
}

/// Sets in name order, at most `limit`.
pub fn sets(state: &dyn StateRead, limit: usize) -> Vec<Set> {
    state
        .scan_prefix(keys::SET_PREFIX)
        .take(limit)
        .filter_map(|(_, v)| decode(v))
        .collect()
}

pub fn nft(state: &dyn StateRead, set: &str, uid: &str) -> Option<Nft> {
    state.get(&keys::nft(set, uid)).and_then(decode)
}

/// A set's NFTs in uid order (uid, holder), at most `limit`.
pub fn set_nfts(state: &dyn StateRead, set: &str, limit: usize) -> Vec<(String, Nft)> {
    let prefix = keys::nft_prefix(set);
    state
        .scan_prefix(&prefix)
        .take(limit)
        .filter_map(|(k, v)| Some((tail(k, &prefix)?, decode(v)?)))
        .collect()
}

/// An account's NFTs as `(set, uid)`, at most `limit` (those in offers are the offers').
pub fn account_nfts(state: &dyn StateRead, account: &str, limit: usize) -> Vec<(String, String)> {
    let prefix = keys::owned_prefix(account);
    state
        .scan_prefix(&prefix)
        .take(limit)
        .filter_map(|(k, _)| {
            let t = tail(k, &prefix)?;
            let (set, uid) = t.split_once('/')?;
            Some((set.to_string(), uid.to_string()))
        })
        .collect()
}

/// An account's mint tokens as `(set, count)`, at most `limit` sets.
pub fn account_fts(state: &dyn StateRead, account: &str, limit: usize) -> Vec<(String, u64)> {
    let prefix = keys::ft_prefix(account);
    state
        .scan_prefix(&prefix)
        .take(limit)
        .filter_map(|(k, v)| Some((tail(k, &prefix)?, u64::from_be_bytes(<[u8; 8]>::try_from(v).ok()?))))
        .collect()
}

/// Open offers of `kind`, optionally of one set, in key order, at most `limit`.
pub fn offers(state: &dyn StateRead, kind: OfferKind, set: Option<&str>, limit: usize) -> Vec<Offer> {
    let mut prefix = keys::offer_prefix(kind);
    if let Some(s) = set {
        prefix.extend_from_slice(format!("{s}:").as_bytes());
    }
    state
        .scan_prefix(&prefix)
        .take(limit)
        .filter_map(|(_, v)| decode(v))
        .collect()
}

pub fn offer(state: &dyn StateRead, kind: OfferKind, set: &str, id: &str) -> Option<Offer> {
    state.get(&keys::offer(kind, set, id)).and_then(decode)
}

/// An account's open offers, at most `limit`.
pub fn account_offers(state: &dyn StateRead, account: &str, limit: usize) -> Vec<Offer> {
    let prefix = keys::offers_by_prefix(account);
    state
        .scan_prefix(&prefix)
        .take(limit)
        .filter_map(|(k, _)| {
            let t = tail(k, &prefix)?;
            let (kind, item) = t.split_once('/')?;
            let (set, id) = item.split_once(':')?;
            offer(state, OfferKind::parse(kind)?, set, id)
        })
        .collect()
}

/// The account's profile picture `(set, uid)`, while it still holds it.
pub fn pfp(state: &dyn StateRead, account: &str) -> Option<(String, String)> {
    let v = state.get(&keys::pfp(account))?;
    let s = std::str::from_utf8(v).ok()?;
    let (set, uid) = s.split_once(':')?;
    let n = nft(state, set, uid)?;
    (n.owner == account).then(|| (set.to_string(), uid.to_string()))
}

/// Mint tokens of `set` waiting for their NFT.
pub fn pending_mints(state: &dyn StateRead, limit: usize) -> Vec<keys::MintRequest> {
    state
        .scan_prefix(keys::MINTQ_PREFIX)
        .take(limit)
        .filter_map(|(_, v)| decode(v))
        .collect()
}

/// What the module holds in the token module's escrow.
pub fn held(state: &dyn StateRead) -> u64 {
    keys::num(state, keys::HELD)
}
