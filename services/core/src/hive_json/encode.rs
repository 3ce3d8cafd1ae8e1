//! Blocks back to either JSON encoding: what the simulator serves, so tests exercise the
//! same decoder a real API node's answers go through.

use super::timestamp::format_timestamp;
use crate::asset::Asset;
use crate::hive::{Block, HiveOp, Transaction};
use serde_json::{json, Value};

/// What a real block carries beyond the operations opentoken decodes: each transaction's
/// TaPoS, expiration and signatures, and the header's merkle root and witness signature.
/// The simulator fills it so the blocks it serves verify like real ones (ids recomputed
/// from content); without it the encoder writes placeholders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockEnvelope {
    /// 40-hex `transaction_merkle_root`.
    pub merkle_root: String,
    /// 130-hex `witness_signature`.
    pub witness_signature: String,
    /// One per transaction, in order; missing entries get placeholders.
    pub txs: Vec<TxEnvelope>,
}

/// The parts of a signed transaction that are not its operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxEnvelope {
    pub ref_block_num: u16,
    pub ref_block_prefix: u32,
    /// Seconds since the Unix epoch.
    pub expiration: u64,
    /// 130-hex signatures.
    pub signatures: Vec<String>,
}

impl TxEnvelope {
    /// What the encoder writes for a transaction of block `b` without an envelope.
    pub fn placeholder(b: &Block) -> Self {
        Self {
            ref_block_num: (b.num.saturating_sub(1) & 0xffff) as u16,
            ref_block_prefix: 0,
            expiration: b.timestamp + 600,
            signatures: Vec::new(),
        }
    }
}

/// One transaction in the appbase form (what `block_api` lists in `transactions`).
pub fn encode_tx_appbase(tx: &Transaction, env: &TxEnvelope) -> Value {
    encode_tx(tx, env, true)
}

fn encode_tx(tx: &Transaction, env: &TxEnvelope, appbase: bool) -> Value {
    let ops: Vec<Value> = tx
        .operations
        .iter()
        .map(|op| {
            let (name, body) = op_body(op, appbase);
            if appbase {
                json!({"type": format!("{name}_operation"), "value": body})
            } else {
                json!([name, body])
            }
        })
        .collect();
    json!({
        "ref_block_num": env.ref_block_num,
        "ref_block_prefix": env.ref_block_prefix,
        "expiration": format_timestamp(env.expiration),
        "operations": ops,
        "extensions": [],
        "signatures": env.signatures,
    })
}

fn nai_json(a: &Asset) -> Value {
    json!({"amount": a.amount.to_string(), "precision": a.symbol.precision(), "nai": a.symbol.nai()})
}

fn op_body(op: &HiveOp, nai: bool) -> (String, Value) {
    let asset = |a: &Asset| if nai { nai_json(a) } else { Value::String(a.to_legacy()) };
    match op {
        HiveOp::CustomJson(c) => (
            "custom_json".into(),
            json!({"required_auths": c.required_auths, "required_posting_auths": c.required_posting_auths, "id": c.id, "json": c.json}),
        ),
        HiveOp::Transfer(t) => (
            "transfer".into(),
            json!({"from": t.from, "to": t.to, "amount": asset(&t.amount), "memo": t.memo}),
        ),
        HiveOp::DelegateVestingShares(d) => (
            "delegate_vesting_shares".into(),
            json!({"delegator": d.delegator, "delegatee": d.delegatee, "vesting_shares": asset(&d.vesting_shares)}),
        ),
        HiveOp::Other { name, body } => (name.clone(), serde_json::from_str(body).unwrap_or(Value::Null)),
    }
}

fn encode_block(b: &Block, env: &BlockEnvelope, appbase: bool) -> Value {
    let txs: Vec<Value> = b
        .transactions
        .iter()
        .enumerate()
        .map(|(i, tx)| {
            let placeholder;
            let tx_env = match env.txs.get(i) {
                Some(e) => e,
                None => {
                    placeholder = TxEnvelope::placeholder(b);
                    &placeholder
                }
            };
            let mut t = encode_tx(tx, tx_env, appbase);
            if !appbase {
                t["transaction_id"] = json!(tx.txid);
                t["block_num"] = json!(b.num);
                t["transaction_num"] = json!(i);
            }
            t
        })
        .collect();
    let or = |s: &str, default: String| if s.is_empty() { default } else { s.to_string() };
    json!({
        "previous": b.previous,
        "timestamp": format_timestamp(b.timestamp),
        "witness": b.witness,
        "transaction_merkle_root": or(&env.merkle_root, "0".repeat(40)),
        "extensions": [],
        "witness_signature": or(&env.witness_signature, "00".repeat(65)),
        "transactions": txs,
        "block_id": b.id,
        "signing_key": "STM1111111111111111111111111111111114T1Anm",
        "transaction_ids": b.transactions.iter().map(|t| t.txid.clone()).collect::<Vec<_>>(),
    })
}

/// The appbase form (as `block_api` serves it).
pub fn encode_block_appbase(b: &Block) -> Value {
    encode_block(b, &BlockEnvelope::default(), true)
}

/// The appbase form with the envelope's TaPoS, signatures and header fields.
pub fn encode_block_appbase_with(b: &Block, env: &BlockEnvelope) -> Value {
    encode_block(b, env, true)
}

/// The legacy form with the envelope's TaPoS, signatures and header fields.
pub fn encode_block_legacy_with(b: &Block, env: &BlockEnvelope) -> Value {
    encode_block(b, env, false)
}

/// The legacy form (as `condenser_api.get_block` serves it).
pub fn encode_block_legacy(b: &Block) -> Value {
    encode_block(b, &BlockEnvelope::default(), false)
}
