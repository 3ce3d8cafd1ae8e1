use super::*;
use crate::test_utils::fixtures::{appbase_block_to_legacy as to_legacy, mainnet_fixture as fixture};
use serde_json::json;

fn ops(blocks: &[Block]) -> Vec<&HiveOp> {
    blocks
        .iter()
        .flat_map(|b| b.transactions.iter().flat_map(|t| t.operations.iter()))
        .collect()
}

#[test]
fn timestamps() {
    assert_eq!(parse_timestamp("1970-01-01T00:00:00"), Some(0));
    assert_eq!(parse_timestamp("2016-03-24T16:05:00"), Some(1_458_835_500));
    assert_eq!(parse_timestamp("2025-07-08T23:09:27Z"), Some(1_752_016_167));
    for bad in [
        "2016-03-24 16:05:00",
        "2016-13-01T00:00:00",
        "x",
        "2016-03-24T16:05:0a",
        "",
    ] {
        assert_eq!(parse_timestamp(bad), None, "{bad}");
    }
    for t in [0u64, 1_458_835_500, 1_752_016_167, 4_102_444_799] {
        assert_eq!(parse_timestamp(&format_timestamp(t)), Some(t));
    }
}

#[test]
fn mainnet_2025_blocks_decode_every_op() {
    let raw = fixture("mainnet-97477292-4blocks.json");
    let blocks: Vec<Block> = raw
        .as_array()
        .unwrap()
        .iter()
        .map(|e| decode_block(&e["block"], e["block_num"].as_u64()).unwrap())
        .collect();
    assert_eq!(
        blocks.iter().map(|b| b.num).collect::<Vec<_>>(),
        vec![97_477_292, 97_477_294, 97_477_296, 97_477_298]
    );
    assert_eq!(blocks.iter().map(|b| b.transactions.len()).sum::<usize>(), 60);
    let all = ops(&blocks);
    let raw_ops: usize = raw
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["block"]["transactions"].as_array().unwrap())
        .map(|t| t["operations"].as_array().unwrap().len())
        .sum();
    assert_eq!(all.len(), raw_ops, "every op decoded");
    let cj: Vec<&CustomJsonOp> = all
        .iter()
        .filter_map(|o| if let HiveOp::CustomJson(c) = o { Some(c) } else { None })
        .collect();
    assert_eq!(cj.len(), 33);
    assert!(cj
        .iter()
        .any(|c| c.id == "ssc-mainnet-hive" && c.required_auths == vec!["spshards".to_string()]));
    assert!(
        cj.iter().all(|c| serde_json::from_str::<Value>(&c.json).is_ok()),
        "json strings hold JSON"
    );
    // NAI amounts in untyped ops are normalised to legacy strings.
    assert!(all.iter().any(
        |o| matches!(o, HiveOp::Other { name, body } if name == "claim_reward_balance" && body.contains("VESTS"))
    ));
    // Transaction ids come from transaction_ids, in order.
    let first_ids = raw[0]["block"]["transaction_ids"].as_array().unwrap();
    for (tx, id) in blocks[0].transactions.iter().zip(first_ids) {
        assert_eq!(tx.txid, id.as_str().unwrap());
    }
    assert_eq!(blocks[0].timestamp, parse_timestamp("2025-07-08T23:09:27").unwrap());
}

#[test]
fn legacy_form_decodes_to_the_same_blocks() {
    let raw = fixture("mainnet-97477292-4blocks.json");
    for e in raw.as_array().unwrap() {
        let num = e["block_num"].as_u64();
        let appbase = decode_block(&e["block"], num).unwrap();
        let legacy = decode_block(&to_legacy(&e["block"]), num).unwrap();
        assert_eq!(appbase, legacy, "block {num:?}");
    }
}

#[test]
fn block_range_2016_links_and_empty_blocks() {
    let raw = fixture("get_block_range-1-1000.json");
    let blocks = decode_get_block_range(&raw).unwrap();
    assert_eq!(blocks.len(), 1000);
    for (i, b) in blocks.iter().enumerate() {
        assert_eq!(b.num, i as u64 + 1);
        if i > 0 {
            assert_eq!(b.previous, blocks[i - 1].id, "block {} links to its parent", b.num);
        }
    }
    assert_eq!(blocks[0].previous, "0000000000000000000000000000000000000000");
    // The recorded range is the chain's first 1000 blocks, all of them empty.
    assert!(blocks.iter().all(|b| b.transactions.is_empty()));
    assert_eq!(blocks[999].id, "000003e8b922f4906a45af8e99d86b3511acd7a5");
    assert_eq!(blocks[0].witness, "initminer");
}

#[test]
fn our_encoders_round_trip_real_blocks() {
    let raw = fixture("mainnet-97477292-4blocks.json");
    for e in raw.as_array().unwrap() {
        let b = decode_block(&e["block"], e["block_num"].as_u64()).unwrap();
        let mut with_id = b.clone();
        // The fixture's blocks carry no block_id; ours always do.
        with_id.id = format!("{:08x}{}", b.num, "0".repeat(32));
        assert_eq!(decode_block(&encode_block_appbase(&with_id), None).unwrap(), with_id);
        assert_eq!(decode_block(&encode_block_legacy(&with_id), None).unwrap(), with_id);
    }
}

#[test]
fn get_block_envelope_with_posting_follow_ops() {
    let raw = fixture("get_block-5771683.json");
    let block = decode_get_block(&raw["result"], 5_771_683).unwrap().unwrap();
    assert_eq!(block.num, 5_771_683);
    let follows: Vec<_> = ops(std::slice::from_ref(&block))
        .into_iter()
        .filter_map(|o| {
            if let HiveOp::CustomJson(c) = o {
                Some(c.clone())
            } else {
                None
            }
        })
        .filter(|c| c.id == "follow")
        .collect();
    assert_eq!(follows.len(), 18);
    assert!(follows
        .iter()
        .all(|c| c.required_auths.is_empty() && c.required_posting_auths.len() == 1));
    assert!(follows
        .iter()
        .all(|c| c.signer().map(|(_, a)| a) == Some(crate::hive::Auth::Posting)));
    assert_eq!(
        decode_get_block(&json!({}), 1).unwrap(),
        None,
        "{{}} means not produced yet"
    );
}

#[test]
fn bad_blocks_are_errors_naming_the_place() {
    let good = json!({"previous": "0000000000000000000000000000000000000000", "timestamp": "2016-03-24T16:05:00",
        "witness": "w", "transactions": [{"operations": [["transfer", {"from": "a", "to": "b", "amount": "1.000 HIVE", "memo": ""}]],
        "transaction_id": "ab"}], "block_id": "00000001aa"});
    assert!(decode_block(&good, None).is_ok());
    let cases = [
        ("/timestamp", json!("yesterday"), "timestamp"),
        ("/transactions", json!(5), "transactions"),
        ("/transactions/0/operations/0/1/amount", json!("1 HIVE"), "op 0"),
        ("/transactions/0/operations/0", json!(["transfer"]), "op 0"),
        (
            "/transactions/0/operations/0/1/amount",
            json!({"amount": "1", "precision": 3, "nai": "@@999"}),
            "NAI",
        ),
        ("/block_id", json!("zz"), "block_id"),
    ];
    for (ptr, val, needle) in cases {
        let mut b = good.clone();
        *b.pointer_mut(ptr).unwrap() = val;
        let e = decode_block(&b, None).unwrap_err();
        assert!(e.to_string().contains(needle), "{ptr}: {e}");
    }
    let mut no_id = good.clone();
    no_id["transactions"][0]
        .as_object_mut()
        .unwrap()
        .remove("transaction_id");
    assert!(decode_block(&no_id, None).unwrap_err().to_string().contains("no id"));
    assert!(decode_block(&json!([]), None).is_err());
    assert!(decode_get_block_range(&json!({"blocks": 3})).is_err());
}

/// A post's beneficiaries decode to the same op from either encoding: the appbase
/// `{type, value}` extension (a block fetched by range) and the legacy `[0, {...}]` pair (a
/// streamed block), where the reference sees only the second.
#[test]
fn comment_options_beneficiaries_decode_alike_in_both_forms() {
    let beneficiaries = json!({"beneficiaries": [{"account": "dlux-io", "weight": 1000}]});
    let body = |ext: Value| {
        json!({"author": "alice", "permlink": "p", "max_accepted_payout": "1000000.000 HBD",
               "percent_hbd": 10000, "allow_votes": true, "allow_curation_rewards": true,
               "extensions": [ext]})
    };
    let appbase = json!({"type": "comment_options_operation", "value": body(json!({"type": "comment_payout_beneficiaries", "value": beneficiaries}))});
    let legacy = json!(["comment_options", body(json!([0, beneficiaries]))]);
    let (a, l) = (decode_op(&appbase).unwrap(), decode_op(&legacy).unwrap());
    assert_eq!(a, l);
    let HiveOp::Other { name, body } = a else {
        panic!("an untyped op")
    };
    assert_eq!(name, "comment_options");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["extensions"][0][1]["beneficiaries"][0]["account"], "dlux-io");
    // An extension type opentoken does not know stays as it came.
    let odd = json!({"type": "comment_options_operation", "value": body.clone()});
    let mut odd = odd;
    odd["value"]["extensions"] = json!([{"type": "future_extension", "value": {}}]);
    let HiveOp::Other { body, .. } = decode_op(&odd).unwrap() else {
        panic!("untyped")
    };
    assert!(body.contains("future_extension"), "{body}");
}
