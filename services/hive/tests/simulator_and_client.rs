//! The client against the simulator over real HTTP, and failover past broken nodes.

use axum::routing::post;
use axum::Router;
use opentoken_core::{HiveOp, Transaction};
use opentoken_hive::{
    devnet_key, generate_blocks, ClientConfig, HiveClient, HiveError, KeyRole, SimConfig, Simulator, TrafficConfig,
};
use opentoken_hive_tx::MAINNET_CHAIN_ID;
use serde_json::json;
use std::time::Duration;

fn cfg(seed: u64, prefill: u64, interval_ms: u64) -> SimConfig {
    SimConfig {
        seed,
        first_block: 1,
        block_interval: Duration::from_millis(interval_ms),
        prefill_blocks: prefill,
        irreversible_lag: 2,
        traffic: TrafficConfig {
            prefix: "dlux_".into(),
            accounts: ["alice", "bob", "carol", "dave"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            nodes: vec!["alice".into()],
            delegation_account: "dlux-io".into(),
            ops_per_block: (2, 6),
            invalid_per_mille: 200,
            msaccount: None,
            dex: None,
            nft: None,
            pob: None,
        },
        genesis: Default::default(),
        tamper: None,
    }
}

fn all_ops(b: &opentoken_core::Block) -> Vec<&HiveOp> {
    b.transactions.iter().flat_map(|t| &t.operations).collect()
}

#[test]
fn generated_chain_is_deterministic_linked_and_mixed() {
    let a = generate_blocks(&cfg(1, 0, 1), 1..=300).unwrap();
    let b = generate_blocks(&cfg(1, 0, 1), 1..=300).unwrap();
    let c = generate_blocks(&cfg(2, 0, 1), 1..=300).unwrap();
    assert_eq!(a, b, "same seed, same chain");
    assert_ne!(a, c, "another seed, another chain");
    for w in a.windows(2) {
        assert_eq!(w[1].previous, w[0].id);
        assert_eq!(w[1].timestamp, w[0].timestamp + 3);
    }
    let ops: Vec<&HiveOp> = a.iter().flat_map(all_ops).collect();
    let ids: std::collections::BTreeSet<String> = ops
        .iter()
        .filter_map(|o| {
            if let HiveOp::CustomJson(c) = o {
                Some(c.id.clone())
            } else {
                None
            }
        })
        .collect();
    for expected in [
        "dlux_send",
        "dlux_power_up",
        "dlux_power_down",
        "dlux_power_grant",
        "dlux_gov_up",
        "dlux_claim",
        "dlux_frobnicate",
        "sm_sps",
    ] {
        assert!(ids.contains(expected), "{expected} missing from {ids:?}");
    }
    assert!(ops.iter().any(|o| matches!(o, HiveOp::DelegateVestingShares(_))));
    assert!(ops.iter().any(
        |o| matches!(o, HiveOp::CustomJson(c) if !c.required_posting_auths.is_empty() && c.id.starts_with("dlux_"))
    ));
    assert!(ops
        .iter()
        .any(|o| matches!(o, HiveOp::CustomJson(c) if c.json.len() > 8192)));
}

#[tokio::test]
async fn client_reads_the_simulator_and_broadcasts_land_in_the_next_block() {
    let sim = Simulator::start(cfg(3, 20, 50), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = HiveClient::new(vec![sim.url()]).unwrap();
    let p = client.dynamic_global_properties().await.unwrap();
    assert!(p.head_block_number >= 20);
    assert_eq!(p.last_irreversible_block_num, p.head_block_number - 2);
    let range = client.get_block_range(1, 1000).await.unwrap();
    assert!(range.len() as u64 >= 20 && range.len() as u64 <= p.head_block_number + 5);
    let generated = generate_blocks(&cfg(3, 20, 50), 1..=range.len() as u64).unwrap();
    for (b, g) in range.iter().zip(&generated) {
        assert_eq!(b, g, "served block equals the generator's");
    }
    assert_eq!(client.get_block(5).await.unwrap().unwrap().num, 5);
    assert_eq!(client.get_block(1_000_000).await.unwrap(), None, "not produced yet");
    let err = client.get_block_range(0, 10).await.unwrap_err();
    assert!(matches!(err, HiveError::Rpc { code: -32003, .. }), "{err}");

    // A transaction signed like a wallet would: TaPoS from the head block, the active key.
    let head = client.get_block(sim.head()).await.unwrap().unwrap();
    let report = |json: &str, auths: (&[&str], &[&str]), exp: u64| {
        opentoken_hive_tx::Transaction::with_reference(
            head.num,
            &head.id,
            exp as u32,
            vec![opentoken_hive_tx::Operation::CustomJson {
                required_auths: auths.0.iter().map(|s| s.to_string()).collect(),
                required_posting_auths: auths.1.iter().map(|s| s.to_string()).collect(),
                id: "dlux_report".into(),
                json: json.into(),
            }],
        )
        .unwrap()
    };
    let alice_active = devnet_key("alice", KeyRole::Active);
    let unsigned = report("{\"block\":100}", (&["alice"], &[]), head.timestamp + 3000);
    let signed = unsigned.sign(&MAINNET_CHAIN_ID, &[&alice_active]);
    let tx = signed.to_condenser_json();
    // What a Hive node refuses, the simulator refuses, naming why.
    let refused = |t: opentoken_hive_tx::SignedTransaction, why: &'static str| {
        let client = &client;
        async move {
            match client.broadcast_transaction(&t.to_condenser_json()).await {
                Err(HiveError::Rpc {
                    code: -32000, message, ..
                }) => {
                    assert!(message.contains(why), "{message:?} does not say {why:?}")
                }
                other => panic!("expected a refusal ({why}), got {other:?}"),
            }
        }
    };
    refused(
        unsigned.sign(&MAINNET_CHAIN_ID, &[]),
        "missing required active authority:Missing Active Authority alice",
    )
    .await;
    refused(
        unsigned.sign(&MAINNET_CHAIN_ID, &[&devnet_key("bob", KeyRole::Active)]),
        "missing required active authority:Missing Active Authority alice",
    )
    .await;
    refused(
        unsigned.sign(&MAINNET_CHAIN_ID, &[&devnet_key("alice", KeyRole::Posting)]),
        "missing required active authority:Missing Active Authority alice",
    )
    .await;
    refused(
        unsigned.sign(&[0u8; 32], &[&alice_active]),
        "missing required active authority:Missing Active Authority alice",
    )
    .await;
    refused(
        report("{}", (&["alice"], &[]), head.timestamp).sign(&MAINNET_CHAIN_ID, &[&alice_active]),
        "expiration",
    )
    .await;
    refused(
        report("{}", (&["alice"], &[]), head.timestamp + 4000).sign(&MAINNET_CHAIN_ID, &[&alice_active]),
        "expiration",
    )
    .await;
    let mut wrong_tapos = report("{}", (&["alice"], &[]), head.timestamp + 3000);
    wrong_tapos.ref_block_prefix ^= 1;
    refused(wrong_tapos.sign(&MAINNET_CHAIN_ID, &[&alice_active]), "tapos").await;
    refused(
        unsigned.sign(&MAINNET_CHAIN_ID, &[&alice_active, &alice_active]),
        "Duplicate signature detected",
    )
    .await;
    // Posting authority is satisfied by the posting or the active key.
    let posting = report("{\"p\":1}", (&[], &["carol"]), head.timestamp + 3000);
    for key in [
        devnet_key("carol", KeyRole::Posting),
        devnet_key("carol", KeyRole::Active),
    ] {
        let mut t = posting.clone();
        t.expiration += u32::from(key.public().as_bytes()[1]); // a distinct transaction per key
        client
            .broadcast_transaction(&t.sign(&MAINNET_CHAIN_ID, &[&key]).to_condenser_json())
            .await
            .expect("posting authority");
    }
    let before = sim.head();
    let id = client.broadcast_transaction(&tx).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut found = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Some(b) = client.get_block(before + 1).await.unwrap() {
            found = b
                .transactions
                .iter()
                .find(|t: &&Transaction| t.txid == id)
                .cloned()
                .map(|t| (b.num, t));
            break;
        }
    }
    let (num, t) = found.expect("broadcast included");
    assert_eq!(
        id,
        unsigned.id(opentoken_hive_tx::Packing::Legacy),
        "the real Hive transaction id"
    );
    refused(signed.clone(), "Duplicate transaction").await;
    assert_eq!(num, before + 1);
    // The block holding broadcast transactions (real signatures, their TaPoS) verifies as
    // mainnet blocks do: ids, merkle root and block id recomputed from what is served.
    let verified = client.get_verified_range(1, num as u32, None).await.unwrap();
    assert_eq!(verified.blocks.last().map(|b| b.num), Some(num));
    assert!(verified
        .blocks
        .last()
        .unwrap()
        .transactions
        .iter()
        .any(|t| t.txid == id));
    assert!(matches!(&t.operations[0], HiveOp::CustomJson(c) if c.id == "dlux_report"));
    let bad = json!({"operations": [["custom_json", {"id": 5}]]});
    assert!(matches!(
        client.broadcast_transaction(&bad).await,
        Err(HiveError::Rpc { code: -32602, .. })
    ));
    sim.shutdown().await;
}

/// A node that always fails in one way.
async fn broken(kind: &'static str) -> String {
    let app = Router::new().route(
        "/",
        post(move || async move {
            match kind {
                "500" => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "oops".to_string()),
                "html" => (axum::http::StatusCode::OK, "<html>rate limited</html>".to_string()),
                "slow" => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    (axum::http::StatusCode::OK, "{}".to_string())
                }
                _ => (
                    axum::http::StatusCode::OK,
                    json!({"jsonrpc": "2.0", "error": {"code": -32603, "message": "internal"}, "id": 1}).to_string(),
                ),
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    url
}

#[tokio::test]
async fn fails_over_past_broken_nodes_and_remembers_the_good_one() {
    let sim = Simulator::start(cfg(4, 10, 1000), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let nodes = vec![
        broken("500").await,
        broken("html").await,
        broken("slow").await,
        broken("rpc").await,
        sim.url(),
    ];
    let client = HiveClient::with_config(
        nodes.clone(),
        ClientConfig {
            timeout: Duration::from_millis(300),
            attempts: 6,
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            ..ClientConfig::default()
        },
    )
    .unwrap();
    let p = client.dynamic_global_properties().await.unwrap();
    assert!(p.head_block_number >= 10);
    // The good node is now preferred: the next call is fast (no timeout on the slow node).
    let t = std::time::Instant::now();
    client.get_block_range(1, 5).await.unwrap();
    assert!(t.elapsed() < Duration::from_millis(250), "preferred node used first");

    // Only broken nodes: a clear error naming a node and the method.
    let dead = HiveClient::with_config(
        nodes[..2].to_vec(),
        ClientConfig {
            timeout: Duration::from_millis(300),
            attempts: 4,
            backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(10),
            ..ClientConfig::default()
        },
    )
    .unwrap();
    let err = dead.get_block_range(1, 5).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HiveError::Exhausted { attempts: 4, .. }), "{text}");
    assert!(
        text.contains("block_api.get_block_range") && text.contains("127.0.0.1"),
        "{text}"
    );
    assert!(matches!(HiveClient::new(vec![]), Err(HiveError::NoNodes)));
}
