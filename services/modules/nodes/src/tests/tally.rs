//! The tally: close (drops, election, counters), the next open, and when chron work is due.

use super::*;

#[test]
fn close_drops_disagreeing_runners_and_elects_one() {
    let mut t = three_runners();
    let (h, other) = ([0x11; 32], [0x22; 32]);
    reports(&mut t, 10, &[("alice", h), ("bob", h), ("carol", other), ("dave", h)]);
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
    assert!(t.module.messages(&ev[0]).is_empty(), "reward_per_win is 0");
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
    let mut t = harness();
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
    let mut t = harness();
    assert_eq!(t.module.next_due_block(&t.state, 0), Some(10));
    assert_eq!(t.module.next_due_block(&t.state, 9), Some(10));
    assert_eq!(t.module.next_due_block(&t.state, 10), Some(20));
    t.block_end(10);
    assert_eq!(t.module.next_due_block(&t.state, 10), Some(15));
    assert_eq!(t.module.next_due_block(&t.state, 14), Some(15));
    t.block_end(15);
    assert_eq!(t.module.next_due_block(&t.state, 15), Some(20));
    assert_eq!(t.module.next_due_block(&t.state, u64::MAX), None);
}

#[test]
fn window_equal_to_the_interval_closes_and_opens_in_one_block() {
    let mut t = harness_with(spec_with(
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

#[test]
fn a_close_deletes_the_votes_and_stake_sums_of_its_checkpoint() {
    let mut t = three_runners();
    let cid = t.chain_id();
    for (n, h) in [
        ("alice", [1; 32]),
        ("bob", [1; 32]),
        ("carol", [2; 32]),
        ("dave", [1; 32]),
    ] {
        t.run(11, n, "report", sign_report(&cid, PREFIX, n, 10, h));
    }
    assert_eq!(t.state.scan_prefix(b"vote/").count(), 4);
    assert_eq!(t.state.scan_prefix(b"stake/").count(), 2);
    t.block_end(15);
    assert_eq!(t.state.scan_prefix(b"vote/").count(), 0);
    assert_eq!(t.state.scan_prefix(b"stake/").count(), 0);
    assert_eq!(t.state.scan_prefix(b"tally/").count(), 0);
}

#[test]
fn only_the_newest_keep_finals_finals_are_kept() {
    let mut t = harness_with(spec_with(json!({"report_window": 5, "keep_finals": 2,
        "genesis": {"runners": ["alice"]}})));
    t.run(2, "alice", "node_add", add_payload(&t, "alice", 1));
    t.gov("alice", 10);
    let cid = t.chain_id();
    for cp in [10u64, 20, 30, 40] {
        t.block_end(cp);
        let h = [cp as u8; 32];
        t.run(cp + 1, "alice", "report", sign_report(&cid, PREFIX, "alice", cp, h));
        t.block_end(cp + 5);
    }
    let finals: Vec<u64> = t
        .state
        .scan_prefix(keys::FINAL_PREFIX.as_bytes())
        .filter_map(|(k, _)| keys::block_of(k, keys::FINAL_PREFIX))
        .collect();
    assert_eq!(finals, vec![30, 40]);
    assert_eq!(views::finals(&t.state, 16), vec![(40, [40; 32]), (30, [30; 32])]);
    assert_eq!(views::last_final(&t.state), Some((40, [40; 32])));
    assert_eq!(views::final_hash(&t.state, 10), None, "pruned");
}

/// On a chain whose token module runs the economy, a final tally sends the runners that
/// agreed (a win each) and the runner set's plain average `bidRate` to the token module;
/// a tally without finality sends nothing, and a chain without the economy never does.
#[test]
fn a_final_tally_sends_its_wins_to_the_token_economy() {
    let economy = spec().with_module(
        "token",
        json!({"power_down_interval": 1, "gov_down_interval": 1, "economy": {"interest_rate": 100}}),
    );
    let mut t = harness_with(economy);
    let payload = |t: &T, n: &str, rate: u64| with(add_payload(t, n, 1), "bidRate", json!(rate));
    for (n, rate) in [("alice", 600), ("bob", 1000), ("carol", 100), ("dave", 900)] {
        let p = payload(&t, n, rate);
        t.run(2, n, "node_add", p);
    }
    for (n, g) in [("alice", 40), ("bob", 35), ("carol", 25), ("dave", 50)] {
        t.gov(n, g);
    }
    t.block_end(10);
    let (h, other) = ([0x11; 32], [0x22; 32]);
    reports(&mut t, 10, &[("alice", h), ("bob", h), ("carol", other), ("dave", h)]);
    let ev = t.block_end(15);
    // The set after the close: alice, bob and the elected dave: (600 + 1000 + 900) / 3 = 833.
    let wins = NodesEvent::WinsSent {
        accounts: vec!["alice".into(), "bob".into()],
        node_rate: 833,
    };
    assert_eq!(ev.get(1), Some(&wins), "{ev:?}");
    let sent = t.module.messages(&wins);
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].to.as_str(), sent[0].kind.as_str()), ("token", "runner_wins"));
    assert_eq!(sent[0].payload, r#"{"accounts":["alice","bob"],"node_rate":833}"#);
    // No reports for checkpoint 20: no finality, no wins.
    let ev = t.block_end(25);
    assert!(!ev.iter().any(|e| matches!(e, NodesEvent::WinsSent { .. })), "{ev:?}");

    // The same tally on a chain without the economy sends no wins.
    let mut plain = three_runners();
    reports(&mut plain, 10, &[("alice", h), ("bob", h)]);
    let ev = plain.block_end(15);
    assert!(!ev.iter().any(|e| matches!(e, NodesEvent::WinsSent { .. })), "{ev:?}");
}
