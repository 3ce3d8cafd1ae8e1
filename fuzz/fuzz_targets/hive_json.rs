//! Hive block JSON as API nodes serve it: blocks (both encodings), `get_block_range` and
//! `get_block` results, single ops and assets, also inside a JSON-RPC envelope. No input
//! may panic; a block with an id that decodes re-encodes (appbase form) to the same block.
//! Every value also goes through block verification (ids, merkle root, block id recomputed
//! by the fc::raw serializer of every operation type) and the transaction serializer: no
//! panic, and a transaction has a merkle leaf exactly when it serializes with signatures.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentoken_core::hive_json::{
    decode_asset, decode_block, decode_get_block, decode_get_block_range, decode_op, encode_block_appbase,
};
use serde_json::Value;

fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(a) => a.iter().any(has_float),
        Value::Object(m) => m.values().any(has_float),
        _ => false,
    }
}

fn decode_all(v: &Value) {
    for hint in [None, Some(1), Some(u64::MAX)] {
        // A block without `block_id` decodes with an empty id (the caller's hint numbers it),
        // which the appbase form cannot carry; a float in an untyped op body can come back
        // 1 ULP off (serde_json's default float parsing; Hive op bodies carry no floats).
        // Every other block must round-trip.
        let round_trips = !has_float(v);
        if let Some(block) = decode_block(v, hint).ok().filter(|b| round_trips && !b.id.is_empty()) {
            let again = decode_block(&encode_block_appbase(&block), Some(block.num))
                .unwrap_or_else(|e| panic!("a decoded block does not decode after encoding: {e}\n{block:?}"));
            assert_eq!(again, block, "a block changes through encode and decode");
        }
    }
    for num in [1, 5_771_683, 97_477_292] {
        let _ = opentoken_hive_tx::verify_block_json(v, num);
    }
    if let Some(blocks) = v.get("blocks").and_then(Value::as_array) {
        for (i, b) in blocks.iter().enumerate().take(8) {
            let _ = opentoken_hive_tx::verify_block_json(b, 1 + i as u64);
        }
    }
    for tx in v.get("transactions").and_then(Value::as_array).into_iter().flatten().take(8) {
        let _ = opentoken_hive_tx::transaction_json_ids(tx);
        let signed = opentoken_hive_tx::transaction_json_bytes(tx, opentoken_hive_tx::Packing::Legacy, true);
        assert_eq!(
            opentoken_hive_tx::merkle_leaf(tx).is_ok(),
            signed.is_ok(),
            "a transaction serializes with its signatures but has no merkle leaf, or the reverse"
        );
    }
    let _ = opentoken_hive_tx::operation_json_bytes(v, opentoken_hive_tx::Packing::Legacy);
    let _ = decode_get_block_range(v);
    let _ = decode_get_block(v, 1);
    let _ = decode_op(v);
    let _ = decode_asset(v);
}

fuzz_target!(
    init: opentoken_fuzz::write_seeds_once(opentoken_fuzz::seeds::hive_json),
    |data: &[u8]| {
        let Ok(v) = serde_json::from_slice::<Value>(data) else { return };
        decode_all(&v);
        if let Some(result) = v.get("result") {
            decode_all(result);
        }
    }
);
