//! `report`: a node's ed25519-signed statement of checkpoint N's consensus hash, and the
//! finality it may complete (runners holding more than 2/3 of the tally's stake agree).
//!
//! Counted are reports from the tally's runners and from nodes holding at least
//! `min_candidate_stake` governance stake (candidates for election). Deciding reads a
//! constant number of keys (the node, the tally head, its vote, its stake, one per-hash
//! stake sum), so the n-th report of a checkpoint costs what the first did.

use crate::keys::{self, hash_from_hex, is_supermajority, Corrupt};
use crate::parse::{hex_field, str_field, u64_field, Payload};
use crate::signing::report_signing_bytes;
use crate::state::{corrupt, StateReader};
use crate::{NodesEvent, NodesModule, MAX_VERSION_CHARS};
use ed25519_dalek::VerifyingKey;
use opentoken_core::{OpContext, Reject, RejectCode};

impl NodesModule {
    /// `report`: one signed vote per node on checkpoint N's hash, inside N's window.
    /// Checks run cheapest first; the signature is checked last, before anything is recorded.
    pub(crate) fn report(
        &self,
        ctx: &OpContext<'_>,
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
            Some(n) if n.report_key.is_empty() => {
                return Err(Reject::new(
                    RejectCode::NotANode,
                    format!(
                    "@{from} has no report key (a node record brought from the reference): register one with node_add"
                ),
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
        // Who may report: the tally's runners (bounded by max_runners), and candidates for
        // election holding stake. Anyone else is refused here, before any state is spent.
        if !tally.is_runner(from) {
            let gov = read.gov(from).map_err(corrupt)?;
            let min = self.cfg.min_candidate_stake;
            if gov < min {
                return Err(Reject::new(
                    RejectCode::InsufficientFunds,
                    format!(
                        "@{from} is not a runner of checkpoint {block} and holds {gov} governance stake; \
                         a report from outside the runner set needs at least {min}"
                    ),
                ));
            }
        }
        if read.vote(block, from).map_err(corrupt)?.is_some() {
            return Err(Reject::new(
                RejectCode::NothingToDo,
                format!("@{from} already reported checkpoint {block}"),
            ));
        }

        if node.report_key.is_empty() {
            return Err(Reject::new(
                RejectCode::NotANode,
                format!(
                    "@{from} has no report key (a node record brought from the reference): register one with node_add"
                ),
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
            let stake = u128::from(read.hash_stake(block, &hash).map_err(corrupt)?) + u128::from(weight);
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
}
