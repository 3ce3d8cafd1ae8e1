//! The contract between the token and nodes modules, both in one engine over the devnet
//! spec: governance stake reaches the nodes module's mirror (at genesis and on gov_up),
//! registrations reach the token module, and tally rewards become claimable tokens.

mod common;

use common::{cj, node_add, report};
use opentoken_core::test_utils::{devnet_spec, TestNet};
use opentoken_core::Outcome;
use opentoken_nodes::{views, NodesModule};
use opentoken_token::{account_view, TokenModule};
use serde_json::json;
use std::sync::Arc;

fn net() -> TestNet {
    let spec = devnet_spec().with_module(
        "nodes",
        json!({"report_window": 10, "reward_per_win": 7, "min_runners": 3,
               "genesis": {"runners": ["alice", "dlux-io"]}}),
    );
    let token = Arc::new(TokenModule::from_spec(&spec).expect("token config"));
    let nodes = Arc::new(NodesModule::from_spec(&spec).expect("nodes config"));
    TestNet::new(spec, vec![token, nodes])
}

#[test]
fn stake_flows_in_registrations_and_rewards_flow_out() {
    let mut n = net();
    assert_eq!(n.pending_messages().len(), 2, "genesis gov of dlux-io and alice");
    let ops = ["dlux-io", "alice"]
        .iter()
        .map(|a| cj(a, "node_add", &node_add(n.spec(), a, 1), true))
        .collect();
    let b = n.run("nodes", ops);
    assert!(b
        .statuses()
        .iter()
        .all(|s| matches!(s.outcome, Outcome::Applied { .. })));
    assert_eq!(views::try_gov(n.state("nodes"), "dlux-io").unwrap(), 1_000_000);
    assert_eq!(views::try_gov(n.state("nodes"), "alice").unwrap(), 100_000);

    // A new node registers with nodes; token learns it in the next block and lets it gov_up.
    let b = n.run(
        "nodes",
        vec![cj("erin", "node_add", &node_add(n.spec(), "erin", 2), true)],
    );
    assert!(matches!(b.statuses()[0].outcome, Outcome::Applied { .. }));
    n.run("token", vec![]);
    assert!(account_view(n.state("token"), "erin").unwrap().is_node);
    n.run("token", vec![cj("erin", "gov_up", r#"{"amount":500}"#, true)]);
    n.run("token", vec![]);
    assert_eq!(views::try_gov(n.state("nodes"), "erin").unwrap(), 500);

    // Checkpoint 100: dlux-io alone holds > 2/3 of the runner stake.
    n.idle_until(100);
    let t = views::open_tally(n.state("nodes")).unwrap();
    assert_eq!(t.total, 1_100_000);
    let h = [0x33; 32];
    let b = n.run(
        "nodes",
        vec![
            cj("dlux-io", "report", &report(n.spec(), "dlux-io", 100, h), true),
            cj("alice", "report", &report(n.spec(), "alice", 100, h), true),
            cj("erin", "report", &report(n.spec(), "erin", 100, h), true),
        ],
    );
    assert_eq!(
        b.kinds(),
        vec!["ReportAccepted", "CheckpointFinal", "ReportAccepted", "ReportAccepted"]
    );
    let claim = |n: &TestNet, a: &str| account_view(n.state("token"), a).unwrap().claim;
    let (alice_before, dlux_before, erin_before) = (claim(&n, "alice"), claim(&n, "dlux-io"), claim(&n, "erin"));
    n.idle_until(111);
    assert_eq!(claim(&n, "alice"), alice_before + 7);
    assert_eq!(claim(&n, "dlux-io"), dlux_before + 7);
    assert_eq!(claim(&n, "erin"), erin_before, "elected this tally, not yet a winner");
    assert_eq!(
        views::runners(n.state("nodes")),
        vec![
            ("alice".into(), 100_000),
            ("dlux-io".into(), 1_000_000),
            ("erin".into(), 500)
        ]
    );
}

/// The registration reaches the token module at the start of the next block: a `gov_up`
/// in the registration's own block is refused as by a non-node, the same op a block later
/// applies (docs/compatibility.md).
#[test]
fn gov_up_in_the_registration_block_waits_for_the_next_block() {
    let mut n = net();
    n.run("token", vec![]);
    let b = n.run_modules(vec![
        (
            "nodes",
            vec![cj("erin", "node_add", &node_add(n.spec(), "erin", 2), true)],
        ),
        ("token", vec![cj("erin", "gov_up", r#"{"amount":500}"#, true)]),
    ]);
    assert!(
        matches!(b.status(0).outcome, Outcome::Applied { .. }),
        "{:?}",
        b.status(0)
    );
    assert!(
        matches!(
            &b.status(1).outcome,
            Outcome::Rejected {
                code: opentoken_core::RejectCode::NotANode,
                ..
            }
        ),
        "{:?}",
        b.status(1)
    );
    let b = n.run("token", vec![cj("erin", "gov_up", r#"{"amount":500}"#, true)]);
    assert!(b
        .statuses()
        .iter()
        .filter(|s| s.module == "token")
        .all(|s| matches!(s.outcome, Outcome::Applied { .. })));
    assert_eq!(account_view(n.state("token"), "erin").unwrap().gov, 500);
}
