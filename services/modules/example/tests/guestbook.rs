//! The guestbook through the real engine, on the shared harness: this is the test that
//! "Adding a module" in `docs/architecture.md` points to as the proof that what it says is
//! true (a module built that way runs in the engine, records its rejections and is
//! deterministic).

use opentoken_core::test_utils::{assert_applied, assert_rejected, op, posting_op, test_spec, TestNet};
use opentoken_core::{Module, Outcome, RejectCode};
use opentoken_example_module::{views, GuestbookEvent, GuestbookModule, MAX_MESSAGE_CHARS, NAME};
use std::sync::Arc;

fn net() -> TestNet {
    TestNet::new(test_spec(), vec![Arc::new(GuestbookModule)])
}

fn sign(signer: &str, message: &str) -> opentoken_core::HiveOp {
    posting_op(signer, "sign", &serde_json::json!({ "message": message }).to_string())
}

#[test]
fn a_signature_is_an_event_and_an_entry() {
    let mut net = net();
    let b = net.run(NAME, vec![sign("alice", "hello")]);
    let status = b.status(0);
    assert_applied(&status.outcome, "alice signs");
    assert_eq!((status.op.as_str(), status.from.as_str()), ("sign", "alice"));
    assert_eq!(
        status.outcome,
        Outcome::Applied {
            summary: "@alice signed the guestbook: hello".into()
        }
    );
    assert_eq!(b.kinds(), vec!["Signed"]);
    let event = GuestbookModule
        .decode_event(&b.out.events[0].data)
        .expect("the stored event decodes");
    assert_eq!(
        event,
        GuestbookEvent::Signed {
            account: "alice".into(),
            message: "hello".into()
        }
    );
    assert_eq!(views::entry(net.state(NAME), "alice").as_deref(), Some("hello"));

    // A second signature replaces the entry; active authority satisfies a posting route.
    let b = net.run(NAME, vec![op("alice", "sign", r#"{"message":"hello again"}"#)]);
    assert_applied(&b.status(0).outcome, "alice signs again");
    assert_eq!(views::entry(net.state(NAME), "alice").as_deref(), Some("hello again"));
    assert_eq!(views::entry(net.state(NAME), "bob"), None);
}

#[test]
fn bad_input_is_rejected_with_its_reason_and_changes_nothing() {
    let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
    let cases = [
        (
            posting_op("bob", "sign", "{}"),
            RejectCode::InvalidField,
            "`message` is required",
        ),
        (
            posting_op("bob", "sign", r#"{"message":7}"#),
            RejectCode::InvalidField,
            "`message` must be a string",
        ),
        (sign("bob", ""), RejectCode::InvalidField, "must not be empty"),
        (sign("bob", &long), RejectCode::InvalidField, "at most 280"),
        (
            sign("bob", "a\u{7}bell"),
            RejectCode::InvalidField,
            "control characters",
        ),
        // The engine's generic checks, before the module decides.
        (posting_op("bob", "sign", "[1]"), RejectCode::NotAnObject, "JSON object"),
        (
            posting_op("bob", "sign", "{\"message\":"),
            RejectCode::MalformedJson,
            "not valid JSON",
        ),
        (
            posting_op("bob", "erase", "{}"),
            RejectCode::UnknownOperation,
            "dlux_erase",
        ),
    ];
    for (bad, code, needle) in cases {
        let mut net = net();
        net.run(NAME, vec![sign("alice", "first")]);
        let before = net.commitment(NAME);
        let b = net.run(NAME, vec![bad]);
        let reason = assert_rejected(&b.status(0).outcome, code, needle);
        assert!(reason.contains(needle), "{needle}: reason {reason:?}");
        assert!(b.out.events.is_empty(), "{needle}: a rejection emits no event");
        assert_eq!(net.commitment(NAME), before, "{needle}: the state changed");
        assert_eq!(views::entry(net.state(NAME), "bob"), None);
    }
}

#[test]
fn the_same_ops_give_the_same_commitment_and_checkpoints() {
    let blocks = [
        vec![sign("alice", "one"), sign("bob", "two")],
        vec![sign("bob", ""), sign("carol", "three")],
        vec![sign("alice", "four")],
    ];
    // One net idles block by block, the other in one range: the grouping of idle blocks
    // must not matter either.
    let mut a = net();
    let mut b = net();
    let (mut checkpoints_a, mut checkpoints_b) = (Vec::new(), Vec::new());
    for ops in &blocks {
        let out_a = a.run(NAME, ops.clone());
        let out_b = b.run(NAME, ops.clone());
        assert_eq!(out_a.out, out_b.out);
        let idle_to = a.next_block() + 8;
        checkpoints_a.extend(a.idle_until(idle_to).into_iter().flat_map(|o| o.out.checkpoints));
        checkpoints_b.extend(b.idle_range(idle_to).checkpoints);
    }
    assert_eq!(a.commitment(NAME), b.commitment(NAME));
    assert_eq!(checkpoints_a.len(), 3, "checkpoints 10, 20 and 30");
    assert_eq!(checkpoints_a, checkpoints_b);
    assert_eq!(checkpoints_a.last().map(|c| c.hash), Some(a.commitment(NAME)));

    // Another history gives another commitment.
    let mut c = net();
    c.run(NAME, vec![sign("alice", "one")]);
    assert_ne!(c.commitment(NAME), a.commitment(NAME));
}
