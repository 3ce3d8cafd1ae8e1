//! The genesis forms a community that moves to opentoken brings its running state in
//! (grants, power-downs and governance withdrawals under way, the economy's pools): each
//! gives exactly the state the operations that made it give, and a genesis that could not
//! have come from a ledger is refused at start with the field named.

use opentoken_core::test_utils::{test_spec, ModuleHarness};
use opentoken_core::{ChainSpec, StateRead};
use opentoken_token::keys::{self, Bucket, Unlock};
use opentoken_token::{stats_view, supply_check, TokenModule};
use serde_json::{json, Value};

fn spec(genesis: Value, economy: bool) -> ChainSpec {
    let mut token = json!({"power_down_interval": 10, "gov_down_interval": 20, "genesis": genesis});
    if economy {
        token["economy"] = json!({"interest_rate": 1_000_000});
    }
    let mut spec = test_spec().with_module("token", token);
    spec.starting_block = 100;
    spec
}

fn harness(spec: ChainSpec) -> ModuleHarness<TokenModule> {
    ModuleHarness::new(TokenModule::from_spec(&spec).expect("valid genesis"), spec)
}

/// alice powers 5,000 up, grants bob 300 and carol 200, powers 1,000 down and withdraws 400
/// of governance stake, by ops; the same ledger as a genesis (her remaining power, the
/// grants, the two schedules read off the first ledger) is the same state, key for key.
#[test]
fn grants_and_schedules_at_genesis_equal_the_ops_that_make_them() {
    let mut by_ops = harness(spec(
        json!({"balances": {"alice": 10_000}, "gov": {"alice": 1_000}}),
        false,
    ));
    by_ops.run(100, "alice", "power_up", json!({"amount": 5_000}));
    by_ops.run(100, "alice", "power_grant", json!({"to": "bob", "amount": 300}));
    by_ops.run(100, "alice", "power_grant", json!({"to": "carol", "amount": 200}));
    by_ops.run(101, "alice", "power_down", json!({"amount": 1_000}));
    by_ops.run(102, "alice", "gov_down", json!({"amount": 400}));
    let schedule = |h: &ModuleHarness<TokenModule>, unlock: Unlock| -> Vec<(u64, u64)> {
        h.state
            .scan_prefix(b"sch/")
            .filter_map(|(k, v)| {
                let (block, u, _) = keys::parse_schedule(k)?;
                (u == unlock).then(|| (block, keys::decode_u64(v).unwrap_or(0)))
            })
            .collect()
    };
    let power_downs = schedule(&by_ops, Unlock::Power);
    let gov_downs = schedule(&by_ops, Unlock::Gov);
    assert_eq!(power_downs, vec![(111, 250), (121, 250), (131, 250), (141, 250)]);
    assert_eq!(gov_downs, vec![(122, 100), (142, 100), (162, 100), (182, 100)]);
    let at_genesis = harness(spec(
        json!({
            "balances": {"alice": 5_000}, "pow": {"alice": 4_500}, "gov": {"alice": 1_000},
            "grants": {"alice": {"bob": 300, "carol": 200}},
            "power_downs": {"alice": power_downs}, "gov_downs": {"alice": gov_downs},
        }),
        false,
    ));
    assert!(
        by_ops.state.to_map() == at_genesis.state.to_map(),
        "the genesis differs from the ops: {:?} vs {:?}",
        by_ops.state.to_map(),
        at_genesis.state.to_map()
    );
    // And the schedule runs from there as it would have.
    let mut at_genesis = at_genesis;
    at_genesis.block_end(111);
    assert_eq!(
        keys::amount(&at_genesis.state, &keys::account(Bucket::Liquid, "alice")),
        5_250
    );
}

/// Pools brought at genesis are part of the supply and of the audit, and the next DAO day
/// pays from them.
#[test]
fn pools_at_genesis_are_supply() {
    let h = harness(spec(
        json!({"balances": {"alice": 1_000}, "pools": {"rc": 40_184, "rd": 7, "ra": 0}}),
        true,
    ));
    assert_eq!(keys::amount(&h.state, keys::SUPPLY), 41_191);
    let stats = stats_view(&h.state).expect("stats");
    assert_eq!(stats.pools.get("rc"), Some(&40_184));
    assert!(!stats.pools.contains_key("ra"), "an empty pool is no key");
    assert!(supply_check(&h.state).expect("audit").ok);
}

#[test]
fn impossible_genesis_states_refuse_to_start() {
    let cases = [
        (json!({"grants": {"alice": {"alice": 5}}}), false, "genesis.grants"),
        (json!({"grants": {"alice": {"Bob": 5}}}), false, "genesis.grants"),
        (
            json!({"pow": {"alice": 100}, "power_downs": {"alice": [[110, 60], [120, 50]]}}),
            false,
            "more than the 100",
        ),
        (
            json!({"gov": {"alice": 100}, "gov_downs": {"alice": [[120, 10], [110, 10]]}}),
            false,
            "increasing blocks",
        ),
        (
            json!({"pow": {"alice": 100}, "power_downs": {"alice": []}}),
            false,
            "1 to 52",
        ),
        (
            json!({"pow": {"alice": 100}, "power_downs": {"alice": [[99, 10]]}}),
            false,
            "before the start (100)",
        ),
        (json!({"pools": {"rx": 1}}), true, "not a pool"),
        (json!({"pools": {"rc": 1}}), false, "needs an economy"),
        (
            json!({"pools": {"rc": i64::MAX as u64}, "balances": {"alice": 1}}),
            true,
            "i64::MAX",
        ),
    ];
    for (genesis, economy, why) in cases {
        match TokenModule::from_spec(&spec(genesis.clone(), economy)) {
            Err(e) => assert!(e.why.contains(why), "{genesis}: {:?} does not say {why}", e.why),
            Ok(_) => panic!("{genesis} was accepted"),
        }
    }
}

fn pob_spec(genesis: Value) -> ChainSpec {
    let token = json!({"power_down_interval": 10, "gov_down_interval": 20, "genesis": genesis,
        "economy": {"interest_rate": 1_000_000, "mint_every": 100, "dao_every": 1_000, "dao_offset": 150,
                    "proof_of_brain": {"beneficiary": "dlux-io", "pending_blocks": 50, "reward_blocks": 150}}});
    let mut spec = test_spec().with_module("token", token);
    spec.starting_block = 100;
    spec
}

fn other(name: &str, body: Value) -> opentoken_core::HiveOp {
    opentoken_core::HiveOp::Other {
        name: name.into(),
        body: body.to_string(),
    }
}

/// Posts, votes, meters, a paid post, the moving weight, wins and the node rate, made by
/// ops and chron work, and the same as a genesis read off that state: equal key for key.
#[test]
fn proof_of_brain_and_the_economy_at_genesis_equal_what_made_them() {
    let genesis = json!({"balances": {"alice": 10_000}, "pow": {"bob": 4_000, "carol": 1_000}});
    let mut by_ops = harness(pob_spec(genesis.clone()));
    let comment = |permlink: &str| {
        other(
            "comment",
            json!({"author": "alice", "permlink": permlink, "json_metadata": r#"{"arHash":"Q"}"#}),
        )
    };
    let options = |permlink: &str| {
        other(
            "comment_options",
            json!({"author": "alice", "permlink": permlink,
                   "extensions": [[0, {"beneficiaries": [{"account": "dlux-io", "weight": 1_000}]}]]}),
        )
    };
    let vote = |voter: &str, permlink: &str, weight: i64| {
        other(
            "vote",
            json!({"voter": voter, "author": "alice", "permlink": permlink, "weight": weight}),
        )
    };
    for op in [comment("old"), options("old"), vote("bob", "old", 10_000)] {
        by_ops.hive_op(100, &op).expect("routed").expect("accepted");
    }
    by_ops
        .message(
            "nodes",
            "runner_wins",
            &json!({"accounts": ["bob", "carol"], "node_rate": 700}).to_string(),
        )
        .expect("wins");
    for b in [100, 150, 200, 300] {
        by_ops.block_end(b);
    }
    for _ in 0..2 {
        by_ops
            .message(
                "nodes",
                "runner_wins",
                &json!({"accounts": ["bob"], "node_rate": 800}).to_string(),
            )
            .expect("wins");
    }
    for op in [
        comment("open"),
        options("open"),
        vote("bob", "open", 5_000),
        vote("carol", "open", -10_000),
        comment("waiting"),
    ] {
        by_ops.hive_op(310, &op).expect("routed").expect("accepted");
    }
    let s = &by_ops.state;
    let paid: opentoken_token::pob::PaidPost =
        serde_json::from_slice(s.get(&keys::pob::paid("alice", "old")).expect("paid")).expect("json");
    let mana = |a: &str| opentoken_token::pob::Mana::decode(s.get(&keys::pob::mana(a)).expect("meter")).expect("mana");
    let day: Value = serde_json::from_slice(s.get(keys::LAST_DAY).expect("a DAO day")).expect("json");
    let vote_of = |voter: &str| {
        let v = s.get(&keys::pob::vote("alice", "open", voter)).expect("vote");
        (
            keys::decode_u64(&v[..8]).expect("block"),
            i64::from_be_bytes(v[8..16].try_into().expect("8 bytes")),
        )
    };
    let mut genesis = genesis;
    genesis["balances"] = json!({"alice": keys::amount(s, &keys::account(Bucket::Liquid, "alice"))});
    genesis["claimable"] = json!({
        "alice": keys::amount(s, &keys::account(Bucket::Claimable, "alice")),
        "bob": keys::amount(s, &keys::account(Bucket::Claimable, "bob")),
    });
    let pools: serde_json::Map<String, Value> = keys::Pool::ALL
        .iter()
        .map(|p| (p.name().to_string(), json!(keys::amount(s, &p.key()))))
        .collect();
    genesis["pools"] = Value::Object(pools);
    genesis["economy"] = json!({"wins": {"bob": 2}, "node_rate": 800, "last_dao": day});
    genesis["proof_of_brain"] = json!({
        "pending": {"alice/waiting": 310},
        "posts": {"alice/open": {"block": 310, "votes": {"bob": vote_of("bob"), "carol": vote_of("carol")}}},
        "meters": {"bob": mana("bob"), "carol": mana("carol")},
        "paid": {"alice/old": paid},
        "moving_weight": keys::amount(s, keys::pob::MOVING_WEIGHT),
    });
    let at_genesis = harness(pob_spec(genesis));
    let differ: Vec<String> = by_ops
        .state
        .to_map()
        .iter()
        .filter(|(k, v)| at_genesis.state.get(k) != Some(v.as_slice()))
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .chain(
            at_genesis
                .state
                .to_map()
                .keys()
                .filter(|k| by_ops.state.get(k).is_none())
                .map(|k| String::from_utf8_lossy(k).into_owned()),
        )
        .collect();
    assert!(differ.is_empty(), "the genesis differs at {differ:?}");
}

/// The NFT module's escrow at the start: alice bids 2,500 on a TOKEN auction and the NFT
/// module mirrors a sale's price, by ops and messages; the same ledger as a genesis
/// (`genesis.nft`: the escrow and the price, with an NFT genesis that holds and offers
/// exactly that) is the same state, key for key, and the escrow is supply. An escrow or a
/// price the NFT genesis does not hold, or one on a chain without the NFT module, refuses
/// to start naming `genesis.nft`.
#[test]
fn the_nft_escrow_at_genesis_equals_the_ops_that_make_it() {
    let nft_spec = |token_genesis: Value, nft_genesis: Value| {
        let mut s = spec(token_genesis, false).with_module("nft", json!({"genesis": nft_genesis}));
        s.starting_block = 100;
        s
    };
    let mut by_ops = harness(nft_spec(json!({"balances": {"alice": 10_000}}), json!({})));
    by_ops.run(
        100,
        "alice",
        "nft_bid",
        json!({"set": "art", "uid": "05", "bid_amount": 2_500}),
    );
    by_ops
        .message("nft", "price", r#"{"item":"ls/art:07","price":900}"#)
        .expect("a price");
    assert_eq!(keys::amount(&by_ops.state, keys::NFT_ESCROW), 2_500);

    let set = json!({"name": "art", "author": "bob", "script": "Qm", "permlink": "p", "long_name": "",
        "kind": 1, "handling": "svg", "start": "00", "end": "0A", "total": 11, "minted": 2, "melted": 0,
        "royalty_bp": 0, "distro": null, "bond": 0, "fee_held": 0, "exe_size": 0, "opt_size": 0, "block": 0});
    let offer = |kind: &str, id: &str, price: u64, high: u64| {
        json!({"offer": {"kind": kind, "set": "art", "id": id, "seller": "bob", "currency": "TOKEN",
            "price": price, "buy_now": 0, "to": "", "days": if high > 0 { 1 } else { 0 },
            "expires": if high > 0 { 500 } else { 0 }, "bids": u64::from(high > 0), "high": high,
            "bidder": if high > 0 { "alice" } else { "" }, "block": 0}, "last": 3})
    };
    let nft_genesis = json!({"sets": {"art": set},
        "offers": [offer("ah", "05", 1_000, 2_500), offer("ls", "07", 900, 0)]});
    let token_genesis = json!({"balances": {"alice": 7_500},
        "nft": {"escrow": 2_500, "prices": {"ls/art:07": 900}}});
    let at_genesis = harness(nft_spec(token_genesis.clone(), nft_genesis.clone()));
    assert!(
        at_genesis.state.to_map() == by_ops.state.to_map(),
        "the genesis escrow differs from the ops' ledger"
    );
    assert_eq!(keys::amount(&at_genesis.state, keys::SUPPLY), 10_000);
    assert!(supply_check(&at_genesis.state).expect("audit").ok);

    let refused = |s: ChainSpec, want: &str| {
        let err = TokenModule::from_spec(&s).expect_err("refused").to_string();
        assert!(err.contains(want), "{err}");
    };
    let mut more = token_genesis.clone();
    more["nft"]["escrow"] = json!(2_501);
    refused(nft_spec(more, nft_genesis.clone()), "genesis.nft.escrow");
    let mut priced = token_genesis.clone();
    priced["nft"]["prices"] = json!({"ls/art:07": 901});
    refused(nft_spec(priced, nft_genesis), "genesis.nft.prices");
    refused(spec(token_genesis, false), "genesis.nft needs the NFT module");
}
