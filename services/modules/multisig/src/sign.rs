//! `ms_sign {"checkpoint": N, "sig": "<130 hex>"}` (active authority): a signer's signature
//! of the open transaction, built at checkpoint `N`, travels on chain so that every node
//! holds the same signatures and can assemble the same signed transaction.
//!
//! It is accepted only when it can count: `N` is the open transaction, the sender is one of
//! the signers and has not signed it yet, and the signature is 65 bytes of lower-case hex,
//! recoverable, canonical (low S, as hived requires) and recovers to the sender's key over
//! the transaction's digest. Anything else is refused with the reason and changes nothing,
//! so garbage can never fill the slots of real signatures.

use crate::keys::{self, OpenTx};
use crate::parse::{only_fields, Payload};
use crate::state::{from_lower_hex, open_tx, signers};
use crate::{MultisigEvent, MultisigModule};
use opentoken_core::{Reject, RejectCode, StateRead};
use opentoken_hive_tx::{PublicKey, Signature};
use serde_json::Value;

const FIELDS: &[&str] = &["checkpoint", "sig"];

/// A signature's length in hex digits.
pub(crate) const SIG_HEX_LEN: usize = 130;

fn unreadable(what: &str) -> Reject {
    Reject::field(format!("the module's {what} is unreadable; nothing can be signed"))
}

impl MultisigModule {
    pub(crate) fn sign(
        &self,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<MultisigEvent>, Reject> {
        only_fields(payload, FIELDS)?;
        let checkpoint = match payload.get("checkpoint") {
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
                Reject::field(format!(
                    "`checkpoint` must be a block number (a non-negative integer), got {n}"
                ))
            })?,
            Some(_) => return Err(Reject::field("`checkpoint` must be a block number (an integer)")),
            None => return Err(Reject::field("`checkpoint` is missing")),
        };
        let text = match payload.get("sig") {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(Reject::field("`sig` must be a string of hex digits")),
            None => return Err(Reject::field("`sig` is missing")),
        };
        if text.len() != SIG_HEX_LEN {
            return Err(Reject::field(format!(
                "`sig` must be {SIG_HEX_LEN} hex digits (65 bytes), got {} bytes",
                text.len()
            )));
        }
        let bytes = from_lower_hex(text).ok_or_else(|| Reject::field("`sig` must be lower-case hex digits only"))?;
        let tx = open_at(checkpoint, state)?;
        let list = signers(state).map_err(|_| unreadable("signer list"))?;
        let account = &self.config().account;
        let Some(signer) = list.iter().flat_map(|s| s.signers.iter()).find(|s| s.account == from) else {
            return Err(Reject::new(
                RejectCode::InvalidAccount,
                format!("@{from} is not one of the signers of @{account}"),
            ));
        };
        if state.get(&keys::sig(checkpoint, from)).is_some() {
            return Err(Reject::new(
                RejectCode::NothingToDo,
                format!("@{from} already signed the transaction of checkpoint {checkpoint}"),
            ));
        }
        let sig = Signature::from_bytes(&bytes)
            .map_err(|e| Reject::field(format!("`sig` is not a recoverable signature: {e}")))?;
        if !sig.is_low_s() {
            return Err(Reject::field(
                "`sig` is not canonical: its S is in the upper half of the curve order, and Hive accepts only low-S signatures",
            ));
        }
        let digest: [u8; 32] = from_lower_hex(&tx.digest)
            .and_then(|d| d.try_into().ok())
            .ok_or_else(|| unreadable("transaction digest"))?;
        let key = PublicKey::from_string(&signer.key).map_err(|_| unreadable("signer key"))?;
        match sig.recover(&digest) {
            Err(e) => Err(Reject::field(format!(
                "`sig` recovers no key over the digest of the transaction of checkpoint {checkpoint}: {e}"
            ))),
            Ok(by) if by != key => Err(Reject::field(format!(
                "`sig` over the digest of the transaction of checkpoint {checkpoint} is by {by}, not by @{from}'s key {}: it signs something else or is made with another key",
                signer.key
            ))),
            Ok(_) => Ok(vec![MultisigEvent::SignatureAccepted {
                checkpoint,
                account: from.to_string(),
                sig: text.to_string(),
            }]),
        }
    }
}

/// The open transaction, if it is the one of `checkpoint`.
fn open_at(checkpoint: u64, state: &dyn StateRead) -> Result<OpenTx, Reject> {
    match open_tx(state).map_err(|_| unreadable("open transaction"))? {
        Some(tx) if tx.checkpoint == checkpoint => Ok(tx),
        Some(tx) => Err(Reject::field(format!(
            "checkpoint {checkpoint} has no open transaction to sign (the open one is checkpoint {}; an earlier one expired or was settled)",
            tx.checkpoint
        ))),
        None => Err(Reject::field(format!(
            "checkpoint {checkpoint} has no open transaction to sign (none is open)"
        ))),
    }
}
