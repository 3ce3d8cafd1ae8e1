//! Authority rotation: when the runner set changes, the account's active authority follows
//! it, signed by the authority that holds it now.
//!
//! - A different `signers` list from the nodes module is *wanted* (`src/signers.rs`).
//! - At the next checkpoint with no transaction open, every node builds the same
//!   transaction: one `account_update2` of the account setting its active authority to the
//!   wanted keys, weight 1 each, threshold `floor(2n/3) + 1`; no account authorities, and
//!   owner, posting, memo key and metadata untouched (`RotationBuilt`). Outflows wait:
//!   nothing is paid while the authority is on its way out.
//! - The *current* signers sign it with `ms_sign`, exactly as they sign outflows (Hive
//!   requires the account's active authority for it).
//! - When an `account_update`/`account_update2` of the account setting exactly that active
//!   authority appears in a block, the rotation is done (`Rotated`): the new signers are
//!   the signers, and signatures by keys no longer in the authority are refused from then
//!   on, as Hive refuses them. If it expires unseen, the next checkpoint builds it again
//!   (for whatever is wanted by then).
//! - Any other change of the account's active or owner authority was not built by the
//!   module: it is recorded (`AuthorityAnomaly`) and changes nothing here, since the
//!   runners' keys may no longer be able to spend (operators must look).
//!
//! The owner authority stays with whoever created the account (the community's recovery
//! path: see `docs/compatibility.md`), and the posting authority is not the module's.

use crate::keys::{OpenTx, Signers};
use crate::memo::cut;
use crate::state::{open_tx, signers};
use crate::{MultisigEvent, MultisigModule};
use opentoken_core::module::InvariantError;
use opentoken_core::{BlockContext, BlockHeader, OpContext, Reject, RejectCode, StateRead};
use opentoken_hive_tx::{Authority, Operation, Packing, PublicKey};
use serde_json::Value;
use std::collections::BTreeMap;

/// The active authority `list` stands for: each key weight 1, the list's threshold.
pub(crate) fn authority_of(list: &Signers) -> Result<Authority, String> {
    let mut key_auths = BTreeMap::new();
    for s in &list.signers {
        let key = PublicKey::from_string(&s.key).map_err(|e| format!("@{}'s key {}: {e}", s.account, s.key))?;
        key_auths.insert(key, 1u16);
    }
    Ok(Authority {
        weight_threshold: list.threshold,
        account_auths: BTreeMap::new(),
        key_auths,
    })
}

/// The operation that gives `account`'s active authority to `list`.
pub(crate) fn rotation_op(account: &str, list: &Signers) -> Result<Operation, String> {
    Ok(Operation::AccountUpdate2 {
        account: account.to_string(),
        owner: None,
        active: Some(authority_of(list)?),
        posting: None,
        memo_key: None,
        json_metadata: String::new(),
        posting_json_metadata: String::new(),
    })
}

/// Whether a Hive operation updates `account` (`account_update` or `account_update2`).
pub(crate) fn updates_account(name: &str, body: &str, account: &str) -> bool {
    (name == "account_update" || name == "account_update2")
        && serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("account").and_then(Value::as_str).map(|a| a == account))
            .unwrap_or(false)
}

/// An authority in an operation's JSON (both encodings write it the same way).
fn parse_authority(v: &Value) -> Result<Authority, String> {
    let o = v.as_object().ok_or("not an object")?;
    let threshold = o
        .get("weight_threshold")
        .and_then(Value::as_u64)
        .and_then(|t| u32::try_from(t).ok())
        .ok_or("`weight_threshold` is not a u32")?;
    let pairs = |field: &str| -> Result<Vec<(String, u16)>, String> {
        let Some(items) = o.get(field) else {
            return Ok(vec![]);
        };
        let items = items.as_array().ok_or(format!("`{field}` is not an array"))?;
        items
            .iter()
            .map(|p| match p.as_array().map(Vec::as_slice) {
                Some([Value::String(who), w]) => w
                    .as_u64()
                    .and_then(|w| u16::try_from(w).ok())
                    .map(|w| (who.clone(), w))
                    .ok_or(format!("`{field}`: a weight is not a u16")),
                _ => Err(format!("`{field}`: an entry is not [name, weight]")),
            })
            .collect()
    };
    let mut key_auths = BTreeMap::new();
    for (k, w) in pairs("key_auths")? {
        let key = PublicKey::from_string(&k).map_err(|e| format!("key {}: {e}", cut(&k, 60)))?;
        key_auths.insert(key, w);
    }
    Ok(Authority {
        weight_threshold: threshold,
        account_auths: pairs("account_auths")?.into_iter().collect(),
        key_auths,
    })
}

impl MultisigModule {
    /// The rotation of checkpoint `ctx.block` to `want`, signed by the current signers.
    pub(crate) fn build_rotation(
        &self,
        ctx: &BlockContext<'_>,
        h: BlockHeader<'_>,
        want: Signers,
        state: &dyn StateRead,
    ) -> Result<Option<MultisigEvent>, InvariantError> {
        if signers(state)?.is_none() {
            return Ok(None);
        }
        let op = rotation_op(&self.config().account, &want)
            .map_err(|e| crate::state::broken(format!("the wanted signers: {e}")))?;
        let (tx, digest) = self.transaction(ctx, h, vec![op])?;
        Ok(Some(MultisigEvent::RotationBuilt {
            checkpoint: ctx.block,
            ref_block_num: tx.ref_block_num,
            ref_block_prefix: tx.ref_block_prefix,
            expiration: u64::from(tx.expiration),
            signers: want.signers,
            threshold: want.threshold,
            digest,
            txid: tx.id(Packing::Legacy),
        }))
    }

    /// An `account_update`/`account_update2` of the account: the open rotation landing,
    /// or an anomaly.
    pub(crate) fn authority_update(
        &self,
        ctx: &OpContext<'_>,
        name: &str,
        body: &str,
        state: &dyn StateRead,
    ) -> Result<Vec<MultisigEvent>, Reject> {
        let account = &self.config().account;
        let anomaly = |why: String| {
            Ok(vec![MultisigEvent::AuthorityAnomaly {
                pos: ctx.pos,
                txid: ctx.txid.to_string(),
                why,
            }])
        };
        let v: Value = serde_json::from_str(body)
            .map_err(|e| Reject::field(format!("{name} of @{account}: the body is not JSON: {e}")))?;
        let present = |f: &str| v.get(f).is_some_and(|x| !x.is_null());
        if present("owner") {
            return anomaly(format!(
                "{name} changed the owner authority of @{account}; the module never does"
            ));
        }
        let Some(active) = v.get("active").filter(|a| !a.is_null()) else {
            return Err(Reject::new(
                RejectCode::NothingToDo,
                format!("{name} of @{account} leaves its active authority as it is; nothing to follow"),
            ));
        };
        let active = match parse_authority(active) {
            Ok(a) => a,
            Err(e) => return anomaly(format!("{name} set an active authority the module cannot read: {e}")),
        };
        let open =
            open_tx(state).map_err(|e| Reject::field(format!("the open transaction is unreadable: {}", e.what)))?;
        let Some(OpenTx {
            checkpoint,
            rotate: Some(want),
            ..
        }) = open
        else {
            return anomaly(format!(
                "{name} changed the active authority of @{account} while no rotation was open; the signers stay"
            ));
        };
        match authority_of(&want) {
            Ok(expected) if expected == active => Ok(vec![MultisigEvent::Rotated {
                checkpoint,
                block: ctx.pos.block,
                txid: ctx.txid.to_string(),
                signers: want.signers,
                threshold: want.threshold,
            }]),
            _ => anomaly(format!(
                "{name} set an active authority of @{account} other than the rotation of checkpoint {checkpoint}; the signers stay"
            )),
        }
    }
}
