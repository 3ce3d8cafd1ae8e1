//! Seed corpora from real data: the recorded mainnet blocks, records the codec encodes from
//! a real engine run, and valid ops of every module.

use crate::engine::{self, Step};
use crate::repo_root;
use ed25519_dalek::{Signer, SigningKey};
use opentoken_codec::{MessageBatch, ModuleHash, Report};
use opentoken_core::test_utils::{devnet_spec, TestNet};
use opentoken_core::{BlockRecord, ChainPos, ChainSpec, Message, RoutedOp};
use opentoken_store::ModuleSnapshot;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = repo_root().join("tests/fixtures/hive").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// Every recorded block alone, as a one-block range and as a `get_block` result; every op of
/// them; the whole `get_block` JSON-RPC response.
pub fn hive_json() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let add_block = |b: &Value, out: &mut Vec<Vec<u8>>| {
        out.push(json(b));
        out.push(json(&serde_json::json!({ "blocks": [b] })));
        out.push(json(&serde_json::json!({ "block": b })));
        for tx in b.get("transactions").and_then(Value::as_array).into_iter().flatten() {
            for op in tx.get("operations").and_then(Value::as_array).into_iter().flatten() {
                out.push(json(op));
            }
        }
    };
    for item in fixture("mainnet-97477292-4blocks.json")
        .as_array()
        .into_iter()
        .flatten()
    {
        out.push(json(item));
        if let Some(b) = item.get("block") {
            add_block(b, &mut out);
        }
    }
    let range = fixture("get_block_range-1-1000.json");
    let blocks = range
        .get("blocks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, b) in blocks.iter().enumerate() {
        let busy = b
            .get("transactions")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty());
        if i < 5 || busy {
            add_block(b, &mut out);
        }
    }
    out.push(json(
        &serde_json::json!({ "blocks": blocks.iter().take(20).collect::<Vec<_>>() }),
    ));
    let envelope = fixture("get_block-5771683.json");
    if let Some(b) = envelope.pointer("/result/block") {
        add_block(b, &mut out);
    }
    out.push(json(&envelope));
    out.dedup();
    out
}

/// A node's ed25519 report key, derived from its name (as the nodes module's tests do).
fn node_key(account: &str) -> SigningKey {
    let mut seed = [0u8; 32];
    for (i, b) in account.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    seed[31] ^= 0x5a;
    SigningKey::from_bytes(&seed)
}

/// A valid `node_add` payload for `account` proven at `pop_block`.
fn node_add(spec: &ChainSpec, account: &str, pop_block: u64) -> String {
    let k = node_key(account);
    let domain = format!("https://{account}.example");
    let vk = *k.verifying_key().as_bytes();
    let bytes = opentoken_nodes::node_add_signing_bytes(
        &spec.hive_chain_id(),
        &spec.prefix,
        account,
        &domain,
        &vk,
        "",
        pop_block,
    );
    opentoken_nodes::node_add_json(&domain, &vk, pop_block, &k.sign(&bytes).to_bytes(), None)
}

/// Valid op sequences of every module (and a few rejected ones), one input each.
pub fn engine_inputs() -> Vec<String> {
    let spec = devnet_spec();
    let node_add_alice = node_add(&spec, "alice", 1);
    let node_add_bob = node_add(&spec, "bob", 1);
    vec![
        "aalice dlux_send {\"to\":\"bob\",\"amount\":100}\n-\nabob dlux_send {\"to\":\"carol\",\"amount\":5,\"memo\":\"hi\"}\n".into(),
        "aalice dlux_power_up {\"amount\":1000}\n-\naalice dlux_power_down {\"amount\":500}\n~40\n-\n~40\n".into(),
        "abob dlux_power_grant {\"to\":\"carol\",\"amount\":10}\n-\nabob dlux_power_grant {\"to\":\"carol\",\"amount\":0}\n".into(),
        "adlux-io dlux_gov_up {\"amount\":10}\n-\nadlux-io dlux_gov_down {\"amount\":5}\n~50\n".into(),
        "aalice dlux_claim {}\n-\naalice dlux_claim {\"gov\":true}\n-\nacarol dlux_claim {}\n".into(),
        "palice dlux_sign {\"message\":\"hello\"}\n-\npbob dlux_sign {\"message\":\"\"}\n".into(),
        "D frank dlux-io 2000.000000 VESTS\n-\n~20\nD frank dlux-io 0.000000 VESTS\n".into(),
        format!("aalice dlux_node_add {node_add_alice}\n-\nabob dlux_node_add {node_add_bob}\n~120\naalice dlux_node_delete {{}}\n"),
        "aalice dlux_report {\"block\":100,\"hash\":\"00\",\"version\":\"x\",\"sig\":\"00\"}\n".into(),
        "palice dlux_send {\"to\":\"bob\",\"amount\":1}\nnalice dlux_send {}\nbalice,bob dlux_send {\"to\":\"bob\",\"amount\":1}\naalice dlux_nothing {}\naalice dlux_send [1]\n".into(),
        "aalice dlux_send {\"to\":\"bob\",\"amount\":9000000000000}\naalice dlux_send {\"to\":\"alice\",\"amount\":1}\naalice dlux_send {\"to\":\"Not-An-Account\",\"amount\":1}\n".into(),        pob_input(),
    ]
}

/// A Proof of Brain post's life: a qualifying comment and its options, votes up and down by
/// stakers and by an account without stake, a vote on an unknown post, a post that never
/// gets options, and the blocks to its payout.
fn pob_input() -> String {
    let comment = |permlink: &str| {
        let meta = serde_json::json!({"arHash": "Qm"}).to_string();
        format!(
            "H comment {}",
            serde_json::json!({"parent_author": "", "parent_permlink": "dlux", "author": "alice",
                "permlink": permlink, "title": "t", "body": "b", "json_metadata": meta})
        )
    };
    let options = format!(
        "H comment_options {}",
        serde_json::json!({"author": "alice", "permlink": "p1", "max_accepted_payout": "1000000.000 HBD",
            "percent_hbd": 10000, "allow_votes": true, "allow_curation_rewards": true,
            "extensions": [[0, {"beneficiaries": [{"account": "dlux-io", "weight": 1000}]}]]})
    );
    let vote = |voter: &str, permlink: &str, weight: i64| {
        format!(
            "H vote {}",
            serde_json::json!({"voter": voter, "author": "alice", "permlink": permlink, "weight": weight})
        )
    };
    [
        comment("p1"),
        options,
        comment("p2"),
        "-".into(),
        vote("alice", "p1", 10_000),
        vote("bob", "p1", -5_000),
        vote("erin", "p1", 10_000),
        vote("bob", "nothing", 10_000),
        "~70".into(),
        vote("alice", "p1", 10_000),
        "-".into(),
    ]
    .join("\n")
}

/// Every Avro record kind, encoded from a real engine run over [`engine_inputs`] (its
/// events, statuses and checkpoints, the blocks it read, a report and message batches), and
/// every module event's bytes alone.
pub fn avro_records() -> Vec<Vec<u8>> {
    let spec = engine::spec().clone();
    let modules = engine::modules(&spec);
    let mut out = Vec::new();
    for input in engine_inputs() {
        let mut net = TestNet::new(spec.clone(), modules.clone());
        for step in engine::parse(input.as_bytes()) {
            let Step::Block(ops) = step else { continue };
            let block = net.next_block();
            let routed: Vec<RoutedOp> = ops
                .iter()
                .enumerate()
                .map(|(i, op)| RoutedOp {
                    pos: ChainPos::new(block, i as u32, 0),
                    txid: TestNet::txid(block, i),
                    op: op.clone(),
                })
                .collect();
            out.push(opentoken_codec::encode_block_record(&BlockRecord {
                block_num: block,
                last_block: block,
                block_id: format!("{block:040x}"),
                timestamp: 1_700_000_000 + block * 3,
                ops: routed,
            }));
            let result = net.run_modules(vec![(opentoken_token::NAME, ops.clone())]);
            for e in result.out.events.iter().take(4) {
                out.push(e.data.clone());
                out.push(opentoken_codec::encode_event_record(e));
            }
            for s in result.statuses().iter().take(4) {
                out.push(opentoken_codec::encode_op_status(s));
            }
            for c in &result.out.checkpoints {
                out.push(opentoken_codec::encode_module_checkpoint(c));
            }
        }
    }
    let message = Message {
        from: "token".into(),
        to: "nodes".into(),
        pos: ChainPos::new(7, 1, 0),
        seq: 0,
        kind: "Stake".into(),
        payload: "{\"account\":\"alice\",\"amount\":5}".into(),
    };
    out.push(opentoken_codec::encode_message(&message));
    out.push(opentoken_codec::encode_message_batch(&MessageBatch {
        from: "token".into(),
        to: "nodes".into(),
        through_block: 7,
        quiet_through: 9,
        messages: vec![message.clone(), message],
    }));
    out.push(opentoken_codec::encode_report(&Report {
        community: "devnet".into(),
        block: 100,
        consensus_hash: [1; 32],
        module_hashes: vec![
            ModuleHash {
                module: "token".into(),
                hash: [2; 32],
            },
            ModuleHash {
                module: "nodes".into(),
                hash: [3; 32],
            },
        ],
        node: "alice".into(),
        version: "opentoken/fuzz".into(),
        public_key: [4; 32],
        signature: [5; 64],
    }));
    // NFT events (the engine inputs above run no NFT module).
    {
        use opentoken_core::ModuleEvent;
        use opentoken_nft::protocol::Currency;
        use opentoken_nft::NftEvent;
        for e in [
            NftEvent::FtMoved {
                set: "cards".into(),
                from: "alice".into(),
                to: "bob".into(),
                qty: 3,
            },
            NftEvent::Refunded {
                account: "bob".into(),
                amount: 1500,
                currency: Currency::Hbd,
                op: "NFTbid cards:0A".into(),
                why: "a bid on ah/cards:0A must be above 2000, got 1500".into(),
            },
            NftEvent::PfpSet {
                account: "carol".into(),
                set: "cards".into(),
                uid: "0A".into(),
            },
        ] {
            if let Ok(bytes) = e.encode() {
                out.push(bytes);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Snapshots of real states (each module after genesis) and the blobs of the ScyllaDB
/// backend in their documented layout, each behind the tag byte the `store_bytes` target
/// reads first.
pub fn store_bytes() -> Vec<Vec<u8>> {
    let spec = devnet_spec();
    let net = TestNet::new(spec.clone(), engine::modules(&spec));
    let mut out = Vec::new();
    for module in [opentoken_token::NAME, opentoken_nodes::NAME] {
        let pairs = net
            .state(module)
            .to_map()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .take(16)
            .collect();
        let snap = ModuleSnapshot { pairs, outbox: vec![] };
        out.push([vec![0], opentoken_store::encode_snapshot(&snap)].concat());
    }
    let len = |b: &[u8]| (b.len() as u32).to_be_bytes().to_vec();
    let changes = [
        vec![1],
        len(b"bal/alice"),
        b"bal/alice".to_vec(),
        vec![1],
        len(b"5"),
        b"5".to_vec(),
        len(b"bal/bob"),
        b"bal/bob".to_vec(),
        vec![0],
    ]
    .concat();
    out.push([vec![1], changes].concat());
    let message = opentoken_codec::encode_message(&Message {
        from: "nodes".into(),
        to: "token".into(),
        pos: ChainPos::new(3, 0, 0),
        seq: 1,
        kind: "Reward".into(),
        payload: "{}".into(),
    });
    out.push([vec![2], len(&message), message].concat());
    out
}

/// Legacy assets, account names and timestamps as Hive writes them.
pub fn asset_account() -> Vec<Vec<u8>> {
    [
        "1.000 HIVE",
        "0.001 HBD",
        "123456.000000 VESTS",
        "-5.000 HIVE",
        "9223372036854.775807 HIVE",
        "dlux-io",
        "alice.bob",
        "a12",
        "2016-03-24T16:05:00",
        "2025-07-08T23:09:27",
        "{\"amount\":\"1000\",\"precision\":3,\"nai\":\"@@000000021\"}",
        "{\"amount\":5,\"precision\":6,\"nai\":\"@@000000037\"}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}
