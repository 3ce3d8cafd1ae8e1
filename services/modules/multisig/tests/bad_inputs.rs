//! Bad input is data. Each case below, fed through the real engine on top of the same
//! books, ends one of three ways, and the table says which:
//!
//! - **rejected** (nothing arrived, or an op asks for what it may not have): a code and a
//!   reason, the state (and so the commitment) exactly as before, the next op applies;
//! - **refunded** (money arrived that cannot be accepted): nothing is credited, the full
//!   amount is queued back to its sender with the reason in the memo;
//! - **anomaly** (money left the account without paying an outflow): recorded, nothing
//!   credited, nothing paid, the expected holdings unchanged.

mod common;

use common::{deposit, deposit_hbd, pay, state, transfer, withdraw, MS};
use opentoken_core::test_utils::{custom_json, TestNet};
use opentoken_core::{AssetSymbol, HiveOp, Module, Outcome, RejectCode};
use opentoken_multisig::views::{self, books_check, holdings};
use opentoken_multisig::{MultisigEvent, MultisigModule, OutflowReason, NAME};
use serde_json::json;

/// The books every case starts from: alice holds 7.000 HIVE and 5.000 HBD, bob 1.000
/// HIVE; ot:0 (1.000 HIVE to bob) is paid, ot:1 (2.000 HIVE to alice, memo `rent ot:1`)
/// is pending. Minimum deposit 0.010, minimum withdrawal 0.005.
fn prepared() -> TestNet {
    let mut net = common::net();
    let b = net.run(
        NAME,
        vec![
            deposit("alice", 10_000, ""),
            deposit_hbd("alice", 5_000, "savings"),
            deposit("bob", 1_000, "#encrypted"),
        ],
    );
    assert_eq!(b.kinds(), vec!["Deposited"; 3]);
    let b = net.run(
        NAME,
        vec![
            withdraw("alice", r#"{"amount":1000,"asset":"HIVE","to":"bob"}"#),
            withdraw("alice", r#"{"amount":"2000","asset":"HIVE","memo":"rent"}"#),
        ],
    );
    assert_eq!(b.kinds(), vec!["WithdrawalQueued"; 2]);
    let b = net.run(NAME, vec![pay("bob", 1_000, "ot:0")]);
    assert_eq!(b.kinds(), vec!["OutflowPaid"]);
    let s = state(&net);
    assert_eq!(views::balances(s, "alice").unwrap().hive, 7_000);
    assert_eq!(views::pending_outflows(s, 10).unwrap().len(), 1);
    assert_eq!(views::paid_history(s, 10).unwrap().len(), 1);
    net
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Rejected(RejectCode),
    Refunded,
    Anomaly,
}

/// `(what, op, how it ends, a word the reason must contain)`.
fn cases() -> Vec<(&'static str, HiveOp, End, &'static str)> {
    use End::*;
    use RejectCode::*;
    let w = |json: &str| withdraw("alice", json);
    let long_memo = format!(r#"{{"amount":10,"asset":"HIVE","memo":"{}"}}"#, "m".repeat(257));
    let big = format!(r#"{{"amount":10,"asset":"HIVE","memo":"{}"}}"#, "x".repeat(8200));
    vec![
        // Amounts of a withdrawal.
        (
            "zero",
            w(r#"{"amount":0,"asset":"HIVE"}"#),
            Rejected(InvalidField),
            "greater than 0",
        ),
        (
            "zero string",
            w(r#"{"amount":"0","asset":"HIVE"}"#),
            Rejected(InvalidField),
            "greater than 0",
        ),
        (
            "negative",
            w(r#"{"amount":-5,"asset":"HIVE"}"#),
            Rejected(InvalidField),
            "negative",
        ),
        (
            "negative string",
            w(r#"{"amount":"-5","asset":"HIVE"}"#),
            Rejected(InvalidField),
            "negative",
        ),
        (
            "float",
            w(r#"{"amount":1.5,"asset":"HIVE"}"#),
            Rejected(InvalidField),
            "integer",
        ),
        (
            "float string",
            w(r#"{"amount":"1.500","asset":"HIVE"}"#),
            Rejected(InvalidField),
            "digits",
        ),
        (
            "exponent string",
            w(r#"{"amount":"1e3","asset":"HIVE"}"#),
            Rejected(InvalidField),
            "digits",
        ),
        (
            "exponent number",
            w(r#"{"amount":1e3,"asset":"HIVE"}"#),
            Rejected(InvalidField),
            "integer",
        ),
        (
            "hex string",
            w(r#"{"amount":"0x10","asset":"HIVE"}"#),
            Rejected(InvalidField),
            "digits",
        ),
        (
            "padded string",
            w(r#"{"amount":" 5","asset":"HIVE"}"#),
            Rejected(InvalidField),
            "digits",
        ),
        (
            "legacy asset string",
            w(r#"{"amount":"1.000 HIVE","asset":"HIVE"}"#),
            Rejected(InvalidField),
            "digits",
        ),
        (
            "empty string",
            w(r#"{"amount":"","asset":"HIVE"}"#),
            Rejected(InvalidField),
            "empty",
        ),
        (
            "garbage string",
            w(r#"{"amount":"abc","asset":"HIVE"}"#),
            Rejected(InvalidField),
            "digits",
        ),
        (
            "null",
            w(r#"{"amount":null,"asset":"HIVE"}"#),
            Rejected(InvalidField),
            "null",
        ),
        (
            "boolean",
            w(r#"{"amount":true,"asset":"HIVE"}"#),
            Rejected(InvalidField),
            "boolean",
        ),
        (
            "array",
            w(r#"{"amount":[1],"asset":"HIVE"}"#),
            Rejected(InvalidField),
            "array",
        ),
        ("missing", w(r#"{"asset":"HIVE"}"#), Rejected(InvalidField), "missing"),
        (
            "above i64",
            w(r#"{"amount":9223372036854775808,"asset":"HIVE"}"#),
            Rejected(Overflow),
            "i64",
        ),
        (
            "above u64",
            w(r#"{"amount":"99999999999999999999999","asset":"HIVE"}"#),
            Rejected(Overflow),
            "too large",
        ),
        (
            "below the minimum",
            w(r#"{"amount":4,"asset":"HIVE"}"#),
            Rejected(InvalidField),
            "min_withdrawal",
        ),
        (
            "over the HIVE balance",
            w(r#"{"amount":7001,"asset":"HIVE"}"#),
            Rejected(InsufficientFunds),
            "has 7.000 HIVE",
        ),
        (
            "over the HBD balance",
            w(r#"{"amount":5001,"asset":"HBD"}"#),
            Rejected(InsufficientFunds),
            "has 5.000 HBD",
        ),
        (
            "a pending outflow is not a balance",
            w(r#"{"amount":9001,"asset":"HIVE"}"#),
            Rejected(InsufficientFunds),
            "7.000",
        ),
        (
            "from an account with nothing",
            withdraw("nobody", r#"{"amount":10,"asset":"HIVE"}"#),
            Rejected(InsufficientFunds),
            "has 0.000",
        ),
        // Assets.
        (
            "asset VESTS",
            w(r#"{"amount":10,"asset":"VESTS"}"#),
            Rejected(InvalidField),
            "\"HIVE\" or \"HBD\"",
        ),
        (
            "asset lower case",
            w(r#"{"amount":10,"asset":"hive"}"#),
            Rejected(InvalidField),
            "\"HIVE\" or \"HBD\"",
        ),
        (
            "asset STEEM",
            w(r#"{"amount":10,"asset":"STEEM"}"#),
            Rejected(InvalidField),
            "\"HIVE\" or \"HBD\"",
        ),
        (
            "asset missing",
            w(r#"{"amount":10}"#),
            Rejected(InvalidField),
            "missing",
        ),
        (
            "asset a number",
            w(r#"{"amount":10,"asset":1}"#),
            Rejected(InvalidField),
            "a number",
        ),
        // Recipients.
        (
            "to upper case",
            w(r#"{"amount":10,"asset":"HIVE","to":"Bob"}"#),
            Rejected(InvalidAccount),
            "not a valid",
        ),
        (
            "to too short",
            w(r#"{"amount":10,"asset":"HIVE","to":"ab"}"#),
            Rejected(InvalidAccount),
            "not a valid",
        ),
        (
            "to too long",
            w(r#"{"amount":10,"asset":"HIVE","to":"abcdefghijklmnopq"}"#),
            Rejected(InvalidAccount),
            "not a valid",
        ),
        (
            "to with a bad character",
            w(r#"{"amount":10,"asset":"HIVE","to":"bob!"}"#),
            Rejected(InvalidAccount),
            "not a valid",
        ),
        (
            "to with @",
            w(r#"{"amount":10,"asset":"HIVE","to":"@bob"}"#),
            Rejected(InvalidAccount),
            "not a valid",
        ),
        (
            "to empty",
            w(r#"{"amount":10,"asset":"HIVE","to":""}"#),
            Rejected(InvalidAccount),
            "not a valid",
        ),
        (
            "to a number",
            w(r#"{"amount":10,"asset":"HIVE","to":5}"#),
            Rejected(InvalidField),
            "account name",
        ),
        (
            "to the multi-sig account",
            w(r#"{"amount":10,"asset":"HIVE","to":"dlux-cc"}"#),
            Rejected(InvalidAccount),
            "multi-sig",
        ),
        // Memos and fields.
        (
            "memo too long",
            withdraw("alice", &long_memo),
            Rejected(InvalidField),
            "257 bytes",
        ),
        (
            "memo a number",
            w(r#"{"amount":10,"asset":"HIVE","memo":5}"#),
            Rejected(InvalidField),
            "string",
        ),
        (
            "memo with a control character",
            w(r#"{"amount":10,"asset":"HIVE","memo":"a\nb"}"#),
            Rejected(InvalidField),
            "control",
        ),
        (
            "memo looks encrypted",
            w(r##"{"amount":10,"asset":"HIVE","memo":"#secret"}"##),
            Rejected(InvalidField),
            "encrypted",
        ),
        (
            "unknown field",
            w(r#"{"amount":10,"asset":"HIVE","too":"bob"}"#),
            Rejected(InvalidField),
            "unknown field `too`",
        ),
        // The engine's generic checks, before the module decides.
        (
            "posting authority",
            custom_json("dlux_ms_withdraw", &[], &["alice"], r#"{"amount":10,"asset":"HIVE"}"#),
            Rejected(WrongAuthority),
            "active",
        ),
        (
            "posting wins over active",
            custom_json(
                "dlux_ms_withdraw",
                &["alice"],
                &["alice"],
                r#"{"amount":10,"asset":"HIVE"}"#,
            ),
            Rejected(WrongAuthority),
            "active",
        ),
        (
            "no signer",
            custom_json("dlux_ms_withdraw", &[], &[], "{}"),
            Rejected(NoSigner),
            "signing",
        ),
        ("malformed json", w(r#"{"amount":10"#), Rejected(MalformedJson), "JSON"),
        ("not an object", w(r#"[10,"HIVE"]"#), Rejected(NotAnObject), "object"),
        (
            "json over 8192 bytes",
            withdraw("alice", &big),
            Rejected(TooLarge),
            "8192",
        ),
        (
            "unknown operation",
            custom_json("dlux_ms_withdrawal", &["alice"], &[], "{}"),
            Rejected(UnknownOperation),
            "ms_withdrawal",
        ),
        // Transfers that cannot be real Hive transfers: nothing arrived, nothing to refund.
        (
            "deposit of VESTS",
            transfer("bob", MS, 1_000, AssetSymbol::Vests, ""),
            Rejected(InvalidField),
            "VESTS",
        ),
        (
            "deposit of zero",
            deposit("bob", 0, ""),
            Rejected(InvalidField),
            "positive",
        ),
        (
            "negative deposit",
            deposit("bob", -1_000, ""),
            Rejected(InvalidField),
            "positive",
        ),
        (
            "deposit from an invalid account",
            deposit("Bad_Name", 1_000, ""),
            Rejected(InvalidAccount),
            "sender",
        ),
        (
            "deposit past Hive's range",
            deposit("bob", i64::MAX, ""),
            Rejected(Overflow),
            "range",
        ),
        (
            "VESTS from the account",
            transfer(MS, "bob", 1_000, AssetSymbol::Vests, "ot:1"),
            Rejected(InvalidField),
            "VESTS",
        ),
        (
            "payment to an invalid account",
            pay("Bad_Name", 2_000, "rent ot:1"),
            Rejected(InvalidAccount),
            "recipient",
        ),
        (
            "the account to itself",
            pay(MS, 2_000, "rent ot:1"),
            Rejected(NothingToDo),
            "itself",
        ),
        // Deposits that arrived but cannot be accepted: refunded in full.
        (
            "deposit below the minimum",
            deposit("carol", 9, ""),
            Refunded,
            "below the minimum deposit of 0.010 HIVE",
        ),
        (
            "a deposit for the DEX",
            deposit("carol", 1_000, r#"{"dex":{"rate":"0.1"}}"#),
            Refunded,
            "no module accepts dex yet",
        ),
        (
            "HBD for NFTs",
            deposit_hbd("carol", 2_500, r#" {"nft":"set:1"}"#),
            Refunded,
            "no module accepts nft yet",
        ),
        (
            "a reference-style DEX memo",
            deposit("carol", 1_000, r#"{"rate":"0.5"}"#),
            Refunded,
            "no module accepts rate yet",
        ),
        (
            "a module memo that is not JSON",
            deposit("carol", 1_000, "{dex: buy}"),
            Refunded,
            "malformed module memo",
        ),
        (
            "a module memo naming two modules",
            deposit("carol", 1_000, r#"{"dex":1,"nft":2}"#),
            Refunded,
            "exactly one member",
        ),
        (
            "an empty module memo",
            deposit("carol", 1_000, "{}"),
            Refunded,
            "exactly one member",
        ),
        (
            "a module name in upper case",
            deposit("carol", 1_000, r#"{"DEX":1}"#),
            Refunded,
            "not a module name",
        ),
        // Money that left the account without paying an outflow.
        (
            "a payment naming no outflow",
            pay("bob", 500, "thanks"),
            Anomaly,
            "names no outflow",
        ),
        (
            "a payment with an empty memo",
            pay("bob", 500, ""),
            Anomaly,
            "names no outflow",
        ),
        (
            "an outflow never queued",
            pay("alice", 2_000, "rent ot:9"),
            Anomaly,
            "never queued",
        ),
        (
            "an id with a leading zero",
            pay("alice", 2_000, "rent ot:01"),
            Anomaly,
            "names no outflow",
        ),
        (
            "a duplicate confirmation",
            pay("bob", 1_000, "ot:0"),
            Anomaly,
            "already paid",
        ),
        (
            "the wrong amount",
            pay("alice", 2_001, "rent ot:1"),
            Anomaly,
            "2.000 HIVE",
        ),
        (
            "the wrong recipient",
            pay("bob", 2_000, "rent ot:1"),
            Anomaly,
            "pays @alice",
        ),
        (
            "the wrong coin",
            transfer(MS, "alice", 2_000, AssetSymbol::Hbd, "rent ot:1"),
            Anomaly,
            "2.000 HBD",
        ),
        (
            "a different memo",
            pay("alice", 2_000, "Rent ot:1"),
            Anomaly,
            "memo differs",
        ),
    ]
}

#[test]
fn the_table_is_big_enough() {
    let all = cases();
    let rejected = all.iter().filter(|c| matches!(c.2, End::Rejected(_))).count();
    assert!(rejected >= 30, "{rejected} rejections");
    assert!(
        all.len() - rejected >= 15,
        "{} refunds and anomalies",
        all.len() - rejected
    );
}

fn event(module: &MultisigModule, net_out: &opentoken_core::Output) -> MultisigEvent {
    assert_eq!(net_out.events.len(), 1, "one event");
    module.decode_event(&net_out.events[0].data).expect("the event decodes")
}

#[test]
fn each_bad_input_ends_as_the_table_says() {
    let module = MultisigModule::from_spec(&common::spec(json!({"min_deposit": 10, "min_withdrawal": 5}))).unwrap();
    for (what, bad, end, needle) in cases() {
        let mut node = prepared();
        let mut twin = prepared();
        let before = state(&node).to_map();
        let books = holdings(state(&node)).unwrap();
        let commitment = node.commitment(NAME);

        let b = node.run(NAME, vec![bad.clone()]);
        twin.run(NAME, vec![]);
        let outcome = b.status(0).outcome.clone();
        let s = state(&node);
        match end {
            End::Rejected(code) => {
                match &outcome {
                    Outcome::Rejected { code: got, reason } => {
                        assert_eq!(*got, code, "{what}: wrong code ({reason})");
                        assert!(reason.contains(needle), "{what}: {reason:?} does not say {needle:?}");
                    }
                    other => panic!("{what}: expected a rejection, got {other:?}"),
                }
                assert!(b.out.events.is_empty(), "{what}: a rejection emits no event");
                assert!(before == s.to_map(), "{what}: the state changed");
                assert_eq!(node.commitment(NAME), commitment, "{what}: the commitment changed");
                assert_eq!(
                    node.commitment(NAME),
                    twin.commitment(NAME),
                    "{what}: differs from a run without it"
                );
            }
            End::Refunded => {
                assert!(matches!(outcome, Outcome::Applied { .. }), "{what}: {outcome:?}");
                let HiveOp::Transfer(t) = &bad else {
                    panic!("{what}: refunds are deposits")
                };
                let (coin, amount) = match event(&module, &b.out) {
                    MultisigEvent::Refunded {
                        seq,
                        to,
                        asset,
                        amount,
                        memo,
                        why,
                        ..
                    } => {
                        assert!(why.contains(needle), "{what}: {why:?} does not say {needle:?}");
                        assert_eq!(
                            (seq, to.as_str(), amount),
                            (2, t.from.as_str(), t.amount.amount as u64),
                            "{what}"
                        );
                        assert_eq!(memo, format!("refund: {why} ot:2"), "{what}");
                        let out = views::pending_outflow(s, 2).unwrap().expect("the refund is queued");
                        assert_eq!(out.reason, OutflowReason::Refund(why), "{what}");
                        assert_eq!(
                            (out.to, out.amount, out.asset, out.memo),
                            (to, amount, asset, memo),
                            "{what}"
                        );
                        (asset, amount)
                    }
                    other => panic!("{what}: expected a refund, got {other:?}"),
                };
                let bal = views::balances(s, &t.from).unwrap();
                assert_eq!((bal.hive, bal.hbd), (0, 0), "{what}: the sender was credited");
                let after = holdings(s).unwrap();
                let (b0, b1) = match coin {
                    opentoken_multisig::Coin::Hive => (&books.hive, &after.hive),
                    opentoken_multisig::Coin::Hbd => (&books.hbd, &after.hbd),
                };
                assert_eq!(b1.held, b0.held + amount, "{what}: the refund is held until paid");
                assert_eq!(b1.pending, b0.pending + amount, "{what}");
                assert_eq!(b1.balances, b0.balances, "{what}");
            }
            End::Anomaly => {
                assert!(matches!(outcome, Outcome::Applied { .. }), "{what}: {outcome:?}");
                match event(&module, &b.out) {
                    MultisigEvent::OutflowAnomaly { why, amount, .. } => {
                        assert!(why.contains(needle), "{what}: {why:?} does not say {needle:?}");
                        let after = holdings(s).unwrap();
                        let total = after.hive.unexplained_out + after.hbd.unexplained_out;
                        assert_eq!(total, amount, "{what}: the anomaly is counted");
                    }
                    other => panic!("{what}: expected an anomaly, got {other:?}"),
                }
                // Nothing paid, nothing credited, nothing else changed.
                let changed: Vec<String> = s
                    .to_map()
                    .iter()
                    .filter(|(k, v)| before.get(*k) != Some(*v))
                    .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                    .collect();
                assert!(
                    changed.iter().all(|k| k.starts_with("anomaly/")
                        || k.starts_with("cnt/anomaly")
                        || k.starts_with("tot/anomaly/")),
                    "{what}: changed {changed:?}"
                );
                assert!(
                    before.keys().all(|k| s.to_map().contains_key(k)),
                    "{what}: a key was deleted"
                );
                let after = holdings(s).unwrap();
                assert_eq!(
                    (after.hive.held, after.hbd.held),
                    (books.hive.held, books.hbd.held),
                    "{what}"
                );
            }
        }
        let check = books_check(state(&node)).unwrap();
        assert!(check.ok, "{what}: {:?}", check.problems);

        // Processing goes on: a valid op in the next block applies.
        let b = node.run(NAME, vec![withdraw("alice", r#"{"amount":10,"asset":"HIVE"}"#)]);
        assert!(
            matches!(b.status(0).outcome, Outcome::Applied { .. }),
            "{what}: the next valid op did not apply: {:?}",
            b.status(0).outcome
        );
    }
}

/// All of them in one block, interleaved with valid deposits: the rejections change
/// nothing around them, so the block ends as a block of the refunds, anomalies and valid
/// deposits alone.
#[test]
fn bad_inputs_interleaved_with_valid_ops_affect_nothing() {
    let valid = |n: i64| deposit("dave", 100 + n, "");
    let (mut mixed, mut clean) = (Vec::new(), Vec::new());
    for (i, (_, bad, end, _)) in cases().into_iter().enumerate() {
        if !matches!(end, End::Rejected(_)) {
            clean.push(bad.clone());
        }
        mixed.push(bad);
        mixed.push(valid(i as i64));
        clean.push(valid(i as i64));
    }
    let mut a = prepared();
    let mut b = prepared();
    let out_a = a.run(NAME, mixed);
    let out_b = b.run(NAME, clean);
    let rejected = out_a
        .outcomes()
        .iter()
        .filter(|o| matches!(o, Outcome::Rejected { .. }))
        .count();
    let expected = cases().iter().filter(|c| matches!(c.2, End::Rejected(_))).count();
    assert_eq!(rejected, expected);
    assert!(out_b.outcomes().iter().all(|o| matches!(o, Outcome::Applied { .. })));
    assert_eq!(out_a.kinds(), out_b.kinds());
    // Anomaly records are keyed by chain position, which differs between the two blocks;
    // everything else is equal.
    let strip = |net: &TestNet| {
        state(net)
            .to_map()
            .iter()
            .filter(|(k, _)| !k.starts_with(b"anomaly/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&a), strip(&b));
    assert!(books_check(state(&a)).unwrap().ok);
}

/// A message from another module is refused with its reason (none is accepted yet).
#[test]
fn messages_are_refused() {
    let mut net = prepared();
    let before = net.commitment(NAME);
    net.deliver("dex", NAME, "deposit", "{}");
    let b = net.run(NAME, vec![]);
    match &b.statuses()[0].outcome {
        Outcome::Rejected { code, reason } => {
            assert_eq!(*code, RejectCode::BadMessage);
            assert!(reason.contains("deposit from dex"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(net.commitment(NAME), before);
}
