//! Reports, finality, tally close, election and rewards, driven through the real engine with
//! the nodes module alone (the token module's messages are delivered as remote messages,
//! as a processor of another process would deliver them).
//!
//! Checkpoints every 10 blocks, report window 5: reports for checkpoint 10 are accepted in
//! blocks 11..=15 and its tally closes at the end of block 15.

mod common;

use common::{cj, key, node_add, report, report_with, spec};
use ed25519_dalek::Signer;
use opentoken_core::test_utils::{BlockOutput as Block, TestNet as Net};
use opentoken_core::{OpStatus, Outcome, RejectCode};
use opentoken_nodes::{report_json, report_signing_bytes, views, NodesEvent, NodesModule};
use serde_json::json;
use std::sync::Arc;

const H: [u8; 32] = [0x11; 32];
const OTHER: [u8; 32] = [0x22; 32];

/// A net with the nodes module alone; `nodes` is the `modules.nodes` section.
fn net(nodes: serde_json::Value) -> Net {
    let spec = spec(nodes);
    let module = Arc::new(NodesModule::from_spec(&spec).expect("the nodes config is valid"));
    Net::new(spec, vec![module])
}

fn applied(s: &OpStatus) -> bool {
    matches!(s.outcome, Outcome::Applied { .. })
}

fn assert_all_applied(b: &Block, what: &str) {
    for s in b.statuses() {
        assert!(applied(s), "{what}: {} by @{} was {:?}", s.op, s.from, s.outcome);
    }
}

/// Registers `stakes` (runners or not, per the config) in block 1, mirrors their governance
/// stake in block 2, and runs to checkpoint 10, whose tally opens.
fn setup(nodes: serde_json::Value, stakes: &[(&str, u64)]) -> Net {
    let mut n = register(nodes, stakes);
    let opened = n.idle_until(10);
    assert_eq!(opened.last().map(Block::kinds), Some(vec!["TallyOpened"]));
    n
}

/// Blocks 1 and 2 of [`setup`]: registration and governance stake.
fn register(nodes: serde_json::Value, stakes: &[(&str, u64)]) -> Net {
    let mut n = net(nodes);
    let ops = stakes
        .iter()
        .map(|(a, _)| cj(a, "node_add", &node_add(n.spec(), a, 1), true))
        .collect();
    let b = n.run("nodes", ops);
    assert_all_applied(&b, "registration");
    let registered: Vec<_> = b
        .out
        .remote_messages
        .iter()
        .map(|m| (m.to.as_str(), m.kind.as_str(), m.payload.clone()))
        .collect();
    let want: Vec<_> = stakes
        .iter()
        .map(|(a, _)| ("token", "node_registered", format!(r#"{{"account":"{a}"}}"#)))
        .collect();
    assert_eq!(registered, want, "every new node is announced to the token module");
    for (a, g) in stakes {
        n.deliver(
            "token",
            "nodes",
            "gov_added",
            json!({"account": a, "amount": g}).to_string(),
        );
    }
    let b = n.run("nodes", vec![]);
    assert_eq!(b.statuses().len(), stakes.len());
    assert_all_applied(&b, "gov messages");
    n
}

const THREE: &[(&str, u64)] = &[("alice", 40), ("bob", 35), ("carol", 25), ("dave", 50)];

fn three_config() -> serde_json::Value {
    json!({"report_window": 5, "genesis": {"runners": ["alice", "bob", "carol"]}})
}

/// Runners alice 40, bob 35, carol 25; dave 50 is a node but no runner; tally 10 open.
fn three() -> Net {
    setup(three_config(), THREE)
}

fn report_op(n: &Net, who: &str, block: u64, hash: [u8; 32]) -> opentoken_core::HiveOp {
    cj(who, "report", &report(n.spec(), who, block, hash), true)
}

fn decode(n: &Net, b: &Block) -> Vec<NodesEvent> {
    let m = NodesModule::from_spec(n.spec()).unwrap();
    b.out
        .events
        .iter()
        .map(|e| opentoken_core::Module::decode_event(&m, &e.data).expect("events decode"))
        .collect()
}

#[test]
fn finality_when_runners_with_75_of_100_agree_then_close_elects_and_drops() {
    let mut n = three();
    let t = views::open_tally(n.state("nodes")).unwrap();
    assert_eq!((t.block, t.total, t.runners.len()), (10, 100, 3));

    let b = n.run(
        "nodes",
        vec![report_op(&n, "alice", 10, H), report_op(&n, "bob", 10, H)],
    );
    assert_all_applied(&b, "reports");
    assert_eq!(b.kinds(), vec!["ReportAccepted", "ReportAccepted", "CheckpointFinal"]);
    assert_eq!(
        decode(&n, &b)[2],
        NodesEvent::CheckpointFinal {
            block: 10,
            hash: H,
            at: 11,
            stake: 75,
            total: 100
        }
    );
    assert_eq!(views::final_hash(n.state("nodes"), 10), Some(H));

    // carol disagrees, dave (no runner, the most stake) agrees: both accepted, no second final.
    let b = n.run(
        "nodes",
        vec![report_op(&n, "carol", 10, OTHER), report_op(&n, "dave", 10, H)],
    );
    assert_all_applied(&b, "late reports");
    assert_eq!(b.kinds(), vec!["ReportAccepted", "ReportAccepted"]);

    let closing = n.idle_until(15);
    let last = closing.last().unwrap();
    assert_eq!(last.kinds(), vec!["TallyClosed"]);
    let NodesEvent::TallyClosed(c) = &decode(&n, last)[0] else {
        panic!()
    };
    assert_eq!(c.final_hash, Some(H));
    assert_eq!(c.runners_after, vec!["alice", "bob"]);
    assert_eq!(c.dropped, vec!["carol"]);
    assert_eq!(c.elected.as_deref(), Some("dave"), "2 runners < min_runners 9");
    assert_eq!(
        views::runners(n.state("nodes")),
        vec![("alice".into(), 40), ("bob".into(), 35), ("dave".into(), 50)]
    );
    let rec = |a: &str| views::node(n.state("nodes"), a).unwrap();
    assert_eq!((rec("alice").wins, rec("alice").yays, rec("alice").attempts), (1, 1, 1));
    assert_eq!(
        (rec("carol").strikes, rec("carol").yays, rec("carol").attempts),
        (1, 0, 1)
    );
    assert_eq!((rec("dave").wins, rec("dave").yays, rec("dave").last_good), (0, 1, 10));
    assert!(last.out.remote_messages.is_empty(), "no rewards configured");

    // The next tally freezes the new set with its stakes.
    let b = n.idle_until(20);
    assert_eq!(b.last().unwrap().kinds(), vec!["TallyOpened"]);
    let t = views::open_tally(n.state("nodes")).unwrap();
    assert_eq!((t.block, t.total), (20, 125));
    assert_eq!(views::stats(n.state("nodes")).last_final, Some(10));
}

#[test]
fn sixty_percent_is_not_final_and_the_set_stays() {
    let mut n = three();
    let b = n.run(
        "nodes",
        vec![
            report_op(&n, "bob", 10, H),
            report_op(&n, "carol", 10, H),
            report_op(&n, "alice", 10, OTHER),
        ],
    );
    assert_all_applied(&b, "reports");
    assert!(!b.kinds().contains(&"CheckpointFinal"), "35 + 25 of 100 is not > 2/3");
    let closing = n.idle_until(15);
    let NodesEvent::TallyClosed(c) = &decode(&n, closing.last().unwrap())[0] else {
        panic!()
    };
    assert_eq!((c.final_hash, c.chaos, c.elected.clone()), (None, 1, None));
    assert_eq!(c.runners, vec!["alice", "bob", "carol"]);
    assert!(c.dropped.is_empty());
    assert_eq!(views::final_hash(n.state("nodes"), 10), None);
    assert_eq!(views::stats(n.state("nodes")).chaos, 1);
    assert_eq!(views::node(n.state("nodes"), "carol").unwrap().strikes, 0);
}

#[test]
fn the_last_block_of_the_window_still_counts_before_the_close() {
    let mut n = three();
    n.idle_until(14);
    let b = n.run(
        "nodes",
        vec![report_op(&n, "alice", 10, H), report_op(&n, "bob", 10, H)],
    );
    assert_all_applied(&b, "reports in block 15 = 10 + report_window");
    assert_eq!(
        b.kinds(),
        vec!["ReportAccepted", "ReportAccepted", "CheckpointFinal", "TallyClosed"],
        "ops run before the block's chron work"
    );
    let NodesEvent::TallyClosed(c) = &decode(&n, &b)[3] else {
        panic!()
    };
    assert_eq!(c.final_hash, Some(H));
    assert_eq!(n.next_block(), 16);
    assert_eq!(views::open_tally(n.state("nodes")), None);
}

#[test]
fn exactly_two_thirds_is_not_final() {
    let mut n = setup(
        json!({"report_window": 5, "genesis": {"runners": ["alice", "bob", "carol"]}}),
        &[("alice", 10), ("bob", 10), ("carol", 10)],
    );
    let b = n.run(
        "nodes",
        vec![report_op(&n, "alice", 10, H), report_op(&n, "bob", 10, H)],
    );
    assert_eq!(
        b.kinds(),
        vec!["ReportAccepted", "ReportAccepted"],
        "20 of 30 is exactly 2/3"
    );
    let b = n.run("nodes", vec![report_op(&n, "carol", 10, H)]);
    assert_eq!(b.kinds(), vec!["ReportAccepted", "CheckpointFinal"]);
}

#[test]
fn winners_are_rewarded_through_token_messages() {
    let mut n = setup(
        json!({"report_window": 5, "reward_per_win": 7, "min_runners": 1,
               "genesis": {"runners": ["alice", "bob", "carol"]}}),
        &[("alice", 40), ("bob", 35), ("carol", 25)],
    );
    n.run(
        "nodes",
        vec![report_op(&n, "alice", 10, H), report_op(&n, "bob", 10, H)],
    );
    let closing = n.idle_until(15);
    let msgs: Vec<_> = closing
        .last()
        .unwrap()
        .out
        .remote_messages
        .iter()
        .map(|m| {
            (
                m.from.as_str(),
                m.to.as_str(),
                m.kind.as_str(),
                m.payload.as_str(),
                m.pos.block,
            )
        })
        .collect();
    assert_eq!(
        msgs,
        vec![
            ("nodes", "token", "node_reward", r#"{"account":"alice","amount":7}"#, 15),
            ("nodes", "token", "node_reward", r#"{"account":"bob","amount":7}"#, 15),
        ]
    );
    // No finality, no rewards.
    n.idle_until(20);
    let closing = n.idle_until(25);
    assert!(closing.iter().all(|b| b.out.remote_messages.is_empty()));
}

#[test]
fn deleting_a_runner_drops_it_at_close_and_tells_token() {
    let mut n = three();
    let b = n.run("nodes", vec![cj("carol", "node_delete", "{}", true)]);
    assert_all_applied(&b, "node_delete");
    assert_eq!(b.out.remote_messages[0].kind, "node_removed");
    // alice + bob are final; carol's report is refused.
    let b = n.run(
        "nodes",
        vec![
            report_op(&n, "alice", 10, H),
            report_op(&n, "bob", 10, H),
            report_op(&n, "carol", 10, H),
        ],
    );
    assert!(matches!(
        &b.statuses()[2].outcome,
        Outcome::Rejected {
            code: RejectCode::NotANode,
            ..
        }
    ));
    let closing = n.idle_until(15);
    let NodesEvent::TallyClosed(c) = &decode(&n, closing.last().unwrap())[0] else {
        panic!()
    };
    assert_eq!(c.dropped, vec!["carol"]);
    n.idle_until(20);
    let t = views::open_tally(n.state("nodes")).unwrap();
    assert!(!t.runners.iter().any(|r| r.account == "carol"));
}

/// An op to send in a case: (signer, op name, json, active authority).
type Op = (&'static str, &'static str, String, bool);

struct Case {
    name: &'static str,
    /// Ops applied to both nets before, as (block, op).
    before: Vec<(u64, Op)>,
    forged_at: u64,
    forged: Op,
    code: RejectCode,
    needle: String,
    /// A valid report that must still apply afterwards.
    valid_at: u64,
    valid: Op,
}

fn run_case(case: &Case) {
    // Both nets are at block 3; the tally of checkpoint 10 opens on the way.
    let new = || register(three_config(), THREE);
    let (mut a, mut b) = (new(), new());
    let op = |(who, name, json, active): &Op| cj(who, name, json, *active);
    let last = case.valid_at.max(case.forged_at);
    let mut forged_seen = false;
    let mut valid_seen = false;
    while a.next_block() <= last {
        let block = a.next_block();
        let mut ops_a = Vec::new();
        let mut ops_b = Vec::new();
        for (at, o) in &case.before {
            if *at == block {
                ops_a.push(op(o));
                ops_b.push(op(o));
            }
        }
        let forged_index = (block == case.forged_at).then(|| {
            ops_a.push(op(&case.forged));
            ops_a.len() - 1
        });
        let valid_index = (block == case.valid_at).then(|| {
            ops_a.push(op(&case.valid));
            ops_b.push(op(&case.valid));
            ops_a.len() - 1
        });
        let ra = a.run("nodes", ops_a);
        let rb = b.run("nodes", ops_b);
        let status = |i: usize| ra.status(i);
        if let Some(i) = forged_index {
            forged_seen = true;
            match &status(i).outcome {
                Outcome::Rejected { code, reason } => {
                    assert_eq!(*code, case.code, "{}: {reason}", case.name);
                    assert!(
                        reason.contains(&case.needle),
                        "{}: reason {reason:?} does not name {:?}",
                        case.name,
                        case.needle
                    );
                }
                other => panic!("{}: forged op was {other:?}", case.name),
            }
        }
        if let Some(i) = valid_index {
            valid_seen = true;
            assert!(
                applied(status(i)),
                "{}: the valid report after it: {:?}",
                case.name,
                status(i)
            );
        }
        // Positions differ by the forged op's slot; kinds and payloads must not.
        let events = |r: &Block| -> Vec<(String, Vec<u8>)> {
            r.out.events.iter().map(|e| (e.kind.clone(), e.data.clone())).collect()
        };
        assert_eq!(
            events(&ra),
            events(&rb),
            "{}: the forged op produced events in block {block}",
            case.name
        );
        assert_eq!(
            a.commitment("nodes"),
            b.commitment("nodes"),
            "{}: the forged op changed the state in block {block}",
            case.name
        );
    }
    assert!(forged_seen && valid_seen, "{}: the case never ran its ops", case.name);
    let t = views::open_tally(a.state("nodes")).expect("a tally is open");
    assert!(
        t.votes.contains_key(case.valid.0),
        "{}: the valid report was counted",
        case.name
    );
}

#[test]
fn forged_and_misplaced_reports_are_rejected_and_change_nothing() {
    let s = spec(json!({}));
    let rep = |who: &str, block: u64, hash: [u8; 32]| report(&s, who, block, hash);
    let active = |who: &'static str, json: String| -> Op { (who, "report", json, true) };
    let valid_bob = active("bob", rep("bob", 10, H));

    let mut flipped: serde_json::Value = serde_json::from_str(&rep("alice", 10, H)).unwrap();
    let mut sig = hex::decode(flipped["sig"].as_str().unwrap()).unwrap();
    sig[10] ^= 0x04;
    flipped["sig"] = json!(hex::encode(sig));

    let by_bobs_key = {
        let sig = key("bob").sign(&report_signing_bytes(&s.hive_chain_id(), &s.prefix, 10, &H));
        report_json(10, &H, "v", &sig.to_bytes())
    };
    let mut bad_hash: serde_json::Value = serde_json::from_str(&rep("alice", 10, H)).unwrap();
    bad_hash["hash"] = json!("xyz");
    let mut short_hash = bad_hash.clone();
    short_hash["hash"] = json!("11".repeat(31));
    let mut long_version: serde_json::Value = serde_json::from_str(&rep("alice", 10, H)).unwrap();
    long_version["version"] = json!("v".repeat(65));
    let mut no_sig: serde_json::Value = serde_json::from_str(&rep("alice", 10, H)).unwrap();
    no_sig.as_object_mut().unwrap().remove("sig");

    let cases = vec![
        Case {
            name: "bad signature",
            before: vec![],
            forged_at: 11,
            forged: active("alice", flipped.to_string()),
            code: RejectCode::InvalidField,
            needle: "`sig` does not verify with @alice's registered report key".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "signed with another node's key",
            before: vec![],
            forged_at: 11,
            forged: active("alice", by_bobs_key),
            code: RejectCode::InvalidField,
            needle: "`sig` does not verify".into(),
            valid_at: 12,
            valid: valid_bob.clone(),
        },
        Case {
            name: "duplicate (the same report replayed)",
            before: vec![(11, active("alice", rep("alice", 10, H)))],
            forged_at: 12,
            forged: active("alice", rep("alice", 10, H)),
            code: RejectCode::NothingToDo,
            needle: "already reported checkpoint 10".into(),
            valid_at: 12,
            valid: valid_bob.clone(),
        },
        Case {
            name: "duplicate with another hash",
            before: vec![(11, active("alice", rep("alice", 10, H)))],
            forged_at: 11,
            forged: active("alice", rep("alice", 10, OTHER)),
            code: RejectCode::NothingToDo,
            needle: "already reported checkpoint 10".into(),
            valid_at: 13,
            valid: valid_bob.clone(),
        },
        Case {
            name: "an old report replayed after its window",
            before: vec![(11, active("alice", rep("alice", 10, H)))],
            forged_at: 21,
            forged: active("alice", rep("alice", 10, H)),
            code: RejectCode::InvalidField,
            needle: "too late: reports for checkpoint 10 are accepted in blocks 11..=15, this is block 21".into(),
            valid_at: 21,
            valid: active("bob", rep("bob", 20, H)),
        },
        Case {
            name: "one block after the window",
            before: vec![],
            forged_at: 16,
            forged: active("alice", rep("alice", 10, H)),
            code: RejectCode::InvalidField,
            needle: "too late".into(),
            valid_at: 21,
            valid: active("bob", rep("bob", 20, H)),
        },
        Case {
            name: "in the checkpoint block itself",
            before: vec![],
            forged_at: 10,
            forged: active("alice", rep("alice", 10, H)),
            code: RejectCode::InvalidField,
            needle: "too early: reports for checkpoint 10 are accepted in blocks 11..=15, this is block 10".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "for a future checkpoint",
            before: vec![],
            forged_at: 12,
            forged: active("alice", rep("alice", 20, H)),
            code: RejectCode::InvalidField,
            needle: "too early".into(),
            valid_at: 12,
            valid: valid_bob.clone(),
        },
        Case {
            name: "not a checkpoint block",
            before: vec![],
            forged_at: 11,
            forged: active("alice", rep("alice", 5, H)),
            code: RejectCode::InvalidField,
            needle: "block 5 is not a checkpoint block (a multiple of 10)".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "unknown checkpoint (before the chain started)",
            before: vec![],
            forged_at: 3,
            forged: active("alice", rep("alice", 0, H)),
            code: RejectCode::InvalidField,
            needle: "no tally open for checkpoint 0".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "not a node",
            before: vec![],
            forged_at: 11,
            forged: active("mallory", rep("mallory", 10, H)),
            code: RejectCode::NotANode,
            needle: "@mallory is not a registered node".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "a node outside the runner set without governance stake",
            before: vec![(3, ("erin", "node_add", node_add(&s, "erin", 3), true))],
            forged_at: 11,
            forged: active("erin", rep("erin", 10, H)),
            code: RejectCode::InsufficientFunds,
            needle: "@erin is not a runner of checkpoint 10 and holds 0 governance stake".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "a deleted node",
            before: vec![(3, ("dave", "node_delete", "{}".into(), true))],
            forged_at: 11,
            forged: active("dave", rep("dave", 10, H)),
            code: RejectCode::NotANode,
            needle: "@dave deleted its node registration".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "posting authority",
            before: vec![],
            forged_at: 11,
            forged: ("alice", "report", rep("alice", 10, H), false),
            code: RejectCode::WrongAuthority,
            needle: "requires active authority".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "malformed hash",
            before: vec![],
            forged_at: 11,
            forged: active("alice", bad_hash.to_string()),
            code: RejectCode::InvalidField,
            needle: "`hash` must be 64 hex digits".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "short hash",
            before: vec![],
            forged_at: 11,
            forged: active("alice", short_hash.to_string()),
            code: RejectCode::InvalidField,
            needle: "`hash` must be 64 hex digits".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "signed for another chain id",
            before: vec![],
            forged_at: 11,
            forged: active("alice", report_with(&[0x42; 32], &s.prefix, "alice", 10, H)),
            code: RejectCode::InvalidField,
            needle: "`sig` does not verify".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "signed for another prefix",
            before: vec![],
            forged_at: 11,
            forged: active("alice", report_with(&s.hive_chain_id(), "spkcc_", "alice", 10, H)),
            code: RejectCode::InvalidField,
            needle: "`sig` does not verify".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "signed for another checkpoint",
            before: vec![],
            forged_at: 11,
            forged: active("alice", {
                let sig = key("alice").sign(&report_signing_bytes(&s.hive_chain_id(), &s.prefix, 20, &H));
                report_json(10, &H, "v", &sig.to_bytes())
            }),
            code: RejectCode::InvalidField,
            needle: "`sig` does not verify".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "version too long",
            before: vec![],
            forged_at: 11,
            forged: active("alice", long_version.to_string()),
            code: RejectCode::InvalidField,
            needle: "`version` must be at most 64".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
        Case {
            name: "unsigned",
            before: vec![],
            forged_at: 11,
            forged: active("alice", no_sig.to_string()),
            code: RejectCode::InvalidField,
            needle: "`sig` is required".into(),
            valid_at: 11,
            valid: valid_bob.clone(),
        },
    ];
    for case in &cases {
        run_case(case);
    }
}
