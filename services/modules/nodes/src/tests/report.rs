//! Reports and finality: more than 2/3 of the snapshotted runner stake on one hash.

use super::*;

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
fn a_checkpoint_at_the_end_of_the_u64_range_does_not_overflow() {
    let mut spec = spec();
    spec.checkpoint_interval = 5;
    let mut t = harness_with(spec);
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
    assert_eq!(t.module.next_due_block(&t.state, u64::MAX - 1), Some(u64::MAX));
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
            let mut t = harness_with(spec_with(
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

#[test]
fn outside_the_runner_set_only_staked_candidates_are_counted() {
    let mut t = harness_with(spec_with(json!({"report_window": 5, "min_candidate_stake": 10,
        "genesis": {"runners": ["alice", "bob", "carol"]}})));
    for n in ["alice", "bob", "carol", "dave", "erin"] {
        t.run(2, n, "node_add", add_payload(&t, n, 1));
    }
    for (n, g) in [("alice", 40), ("bob", 35), ("carol", 25), ("dave", 10), ("erin", 9)] {
        t.gov(n, g);
    }
    t.block_end(10);
    let cid = t.chain_id();
    let before = t.state.commitment();
    assert_reject(
        t.handle(11, "erin", "report", sign_report(&cid, PREFIX, "erin", 10, [1; 32])),
        RejectCode::InsufficientFunds,
        "@erin is not a runner of checkpoint 10 and holds 9 governance stake; a report from outside the runner set needs at least 10",
        "9 < 10",
    );
    assert_eq!(t.state.commitment(), before, "a refused report costs no state");
    let ev = t.run(11, "dave", "report", sign_report(&cid, PREFIX, "dave", 10, [1; 32]));
    assert!(matches!(ev[..], [NodesEvent::ReportAccepted { weight: 0, .. }]));
    // A runner needs no stake beyond its place in the set.
    t.message("token", "gov_removed", r#"{"account":"carol","amount":25}"#)
        .unwrap();
    t.run(11, "carol", "report", sign_report(&cid, PREFIX, "carol", 10, [1; 32]));
}

#[test]
fn a_report_writes_its_vote_and_one_stake_sum() {
    let mut t = three_runners();
    let cid = t.chain_id();
    let h = [0x11; 32];
    t.state.take_changes();
    t.run(11, "bob", "report", sign_report(&cid, PREFIX, "bob", 10, h));
    let written: Vec<Vec<u8>> = t.state.take_changes().into_iter().map(|(k, _)| k).collect();
    assert_eq!(written, vec![keys::hash_stake(10, &h), keys::vote(10, "bob")]);
    t.run(11, "dave", "report", sign_report(&cid, PREFIX, "dave", 10, h));
    let written: Vec<Vec<u8>> = t.state.take_changes().into_iter().map(|(k, _)| k).collect();
    assert_eq!(written, vec![keys::vote(10, "dave")], "a candidate adds no stake");
    t.run(12, "carol", "report", sign_report(&cid, PREFIX, "carol", 10, h));
    assert_eq!(
        t.state.get(&keys::hash_stake(10, &h)),
        Some(&60u64.to_be_bytes()[..]),
        "bob 35 + carol 25"
    );
    let tally = views::open_tally(&t.state).unwrap();
    assert_eq!(
        tally.votes.len(),
        3,
        "the view shows the votes as the tally once held them"
    );
    assert_eq!(tally.votes["dave"], hex::encode(h));
}

#[test]
fn a_tally_holding_votes_in_its_value_is_refused_not_guessed() {
    let mut t = three_runners();
    let mut tally = views::open_tally(&t.state).unwrap();
    tally.votes.insert("alice".into(), hex::encode([1u8; 32]));
    t.state.put(keys::tally(10), serde_json::to_vec(&tally).unwrap());
    let cid = t.chain_id();
    assert_reject(
        t.handle(11, "bob", "report", sign_report(&cid, PREFIX, "bob", 10, [1; 32])),
        RejectCode::BadMessage,
        "holds votes in the tally value",
        "the layout before",
    );
}
