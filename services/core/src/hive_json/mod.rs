//! Decoding Hive block JSON, in both encodings API nodes return, into one typed model.
//!
//! - appbase (`block_api.*`): ops are `{"type": "custom_json_operation", "value": {...}}`,
//!   assets are NAI objects `{"amount": "1000", "precision": 3, "nai": "@@000000021"}`, and
//!   transaction ids come from the block's `transaction_ids`;
//! - legacy (`condenser_api.*`): ops are `["custom_json", {...}]`, assets are strings
//!   `"1.000 HIVE"`, and each transaction carries its `transaction_id`.
//!
//! Bad input is a `DecodeError` that names the block, transaction and field, never a panic.

use crate::asset::{Asset, AssetSymbol};
use crate::hive::{Block, CustomJsonOp, DelegateVestingSharesOp, HiveOp, Transaction, TransferOp};
use serde_json::{Map, Value};
use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("cannot decode block {block}: {what}")]
pub struct DecodeError {
    pub block: String,
    pub what: String,
}

fn err(block: &str, what: impl Into<String>) -> DecodeError {
    DecodeError {
        block: block.to_string(),
        what: what.into(),
    }
}

mod encode;
mod timestamp;

pub use encode::{
    encode_block_appbase, encode_block_appbase_with, encode_block_legacy, encode_block_legacy_with, encode_tx_appbase,
    BlockEnvelope, TxEnvelope,
};
pub use timestamp::{format_timestamp, parse_timestamp};

/// An asset in either form.
pub fn decode_asset(v: &Value) -> Result<Asset, String> {
    match v {
        Value::String(s) => Asset::parse_legacy(s).map_err(|e| e.to_string()),
        Value::Object(m) => {
            let nai = m.get("nai").and_then(Value::as_str).ok_or("NAI asset without `nai`")?;
            let symbol = AssetSymbol::from_nai(nai).ok_or_else(|| format!("unknown NAI {nai}"))?;
            let precision = m
                .get("precision")
                .and_then(Value::as_u64)
                .ok_or("NAI asset without `precision`")?;
            if precision != u64::from(symbol.precision()) {
                return Err(format!("NAI {nai} with precision {precision}"));
            }
            let amount = match m.get("amount") {
                Some(Value::String(s)) => s
                    .parse::<i64>()
                    .map_err(|_| format!("NAI amount {s:?} is not an integer"))?,
                Some(Value::Number(n)) => n.as_i64().ok_or_else(|| format!("NAI amount {n} is not an integer"))?,
                _ => return Err("NAI asset without `amount`".into()),
            };
            Ok(Asset::new(amount, symbol))
        }
        other => Err(format!("asset must be a string or NAI object, got {other}")),
    }
}

fn is_nai(m: &Map<String, Value>) -> bool {
    m.len() == 3 && m.contains_key("amount") && m.contains_key("precision") && m.contains_key("nai")
}

/// Rewrites NAI assets inside an untyped op body as legacy strings, so that the stored body
/// of an op is the same whichever encoding it arrived in.
fn normalize_assets(v: &Value) -> Value {
    match v {
        Value::Object(m) if is_nai(m) => match decode_asset(v) {
            Ok(a) => Value::String(a.to_legacy()),
            Err(_) => v.clone(),
        },
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), normalize_assets(x))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(normalize_assets).collect()),
        other => other.clone(),
    }
}

/// The static variant ids of the op extensions a module reads, by their appbase type name.
/// `comment_options` has one extension type, `comment_payout_beneficiaries` (0).
const EXTENSION_IDS: &[(&str, &str, u64)] = &[("comment_options", "comment_payout_beneficiaries", 0)];

/// Rewrites an op's appbase extensions (`{"type": name, "value": v}`) as the legacy
/// `[id, v]` pairs, so that the stored body is the same whichever encoding the block arrived
/// in. The reference reads only the legacy shape and silently ignores the other (so a post
/// registered on a live node was ignored by a replaying one); opentoken reads one shape.
/// Extensions of unknown type stay as they are.
fn normalize_extensions(op: &str, mut body: Value) -> Value {
    let Some(Value::Array(exts)) = body.get_mut("extensions") else {
        return body;
    };
    for e in exts.iter_mut() {
        let Some(ty) = e.get("type").and_then(Value::as_str) else {
            continue;
        };
        if let Some((_, _, id)) = EXTENSION_IDS.iter().find(|(o, t, _)| *o == op && *t == ty) {
            let value = e.get("value").cloned().unwrap_or(Value::Null);
            *e = Value::Array(vec![Value::from(*id), value]);
        }
    }
    body
}

fn str_field<'a>(m: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    m.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{name}` is missing or not a string"))
}

fn accounts(m: &Map<String, Value>, name: &str) -> Result<Vec<String>, String> {
    match m.get(name) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("`{name}` holds a non-string"))
            })
            .collect(),
        Some(_) => Err(format!("`{name}` is not an array")),
    }
}

fn typed_op(name: &str, value: &Value) -> Result<HiveOp, String> {
    let m = value
        .as_object()
        .ok_or_else(|| format!("{name} body is not an object"))?;
    match name {
        "custom_json" => Ok(HiveOp::CustomJson(CustomJsonOp {
            required_auths: accounts(m, "required_auths")?,
            required_posting_auths: accounts(m, "required_posting_auths")?,
            id: str_field(m, "id")?.to_string(),
            json: str_field(m, "json")?.to_string(),
        })),
        "transfer" => Ok(HiveOp::Transfer(TransferOp {
            from: str_field(m, "from")?.to_string(),
            to: str_field(m, "to")?.to_string(),
            amount: decode_asset(m.get("amount").ok_or("transfer without `amount`")?)?,
            memo: m.get("memo").and_then(Value::as_str).unwrap_or("").to_string(),
        })),
        "delegate_vesting_shares" => Ok(HiveOp::DelegateVestingShares(DelegateVestingSharesOp {
            delegator: str_field(m, "delegator")?.to_string(),
            delegatee: str_field(m, "delegatee")?.to_string(),
            vesting_shares: decode_asset(m.get("vesting_shares").ok_or("delegation without `vesting_shares`")?)?,
        })),
        other => Ok(HiveOp::Other {
            name: other.to_string(),
            body: normalize_extensions(other, normalize_assets(value)).to_string(),
        }),
    }
}

/// One operation in either encoding.
pub fn decode_op(v: &Value) -> Result<HiveOp, String> {
    match v {
        Value::Array(pair) if pair.len() == 2 => {
            let name = pair[0].as_str().ok_or("legacy op name is not a string")?;
            typed_op(name, &pair[1])
        }
        Value::Object(m) => {
            let ty = str_field(m, "type")?;
            let name = ty.strip_suffix("_operation").unwrap_or(ty);
            typed_op(name, m.get("value").ok_or("appbase op without `value`")?)
        }
        other => Err(format!(
            "operation is neither [name, body] nor {{type, value}}: {other}"
        )),
    }
}

fn block_num_from_id(id: &str) -> Option<u64> {
    let bytes = hex::decode(id.get(..8)?).ok()?;
    Some(u64::from(u32::from_be_bytes(bytes.try_into().ok()?)))
}

/// A block in either encoding. `num_hint` is used when the block carries no `block_id`.
pub fn decode_block(v: &Value, num_hint: Option<u64>) -> Result<Block, DecodeError> {
    let label = num_hint.map(|n| n.to_string()).unwrap_or_else(|| "?".into());
    let m = v.as_object().ok_or_else(|| err(&label, "block is not an object"))?;
    let previous = str_field(m, "previous").map_err(|e| err(&label, e))?.to_string();
    let id = m.get("block_id").and_then(Value::as_str).map(str::to_string);
    let num = match (&id, num_hint) {
        (Some(id), _) => block_num_from_id(id).ok_or_else(|| err(&label, format!("block_id {id:?} is not hex")))?,
        (None, Some(n)) => n,
        (None, None) => block_num_from_id(&previous)
            .map(|p| p + 1)
            .ok_or_else(|| err(&label, "no block_id and no block number"))?,
    };
    let label = num.to_string();
    let ts = str_field(m, "timestamp").map_err(|e| err(&label, e))?;
    let timestamp =
        parse_timestamp(ts).ok_or_else(|| err(&label, format!("timestamp {ts:?} is not YYYY-MM-DDTHH:MM:SS")))?;
    let witness = m.get("witness").and_then(Value::as_str).unwrap_or("").to_string();
    let txs = m
        .get("transactions")
        .and_then(Value::as_array)
        .ok_or_else(|| err(&label, "`transactions` is missing"))?;
    let ids = m.get("transaction_ids").and_then(Value::as_array);
    let mut transactions = Vec::with_capacity(txs.len());
    for (i, tx) in txs.iter().enumerate() {
        let t = tx
            .as_object()
            .ok_or_else(|| err(&label, format!("transaction {i} is not an object")))?;
        let txid = t
            .get("transaction_id")
            .and_then(Value::as_str)
            .or_else(|| ids.and_then(|ids| ids.get(i)).and_then(Value::as_str))
            .ok_or_else(|| {
                err(
                    &label,
                    format!("transaction {i} has no id (no transaction_id, no transaction_ids[{i}])"),
                )
            })?
            .to_string();
        let ops = t
            .get("operations")
            .and_then(Value::as_array)
            .ok_or_else(|| err(&label, format!("transaction {txid} has no `operations`")))?;
        let operations = ops
            .iter()
            .enumerate()
            .map(|(j, op)| decode_op(op).map_err(|e| err(&label, format!("transaction {txid} op {j}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        transactions.push(Transaction { txid, operations });
    }
    Ok(Block {
        num,
        id: id.unwrap_or_default(),
        previous,
        timestamp,
        witness,
        transactions,
    })
}

/// The result of `block_api.get_block_range`: `{"blocks": [...]}`.
pub fn decode_get_block_range(result: &Value) -> Result<Vec<Block>, DecodeError> {
    let blocks = result
        .get("blocks")
        .and_then(Value::as_array)
        .ok_or_else(|| err("range", "result has no `blocks` array"))?;
    blocks.iter().map(|b| decode_block(b, None)).collect()
}

/// The result of `block_api.get_block`: `{"block": {...}}`, or `{}` when not produced yet.
pub fn decode_get_block(result: &Value, num: u64) -> Result<Option<Block>, DecodeError> {
    match result.get("block") {
        None => Ok(None),
        Some(b) => decode_block(b, Some(num)).map(Some),
    }
}

#[cfg(test)]
mod tests;
