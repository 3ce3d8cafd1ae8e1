//! The multi-sig transaction through the real engine: the signers, building at checkpoint
//! blocks (and only there), the bytes against a hand-built transaction, signatures from
//! real keys, assembly, settlement, expiry and rebuilding, a transaction paid in part, and
//! that idle ranges and replay reach the same state.

mod common;

use common::{
    deposit, deposit_hbd, hex, high_s, key, pay, set_all_signers, sign, signature, signers_payload, state, transfer,
    withdraw, MS, RUNNERS,
};
use opentoken_core::test_utils::{block_id, block_time, posting_op, BlockOutput, ModuleHarness, TestNet};
use opentoken_core::{Asset, AssetSymbol, EventRecord, HiveOp, Module, ModuleState, Outcome, RejectCode, StateRead};
use opentoken_hive_tx::{Operation, Packing, PublicKey, Signature, Transaction, MAINNET_CHAIN_ID};
use opentoken_multisig::keys::{self, Coin, OutflowState, Signer};
use opentoken_multisig::views::{self, assemble, books_check, open_transaction, OpenTxView};
use opentoken_multisig::{MultisigEvent, MultisigModule, NAME};
use serde_json::json;

fn decoded(module: &MultisigModule, events: &[EventRecord]) -> Vec<MultisigEvent> {
    events
        .iter()
        .map(|e| module.decode_event(&e.data).expect("events decode"))
        .collect()
}

/// Runs empty blocks one at a time through `last`; the events of each block that had any.
fn run_to(net: &mut TestNet, module: &MultisigModule, last: u64) -> Vec<(u64, Vec<MultisigEvent>)> {
    net.idle_until(last)
        .into_iter()
        .filter(|b| !b.out.events.is_empty())
        .map(|b| (b.block, decoded(module, &b.out.events)))
        .collect()
}

/// The transfers from the account that pay the outflows of `v`, as Hive would carry them.
fn payments(v: &OpenTxView) -> Vec<HiveOp> {
    v.outflows
        .iter()
        .map(|p| {
            let o = &p.outflow;
            transfer(MS, &o.to, o.amount as i64, o.asset.asset(), &o.memo)
        })
        .collect()
}

fn view(net: &TestNet) -> OpenTxView {
    open_transaction(state(net), MS)
        .expect("the view reads")
        .expect("a transaction is open")
}

/// Signers alice, bob, carol, dave (3 of 4 sign); alice holds 10.000 HIVE and 5.000 HBD and
/// withdrew 1.000 HIVE to bob (`rent ot:0`) and 2.000 HBD (`ot:1`) in block 2; block 3 is
/// next.
fn prepared(section: serde_json::Value) -> (TestNet, std::sync::Arc<MultisigModule>) {
    let (mut net, module) = common::net_with(section);
    set_all_signers(&mut net);
    let b = net.run(
        NAME,
        vec![deposit("alice", 10_000, ""), deposit_hbd("alice", 5_000, "")],
    );
    assert_eq!(b.kinds(), vec!["SignersSet", "Deposited", "Deposited"]);
    let b = net.run(
        NAME,
        vec![
            withdraw("alice", r#"{"amount":1000,"asset":"HIVE","to":"bob","memo":"rent"}"#),
            withdraw("alice", r#"{"amount":2000,"asset":"HBD"}"#),
        ],
    );
    assert_eq!(b.kinds(), vec!["WithdrawalQueued"; 2]);
    (net, module)
}

fn built(e: &MultisigEvent) -> (u64, Vec<u64>) {
    match e {
        MultisigEvent::TxBuilt { checkpoint, seqs, .. } => (*checkpoint, seqs.clone()),
        other => panic!("expected TxBuilt, got {other:?}"),
    }
}

#[test]
fn a_transaction_is_built_at_a_checkpoint_with_its_header_and_only_there() {
    let (mut net, module) = prepared(json!({}));
    let happened = run_to(&mut net, &module, 19);
    assert_eq!(happened.len(), 1, "{happened:?}");
    let (block, events) = &happened[0];
    assert_eq!(*block, 10, "the first checkpoint after the withdrawals");
    assert_eq!(events.len(), 1);
    assert_eq!(built(&events[0]), (10, vec![0, 1]));
    let MultisigEvent::TxBuilt {
        ref_block_num,
        ref_block_prefix,
        expiration,
        ..
    } = &events[0]
    else {
        unreachable!()
    };
    let id = common::hex_bytes(&block_id(10));
    assert_eq!(*ref_block_num, 10);
    assert_eq!(*ref_block_prefix, u32::from_le_bytes([id[4], id[5], id[6], id[7]]));
    assert_eq!(*expiration, block_time(10) + 3000);
    for seq in [0, 1] {
        let out = views::pending_outflow(state(&net), seq).unwrap().unwrap();
        assert_eq!(out.state, OutflowState::InTx(10), "ot:{seq}");
    }
    let v = view(&net);
    assert_eq!((v.tx.checkpoint, v.threshold, v.ready), (10, 3, false));
    assert_eq!(v.outflows.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![0, 1]);
    assert!(v.signatures.is_empty() && v.paid.is_empty());
    assert!(assemble(&v).is_none(), "no signatures yet");
    // One open at a time: a new outflow waits for the next transaction.
    net.run(NAME, vec![withdraw("alice", r#"{"amount":500,"asset":"HIVE"}"#)]);
    assert!(run_to(&mut net, &module, 40).is_empty(), "nothing until this one ends");
    assert_eq!(
        views::pending_outflow(state(&net), 2).unwrap().unwrap().state,
        OutflowState::Pending
    );
    assert!(books_check(state(&net)).unwrap().ok);
}

/// Chron work builds only at a checkpoint, only with the block's header, only with signers
/// and only with something to pay.
#[test]
fn nothing_is_built_without_a_header_signers_or_outflows() {
    let spec = common::spec(json!({}));
    let module = MultisigModule::from_spec(&spec).unwrap();
    let mut h = ModuleHarness::new(module, spec);
    h.apply(&[
        MultisigEvent::Deposited {
            account: "alice".into(),
            asset: Coin::Hive,
            amount: 5_000,
        },
        MultisigEvent::WithdrawalQueued {
            seq: 0,
            account: "alice".into(),
            to: "bob".into(),
            asset: Coin::Hive,
            amount: 1_000,
            memo: "ot:0".into(),
            block: 1,
        },
    ]);
    assert!(
        h.block_end_with_header(10, &block_id(10), block_time(10)).is_empty(),
        "no signers"
    );
    h.message("nodes", "signers", &signers_payload(&[0, 1])).unwrap();
    assert!(h.block_end(10).is_empty(), "a checkpoint without its header");
    assert!(
        h.block_end_with_header(11, &block_id(11), block_time(11)).is_empty(),
        "not a checkpoint"
    );
    let events = h.block_end_with_header(20, &block_id(20), block_time(20));
    assert_eq!(built(&events[0]), (20, vec![0]));
    // Nothing to pay: nothing built.
    let spec = common::spec(json!({}));
    let mut empty = ModuleHarness::new(MultisigModule::from_spec(&spec).unwrap(), spec);
    empty.message("nodes", "signers", &signers_payload(&[0])).unwrap();
    assert!(empty
        .block_end_with_header(10, &block_id(10), block_time(10))
        .is_empty());
}

/// A malformed block id cannot come from a verified block: the processor stops.
#[test]
fn a_malformed_block_id_is_an_invariant_error() {
    let spec = common::spec(json!({}));
    let module = MultisigModule::from_spec(&spec).unwrap();
    let mut h = ModuleHarness::new(module, spec.clone());
    h.message("nodes", "signers", &signers_payload(&[0])).unwrap();
    h.apply(&[
        MultisigEvent::Deposited {
            account: "alice".into(),
            asset: Coin::Hive,
            amount: 5_000,
        },
        MultisigEvent::WithdrawalQueued {
            seq: 0,
            account: "alice".into(),
            to: "bob".into(),
            asset: Coin::Hive,
            amount: 1_000,
            memo: "ot:0".into(),
            block: 1,
        },
    ]);
    for bad in ["zz".repeat(20), "00".repeat(19), String::new()] {
        let ctx = opentoken_core::BlockContext {
            block: 10,
            spec: &spec,
            header: Some(opentoken_core::BlockHeader {
                id: &bad,
                timestamp: block_time(10),
            }),
        };
        let err = h.module.on_block(&ctx, &h.state).unwrap_err();
        assert!(err.what.contains("block 10's id"), "{bad:?}: {}", err.what);
    }
}

/// Golden: the module's transaction is the one built by hand with `opentoken_hive_tx` from
/// the same fields: a real mainnet block id as reference, outflows of both coins, the
/// oldest `max_outflows_per_tx` only.
#[test]
fn the_built_transaction_is_the_hand_built_one() {
    let spec = common::spec(json!({"max_outflows_per_tx": 2, "tx_expiration_secs": 600}));
    let module = MultisigModule::from_spec(&spec).unwrap();
    let mut h = ModuleHarness::new(module, spec);
    h.message("nodes", "signers", &signers_payload(&[2, 0, 1])).unwrap();
    let deposit = |asset, amount| MultisigEvent::Deposited {
        account: "alice".into(),
        asset,
        amount,
    };
    h.apply(&[deposit(Coin::Hive, 50_000), deposit(Coin::Hbd, 50_000)]);
    let queue = [
        ("bob", Coin::Hive, 1_234, "rent ✓ ot:0"),
        ("carol", Coin::Hbd, 20_000, "ot:1"),
        ("dave", Coin::Hive, 1, "ot:2"),
    ];
    for (seq, (to, asset, amount, memo)) in queue.iter().enumerate() {
        h.apply(&[MultisigEvent::WithdrawalQueued {
            seq: seq as u64,
            account: "alice".into(),
            to: to.to_string(),
            asset: *asset,
            amount: *amount,
            memo: memo.to_string(),
            block: 5,
        }]);
    }
    let block = 97_477_290;
    let id = "05cf62ac1a9fc9b50087e9f65e3f970eb09b72ce";
    let time = opentoken_core::hive_json::parse_timestamp("2025-07-08T23:19:25").unwrap();
    let events = h.block_end_with_header(block, id, time);
    let by_hand = Transaction {
        ref_block_num: (block & 0xffff) as u16,
        ref_block_prefix: 0xb5c9_9f1a,
        expiration: (time + 600) as u32,
        operations: vec![
            Operation::Transfer {
                from: "dlux-cc".into(),
                to: "bob".into(),
                amount: Asset::new(1_234, AssetSymbol::Hive),
                memo: "rent ✓ ot:0".into(),
            },
            Operation::Transfer {
                from: "dlux-cc".into(),
                to: "carol".into(),
                amount: Asset::new(20_000, AssetSymbol::Hbd),
                memo: "ot:1".into(),
            },
        ],
    };
    let digest = by_hand.sig_digest(&MAINNET_CHAIN_ID, Packing::Legacy);
    assert_eq!(
        events,
        vec![MultisigEvent::TxBuilt {
            checkpoint: block,
            ref_block_num: 25_258,
            ref_block_prefix: 3_049_889_562,
            expiration: time + 600,
            seqs: vec![0, 1],
            digest: hex(&digest),
            txid: by_hand.id(Packing::Legacy),
        }]
    );
    // Pinned, so that the serializer and the builder cannot drift together unnoticed.
    assert_eq!(by_hand.id(Packing::Legacy), GOLDEN_TXID);
    assert_eq!(hex(&digest), GOLDEN_DIGEST);
    let v = open_transaction(&h.state, MS).unwrap().unwrap();
    assert_eq!(v.tx.txid, GOLDEN_TXID);
    assert_eq!(v.outflows.len(), 2);
    assert_eq!(
        views::pending_outflow(&h.state, 2).unwrap().unwrap().state,
        OutflowState::Pending,
        "the third waits"
    );
    // Signed by all three (3 of 3 needed), assembled: the hand-built transaction.
    for i in [0, 1, 2] {
        let sig = hex(key(i).sign(&digest).as_bytes());
        h.run(
            block + 1,
            RUNNERS[i],
            "ms_sign",
            json!({"checkpoint": block, "sig": sig}),
        );
    }
    let v = open_transaction(&h.state, MS).unwrap().unwrap();
    let signed = assemble(&v).expect("ready");
    assert_eq!(signed["ref_block_num"], 25_258);
    assert_eq!(signed["expiration"], "2025-07-08T23:29:25");
    assert_eq!(signed["operations"][1][1]["amount"], "20.000 HBD");
    assert_eq!(Transaction::from_json(&signed).unwrap(), by_hand);
}

const GOLDEN_TXID: &str = "58c13f3bcfc728db94863cf714fd7e39de67e677";
const GOLDEN_DIGEST: &str = "285ec664d6dd604cd717f5a252c4d4d05727ef7e47b17d22cf0d406a436e5414";

/// Each signer's own signature of the digest is accepted; the assembled transaction has
/// exactly `threshold` of them, in account order, each recovering to a signer's key; its
/// transfers on chain pay the outflows, and the next checkpoint settles it and builds the
/// next one.
#[test]
fn real_signatures_assemble_and_the_payment_settles_it() {
    let (mut net, module) = prepared(json!({}));
    run_to(&mut net, &module, 10);
    let v = view(&net);
    let digest = v.tx.digest.clone();
    // dave, carol, alice sign (not in account order), then bob.
    for (n, i) in [3usize, 2, 0, 1].into_iter().enumerate() {
        let b = net.run(NAME, vec![sign(RUNNERS[i], 10, &signature(i, &digest))]);
        assert_eq!(
            b.kinds(),
            vec!["SignatureAccepted"],
            "{}: {:?}",
            RUNNERS[i],
            b.outcomes()
        );
        let v = view(&net);
        assert_eq!(v.signatures.len(), n + 1);
        assert_eq!(v.ready, n + 1 >= 3, "after {} signatures", n + 1);
    }
    let v = view(&net);
    let names: Vec<&str> = v.signatures.iter().map(|s| s.account.as_str()).collect();
    assert_eq!(names, RUNNERS, "account order, all four kept");
    let signed = assemble(&v).expect("ready");
    let sigs = signed["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 3, "exactly the threshold");
    let digest_bytes: [u8; 32] = common::hex_bytes(&digest).try_into().unwrap();
    let tx = Transaction::from_json(&signed).expect("condenser JSON reads back");
    assert_eq!(tx.id(Packing::Legacy), v.tx.txid);
    assert_eq!(hex(&tx.sig_digest(&MAINNET_CHAIN_ID, Packing::Legacy)), digest);
    let recovered: Vec<PublicKey> = sigs
        .iter()
        .map(|s| {
            let sig = Signature::from_hex(s.as_str().unwrap()).unwrap();
            assert!(sig.is_low_s());
            sig.recover(&digest_bytes).unwrap()
        })
        .collect();
    let expected: Vec<PublicKey> = [0, 1, 2].iter().map(|i| key(*i).public()).collect();
    assert_eq!(
        recovered, expected,
        "alice, bob, carol: the first three in account order"
    );
    // Every node assembles the same bytes.
    let (mut twin, twin_module) = prepared(json!({}));
    run_to(&mut twin, &twin_module, 10);
    for i in [1usize, 3, 0, 2] {
        twin.run(NAME, vec![sign(RUNNERS[i], 10, &signature(i, &digest))]);
    }
    assert_eq!(assemble(&view(&twin)), Some(signed.clone()));

    // The transaction lands (its transfers in one block), then a new outflow is queued.
    let b = net.run(NAME, payments(&v));
    assert_eq!(b.kinds(), vec!["OutflowPaid"; 2]);
    net.run(NAME, vec![withdraw("alice", r#"{"amount":700,"asset":"HIVE"}"#)]);
    assert!(view(&net).paid == vec![0, 1] && !view(&net).ready);
    let happened = run_to(&mut net, &module, 20);
    assert_eq!(happened.len(), 1);
    let (block, events) = &happened[0];
    assert_eq!(*block, 20);
    assert_eq!(events[0], MultisigEvent::TxSettled { checkpoint: 10 });
    assert_eq!(built(&events[1]), (20, vec![2]));
    let s = state(&net);
    assert!(s.get(&keys::tx(10)).is_none());
    assert_eq!(s.scan_prefix(&keys::sigs_of(10)).count(), 0, "its signatures are gone");
    assert!(books_check(s).unwrap().ok);
    let h = views::holdings(s).unwrap();
    assert_eq!((h.hive.held, h.hive.pending), (9_000, 700));
}

/// A signature for the old transaction is refused once it expired, and a new one is
/// accepted for the transaction that replaced it.
#[test]
fn expiry_returns_the_outflows_and_the_same_checkpoint_rebuilds_them() {
    let (mut net, module) = prepared(json!({"tx_expiration_secs": 60}));
    run_to(&mut net, &module, 10);
    let old = view(&net);
    assert_eq!(old.tx.expiration, block_time(30));
    net.run(NAME, vec![sign("alice", 10, &signature(0, &old.tx.digest))]);
    // At 20 and at 30 (time == expiration) it could still land; at 40 it cannot.
    let happened = run_to(&mut net, &module, 40);
    assert_eq!(happened.len(), 1, "{happened:?}");
    let (block, events) = &happened[0];
    assert_eq!(*block, 40);
    assert_eq!(
        events[0],
        MultisigEvent::TxExpired {
            checkpoint: 10,
            seqs: vec![0, 1]
        }
    );
    assert_eq!(built(&events[1]), (40, vec![0, 1]), "rebuilt in the same chron work");
    let new = view(&net);
    assert_eq!(new.tx.ref_block_num, 40);
    let id = common::hex_bytes(&block_id(40));
    assert_eq!(
        new.tx.ref_block_prefix,
        u32::from_le_bytes([id[4], id[5], id[6], id[7]])
    );
    assert_eq!(new.tx.expiration, block_time(40) + 60);
    assert_ne!(new.tx.txid, old.tx.txid);
    assert_ne!(new.tx.digest, old.tx.digest);
    assert!(
        new.signatures.is_empty(),
        "the old signatures went with the old transaction"
    );
    assert!(state(&net).get(&keys::sig(10, "alice")).is_none());
    for seq in [0, 1] {
        let out = views::pending_outflow(state(&net), seq).unwrap().unwrap();
        assert_eq!(out.state, OutflowState::InTx(40));
    }
    let b = net.run(NAME, vec![sign("bob", 10, &signature(1, &old.tx.digest))]);
    match &b.status(0).outcome {
        Outcome::Rejected { code, reason } => {
            assert_eq!(*code, RejectCode::InvalidField);
            assert!(reason.contains("the open one is checkpoint 40"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let b = net.run(
        NAME,
        vec![
            sign("alice", 40, &signature(0, &new.tx.digest)),
            // The old signature for the new checkpoint signs another digest.
            sign("bob", 40, &signature(1, &old.tx.digest)),
        ],
    );
    assert_eq!(b.kinds(), vec!["SignatureAccepted"]);
    assert!(books_check(state(&net)).unwrap().ok);
}

/// Someone pays one outflow of the open transaction by hand: broadcasting the transaction
/// would pay it twice, so it is never assembled; it expires, and the rest are rebuilt.
#[test]
fn a_partly_paid_transaction_is_not_assembled_and_the_rest_is_rebuilt() {
    let (mut net, module) = prepared(json!({"tx_expiration_secs": 60}));
    net.run(NAME, vec![withdraw("alice", r#"{"amount":300,"asset":"HIVE"}"#)]);
    run_to(&mut net, &module, 10);
    let v = view(&net);
    assert_eq!(v.tx.seqs, vec![0, 1, 2]);
    for (i, runner) in RUNNERS.iter().enumerate() {
        net.run(NAME, vec![sign(runner, 10, &signature(i, &v.tx.digest))]);
    }
    assert!(view(&net).ready);
    let b = net.run(NAME, vec![transfer(MS, "alice", 2_000, AssetSymbol::Hbd, "ot:1")]);
    assert_eq!(b.kinds(), vec!["OutflowPaid"]);
    let v = view(&net);
    assert_eq!((v.paid.clone(), v.ready), (vec![1], false));
    assert_eq!(v.signatures.len(), 4);
    assert!(assemble(&v).is_none(), "it would pay ot:1 twice");
    // Neither settled nor expired at 20 and 30.
    let happened = run_to(&mut net, &module, 40);
    assert_eq!(happened.len(), 1);
    assert_eq!(happened[0].0, 40);
    assert_eq!(
        happened[0].1[0],
        MultisigEvent::TxExpired {
            checkpoint: 10,
            seqs: vec![0, 2]
        }
    );
    assert_eq!(built(&happened[0].1[1]), (40, vec![0, 2]));
    assert!(books_check(state(&net)).unwrap().ok);
}

fn reason(b: &opentoken_core::test_utils::BlockOutput) -> (RejectCode, String) {
    match &b.status(0).outcome {
        Outcome::Rejected { code, reason } => (*code, reason.clone()),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Every bad signature is refused with its reason and changes nothing, and the state is
/// that of a node that never saw it.
#[test]
fn bad_signatures_are_rejected_with_a_reason_and_change_nothing() {
    let section = json!({"tx_expiration_secs": 60});
    // The transaction of 10 expired at 40 and was rebuilt; alice signed the new one.
    let prepare = || {
        let (mut net, module) = prepared(section.clone());
        run_to(&mut net, &module, 10);
        let old = view(&net).tx.digest;
        run_to(&mut net, &module, 40);
        let v = view(&net);
        assert_eq!(v.tx.checkpoint, 40);
        let b = net.run(NAME, vec![sign("alice", 40, &signature(0, &v.tx.digest))]);
        assert_eq!(b.kinds(), vec!["SignatureAccepted"]);
        (net, v.tx.digest, old)
    };
    let (_, digest, old) = prepare();
    let good = signature(1, &digest);
    assert!(
        Signature::from_hex(&high_s(&good)).unwrap().recover(&{
            let d: [u8; 32] = common::hex_bytes(&digest).try_into().unwrap();
            d
        }) == Ok(key(1).public())
    );
    let other_digest = hex(&[7u8; 32]);
    let mut bad_header = common::hex_bytes(&good);
    bad_header[0] = 0;
    let mut zero_r = common::hex_bytes(&good);
    zero_r[1..33].fill(0);
    let erin = opentoken_hive_tx::PrivateKey::from_secret([9; 32]).unwrap();
    let erin_sig = hex(erin.sign(&common::hex_bytes(&digest).try_into().unwrap()).as_bytes());
    use RejectCode::*;
    let cases: Vec<(&str, opentoken_core::HiveOp, RejectCode, &str)> = vec![
        (
            "a non-signer",
            sign("erin", 40, &erin_sig),
            InvalidAccount,
            "not one of the signers",
        ),
        (
            "a duplicate",
            sign("alice", 40, &signature(0, &digest)),
            NothingToDo,
            "already signed",
        ),
        (
            "another digest",
            sign("bob", 40, &signature(1, &other_digest)),
            InvalidField,
            "not by @bob's key",
        ),
        (
            "another signer's key",
            sign("bob", 40, &signature(2, &digest)),
            InvalidField,
            "not by @bob's key",
        ),
        ("high S", sign("bob", 40, &high_s(&good)), InvalidField, "not canonical"),
        (
            "garbage hex",
            sign("bob", 40, &"zz".repeat(65)),
            InvalidField,
            "lower-case hex",
        ),
        (
            "upper-case hex",
            sign("bob", 40, &good.to_uppercase()),
            InvalidField,
            "lower-case hex",
        ),
        (
            "too short",
            sign("bob", 40, &good[..128]),
            InvalidField,
            "130 hex digits",
        ),
        (
            "too long",
            sign("bob", 40, &format!("{good}00")),
            InvalidField,
            "130 hex digits",
        ),
        (
            "an unknown checkpoint",
            sign("bob", 50, &good),
            InvalidField,
            "checkpoint 50 has no open transaction",
        ),
        (
            "the expired transaction",
            sign("bob", 10, &signature(1, &old)),
            InvalidField,
            "the open one is checkpoint 40",
        ),
        (
            "posting authority",
            posting_op("bob", "ms_sign", &json!({"checkpoint": 40, "sig": good}).to_string()),
            WrongAuthority,
            "active",
        ),
        (
            "a bad header byte",
            sign("bob", 40, &hex(&bad_header)),
            InvalidField,
            "header byte",
        ),
        ("a zero r", sign("bob", 40, &hex(&zero_r)), InvalidField, "recover"),
        (
            "checkpoint as a string",
            opentoken_core::test_utils::op("bob", "ms_sign", &json!({"checkpoint": "40", "sig": good}).to_string()),
            InvalidField,
            "must be a block number",
        ),
        (
            "an unknown field",
            opentoken_core::test_utils::op(
                "bob",
                "ms_sign",
                &json!({"checkpoint": 40, "sig": good, "block": 1}).to_string(),
            ),
            InvalidField,
            "unknown field `block`",
        ),
        (
            "no signature",
            opentoken_core::test_utils::op("bob", "ms_sign", r#"{"checkpoint":40}"#),
            InvalidField,
            "`sig` is missing",
        ),
        (
            "a negative checkpoint",
            opentoken_core::test_utils::op("bob", "ms_sign", &json!({"checkpoint": -40, "sig": good}).to_string()),
            InvalidField,
            "non-negative",
        ),
        (
            "a signature that is not a string",
            opentoken_core::test_utils::op("bob", "ms_sign", r#"{"checkpoint":40,"sig":5}"#),
            InvalidField,
            "must be a string",
        ),
    ];
    assert!(cases.len() >= 15);
    for (what, op, code, needle) in cases {
        let (mut net, _, _) = prepare();
        let (mut twin, _, _) = prepare();
        let before = state(&net).to_map();
        let b = net.run(NAME, vec![op]);
        twin.run(NAME, vec![]);
        let (got, why) = reason(&b);
        assert_eq!(got, code, "{what}: {why}");
        assert!(why.contains(needle), "{what}: {why:?} does not say {needle:?}");
        assert!(b.out.events.is_empty(), "{what}");
        assert!(before == state(&net).to_map(), "{what}: the state changed");
        assert_eq!(net.commitment(NAME), twin.commitment(NAME), "{what}");
        // The good signature still goes through afterwards.
        let b = net.run(NAME, vec![sign("bob", 40, &good)]);
        assert_eq!(b.kinds(), vec!["SignatureAccepted"], "{what}: {:?}", b.outcomes());
    }
}

/// The signers come from the nodes module only; a changed list keeps the signatures of
/// signers still there with the same key and drops the others.
#[test]
fn the_signers_come_from_the_nodes_module_and_a_change_rotates_the_authority() {
    let (mut net, module) = prepared(json!({}));
    run_to(&mut net, &module, 10);
    let digest = view(&net).tx.digest;
    for (i, runner) in RUNNERS.iter().enumerate().take(2) {
        net.run(NAME, vec![sign(runner, 10, &signature(i, &digest))]);
    }
    let before = net.commitment(NAME);
    // Refused: another sender, another kind, a bad list, the same list.
    for (from, kind, payload, code, needle) in [
        (
            "token",
            "signers",
            signers_payload(&[0]),
            RejectCode::BadMessage,
            "signers from token",
        ),
        (
            "nodes",
            "runners",
            signers_payload(&[0]),
            RejectCode::BadMessage,
            "runners from nodes",
        ),
        ("nodes", "signers", "{}".to_string(), RejectCode::BadMessage, "array"),
        (
            "nodes",
            "signers",
            signers_payload(&[3, 2, 1, 0]),
            RejectCode::NothingToDo,
            "already these",
        ),
    ] {
        net.deliver(from, NAME, kind, payload);
        let b = net.run(NAME, vec![]);
        match &b.statuses()[0].outcome {
            Outcome::Rejected { code: got, reason } => {
                assert_eq!(*got, code, "{reason}");
                assert!(reason.contains(needle), "{reason:?} does not say {needle:?}");
            }
            other => panic!("{from} {kind}: {other:?}"),
        }
        assert_eq!(net.commitment(NAME), before);
    }
    // bob leaves; carol's key changes; erin joins: four signers, 3 of 4.
    let carol_new = opentoken_hive_tx::PrivateKey::from_secret([42; 32]).unwrap();
    let erin = opentoken_hive_tx::PrivateKey::from_secret([9; 32]).unwrap();
    let payload = json!({"signers": [
        {"account": "erin", "key": erin.public().to_string()},
        {"account": "carol", "key": carol_new.public().to_string()},
        {"account": "alice", "key": key(0).public().to_string()},
        {"account": "dave", "key": key(3).public().to_string()},
    ]})
    .to_string();
    net.deliver("nodes", NAME, "signers", payload.clone());
    // The account's authority is still the old one: bob still signs the open transaction.
    let b = net.run(NAME, vec![sign("bob", 10, &signature(1, &digest))]);
    let events = decoded(&module, &b.out.events);
    let MultisigEvent::SignersWanted { signers, threshold } = &events[0] else {
        panic!("{events:?}")
    };
    let names: Vec<&str> = signers.iter().map(|s| s.account.as_str()).collect();
    assert_eq!((names, *threshold), (vec!["alice", "carol", "dave", "erin"], 3));
    assert_eq!(
        b.kinds(),
        vec!["SignersWanted"],
        "bob already signed: {:?}",
        b.outcomes()
    );
    net.run(NAME, vec![sign("carol", 10, &signature(2, &digest))]);
    let v = view(&net);
    assert!(v.ready, "alice, bob, carol: the old authority");
    net.deliver("nodes", NAME, "signers", payload);
    let b = net.run(NAME, vec![]);
    assert!(
        matches!(&b.statuses()[0].outcome, Outcome::Rejected { code: RejectCode::NothingToDo, reason } if reason.contains("already these")),
        "already wanted: {:?}",
        b.statuses()
    );
    // It lands; a withdrawal waits for the rotation.
    let b = net.run(NAME, payments(&v));
    let mut kinds: Vec<String> = b.kinds().iter().map(|k| k.to_string()).collect();
    kinds.extend(
        net.run(NAME, vec![withdraw("alice", r#"{"amount":700,"asset":"HIVE"}"#)])
            .kinds()
            .iter()
            .map(|k| k.to_string()),
    );
    let cp = (net.next_block() / 10 + 1) * 10;
    for (_, events) in run_to(&mut net, &module, cp) {
        kinds.extend(events.iter().map(|e| e.kind().to_string()));
    }
    assert_eq!(
        kinds,
        vec![
            "OutflowPaid",
            "OutflowPaid",
            "TxSettled",
            "RotationBuilt",
            "WithdrawalQueued"
        ],
        "the rotation first; the withdrawal waits for it"
    );
    let rot = view(&net);
    let cp = rot.tx.checkpoint;
    assert_eq!(rot.tx.seqs, Vec::<u64>::new());
    assert_eq!(
        rot.threshold, 3,
        "signed by the old authority: 3 of alice, bob, carol, dave"
    );
    // The new signers cannot sign it; the old ones can.
    let b = net.run(
        NAME,
        vec![sign(
            "erin",
            cp,
            &hex(erin
                .sign(&common::hex_bytes(&rot.tx.digest).try_into().unwrap())
                .as_bytes()),
        )],
    );
    assert_eq!(reason(&b).0, RejectCode::InvalidAccount, "erin is not a signer yet");
    for i in [3usize, 1, 0] {
        let b = net.run(NAME, vec![sign(RUNNERS[i], cp, &signature(i, &rot.tx.digest))]);
        assert_eq!(b.kinds(), vec!["SignatureAccepted"], "{}", RUNNERS[i]);
    }
    let signed = assemble(&view(&net)).expect("ready");
    assert_eq!(signed["signatures"].as_array().map(Vec::len), Some(3));
    // The hand-built rotation has the transaction's id and digest.
    let mut want: Vec<PublicKey> = vec![key(0).public(), carol_new.public(), key(3).public(), erin.public()];
    want.sort();
    let active = opentoken_hive_tx::Authority {
        weight_threshold: 3,
        account_auths: Default::default(),
        key_auths: want.iter().map(|k| (*k, 1u16)).collect(),
    };
    let hand = Transaction {
        ref_block_num: rot.tx.ref_block_num,
        ref_block_prefix: rot.tx.ref_block_prefix,
        expiration: rot.tx.expiration as u32,
        operations: vec![Operation::AccountUpdate2 {
            account: MS.into(),
            owner: None,
            active: Some(active),
            posting: None,
            memo_key: None,
            json_metadata: String::new(),
            posting_json_metadata: String::new(),
        }],
    };
    assert_eq!(hand.id(Packing::Legacy), rot.tx.txid);
    assert_eq!(hex(&hand.sig_digest(&MAINNET_CHAIN_ID, Packing::Legacy)), rot.tx.digest);
    assert_eq!(signed["operations"][0][0], "account_update2");
    let key_auths: Vec<serde_json::Value> = want.iter().map(|k| json!([k.to_string(), 1])).collect();
    assert_eq!(
        signed["operations"][0][1]["active"]["key_auths"],
        json!(key_auths),
        "sorted as Hive sorts keys"
    );
    assert!(signed["operations"][0][1].get("owner").is_none() && signed["operations"][0][1].get("memo_key").is_none());
    // Other changes of the account's authority are anomalies and change no signer.
    let body = signed["operations"][0][1].clone();
    let mut other = body.clone();
    other["active"]["weight_threshold"] = json!(1);
    let mut owner = body.clone();
    owner["owner"] = body["active"].clone();
    let b = net.run(
        NAME,
        vec![
            HiveOp::Other {
                name: "account_update2".into(),
                body: other.to_string(),
            },
            HiveOp::Other {
                name: "account_update".into(),
                body: owner.to_string(),
            },
            HiveOp::Other {
                name: "account_update2".into(),
                body: json!({"account": MS, "json_metadata": "{}"}).to_string(),
            },
        ],
    );
    assert_eq!(b.kinds(), vec!["AuthorityAnomaly"; 2]);
    assert_eq!(
        b.status(2).outcome,
        Outcome::Rejected {
            code: RejectCode::NothingToDo,
            reason: format!("account_update2 of @{MS} leaves its active authority as it is; nothing to follow"),
        }
    );
    assert_eq!(views::authority_anomalies(state(&net), 10).unwrap().len(), 2);
    assert_eq!(views::signers(state(&net)).unwrap().unwrap().signers.len(), 4);
    assert!(views::signers(state(&net))
        .unwrap()
        .unwrap()
        .signers
        .iter()
        .any(|s| s.account == "bob"));
    // The rotation lands (the body the API node serves): the new signers hold the account.
    let b = net.run(
        NAME,
        vec![HiveOp::Other {
            name: "account_update2".into(),
            body: body.to_string(),
        }],
    );
    assert_eq!(b.kinds(), vec!["Rotated"]);
    let now = views::signers(state(&net)).unwrap().unwrap();
    let names: Vec<&str> = now.signers.iter().map(|s| s.account.as_str()).collect();
    assert_eq!(names, vec!["alice", "carol", "dave", "erin"]);
    assert_eq!(now.signers[1].key, carol_new.public().to_string());
    assert!(views::wanted_signers(state(&net)).unwrap().is_none());
    assert!(open_transaction(state(&net), MS).unwrap().is_none());
    // The waiting withdrawal is built at the next checkpoint, and only the new keys sign it.
    let cp = (net.next_block() / 10 + 1) * 10;
    let happened = run_to(&mut net, &module, cp);
    assert_eq!(built(&happened[0].1[0]), (cp, vec![2]));
    let d = view(&net).tx.digest;
    let b = net.run(NAME, vec![sign("bob", cp, &signature(1, &d))]);
    assert_eq!(reason(&b).0, RejectCode::InvalidAccount, "bob's key no longer spends");
    let b = net.run(NAME, vec![sign("carol", cp, &signature(2, &d))]);
    assert_eq!(reason(&b).0, RejectCode::InvalidField, "carol's old key");
    let carol_sig = hex(carol_new.sign(&common::hex_bytes(&d).try_into().unwrap()).as_bytes());
    let b = net.run(
        NAME,
        vec![
            sign("carol", cp, &carol_sig),
            sign(
                "erin",
                cp,
                &hex(erin.sign(&common::hex_bytes(&d).try_into().unwrap()).as_bytes()),
            ),
            sign("alice", cp, &signature(0, &d)),
        ],
    );
    assert_eq!(b.kinds(), vec!["SignatureAccepted"; 3]);
    assert!(view(&net).ready);
    assert!(books_check(state(&net)).unwrap().ok);
}

/// A withdrawal to an account that does not exist makes Hive refuse every transaction
/// holding it. Fully signed transactions that expire halve the batch until it is alone;
/// alone it fails `return_after_failures` times and is credited back to whoever withdrew
/// it, and the others are paid in the meantime: one bad recipient cannot freeze the queue.
#[test]
fn an_outflow_hive_refuses_is_isolated_and_credited_back() {
    let (mut net, module) = prepared(json!({"tx_expiration_secs": 60, "return_after_failures": 2}));
    // alice withdraws to "ghost" (a valid name no account has): ot:2.
    net.run(
        NAME,
        vec![withdraw(
            "alice",
            r#"{"amount":500,"asset":"HIVE","to":"ghost","memo":"boo"}"#,
        )],
    );
    let before = views::balances(state(&net), "alice").unwrap();
    let sign_all = |net: &mut TestNet| {
        let v = view(net);
        for (i, r) in RUNNERS.iter().enumerate().take(3) {
            net.run(NAME, vec![sign(r, v.tx.checkpoint, &signature(i, &v.tx.digest))]);
        }
        assert!(view(net).ready);
        v
    };
    let mut seen: Vec<(u64, Vec<u64>)> = Vec::new();
    let mut cp = 10;
    let mut log: Vec<String> = Vec::new();
    // Every open transaction is signed; Hive takes it only if it does not pay ghost.
    for _ in 0..20 {
        for (block, events) in run_to(&mut net, &module, cp) {
            for e in &events {
                log.push(format!("{block}: {}", e.kind()));
                if let MultisigEvent::TxBuilt { checkpoint, seqs, .. } = e {
                    seen.push((*checkpoint, seqs.clone()));
                }
            }
        }
        cp += 10;
        let Some(v) = open_transaction(state(&net), MS).unwrap() else {
            continue;
        };
        if v.signatures.len() < 3 {
            let v = sign_all(&mut net);
            if v.outflows.iter().all(|p| p.outflow.to != "ghost") {
                net.run(NAME, payments(&v));
            }
        }
    }
    let batches: Vec<Vec<u64>> = seen.iter().map(|s| s.1.clone()).collect();
    assert_eq!(
        batches,
        vec![vec![0, 1, 2], vec![0], vec![1, 2], vec![1], vec![2], vec![2]],
        "halved after each failure, doubled after each landing, ghost alone twice: {log:?}"
    );
    let kinds: Vec<&str> = log.iter().filter_map(|l| l.split(": ").nth(1)).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "TxFailed").count(), 4, "{log:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "OutflowReturned").count(), 1, "{log:?}");
    assert!(
        views::pending_outflows(state(&net), 10).unwrap().is_empty(),
        "nothing left queued"
    );
    let after = views::balances(state(&net), "alice").unwrap();
    assert_eq!(after.hive, before.hive + 500, "ghost's 0.500 HIVE is alice's again");
    assert!(state(&net).get(&keys::fail(2)).is_none() && state(&net).get(keys::BATCH).is_some());
    assert!(books_check(state(&net)).unwrap().ok);
    // The next withdrawal lands and the batch is whole again.
    net.run(NAME, vec![withdraw("alice", r#"{"amount":100,"asset":"HIVE"}"#)]);
    run_to(&mut net, &module, cp);
    let v = sign_all(&mut net);
    assert_eq!(net.run(NAME, payments(&v)).kinds(), vec!["OutflowPaid"]);
    run_to(&mut net, &module, cp + 10);
    assert_eq!(
        state(&net).get(keys::BATCH).and_then(keys::decode_u64),
        Some(2),
        "a landed transaction doubles the batch"
    );
}

/// The keys a distributed agent is served (`views::duty_pairs`) give it the same signers,
/// open transaction and assembled bytes as the whole state, for outflows and rotations,
/// and none of the users' balances.
#[test]
fn the_duty_keys_alone_give_the_agent_the_same_view() {
    let (mut net, module) = prepared(json!({}));
    run_to(&mut net, &module, 10);
    let same = |net: &TestNet| {
        let whole = state(net);
        let pairs = views::duty_pairs(whole).unwrap();
        assert!(pairs.iter().all(|(k, _)| !k.starts_with(b"bal/")), "no balances");
        let part = ModuleState::from_pairs(pairs.into_iter().collect());
        assert_eq!(views::signers(&part).unwrap(), views::signers(whole).unwrap());
        assert_eq!(
            views::wanted_signers(&part).unwrap(),
            views::wanted_signers(whole).unwrap()
        );
        let (a, b) = (
            open_transaction(&part, MS).unwrap(),
            open_transaction(whole, MS).unwrap(),
        );
        assert_eq!(a, b);
        assert_eq!(a.as_ref().and_then(assemble), b.as_ref().and_then(assemble));
        b
    };
    let v = same(&net).expect("an outflow transaction is open");
    for (i, r) in RUNNERS.iter().enumerate().take(3) {
        net.run(NAME, vec![sign(r, 10, &signature(i, &v.tx.digest))]);
    }
    assert!(same(&net).is_some_and(|v| v.ready));
    net.deliver("nodes", NAME, "signers", signers_payload(&[0, 1, 2]));
    net.run(NAME, vec![]);
    net.run(NAME, payments(&v));
    run_to(&mut net, &module, 20);
    assert!(same(&net).is_some_and(|v| v.tx.rotate.is_some()), "a rotation is open");
}

/// A transaction that expires without its threshold of signatures is not a refusal by
/// Hive: the batch stays whole and nothing counts as failed.
#[test]
fn an_unsigned_expiry_is_not_a_failure() {
    let (mut net, module) = prepared(json!({"tx_expiration_secs": 60}));
    run_to(&mut net, &module, 10);
    let v = view(&net);
    net.run(NAME, vec![sign("alice", 10, &signature(0, &v.tx.digest))]);
    let happened = run_to(&mut net, &module, 40);
    let kinds: Vec<&str> = happened[0].1.iter().map(MultisigEvent::kind).collect();
    assert_eq!(kinds, vec!["TxExpired", "TxBuilt"]);
    assert!(state(&net).get(keys::BATCH).is_none());
    assert_eq!(built(&happened[0].1[1]), (40, vec![0, 1]));
}

/// A rotation nobody signs expires and is built again, for what is wanted by then.
#[test]
fn an_unsigned_rotation_expires_and_is_rebuilt() {
    let (mut net, module) = prepared(json!({"tx_expiration_secs": 60}));
    net.deliver("nodes", NAME, "signers", signers_payload(&[0, 1, 2]));
    assert_eq!(net.run(NAME, vec![]).kinds(), vec!["SignersWanted"]);
    let happened = run_to(&mut net, &module, 10);
    assert_eq!(
        happened[0].1.iter().map(MultisigEvent::kind).collect::<Vec<_>>(),
        vec!["RotationBuilt"]
    );
    net.deliver("nodes", NAME, "signers", signers_payload(&[0, 1]));
    assert_eq!(net.run(NAME, vec![]).kinds(), vec!["SignersWanted"]);
    let happened = run_to(&mut net, &module, 40);
    assert_eq!(happened.len(), 1, "{happened:?}");
    let kinds: Vec<&str> = happened[0].1.iter().map(MultisigEvent::kind).collect();
    assert_eq!((happened[0].0, kinds), (40, vec!["TxExpired", "RotationBuilt"]));
    let MultisigEvent::RotationBuilt { signers, threshold, .. } = &happened[0].1[1] else {
        unreachable!()
    };
    assert_eq!((signers.len(), *threshold), (2, 2), "the newest wish");
    // The runner set returns to the current signers: nothing is wanted, and once the
    // rotation expires the outflows are built again.
    net.deliver("nodes", NAME, "signers", signers_payload(&[0, 1, 2, 3]));
    assert_eq!(net.run(NAME, vec![]).kinds(), vec!["SignersWanted"]);
    assert!(views::wanted_signers(state(&net)).unwrap().is_none());
    let happened = run_to(&mut net, &module, 70);
    let kinds: Vec<&str> = happened.last().unwrap().1.iter().map(MultisigEvent::kind).collect();
    assert_eq!(kinds, vec!["TxExpired", "TxBuilt"]);
    assert!(books_check(state(&net)).unwrap().ok);
}

/// The same blocks, the empty ones processed one at a time or as idle ranges: the same
/// events, state and commitment through building, expiry, rebuilding and settlement.
#[test]
fn block_by_block_and_idle_ranges_agree() {
    let section = json!({"tx_expiration_secs": 60});
    let (mut a, module) = prepared(section.clone());
    let (mut b, _) = prepared(section);
    let mut events_a: Vec<EventRecord> = Vec::new();
    let mut events_b: Vec<EventRecord> = Vec::new();
    let mut both = |a: &mut TestNet, b: &mut TestNet, last: u64, ops: Vec<opentoken_core::HiveOp>| {
        events_a.extend(a.idle_until(last).into_iter().flat_map(|o| o.out.events));
        events_b.extend(b.idle_range(last).events);
        if !ops.is_empty() {
            events_a.extend(a.run(NAME, ops.clone()).out.events);
            events_b.extend(b.run(NAME, ops).out.events);
        }
        assert!(
            a.state(NAME).to_map() == b.state(NAME).to_map(),
            "states differ at {last}"
        );
        assert_eq!(a.commitment(NAME), b.commitment(NAME));
    };
    both(&mut a, &mut b, 57, vec![]); // built at 10, expired and rebuilt at 40
    let d = view(&a).tx.digest;
    let sigs: Vec<_> = (0..3).map(|i| sign(RUNNERS[i], 40, &signature(i, &d))).collect();
    both(&mut a, &mut b, 58, sigs);
    let v = view(&a);
    both(&mut a, &mut b, 62, payments(&v));
    both(&mut a, &mut b, 95, vec![]); // settled at 70
    let kinds = |es: &[EventRecord]| es.iter().map(|e| e.kind.clone()).collect::<Vec<_>>();
    assert_eq!(kinds(&events_a), kinds(&events_b));
    assert_eq!(events_a, events_b);
    let all = decoded(&module, &events_a);
    let checkpoints: Vec<(String, u64)> = all
        .iter()
        .filter_map(|e| match e {
            MultisigEvent::TxBuilt { checkpoint, .. } => Some(("built".into(), *checkpoint)),
            MultisigEvent::TxExpired { checkpoint, .. } => Some(("expired".into(), *checkpoint)),
            MultisigEvent::TxSettled { checkpoint } => Some(("settled".into(), *checkpoint)),
            _ => None,
        })
        .collect();
    assert_eq!(
        checkpoints,
        vec![
            ("built".into(), 10),
            ("expired".into(), 10),
            ("built".into(), 40),
            ("settled".into(), 40)
        ]
    );
    assert!(open_transaction(state(&a), MS).unwrap().is_none());
}

/// With nothing to build or close, idle ranges skip the module; with work, the next
/// checkpoint is due.
#[test]
fn the_next_checkpoint_is_due_only_when_there_is_work() {
    let spec = common::spec(json!({}));
    let m = MultisigModule::from_spec(&spec).unwrap();
    let mut s = ModuleState::new();
    assert_eq!(m.next_due_block(&s, 3), None, "nothing at all");
    let queue = [
        MultisigEvent::Deposited {
            account: "alice".into(),
            asset: Coin::Hive,
            amount: 5_000,
        },
        MultisigEvent::WithdrawalQueued {
            seq: 0,
            account: "alice".into(),
            to: "bob".into(),
            asset: Coin::Hive,
            amount: 1_000,
            memo: "ot:0".into(),
            block: 1,
        },
    ];
    for e in &queue {
        m.apply(e, &mut s).unwrap();
    }
    assert_eq!(m.next_due_block(&s, 3), None, "outflows but no signers");
    let mut h = ModuleHarness::new(MultisigModule::from_spec(&spec).unwrap(), spec.clone());
    h.apply(&queue);
    h.message("nodes", "signers", &signers_payload(&[0])).unwrap();
    assert_eq!(h.module.next_due_block(&h.state, 3), Some(10));
    assert_eq!(h.module.next_due_block(&h.state, 9), Some(10));
    assert_eq!(h.module.next_due_block(&h.state, 10), Some(20));
    h.block_end_with_header(10, &block_id(10), block_time(10));
    assert_eq!(h.module.next_due_block(&h.state, 10), Some(20), "an open transaction");
}

/// The stored events rebuild the state, transactions and signatures included.
#[test]
fn replaying_the_events_rebuilds_the_transactions() {
    let (mut net, module) = common::net_with(json!({"tx_expiration_secs": 60}));
    let mut events: Vec<EventRecord> = net.genesis_output().events.clone();
    let mut record = |blocks: Vec<BlockOutput>| events.extend(blocks.into_iter().flat_map(|b| b.out.events));
    set_all_signers(&mut net);
    let b1 = net.run(
        NAME,
        vec![deposit("alice", 10_000, ""), deposit_hbd("alice", 5_000, "")],
    );
    let b2 = net.run(
        NAME,
        vec![
            withdraw("alice", r#"{"amount":1000,"asset":"HIVE","to":"bob","memo":"rent"}"#),
            withdraw("alice", r#"{"amount":2000,"asset":"HBD"}"#),
        ],
    );
    record(vec![b1, b2]);
    record(net.idle_until(40));
    let d = view(&net).tx.digest;
    record(vec![net.run(
        NAME,
        vec![sign("alice", 40, &signature(0, &d)), sign("bob", 40, &signature(1, &d))],
    )]);
    net.deliver("nodes", NAME, "signers", signers_payload(&[0, 2, 3]));
    record(vec![net.run(NAME, vec![pay("bob", 1_000, "rent ot:0")])]);
    record(net.idle_until(45));
    let kinds: std::collections::BTreeSet<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "SignersSet",
        "TxBuilt",
        "TxExpired",
        "SignatureAccepted",
        "OutflowPaid",
        "SignersWanted",
    ] {
        assert!(kinds.contains(k), "{k}: {kinds:?}");
    }
    let mut rebuilt = ModuleState::new();
    for e in &events {
        module
            .apply(&module.decode_event(&e.data).unwrap(), &mut rebuilt)
            .unwrap();
    }
    assert!(rebuilt.to_map() == state(&net).to_map(), "the replayed state differs");
    assert_eq!(rebuilt.commitment(), net.commitment(NAME));
    assert!(rebuilt.get(&keys::sig(40, "alice")).is_some());
    assert!(
        rebuilt.get(&keys::sig(40, "bob")).is_some(),
        "bob signs until the rotation lands"
    );
    assert!(rebuilt.get(keys::WANTED).is_some());
}

#[test]
fn the_feed_says_what_happened() {
    let spec = common::spec(json!({}));
    let m = MultisigModule::from_spec(&spec).unwrap();
    let lines = [
        (
            MultisigEvent::SignersSet {
                signers: vec![
                    Signer {
                        account: "alice".into(),
                        key: key(0).public().to_string(),
                    },
                    Signer {
                        account: "bob".into(),
                        key: key(1).public().to_string(),
                    },
                ],
                threshold: 2,
            },
            "The multi-sig signers are now @alice, @bob (2 of 2 sign)",
        ),
        (
            MultisigEvent::TxBuilt {
                checkpoint: 10,
                ref_block_num: 10,
                ref_block_prefix: 1,
                expiration: 1_700_003_030,
                seqs: vec![3],
                digest: "00".repeat(32),
                txid: "ab".repeat(20),
            },
            "Built the multi-sig transaction of checkpoint 10 paying 1 outflow (ot:3), expiring 2023-11-14T23:03:50: abababababababababababababababababababab",
        ),
        (
            MultisigEvent::SignatureAccepted {
                checkpoint: 10,
                account: "bob".into(),
                sig: "1f".repeat(65),
            },
            "@bob signed the multi-sig transaction of checkpoint 10",
        ),
        (
            MultisigEvent::TxExpired {
                checkpoint: 10,
                seqs: (1..=7).collect(),
            },
            "The multi-sig transaction of checkpoint 10 expired unpaid; 7 outflows back in the queue (ot:1 … ot:7)",
        ),
        (
            MultisigEvent::TxSettled { checkpoint: 10 },
            "The multi-sig transaction of checkpoint 10 is settled: every outflow in it is paid",
        ),
    ];
    for (e, line) in lines {
        assert_eq!(m.describe(&e), line);
    }
}
