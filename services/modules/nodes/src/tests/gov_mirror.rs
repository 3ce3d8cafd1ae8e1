//! The governance-stake mirror fed by the token module's messages.

use super::*;

#[test]
fn gov_messages_mirror_the_stake_exactly() {
    let mut t = harness();
    t.gov("alice", 40);
    t.gov("alice", 2);
    assert_eq!(views::try_gov(&t.state, "alice").unwrap(), 42);
    let ev = t
        .message("token", "gov_removed", r#"{"account":"alice","amount":42}"#)
        .unwrap();
    assert_eq!(
        ev,
        vec![NodesEvent::GovChanged {
            account: "alice".into(),
            gov: 0
        }]
    );
    assert!(t.state.get(&keys::gov("alice")).is_none(), "zero is deleted");
    t.gov("bob", u64::MAX);
    let cases = [
        (
            "token",
            "gov_removed",
            r#"{"account":"alice","amount":1}"#,
            "exceeds the mirrored stake 0",
        ),
        ("token", "gov_added", r#"{"account":"bob","amount":1}"#, "overflows"),
        ("token", "gov_added", r#"{"account":"Bob","amount":1}"#, "`account`"),
        ("token", "gov_added", r#"{"account":"bob","amount":-1}"#, "`amount`"),
        ("token", "gov_added", r#"{"account":"bob","amount":0}"#, "`amount`"),
        ("token", "gov_added", r#"{"account":"bob","amount":"1"}"#, "`amount`"),
        ("token", "gov_added", "not json", "not JSON"),
        (
            "token",
            "node_reward",
            r#"{"account":"bob","amount":1}"#,
            "not node_reward",
        ),
        ("market", "gov_added", r#"{"account":"bob","amount":1}"#, "from market"),
    ];
    for (from, kind, payload, needle) in cases {
        let before = t.state.to_map();
        assert_reject(t.message(from, kind, payload), RejectCode::BadMessage, needle, payload);
        assert_eq!(before, t.state.to_map());
    }
}
