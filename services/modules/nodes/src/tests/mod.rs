//! Unit tests of `handle`, `on_block` and `apply` on an in-memory state, without the engine
//! (the shared `ModuleHarness`; the engine-driven tests are in `tests/`), one file per room
//! of the module.

use super::*;
use crate::state::update_node;
use crate::tally::median;
use ed25519_dalek::{Signer, SigningKey};
use opentoken_core::test_utils::{test_spec, ModuleHarness, TEST_PREFIX as PREFIX};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

mod dex;
mod gov_mirror;
mod registry;
mod report;
mod signers;
mod tally;

/// The nodes module at genesis, driven by direct calls.
type T = ModuleHarness<NodesModule>;

fn spec_with(nodes: Value) -> ChainSpec {
    test_spec().with_module("nodes", nodes)
}

fn spec() -> ChainSpec {
    spec_with(
        json!({"report_window": 5, "pop_max_age": 20, "min_runners": 2, "max_runners": 4,
                     "genesis": {"runners": ["alice", "bob", "carol"]}}),
    )
}

fn harness_with(spec: ChainSpec) -> T {
    let module = NodesModule::from_spec(&spec).unwrap();
    ModuleHarness::new(module, spec)
}

fn harness() -> T {
    harness_with(spec())
}

/// What the nodes tests add to the harness.
trait NodesHarness {
    /// The token module's `gov_added` message for `account`.
    fn gov(&mut self, account: &str, amount: u64);
    fn chain_id(&self) -> [u8; 32];
}

impl NodesHarness for T {
    fn gov(&mut self, account: &str, amount: u64) {
        self.message(
            "token",
            "gov_added",
            &json!({"account": account, "amount": amount}).to_string(),
        )
        .unwrap();
    }

    fn chain_id(&self) -> [u8; 32] {
        self.spec.hive_chain_id()
    }
}

fn key(account: &str) -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..account.len()].copy_from_slice(account.as_bytes());
    SigningKey::from_bytes(&seed)
}

fn mskey(seed: u8) -> opentoken_hive_tx::PrivateKey {
    opentoken_hive_tx::PrivateKey::from_secret([seed; 32]).unwrap()
}

fn add_payload(t: &T, account: &str, pop_block: u64) -> Value {
    let k = key(account);
    let domain = format!("https://{account}.example");
    let bytes = node_add_signing_bytes(
        &t.chain_id(),
        PREFIX,
        account,
        &domain,
        k.verifying_key().as_bytes(),
        "",
        pop_block,
    );
    let sig = k.sign(&bytes).to_bytes();
    serde_json::from_str(&node_add_json(
        &domain,
        k.verifying_key().as_bytes(),
        pop_block,
        &sig,
        None,
    ))
    .unwrap()
}

/// A node_add payload with the multi-sig key of `ms`, whose proof `signer` makes.
fn add_payload_ms(
    t: &T,
    account: &str,
    pop_block: u64,
    ms: &opentoken_hive_tx::PrivateKey,
    signer: &opentoken_hive_tx::PrivateKey,
) -> Value {
    let k = key(account);
    let domain = format!("https://{account}.example");
    let ms_text = ms.public().to_string();
    let bytes = node_add_signing_bytes(
        &t.chain_id(),
        PREFIX,
        account,
        &domain,
        k.verifying_key().as_bytes(),
        &ms_text,
        pop_block,
    );
    let sig = k.sign(&bytes).to_bytes();
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    let ms_sig = signer.sign(&digest);
    serde_json::from_str(&node_add_json(
        &domain,
        k.verifying_key().as_bytes(),
        pop_block,
        &sig,
        Some((&ms_text, ms_sig.as_bytes())),
    ))
    .unwrap()
}

fn with(mut v: Value, field: &str, value: Value) -> Value {
    v[field] = value;
    v
}

fn without(mut v: Value, field: &str) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove(field);
    }
    v
}

fn assert_reject(r: Result<Vec<NodesEvent>, Reject>, code: RejectCode, needle: &str, what: &str) {
    match r {
        Err(rej) => {
            assert_eq!(rej.code, code, "{what}: {rej}");
            assert!(
                rej.reason.contains(needle),
                "{what}: {:?} does not name {needle:?}",
                rej.reason
            );
        }
        Ok(ev) => panic!("{what}: accepted as {ev:?}"),
    }
}

fn sign_report(chain_id: &[u8; 32], prefix: &str, signer: &str, block: u64, hash: [u8; 32]) -> Value {
    let sig = key(signer)
        .sign(&report_signing_bytes(chain_id, prefix, block, &hash))
        .to_bytes();
    serde_json::from_str(&report_json(block, &hash, "test/1", &sig)).unwrap()
}

/// Signed `report`s of checkpoint `of`, each `(runner, hash)` in block `of + 1`.
fn reports(t: &mut T, of: u64, votes: &[(&str, [u8; 32])]) {
    let cid = t.chain_id();
    for (runner, hash) in votes {
        t.run(of + 1, runner, "report", sign_report(&cid, PREFIX, runner, of, *hash));
    }
}

fn stake(account: &str, stake: u64) -> Stake {
    Stake {
        account: account.into(),
        stake,
    }
}

/// alice 40, bob 35, carol 25 (runners), dave 50 (not a runner), all registered; the tally
/// of checkpoint 10 open.
fn three_runners() -> T {
    let mut t = harness();
    for n in ["alice", "bob", "carol", "dave"] {
        t.run(2, n, "node_add", add_payload(&t, n, 1));
    }
    for (n, g) in [("alice", 40), ("bob", 35), ("carol", 25), ("dave", 50)] {
        t.gov(n, g);
    }
    let ev = t.block_end(10);
    assert_eq!(
        ev,
        vec![NodesEvent::TallyOpened {
            block: 10,
            runners: vec![stake("alice", 40), stake("bob", 35), stake("carol", 25)],
            total: 100
        }]
    );
    t
}
