//! Registration: `node_add` (fields, votes, proofs of possession, multi-sig key), updates and `node_delete`.

use super::*;

#[test]
fn genesis_sets_the_runners() {
    let t = harness();
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
    let mut t = harness();
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
    let msgs = t.module.messages(&ev[0]);
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
    let mut t = harness();
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
    let t = harness();
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
    let t = harness();
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
    let mut t = harness();
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
    let mut t = harness();
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
    assert!(t.module.messages(&ev[0]).is_empty(), "an update tells token nothing");
    let r = views::node(&t.state, "alice").unwrap();
    assert_eq!((r.bid_rate, r.wins, r.strikes, r.registered_at), (700, 3, 1, 10));

    let ev = t.run(13, "alice", "node_delete", json!({}));
    let msgs = t.module.messages(&ev[0]);
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
    assert_eq!(t.module.messages(&ev[0])[0].kind, "node_registered");
    let r = views::node(&t.state, "alice").unwrap();
    assert_eq!(
        (r.active, r.wins, r.strikes, r.registered_at, r.bid_rate),
        (true, 3, 1, 15, 500)
    );
}
