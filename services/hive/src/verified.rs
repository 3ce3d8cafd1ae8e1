//! Blocks read from untrusted API nodes, verified before anything uses them.
//!
//! An API node can serve anything: a block with an operation added, changed or dropped, a
//! block of another chain, a gap. Each served block is checked against itself (every
//! transaction id recomputed from its bytes, the merkle root of the transactions, the block
//! id hashed from the header) and against the chain (`previous` links to the block before
//! it, the first one to the last block the ingester published). That leaves one lie a
//! single node can tell: a whole consistent chain of its own. With several nodes
//! configured, the id of the last block of every range is therefore confirmed by the
//! others: a range is used when no other node names a different id, or when a majority of
//! all configured nodes names the same one. A node whose range fails is skipped for the
//! next one; nothing it served is used.

use crate::client::{Failure, HiveClient, HiveError};
use opentoken_core::hive_json::decode_block;
use opentoken_core::Block;
use opentoken_hive_tx::{verify_block_json, BlockFault};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

/// A verified range and what was seen on the way, for the caller's log and metrics.
#[derive(Debug, Default)]
pub struct VerifiedRange {
    pub blocks: Vec<Block>,
    /// Nodes whose answer was refused, and why.
    pub refused: Vec<(String, String)>,
    /// Nodes that named another id for the range's last block (outvoted).
    pub dissenters: Vec<String>,
    /// Blocks accepted only because every node served them identically (see
    /// [`HiveClient::get_verified_range`]).
    pub accepted_by_agreement: u64,
}

/// Why a node's range was refused.
enum Refusal {
    /// Its first block does not verify (the fault, and the block as served).
    First(BlockFault, Value),
    Other(String),
}

/// The ids of a range (block `start + i` at index `i`) and the blocks up to the first that
/// does not verify or link; the fault at that block, if any.
fn check_range(blocks: &[Value], start: u64, anchor: Option<&(u64, String)>) -> (usize, Option<Refusal>) {
    let mut previous: Option<&str> = anchor.filter(|(n, _)| n + 1 == start).map(|(_, id)| id.as_str());
    for (i, b) in blocks.iter().enumerate() {
        let num = start + i as u64;
        if let Err(fault) = verify_block_json(b, num) {
            let refusal = if i == 0 {
                Refusal::First(fault, b.clone())
            } else {
                Refusal::Other(fault.to_string())
            };
            return (i, Some(refusal));
        }
        let prev = b.get("previous").and_then(Value::as_str).unwrap_or("");
        if let Some(want) = previous {
            if prev != want {
                let why = format!("block {num} names previous {prev}, but block {} is {want}", num - 1);
                return (i, Some(Refusal::Other(why)));
            }
        }
        previous = b.get("block_id").and_then(Value::as_str);
    }
    (blocks.len(), None)
}

impl HiveClient {
    /// Blocks `start..start+count` as verified (see the module docs); fewer when the range
    /// runs past the head or a node served a bad block within it (the good prefix is
    /// used and the next call starts at the bad block on another node). `anchor` is the
    /// last block already used (number, id): the first block must link to it.
    pub async fn get_verified_range(
        &self,
        start: u64,
        count: u32,
        anchor: Option<&(u64, String)>,
    ) -> Result<VerifiedRange, HiveError> {
        let count = count.clamp(1, 1000);
        let n = self.nodes.len();
        let first = self.preferred.load(Ordering::Relaxed) % n;
        let mut out = VerifiedRange::default();
        let mut heavy = false;
        // The first block as each node served it, when that block did not verify.
        let mut unverifiable: Vec<(usize, BlockFault, Value)> = Vec::new();
        let params = json!({"starting_block_num": start, "count": count});
        for k in 0..n {
            let idx = (first + k) % n;
            let node = &self.nodes[idx];
            let served = match self.attempt(node, "block_api.get_block_range", &params).await {
                Ok(v) => v,
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Heavy(why)) => {
                    heavy = true;
                    out.refused.push((node.clone(), why));
                    continue;
                }
                Err(Failure::Retry(why)) => {
                    out.refused.push((node.clone(), why));
                    continue;
                }
            };
            let Some(blocks) = served.get("blocks").and_then(Value::as_array) else {
                out.refused
                    .push((node.clone(), "the answer has no `blocks` list".into()));
                continue;
            };
            if blocks.len() > count as usize {
                out.refused.push((
                    node.clone(),
                    format!("{} blocks served for {count} asked", blocks.len()),
                ));
                continue;
            }
            let (good, refusal) = check_range(blocks, start, anchor);
            match refusal {
                Some(Refusal::First(fault, block)) => {
                    out.refused.push((node.clone(), fault.to_string()));
                    unverifiable.push((idx, fault, block));
                    continue;
                }
                Some(Refusal::Other(why)) if good == 0 => {
                    out.refused.push((node.clone(), why));
                    continue;
                }
                Some(Refusal::Other(why)) => {
                    // Use what verified; the next range starts at the bad block elsewhere.
                    out.refused.push((node.clone(), why));
                    self.preferred.store((idx + 1) % n, Ordering::Relaxed);
                }
                None => self.preferred.store(idx, Ordering::Relaxed),
            }
            let mut decoded = Vec::with_capacity(good);
            for (i, b) in blocks[..good].iter().enumerate() {
                match decode_block(b, Some(start + i as u64)) {
                    Ok(block) => decoded.push(block),
                    Err(e) => {
                        out.refused
                            .push((node.clone(), format!("block {}: {e}", start + i as u64)));
                        break;
                    }
                }
            }
            if decoded.is_empty() {
                // An empty answer (nothing past the head yet) or nothing decodable.
                if blocks.is_empty() {
                    return Ok(out);
                }
                continue;
            }
            if let Some(last) = decoded.last() {
                match self.confirm(idx, last.num, &last.id).await {
                    Ok(dissenters) => out.dissenters = dissenters,
                    Err(why) => {
                        out.refused.push((node.clone(), why));
                        continue;
                    }
                }
            }
            out.blocks = decoded;
            return Ok(out);
        }
        // Nobody served a first block that verifies. If every node (two or more) served it
        // identically and it links, the fault is this version's (an operation it cannot
        // serialize yet), not a lie: a lie would need every configured node to tell it.
        if n >= 2 && unverifiable.len() == n {
            if let Some(block) = self.agreed(&unverifiable, start, anchor) {
                out.accepted_by_agreement = 1;
                out.blocks = vec![block];
                return Ok(out);
            }
        }
        let detail = out
            .refused
            .iter()
            .map(|(node, why)| format!("{node}: {why}"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(HiveError::Unverified { start, detail, heavy })
    }

    /// The block every node served identically, when it links to `anchor`.
    fn agreed(
        &self,
        served: &[(usize, BlockFault, Value)],
        start: u64,
        anchor: Option<&(u64, String)>,
    ) -> Option<Block> {
        let (_, _, first) = served.first()?;
        if served.iter().any(|(_, _, b)| b != first) {
            return None;
        }
        let links = match anchor.filter(|(n, _)| n + 1 == start) {
            Some((_, id)) => first.get("previous").and_then(Value::as_str) == Some(id.as_str()),
            None => true,
        };
        let block = decode_block(first, Some(start)).ok().filter(|_| links)?;
        tracing::warn!(
            block = start,
            fault = %served[0].1,
            nodes = served.len(),
            "a block this version cannot verify was accepted because every API node served it identically; upgrade opentoken"
        );
        Some(block)
    }

    /// Asks every other node for the id of block `num`. Returns the nodes that named another
    /// id when the served one still has a majority of all configured nodes; an error when
    /// it does not.
    async fn confirm(&self, served_by: usize, num: u64, id: &str) -> Result<Vec<String>, String> {
        let n = self.nodes.len();
        if n < 2 {
            return Ok(Vec::new());
        }
        let (mut agree, mut dissent) = (1usize, Vec::new());
        for (j, node) in self.nodes.iter().enumerate() {
            if j == served_by {
                continue;
            }
            let named = self
                .attempt(node, "block_api.get_block", &json!({"block_num": num}))
                .await
                .ok()
                .and_then(|v| v.pointer("/block/block_id").and_then(Value::as_str).map(str::to_string));
            match named {
                Some(other) if other == id => agree += 1,
                Some(other) => dissent.push(format!("{node} (names {other})")),
                // Unreachable or behind: no vote.
                None => {}
            }
        }
        if dissent.is_empty() || agree * 2 > n {
            Ok(dissent)
        } else {
            Err(format!(
                "block {num} is {id} here, but {} of {n} API nodes name another id: {}",
                dissent.len(),
                dissent.join(", ")
            ))
        }
    }
}
