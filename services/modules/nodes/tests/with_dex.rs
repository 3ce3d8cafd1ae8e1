//! The nodes module's messages to the DEX, through the real engine with the token and
//! multisig modules over the devnet spec plus `multisig` and `dex` sections: a tally close
//! sends the signers' collateral to both multisig and the DEX, and the runners'
//! stake-weighted DEX votes to the DEX. The DEX runs in another process here, so what is
//! sent to it is what the engine hands the processor to publish (`remote_messages`).

mod common;

use common::{cj, node_add_ms};
use opentoken_core::test_utils::{devnet_spec, BlockOutput, TestNet};
use opentoken_core::{ChainSpec, Module, Outcome, StateRead};
use opentoken_dex::protocol::{Params, KIND_COLLATERAL, KIND_PARAMS, NAME as DEX};
use opentoken_hive_tx::PrivateKey;
use opentoken_multisig::MultisigModule;
use opentoken_nodes::{views, NodesModule, MULTISIG};
use opentoken_token::TokenModule;
use serde_json::{json, Value};
use std::sync::Arc;

fn spec() -> ChainSpec {
    devnet_spec()
        .with_module(
            "nodes",
            json!({"report_window": 10, "min_runners": 3, "genesis": {"runners": ["alice", "dlux-io"]}}),
        )
        .with_module(MULTISIG, json!({}))
        .with_module(DEX, json!({}))
}

fn net() -> TestNet {
    let spec = spec();
    let token = Arc::new(TokenModule::from_spec(&spec).expect("token config"));
    let nodes = Arc::new(NodesModule::from_spec(&spec).expect("nodes config"));
    let multisig = Arc::new(MultisigModule::from_spec(&spec).expect("multisig config"));
    TestNet::new(spec, vec![token, nodes, multisig])
}

/// `node_add` of `account` with multi-sig key `seed`, voting (`bidRate`, `dm`, `ds`).
fn node_add_voting(spec: &ChainSpec, account: &str, seed: u8, votes: (u64, u64, u64)) -> String {
    let ms = PrivateKey::from_secret([seed; 32]).expect("a valid secret");
    let mut p: Value = serde_json::from_str(&node_add_ms(spec, account, 1, &ms)).expect("json");
    p["bidRate"] = json!(votes.0);
    p["dm"] = json!(votes.1);
    p["ds"] = json!(votes.2);
    p.to_string()
}

/// What the nodes module sent the DEX in these blocks, as (kind, payload).
fn to_dex(outputs: &[BlockOutput]) -> Vec<(String, String)> {
    outputs
        .iter()
        .flat_map(|o| &o.out.remote_messages)
        .filter(|m| m.from == "nodes" && m.to == DEX)
        .map(|m| (m.kind.clone(), m.payload.clone()))
        .collect()
}

#[test]
fn a_tally_close_sends_the_collateral_to_multisig_and_the_dex_and_the_voted_params_to_the_dex() {
    let mut n = net();
    assert_eq!(
        NodesModule::from_spec(n.spec()).unwrap().sends_to(),
        ["dex", "multisig", "token"]
    );
    n.run("token", vec![]); // the genesis stake reaches the nodes module
                            // dlux-io 1_000_000 and alice 100_000 governance stake (the devnet genesis).
    let ops = vec![
        cj(
            "dlux-io",
            "node_add",
            &node_add_voting(n.spec(), "dlux-io", 1, (200, 3000, 50)),
            true,
        ),
        cj(
            "alice",
            "node_add",
            &node_add_voting(n.spec(), "alice", 2, (900, 8000, 500)),
            true,
        ),
    ];
    let mut outputs = vec![n.run("nodes", ops)];
    assert!(outputs[0]
        .statuses()
        .iter()
        .all(|s| matches!(s.outcome, Outcome::Applied { .. })));
    assert_eq!(views::try_gov(n.state("nodes"), "dlux-io").unwrap(), 1_000_000);
    assert_eq!(views::try_gov(n.state("nodes"), "alice").unwrap(), 100_000);

    // The tally of 100 closes at 110 (without reports: no finality, the runners stay).
    outputs.extend(n.idle_until(109));
    assert!(to_dex(&outputs).is_empty(), "nothing before the close");
    let closing = n.idle_until(110);
    assert_eq!(
        closing[0].kinds(),
        vec!["TallyClosed", "CollateralSent", "DexParamsSent"]
    );
    // bidRate (1e6*200 + 1e5*900) / 1.1e6 = 263 -> 2630 ppm; dm 3.8e9 / 1.1e6 = 3454;
    // ds 1e8 / 1.1e6 = 90. The collateral: both signers must sign, 1_100_000.
    let want = Params {
        fee_ppm: 2630,
        dex_max_bp: 3454,
        dex_slope_bp: 90,
    };
    assert_eq!(
        to_dex(&closing),
        vec![
            (KIND_COLLATERAL.to_string(), r#"{"stake":1100000}"#.to_string()),
            (KIND_PARAMS.to_string(), serde_json::to_string(&want).unwrap()),
        ]
    );
    assert_eq!(views::dex_params_sent(n.state("nodes")), Some(want));
    // The multisig module got the same collateral in the next block.
    n.idle_until(111);
    assert_eq!(
        n.state(MULTISIG).get(b"collateral"),
        Some(&1_100_000u64.to_be_bytes()[..])
    );

    // The next close changes nothing, so nothing goes to the DEX.
    let later = n.idle_until(210);
    assert!(to_dex(&later).is_empty());
    assert_eq!(views::dex_params_sent(n.state("nodes")), Some(want));
}
