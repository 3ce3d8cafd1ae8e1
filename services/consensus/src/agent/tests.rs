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
    let Err(e) = ms_shell(&with_ms, "alice", Some(&key), &from_api) else {
        panic!("the distributed agent has no store to read the multisig state from");
    };
    let text = e.to_string();
    assert!(
        text.contains("http://serve:3001") && text.contains("opentoken run"),
        "{text}"
    );
}
