//! The shell's own logic: the registration it broadcasts (checked by the nodes module
//! itself), what Hive's answers mean for the multi-sig duty, and when the duty runs.

use super::*;
use opentoken_core::test_utils::{test_spec, ModuleHarness, TEST_PREFIX};
use opentoken_nodes::{views, NodesModule};
use serde_json::{json, Value};

const DOMAIN: &str = "https://alice.example";

fn nodes_harness() -> ModuleHarness<NodesModule> {
    let spec = test_spec().with_module(
        "nodes",
        json!({"report_window": 5, "pop_max_age": 20, "min_runners": 2, "max_runners": 4,
               "genesis": {"runners": ["alice", "bob", "carol"]}}),
    );
    let module = NodesModule::from_spec(&spec).unwrap();
    ModuleHarness::new(module, spec)
}

fn payload(t: &ModuleHarness<NodesModule>, account: &str, ms_key: Option<&PrivateKey>) -> Value {
    let chain_id = t.spec.hive_chain_id();
    let r = Registration {
        chain_id: &chain_id,
        prefix: TEST_PREFIX,
        account,
        domain: DOMAIN,
        pop_block: 5,
    };
    serde_json::from_str(&node_add_payload(&r, &NodeKey::from_seed([4; 32]), ms_key)).unwrap()
}

fn ms_key(seed: u8) -> PrivateKey {
    PrivateKey::from_secret([seed; 32]).unwrap()
}

#[test]
fn the_nodes_module_registers_the_multisig_key_the_agent_sends() {
    let mut t = nodes_harness();
    let ms = ms_key(7);
    let p = payload(&t, "alice", Some(&ms));
    assert_eq!(p["mskey"], ms.public().to_string());
    assert_eq!(p["mskey_pop"].as_str().map(str::len), Some(130));
    t.run(10, "alice", "node_add", p);
    let record = views::node(&t.state, "alice").unwrap();
    assert_eq!(record.mskey, Some(ms.public().to_string()));
    assert_eq!(
        record.report_key,
        hex::encode(NodeKey::from_seed([4; 32]).public().to_bytes())
    );
    // What the agent then compares against: current with the key, stale without it.
    let identity = |mskey: Option<String>| Identity {
        domain: DOMAIN.into(),
        report_key: record.report_key.clone(),
        mskey,
    };
    assert!(identity(Some(ms.public().to_string())).is_current(Some(&record)));
    assert!(!identity(None).is_current(Some(&record)));
}

#[test]
fn without_a_multisig_key_the_registration_carries_none_and_is_accepted() {
    let mut t = nodes_harness();
    let p = payload(&t, "alice", None);
    assert!(p.get("mskey").is_none() && p.get("mskey_pop").is_none(), "{p}");
    t.run(10, "alice", "node_add", p);
    assert_eq!(views::node(&t.state, "alice").unwrap().mskey, None);
}

#[test]
fn a_registration_made_for_another_account_is_refused() {
    // The proofs bind the account: alice's payload broadcast by bob does not register.
    let t = nodes_harness();
    let p = payload(&t, "alice", Some(&ms_key(7)));
    let refused = t.handle(10, "bob", "node_add", p).unwrap_err();
    assert!(format!("{refused:?}").contains("report_pop"), "{refused:?}");
}

#[test]
fn hive_answers_map_to_the_duty_outcomes() {
    let rpc = |message: &str| HiveError::Rpc {
        node: "http://hive".into(),
        method: "condenser_api.broadcast_transaction".into(),
        code: -32000,
        message: message.into(),
    };
    assert_eq!(assembled_outcome(&Ok(json!({}))), AssembledOutcome::Accepted);
    assert_eq!(
        assembled_outcome(&Err(rpc("Duplicate transaction check failed"))),
        AssembledOutcome::Duplicate
    );
    assert_eq!(
        assembled_outcome(&Err(rpc("Assert Exception: now < trx.expiration: ..."))),
        AssembledOutcome::Expired
    );
    let down = HiveError::Exhausted {
        method: "condenser_api.broadcast_transaction".into(),
        attempts: 3,
        node: "http://hive".into(),
        last: "connection refused".into(),
        heavy: false,
    };
    assert!(matches!(
        assembled_outcome(&Err(down)),
        AssembledOutcome::Failed(why) if why.contains("connection refused")
    ));
}

#[test]
fn the_duty_runs_with_a_key_on_a_chain_with_the_multisig_module_and_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(opentoken_store::EmbeddedStore::open(&dir.path().join("s.redb")).unwrap());
    let with_ms = test_spec().with_module(opentoken_multisig::NAME, json!({}));
    let without_ms = test_spec();
    let key = ms_key(7);
    let from_store = NodesSource::Store(store);
    let from_api = NodesSource::Api("http://serve:3001".into());

    assert!(
        ms_shell(&with_ms, "alice", None, &from_api).unwrap().is_none(),
        "no key"
    );
    assert!(
        ms_shell(&without_ms, "alice", Some(&key), &from_api).unwrap().is_none(),
        "no module: registered only"
    );
    assert!(ms_shell(&with_ms, "alice", Some(&key), &from_store).unwrap().is_some());
    assert!(
        ms_shell(&with_ms, "alice", Some(&key), &from_api).unwrap().is_some(),
        "the distributed agent reads /v1/state/multisig"
    );
}

/// The distributed agent's view, read from a node's `/v1/state/multisig` (the duty's keys
/// only), is the view the embedded agent reads from the store; a body that is not the
/// document is an error naming the URL, not an empty view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_multisig_view_from_the_node_api_is_the_view_from_the_store() {
    use opentoken_core::test_utils::{block_id, block_time};
    use opentoken_multisig::{keys::Coin, MultisigEvent, MultisigModule};
    use opentoken_store::{CommitBatch, ModuleCommit, Progress};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let spec = test_spec().with_module(opentoken_multisig::NAME, json!({}));
    let mut h = ModuleHarness::new(MultisigModule::from_spec(&spec).unwrap(), spec.clone());
    h.apply(&[
        MultisigEvent::Deposited {
            account: "bob".into(),
            asset: Coin::Hive,
            amount: 5_000,
        },
        MultisigEvent::WithdrawalQueued {
            seq: 0,
            account: "bob".into(),
            to: "bob".into(),
            asset: Coin::Hive,
            amount: 1_000,
            memo: "ot:0".into(),
            block: 1,
        },
    ]);
    let signers = json!({"signers": [{"account": "alice", "key": ms_key(7).public().to_string()}]});
    h.message("nodes", "signers", &signers.to_string()).unwrap();
    h.block_end_with_header(10, &block_id(10), block_time(10));
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(opentoken_store::EmbeddedStore::open(&dir.path().join("s.redb")).unwrap());
    store
        .commit(&CommitBatch {
            modules: vec![ModuleCommit {
                module: opentoken_multisig::NAME.into(),
                changes: h
                    .state
                    .to_map()
                    .iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect(),
                lattice: Vec::new(),
                progress: Progress {
                    block: 10,
                    next_offset: 10,
                },
                snapshot: None,
            }],
            ..Default::default()
        })
        .unwrap();
    let doc = opentoken_store::ModuleStateDoc {
        processed_block: Some(10),
        pairs: opentoken_multisig::views::duty_pairs(&h.state)
            .unwrap()
            .iter()
            .map(|(k, v)| (hex::encode(k), hex::encode(v)))
            .collect(),
    };
    // A one-route HTTP server: the document, then garbage.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let bodies = [serde_json::to_string(&doc).unwrap(), "[1, 2".to_string()];
    tokio::spawn(async move {
        for body in bodies {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let n = sock.read(&mut buf).await.unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("GET /v1/state/multisig "));
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    let http = reqwest::Client::new();
    let from_store = MsSource::Store(store).read(&http, "dlux-cc").await.unwrap();
    let from_api = MsSource::Api(base.clone()).read(&http, "dlux-cc").await.unwrap();
    assert!(from_store.open.is_some(), "a transaction is open");
    assert_eq!(from_api, from_store);
    let err = MsSource::Api(base.clone()).read(&http, "dlux-cc").await.unwrap_err();
    assert!(err.contains(&format!("{base}/v1/state/multisig")), "{err}");
}

mod reconciliation {
    use super::*;
    use crate::reconcile::{Outcome, Skip};
    use opentoken_hive::{ClientConfig, GenesisConfig, SimConfig, Simulator, TrafficConfig};
    use opentoken_multisig::keys::{self, Coin};
    use opentoken_store::{CommitBatch, ModuleCommit, Progress};

    const MS: &str = "dlux-cc";

    /// A simulated chain at head 10 (blocks 1..=10 at once, the next in an hour) with
    /// traffic among alice and bob, and `dlux-cc` existing with nothing in it.
    fn sim_config() -> SimConfig {
        SimConfig {
            seed: 5,
            first_block: 1,
            block_interval: Duration::from_secs(3600),
            prefill_blocks: 10,
            irreversible_lag: 0,
            traffic: TrafficConfig {
                prefix: TEST_PREFIX.into(),
                accounts: vec!["alice".into(), "bob".into()],
                nodes: vec![],
                delegation_account: "dlux-io".into(),
                ops_per_block: (1, 3),
                invalid_per_mille: 0,
                msaccount: None,
                dex: None,
                nft: None,
                pob: None,
            },
            genesis: GenesisConfig {
                extra_accounts: vec![MS.into()],
                ..GenesisConfig::default()
            },
            tamper: None,
        }
    }

    /// Commits the multisig books as of `block`.
    fn books(store: &dyn Store, block: u64, changes: Vec<(Vec<u8>, u64)>) {
        store
            .commit(&CommitBatch {
                modules: vec![ModuleCommit {
                    module: opentoken_multisig::NAME.into(),
                    changes: changes
                        .into_iter()
                        .map(|(k, v)| (k, Some(keys::encode_u64(v))))
                        .collect(),
                    lattice: Vec::new(),
                    progress: Progress {
                        block,
                        next_offset: block,
                    },
                    snapshot: None,
                }],
                ..Default::default()
            })
            .unwrap();
    }

    fn shell(store: Arc<dyn Store>, max_scan_blocks: u64) -> ReconcileShell {
        let spec = test_spec().with_module(opentoken_multisig::NAME, json!({}));
        assert_eq!(spec.msaccount, MS);
        let cfg = ReconcileConfig {
            max_scan_blocks,
            ..ReconcileConfig::default()
        };
        let r = reconcile_shell(&spec, cfg, &NodesSource::Store(store)).expect("runs with the module and a store");
        assert!(reconcile_shell(&test_spec(), cfg, &NodesSource::Api("http://serve:3001".into())).is_none());
        r
    }

    /// The books say the account holds 5.000 HIVE, the simulated Hive says nothing: ready
    /// through two checks, not ready on the third with the amounts, ready again once the
    /// books explain the difference. The books are of block 4, the head is 10: comparable
    /// because blocks 5..=10 leave the account alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_account_on_the_simulator_makes_the_node_not_ready_after_three_checks() {
        let sim = Simulator::start(sim_config(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let client = HiveClient::new(vec![sim.url()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(opentoken_store::EmbeddedStore::open(&dir.path().join("s.redb")).unwrap());
        books(store.as_ref(), 4, vec![(keys::held(Coin::Hive), 5_000)]);
        let telemetry = Telemetry::new();
        let mut r = shell(store.clone(), 100);
        assert_eq!(sim.head(), 10);

        for streak in 1..=2 {
            let out = reconcile_once(&mut r, &client, MS, &telemetry).await;
            assert_eq!(
                out,
                Outcome::Short {
                    streak,
                    alarm: false,
                    raised: false
                }
            );
            assert!(telemetry.readiness().is_ok(), "not yet at {streak}");
        }
        let out = reconcile_once(&mut r, &client, MS, &telemetry).await;
        assert!(
            matches!(
                out,
                Outcome::Short {
                    alarm: true,
                    raised: true,
                    ..
                }
            ),
            "{out:?}"
        );
        let reasons = telemetry.readiness().expect_err("alarmed");
        assert_eq!(reasons.len(), 1);
        let (component, why) = &reasons[0];
        assert_eq!(component, RECONCILE_COMPONENT);
        assert!(why.contains("@dlux-cc"), "{why}");
        assert!(
            why.contains("0.000 HIVE on Hive, 5.000 HIVE expected (5.000 HIVE short)"),
            "{why}"
        );
        assert_eq!(AGENT.multisig_expected_hive_milli.get(&telemetry), Some(5_000.0));
        assert_eq!(AGENT.multisig_observed_hive_milli.get(&telemetry), Some(0.0));
        assert_eq!(AGENT.multisig_reconcile_mismatches.get(&telemetry), Some(3.0));
        let doc: serde_json::Value = serde_json::from_str(&telemetry.document("ms_reconcile").unwrap()).unwrap();
        assert_eq!(doc["last"]["block"], 4);
        assert_eq!(doc["last"]["head"], 10);

        // The books behind the head without reading the blocks between: skipped, still alarmed.
        let mut blind = shell(store.clone(), 0);
        let out = reconcile_once(&mut blind, &client, MS, &telemetry).await;
        assert_eq!(
            out,
            Outcome::Skipped(Skip::Behind {
                books: 4,
                through: 4,
                head: 10
            })
        );
        assert!(telemetry.readiness().is_err());

        // An API node that is down is a skip, not an alarm, and changes nothing.
        let down = HiveClient::with_config(
            vec!["http://127.0.0.1:9".into()],
            ClientConfig {
                attempts: 1,
                timeout: Duration::from_secs(2),
                ..ClientConfig::default()
            },
        )
        .unwrap();
        let out = reconcile_once(&mut r, &down, MS, &telemetry).await;
        assert!(matches!(out, Outcome::Skipped(Skip::Unavailable(_))), "{out:?}");
        assert_eq!(r.core.status().streak, 3);
        assert_eq!(AGENT.multisig_reconcile_skipped.get(&telemetry), Some(2.0));

        // The 5.000 HIVE left the account unexplained, as the books now record: a match.
        books(store.as_ref(), 5, vec![(keys::total_anomalies(Coin::Hive), 5_000)]);
        let out = reconcile_once(&mut r, &client, MS, &telemetry).await;
        assert_eq!(out, Outcome::Matched { cleared: true });
        assert!(telemetry.readiness().is_ok());
        assert_eq!(AGENT.multisig_expected_hive_milli.get(&telemetry), Some(0.0));
        sim.shutdown().await;
    }
}
