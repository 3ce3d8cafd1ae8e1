//! The contract between the token and nodes modules, both in one engine over the devnet
//! spec: governance stake reaches the nodes module's mirror (at genesis and on gov_up),
//! registrations reach the token module, and tally rewards become claimable tokens.

mod common;

use common::{cj, node_add, report, Net};
use opentoken_core::{ChainSpec, Engine, ModuleState, Outcome, Slot};
use opentoken_nodes::{views, NodesModule};
use opentoken_token::{account_view, TokenModule};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

const SPEC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../infra/chains/devnet.json");

fn net() -> Net {
    let mut spec = ChainSpec::load(Path::new(SPEC_PATH)).expect("devnet spec loads");
    spec.modules.insert(
        "nodes".into(),
        json!({"report_window": 10, "reward_per_win": 7, "min_runners": 3,
               "genesis": {"runners": ["alice", "dlux-io"]}}),
    );
    let token = Arc::new(TokenModule::from_spec(&spec).expect("token config"));
    let nodes = Arc::new(NodesModule::from_spec(&spec).expect("nodes config"));
    let slot = |module: Arc<dyn opentoken_core::ErasedModule>| Slot {
        module,
        state: ModuleState::new(),
        last_block: None,
    };
    let mut engine = Engine::new(Arc::new(spec.clone()), vec![slot(token), slot(nodes)], vec![]);
    engine.genesis().expect("genesis applies");
    Net::new(engine, spec)
}

#[test]
fn stake_flows_in_registrations_and_rewards_flow_out() {
    let mut n = net();
    assert_eq!(n.engine.pending_messages().len(), 2, "genesis gov of dlux-io and alice");
    let ops = ["dlux-io", "alice"]
        .iter()
        .map(|a| cj(&n.spec, a, "node_add", &node_add(&n.spec, a, 1), true))
        .collect();
    let b = n.run("nodes", ops);
    assert!(b.statuses.iter().all(|s| matches!(s.outcome, Outcome::Applied { .. })));
    assert_eq!(views::try_gov(n.state("nodes"), "dlux-io").unwrap(), 1_000_000);
    assert_eq!(views::try_gov(n.state("nodes"), "alice").unwrap(), 100_000);

    // A new node registers with nodes; token learns it in the next block and lets it gov_up.
    let b = n.run(
        "nodes",
        vec![cj(&n.spec, "erin", "node_add", &node_add(&n.spec, "erin", 2), true)],
    );
    assert!(matches!(b.statuses[0].outcome, Outcome::Applied { .. }));
    n.run("token", vec![]);
    assert!(account_view(n.state("token"), "erin").unwrap().is_node);
    n.run("token", vec![cj(&n.spec, "erin", "gov_up", r#"{"amount":500}"#, true)]);
    n.run("token", vec![]);
    assert_eq!(views::try_gov(n.state("nodes"), "erin").unwrap(), 500);

    // Checkpoint 100: dlux-io alone holds > 2/3 of the runner stake.
    n.idle_until("nodes", 100);
    let t = views::open_tally(n.state("nodes")).unwrap();
    assert_eq!(t.total, 1_100_000);
    let h = [0x33; 32];
    let b = n.run(
        "nodes",
        vec![
            cj(&n.spec, "dlux-io", "report", &report(&n.spec, "dlux-io", 100, h), true),
            cj(&n.spec, "alice", "report", &report(&n.spec, "alice", 100, h), true),
            cj(&n.spec, "erin", "report", &report(&n.spec, "erin", 100, h), true),
        ],
    );
    assert_eq!(
        b.kinds(),
        vec!["ReportAccepted", "CheckpointFinal", "ReportAccepted", "ReportAccepted"]
    );
    let claim = |n: &Net, a: &str| account_view(n.state("token"), a).unwrap().claim;
    let (alice_before, dlux_before, erin_before) = (claim(&n, "alice"), claim(&n, "dlux-io"), claim(&n, "erin"));
    n.idle_until("nodes", 111);
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
