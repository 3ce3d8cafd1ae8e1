//! Registration: `node_add` (register, re-register or update the signer's node, with proofs
//! of possession of its report key and optional multi-sig key) and `node_delete`.

use crate::domain::parse_domain;
use crate::parse::{clamped, describe, hex_field, preview, str_field, u64_field, Payload};
use crate::signing::node_add_signing_bytes;
use crate::state::{corrupt, StateReader};
use crate::{NodeRecord, NodesEvent, NodesModule, MAX_DOMAIN_CHARS};
use ed25519_dalek::VerifyingKey;
use opentoken_core::{OpContext, Reject, RejectCode};
use sha2::{Digest, Sha256};

/// Checks an API URL by the rules of [`crate::domain`]: peers will fetch snapshots from it.
fn check_domain(domain: &str, allow_private: bool) -> Result<(), Reject> {
    parse_domain(domain, MAX_DOMAIN_CHARS, allow_private)
        .map(|_| ())
        .map_err(|why| Reject::field(format!("`domain` {why}, got {:?}", preview(domain))))
}

impl NodesModule {
    /// `node_add`: registers, re-registers or updates the signer's node. The payload is a
    /// full statement (absent votes take their defaults); counters survive.
    pub(crate) fn node_add(
        &self,
        ctx: &OpContext<'_>,
        from: &str,
        payload: &Payload,
        read: &StateReader<'_>,
    ) -> Result<Vec<NodesEvent>, Reject> {
        let domain = str_field(payload, "domain")?;
        check_domain(domain, self.cfg.allow_private_domains)?;
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
        let signers = self.signers_on_record(read, from, &record).map_err(corrupt)?;
        let mut events = vec![NodesEvent::NodeAdded {
            account: from.to_string(),
            registered,
            record,
        }];
        events.extend(signers);
        Ok(events)
    }

    /// `node_delete`: deactivates the signer's node. The record and its counters stay, so a
    /// later `node_add` registers the node again with its history.
    pub(crate) fn node_delete(&self, from: &str, read: &StateReader<'_>) -> Result<Vec<NodesEvent>, Reject> {
        match read.node(from).map_err(corrupt)? {
            Some(mut n) if n.active => {
                n.active = false;
                let signers = self.signers_on_record(read, from, &n).map_err(corrupt)?;
                let mut events = vec![NodesEvent::NodeDeleted {
                    account: from.to_string(),
                }];
                events.extend(signers);
                Ok(events)
            }
            Some(_) => Err(Reject::new(
                RejectCode::NotANode,
                format!("@{from} already deleted its node registration"),
            )),
            None => Err(Reject::new(
                RejectCode::NotANode,
                format!("@{from} is not a registered node"),
            )),
        }
    }
}
