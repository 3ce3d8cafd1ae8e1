//! The DEX's voted parameters and collateral sent to it: the stake-weighted votes of the
//! runners, only changes, and nothing at all on a chain without the DEX.

use super::*;
use crate::signers::{COLLATERAL_KIND, MULTISIG};
use opentoken_dex::protocol::{Params, KIND_COLLATERAL, KIND_PARAMS, NAME as DEX};

/// alice, bob, carol and erin are the genesis runners.
fn nodes_config() -> Value {
    json!({"report_window": 5, "pop_max_age": 20, "min_runners": 2, "max_runners": 5,
           "genesis": {"runners": ["alice", "bob", "carol", "erin"]}})
}

fn dex_harness() -> T {
    harness_with(
        spec_with(nodes_config())
            .with_module(MULTISIG, json!({}))
            .with_module(DEX, json!({})),
    )
}

fn ms_harness() -> T {
    harness_with(spec_with(nodes_config()).with_module(MULTISIG, json!({})))
}

fn params(fee_ppm: u64, dex_max_bp: u64, dex_slope_bp: u64) -> Params {
    Params {
        fee_ppm,
        dex_max_bp,
        dex_slope_bp,
    }
}

/// `node_add` of `account` at `block` voting (`bidRate`, `dm`, `ds`), with a multi-sig key of
/// `seed` when there is one.
fn add_voting(t: &mut T, block: u64, account: &str, ms: Option<u8>, votes: (u64, u64, u64)) -> Vec<NodesEvent> {
    let payload = match ms {
        Some(seed) => {
            let k = mskey(seed);
            add_payload_ms(t, account, block - 1, &k, &k)
        }
        None => add_payload(t, account, block - 1),
    };
    let payload = with(payload, "bidRate", json!(votes.0));
    let payload = with(payload, "dm", json!(votes.1));
    let payload = with(payload, "ds", json!(votes.2));
    t.run(block, account, "node_add", payload)
}

/// Runners alice 40, bob 35, carol 26 (multi-sig keys, different votes) and erin (no
/// stake, extreme votes); dave (not a runner) with the most stake and other extreme votes.
fn registered(t: &mut T) -> Vec<NodesEvent> {
    let mut all = Vec::new();
    all.extend(add_voting(t, 2, "alice", Some(1), (100, 2000, 100)));
    all.extend(add_voting(t, 2, "bob", Some(2), (800, 9000, 0)));
    all.extend(add_voting(t, 2, "carol", Some(3), (1000, 5000, 7)));
    all.extend(add_voting(t, 2, "erin", None, (1, 1, 10_000)));
    all.extend(add_voting(t, 2, "dave", Some(4), (1, 1, 10_000)));
    for (n, g) in [("alice", 40), ("bob", 35), ("carol", 26), ("dave", 500)] {
        t.gov(n, g);
    }
    all
}

/// The messages the events send to `to`, as (kind, payload).
fn sent_to(t: &T, events: &[NodesEvent], to: &str) -> Vec<(String, String)> {
    events
        .iter()
        .flat_map(|e| t.module.messages(e))
        .filter(|m| m.to == to)
        .map(|m| (m.kind, m.payload))
        .collect()
}

fn params_sent(events: &[NodesEvent]) -> Vec<Params> {
    events
        .iter()
        .filter_map(|e| match e {
            NodesEvent::DexParamsSent { params } => Some(*params),
            _ => None,
        })
        .collect()
}

/// The weighted votes of alice 40, bob 35, carol 26 (total 101; erin and dave have no say):
/// bidRate (40*100 + 35*800 + 26*1000) / 101 = 58000 / 101 = 574 -> 5740 ppm;
/// dm (40*2000 + 35*9000 + 26*5000) / 101 = 525000 / 101 = 5198;
/// ds (40*100 + 35*0 + 26*7) / 101 = 4182 / 101 = 41.
const VOTED: Params = Params {
    fee_ppm: 5740,
    dex_max_bp: 5198,
    dex_slope_bp: 41,
};

#[test]
fn a_tally_close_sends_the_collateral_to_both_and_the_weighted_votes_to_the_dex() {
    let mut t = dex_harness();
    assert_eq!(t.module.sends_to(), ["dex", "multisig", "token"]);
    assert!(!t.module.sends_on_messages());
    let ev = registered(&mut t);
    assert!(
        sent_to(&t, &ev, DEX).is_empty(),
        "registrations send nothing to the DEX: {ev:?}"
    );
    assert!(params_sent(&ev).is_empty());

    assert!(matches!(&t.block_end(10)[..], [NodesEvent::TallyOpened { .. }]));
    let ev = t.block_end(15);
    assert!(
        matches!(
            &ev[..],
            [
                NodesEvent::TallyClosed(c),
                NodesEvent::CollateralSent { stake: 101 },
                NodesEvent::DexParamsSent { params }
            ] if c.runners == ["alice", "bob", "carol", "erin"] && *params == VOTED
        ),
        "{ev:?}"
    );
    let collateral = (COLLATERAL_KIND.to_string(), r#"{"stake":101}"#.to_string());
    assert_eq!(KIND_COLLATERAL, COLLATERAL_KIND);
    assert_eq!(sent_to(&t, &ev, MULTISIG), vec![collateral.clone()]);
    assert_eq!(
        sent_to(&t, &ev, DEX),
        vec![
            collateral,
            (
                KIND_PARAMS.to_string(),
                r#"{"fee_ppm":5740,"dex_max_bp":5198,"dex_slope_bp":41}"#.to_string()
            ),
        ]
    );
    assert_eq!(
        serde_json::from_str::<Params>(&sent_to(&t, &ev, DEX)[1].1).unwrap(),
        VOTED
    );
    assert_eq!(views::dex_params_sent(&t.state), Some(VOTED));
    assert_eq!(
        t.state.get(keys::DEX_PARAMS),
        Some(&br#"{"fee_ppm":5740,"dex_max_bp":5198,"dex_slope_bp":41}"#[..])
    );
}

#[test]
fn unchanged_params_are_not_sent_again_and_a_vote_or_stake_change_is() {
    let mut t = dex_harness();
    registered(&mut t);
    t.block_end(10);
    assert_eq!(params_sent(&t.block_end(15)), vec![VOTED]);

    // The next close with the same votes and stakes sends nothing at all.
    t.block_end(20);
    let ev = t.block_end(25);
    assert!(matches!(&ev[..], [NodesEvent::TallyClosed(_)]), "{ev:?}");
    assert!(sent_to(&t, &ev, DEX).is_empty());

    // A restart: a new module over the same state knows what it sent.
    t.module = NodesModule::from_spec(&t.spec).unwrap();
    t.block_end(30);
    let ev = t.block_end(35);
    assert!(matches!(&ev[..], [NodesEvent::TallyClosed(_)]), "{ev:?}");

    // bob votes bidRate 300: nothing is sent before the close, which sends the new params
    // alone (the collateral did not change): (4000 + 35*300 + 26000) / 101 = 40500 / 101 = 400.
    let ev = add_voting(&mut t, 36, "bob", Some(2), (300, 9000, 0));
    assert!(matches!(&ev[..], [NodesEvent::NodeAdded { .. }]), "{ev:?}");
    assert!(sent_to(&t, &ev, DEX).is_empty());
    t.block_end(40);
    let ev = t.block_end(45);
    let want = params(4000, 5198, 41);
    assert_eq!(params_sent(&ev), vec![want]);
    assert_eq!(
        sent_to(&t, &ev, DEX),
        vec![(KIND_PARAMS.to_string(), serde_json::to_string(&want).unwrap())]
    );
    assert!(sent_to(&t, &ev, MULTISIG).is_empty());

    // erin gains stake: her votes count, the collateral does not change (she has no key).
    // bidRate (4000 + 10500 + 26000 + 99*1) / 200 = 40599 / 200 = 202;
    // dm (80000 + 315000 + 130000 + 99*1) / 200 = 525099 / 200 = 2625;
    // ds (4000 + 0 + 182 + 99*10000) / 200 = 994182 / 200 = 4970.
    t.gov("erin", 99);
    t.block_end(50);
    let ev = t.block_end(55);
    assert_eq!(params_sent(&ev), vec![params(2020, 2625, 4970)]);
    assert!(sent_to(&t, &ev, MULTISIG).is_empty());
    assert_eq!(views::dex_params_sent(&t.state), Some(params(2020, 2625, 4970)));
}

#[test]
fn a_runner_set_without_stake_votes_the_defaults_once() {
    let mut t = dex_harness();
    add_voting(&mut t, 2, "alice", Some(1), (100, 2000, 100));
    t.block_end(10);
    let ev = t.block_end(15);
    assert_eq!(params_sent(&ev), vec![params(5000, 10_000, 0)], "{ev:?}");
    assert_eq!(
        sent_to(&t, &ev, DEX),
        vec![
            (COLLATERAL_KIND.to_string(), r#"{"stake":0}"#.to_string()),
            (
                KIND_PARAMS.to_string(),
                r#"{"fee_ppm":5000,"dex_max_bp":10000,"dex_slope_bp":0}"#.to_string()
            ),
        ]
    );
    t.block_end(20);
    assert!(
        params_sent(&t.block_end(25)).is_empty(),
        "the defaults again are no change"
    );
}

#[test]
fn a_dex_without_multisig_gets_the_params_and_no_collateral() {
    let mut t = harness_with(spec_with(nodes_config()).with_module(DEX, json!({})));
    assert_eq!(t.module.sends_to(), ["dex", "token"]);
    registered(&mut t);
    t.block_end(10);
    let ev = t.block_end(15);
    assert!(
        matches!(&ev[..], [NodesEvent::TallyClosed(_), NodesEvent::DexParamsSent { params }] if *params == VOTED),
        "{ev:?}"
    );
    assert_eq!(sent_to(&t, &ev, DEX).len(), 1);
    assert!(t.state.get(keys::MS_COLLATERAL).is_none());
}

#[test]
fn an_invalid_dex_section_is_refused_at_genesis() {
    let spec = spec_with(nodes_config()).with_module(DEX, json!({"fee_ppm": 100_001}));
    assert!(NodesModule::from_spec(&spec).is_err());
}

/// Registrations, stake, a final tally with an election and a drop, a vote change, more
/// closes.
fn scenario(t: &mut T) -> Vec<NodesEvent> {
    let mut all = registered(t);
    all.extend(t.block_end(10));
    let cid = t.chain_id();
    for (n, h) in [
        ("alice", [1; 32]),
        ("bob", [1; 32]),
        ("carol", [1; 32]),
        ("erin", [2; 32]),
        ("dave", [1; 32]),
    ] {
        all.extend(t.run(11, n, "report", sign_report(&cid, PREFIX, n, 10, h)));
    }
    all.extend(t.block_end(15));
    all.extend(add_voting(t, 16, "alice", Some(1), (600, 100, 3)));
    all.extend(t.block_end(20));
    all.extend(t.block_end(25));
    all.extend(t.block_end(30));
    all
}

#[test]
fn without_the_dex_nothing_goes_to_it_and_nothing_else_changes() {
    let mut with_dex = dex_harness();
    let mut without = ms_harness();
    assert_eq!(without.module.sends_to(), ["multisig", "token"]);
    let ev_dex = scenario(&mut with_dex);
    let ev_plain = scenario(&mut without);

    // dave is elected (erin dropped), then alice's new votes: two parameter sets.
    assert_eq!(params_sent(&ev_dex).len(), 2, "{ev_dex:?}");
    assert!(params_sent(&ev_plain).is_empty());
    assert!(sent_to(&without, &ev_plain, DEX).is_empty());
    let others: Vec<NodesEvent> = ev_dex
        .iter()
        .filter(|e| !matches!(e, NodesEvent::DexParamsSent { .. }))
        .cloned()
        .collect();
    assert_eq!(others, ev_plain, "every other event is the same");
    // The same messages to everyone else, and the DEX gets each collateral too.
    for to in ["token", MULTISIG] {
        assert_eq!(
            sent_to(&with_dex, &ev_dex, to),
            sent_to(&without, &ev_plain, to),
            "{to}"
        );
    }
    let collateral_dex: Vec<_> = sent_to(&with_dex, &ev_dex, DEX)
        .into_iter()
        .filter(|(k, _)| k == KIND_COLLATERAL)
        .collect();
    let collateral_ms: Vec<_> = sent_to(&without, &ev_plain, MULTISIG)
        .into_iter()
        .filter(|(k, _)| k == COLLATERAL_KIND)
        .collect();
    assert!(!collateral_ms.is_empty());
    assert_eq!(collateral_dex, collateral_ms);

    assert!(without.state.get(keys::DEX_PARAMS).is_none());
    assert_eq!(views::dex_params_sent(&without.state), None);
    let mut pairs = with_dex.state.to_map();
    assert!(pairs.remove(keys::DEX_PARAMS).is_some());
    assert_eq!(pairs, without.state.to_map());
    assert_eq!(
        opentoken_core::ModuleState::from_pairs(pairs).recompute_commitment(),
        without.state.commitment()
    );
}
