//! The multi-sig signers sent to the multisig module: who, when, only changes, and nothing
//! at all on a chain without that module.

use super::*;
use crate::keys::Signer;
use crate::signers::{MAX_SIGNERS, MULTISIG, SIGNERS_KIND};

fn ms_harness_with(nodes: Value) -> T {
    harness_with(spec_with(nodes).with_module(MULTISIG, json!({})))
}

fn ms_harness() -> T {
    harness_with(spec().with_module(MULTISIG, json!({})))
}

fn signer(account: &str, seed: u8) -> Signer {
    Signer {
        account: account.into(),
        key: mskey(seed).public().to_string(),
    }
}

/// `node_add` of `account` at `block` with the multi-sig key of `seed`, applied.
fn add_ms(t: &mut T, block: u64, account: &str, seed: u8) -> Vec<NodesEvent> {
    let ms = mskey(seed);
    let payload = add_payload_ms(t, account, block - 1, &ms, &ms);
    t.run(block, account, "node_add", payload)
}

/// The lists the events send.
fn sent(events: &[NodesEvent]) -> Vec<Vec<Signer>> {
    events
        .iter()
        .filter_map(|e| match e {
            NodesEvent::SignersSent { signers } => Some(signers.clone()),
            _ => None,
        })
        .collect()
}

/// The `signers` messages to the multisig module the events imply.
fn to_multisig(t: &T, events: &[NodesEvent]) -> Vec<Outgoing> {
    events
        .iter()
        .flat_map(|e| t.module.messages(e))
        .filter(|m| m.to == MULTISIG && m.kind == SIGNERS_KIND)
        .collect()
}

/// The collateral the events send.
fn collateral(events: &[NodesEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            NodesEvent::CollateralSent { stake } => Some(*stake),
            _ => None,
        })
        .collect()
}

#[test]
fn a_runner_registering_its_key_sends_the_signers_sorted_by_account() {
    let mut t = ms_harness();
    assert_eq!(t.module.sends_to(), ["multisig", "token"]);
    assert!(!t.module.sends_on_messages());

    let ev = add_ms(&mut t, 2, "bob", 2);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(sent(&ev), vec![vec![signer("bob", 2)]]);
    let msgs = to_multisig(&t, &ev);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].kind, SIGNERS_KIND);
    assert_eq!(
        serde_json::from_str::<Value>(&msgs[0].payload).unwrap(),
        json!({"signers": [{"account": "bob", "key": mskey(2).public().to_string()}]})
    );

    let ev = add_ms(&mut t, 3, "alice", 1);
    assert_eq!(sent(&ev), vec![vec![signer("alice", 1), signer("bob", 2)]], "sorted");
    let msgs = to_multisig(&t, &ev);
    assert_eq!(msgs.len(), 1);
    let names: Vec<String> = serde_json::from_str::<Value>(&msgs[0].payload).unwrap()["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["account"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["alice", "bob"]);

    // A runner without a key is left out; a non-runner's key is no signer's.
    let ev = t.run(4, "carol", "node_add", add_payload(&t, "carol", 3));
    assert!(sent(&ev).is_empty(), "{ev:?}");
    let ev = add_ms(&mut t, 4, "dave", 4);
    assert!(sent(&ev).is_empty(), "{ev:?}");
    assert!(to_multisig(&t, &ev).is_empty());
    assert_eq!(
        views::signers_sent(&t.state),
        vec![signer("alice", 1), signer("bob", 2)]
    );
}

#[test]
fn an_unchanged_list_is_not_sent_again() {
    let mut t = ms_harness();
    add_ms(&mut t, 2, "alice", 1);
    add_ms(&mut t, 2, "bob", 2);
    let before = views::signers_sent(&t.state);
    assert_eq!(before.len(), 2);

    // An update of something else than the key.
    let ms = mskey(1);
    let p = with(add_payload_ms(&t, "alice", 3, &ms, &ms), "bidRate", json!(700));
    let ev = t.run(4, "alice", "node_add", p);
    assert!(matches!(&ev[..], [NodesEvent::NodeAdded { .. }]), "{ev:?}");

    // Stake changes are mirrored only; a close that keeps the set sends nothing.
    let ev = t
        .message("token", "gov_added", r#"{"account":"bob","amount":9}"#)
        .unwrap();
    assert!(matches!(&ev[..], [NodesEvent::GovChanged { .. }]), "{ev:?}");
    assert!(matches!(&t.block_end(10)[..], [NodesEvent::TallyOpened { .. }]));
    let ev = t.block_end(15);
    assert!(
        matches!(&ev[..], [NodesEvent::TallyClosed(c), NodesEvent::CollateralSent { stake: 9 }] if c.runners == ["alice", "bob", "carol"]),
        "the first collateral (alice 0 + bob 9: both signers sign): {ev:?}"
    );
    assert!(to_multisig(&t, &ev).is_empty());
    assert_eq!(views::signers_sent(&t.state), before);
    // The next close with the same stakes sends nothing; a stake change sends the new one.
    t.block_end(20);
    let ev = t.block_end(25);
    assert!(matches!(&ev[..], [NodesEvent::TallyClosed(_)]), "{ev:?}");
    t.message("token", "gov_added", r#"{"account":"alice","amount":4}"#)
        .unwrap();
    t.block_end(30);
    let ev = t.block_end(35);
    assert_eq!(collateral(&ev), vec![13]);
    let msgs: Vec<Outgoing> = ev.iter().flat_map(|e| t.module.messages(e)).collect();
    assert_eq!(msgs.len(), 1);
    assert_eq!((msgs[0].to.as_str(), msgs[0].kind.as_str()), (MULTISIG, "collateral"));
    assert_eq!(msgs[0].payload, r#"{"stake":13}"#);
}

#[test]
fn a_tally_close_that_changes_the_runners_sends_one_list() {
    let mut t = ms_harness();
    for (i, n) in ["alice", "bob", "carol", "dave"].into_iter().enumerate() {
        add_ms(&mut t, 2, n, i as u8 + 1);
    }
    for (n, g) in [("alice", 40), ("bob", 35), ("carol", 25), ("dave", 50)] {
        t.gov(n, g);
    }
    assert_eq!(
        views::signers_sent(&t.state),
        vec![signer("alice", 1), signer("bob", 2), signer("carol", 3)]
    );
    t.block_end(10);
    let cid = t.chain_id();
    let (h, other) = ([0x11; 32], [0x22; 32]);
    for n in ["alice", "bob", "dave"] {
        t.run(11, n, "report", sign_report(&cid, PREFIX, n, 10, h));
    }
    t.run(11, "carol", "report", sign_report(&cid, PREFIX, "carol", 10, other));
    let ev = t.block_end(15);
    assert!(matches!(&ev[0], NodesEvent::TallyClosed(c) if c.runners == ["alice", "bob", "dave"]));
    let want = vec![signer("alice", 1), signer("bob", 2), signer("dave", 4)];
    assert_eq!(sent(&ev), vec![want.clone()], "carol dropped, dave elected: {ev:?}");
    assert_eq!(to_multisig(&t, &ev).len(), 1);
    assert_eq!(views::signers_sent(&t.state), want);
    // The next open changes nothing.
    assert!(sent(&t.block_end(20)).is_empty());
}

#[test]
fn deleting_a_runner_or_changing_its_key_sends_and_an_empty_list_is_never_sent() {
    let mut t = ms_harness();
    add_ms(&mut t, 2, "alice", 1);
    add_ms(&mut t, 2, "bob", 2);
    let ev = t.run(3, "bob", "node_delete", json!({}));
    assert_eq!(sent(&ev), vec![vec![signer("alice", 1)]]);
    assert!(matches!(ev[0], NodesEvent::NodeDeleted { .. }));

    // The last signer leaves: nothing is sent (the multisig module needs one), and the
    // account keeps its last list.
    let ev = t.run(4, "alice", "node_delete", json!({}));
    assert!(matches!(&ev[..], [NodesEvent::NodeDeleted { .. }]), "{ev:?}");
    assert_eq!(views::signers_sent(&t.state), vec![signer("alice", 1)]);
    // Back with the same key: the multisig module already has that list.
    let ev = add_ms(&mut t, 5, "alice", 1);
    assert!(sent(&ev).is_empty(), "{ev:?}");
    // A new key is a new list.
    let ev = add_ms(&mut t, 6, "alice", 9);
    assert_eq!(sent(&ev), vec![vec![signer("alice", 9)]]);
    // Deleting a non-runner sends nothing.
    add_ms(&mut t, 6, "dave", 4);
    assert!(sent(&t.run(7, "dave", "node_delete", json!({}))).is_empty());
}

#[test]
fn more_than_forty_keyed_runners_send_the_forty_with_the_most_stake() {
    let names: Vec<String> = (0..45).map(|i| format!("r{i:02}")).collect();
    let mut t = ms_harness_with(json!({"report_window": 5, "pop_max_age": 20, "min_runners": 1,
        "max_runners": 50, "genesis": {"runners": names}}));
    for (i, n) in names.iter().enumerate() {
        let ev = add_ms(&mut t, 2, n, i as u8 + 1);
        // Without stake the ranking is by name: from the 41st on the list stays r00..r39.
        assert_eq!(sent(&ev).len(), usize::from(i < MAX_SIGNERS), "{n}");
    }
    let first: Vec<Signer> = (0..40).map(|i| signer(&names[i], i as u8 + 1)).collect();
    assert_eq!(views::signers_sent(&t.state), first);

    // Stake i for r<i>, and r04 ties r05 at 5: the 40th place goes to r04 by name.
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            t.gov(n, if i == 4 { 5 } else { i as u64 });
        }
    }
    assert_eq!(views::signers_sent(&t.state), first, "messages change no list");
    t.block_end(10);
    let ev = t.block_end(15);
    let mut want: Vec<Signer> = vec![signer("r04", 5)];
    want.extend((6..45).map(|i| signer(&names[i], i as u8 + 1)));
    assert_eq!(want.len(), MAX_SIGNERS);
    assert_eq!(sent(&ev), vec![want.clone()]);
    let msgs = to_multisig(&t, &ev);
    assert_eq!(msgs.len(), 1);
    let payload: Value = serde_json::from_str(&msgs[0].payload).unwrap();
    assert_eq!(payload["signers"].as_array().unwrap().len(), 40);
    assert_eq!(views::signers_sent(&t.state), want);
}

#[test]
fn a_key_two_runners_registered_goes_to_the_one_with_more_stake() {
    let mut t = ms_harness();
    add_ms(&mut t, 2, "alice", 1);
    let ev = add_ms(&mut t, 2, "bob", 1);
    assert!(sent(&ev).is_empty(), "tie at 0 stake: alice keeps the key: {ev:?}");
    t.gov("bob", 20);
    t.gov("alice", 10);
    t.block_end(10);
    assert_eq!(sent(&t.block_end(15)), vec![vec![signer("bob", 1)]]);
}

/// Registrations with keys, stake, reports, an election, a drop and a deletion.
fn scenario(t: &mut T) -> Vec<NodesEvent> {
    let mut all = Vec::new();
    for (i, n) in ["alice", "bob", "carol", "dave"].into_iter().enumerate() {
        all.extend(add_ms(t, 2, n, i as u8 + 1));
    }
    for (n, g) in [("alice", 40), ("bob", 35), ("carol", 25), ("dave", 50)] {
        t.gov(n, g);
    }
    all.extend(t.block_end(10));
    let cid = t.chain_id();
    for (n, h) in [
        ("alice", [1; 32]),
        ("bob", [1; 32]),
        ("carol", [2; 32]),
        ("dave", [1; 32]),
    ] {
        all.extend(t.run(11, n, "report", sign_report(&cid, PREFIX, n, 10, h)));
    }
    all.extend(t.block_end(15));
    all.extend(t.run(16, "bob", "node_delete", json!({})));
    all.extend(t.block_end(20));
    all.extend(t.block_end(25));
    all
}

#[test]
fn without_multisig_nothing_is_sent_and_the_state_is_the_same_but_the_kept_list() {
    let mut with_ms = ms_harness();
    let mut plain = harness();
    assert_eq!(plain.module.sends_to(), ["token"]);
    let ev_ms = scenario(&mut with_ms);
    let ev_plain = scenario(&mut plain);

    assert_eq!(
        sent(&ev_ms).len(),
        5,
        "alice, bob, carol registered; the close; bob deleted"
    );
    assert!(sent(&ev_plain).is_empty());
    assert!(to_multisig(&plain, &ev_plain).is_empty());
    let others: Vec<NodesEvent> = ev_ms
        .into_iter()
        .filter(|e| !matches!(e, NodesEvent::SignersSent { .. } | NodesEvent::CollateralSent { .. }))
        .collect();
    assert_eq!(others, ev_plain, "every other event is the same");

    assert!(plain.state.get(keys::MS_SIGNERS).is_none());
    assert_eq!(
        views::signers_sent(&with_ms.state),
        vec![signer("alice", 1), signer("dave", 4)]
    );
    let mut pairs = with_ms.state.to_map();
    assert!(pairs.remove(keys::MS_SIGNERS).is_some());
    assert!(pairs.remove(keys::MS_COLLATERAL).is_some());
    assert!(plain.state.get(keys::MS_COLLATERAL).is_none());
    assert_eq!(pairs, plain.state.to_map());
    assert_eq!(
        opentoken_core::ModuleState::from_pairs(pairs).recompute_commitment(),
        plain.state.commitment()
    );
}
