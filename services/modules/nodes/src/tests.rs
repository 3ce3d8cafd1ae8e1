//! Unit tests of `handle`, `on_block` and `apply` on an in-memory state, without the engine
//! (the engine-driven tests are in `tests/`).

use super::*;
use ed25519_dalek::{Signer, SigningKey};
use opentoken_core::{ChainPos, ModuleState};
use serde_json::{json, Value};

const PREFIX: &str = "dlux_";

fn spec_with(nodes: Value) -> ChainSpec {
    let mut s = ChainSpec::from_json(
        r#"{"name":"t","prefix":"dlux_","token":"DLUX","precision":3,"starting_block":1,
            "leader":"dlux-io","msaccount":"dlux-cc","delegation_account":"dlux-io",
            "checkpoint_interval":10}"#,
    )
    .unwrap();
    s.modules.insert("nodes".into(), nodes);
    s
}

fn spec() -> ChainSpec {
    spec_with(
        json!({"report_window": 5, "pop_max_age": 20, "min_runners": 2, "max_runners": 4,
                     "genesis": {"runners": ["alice", "bob", "carol"]}}),
    )
}

fn key(account: &str) -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..account.len()].copy_from_slice(account.as_bytes());
    SigningKey::from_bytes(&seed)
}

fn mskey(seed: u8) -> opentoken_hive_tx::PrivateKey {
    opentoken_hive_tx::PrivateKey::from_secret([seed; 32]).unwrap()
}

struct T {
    m: NodesModule,
    spec: ChainSpec,
    state: ModuleState,
}

impl T {
    fn with_spec(spec: ChainSpec) -> Self {
        let m = NodesModule::from_spec(&spec).unwrap();
        let mut t = T {
            m,
            spec,
            state: ModuleState::new(),
        };
        let g = t.m.genesis(&t.spec).unwrap();
        t.apply(g);
        t
    }

    fn new() -> Self {
        Self::with_spec(spec())
    }

    fn apply(&mut self, events: Vec<NodesEvent>) {
        for e in events {
            self.m.apply(&e, &mut self.state).unwrap();
        }
    }

    fn handle(&self, block: u64, from: &str, name: &str, payload: Value) -> Result<Vec<NodesEvent>, Reject> {
        let ctx = OpContext {
            pos: ChainPos::new(block, 0, 0),
            txid: "tx",
            timestamp: 0,
            spec: &self.spec,
        };
        let Value::Object(p) = payload else {
            panic!("payload must be an object")
        };
        self.m.handle(
            &ctx,
            Input::CustomJson {
                name,
                from,
                auth: Auth::Active,
                payload: &p,
            },
            &self.state,
        )
    }

    fn run(&mut self, block: u64, from: &str, name: &str, payload: Value) -> Vec<NodesEvent> {
        let ev = self
            .handle(block, from, name, payload.clone())
            .unwrap_or_else(|r| panic!("{name} {payload} by @{from} rejected: {r}"));
        self.apply(ev.clone());
        ev
    }

    fn message(&mut self, from: &str, kind: &str, payload: &str) -> Result<Vec<NodesEvent>, Reject> {
        let ctx = OpContext {
            pos: ChainPos::new(1, 0, 0),
            txid: "msg",
            timestamp: 0,
            spec: &self.spec,
        };
        let msg = Message {
            from: from.into(),
            to: NAME.into(),
            pos: ChainPos::new(0, 0, 0),
            seq: 0,
            kind: kind.into(),
            payload: payload.into(),
        };
        let r = self.m.handle(&ctx, Input::Message(&msg), &self.state);
        if let Ok(ev) = &r {
            self.apply(ev.clone());
        }
        r
    }

    fn gov(&mut self, account: &str, amount: u64) {
        self.message(
            "token",
            "gov_added",
            &json!({"account": account, "amount": amount}).to_string(),
        )
        .unwrap();
    }

    fn block_end(&mut self, block: u64) -> Vec<NodesEvent> {
        let ctx = BlockContext {
            block,
            spec: &self.spec,
        };
        let ev = self.m.on_block(&ctx, &self.state).unwrap();
        self.apply(ev.clone());
        ev
    }

    fn chain_id(&self) -> [u8; 32] {
        self.spec.hive_chain_id()
    }
}

/// A valid node_add payload for `account` signed at `pop_block`, as a JSON value to tamper
/// with.
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

#[test]
fn genesis_sets_the_runners() {
    let t = T::new();
    assert_eq!(
        views::runners(&t.state),
        vec![("alice".into(), 0), ("bob".into(), 0), ("carol".into(), 0)]
    );
    let empty = spec_with(json!({}));
    assert!(NodesModule::from_spec(&empty)
        .unwrap()
        .genesis(&empty)
        .unwrap()
        .is_empty());
}

#[test]
fn node_add_registers_with_defaults_and_tells_token() {
    let mut t = T::new();
    let ev = t.run(10, "alice", "node_add", add_payload(&t, "alice", 5));
    let NodesEvent::NodeAdded {
        account,
        registered,
        record,
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert_eq!((account.as_str(), *registered), ("alice", true));
    assert_eq!(
        (record.bid_rate, record.dm, record.ds, record.dv, record.liquidity),
        (500, 10000, 0, 1500, 100)
    );
    assert_eq!(record.report_key, hex::encode(key("alice").verifying_key().as_bytes()));
    assert_eq!(
        (record.registered_at, record.active, record.mskey.clone()),
        (10, true, None)
    );
    let msgs = t.m.messages(&ev[0]);
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        (msgs[0].to.as_str(), msgs[0].kind.as_str()),
        ("token", "node_registered")
    );
    assert_eq!(msgs[0].payload, r#"{"account":"alice"}"#);
    assert_eq!(views::node(&t.state, "alice").as_ref(), Some(record));
}

#[test]
fn votes_are_clamped_and_must_be_integers() {
    let mut t = T::new();
    let p = add_payload(&t, "alice", 5);
    let p = with(p, "bidRate", json!(5000));
    let p = with(p, "dm", json!(0));
    let p = with(p, "ds", json!(-4));
    let p = with(p, "dv", json!(10001));
    let p = with(p, "liquidity", json!(42));
    t.run(10, "alice", "node_add", p);
    let r = views::node(&t.state, "alice").unwrap();
    assert_eq!((r.bid_rate, r.dm, r.ds, r.dv, r.liquidity), (1000, 1, 0, 10000, 42));
    for field in ["bidRate", "dm", "ds", "dv", "liquidity"] {
        for bad in [json!("500"), json!(1.5), json!(null), json!(true), json!([1])] {
            let p = with(add_payload(&t, "bob", 5), field, bad.clone());
            assert_reject(
                t.handle(10, "bob", "node_add", p),
                RejectCode::InvalidField,
                &format!("`{field}`"),
                &format!("{field}={bad}"),
            );
        }
    }
}

#[test]
fn node_add_rejects_each_bad_field_naming_it() {
    let t = T::new();
    let good = add_payload(&t, "alice", 5);
    assert!(t.handle(10, "alice", "node_add", good.clone()).is_ok());
    let long = format!("https://{}", "a".repeat(250));
    let cases: Vec<(Value, &str)> = vec![
        (without(good.clone(), "domain"), "`domain` is required"),
        (with(good.clone(), "domain", json!(5)), "`domain` must be a string"),
        (with(good.clone(), "domain", json!("")), "`domain` must not be empty"),
        (with(good.clone(), "domain", json!("ftp://x")), "http:// or https://"),
        (
            with(good.clone(), "domain", json!("alice.example")),
            "http:// or https://",
        ),
        (with(good.clone(), "domain", json!("https://")), "must name a host"),
        (
            with(good.clone(), "domain", json!("https://alice.example/")),
            "must not end with '/'",
        ),
        (with(good.clone(), "domain", json!("https://a b")), "printable ASCII"),
        (with(good.clone(), "domain", json!(long)), "at most 256"),
        (without(good.clone(), "report_key"), "`report_key` is required"),
        (
            with(good.clone(), "report_key", json!("ab")),
            "`report_key` must be 64 hex digits",
        ),
        (
            with(good.clone(), "report_key", json!("zz".repeat(32))),
            "`report_key` must be 64 hex digits",
        ),
        // y = 2 is not the y of any curve point.
        (
            with(good.clone(), "report_key", json!(format!("02{}", "00".repeat(31)))),
            "`report_key` is not a valid ed25519 public key",
        ),
        // The identity point has small order.
        (
            with(good.clone(), "report_key", json!(format!("01{}", "00".repeat(31)))),
            "`report_key` is a weak",
        ),
        (without(good.clone(), "pop_block"), "`pop_block` is required"),
        (
            with(good.clone(), "pop_block", json!(-1)),
            "`pop_block` must be a non-negative integer",
        ),
        (
            with(good.clone(), "pop_block", json!("5")),
            "`pop_block` must be a non-negative integer",
        ),
        (without(good.clone(), "report_pop"), "`report_pop` is required"),
        (
            with(good.clone(), "report_pop", json!("00".repeat(63))),
            "`report_pop` must be 128 hex digits",
        ),
        (with(good.clone(), "mskey", json!(7)), "`mskey` must be a string"),
        (
            with(good.clone(), "mskey", json!("STMnotakey")),
            "`mskey` is not a Hive public key",
        ),
        (
            with(good.clone(), "mskey_pop", json!("00".repeat(65))),
            "`mskey_pop` is given without `mskey`",
        ),
    ];
    for (p, needle) in cases {
        assert_reject(
            t.handle(10, "alice", "node_add", p.clone()),
            RejectCode::InvalidField,
            needle,
            &p.to_string(),
        );
    }
    assert_reject(
        t.handle(10, "Not-Valid", "node_add", good),
        RejectCode::InvalidAccount,
        "not a valid Hive account",
        "bad signer",
    );
}

#[test]
fn proofs_of_possession() {
    let t = T::new();
    let good = add_payload(&t, "alice", 5);
    let field = RejectCode::InvalidField;
    // Signed by another key.
    let other = add_payload(&t, "bob", 5);
    let p = with(good.clone(), "report_pop", other["report_pop"].clone());
    assert_reject(
        t.handle(10, "alice", "node_add", p),
        field,
        "`report_pop` does not verify",
        "wrong key",
    );
    // One bit flipped.
    let mut sig = hex::decode(good["report_pop"].as_str().unwrap()).unwrap();
    sig[3] ^= 1;
    let p = with(good.clone(), "report_pop", json!(hex::encode(&sig)));
    assert_reject(
        t.handle(10, "alice", "node_add", p),
        field,
        "`report_pop` does not verify",
        "bad sig",
    );
    // Bound to the account: bob cannot register alice's key with her proof...
    assert_reject(
        t.handle(10, "bob", "node_add", good.clone()),
        field,
        "`report_pop` does not verify",
        "proof replayed by another account",
    );
    // ... to the domain, and to the block.
    let p = with(good.clone(), "domain", json!("https://elsewhere.example"));
    assert_reject(
        t.handle(10, "alice", "node_add", p),
        field,
        "`report_pop`",
        "other domain",
    );
    let p = with(good.clone(), "pop_block", json!(6));
    assert_reject(
        t.handle(10, "alice", "node_add", p),
        field,
        "`report_pop`",
        "other block",
    );
    // Stale and future proofs (pop_max_age 20).
    assert!(
        t.handle(25, "alice", "node_add", good.clone()).is_ok(),
        "20 blocks old is fine"
    );
    assert_reject(
        t.handle(26, "alice", "node_add", good.clone()),
        field,
        "expire after 20 blocks",
        "stale",
    );
    assert_reject(
        t.handle(4, "alice", "node_add", good.clone()),
        field,
        "is after this op's block",
        "future",
    );
    // Signed for another community prefix and for another chain.
    let k = key("alice");
    let vk = *k.verifying_key().as_bytes();
    let domain = "https://alice.example";
    let bytes = node_add_signing_bytes(&t.chain_id(), "other_", "alice", domain, &vk, "", 5);
    let p = with(
        good.clone(),
        "report_pop",
        json!(hex::encode(k.sign(&bytes).to_bytes())),
    );
    assert_reject(
        t.handle(10, "alice", "node_add", p),
        field,
        "`report_pop`",
        "other prefix",
    );
    let bytes = node_add_signing_bytes(&[0x42; 32], PREFIX, "alice", domain, &vk, "", 5);
    let p = with(good, "report_pop", json!(hex::encode(k.sign(&bytes).to_bytes())));
    assert_reject(
        t.handle(10, "alice", "node_add", p),
        field,
        "`report_pop`",
        "other chain",
    );
}

#[test]
fn multisig_key_proofs() {
    let mut t = T::new();
    let field = RejectCode::InvalidField;
    let ms = mskey(7);
    let ok = add_payload_ms(&t, "alice", 5, &ms, &ms);
    // Proof made by another key.
    let wrong = add_payload_ms(&t, "alice", 5, &ms, &mskey(8));
    assert_reject(
        t.handle(10, "alice", "node_add", wrong),
        field,
        "`mskey_pop` was made by",
        "wrong mskey signer",
    );
    assert_reject(
        t.handle(10, "alice", "node_add", without(ok.clone(), "mskey_pop")),
        field,
        "`mskey_pop` is required with `mskey`",
        "missing mskey_pop",
    );
    assert_reject(
        t.handle(10, "alice", "node_add", with(ok.clone(), "mskey_pop", json!("ab"))),
        field,
        "`mskey_pop` must be 130 hex digits",
        "short mskey_pop",
    );
    assert_reject(
        t.handle(
            10,
            "alice",
            "node_add",
            with(ok.clone(), "mskey_pop", json!("00".repeat(65))),
        ),
        field,
        "`mskey_pop` is not a Hive signature",
        "bad header",
    );
    // Another mskey than the one signed over: the report key's proof breaks first.
    let p = with(ok.clone(), "mskey", json!(mskey(9).public().to_string()));
    assert_reject(
        t.handle(10, "alice", "node_add", p),
        field,
        "`report_pop`",
        "swapped mskey",
    );
    t.run(10, "alice", "node_add", ok);
    assert_eq!(
        views::node(&t.state, "alice").unwrap().mskey,
        Some(ms.public().to_string())
    );
}

#[test]
fn updates_keep_counters_and_deletion_round_trips() {
    let mut t = T::new();
    t.run(10, "alice", "node_add", add_payload(&t, "alice", 5));
    // Give the record counters, as closed tallies would.
    update_node(&mut t.state, "alice", |n| {
        n.wins = 3;
        n.strikes = 1;
    })
    .unwrap();
    assert_reject(
        t.handle(11, "alice", "node_add", add_payload(&t, "alice", 5)),
        RejectCode::NothingToDo,
        "exactly these settings",
        "same registration",
    );
    let ev = t.run(
        12,
        "alice",
        "node_add",
        with(add_payload(&t, "alice", 5), "bidRate", json!(700)),
    );
    assert!(matches!(&ev[0], NodesEvent::NodeAdded { registered: false, .. }));
    assert!(t.m.messages(&ev[0]).is_empty(), "an update tells token nothing");
    let r = views::node(&t.state, "alice").unwrap();
    assert_eq!((r.bid_rate, r.wins, r.strikes, r.registered_at), (700, 3, 1, 10));

    let ev = t.run(13, "alice", "node_delete", json!({}));
    let msgs = t.m.messages(&ev[0]);
    assert_eq!(
        (msgs[0].kind.as_str(), msgs[0].payload.as_str()),
        ("node_removed", r#"{"account":"alice"}"#)
    );
    assert!(!views::node(&t.state, "alice").unwrap().active);
    assert_reject(
        t.handle(14, "alice", "node_delete", json!({})),
        RejectCode::NotANode,
        "already deleted",
        "twice",
    );
    assert_reject(
        t.handle(14, "zed", "node_delete", json!({})),
        RejectCode::NotANode,
        "not a registered node",
        "stranger",
    );

    let ev = t.run(15, "alice", "node_add", add_payload(&t, "alice", 15));
    assert!(matches!(&ev[0], NodesEvent::NodeAdded { registered: true, .. }));
    assert_eq!(t.m.messages(&ev[0])[0].kind, "node_registered");
    let r = views::node(&t.state, "alice").unwrap();
    assert_eq!(
        (r.active, r.wins, r.strikes, r.registered_at, r.bid_rate),
        (true, 3, 1, 15, 500)
    );
}

#[test]
fn gov_messages_mirror_the_stake_exactly() {
    let mut t = T::new();
    t.gov("alice", 40);
    t.gov("alice", 2);
    assert_eq!(views::try_gov(&t.state, "alice").unwrap(), 42);
    let ev = t
        .message("token", "gov_removed", r#"{"account":"alice","amount":42}"#)
        .unwrap();
    assert_eq!(
        ev,
        vec![NodesEvent::GovChanged {
            account: "alice".into(),
            gov: 0
        }]
    );
    assert!(t.state.get(&keys::gov("alice")).is_none(), "zero is deleted");
    t.gov("bob", u64::MAX);
    let cases = [
        (
            "token",
            "gov_removed",
            r#"{"account":"alice","amount":1}"#,
            "exceeds the mirrored stake 0",
        ),
        ("token", "gov_added", r#"{"account":"bob","amount":1}"#, "overflows"),
        ("token", "gov_added", r#"{"account":"Bob","amount":1}"#, "`account`"),
        ("token", "gov_added", r#"{"account":"bob","amount":-1}"#, "`amount`"),
        ("token", "gov_added", r#"{"account":"bob","amount":0}"#, "`amount`"),
        ("token", "gov_added", r#"{"account":"bob","amount":"1"}"#, "`amount`"),
        ("token", "gov_added", "not json", "not JSON"),
        (
            "token",
            "node_reward",
            r#"{"account":"bob","amount":1}"#,
            "not node_reward",
        ),
        ("market", "gov_added", r#"{"account":"bob","amount":1}"#, "from market"),
    ];
    for (from, kind, payload, needle) in cases {
        let before = t.state.pairs().clone();
        assert_reject(t.message(from, kind, payload), RejectCode::BadMessage, needle, payload);
        assert_eq!(&before, t.state.pairs());
    }
}

fn sign_report(chain_id: &[u8; 32], prefix: &str, signer: &str, block: u64, hash: [u8; 32]) -> Value {
    let sig = key(signer)
        .sign(&report_signing_bytes(chain_id, prefix, block, &hash))
        .to_bytes();
    serde_json::from_str(&report_json(block, &hash, "test/1", &sig)).unwrap()
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
    let mut t = T::new();
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

#[test]
fn finality_needs_more_than_two_thirds_of_stake() {
    let mut t = three_runners();
    let cid = t.chain_id();
    let h = [0x11; 32];
    let ev = t.run(11, "bob", "report", sign_report(&cid, PREFIX, "bob", 10, h));
    assert_eq!(ev.len(), 1, "35 of 100 is not final");
    let ev = t.run(11, "carol", "report", sign_report(&cid, PREFIX, "carol", 10, h));
    assert_eq!(ev.len(), 1, "60 of 100 is not final");
    let ev = t.run(12, "dave", "report", sign_report(&cid, PREFIX, "dave", 10, h));
    assert!(
        matches!(ev[..], [NodesEvent::ReportAccepted { weight: 0, .. }]),
        "non-runners carry no weight"
    );
    let ev = t.run(12, "alice", "report", sign_report(&cid, PREFIX, "alice", 10, h));
    assert_eq!(
        ev[1],
        NodesEvent::CheckpointFinal {
            block: 10,
            hash: h,
            at: 12,
            stake: 100,
            total: 100
        }
    );
    assert_eq!(views::final_hash(&t.state, 10), Some(h));
    assert_eq!(views::last_final(&t.state), Some((10, h)));
    let tally = views::open_tally(&t.state).unwrap();
    assert_eq!((tally.final_hash, tally.final_block), (Some(hex::encode(h)), Some(12)));
}

#[test]
fn close_drops_disagreeing_runners_and_elects_one() {
    let mut t = three_runners();
    let cid = t.chain_id();
    let (h, other) = ([0x11; 32], [0x22; 32]);
    t.run(11, "alice", "report", sign_report(&cid, PREFIX, "alice", 10, h));
    t.run(11, "bob", "report", sign_report(&cid, PREFIX, "bob", 10, h));
    t.run(11, "carol", "report", sign_report(&cid, PREFIX, "carol", 10, other));
    t.run(11, "dave", "report", sign_report(&cid, PREFIX, "dave", 10, h));
    assert!(t.block_end(14).is_empty(), "the window is still open");
    let ev = t.block_end(15);
    let NodesEvent::TallyClosed(c) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(c.final_hash, Some(h));
    assert_eq!(c.runners_after, vec!["alice", "bob"]);
    assert_eq!(c.dropped, vec!["carol"]);
    // 2 kept is not below min_runners 2, so dave needs gov 50 > median(40, 35) = 37.
    assert_eq!(c.elected.as_deref(), Some("dave"));
    assert_eq!(c.runners, vec!["alice", "bob", "dave"]);
    assert_eq!(c.reported, vec!["alice", "bob", "carol", "dave"]);
    assert_eq!(c.agreed, vec!["alice", "bob", "dave"]);
    let n = |a: &str| views::node(&t.state, a).unwrap();
    assert_eq!(
        (
            n("alice").attempts,
            n("alice").yays,
            n("alice").wins,
            n("alice").last_good
        ),
        (1, 1, 1, 10)
    );
    assert_eq!((n("carol").attempts, n("carol").yays, n("carol").strikes), (1, 0, 1));
    assert_eq!((n("dave").yays, n("dave").wins), (1, 0));
    assert_eq!(views::open_tally(&t.state), None);
    assert_eq!(views::stats(&t.state).chaos, 0);
    assert!(t.m.messages(&ev[0]).is_empty(), "reward_per_win is 0");
    assert_eq!(
        views::runners(&t.state),
        vec![("alice".into(), 40), ("bob".into(), 35), ("dave".into(), 50)]
    );
}

#[test]
fn a_candidate_at_or_below_the_median_is_not_elected() {
    let mut t = three_runners();
    t.message("token", "gov_removed", r#"{"account":"dave","amount":13}"#)
        .unwrap(); // 37
    let cid = t.chain_id();
    let h = [0x11; 32];
    for n in ["alice", "bob", "dave"] {
        t.run(11, n, "report", sign_report(&cid, PREFIX, n, 10, h));
    }
    let ev = t.block_end(15);
    let NodesEvent::TallyClosed(c) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(c.elected, None, "37 is not above the median 37");
    assert_eq!(c.runners, vec!["alice", "bob"]);
}

#[test]
fn a_runner_registered_after_the_open_can_be_elected_and_is_not_dropped() {
    let mut t = T::new();
    for n in ["alice", "bob", "dave"] {
        t.run(2, n, "node_add", add_payload(&t, n, 1));
    }
    for (n, g) in [("alice", 40), ("bob", 35), ("carol", 60), ("dave", 50)] {
        t.gov(n, g);
    }
    let ev = t.block_end(10);
    assert!(
        matches!(&ev[0], NodesEvent::TallyOpened { total: 75, runners, .. } if runners.len() == 2),
        "carol is a runner but no node yet: {ev:?}"
    );
    t.run(11, "carol", "node_add", add_payload(&t, "carol", 10));
    let cid = t.chain_id();
    for n in ["alice", "bob", "carol", "dave"] {
        t.run(12, n, "report", sign_report(&cid, PREFIX, n, 10, [5; 32]));
    }
    let ev = t.block_end(15);
    let NodesEvent::TallyClosed(c) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(
        c.elected.as_deref(),
        Some("carol"),
        "the agreeing non-snapshot node with most stake"
    );
    assert!(c.dropped.is_empty(), "{:?}", c.dropped);
    assert_eq!(c.runners, vec!["alice", "bob", "carol"]);
    assert_eq!(views::node(&t.state, "carol").unwrap().strikes, 0);
}

#[test]
fn a_checkpoint_at_the_end_of_the_u64_range_does_not_overflow() {
    let mut spec = spec();
    spec.checkpoint_interval = 5;
    let mut t = T::with_spec(spec);
    t.run(2, "alice", "node_add", add_payload(&t, "alice", 1));
    let cid = t.chain_id();
    assert_eq!(u64::MAX % 5, 0);
    assert_reject(
        t.handle(
            12,
            "alice",
            "report",
            sign_report(&cid, PREFIX, "alice", u64::MAX, [1; 32]),
        ),
        RejectCode::InvalidField,
        "too early",
        "u64::MAX",
    );
    assert_eq!(t.m.next_due_block(&t.state, u64::MAX - 1), Some(u64::MAX));
}

#[test]
fn no_finality_keeps_the_set_but_drops_deleted_nodes() {
    let mut t = three_runners();
    let cid = t.chain_id();
    t.run(11, "bob", "report", sign_report(&cid, PREFIX, "bob", 10, [1; 32]));
    t.run(11, "carol", "report", sign_report(&cid, PREFIX, "carol", 10, [1; 32]));
    t.run(12, "carol", "node_delete", json!({}));
    let ev = t.block_end(15);
    let NodesEvent::TallyClosed(c) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!((c.final_hash, c.chaos), (None, 1));
    assert_eq!(c.runners, vec!["alice", "bob"]);
    assert_eq!(c.dropped, vec!["carol"]);
    assert_eq!(
        views::node(&t.state, "bob").unwrap().attempts,
        0,
        "counters move only at a final close"
    );
    // The next tally opens without carol, and a second failure counts on.
    let ev = t.block_end(20);
    assert!(matches!(&ev[0], NodesEvent::TallyOpened { total: 75, runners, .. } if runners.len() == 2));
    let ev = t.block_end(25);
    assert!(matches!(&ev[0], NodesEvent::TallyClosed(c) if c.chaos == 2));
}

#[test]
fn next_due_block_points_at_the_close_and_the_next_checkpoint() {
    let mut t = T::new();
    assert_eq!(t.m.next_due_block(&t.state, 0), Some(10));
    assert_eq!(t.m.next_due_block(&t.state, 9), Some(10));
    assert_eq!(t.m.next_due_block(&t.state, 10), Some(20));
    t.block_end(10);
    assert_eq!(t.m.next_due_block(&t.state, 10), Some(15));
    assert_eq!(t.m.next_due_block(&t.state, 14), Some(15));
    t.block_end(15);
    assert_eq!(t.m.next_due_block(&t.state, 15), Some(20));
    assert_eq!(t.m.next_due_block(&t.state, u64::MAX), None);
}

#[test]
fn window_equal_to_the_interval_closes_and_opens_in_one_block() {
    let mut t = T::with_spec(spec_with(
        json!({"report_window": 10, "genesis": {"runners": ["alice"]}}),
    ));
    t.block_end(10);
    let ev = t.block_end(20);
    let kinds: Vec<_> = ev.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, vec!["TallyClosed", "TallyOpened"]);
    assert!(matches!(&ev[1], NodesEvent::TallyOpened { block: 20, .. }));
}

#[test]
fn median_rounds_down() {
    assert_eq!(median(vec![]), 0);
    assert_eq!(median(vec![5]), 5);
    assert_eq!(median(vec![40, 35]), 37);
    assert_eq!(median(vec![1, 9, 3]), 3);
    assert_eq!(median(vec![u64::MAX, u64::MAX]), u128::from(u64::MAX));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the stakes and whoever agrees, a checkpoint becomes final exactly when
        /// the runners on one hash hold more than 2/3 of the runner stake, exactly once, at
        /// the report that crosses the line.
        #[test]
        fn final_iff_more_than_two_thirds(
            stakes in proptest::collection::vec(0u64..1_000, 1..6),
            agree in proptest::collection::vec(any::<bool>(), 6),
        ) {
            let names = ["alice", "bob", "carol", "dave", "erin", "frank"];
            let n = stakes.len();
            let mut t = T::with_spec(spec_with(
                json!({"report_window": 5, "genesis": {"runners": names[..n].to_vec()}}),
            ));
            for (i, s) in stakes.iter().enumerate() {
                let p = add_payload(&t, names[i], 1);
                t.run(2, names[i], "node_add", p);
                if *s > 0 {
                    t.gov(names[i], *s);
                }
            }
            t.block_end(10);
            let cid = t.chain_id();
            let total: u64 = stakes.iter().sum();
            let mut sums = [0u64; 2];
            let mut finals = 0;
            for i in 0..n {
                let side = usize::from(!agree[i]);
                let hash = [side as u8 + 1; 32];
                let ev = t.run(11, names[i], "report", sign_report(&cid, PREFIX, names[i], 10, hash));
                sums[side] += stakes[i];
                for e in &ev {
                    if let NodesEvent::CheckpointFinal { hash: h, stake, total: tot, .. } = e {
                        finals += 1;
                        prop_assert_eq!(*h, hash);
                        prop_assert_eq!((*stake, *tot), (sums[side], total));
                        prop_assert!(3 * u128::from(*stake) > 2 * u128::from(total));
                    }
                }
            }
            let crossed = sums.iter().any(|s| total > 0 && 3 * u128::from(*s) > 2 * u128::from(total));
            prop_assert_eq!(finals, usize::from(crossed));
        }
    }
}
