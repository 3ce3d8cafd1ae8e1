//! Hive block JSON as API nodes serve it: blocks (both encodings), `get_block_range` and
//! `get_block` results, single ops and assets, also inside a JSON-RPC envelope. No input
//! may panic; a block with an id that decodes re-encodes (appbase form) to the same block.
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
