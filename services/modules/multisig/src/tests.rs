//! Unit tests of routing and of `apply`'s own checks, on an in-memory state without the
//! engine (the engine-driven tests are in `tests/`).

use super::*;
use crate::keys::Coin;
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
        s.pairs()
    );
}
