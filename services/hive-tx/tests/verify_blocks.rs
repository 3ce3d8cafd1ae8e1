//! Real blocks verify (every transaction id, the merkle root and the block id recomputed from
//! the JSON equal what the block lists), tampering with them is caught, and garbage is an
//! error, never a panic.

use opentoken_hive_tx::{
    merkle_leaf, merkle_root, transaction_json_ids, transaction_json_leaf, verify_block_json, BlockFault, Packing,
};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::OnceLock;

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../tests/fixtures/hive/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

/// The four 2025 blocks as `(number, block)`.
fn mainnet() -> &'static Vec<(u64, Value)> {
    static BLOCKS: OnceLock<Vec<(u64, Value)>> = OnceLock::new();
    BLOCKS.get_or_init(|| {
        fixture("mainnet-97477292-4blocks.json")
            .as_array()
            .expect("list")
            .iter()
            .map(|b| (b["block_num"].as_u64().expect("num"), b["block"].clone()))
            .collect()
    })
}

fn num_of(id: &str) -> u64 {
    let id = hex::decode(id).expect("hex");
    u64::from(u32::from_be_bytes([id[0], id[1], id[2], id[3]]))
}

#[test]
fn mainnet_2025_blocks_verify() {
    let mut txs = 0;
    for (num, block) in mainnet() {
        assert_eq!(verify_block_json(block, *num), Ok(()), "block {num}");
        txs += block["transactions"].as_array().expect("txs").len();
    }
    assert_eq!(txs, 60);
}

/// Blocks store (and hash into the merkle root) each transaction in the packing it was
/// signed in: the 2025 blocks' asset-carrying transactions are listed under their hf26 id,
/// and hashing their legacy bytes gives a different root.
#[test]
fn hf26_signed_transactions_enter_the_merkle_root_as_hf26_bytes() {
    let mut hf26_listed = 0;
    let mut legacy_root_differs = 0;
    for (num, block) in mainnet() {
        let txs = block["transactions"].as_array().expect("txs");
        let ids = block["transaction_ids"].as_array().expect("ids");
        let mut stored = Vec::new();
        for (tx, id) in txs.iter().zip(ids) {
            let (legacy, hf26) = transaction_json_ids(tx).expect("ids");
            let packing = if legacy == id.as_str().expect("id") {
                Packing::Legacy
            } else {
                assert_eq!(hf26, id.as_str().expect("id"));
                hf26_listed += 1;
                Packing::Hf26
            };
            stored.push(transaction_json_leaf(tx, packing).expect("leaf"));
        }
        let header = block["transaction_merkle_root"].as_str().expect("root");
        assert_eq!(hex::encode(merkle_root(&stored)), header, "block {num}");
        let legacy: Vec<[u8; 32]> = txs.iter().map(|t| merkle_leaf(t).expect("leaf")).collect();
        if hex::encode(merkle_root(&legacy)) != header {
            legacy_root_differs += 1;
        }
    }
    assert_eq!(hf26_listed, 11);
    assert!(legacy_root_differs > 0);
}

#[test]
fn steem_2016_block_5771683_verifies() {
    let response = fixture("get_block-5771683.json");
    assert_eq!(verify_block_json(&response["result"]["block"], 5_771_683), Ok(()));
}

#[test]
fn first_1000_blocks_verify_and_chain() {
    let range = fixture("get_block_range-1-1000.json");
    let blocks = range["blocks"].as_array().expect("blocks");
    assert_eq!(blocks.len(), 1000);
    let mut previous = "0".repeat(40);
    for (i, block) in blocks.iter().enumerate() {
        let num = i as u64 + 1;
        assert_eq!(verify_block_json(block, num), Ok(()), "block {num}");
        assert_eq!(block["previous"].as_str(), Some(previous.as_str()), "block {num}");
        previous = block["block_id"].as_str().expect("id").to_string();
    }
}

/// The first 2025 block, index of its first custom_json transaction.
fn block_with_custom_json() -> (u64, Value, usize) {
    let (num, block) = mainnet()[0].clone();
    let i = block["transactions"]
        .as_array()
        .expect("txs")
        .iter()
        .position(|t| t["operations"][0]["type"] == "custom_json_operation")
        .expect("a custom_json");
    (num, block, i)
}

/// Recomputes what a forger would have to: the listed id of transaction `i` and the root.
fn fix_id(block: &mut Value, i: usize) {
    let (legacy, hf26) = transaction_json_ids(&block["transactions"][i]).expect("ids");
    assert_eq!(legacy, hf26, "no assets in a custom_json");
    block["transaction_ids"][i] = json!(legacy);
}

fn fix_root(block: &mut Value) {
    let leaves: Vec<[u8; 32]> = block["transactions"]
        .as_array()
        .expect("txs")
        .iter()
        .zip(block["transaction_ids"].as_array().expect("ids"))
        .map(|(tx, id)| {
            let (legacy, _) = transaction_json_ids(tx).expect("ids");
            let packing = if legacy == id.as_str().expect("id") {
                Packing::Legacy
            } else {
                Packing::Hf26
            };
            transaction_json_leaf(tx, packing).expect("leaf")
        })
        .collect();
    block["transaction_merkle_root"] = json!(hex::encode(merkle_root(&leaves)));
}

#[test]
fn an_edited_custom_json_is_caught_at_every_level() {
    let (num, mut block, i) = block_with_custom_json();
    let json = block["transactions"][i]["operations"][0]["value"]["json"]
        .as_str()
        .expect("json")
        .replacen('1', "2", 1);
    block["transactions"][i]["operations"][0]["value"]["json"] = json!(json);
    assert!(matches!(verify_block_json(&block, num), Err(BlockFault::TxId { tx, .. }) if tx == i));
    fix_id(&mut block, i);
    assert!(matches!(
        verify_block_json(&block, num),
        Err(BlockFault::MerkleRoot { .. })
    ));
    fix_root(&mut block);
    let fault = verify_block_json(&block, num).expect_err("the block id commits to the root");
    assert!(matches!(fault, BlockFault::BlockId { .. }), "{fault}");
    assert!(!fault.is_unsupported());
}

#[test]
fn an_inserted_transaction_is_caught() {
    let (num, block, i) = block_with_custom_json();
    let mut forged = block["transactions"][i].clone();
    forged["operations"] = json!([{"type": "custom_json_operation", "value": {
        "required_auths": [], "required_posting_auths": ["alice"], "id": "dlux_send",
        "json": "{\"to\":\"mallory\",\"amount\":100000}"}}]);
    let mut inserted = block.clone();
    inserted["transactions"].as_array_mut().expect("txs").insert(1, forged);
    assert!(matches!(
        verify_block_json(&inserted, num),
        Err(BlockFault::IdCount { .. })
    ));
    let (id, _) = transaction_json_ids(&inserted["transactions"][1]).expect("ids");
    inserted["transaction_ids"]
        .as_array_mut()
        .expect("ids")
        .insert(1, json!(id));
    assert!(matches!(
        verify_block_json(&inserted, num),
        Err(BlockFault::MerkleRoot { .. })
    ));
    fix_root(&mut inserted);
    assert!(matches!(
        verify_block_json(&inserted, num),
        Err(BlockFault::BlockId { .. })
    ));
}

#[test]
fn a_dropped_or_reordered_transaction_is_caught() {
    let (num, block) = mainnet()[0].clone();
    let mut dropped = block.clone();
    dropped["transactions"].as_array_mut().expect("txs").remove(3);
    dropped["transaction_ids"].as_array_mut().expect("ids").remove(3);
    assert!(matches!(
        verify_block_json(&dropped, num),
        Err(BlockFault::MerkleRoot { .. })
    ));

    let mut reordered = block.clone();
    reordered["transactions"].as_array_mut().expect("txs").swap(0, 1);
    reordered["transaction_ids"].as_array_mut().expect("ids").swap(0, 1);
    assert!(matches!(
        verify_block_json(&reordered, num),
        Err(BlockFault::MerkleRoot { .. })
    ));

    let mut ids_only = block;
    ids_only["transaction_ids"].as_array_mut().expect("ids").swap(0, 1);
    assert!(matches!(
        verify_block_json(&ids_only, num),
        Err(BlockFault::TxId { tx: 0, .. })
    ));
}

#[test]
fn a_wrong_block_id_or_header_is_caught() {
    let (num, block) = mainnet()[0].clone();
    let mut other = block.clone();
    other["block_id"] = mainnet()[1].1["block_id"].clone();
    assert!(matches!(
        verify_block_json(&other, num),
        Err(BlockFault::NumberMismatch { field: "block_id", .. })
    ));
    // Right number, other hash.
    let id = block["block_id"].as_str().expect("id");
    let mut same_num = block.clone();
    same_num["block_id"] = json!(format!("{}{}", &id[..8], "0".repeat(32)));
    assert!(matches!(
        verify_block_json(&same_num, num),
        Err(BlockFault::BlockId { .. })
    ));
    let mut witness = block.clone();
    witness["witness"] = json!("mallory");
    assert!(matches!(
        verify_block_json(&witness, num),
        Err(BlockFault::BlockId { .. })
    ));
    let mut signature = block.clone();
    let sig = block["witness_signature"].as_str().expect("sig");
    signature["witness_signature"] = json!(format!("{}{}", &sig[..128], "00"));
    assert!(matches!(
        verify_block_json(&signature, num),
        Err(BlockFault::BlockId { .. })
    ));
    // Asked for another number than the block's.
    assert!(matches!(
        verify_block_json(&block, num + 1),
        Err(BlockFault::NumberMismatch { .. })
    ));
    assert_eq!(num_of(id), num);
}

#[test]
fn unknown_operations_are_unsupported_not_lies() {
    let (num, mut block, i) = block_with_custom_json();
    block["transactions"][i]["operations"][0]["type"] = json!("smt_create_operation");
    let fault = verify_block_json(&block, num).expect_err("unknown op");
    assert!(fault.is_unsupported(), "{fault}");
    assert!(matches!(fault, BlockFault::UnsupportedOp { tx, .. } if tx == i));
}

#[test]
fn oversized_blocks_are_refused_before_work() {
    let (num, block) = mainnet()[0].clone();
    let mut big = block.clone();
    let tx = block["transactions"][0].clone();
    big["transactions"] = Value::Array(vec![tx; 10_001]);
    big["transaction_ids"] = Value::Array(vec![json!("00"); 10_001]);
    assert!(matches!(verify_block_json(&big, num), Err(BlockFault::BadShape(_))));
}

/// Rough speed of verification in this build (run with `--release` for the number that
/// matters): every 2025 block verified repeatedly.
#[test]
fn verification_speed() {
    let blocks = mainnet();
    let rounds = 50;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for (num, block) in blocks {
            assert_eq!(verify_block_json(block, *num), Ok(()));
        }
    }
    let per_block = start.elapsed() / (rounds * blocks.len() as u32);
    let txs: usize = blocks
        .iter()
        .map(|(_, b)| b["transactions"].as_array().map_or(0, Vec::len))
        .sum();
    eprintln!(
        "verify_block_json: {per_block:?} per block ({} transactions per block on average)",
        txs / blocks.len()
    );
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(m) => m.values().map(count).sum(),
        _ => 0,
    }
}

fn nth_mut<'a>(v: &'a mut Value, k: &mut usize) -> Option<&'a mut Value> {
    if *k == 0 {
        return Some(v);
    }
    *k -= 1;
    match v {
        Value::Array(a) => a.iter_mut().find_map(|x| nth_mut(x, k)),
        Value::Object(m) => m.values_mut().find_map(|x| nth_mut(x, k)),
        _ => None,
    }
}

fn mutate(v: &mut Value, kind: u8, n: i64, s: &str) {
    *v = match (kind % 12, &*v) {
        (0, _) => Value::Null,
        (1, _) => json!(n),
        (2, _) => json!(s),
        (3, _) => json!(u64::MAX),
        (4, _) => json!(-1.5),
        (5, Value::String(x)) => json!(x
            .chars()
            .take((n.unsigned_abs() as usize) % (x.len() + 1))
            .collect::<String>()),
        (6, Value::String(x)) => json!(format!("{x}{s}")),
        (7, Value::Array(a)) if !a.is_empty() => {
            let mut a = a.clone();
            a.remove(n.unsigned_abs() as usize % a.len());
            Value::Array(a)
        }
        (8, Value::Array(a)) if !a.is_empty() => {
            let mut a = a.clone();
            a.push(a[n.unsigned_abs() as usize % a.len()].clone());
            Value::Array(a)
        }
        (9, Value::Object(m)) => {
            let mut m = m.clone();
            if let Some(k) = m.keys().nth(n.unsigned_abs() as usize % (m.len() + 1)).cloned() {
                m.remove(&k);
            } else {
                m.insert(s.to_string(), json!(n));
            }
            Value::Object(m)
        }
        (10, _) => json!(format!("STM{}", s.repeat(40))),
        (11, _) => json!([s, n]),
        (_, other) => json!([other.clone(), other.clone()]),
    };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Mutated real blocks (any node replaced, truncated, duplicated, removed, retyped) give
    /// a fault or, rarely, still verify; they never panic.
    #[test]
    fn mutated_blocks_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<i64>(), "[a-zA-Z0-9@._ -]{0,12}"), 1..4),
        which in 0usize..4,
        num_delta in -2i64..3,
    ) {
        let (num, mut block) = mainnet()[which].clone();
        for (at, kind, n, s) in &edits {
            let mut k = at % count(&block);
            if let Some(node) = nth_mut(&mut block, &mut k) {
                mutate(node, *kind, *n, s);
            }
        }
        let _ = verify_block_json(&block, num.saturating_add_signed(num_delta));
    }

    /// Truncated block text that still parses is an error, never a panic.
    #[test]
    fn truncated_json_never_panics(cut in 0usize..20_000) {
        let text = mainnet()[1].1.to_string();
        let mut cut = cut.min(text.len());
        // The block text holds multi-byte characters (emoji in memos): cut at a boundary.
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Ok(v) = serde_json::from_str::<Value>(&text[..cut]) {
            let _ = verify_block_json(&v, 97_477_294);
        }
    }
}

#[test]
fn hostile_values_are_errors() {
    let (num, block) = mainnet()[0].clone();
    let mut b = block.clone();
    b["transactions"][0]["signatures"][0] = json!("zz".repeat(65));
    assert!(matches!(verify_block_json(&b, num), Err(BlockFault::BadShape(_))));
    let mut b = block.clone();
    b["transactions"][0]["ref_block_num"] = json!(70_000);
    assert!(matches!(verify_block_json(&b, num), Err(BlockFault::BadShape(_))));
    let mut b = block.clone();
    b["transactions"][0]["expiration"] = json!("2200-01-01T00:00:00");
    assert!(matches!(verify_block_json(&b, num), Err(BlockFault::BadShape(_))));
    let mut b = block.clone();
    b["transaction_ids"][0] = json!("87E2CE32069D5438BFADC65D5D0DABD2BBA74A21");
    assert!(matches!(verify_block_json(&b, num), Err(BlockFault::BadShape(_))));
    let mut b = block.clone();
    b["previous"] = json!("05cf62ab");
    assert!(matches!(verify_block_json(&b, num), Err(BlockFault::BadShape(_))));
    for v in [json!(null), json!([]), json!({}), json!("block"), json!(1)] {
        assert!(verify_block_json(&v, num).is_err());
    }
    assert!(verify_block_json(&block, 0).is_err());
    assert!(verify_block_json(&block, u64::MAX).is_err());
}
