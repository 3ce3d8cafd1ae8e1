//! The multi-sig module through the real engine: deposits, withdrawals, confirmations, the
//! views the API will serve, the feed lines, bounded histories, and that the stored events
//! rebuild the state (replay) and the same ops give the same hashes.

mod common;

use common::{deposit, deposit_hbd, pay, state, transfer, withdraw, MS};
use opentoken_core::test_utils::{assert_applied, TestNet};
use opentoken_core::{AssetSymbol, EventRecord, Module, ModuleState, Outcome, StateRead};
use opentoken_multisig::keys::{self, Coin, OutflowState, PaidOutflow};
use opentoken_multisig::views::{self, books_check, holdings, Balances};
use opentoken_multisig::{MultisigEvent, MultisigModule, Outflow, OutflowReason, NAME};
use serde_json::json;

fn summary(o: &Outcome) -> &str {
    match o {
        Outcome::Applied { summary } => summary,
        other => panic!("expected applied, got {other:?}"),
    }
}

fn bal(net: &TestNet, account: &str) -> (u64, u64) {
    let Balances { hive, hbd, .. } = views::balances(state(net), account).unwrap();
    (hive, hbd)
}

#[test]
fn a_deposit_is_credited_and_withdrawn_and_its_payment_confirmed() {
    let mut net = common::net();
    let b = net.run(
        NAME,
        vec![
            deposit("alice", 12_345, ""),
            deposit_hbd("alice", 3_000, "from my exchange"),
        ],
    );
    assert_eq!(summary(&b.status(0).outcome), "@alice deposited 12.345 HIVE");
    assert_eq!(summary(&b.status(1).outcome), "@alice deposited 3.000 HBD");
    assert_eq!(b.status(0).from, "alice");
    assert_eq!(b.status(0).op, "transfer");
    assert_eq!(bal(&net, "alice"), (12_345, 3_000));

    // A withdrawal to the signer by default, one to another account with a memo.
    let b = net.run(
        NAME,
        vec![
            withdraw("alice", r#"{"amount":345,"asset":"HIVE"}"#),
            withdraw(
                "alice",
                r#"{"amount":"1000","asset":"HBD","to":"bob","memo":"for the bike ✓"}"#,
            ),
        ],
    );
    assert_eq!(summary(&b.status(0).outcome), "@alice withdraws 0.345 HIVE (ot:0)");
    assert_eq!(
        summary(&b.status(1).outcome),
        "@alice withdraws 1.000 HBD to @bob (ot:1)"
    );
    assert_eq!(bal(&net, "alice"), (12_000, 2_000));
    let pending = views::pending_outflows(state(&net), 10).unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(
        pending[1].outflow,
        Outflow {
            to: "bob".into(),
            amount: 1_000,
            asset: Coin::Hbd,
            memo: "for the bike ✓ ot:1".into(),
            reason: OutflowReason::Withdrawal,
            created_block: 2,
            state: OutflowState::Pending,
            owner: Some("alice".into()),
        }
    );
    assert_eq!(pending[0].outflow.memo, "ot:0");
    assert_eq!(pending[0].outflow.to, "alice");
    let h = holdings(state(&net)).unwrap();
    assert_eq!((h.hive.held, h.hive.balances, h.hive.pending), (12_345, 12_000, 345));
    assert_eq!((h.hbd.held, h.hbd.balances, h.hbd.pending), (3_000, 2_000, 1_000));
    assert_eq!(h.outflows_queued, 2);

    // The runners pay ot:1 first: the queue is matched by id, not by order.
    let b = net.run(
        NAME,
        vec![transfer(MS, "bob", 1_000, AssetSymbol::Hbd, "for the bike ✓ ot:1")],
    );
    assert_eq!(summary(&b.status(0).outcome), "Paid 1.000 HBD to @bob (ot:1)");
    assert_eq!(b.status(0).from, MS);
    let paid = views::paid_history(state(&net), 10).unwrap();
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].seq, 1);
    assert_eq!(
        paid[0].paid,
        PaidOutflow {
            to: "bob".into(),
            amount: 1_000,
            asset: Coin::Hbd,
            memo: "for the bike ✓ ot:1".into(),
            reason: OutflowReason::Withdrawal,
            created_block: 2,
            paid_block: 3,
            txid: TestNet::txid(3, 0),
        }
    );
    let h = holdings(state(&net)).unwrap();
    assert_eq!((h.hbd.held, h.hbd.balances, h.hbd.pending), (2_000, 2_000, 0));
    assert_eq!(h.hive.held, 12_345, "the HIVE outflow is still owed");

    let b = net.run(NAME, vec![pay("alice", 345, "ot:0")]);
    assert_applied(&b.status(0).outcome, "ot:0 paid");
    assert!(views::pending_outflows(state(&net), 10).unwrap().is_empty());
    assert_eq!(views::pending_outflow(state(&net), 0).unwrap(), None);
    let h = holdings(state(&net)).unwrap();
    assert_eq!((h.hive.held, h.hive.pending, h.hive.unexplained_out), (12_000, 0, 0));
    assert!(books_check(state(&net)).unwrap().ok);
}

#[test]
fn refunds_and_anomalies_read_as_such() {
    let mut net = common::net();
    let b = net.run(NAME, vec![deposit("carol", 2_000, r#"{"dex":{"rate":"1"}}"#)]);
    assert_eq!(
        summary(&b.status(0).outcome),
        "Refunding 2.000 HIVE to @carol (ot:0): no module accepts dex yet"
    );
    let out = views::pending_outflow(state(&net), 0).unwrap().unwrap();
    assert_eq!(out.memo, "refund: no module accepts dex yet ot:0");
    assert_eq!(out.reason.to_string(), "refund:no module accepts dex yet");
    assert_eq!(bal(&net, "carol"), (0, 0));

    // The refund is confirmed like any outflow.
    let b = net.run(
        NAME,
        vec![pay("carol", 2_000, "refund: no module accepts dex yet ot:0")],
    );
    assert_eq!(summary(&b.status(0).outcome), "Paid 2.000 HIVE to @carol (ot:0)");
    let h = holdings(state(&net)).unwrap();
    assert_eq!((h.hive.held, h.hive.pending), (0, 0));

    // The same payment again is an anomaly.
    let b = net.run(
        NAME,
        vec![pay("carol", 2_000, "refund: no module accepts dex yet ot:0")],
    );
    assert_eq!(
        summary(&b.status(0).outcome),
        "Unmatched transfer of 2.000 HIVE to @carol: ot:0 is already paid"
    );
    let a = views::anomalies(state(&net), 10).unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].block, a[0].trx_in_block, a[0].op_in_trx), (3, 0, 0));
    assert_eq!(a[0].anomaly.txid, TestNet::txid(3, 0));
    let h = holdings(state(&net)).unwrap();
    assert_eq!((h.hive.held, h.hive.unexplained_out), (0, 2_000));
    assert_eq!(views::paid_history(state(&net), 10).unwrap().len(), 1, "paid once");

    // An anomaly's memo is kept only in part.
    let b = net.run(NAME, vec![pay("carol", 1, &"z".repeat(2_000))]);
    assert_applied(&b.status(0).outcome, "a long memo");
    let a = views::anomalies(state(&net), 10).unwrap();
    assert_eq!(a[1].anomaly.memo.len(), 256);
}

/// Deposits and withdrawals in one block apply in chain order, each seeing the last.
#[test]
fn ops_in_one_block_apply_in_chain_order() {
    let mut net = common::net();
    let b = net.run(
        NAME,
        vec![
            withdraw("dave", r#"{"amount":1000,"asset":"HIVE"}"#),
            deposit("dave", 1_000, ""),
            withdraw("dave", r#"{"amount":1000,"asset":"HIVE"}"#),
            withdraw("dave", r#"{"amount":1000,"asset":"HIVE"}"#),
        ],
    );
    let outcomes = b.outcomes();
    assert!(
        matches!(outcomes[0], Outcome::Rejected { .. }),
        "nothing to withdraw yet"
    );
    assert_applied(&outcomes[1], "deposit");
    assert_applied(&outcomes[2], "withdrawal of all of it");
    assert!(matches!(outcomes[3], Outcome::Rejected { .. }), "already withdrawn");
    // A payment in the same block as its withdrawal confirms it.
    let b = net.run(
        NAME,
        vec![
            deposit("erin", 500, ""),
            withdraw("erin", r#"{"amount":500,"asset":"HIVE"}"#),
            pay("erin", 500, "ot:1"),
            pay("erin", 500, "ot:1"),
        ],
    );
    assert_eq!(
        b.kinds(),
        vec!["Deposited", "WithdrawalQueued", "OutflowPaid", "OutflowAnomaly"]
    );
    assert!(
        state(&net).get(&keys::balance(Coin::Hive, "dave")).is_none(),
        "zero balances are deleted"
    );
    assert!(books_check(state(&net)).unwrap().ok);
}

#[test]
fn histories_keep_the_newest_entries() {
    let (mut net, _) = common::net_with(json!({"keep_paid": 3, "keep_anomalies": 2}));
    net.run(NAME, vec![deposit("alice", 100_000, "")]);
    for i in 0..6u64 {
        net.run(NAME, vec![withdraw("alice", r#"{"amount":10,"asset":"HIVE"}"#)]);
        net.run(NAME, vec![pay("alice", 10, &format!("ot:{i}")), pay("alice", 1, "tip")]);
    }
    let paid: Vec<u64> = views::paid_history(state(&net), 100)
        .unwrap()
        .iter()
        .map(|p| p.seq)
        .collect();
    assert_eq!(paid, vec![3, 4, 5]);
    let anomalies: Vec<u64> = views::anomalies(state(&net), 100)
        .unwrap()
        .iter()
        .map(|a| a.block)
        .collect();
    assert_eq!(anomalies, vec![11, 13]);
    let h = holdings(state(&net)).unwrap();
    assert_eq!((h.hive.held, h.hive.unexplained_out), (100_000 - 60, 6));
}

/// Every stored event, decoded and applied to an empty state from genesis on, rebuilds
/// exactly the state (and so the commitment) the engine reached: the events are the
/// books.
#[test]
fn replaying_the_events_rebuilds_the_state() {
    let (mut net, module) = common::net_with(json!({"min_deposit": 10, "keep_paid": 2, "keep_anomalies": 2}));
    let mut events: Vec<EventRecord> = net.genesis_output().events.clone();
    let blocks = vec![
        vec![
            deposit("alice", 10_000, ""),
            deposit_hbd("bob", 4_000, "hi"),
            deposit("carol", 5, ""),
        ],
        vec![
            withdraw("alice", r#"{"amount":1000,"asset":"HIVE","to":"bob"}"#),
            withdraw("bob", r#"{"amount":4000,"asset":"HBD","memo":"all"}"#),
            deposit("dave", 700, r#"{"nft":1}"#),
        ],
        vec![
            pay("bob", 1_000, "ot:1"),
            pay("bob", 999, "ot:1"),
            pay(
                "carol",
                5,
                "refund: 0.005 HIVE is below the minimum deposit of 0.010 HIVE ot:0",
            ),
        ],
        vec![
            transfer(MS, "bob", 4_000, AssetSymbol::Hbd, "all ot:2"),
            pay("dave", 700, "refund: no module accepts nft yet ot:3"),
        ],
        vec![
            pay("dave", 700, "refund: no module accepts nft yet ot:3"),
            pay("eve", 1, ""),
        ],
    ];
    for ops in blocks {
        let b = net.run(NAME, ops);
        events.extend(b.out.events.iter().cloned());
    }
    let kinds: std::collections::BTreeSet<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.len(), 5, "every kind of event is replayed: {kinds:?}");

    let mut rebuilt = ModuleState::new();
    for e in &events {
        let decoded: MultisigEvent = module.decode_event(&e.data).expect("stored events decode");
        assert_eq!(module.event_kind(&decoded), e.kind);
        module.apply(&decoded, &mut rebuilt).expect("stored events apply");
    }
    assert!(rebuilt.to_map() == state(&net).to_map(), "the replayed state differs");
    assert_eq!(rebuilt.commitment(), net.commitment(NAME));
    assert_eq!(rebuilt.recompute_commitment(), net.commitment(NAME));
    assert!(books_check(&rebuilt).unwrap().ok);
    // A replay that skips an event does not arrive at the same state.
    let mut partial = ModuleState::new();
    for e in events.iter().filter(|e| e.kind != "OutflowAnomaly") {
        module
            .apply(&module.decode_event(&e.data).unwrap(), &mut partial)
            .unwrap();
    }
    assert_ne!(partial.commitment(), net.commitment(NAME));
}

#[test]
fn the_same_ops_give_the_same_commitments_and_checkpoints() {
    let blocks = [
        vec![deposit("alice", 3_000, ""), deposit("bob", 1, "")],
        vec![
            withdraw("alice", r#"{"amount":1000,"asset":"HIVE"}"#),
            withdraw("bob", r#"{"amount":9,"asset":"HIVE"}"#),
        ],
        vec![pay("alice", 1_000, "ot:1")],
        vec![
            pay("alice", 1_000, "ot:1"),
            pay(
                "bob",
                1,
                "refund: 0.001 HIVE is below the minimum deposit of 0.010 HIVE ot:0",
            ),
        ],
    ];
    let mut a = common::net();
    let mut b = common::net();
    let (mut cps_a, mut cps_b) = (Vec::new(), Vec::new());
    for ops in &blocks {
        let out_a = a.run(NAME, ops.clone());
        let out_b = b.run(NAME, ops.clone());
        assert_eq!(out_a.out, out_b.out);
        let to = a.next_block() + 5;
        cps_a.extend(a.idle_until(to).into_iter().flat_map(|o| o.out.checkpoints));
        cps_b.extend(b.idle_range(to).checkpoints);
    }
    assert_eq!(a.commitment(NAME), b.commitment(NAME));
    assert!(!cps_a.is_empty());
    assert_eq!(cps_a, cps_b);
    // Another history gives another commitment.
    let mut c = common::net();
    c.run(NAME, vec![deposit("alice", 3_000, "")]);
    assert_ne!(c.commitment(NAME), a.commitment(NAME));
}

/// The module is registered nowhere yet; its config comes from the chain spec only, and
/// it takes the transfers the router gives it for the spec's `msaccount`.
#[test]
fn the_module_reads_its_account_from_the_chain_spec() {
    let (net, module) = common::net_with(json!({}));
    assert_eq!(module.config().account, net.spec().msaccount);
    assert_eq!(module.name(), NAME);
    let router_spec = net.spec().clone();
    let m: &MultisigModule = &module;
    assert!(m.accepts_hive_op(&deposit("alice", 1, ""), &router_spec));
    assert!(m.accepts_hive_op(&pay("alice", 1, ""), &router_spec));
}

/// The safety limit: no collateral, no room; the collateral at the chain's price bounds
/// what the account holds; deposits past it are refunded with the reason, withdrawals are
/// never limited; bad collateral messages change nothing.
#[test]
fn deposits_past_the_safety_limit_are_refunded() {
    use opentoken_multisig::views::{balances, pending_outflows, safety};
    let section = json!({"safety_price": {"HIVE": 1000, "HBD": 500}});
    let (mut net, module) = common::net_with(section);
    let refunded = |b: &opentoken_core::test_utils::BlockOutput| -> Vec<String> {
        b.out
            .events
            .iter()
            .filter_map(|e| match module.decode_event(&e.data).ok()? {
                MultisigEvent::Refunded { why, .. } => Some(why),
                _ => None,
            })
            .collect()
    };
    let b = net.run(NAME, vec![deposit("alice", 1_000, "")]);
    assert!(
        refunded(&b)[0].starts_with("over the safety limit"),
        "{:?}",
        refunded(&b)
    );
    // 10 whole tokens of collateral (precision 3): 10.000 HIVE, 5.000 HBD.
    net.deliver("nodes", NAME, "collateral", json!({"stake": 10_000}).to_string());
    // What the account holds counts the refund not yet paid: 1.000 + 6.000 + 3.000 is
    // exactly the limit; one more milli-HIVE is not.
    let b = net.run(
        NAME,
        vec![
            deposit("alice", 6_000, ""),
            deposit("bob", 3_000, ""),
            deposit("bob", 1, ""),
        ],
    );
    assert_eq!(b.kinds(), vec!["CollateralSet", "Deposited", "Deposited", "Refunded"]);
    let why = &refunded(&b)[0];
    assert!(
        why.contains("may hold 10.000 HIVE") && why.contains("holds 10.000 HIVE"),
        "{why}"
    );
    let b = net.run(NAME, vec![deposit_hbd("carol", 5_000, ""), deposit_hbd("carol", 1, "")]);
    assert_eq!(b.kinds(), vec!["Deposited", "Refunded"]);
    let v = safety(common::state(&net), module.config(), module.token_scale()).unwrap();
    assert_eq!(
        (v.collateral, v.limit_hive, v.limit_hbd),
        (Some(10_000), Some(10_000), Some(5_000))
    );
    // Bad collateral messages are refused and change nothing.
    let before = net.commitment(NAME);
    for payload in [
        "nope".to_string(),
        json!({}).to_string(),
        json!({"stake": -1}).to_string(),
        json!({"stake": 1.5}).to_string(),
        json!({"stake": "5"}).to_string(),
        json!({"stake": u64::MAX}).to_string(),
        json!({"stake": 5, "extra": 1}).to_string(),
        json!({"stake": 10_000}).to_string(),
    ] {
        net.deliver("nodes", NAME, "collateral", payload.clone());
        let b = net.run(NAME, vec![]);
        assert!(
            matches!(&b.statuses()[0].outcome, opentoken_core::Outcome::Rejected { .. }),
            "{payload}: {:?}",
            b.statuses()
        );
        assert_eq!(net.commitment(NAME), before, "{payload}");
    }
    // The collateral drops below what is held: deposits are refunded, withdrawals go on.
    net.deliver("nodes", NAME, "collateral", json!({"stake": 1_000}).to_string());
    let b = net.run(
        NAME,
        vec![
            deposit("alice", 1, ""),
            withdraw("alice", r#"{"amount":6000,"asset":"HIVE"}"#),
        ],
    );
    assert_eq!(b.kinds(), vec!["CollateralSet", "Refunded", "WithdrawalQueued"]);
    assert_eq!(balances(common::state(&net), "alice").unwrap().hive, 0);
    assert_eq!(
        pending_outflows(common::state(&net), 10).unwrap().len(),
        5,
        "4 refunds, 1 withdrawal"
    );
}
