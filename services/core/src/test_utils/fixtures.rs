//! The real Hive mainnet blocks the tests read (`tests/fixtures/hive/`, copied from
//! `../shared/fixtures/hive`: recorded API responses nobody here wrote), and their legacy
//! (condenser) form written from the protocol's description, so that every test of "both
//! block forms" converts them the same independent way.

use serde_json::{json, Value};

/// A fixture file of `tests/fixtures/hive/`, parsed.
pub fn mainnet_fixture(name: &str) -> Value {
    let path = format!("{}/../../tests/fixtures/hive/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (copied from ../shared/fixtures/hive: real mainnet blocks)"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The legacy form of a raw appbase block, written from hive-protocol.md §1.3 and
/// independent of `encode_block_legacy`: op envelope and assets change, ids move into
/// the transactions.
pub fn appbase_block_to_legacy(block: &Value) -> Value {
    fn assets(v: &Value) -> Value {
        match v {
            Value::Object(m) if m.len() == 3 && m.contains_key("nai") => {
                let amount: i64 = m["amount"].as_str().unwrap().parse().unwrap();
                let precision = m["precision"].as_u64().unwrap() as u32;
                let sym = match m["nai"].as_str().unwrap() {
                    "@@000000021" => "HIVE",
                    "@@000000013" => "HBD",
                    _ => "VESTS",
                };
                let scale = 10i64.pow(precision);
                Value::String(format!(
                    "{}.{:0w$} {sym}",
                    amount / scale,
                    amount % scale,
                    w = precision as usize
                ))
            }
            Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), assets(x))).collect()),
            Value::Array(a) => Value::Array(a.iter().map(assets).collect()),
            o => o.clone(),
        }
    }
    let mut b = block.clone();
    let ids = b["transaction_ids"].clone();
    for (i, tx) in b["transactions"].as_array_mut().unwrap().iter_mut().enumerate() {
        let ops: Vec<Value> = tx["operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|op| {
                let name = op["type"].as_str().unwrap().trim_end_matches("_operation").to_string();
                let mut body = assets(&op["value"]);
                // Extensions: `{type, value}` objects become `[type_id, value]` pairs
                // (comment_options' only type, comment_payout_beneficiaries, is 0).
                if let Some(Value::Array(exts)) = body.get_mut("extensions") {
                    for e in exts.iter_mut() {
                        if e["type"] == "comment_payout_beneficiaries" {
                            *e = json!([0, e["value"].clone()]);
                        }
                    }
                }
                json!([name, body])
            })
            .collect();
        tx["operations"] = Value::Array(ops);
        tx["transaction_id"] = ids[i].clone();
    }
    b.as_object_mut().unwrap().remove("transaction_ids");
    b
}
