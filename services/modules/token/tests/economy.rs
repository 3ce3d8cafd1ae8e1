//! The economy (`modules.token.economy`): the inflation mint and the DAO day, worked by hand
//! from the reference's formulas (token-core §5.2, §5.4.2), the supply accounted to the unit
//! over long generated runs, the nodes module's `runner_wins` refused when malformed, and
//! the chron work identical whether the engine runs blocks one by one or skips idle ranges.

use opentoken_core::test_utils::{test_spec, ModuleHarness, TestNet};
use opentoken_core::{ChainSpec, RejectCode, StateRead};
use opentoken_token::keys::{self, Bucket, Pool};
use opentoken_token::{stats_view, supply_check, TokenEvent, TokenModule};
use proptest::prelude::*;
use serde_json::json;
use std::sync::Arc;

/// A chain whose one mint (block 100) before the first DAO day (block 150) is exactly
/// 2,288,000,000 / 40,000 = 57,200: the reference's default rates, a marketing cap of
/// 1,000, two delegators (3:1 by VESTS).
fn spec() -> ChainSpec {
    test_spec().with_module(
        "token",
        json!({
            "power_down_interval": 10, "gov_down_interval": 10,
            "genesis": {
                "balances": {"whale": 2_288_000_000u64},
                "delegations": {"carol": 3_000_000, "dave": 1_000_000},
            },
            "economy": {
                "interest_rate": 40_000, "mint_every": 100, "dao_every": 1_000, "dao_offset": 150,
                "marketing_cap": 1_000,
            },
        }),
    )
}

fn harness(spec: ChainSpec) -> ModuleHarness<TokenModule> {
    let module = TokenModule::from_spec(&spec).expect("valid economy");
    ModuleHarness::new(module, spec)
}

fn pool(h: &ModuleHarness<TokenModule>, p: Pool) -> u64 {
    keys::amount(&h.state, &p.key())
}

fn claimable(h: &ModuleHarness<TokenModule>, acct: &str) -> u64 {
    keys::amount(&h.state, &keys::account(Bucket::Claimable, acct))
}

fn wins(accounts: &[&str], node_rate: u64) -> String {
    json!({ "accounts": accounts, "node_rate": node_rate }).to_string()
}

/// One inflation step by hand: ⌊2,288,000,000 / 40,000⌋ = 57,200 into `ra`; the next one
/// compounds: ⌊2,288,057,200 / 40,000⌋ = 57,201.
#[test]
fn golden_inflation_step() {
    let mut h = harness(spec());
    assert!(h.block_end(99).is_empty(), "no mint between multiples");
    assert_eq!(
        h.block_end(100),
        vec![TokenEvent::Inflated {
            block: 100,
            amount: 57_200
        }]
    );
    assert_eq!(pool(&h, Pool::Minted), 57_200);
    assert_eq!(keys::amount(&h.state, keys::SUPPLY), 2_288_057_200);
    h.block_end(150);
    assert_eq!(
        h.block_end(200),
        vec![TokenEvent::Inflated {
            block: 200,
            amount: 57_201
        }]
    );
}

/// One DAO day by hand (§5.4.2 with the runners' average bidRate 800): of t = 57,200 the
/// nodes get 4,576 (alice 3 wins: ⌊4,576·3/4⌋ = 3,432; bob 1 win: 1,144), marketing
/// 14,300, of which 13,300 is over the 1,000 cap and goes to content; the delegators
/// 11,440 (carol 3/4: 8,580; dave 1/4: 2,860); content 26,884 + 13,300 = 40,184.
#[test]
fn golden_dao_day() {
    let mut h = harness(spec());
    h.message("nodes", "runner_wins", &wins(&["alice", "bob"], 800))
        .expect("wins");
    h.message("nodes", "runner_wins", &wins(&["alice"], 800)).expect("wins");
    h.message("nodes", "runner_wins", &wins(&["alice"], 800)).expect("wins");
    h.block_end(100);
    let events = h.block_end(150);
    let TokenEvent::DaoDay(day) = &events[0] else {
        panic!("a DAO day first: {events:?}")
    };
    assert_eq!(
        (day.minted, day.node_rate, day.to_nodes, day.to_marketing, day.overflow),
        (57_200, 800, 4_576, 14_300, 13_300)
    );
    assert_eq!((day.to_delegators, day.to_content), (11_440, 26_884));
    assert_eq!(
        events[1..],
        [
            TokenEvent::PoolPaid {
                pool: Pool::Nodes,
                account: "alice".into(),
                amount: 3_432
            },
            TokenEvent::PoolPaid {
                pool: Pool::Nodes,
                account: "bob".into(),
                amount: 1_144
            },
            TokenEvent::PoolPaid {
                pool: Pool::Delegators,
                account: "carol".into(),
                amount: 8_580
            },
            TokenEvent::PoolPaid {
                pool: Pool::Delegators,
                account: "dave".into(),
                amount: 2_860
            },
        ]
    );
    assert_eq!(
        Pool::ALL.map(|p| pool(&h, p)),
        [0, 0, 1_000, 0, 40_184],
        "ra, rn, rm, rd, rc"
    );
    assert_eq!(
        ["alice", "bob", "carol", "dave"].map(|a| claimable(&h, a)),
        [3_432, 1_144, 8_580, 2_860]
    );
    assert_eq!(
        h.state.scan_prefix(keys::WINS_PREFIX.as_bytes()).count(),
        0,
        "wins restart"
    );
    let stats = stats_view(&h.state).expect("stats");
    assert_eq!(stats.nodeRate, Some(800));
    assert_eq!(stats.last_dao, Some(*day));
    assert_eq!(stats.pools.get("rc"), Some(&40_184));
    assert!(supply_check(&h.state).expect("audit").ok);
}

/// Floors leave dust in the pools, never more than was there: three equal winners of a
/// node pool of 100 get 33 each and 1 stays in `rn` for the next day; a day without wins
/// or delegations pays nobody and the pools keep their share (the reference throws there).
#[test]
fn dust_and_empty_days_stay_in_their_pools() {
    let spec = test_spec().with_module(
        "token",
        json!({
            "power_down_interval": 10, "gov_down_interval": 10,
            "genesis": {"balances": {"whale": 10_000_000}},
            "economy": {"interest_rate": 8_000, "mint_every": 10, "dao_every": 100, "dao_offset": 15,
                        "marketing_rate": 0, "delegation_rate": 0},
        }),
    );
    let mut h = harness(spec);
    h.block_end(10); // 1,250 minted
    let day = h.block_end(15);
    assert_eq!(day.len(), 1, "no wins, no delegations: nobody paid: {day:?}");
    assert_eq!(pool(&h, Pool::Nodes), 1_250 * 2_500 / 10_000, "the default node rate");
    h.message("nodes", "runner_wins", &wins(&["node1", "node2", "node3"], 10))
        .expect("wins");
    let rn = pool(&h, Pool::Nodes);
    let paid = h.block_end(115);
    let each = rn / 3;
    assert_eq!(
        paid.iter()
            .filter(|e| matches!(e, TokenEvent::PoolPaid { amount, .. } if *amount == each))
            .count(),
        3
    );
    assert_eq!(pool(&h, Pool::Nodes), rn - 3 * each);
    assert!(supply_check(&h.state).expect("audit").ok);
}

/// The nodes module's `runner_wins` as an attacker or a bug would send it: each refused
/// with a reason and the state unchanged.
#[test]
fn malformed_runner_wins_are_refused() {
    let mut h = harness(spec());
    let too_many: Vec<String> = (0..257).map(|i| format!("node{i}")).collect();
    let too_many = json!({"accounts": too_many, "node_rate": 500}).to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        ("nodes", "{}".into(), "accounts"),
        ("nodes", "not json".into(), "runner_wins needs"),
        ("nodes", wins(&[], 500), "names 0 accounts"),
        ("nodes", too_many, "names 257 accounts"),
        ("nodes", wins(&["Not-An-Account"], 500), "not a Hive account"),
        ("nodes", wins(&["alice"], 1_001), "node_rate 1001"),
        (
            "nodes",
            json!({"accounts": ["alice"], "node_rate": -1}).to_string(),
            "runner_wins needs",
        ),
        (
            "nodes",
            json!({"accounts": ["alice"], "node_rate": 5, "x": 1}).to_string(),
            "unknown field",
        ),
        (
            "nodes",
            json!({"accounts": "alice", "node_rate": 5}).to_string(),
            "runner_wins needs",
        ),
        ("dex", wins(&["alice"], 500), "not runner_wins from dex"),
    ];
    for (from, payload, why) in cases {
        let before = h.state.to_map();
        let err = h.message(from, "runner_wins", &payload).expect_err(&payload);
        assert!(err.to_string().contains(why), "{payload}: {err}");
        assert_eq!(err.code, RejectCode::BadMessage, "{payload}");
        assert!(before == h.state.to_map(), "{payload} changed the state");
    }
    // Without an economy nothing counts wins.
    let mut plain = ModuleHarness::new(
        TokenModule::from_spec(&opentoken_core::test_utils::devnet_spec()).expect("devnet"),
        opentoken_core::test_utils::devnet_spec(),
    );
    let err = plain
        .message("nodes", "runner_wins", &wins(&["alice"], 500))
        .expect_err("no economy");
    assert!(err.to_string().contains("no economy"), "{err}");
}

/// The engine skips idle ranges by `next_due_block`: every mint and DAO day in them runs
/// all the same, to the same state, as running each block.
#[test]
fn idle_ranges_run_every_mint_and_dao_day() {
    let net = || {
        let spec = spec();
        let module = Arc::new(TokenModule::from_spec(&spec).expect("economy"));
        TestNet::new(spec, vec![module])
    };
    let (mut one_by_one, mut skipping) = (net(), net());
    one_by_one.idle_until(2_345);
    skipping.idle_range(2_345);
    assert_eq!(one_by_one.commitment("token"), skipping.commitment("token"));
    let s = stats_view(one_by_one.state("token")).expect("stats");
    assert_eq!(s.last_dao.map(|d| d.block), Some(2_150));
    assert!(s.pools.get("rc").copied().unwrap_or(0) > 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Over generated runs of mints, DAO days, wins, delegations, sends, claims and the
    /// DEX's liquidity points paid from the marketing pool, the supply is genesis plus every `Inflated` to the unit, every token is somewhere the
    /// audit counts (balances, claimable, pools) at every block, and each day's split adds
    /// up to what it took from `ra`.
    #[test]
    fn the_supply_is_genesis_plus_every_mint(
        steps in proptest::collection::vec((0u8..6, 0usize..4, 1u64..5_000_000), 1..120),
        interest in 1_000u64..1_000_000,
    ) {
        // With a DEX, so that its liquidity points reach the ledger (paid from `rm`).
        let spec = test_spec().with_module("multisig", json!({})).with_module("dex", json!({})).with_module(
            "token",
            json!({
                "power_down_interval": 10, "gov_down_interval": 10,
                "genesis": {"balances": {"alice": 500_000_000, "bob": 7, "carol": 90_000}},
                "economy": {"interest_rate": interest, "mint_every": 3, "dao_every": 17, "dao_offset": 5,
                            "marketing_cap": 5_000},
            }),
        );
        let mut h = harness(spec);
        let genesis = keys::amount(&h.state, keys::SUPPLY);
        let names = ["alice", "bob", "carol", "dave"];
        let mut minted = 0u64;
        for (block, (kind, who, x)) in (1u64..).zip(steps) {
            let acct = names[who];
            match kind {
                0 => {
                    let _ = h.message("nodes", "runner_wins", &wins(&[acct, names[(who + 1) % 4]], x % 1_001));
                }
                1 => {
                    let vests = if x % 5 == 0 { 0 } else { x };
                    let e = if vests == 0 {
                        TokenEvent::DelegationRemoved { account: acct.into() }
                    } else {
                        TokenEvent::DelegationSet { account: acct.into(), vests }
                    };
                    h.apply(&[e]);
                }
                2 => {
                    let _ = h.handle(block, acct, "claim", json!({}))
                        .map(|e| h.apply(&e));
                }
                3 => {
                    let _ = h.handle(block, acct, "send", json!({"to": names[(who + 1) % 4], "amount": x}))
                        .map(|e| h.apply(&e));
                }
                4 => {
                    let points = json!({"accounts": {acct: x, names[(who + 1) % 4]: x / 3 + 1}});
                    h.message("dex", "liquidity", &points.to_string()).expect("liquidity points are paid");
                }
                _ => {}
            }
            let ra_before = keys::amount(&h.state, &Pool::Minted.key());
            for e in h.block_end(block) {
                match e {
                    TokenEvent::Inflated { amount, .. } => minted += amount,
                    TokenEvent::DaoDay(d) => {
                        prop_assert_eq!(d.minted, ra_before);
                        prop_assert_eq!(d.to_nodes + d.to_marketing + d.to_delegators + d.to_content, d.minted);
                        prop_assert!(d.overflow <= d.to_marketing);
                    }
                    _ => {}
                }
            }
            let audit = supply_check(&h.state).expect("audit");
            prop_assert!(audit.ok, "block {}: {}", block, audit.check);
            prop_assert_eq!(audit.supply, genesis + minted, "block {}", block);
            prop_assert!(keys::amount(&h.state, &Pool::Marketing.key()) <= 5_000);
        }
    }
}

/// The DEX's liquidity points paid by hand (token-core §5.4.2): with 3,650,000 in the
/// marketing pool and the reference's 100% reward, a day pays ⌊3,650,000·100/36,500⌋ =
/// 10,000 by points (alice 3, bob 1: 7,500 and 2,500) into claimable balances; malformed
/// messages and senders are refused and change nothing.
#[test]
fn liquidity_points_are_paid_from_the_marketing_pool() {
    let spec = test_spec()
        .with_module("multisig", json!({}))
        .with_module("dex", json!({}))
        .with_module(
            "token",
            json!({
                "power_down_interval": 10, "gov_down_interval": 10,
                "genesis": {"balances": {"whale": 1_000}, "pools": {"rm": 3_650_000}},
                "economy": {"interest_rate": 1_000_000_000},
            }),
        );
    let mut h = harness(spec);
    let paid = h
        .message(
            "dex",
            "liquidity",
            &json!({"accounts": {"alice": 3, "bob": 1}}).to_string(),
        )
        .expect("paid");
    assert_eq!(
        paid,
        vec![
            TokenEvent::PoolPaid {
                pool: Pool::Marketing,
                account: "alice".into(),
                amount: 7_500
            },
            TokenEvent::PoolPaid {
                pool: Pool::Marketing,
                account: "bob".into(),
                amount: 2_500
            },
        ]
    );
    assert_eq!(pool(&h, Pool::Marketing), 3_640_000);
    assert!(supply_check(&h.state).expect("audit").ok);
    let too_many: serde_json::Map<String, serde_json::Value> =
        (0..100_001).map(|i| (format!("acct{i}"), json!(1))).collect();
    for (from, payload, why) in [
        (
            "dex",
            json!({"accounts": {"Not-Valid": 1}}).to_string(),
            "not a Hive account",
        ),
        ("dex", json!({"accounts": [1]}).to_string(), "liquidity needs"),
        ("dex", json!({"accounts": {"alice": -1}}).to_string(), "liquidity needs"),
        ("dex", json!({"accounts": too_many}).to_string(), "at most 100000"),
        ("nodes", json!({"accounts": {"alice": 1}}).to_string(), "liquidity"),
    ] {
        let before = h.state.to_map();
        let err = h.message(from, "liquidity", &payload).expect_err(why);
        assert_eq!(err.code, RejectCode::BadMessage);
        assert!(err.to_string().contains(why), "{why}: {err}");
        assert!(before == h.state.to_map());
    }
}
