//! The reference's node routes over a committed nodes state, read through the router:
//! `/runners`, `/queue`, `/markets`, `/api/mirrors`, `/report/{account}`, and
//! `/api/protocol`'s `consensus`. The state has a runner that agreed with the last final
//! checkpoint, a node that agreed with an older one, a deleted node, and an open tally one
//! node has voted in.

use axum::http::StatusCode;
use opentoken_core::test_utils::test_spec;
use opentoken_core::{ModuleState, StateWrite};
use opentoken_nodes::{NodeRecord, NodesStats, Stake, Tally};
use serde_json::json;

mod common;
use common::{get, serve};

fn record(domain: &str, last_good: u64, active: bool) -> NodeRecord {
    NodeRecord {
        domain: domain.into(),
        bid_rate: 500,
        dm: 10_000,
        ds: 0,
        dv: 1_500,
        liquidity: 100,
        report_key: "ab".repeat(32),
        mskey: None,
        active,
        attempts: 4,
        yays: 3,
        wins: 2,
        strikes: 1,
        last_good,
        registered_at: 7,
    }
}

fn key(prefix: &str, block: u64, rest: &str) -> Vec<u8> {
    format!("{prefix}{block:020}{rest}").into_bytes()
}

fn state() -> ModuleState {
    let mut s = ModuleState::new();
    let put_json = |s: &mut ModuleState, k: Vec<u8>, v: serde_json::Value| s.put(k, serde_json::to_vec(&v).unwrap());
    for (name, r) in [
        ("alice", record("https://alice.example", 300, true)),
        ("bob", record("https://bob.example", 200, true)),
        ("carol", record("https://carol.example", 300, false)),
    ] {
        s.put(format!("node/{name}").into_bytes(), serde_json::to_vec(&r).unwrap());
    }
    s.put(b"gov/alice".to_vec(), 5_000u64.to_be_bytes().to_vec());
    s.put(b"gov/bob".to_vec(), 700u64.to_be_bytes().to_vec());
    put_json(&mut s, b"runners".to_vec(), json!(["alice"]));
    let stats = NodesStats {
        chaos: 0,
        last_final: Some(300),
    };
    s.put(b"stats".to_vec(), serde_json::to_vec(&stats).unwrap());
    s.put(key("final/", 200, ""), vec![2u8; 32]);
    s.put(key("final/", 300, ""), vec![3u8; 32]);
    let tally = Tally {
        block: 400,
        runners: vec![Stake {
            account: "alice".into(),
            stake: 5_000,
        }],
        total: 5_000,
        votes: Default::default(),
        final_hash: None,
        final_block: None,
    };
    s.put(key("tally/", 400, ""), serde_json::to_vec(&tally).unwrap());
    s.put(key("vote/", 400, "/alice"), vec![4u8; 32]);
    s
}

fn spec() -> opentoken_core::ChainSpec {
    test_spec().with_module("nodes", json!({}))
}

#[tokio::test]
async fn the_reference_node_routes_show_the_runners_the_queue_and_every_node() {
    let (_dir, api) = serve("nodes", &state(), 450, spec());

    let (code, body) = get(&api, "/runners").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let alice = json!({"account": "alice", "api": "https://alice.example", "g": 5_000, "l": 100});
    assert_eq!(body["result"], json!([alice]));
    assert_eq!(body["runners"], json!({"alice": alice}));
    assert_eq!(body["latest"], json!([{"api": "https://alice.example"}]));
    assert_eq!(body["node"], "node1", "the envelope: {body}");

    // The queue: active nodes that agreed with the last final checkpoint (300): alice, not
    // bob (agreed with 200), not carol (deleted).
    let (code, body) = get(&api, "/queue").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body["queue"],
        json!({"alice": {"api": "https://alice.example", "g": 5_000, "l": 100}})
    );
    let (_, body) = get(&api, "/api/mirrors").await;
    assert_eq!(
        body["apis"],
        json!([{"api_url": "https://alice.example", "node": "alice"}])
    );

    let (code, body) = get(&api, "/markets").await;
    assert_eq!(code, StatusCode::OK);
    let nodes = body["markets"]["node"].as_object().expect("markets.node");
    assert_eq!(nodes.len(), 3, "every node record: {body}");
    let a = &nodes["alice"];
    assert_eq!(a["domain"], "https://alice.example");
    assert_eq!(a["self"], "alice");
    assert_eq!(a["bidRate"], 500);
    assert_eq!(a["lastGood"], 300);
    assert_eq!(a["g"], 5_000);
    assert_eq!(a["report"], json!({"block": 400, "hash": hex::encode([4u8; 32])}));
    assert_eq!(
        nodes["bob"]["report"],
        json!({"block": 200, "hash": hex::encode([2u8; 32]), "final": true})
    );
    assert_eq!(nodes["carol"]["active"], false);
    assert!(body["stats"].is_object(), "{body}");

    let (code, body) = get(&api, "/report/bob").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["bob"]["block"], 200);
    let (code, body) = get(&api, "/report/nobody").await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    let (code, _) = get(&api, "/report/NOT..valid").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn without_a_nodes_module_the_node_routes_say_so() {
    let (_dir, api) = serve("token", &ModuleState::new(), 10, test_spec());
    for uri in ["/runners", "/queue", "/markets", "/api/mirrors", "/report/alice"] {
        let (code, body) = get(&api, uri).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{uri}");
        assert!(
            body["error"].as_str().unwrap().contains("no nodes module"),
            "{uri}: {body}"
        );
    }
}
