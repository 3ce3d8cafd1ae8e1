//! `HiveClient::get_verified_range` against API nodes that lie (simulators with a tamper
//! mode), that send too much, and that disagree: nothing a liar served is returned.

use opentoken_core::HiveOp;
use opentoken_hive::{
    generate_blocks, ClientConfig, HiveClient, HiveError, SimConfig, SimHandle, Simulator, Tamper, TamperMode,
    TrafficConfig,
};
use std::time::Duration;

fn cfg(tamper: Option<TamperMode>) -> SimConfig {
    SimConfig {
        seed: 77,
        first_block: 1,
        block_interval: Duration::from_secs(1000),
        prefill_blocks: 60,
        irreversible_lag: 0,
        traffic: TrafficConfig {
            prefix: "dlux_".into(),
            accounts: ["alice", "bob", "carol"].iter().map(|s| s.to_string()).collect(),
            nodes: vec!["alice".into()],
            delegation_account: "dlux-io".into(),
            ops_per_block: (1, 5),
            invalid_per_mille: 100,
            msaccount: None,
            dex: None,
            nft: None,
            pob: None,
        },
        genesis: Default::default(),
        tamper: tamper.map(|mode| Tamper {
            mode,
            from: 20,
            every: 7,
            to: "mallory".into(),
            amount: 1,
        }),
    }
}

async fn sim(tamper: Option<TamperMode>) -> SimHandle {
    Simulator::start(cfg(tamper), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn client(nodes: Vec<String>) -> HiveClient {
    HiveClient::new(nodes).unwrap()
}

fn mentions_mallory(blocks: &[opentoken_core::Block]) -> bool {
    blocks
        .iter()
        .flat_map(|b| &b.transactions)
        .flat_map(|t| &t.operations)
        .any(|op| match op {
            HiveOp::CustomJson(c) => c.json.contains("mallory"),
            _ => false,
        })
}

#[tokio::test]
async fn an_honest_node_serves_the_generated_chain_verified() {
    let honest = sim(None).await;
    let range = client(vec![honest.url()])
        .get_verified_range(1, 60, None)
        .await
        .unwrap();
    assert_eq!(range.blocks, generate_blocks(&cfg(None), 1..=60).unwrap());
    assert!(range.refused.is_empty() && range.dissenters.is_empty());
}

#[tokio::test]
async fn the_liars_really_lie() {
    // Read without verification, both liars serve mallory's transfer: the tests below
    // therefore test something.
    for mode in [TamperMode::Insert, TamperMode::Forge] {
        let liar = sim(Some(mode)).await;
        let raw = client(vec![liar.url()]).get_block_range(1, 60).await.unwrap();
        assert!(mentions_mallory(&raw), "{mode:?} serves no lie");
    }
}

#[tokio::test]
async fn an_inserted_transaction_is_refused_and_the_range_ends_before_it() {
    let liar = sim(Some(TamperMode::Insert)).await;
    let c = client(vec![liar.url()]);
    let range = c.get_verified_range(1, 60, None).await.unwrap();
    assert_eq!(range.blocks.len(), 20, "blocks 1..=20 verify, 21 carries the lie");
    assert!(!mentions_mallory(&range.blocks));
    assert!(range.refused[0].1.contains("21"), "{:?}", range.refused);
    // Asked from the lie on, the only node has nothing that verifies.
    let anchor = (20, range.blocks[19].id.clone());
    let err = c.get_verified_range(21, 40, Some(&anchor)).await.unwrap_err();
    assert!(matches!(err, HiveError::Unverified { start: 21, .. }), "{err}");
}

#[tokio::test]
async fn a_liar_among_honest_nodes_is_outvoted_or_skipped() {
    for mode in [TamperMode::Insert, TamperMode::Forge] {
        let liar = sim(Some(mode)).await;
        let (a, b) = (sim(None).await, sim(None).await);
        let c = client(vec![liar.url(), a.url(), b.url()]);
        let mut blocks = Vec::new();
        let mut anchor: Option<(u64, String)> = None;
        while blocks.len() < 60 {
            let next = blocks.len() as u64 + 1;
            let range = c.get_verified_range(next, 60, anchor.as_ref()).await.unwrap();
            let last = range.blocks.last().unwrap();
            anchor = Some((last.num, last.id.clone()));
            blocks.extend(range.blocks);
        }
        assert_eq!(blocks, generate_blocks(&cfg(None), 1..=60).unwrap(), "{mode:?}");
    }
}

#[tokio::test]
async fn a_forger_and_one_honest_node_cannot_be_told_apart_so_nothing_is_used() {
    let forger = sim(Some(TamperMode::Forge)).await;
    let honest = sim(None).await;
    for nodes in [vec![forger.url(), honest.url()], vec![honest.url(), forger.url()]] {
        let err = client(nodes).get_verified_range(1, 60, None).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("name another id"), "{text}");
    }
    // Below the first forged block they agree.
    let range = client(vec![forger.url(), honest.url()])
        .get_verified_range(1, 20, None)
        .await
        .unwrap();
    assert_eq!(range.blocks.len(), 20);
}

#[tokio::test]
async fn a_range_that_does_not_link_to_the_anchor_is_refused() {
    let honest = sim(None).await;
    let c = client(vec![honest.url()]);
    let anchor = (9, "00000009".to_string() + &"ee".repeat(16));
    let err = c.get_verified_range(10, 5, Some(&anchor)).await.unwrap_err();
    assert!(err.to_string().contains("names previous"), "{err}");
}

/// A node that answers every request with an endless chunked body (raw HTTP/1.1).
async fn flooding_node() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 << 10];
                let _ = sock.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut chunk = format!("{:x}\r\n", 1 << 20).into_bytes();
                chunk.extend(std::iter::repeat_n(b' ', 1 << 20));
                chunk.extend_from_slice(b"\r\n");
                while sock.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    url
}

#[tokio::test]
async fn an_endless_answer_is_cut_at_the_limit_and_asks_for_less() {
    let flood = flooding_node().await;
    let c = HiveClient::with_config(
        vec![flood],
        ClientConfig {
            attempts: 1,
            max_body: 4 << 20,
            ..ClientConfig::default()
        },
    )
    .unwrap();
    let err = c.get_verified_range(1, 1000, None).await.unwrap_err();
    assert!(err.is_heavy(), "{err}");
    assert!(err.to_string().contains("larger than"), "{err}");
}
