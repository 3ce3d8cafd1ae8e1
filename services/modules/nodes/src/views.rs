//! Read models for the HTTP API and the node's own ops, over any backend (`KvSource`).
//!
//! Each view comes in two forms: `try_*` returns the read or decoding error (what the API
//! should use, so a failing store is a 5xx and not "not found"), and the plain form returns
//! `None`/empty on any error (convenient over in-memory state, where reads cannot fail).

use crate::keys::{self, decode_hash, decode_json, decode_u64, Corrupt, NodeRecord, NodesStats, Signer, Tally};
use opentoken_core::KvSource;
use opentoken_dex::protocol::Params;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ViewError {
    #[error("reading nodes state: {0}")]
    Read(String),
    #[error(transparent)]
    Malformed(#[from] Corrupt),
}

/// Upper bound of one prefix scan; more nodes than this is far beyond any community.
const SCAN_LIMIT: usize = 1_000_000;

fn get(src: &dyn KvSource, key: &[u8]) -> Result<Option<Vec<u8>>, ViewError> {
    src.kv_get(key).map_err(ViewError::Read)
}

pub fn try_node(src: &dyn KvSource, account: &str) -> Result<Option<NodeRecord>, ViewError> {
    let key = keys::node(account);
    Ok(get(src, &key)?.map(|v| decode_json(&key, &v)).transpose()?)
}

/// A node's record (active or deleted).
pub fn node(state: &dyn KvSource, account: &str) -> Option<NodeRecord> {
    try_node(state, account).ok().flatten()
}

pub fn try_nodes(src: &dyn KvSource) -> Result<Vec<(String, NodeRecord)>, ViewError> {
    Ok(try_nodes_up_to(src, SCAN_LIMIT)?.0)
}

/// The first `limit` node records in account order, and whether there are more. Anyone
/// can register a node, so a public route lists a bounded number of them.
pub fn try_nodes_up_to(src: &dyn KvSource, limit: usize) -> Result<(Vec<(String, NodeRecord)>, bool), ViewError> {
    let mut pairs = src
        .kv_scan(keys::NODE_PREFIX.as_bytes(), limit.saturating_add(1))
        .map_err(ViewError::Read)?;
    let more = pairs.len() > limit;
    pairs.truncate(limit);
    let mut out = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        let account = String::from_utf8_lossy(k.get(keys::NODE_PREFIX.len()..).unwrap_or_default()).into_owned();
        out.push((account, decode_json(&k, &v)?));
    }
    Ok((out, more))
}

/// Every node record, by account.
pub fn nodes(state: &dyn KvSource) -> Vec<(String, NodeRecord)> {
    try_nodes(state).unwrap_or_default()
}

pub fn try_gov(src: &dyn KvSource, account: &str) -> Result<u64, ViewError> {
    let key = keys::gov(account);
    Ok(get(src, &key)?.map(|v| decode_u64(&key, &v)).transpose()?.unwrap_or(0))
}

pub fn try_runners(src: &dyn KvSource) -> Result<Vec<(String, u64)>, ViewError> {
    let names: Vec<String> = get(src, keys::RUNNERS)?
        .map(|v| decode_json(keys::RUNNERS, &v))
        .transpose()?
        .unwrap_or_default();
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        let g = try_gov(src, &n)?;
        out.push((n, g));
    }
    Ok(out)
}

/// The current runner set with each runner's governance stake (as mirrored now).
pub fn runners(state: &dyn KvSource) -> Vec<(String, u64)> {
    try_runners(state).unwrap_or_default()
}

pub fn try_open_tally(src: &dyn KvSource) -> Result<Option<Tally>, ViewError> {
    let pairs = src.kv_scan(keys::TALLY_PREFIX.as_bytes(), 1).map_err(ViewError::Read)?;
    let Some((k, v)) = pairs.into_iter().next() else {
        return Ok(None);
    };
    let mut tally: Tally = decode_json(&k, &v)?;
    let prefix = keys::votes_of(tally.block);
    for (k, v) in src.kv_scan(&prefix, SCAN_LIMIT).map_err(ViewError::Read)? {
        let account = String::from_utf8_lossy(k.get(prefix.len()..).unwrap_or_default()).into_owned();
        tally.votes.insert(account, hex::encode(decode_hash(&k, &v)?));
    }
    Ok(Some(tally))
}

/// The tally that is open (at most one), with its votes so far (from the `vote/<N>/` keys:
/// the same shape the tally had when it held them).
pub fn open_tally(state: &dyn KvSource) -> Option<Tally> {
    try_open_tally(state).ok().flatten()
}

pub fn try_final_hash(src: &dyn KvSource, block: u64) -> Result<Option<[u8; 32]>, ViewError> {
    let key = keys::final_hash(block);
    Ok(get(src, &key)?.map(|v| decode_hash(&key, &v)).transpose()?)
}

/// The consensus hash of checkpoint `block`, if it was finalised.
pub fn final_hash(state: &dyn KvSource, block: u64) -> Option<[u8; 32]> {
    try_final_hash(state, block).ok().flatten()
}

pub fn try_stats(src: &dyn KvSource) -> Result<NodesStats, ViewError> {
    Ok(get(src, keys::STATS)?
        .map(|v| decode_json(keys::STATS, &v))
        .transpose()?
        .unwrap_or_default())
}

/// Consensus counters (all zero before the first tally).
pub fn stats(state: &dyn KvSource) -> NodesStats {
    try_stats(state).unwrap_or_default()
}

pub fn try_signers_sent(src: &dyn KvSource) -> Result<Vec<Signer>, ViewError> {
    Ok(get(src, keys::MS_SIGNERS)?
        .map(|v| decode_json(keys::MS_SIGNERS, &v))
        .transpose()?
        .unwrap_or_default())
}

/// The multi-sig signers last sent to the multisig module (empty before the first, and on
/// chains without it).
pub fn signers_sent(state: &dyn KvSource) -> Vec<Signer> {
    try_signers_sent(state).unwrap_or_default()
}

pub fn try_dex_params_sent(src: &dyn KvSource) -> Result<Option<Params>, ViewError> {
    Ok(get(src, keys::DEX_PARAMS)?
        .map(|v| decode_json(keys::DEX_PARAMS, &v))
        .transpose()?)
}

/// The DEX parameters last sent to the DEX (`None` before the first tally close, and on
/// chains without it): what the runners' votes set the fee and bid limits to.
pub fn dex_params_sent(state: &dyn KvSource) -> Option<Params> {
    try_dex_params_sent(state).ok().flatten()
}

pub fn try_last_final(src: &dyn KvSource) -> Result<Option<(u64, [u8; 32])>, ViewError> {
    let Some(block) = try_stats(src)?.last_final else {
        return Ok(None);
    };
    Ok(try_final_hash(src, block)?.map(|h| (block, h)))
}

/// The latest finalised checkpoint and its hash.
pub fn last_final(state: &dyn KvSource) -> Option<(u64, [u8; 32])> {
    try_last_final(state).ok().flatten()
}

/// The `limit` latest finalised checkpoints, newest first.
///
/// Keys are `final/<N as 20 digits>`, so a shorter digit prefix of the latest final block
/// covers a 10x wider block range ending at it: the scan widens one digit at a time until it
/// holds `limit` entries, reading about as much as it returns rather than every checkpoint
/// ever finalised.
pub fn try_finals(src: &dyn KvSource, limit: usize) -> Result<Vec<(u64, [u8; 32])>, ViewError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let Some(last) = try_stats(src)?.last_final else {
        return Ok(Vec::new());
    };
    let digits = format!("{last:020}");
    let mut pairs = Vec::new();
    for keep in (0..=20).rev() {
        let prefix = format!("{}{}", keys::FINAL_PREFIX, &digits[..keep]);
        pairs = src.kv_scan(prefix.as_bytes(), SCAN_LIMIT).map_err(ViewError::Read)?;
        if pairs.len() >= limit {
            break;
        }
    }
    let mut out = Vec::with_capacity(limit.min(pairs.len()));
    for (k, v) in pairs.iter().rev() {
        let block = keys::block_of(k, keys::FINAL_PREFIX).ok_or_else(|| Corrupt::new(k, "not a final/<N> key"))?;
        if block > last {
            continue;
        }
        out.push((block, decode_hash(k, v)?));
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

/// The `limit` latest finalised checkpoints, newest first.
pub fn finals(state: &dyn KvSource, limit: usize) -> Vec<(u64, [u8; 32])> {
    try_finals(state, limit).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::{ModuleState, StateWrite};

    #[test]
    fn finals_newest_first_across_digit_boundaries() {
        let mut s = ModuleState::new();
        let blocks: Vec<u64> = (1..=250).map(|i| i * 100).filter(|b| b % 700 != 0).collect();
        for b in &blocks {
            s.put(keys::final_hash(*b), vec![(*b % 251) as u8; 32]);
        }
        let last = *blocks.last().unwrap();
        s.put(
            keys::STATS.to_vec(),
            serde_json::to_vec(&NodesStats {
                chaos: 0,
                last_final: Some(last),
            })
            .unwrap(),
        );
        for limit in [1, 2, 5, 10, 50, 300] {
            let got = finals(&s, limit);
            let want: Vec<(u64, [u8; 32])> = blocks
                .iter()
                .rev()
                .take(limit)
                .map(|b| (*b, [(*b % 251) as u8; 32]))
                .collect();
            assert_eq!(got, want, "limit {limit}");
        }
        assert_eq!(last_final(&s), Some((last, [(last % 251) as u8; 32])));
        assert_eq!(final_hash(&s, 700), None);
        assert!(finals(&ModuleState::new(), 5).is_empty());
    }

    #[test]
    fn malformed_values_are_errors_not_absent() {
        let mut s = ModuleState::new();
        s.put(keys::node("alice"), b"{not json".to_vec());
        s.put(keys::gov("alice"), vec![1, 2, 3]);
        assert!(matches!(try_node(&s, "alice"), Err(ViewError::Malformed(_))));
        assert!(matches!(try_gov(&s, "alice"), Err(ViewError::Malformed(_))));
        assert_eq!(node(&s, "alice"), None);
        assert_eq!(try_node(&s, "bob").unwrap(), None);
    }
}
