//! Blocks back to either JSON encoding: what the simulator serves, so tests exercise the
//! same decoder a real API node's answers go through.

use super::timestamp::format_timestamp;
use crate::asset::Asset;
use crate::hive::{Block, HiveOp};
use serde_json::{json, Value};

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

fn encode_block(b: &Block, appbase: bool) -> Value {
    let txs: Vec<Value> = b
        .transactions
        .iter()
        .enumerate()
        .map(|(i, tx)| {
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
            let mut t = json!({
                "ref_block_num": (b.num.saturating_sub(1) & 0xffff),
                "ref_block_prefix": 0,
                "expiration": format_timestamp(b.timestamp + 600),
                "operations": ops,
                "extensions": [],
                "signatures": [],
            });
            if !appbase {
                t["transaction_id"] = json!(tx.txid);
                t["block_num"] = json!(b.num);
                t["transaction_num"] = json!(i);
            }
            t
        })
        .collect();
    json!({
        "previous": b.previous,
        "timestamp": format_timestamp(b.timestamp),
        "witness": b.witness,
        "transaction_merkle_root": "0000000000000000000000000000000000000000",
        "extensions": [],
        "witness_signature": "00".repeat(65),
        "transactions": txs,
        "block_id": b.id,
        "signing_key": "STM1111111111111111111111111111111114T1Anm",
        "transaction_ids": b.transactions.iter().map(|t| t.txid.clone()).collect::<Vec<_>>(),
    })
}

/// The appbase form (as `block_api` serves it).
pub fn encode_block_appbase(b: &Block) -> Value {
    encode_block(b, true)
}

/// The legacy form (as `condenser_api.get_block` serves it).
pub fn encode_block_legacy(b: &Block) -> Value {
    encode_block(b, false)
}
