//! Unit tests of routing and of `apply`'s own checks, on an in-memory state without the
//! engine (the engine-driven tests are in `tests/`).

use super::*;
use crate::keys::{Coin, Signer};
use crate::state::amount;
use opentoken_core::test_utils::{test_spec, ModuleHarness};
use opentoken_core::{Asset, AssetSymbol, ChainPos, CustomJsonOp, DelegateVestingSharesOp, ModuleState, TransferOp};
use serde_json::json;

fn module(section: serde_json::Value) -> MultisigModule {
    MultisigModule::from_spec(&test_spec().with_module(NAME, section)).expect("valid config")
}

fn transfer(from: &str, to: &str) -> HiveOp {
    HiveOp::Transfer(TransferOp {
        from: from.into(),
        to: to.into(),
        amount: Asset::new(1000, AssetSymbol::Hive),
        memo: String::new(),
    })
}

#[test]
fn it_takes_the_transfers_to_and_from_the_account_and_nothing_else() {
    let m = module(json!({}));
    let spec = test_spec();
    assert!(m.accepts_hive_op(&transfer("alice", "dlux-cc"), &spec));
    assert!(m.accepts_hive_op(&transfer("dlux-cc", "alice"), &spec));
    assert!(m.accepts_hive_op(&transfer("dlux-cc", "dlux-cc"), &spec));
    assert!(!m.accepts_hive_op(&transfer("alice", "bob"), &spec));
    assert!(
        !m.accepts_hive_op(&transfer("alice", "dlux-io"), &spec),
        "the leader is not the multi-sig"
    );
    assert!(!m.accepts_hive_op(&transfer("alice", "dlux-ccc"), &spec));
    assert!(!m.accepts_hive_op(
        &HiveOp::DelegateVestingShares(DelegateVestingSharesOp {
            delegator: "alice".into(),
            delegatee: "dlux-cc".into(),
            vesting_shares: Asset::new(1, AssetSymbol::Vests),
        }),
        &spec
    ));
    assert!(!m.accepts_hive_op(
        &HiveOp::CustomJson(CustomJsonOp {
            required_auths: vec!["dlux-cc".into()],
            required_posting_auths: vec![],
            id: "dlux_ms_withdraw".into(),
            json: "{}".into(),
        }),
        &spec
    ));
    assert!(!m.accepts_hive_op(
        &HiveOp::Other {
            name: "transfer_to_savings".into(),
            body: r#"{"from":"alice","to":"dlux-cc"}"#.into(),
        },
        &spec
    ));
    assert_eq!(m.routes(), ROUTES);
    assert_eq!(m.routes()[0].auth, Auth::Active);
}

fn queued(seq: u64, amount: u64) -> MultisigEvent {
    MultisigEvent::WithdrawalQueued {
        seq,
        account: "alice".into(),
        to: "bob".into(),
        asset: Coin::Hive,
        amount,
        memo: format!("ot:{seq}"),
        block: 1,
    }
}

fn deposited(amount: u64) -> MultisigEvent {
    MultisigEvent::Deposited {
        account: "alice".into(),
        asset: Coin::Hive,
        amount,
    }
}

fn paid(seq: u64, amount: u64) -> MultisigEvent {
    MultisigEvent::OutflowPaid {
        seq,
        to: "bob".into(),
        asset: Coin::Hive,
        amount,
        block: 2,
        txid: "tx".into(),
    }
}

fn try_apply(m: &MultisigModule, state: &mut ModuleState, e: &MultisigEvent) -> Result<(), InvariantError> {
    m.apply(e, state)
}

/// `apply` refuses what `handle` can never decide: it stops the processor instead of
/// committing books that do not balance.
#[test]
fn apply_refuses_impossible_events() {
    let m = module(json!({}));
    let mut s = ModuleState::new();
    try_apply(&m, &mut s, &deposited(5000)).unwrap();
    // Out of order, overdrawn, paid without being queued, paid twice, paid differently.
    assert!(try_apply(&m, &mut s, &queued(1, 10))
        .unwrap_err()
        .what
        .contains("next number is 0"));
    assert!(try_apply(&m, &mut s.clone(), &queued(0, 5001))
        .unwrap_err()
        .what
        .contains("negative"));
    assert!(try_apply(&m, &mut s.clone(), &paid(0, 10))
        .unwrap_err()
        .what
        .contains("not pending"));
    try_apply(&m, &mut s, &queued(0, 10)).unwrap();
    assert!(try_apply(&m, &mut s.clone(), &paid(0, 11))
        .unwrap_err()
        .what
        .contains("ot:0 is"));
    try_apply(&m, &mut s, &paid(0, 10)).unwrap();
    assert!(try_apply(&m, &mut s.clone(), &paid(0, 10))
        .unwrap_err()
        .what
        .contains("not pending"));
    assert!(try_apply(&m, &mut s.clone(), &deposited(i64::MAX as u64))
        .unwrap_err()
        .what
        .contains("overflows"));
    // Books that do not balance are caught after the event that finds them so.
    let mut broken_books = s.clone();
    broken_books.put(keys::held(Coin::Hive).to_vec(), keys::encode_u64(1));
    assert!(try_apply(&m, &mut broken_books, &deposited(1))
        .unwrap_err()
        .what
        .contains("held"));
    crate::apply::check_all_books(&s).unwrap();
    assert_eq!(amount(&s, &keys::held(Coin::Hive)), 4990);
}

/// The paid history and the anomaly records keep the newest `keep_*` entries; the count
/// keys follow, and the anomaly totals keep counting.
#[test]
fn histories_are_bounded() {
    let m = module(json!({"keep_paid": 2, "keep_anomalies": 1}));
    let mut h = ModuleHarness::new(
        m,
        test_spec().with_module(NAME, json!({"keep_paid": 2, "keep_anomalies": 1})),
    );
    h.apply(&[deposited(100)]);
    for seq in 0..5 {
        h.apply(&[queued(seq, 10), paid(seq, 10)]);
    }
    let kept: Vec<u64> = h
        .state
        .scan_prefix(keys::PAID_PREFIX)
        .filter_map(|(k, _)| keys::seq_of(k, keys::PAID_PREFIX))
        .collect();
    assert_eq!(kept, vec![3, 4]);
    assert_eq!(amount(&h.state, keys::PAID_COUNT), 2);
    for block in [7, 8, 9] {
        h.apply(&[MultisigEvent::OutflowAnomaly {
            pos: ChainPos::new(block, 0, 0),
            txid: "tx".into(),
            to: "bob".into(),
            asset: Coin::Hbd,
            amount: 3,
            memo: String::new(),
            why: "test".into(),
        }]);
    }
    let kept: Vec<ChainPos> = h
        .state
        .scan_prefix(keys::ANOMALY_PREFIX)
        .filter_map(|(k, _)| keys::pos_of(k))
        .collect();
    assert_eq!(kept, vec![ChainPos::new(9, 0, 0)]);
    assert_eq!(amount(&h.state, keys::ANOMALY_COUNT), 1);
    assert_eq!(amount(&h.state, &keys::total_anomalies(Coin::Hbd)), 9);

    let none = module(json!({"keep_paid": 0}));
    let mut s = ModuleState::new();
    for e in [deposited(10), queued(0, 10), paid(0, 10)] {
        try_apply(&none, &mut s, &e).unwrap();
    }
    assert_eq!(
        s.scan_prefix(b"").count(),
        1,
        "only the counter `seq` is left: {:?}",
        s.to_map()
    );
}

fn signers_set(names: &[&str]) -> MultisigEvent {
    let signers: Vec<Signer> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Signer {
            account: n.to_string(),
            key: opentoken_hive_tx::PrivateKey::from_secret([i as u8 + 1; 32])
                .unwrap()
                .public()
                .to_string(),
        })
        .collect();
    MultisigEvent::SignersSet {
        threshold: keys::threshold_of(signers.len()),
        signers,
    }
}

fn built(checkpoint: u64, seqs: Vec<u64>) -> MultisigEvent {
    MultisigEvent::TxBuilt {
        checkpoint,
        ref_block_num: checkpoint as u16,
        ref_block_prefix: 7,
        expiration: 1_000,
        seqs,
        digest: "00".repeat(32),
        txid: "11".repeat(20),
    }
}

fn signed(checkpoint: u64, account: &str) -> MultisigEvent {
    MultisigEvent::SignatureAccepted {
        checkpoint,
        account: account.into(),
        sig: "1f".repeat(65),
    }
}

/// The transaction events `handle` and the chron work never produce are refused by
/// `apply`: the processor stops instead of committing an outflow in two transactions, a
/// transaction closed with unpaid outflows, or a signature nobody verified.
#[test]
fn apply_refuses_impossible_transaction_events() {
    let m = module(json!({"max_outflows_per_tx": 2}));
    let mut s = ModuleState::new();
    for e in [deposited(5000), queued(0, 10), queued(1, 10), queued(2, 10)] {
        try_apply(&m, &mut s, &e).unwrap();
    }
    let fails = |s: &ModuleState, e: MultisigEvent, needle: &str| {
        let err = try_apply(&m, &mut s.clone(), &e).unwrap_err();
        assert!(
            err.what.contains(needle),
            "{e:?}: {:?} does not say {needle:?}",
            err.what
        );
    };
    fails(&s, built(10, vec![0]), "without signers");
    let mut unsorted = signers_set(&["bob", "alice"]);
    fails(&s, unsorted.clone(), "not sorted");
    if let MultisigEvent::SignersSet { signers, threshold } = &mut unsorted {
        signers.sort();
        *threshold = 1;
    }
    fails(&s, unsorted, "threshold 1 for 2");
    fails(
        &s,
        MultisigEvent::SignersSet {
            signers: vec![],
            threshold: 1,
        },
        "0 signers",
    );
    try_apply(&m, &mut s, &signers_set(&["alice", "bob", "carol"])).unwrap();
    fails(&s, built(10, vec![]), "0 outflows");
    fails(&s, built(10, vec![0, 1, 2]), "3 outflows");
    fails(&s, built(10, vec![1, 0]), "ascending");
    fails(&s, built(10, vec![0, 9]), "ot:9 is built but not unpaid");
    fails(&s, signed(10, "alice"), "not the open one");
    fails(&s, MultisigEvent::TxSettled { checkpoint: 10 }, "not the open one");
    try_apply(&m, &mut s, &built(10, vec![0, 1])).unwrap();
    fails(&s, built(20, vec![2]), "while that of 10 is open");
    fails(&s, signed(10, "erin"), "not a signer");
    fails(&s, signed(20, "alice"), "not the open one");
    let mut upper = signed(10, "alice");
    if let MultisigEvent::SignatureAccepted { sig, .. } = &mut upper {
        *sig = "1F".repeat(65);
    }
    fails(&s, upper, "lower-case hex");
    try_apply(&m, &mut s, &signed(10, "alice")).unwrap();
    fails(&s, signed(10, "alice"), "twice");
    fails(&s, MultisigEvent::TxSettled { checkpoint: 10 }, "unpaid");
    fails(
        &s,
        MultisigEvent::TxExpired {
            checkpoint: 10,
            seqs: vec![0],
        },
        "its unpaid outflows are [0, 1]",
    );
    // Paid by hand while in the transaction: the rest expires.
    try_apply(&m, &mut s, &paid(1, 10)).unwrap();
    fails(&s, MultisigEvent::TxSettled { checkpoint: 10 }, "[0] unpaid");
    try_apply(
        &m,
        &mut s,
        &MultisigEvent::TxExpired {
            checkpoint: 10,
            seqs: vec![0],
        },
    )
    .unwrap();
    assert!(s.get(&keys::tx(10)).is_none());
    assert!(s.get(&keys::sig(10, "alice")).is_none());
    let out: Outflow = serde_json::from_slice(s.get(&keys::outflow(0)).unwrap()).unwrap();
    assert_eq!(out.state, OutflowState::Pending);
    crate::apply::check_all_books(&s).unwrap();
}

/// An imported account's queued transfers are outflows from the start: held by the
/// account, owed to their recipients, paid like any other; a genesis that cannot be paid
/// refuses to start, naming the field.
#[test]
fn genesis_outflows_are_owed_from_the_start() {
    let spec = test_spec().with_module(
        NAME,
        json!({"genesis": {"outflows": [
            {"to": "alice", "asset": "HIVE", "amount": 1_500, "memo": "DLUX fill"},
            {"to": "bob", "asset": "HBD", "amount": 20},
        ]}}),
    );
    let h = ModuleHarness::new(MultisigModule::from_spec(&spec).expect("valid"), spec);
    assert_eq!(amount(&h.state, &keys::held(Coin::Hive)), 1_500);
    assert_eq!(amount(&h.state, &keys::held(Coin::Hbd)), 20);
    assert_eq!(amount(&h.state, &keys::total_pending(Coin::Hive)), 1_500);
    assert_eq!(
        amount(&h.state, &keys::total_balances(Coin::Hive)),
        0,
        "nobody's balance"
    );
    let first: keys::Outflow =
        serde_json::from_slice(h.state.get(&keys::outflow(0)).expect("outflow 0")).expect("json");
    assert_eq!(
        (first.to.as_str(), first.amount, first.memo.as_str()),
        ("alice", 1_500, "DLUX fill")
    );
    for (bad, named) in [
        (
            json!({"outflows": [{"to": "Not An Account", "asset": "HIVE", "amount": 1}]}),
            "genesis.outflows[0]",
        ),
        (
            json!({"outflows": [{"to": "alice", "asset": "HIVE", "amount": 0}]}),
            "genesis.outflows[0]",
        ),
        (
            json!({"outflows": [{"to": "alice", "asset": "VESTS", "amount": 1}]}),
            "VESTS",
        ),
        (
            json!({"dex_orders": [{"id": "x", "from": "alice", "pair": "HIVE", "side": "ask", "amount": 1,
                "price": 1, "expires": 50, "payout": "hive", "txid": "", "block": 0, "time": 0}]}),
            "genesis.dex_orders",
        ),
        (json!({"bogus": []}), "bogus"),
    ] {
        let spec = test_spec().with_module(NAME, json!({ "genesis": bad }));
        let err = MultisigModule::from_spec(&spec).map(|_| ()).expect_err("refused");
        assert!(err.why.contains(named), "{err}");
    }
}
