//! The contract between the nodes and multisig modules, with the token module, in one
//! engine over the devnet spec plus a `multisig` section: the multisig module learns its
//! signers (the runners' registered multi-sig keys) from the nodes module, when a runner
//! registers a key and when a tally close changes the runner set, and never receives a
//! list it already has.

mod common;

use common::{cj, node_add_ms, report};
use opentoken_core::test_utils::{devnet_spec, TestNet};
use opentoken_core::{Outcome, RejectCode};
use opentoken_hive_tx::PrivateKey;
use opentoken_multisig::MultisigModule;
use opentoken_nodes::{views, NodesModule, MULTISIG};
use opentoken_token::TokenModule;
use serde_json::json;
use std::sync::Arc;

fn net() -> TestNet {
    let spec = devnet_spec()
        .with_module(
            "nodes",
            json!({"report_window": 10, "min_runners": 3, "genesis": {"runners": ["alice", "dlux-io"]}}),
        )
        .with_module(MULTISIG, json!({}));
    let token = Arc::new(TokenModule::from_spec(&spec).expect("token config"));
    let nodes = Arc::new(NodesModule::from_spec(&spec).expect("nodes config"));
    let multisig = Arc::new(MultisigModule::from_spec(&spec).expect("multisig config"));
    TestNet::new(spec, vec![token, nodes, multisig])
}

fn ms(seed: u8) -> PrivateKey {
    PrivateKey::from_secret([seed; 32]).expect("a valid secret")
}

/// The multisig module's signers as (account, key), and its threshold.
fn multisig_signers(n: &TestNet) -> Option<(Vec<(String, String)>, u32)> {
    opentoken_multisig::views::signers(n.state(MULTISIG))
        .expect("readable")
        .map(|s| (s.signers.into_iter().map(|x| (x.account, x.key)).collect(), s.threshold))
}

/// The signers the multisig module wants the account's authority rotated to.
fn multisig_wanted(n: &TestNet) -> Option<(Vec<(String, String)>, u32)> {
    opentoken_multisig::views::wanted_signers(n.state(MULTISIG))
        .expect("readable")
        .map(|s| (s.signers.into_iter().map(|x| (x.account, x.key)).collect(), s.threshold))
}

fn pair(account: &str, seed: u8) -> (String, String) {
    (account.to_string(), ms(seed).public().to_string())
}

/// The outcomes of the `signers` messages the multisig module handled.
fn signers_outcomes(statuses: &[opentoken_core::OpStatus]) -> Vec<Outcome> {
    statuses
        .iter()
        .filter(|s| s.module == MULTISIG && s.op == "signers")
        .map(|s| s.outcome.clone())
        .collect()
}

#[test]
fn the_multisig_module_stores_the_runners_keys_after_registrations_and_a_tally_close() {
    let mut n = net();
    n.run("token", vec![]); // the genesis stake reaches the nodes module
    assert!(multisig_signers(&n).is_none(), "nothing before a runner has a key");

    // Both genesis runners register with multi-sig keys: each registration sends a list.
    let ops = [("dlux-io", 1), ("alice", 2)]
        .iter()
        .map(|(a, seed)| cj(a, "node_add", &node_add_ms(n.spec(), a, 1, &ms(*seed)), true))
        .collect();
    let b = n.run("nodes", ops);
    assert!(b
        .statuses()
        .iter()
        .all(|s| matches!(s.outcome, Outcome::Applied { .. })));
    assert_eq!(b.kinds(), vec!["NodeAdded", "SignersSent", "NodeAdded", "SignersSent"]);
    let b = n.run("multisig", vec![]);
    let outcomes = signers_outcomes(b.statuses());
    assert_eq!(outcomes.len(), 2);
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Applied { .. })),
        "{outcomes:?}"
    );
    // The first list is the account's authority; the second is a rotation to be signed.
    assert_eq!(multisig_signers(&n), Some((vec![pair("dlux-io", 1)], 1)));
    assert_eq!(
        multisig_wanted(&n),
        Some((vec![pair("alice", 2), pair("dlux-io", 1)], 2))
    );

    // erin, not a runner, registers a key: the signers stay; she stakes and reports.
    let b = n.run(
        "nodes",
        vec![cj("erin", "node_add", &node_add_ms(n.spec(), "erin", 2, &ms(3)), true)],
    );
    assert_eq!(b.kinds(), vec!["NodeAdded"]);
    n.run("token", vec![]);
    n.run("token", vec![cj("erin", "gov_up", r#"{"amount":500}"#, true)]);
    let mut outputs = n.idle_until(100);
    let h = [0x44; 32];
    outputs.push(
        n.run(
            "nodes",
            ["dlux-io", "alice", "erin"]
                .iter()
                .map(|a| cj(a, "report", &report(n.spec(), a, 100, h), true))
                .collect(),
        ),
    );
    // The tally of 100 closes at 110 and elects erin; the multisig module learns it at 111.
    outputs.extend(n.idle_until(110));
    assert_eq!(multisig_wanted(&n).map(|s| s.0.len()), Some(2));
    let closing = outputs.last().expect("block 110");
    assert_eq!(closing.kinds(), vec!["TallyClosed", "SignersSent", "CollateralSent"]);
    outputs.extend(n.idle_until(111));
    assert_eq!(
        views::runners(n.state("nodes"))
            .into_iter()
            .map(|r| r.0)
            .collect::<Vec<_>>(),
        ["alice", "dlux-io", "erin"]
    );
    assert_eq!(
        multisig_wanted(&n),
        Some((vec![pair("alice", 2), pair("dlux-io", 1), pair("erin", 3)], 3))
    );
    assert_eq!(
        multisig_signers(&n),
        Some((vec![pair("dlux-io", 1)], 1)),
        "until a rotation lands"
    );
    assert_eq!(views::signers_sent(n.state("nodes")).len(), 3);

    // Only lists that changed were sent: the multisig module never refused one as nothing
    // to do (or at all).
    let outcomes: Vec<Outcome> = outputs.iter().flat_map(|o| signers_outcomes(o.statuses())).collect();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert!(!outcomes.iter().any(|o| matches!(
        o,
        Outcome::Rejected {
            code: RejectCode::NothingToDo,
            ..
        }
    )));
    assert!(matches!(outcomes[0], Outcome::Applied { .. }));
}
