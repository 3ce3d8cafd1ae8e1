//! Bad input is data: each of these operations, fed through the real engine, is rejected with
//! a reason and the code that names the problem, leaves the module state (and so its
//! commitment) exactly as it was, and the next valid operation still applies.

mod common;

use opentoken_core::test_utils::{custom_json, op, TestNet};
use opentoken_core::{Asset, AssetSymbol, DelegateVestingSharesOp, HiveOp, Outcome, RejectCode, TransferOp};

fn engine() -> TestNet {
    common::net().0
}

fn commitment(engine: &mut TestNet) -> [u8; 32] {
    engine.commitment("token")
}

fn delegate(delegator: &str, amount: i64, symbol: AssetSymbol) -> HiveOp {
    HiveOp::DelegateVestingShares(DelegateVestingSharesOp {
        delegator: delegator.into(),
        delegatee: "dlux-io".into(),
        vesting_shares: Asset::new(amount, symbol),
    })
}

/// Processes block `block` (the next one) with `ops`; the engine never fails on bad input.
fn run(engine: &mut TestNet, block: u64, ops: Vec<HiveOp>) -> Vec<Outcome> {
    assert_eq!(engine.next_block(), block);
    engine.run("token", ops).outcomes()
}

/// `(what, op, expected code)`. Devnet genesis: alice/bob/dave hold power, alice/carol/erin/
/// grace hold claimable, nodes are dlux-io/alice/bob/carol; `nobody` holds nothing.
fn cases() -> Vec<(&'static str, HiveOp, RejectCode)> {
    use RejectCode::*;
    let send = |json: &str| op("alice", "send", json);
    let big = format!(r#"{{"to":"bob","amount":1,"memo":"{}"}}"#, "x".repeat(8200));
    vec![
        // Malformed JSON and payloads that are not objects.
        ("truncated json", send(r#"{"to":"bob","amount":1"#), MalformedJson),
        ("empty json", send(""), MalformedJson),
        ("not json at all", send("send 1 to bob"), MalformedJson),
        ("single-quoted json", send("{'to':'bob','amount':1}"), MalformedJson),
        ("trailing garbage", send(r#"{"to":"bob","amount":1}}"#), MalformedJson),
        ("array payload", send(r#"["bob",1]"#), NotAnObject),
        ("string payload", send(r#""bob""#), NotAnObject),
        ("null payload", send("null"), NotAnObject),
        ("number payload", send("42"), NotAnObject),
        ("boolean payload", send("true"), NotAnObject),
        // Wrong types and missing fields.
        ("amount is text", send(r#"{"to":"bob","amount":"abc"}"#), InvalidField),
        (
            "amount is a boolean",
            send(r#"{"to":"bob","amount":true}"#),
            InvalidField,
        ),
        ("amount is an array", send(r#"{"to":"bob","amount":[1]}"#), InvalidField),
        (
            "amount is an object",
            send(r#"{"to":"bob","amount":{"n":1}}"#),
            InvalidField,
        ),
        ("amount is null", send(r#"{"to":"bob","amount":null}"#), InvalidField),
        ("amount missing", send(r#"{"to":"bob"}"#), InvalidField),
        ("recipient missing", send(r#"{"amount":1}"#), InvalidField),
        ("recipient is a number", send(r#"{"to":12,"amount":1}"#), InvalidField),
        (
            "claim gov is a string",
            op("alice", "claim", r#"{"gov":"yes"}"#),
            InvalidField,
        ),
        // Negative, zero, fractional, non-decimal and overflowing amounts.
        ("negative amount", send(r#"{"to":"bob","amount":-5}"#), InvalidField),
        (
            "negative amount string",
            send(r#"{"to":"bob","amount":"-5"}"#),
            InvalidField,
        ),
        ("zero amount", send(r#"{"to":"bob","amount":0}"#), InvalidField),
        ("zero amount string", send(r#"{"to":"bob","amount":"0"}"#), InvalidField),
        ("fractional amount", send(r#"{"to":"bob","amount":1.5}"#), InvalidField),
        (
            "fractional amount string",
            send(r#"{"to":"bob","amount":"12.9"}"#),
            InvalidField,
        ),
        (
            "exponent amount string",
            send(r#"{"to":"bob","amount":"1e3"}"#),
            InvalidField,
        ),
        (
            "exponent amount number",
            send(r#"{"to":"bob","amount":1e3}"#),
            InvalidField,
        ),
        (
            "hex amount string",
            send(r#"{"to":"bob","amount":"0x10"}"#),
            InvalidField,
        ),
        (
            "padded amount string",
            send(r#"{"to":"bob","amount":" 5"}"#),
            InvalidField,
        ),
        ("empty amount string", send(r#"{"to":"bob","amount":""}"#), InvalidField),
        (
            "amount above i64",
            send(r#"{"to":"bob","amount":9223372036854775808}"#),
            Overflow,
        ),
        (
            "amount above u64",
            send(r#"{"to":"bob","amount":"99999999999999999999999"}"#),
            Overflow,
        ),
        (
            "amount above supply",
            send(r#"{"to":"bob","amount":"9000000000000"}"#),
            Overflow,
        ),
        (
            "power_up above i64",
            op("alice", "power_up", r#"{"amount":"9223372036854775808"}"#),
            Overflow,
        ),
        // Accounts.
        ("empty recipient", send(r#"{"to":"","amount":1}"#), InvalidAccount),
        (
            "uppercase recipient",
            send(r#"{"to":"Bob","amount":1}"#),
            InvalidAccount,
        ),
        ("recipient too short", send(r#"{"to":"ab","amount":1}"#), InvalidAccount),
        (
            "recipient too long",
            send(r#"{"to":"abcdefghijklmnopq","amount":1}"#),
            InvalidAccount,
        ),
        ("recipient with @", send(r#"{"to":"@bob","amount":1}"#), InvalidAccount),
        ("send to self", send(r#"{"to":"alice","amount":1}"#), InvalidAccount),
        (
            "grant to self",
            op("alice", "power_grant", r#"{"to":"alice","amount":1}"#),
            InvalidAccount,
        ),
        (
            "delegator name invalid",
            delegate("Not_Valid", 1_000_000, AssetSymbol::Vests),
            InvalidAccount,
        ),
        // Unknown accounts and insufficient funds.
        (
            "send from an unknown account",
            op("nobody", "send", r#"{"to":"bob","amount":1}"#),
            InsufficientFunds,
        ),
        (
            "power_up from an unknown account",
            op("nobody", "power_up", r#"{"amount":1}"#),
            InsufficientFunds,
        ),
        (
            "send more than liquid",
            send(r#"{"to":"bob","amount":1000001}"#),
            InsufficientFunds,
        ),
        (
            "power_down more than power",
            op("alice", "power_down", r#"{"amount":200001}"#),
            InsufficientFunds,
        ),
        (
            "gov_down more than gov",
            op("alice", "gov_down", r#"{"amount":100001}"#),
            InsufficientFunds,
        ),
        (
            "grant more than power",
            op("bob", "power_grant", r#"{"to":"carol","amount":100001}"#),
            InsufficientFunds,
        ),
        // Not allowed for this account, or nothing to do.
        (
            "gov_up by a non-node",
            op("dave", "gov_up", r#"{"amount":1}"#),
            NotANode,
        ),
        (
            "claim into gov by a non-node",
            op("erin", "claim", r#"{"gov":true}"#),
            NotANode,
        ),
        ("claim with nothing to claim", op("bob", "claim", "{}"), NothingToDo),
        (
            "cancel a power_down that does not exist",
            op("alice", "power_down", r#"{"amount":0}"#),
            NothingToDo,
        ),
        (
            "grant what is already granted",
            op("alice", "power_grant", r#"{"to":"bob","amount":0}"#),
            NothingToDo,
        ),
        // Authority and signers.
        (
            "send with posting key",
            custom_json("dlux_send", &[], &["alice"], r#"{"to":"bob","amount":1}"#),
            WrongAuthority,
        ),
        (
            "power_up with posting key",
            custom_json("dlux_power_up", &[], &["alice"], r#"{"amount":1}"#),
            WrongAuthority,
        ),
        (
            "posting wins over active",
            custom_json("dlux_send", &["alice"], &["alice"], r#"{"to":"bob","amount":1}"#),
            WrongAuthority,
        ),
        (
            "no signer",
            custom_json("dlux_send", &[], &[], r#"{"to":"bob","amount":1}"#),
            NoSigner,
        ),
        // Size.
        ("json over 8192 bytes", send(&big), TooLarge),
        // Unknown ids and operations.
        ("unknown id", op("alice", "nosuch", r#"{"amount":1}"#), UnknownOperation),
        (
            "empty name after prefix",
            op("alice", "", r#"{"amount":1}"#),
            UnknownOperation,
        ),
        (
            "case differs",
            op("alice", "SEND", r#"{"to":"bob","amount":1}"#),
            UnknownOperation,
        ),
        (
            "Hive transfer is not a token op",
            HiveOp::Transfer(TransferOp {
                from: "alice".into(),
                to: "dlux-io".into(),
                amount: Asset::new(1000, AssetSymbol::Hive),
                memo: String::new(),
            }),
            UnknownOperation,
        ),
        // Hive delegations with the wrong asset or sign.
        (
            "delegation in HIVE",
            delegate("bob", 1000, AssetSymbol::Hive),
            InvalidField,
        ),
        (
            "negative delegation",
            delegate("bob", -1, AssetSymbol::Vests),
            InvalidField,
        ),
    ]
}

#[test]
fn the_table_is_big_enough() {
    assert!(cases().len() >= 40, "{} cases", cases().len());
}

#[test]
fn each_bad_input_is_rejected_with_a_reason_and_changes_nothing() {
    let valid = || op("alice", "send", r#"{"to":"bob","amount":7}"#);
    for (what, bad, code) in cases() {
        let mut node = engine();
        let mut twin = engine();
        let before = commitment(&mut node);

        let outcomes = run(&mut node, 1, vec![bad]);
        run(&mut twin, 1, vec![]);
        match outcomes.as_slice() {
            [Outcome::Rejected { code: got, reason }] => {
                assert_eq!(*got, code, "{what}: wrong code ({reason})");
                assert!(!reason.trim().is_empty(), "{what}: rejected without a reason");
            }
            other => panic!("{what}: expected one rejection, got {other:?}"),
        }
        assert_eq!(commitment(&mut node), before, "{what}: state changed");
        assert_eq!(
            commitment(&mut node),
            commitment(&mut twin),
            "{what}: differs from a run without it"
        );

        // Processing goes on: a valid op in the next block applies.
        let outcomes = run(&mut node, 2, vec![valid()]);
        assert!(
            matches!(outcomes.as_slice(), [Outcome::Applied { .. }]),
            "{what}: the next valid op did not apply: {outcomes:?}"
        );
    }
}

/// All of them in one block, interleaved with valid sends: the outcome equals a run of the
/// valid sends alone, so a rejection in the middle of a block affects nothing around it.
#[test]
fn bad_inputs_interleaved_with_valid_ops_affect_nothing() {
    let valid = |n: u64| op("bob", "send", &format!(r#"{{"to":"carol","amount":{n}}}"#));
    let mut mixed = Vec::new();
    let mut clean = Vec::new();
    for (i, (_, bad, _)) in cases().into_iter().enumerate() {
        mixed.push(bad);
        mixed.push(valid(i as u64 + 1));
        clean.push(valid(i as u64 + 1));
    }
    let n = cases().len();
    let mut a = engine();
    let mut b = engine();
    let outcomes = run(&mut a, 1, mixed);
    let rejected = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Rejected { .. }))
        .count();
    assert_eq!(rejected, n, "{outcomes:?}");
    let applied = run(&mut b, 1, clean);
    assert!(applied.iter().all(|o| matches!(o, Outcome::Applied { .. })));
    assert_eq!(commitment(&mut a), commitment(&mut b));
}
