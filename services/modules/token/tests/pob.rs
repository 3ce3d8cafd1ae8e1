//! Proof of Brain (`economy.proof_of_brain`): one post's life and payout worked by hand from
//! the reference's formulas (token-core §3.12–3.14, §4.3, §5.3), the Hive ops it must drop
//! or refuse, the real mainnet comments and votes decoded from both block forms to one
//! state, and the supply accounted to the unit over generated runs with payouts.

use opentoken_core::hive_json::decode_block;
use opentoken_core::router::Router;
use opentoken_core::test_utils::fixtures::{appbase_block_to_legacy, mainnet_fixture};
use opentoken_core::test_utils::{test_spec, ModuleHarness, TestNet};
use opentoken_core::{ChainSpec, HiveOp, OpStatus, RejectCode, StateRead};
use opentoken_token::keys::{self, pob as k, Bucket, Pool};
use opentoken_token::pob::{Mana, PostPayout};
use opentoken_token::{supply_check, TokenEvent, TokenModule};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The economy of `tests/economy.rs` (one mint of 57,200 at block 100, a DAO day at 150)
/// with Proof of Brain on short windows: posts wait 50 blocks for their options and take
/// votes for 150; meters refill in 1,000 blocks.
fn spec() -> ChainSpec {
    test_spec().with_module(
        "token",
        json!({
            "power_down_interval": 10, "gov_down_interval": 10,
            "genesis": {
                "balances": {"whale": 2_288_000_000u64},
                "pow": {"bob": 4_000, "carol": 4_000, "dave": 1_000},
            },
            "economy": {
                "interest_rate": 40_000, "mint_every": 100, "dao_every": 1_000, "dao_offset": 150,
                "marketing_cap": 1_000,
                "proof_of_brain": {"beneficiary": "dlux-io", "pending_blocks": 50, "reward_blocks": 150,
                                   "mana_regen_blocks": 1_000},
            },
        }),
    )
}

fn harness(spec: ChainSpec) -> ModuleHarness<TokenModule> {
    ModuleHarness::new(TokenModule::from_spec(&spec).expect("valid economy"), spec)
}

fn other(name: &str, body: Value) -> HiveOp {
    HiveOp::Other {
        name: name.into(),
        body: body.to_string(),
    }
}

fn comment(author: &str, permlink: &str, meta: Value) -> HiveOp {
    other(
        "comment",
        json!({"parent_author": "", "parent_permlink": "dlux", "author": author, "permlink": permlink,
               "title": "a 3D gallery", "body": "...", "json_metadata": meta.to_string()}),
    )
}

fn options(author: &str, permlink: &str, beneficiary: &str, weight: u64) -> HiveOp {
    other(
        "comment_options",
        json!({"author": author, "permlink": permlink, "max_accepted_payout": "1000000.000 HBD",
               "percent_hbd": 10000, "allow_votes": true, "allow_curation_rewards": true,
               "extensions": [[0, {"beneficiaries": [{"account": beneficiary, "weight": weight}]}]]}),
    )
}

fn vote(voter: &str, author: &str, permlink: &str, weight: i64) -> HiveOp {
    other(
        "vote",
        json!({"voter": voter, "author": author, "permlink": permlink, "weight": weight}),
    )
}

fn accepted(h: &mut ModuleHarness<TokenModule>, block: u64, op: &HiveOp) -> Vec<TokenEvent> {
    match h.hive_op(block, op) {
        Some(Ok(events)) => events,
        other => panic!("{op:?} at {block}: {other:?}"),
    }
}

fn claimable(h: &ModuleHarness<TokenModule>, acct: &str) -> u64 {
    keys::amount(&h.state, &keys::account(Bucket::Claimable, acct))
}

/// One post by hand. alice posts at block 5 and names the beneficiary at 8 (voting closes
/// at 158); bob votes 100% at 8 (value 4,000: his power), dave downvotes 100% at 20
/// (−1,000), carol votes 50% at 83, half way through the window (2,000, lateness weight
/// ⌊2,000·75/150⌋ = 1,000). The DAO day at 150 fills the content pool: of 57,200 the
/// default rates leave 17,160 + 13,300 over the marketing cap = 30,460. At the tally of
/// block 200: W = 5,000, the curve's floor is 1 and ⌊W/2016⌋ = 2, so the payout is
/// ⌊(30,460 + 200·700,000)·2/(200·304·1)⌋ = 4,606; alice gets ⌊4,606/2⌋ = 2,303, bob
/// ⌊4,606·4,000/(5,000·2)⌋ = 1,842, carol ⌊4,606·1,000/10,000⌋ = 460; the moving weight
/// becomes ⌊5,000/2016⌋ = 2; 4,605 leave `rc`.
#[test]
fn golden_post_payout() {
    let mut h = harness(spec());
    let meta = json!({"arHash": "QmGallery", "tags": ["dlux"]});
    assert_eq!(
        accepted(&mut h, 5, &comment("alice", "gallery", meta)),
        vec![TokenEvent::PostPending {
            author: "alice".into(),
            permlink: "gallery".into(),
            block: 5,
            expires: 55
        }]
    );
    accepted(&mut h, 8, &options("alice", "gallery", "dlux-io", 1_000));
    assert!(h.state.get(&k::pending("alice", "gallery")).is_none());
    let bob = accepted(&mut h, 8, &vote("bob", "alice", "gallery", 10_000));
    assert_eq!(
        bob,
        vec![TokenEvent::VoteCast {
            voter: "bob".into(),
            author: "alice".into(),
            permlink: "gallery".into(),
            block: 8,
            value: 4_000,
            mana: Mana {
                up_power: 196_000,
                up_last: 8,
                down_power: 200_000,
                down_last: 8
            },
        }],
        "a full vote is the voter's power and spends 2% of 50·power"
    );
    let dave = accepted(&mut h, 20, &vote("dave", "alice", "gallery", -10_000));
    assert!(matches!(&dave[..], [TokenEvent::VoteCast { value: -1_000, mana, .. }] if mana.down_power == 49_000));
    accepted(&mut h, 83, &vote("carol", "alice", "gallery", 5_000));
    h.block_end(100);
    h.block_end(150);
    assert_eq!(keys::amount(&h.state, &Pool::Content.key()), 30_460);
    assert!(
        h.hive_op(159, &vote("bob", "alice", "gallery", 10_000)).is_none(),
        "voting closed at 158"
    );
    let tally = h.block_end(200);
    assert_eq!(
        tally[..2],
        [
            TokenEvent::PobTally {
                block: 200,
                weights: 5_000,
                running: 2,
                payout: 4_606
            },
            TokenEvent::PostPaid {
                block: 200,
                payout: PostPayout {
                    author: "alice".into(),
                    permlink: "gallery".into(),
                    weight: 5_000,
                    author_share: 2_303,
                    curators: vec![("bob".into(), 1_842), ("carol".into(), 460)],
                },
            },
        ]
    );
    assert_eq!(
        ["alice", "bob", "carol", "dave"].map(|a| claimable(&h, a)),
        [2_303, 1_842, 460, 0]
    );
    assert_eq!(keys::amount(&h.state, &Pool::Content.key()), 30_460 - 4_605);
    assert_eq!(keys::amount(&h.state, k::MOVING_WEIGHT), 2);
    for prefix in ["pst/", "prw/", "vot/", "pnd/", "pnx/"] {
        assert_eq!(h.state.scan_prefix(prefix.as_bytes()).count(), 0, "{prefix} is cleared");
    }
    assert!(h.state.get(&k::paid("alice", "gallery")).is_some());
    assert!(supply_check(&h.state).expect("audit").ok);
    // The moving weight decays at every tally: ⌊2·2015/2016⌋ = 1, then 0, then nothing.
    assert!(matches!(
        h.block_end(300)[..],
        [
            TokenEvent::PobTally {
                running: 1,
                payout: 0,
                ..
            },
            ..
        ]
    ));
    h.block_end(400);
    assert!(!h
        .block_end(500)
        .iter()
        .any(|e| matches!(e, TokenEvent::PobTally { .. })));
}

/// Hive ops that are not for the community never reach the status store, and the ones that
/// are but cannot count are refused with a reason; neither changes the state.
#[test]
fn ops_that_do_not_count_are_dropped_or_refused() {
    let mut h = harness(spec());
    accepted(&mut h, 1, &comment("alice", "p", json!({"appHash": "Qm"})));
    accepted(&mut h, 1, &options("alice", "p", "dlux-io", 2_500));
    let before = h.state.to_map();
    let dropped = [
        ("no qualifying metadata", comment("erin", "q", json!({"vidHash": "Qm"}))),
        ("metadata null", comment("erin", "q", Value::Null)),
        (
            "an edit of a registered post",
            comment("alice", "p", json!({"arHash": "Qm2"})),
        ),
        (
            "options for a post never pending",
            options("erin", "q", "dlux-io", 5_000),
        ),
        (
            "options without the beneficiary",
            options("alice", "p", "someone", 5_000),
        ),
        ("options below the weight", options("alice", "p", "dlux-io", 999)),
        ("a vote on another post", vote("bob", "alice", "other", 10_000)),
        ("a vote without stake", vote("erin", "alice", "p", 10_000)),
        ("a malformed vote weight", vote("bob", "alice", "p", 20_000)),
        ("a bad permlink", vote("bob", "alice", "P/../x", 10_000)),
        (
            "an unknown op",
            other("claim_reward_balance", json!({"account": "bob"})),
        ),
    ];
    for (why, op) in &dropped {
        assert!(h.hive_op(2, op).is_none(), "{why}: not for the ledger");
    }
    assert!(before == h.state.to_map(), "dropped ops changed the state");
    // Five 100% downvotes take dave's down meter from 50,000 to 45,196 (each 2% of what is
    // left); the sixth would leave it below 90% and is refused.
    for _ in 0..5 {
        accepted(&mut h, 3, &vote("dave", "alice", "p", -10_000));
    }
    let before = h.state.to_map();
    let refused = h
        .hive_op(3, &vote("dave", "alice", "p", -10_000))
        .expect("concerns the ledger");
    let err = refused.expect_err("below the down floor");
    assert_eq!(err.code, RejectCode::InsufficientFunds);
    assert!(err.reason.contains("below the floor of 45000"), "{err}");
    assert!(before == h.state.to_map());
    // A post whose options never come is forgotten at its expiry, and the op that named it
    // late finds nothing.
    accepted(&mut h, 10, &comment("erin", "late", json!({"audHash": "Qm"})));
    assert!(h.block_end(59).is_empty());
    assert_eq!(
        h.block_end(60),
        vec![TokenEvent::PostExpired {
            author: "erin".into(),
            permlink: "late".into(),
            expires: 60
        }]
    );
    assert!(h.hive_op(61, &options("erin", "late", "dlux-io", 5_000)).is_none());
    // Without Proof of Brain the ledger takes none of these ops.
    let plain = opentoken_core::test_utils::devnet_spec();
    let mut plain = ModuleHarness::new(TokenModule::from_spec(&plain).expect("devnet"), plain);
    assert!(plain
        .hive_op(1, &comment("alice", "x", json!({"arHash": "Qm"})))
        .is_none());
}

/// A vote's value follows the meter: a second full vote in the same block is worth 2% less,
/// a re-vote of 0 removes the vote, and the meter refills linearly with blocks.
#[test]
fn the_up_meter_spends_and_refills() {
    let mut h = harness(spec());
    accepted(&mut h, 1, &comment("alice", "p", json!({"arHash": "Qm"})));
    accepted(&mut h, 1, &options("alice", "p", "dlux-io", 1_000));
    accepted(&mut h, 1, &comment("alice", "q", json!({"arHash": "Qm"})));
    accepted(&mut h, 1, &options("alice", "q", "dlux-io", 1_000));
    let value = |e: &[TokenEvent]| match e {
        [TokenEvent::VoteCast { value, .. }] => *value,
        other => panic!("{other:?}"),
    };
    assert_eq!(value(&accepted(&mut h, 2, &vote("bob", "alice", "p", 10_000))), 4_000);
    // 196,000 left: ⌊196,000·10,000/500,000⌋ = 3,920.
    assert_eq!(value(&accepted(&mut h, 2, &vote("bob", "alice", "q", 10_000))), 3_920);
    assert_eq!(value(&accepted(&mut h, 3, &vote("bob", "alice", "q", 0))), 0);
    assert!(
        h.state.get(&k::vote("alice", "q", "bob")).is_none(),
        "a 0 vote removes it"
    );
    // 192,080 after two votes; 100 blocks refill ⌊200,000·100/1,000⌋ = 20,000 → 200,000 (capped).
    assert_eq!(value(&accepted(&mut h, 103, &vote("bob", "alice", "p", 10_000))), 4_000);
}

/// The mainnet fixture's comments, comment_options and votes, in the appbase form a range
/// fetch returns and in the legacy form of a live stream, route to the ledger alike and
/// give one state. The chain reads the posts' `app` metadata (real leothreads/ecency
/// posts), its beneficiary is added to the real comment_options in the raw appbase JSON
/// (the `{type, value}` extension the reference ignores), and the real vote of @xeldal is
/// pointed at a registered post.
#[test]
fn mainnet_comments_and_votes_decode_to_one_state_in_both_forms() {
    let spec = test_spec().with_module(
        "token",
        json!({
            "power_down_interval": 10, "gov_down_interval": 10,
            "genesis": {"pow": {"xeldal": 10_000}},
            "economy": {"interest_rate": 1_000_000_000u64, "mint_every": 100_000, "dao_every": 100_000, "dao_offset": 99_999,
                        "proof_of_brain": {"beneficiary": "dlux-io", "meta_keys": ["app"]}},
        }),
    );
    let mut raw = mainnet_fixture("mainnet-97477292-4blocks.json");
    for entry in raw.as_array_mut().expect("blocks") {
        for tx in entry["block"]["transactions"].as_array_mut().expect("txs") {
            for op in tx["operations"].as_array_mut().expect("ops") {
                if op["type"] == "comment_options_operation" {
                    op["value"]["extensions"] = json!([{"type": "comment_payout_beneficiaries",
                        "value": {"beneficiaries": [{"account": "dlux-io", "weight": 1_500}]}}]);
                }
                if op["type"] == "vote_operation" && op["value"]["voter"] == "xeldal" {
                    op["value"]["author"] = json!("taskmaster4450le");
                    op["value"]["permlink"] = json!("re-taskmaster4450le-2ubr8wqyh");
                }
            }
        }
    }
    let run = |legacy: bool| {
        let module = Arc::new(TokenModule::from_spec(&spec).expect("spec"));
        let router_module = TokenModule::from_spec(&spec).expect("spec");
        let router = Router::new(&spec, vec![&router_module]);
        let mut net = TestNet::new(spec.clone(), vec![module]);
        let mut routed = 0;
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        let mut statuses = 0;
        let first = raw[0]["block_num"].as_u64().expect("block_num");
        for entry in raw.as_array().expect("blocks") {
            let num = entry["block_num"].as_u64().expect("block_num");
            let json = if legacy {
                appbase_block_to_legacy(&entry["block"])
            } else {
                entry["block"].clone()
            };
            let block = decode_block(&json, Some(num)).expect("a real block decodes");
            while net.next_block() < num - first + 1 {
                net.run_modules(vec![]);
            }
            let ops: Vec<HiveOp> = block
                .transactions
                .iter()
                .flat_map(|t| t.operations.iter())
                .filter(|op| router.route(op) == Some("token"))
                .cloned()
                .collect();
            routed += ops.len();
            for op in &ops {
                *kinds.entry(op.name().to_string()).or_default() += 1;
            }
            statuses += net.run("token", ops).statuses().len();
        }
        (
            net.commitment("token"),
            routed,
            kinds,
            statuses,
            net.state("token").to_map(),
        )
    };
    let (appbase, legacy) = (run(false), run(true));
    assert_eq!(appbase.0, legacy.0, "one state from both forms");
    assert_eq!(appbase.1, legacy.1);
    assert_eq!(appbase.2, legacy.2);
    // Every comment (all carry `app` metadata), every comment_options (all now name the
    // beneficiary) and every vote is routed; votes on posts the ledger does not know
    // concern nothing and leave no status.
    let of_type = |ty: &str| {
        raw.as_array()
            .expect("blocks")
            .iter()
            .flat_map(|b| b["block"]["transactions"].as_array().expect("txs").iter())
            .flat_map(|t| t["operations"].as_array().expect("ops").iter())
            .filter(|op| op["type"] == ty)
            .count()
    };
    let (comments, opts, votes) = (
        of_type("comment_operation"),
        of_type("comment_options_operation"),
        of_type("vote_operation"),
    );
    assert_eq!((comments, opts), (8, 6), "the fixture's posts");
    assert_eq!(appbase.2.get("comment"), Some(&comments), "{:?}", appbase.2);
    assert_eq!(appbase.2.get("comment_options"), Some(&opts), "{:?}", appbase.2);
    assert_eq!(appbase.2.get("vote"), Some(&votes), "{:?}", appbase.2);
    assert_eq!(
        appbase.3,
        comments + opts + 1,
        "statuses: posts, options and xeldal's vote"
    );
    let state = appbase.4;
    let count = |p: &str| state.keys().filter(|k| k.starts_with(p.as_bytes())).count();
    assert_eq!(count("pst/"), opts, "every post with options is registered");
    assert_eq!(count("pnd/"), comments - opts, "the others wait for options");
    assert_eq!(count("vot/"), 1, "xeldal's vote counts");
    assert!(state.contains_key(&k::vote("taskmaster4450le", "re-taskmaster4450le-2ubr8wqyh", "xeldal")));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Over generated runs of posts, options, votes and downvotes, mints, DAO days and
    /// payouts, the supply is genesis plus every `Inflated`, every token is in a place the
    /// audit counts at every block, and each tally pays out exactly what its posts receive.
    #[test]
    fn payouts_conserve_the_supply(
        steps in proptest::collection::vec((0u8..5, 0usize..5, 0usize..4, -10_000i64..=10_000), 1..400),
    ) {
        let spec = test_spec().with_module(
            "token",
            json!({
                "power_down_interval": 10, "gov_down_interval": 10,
                "genesis": {"balances": {"whale": 900_000_000}, "pow": {"bob": 7_000, "carol": 40_000, "dave": 3}},
                "economy": {"interest_rate": 2_000, "mint_every": 10, "dao_every": 40, "dao_offset": 5,
                            "proof_of_brain": {"beneficiary": "dlux-io", "pending_blocks": 7, "reward_blocks": 30,
                                               "mana_regen_blocks": 50, "daily_pool": 3}},
            }),
        );
        let mut h = harness(spec);
        let genesis = keys::amount(&h.state, keys::SUPPLY);
        let names = ["alice", "bob", "carol", "dave", "erin"];
        let posts = ["p0", "p1", "p2", "p3"];
        let mut minted = 0u64;
        for (block, (kind, who, post, weight)) in (1u64..).zip(steps) {
            let (acct, permlink) = (names[who], posts[post]);
            let op = match kind {
                0 => comment("alice", permlink, json!({"arHash": "Qm"})),
                1 => options("alice", permlink, "dlux-io", 1_000),
                _ => vote(acct, "alice", permlink, weight),
            };
            let _ = h.hive_op(block, &op);
            for e in h.block_end(block) {
                match e {
                    TokenEvent::Inflated { amount, .. } => minted += amount,
                    TokenEvent::PobTally { payout, .. } => prop_assert!(payout <= 900_000_000),
                    TokenEvent::PostPaid { payout: PostPayout { author_share, curators, .. }, .. } => {
                        let curation: u64 = curators.iter().map(|(_, a)| a).sum();
                        prop_assert!(curation <= author_share + 1, "curators get at most the author's half");
                    }
                    _ => {}
                }
            }
            let audit = supply_check(&h.state).expect("audit");
            prop_assert!(audit.ok, "block {}: {}", block, audit.check);
            prop_assert_eq!(audit.supply, genesis + minted, "block {}", block);
        }
    }
}

/// The engine's routing keeps what the ledger drops out of the status store: a block of
/// votes on posts the ledger does not know records no status, the vote on a registered one
/// does.
#[test]
fn only_votes_that_count_get_a_status() {
    let spec = spec();
    let module = Arc::new(TokenModule::from_spec(&spec).expect("spec"));
    let mut net = TestNet::new(spec, vec![module]);
    net.run(
        "token",
        vec![
            comment("alice", "p", json!({"arHash": "Qm"})),
            options("alice", "p", "dlux-io", 1_000),
        ],
    );
    let out = net.run(
        "token",
        vec![
            vote("bob", "someone", "elsewhere", 10_000),
            vote("erin", "alice", "p", 10_000),
            vote("bob", "alice", "p", 10_000),
        ],
    );
    let statuses: Vec<&OpStatus> = out.out.statuses.iter().collect();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0].from, "bob", "the voter acts");
    assert_eq!(statuses[0].op, "vote");
    assert_eq!(statuses[0].pos.trx_in_block, 2);
}

/// The leader's voter routine (token-core §5.5) by hand. alice's post registers at 8 and
/// carol's at 10; with `check_after` 20 their votes are summed at 28 (bob 4,000 − dave
/// 1,000 = 3,000) and 30 (dave 1,000); erin's post, only downvoted, is not queued. The
/// round at 32 (every 30, offset 2) gives alice ⌊3,000·10,000/4,000⌋ = 7,500 and carol
/// 2,500, due until 72. The leader's Hive vote on alice's post at 40 settles it (the
/// leader holds no power: no Proof of Brain vote); carol's is no longer listed at 72.
#[test]
fn leader_votes_by_hand() {
    let mut spec = spec();
    let token = spec.modules.get_mut("token").expect("token");
    token["economy"]["proof_of_brain"]["leader_votes"] =
        json!({"check_after": 20, "every": 30, "offset": 2, "keep_blocks": 40});
    let leader = spec.leader.clone();
    let mut h = harness(spec.clone());
    let module = TokenModule::from_spec(&spec).expect("valid");
    let meta = json!({"arHash": "Qm"});
    let mut events = Vec::new();
    for block in 1..=80u64 {
        match block {
            5 => {
                accepted(&mut h, 5, &comment("alice", "a", meta.clone()));
                accepted(&mut h, 5, &comment("carol", "c", meta.clone()));
                accepted(&mut h, 5, &comment("erin", "e", meta.clone()));
            }
            8 => {
                accepted(&mut h, 8, &options("alice", "a", "dlux-io", 1_000));
                accepted(&mut h, 8, &options("erin", "e", "dlux-io", 1_000));
                accepted(&mut h, 8, &vote("bob", "alice", "a", 10_000));
                accepted(&mut h, 8, &vote("carol", "erin", "e", -10_000));
            }
            10 => {
                accepted(&mut h, 10, &options("carol", "c", "dlux-io", 1_000));
                accepted(&mut h, 10, &vote("dave", "carol", "c", 10_000));
            }
            20 => {
                accepted(&mut h, 20, &vote("dave", "alice", "a", -10_000));
            }
            40 => {
                let voted = accepted(&mut h, 40, &vote(&leader, "alice", "a", 7_500));
                assert_eq!(
                    voted,
                    vec![TokenEvent::LeaderVoted {
                        author: "alice".into(),
                        permlink: "a".into(),
                        block: 40
                    }]
                );
                assert!(
                    h.hive_op(41, &vote(&leader, "alice", "a", 7_500)).is_none(),
                    "a second vote is owed nothing: dropped"
                );
            }
            _ => {}
        }
        if block == 27 {
            use opentoken_core::Module;
            assert_eq!(
                module.next_due_block(&h.state, 27),
                Some(28),
                "the check at 28 is due work"
            );
        }
        events.extend(
            h.block_end(block)
                .into_iter()
                .filter(|e| e.kind().starts_with("Leader"))
                .map(|e| (block, e)),
        );
    }
    let due = |a: &str, p: &str, sum, weight| opentoken_token::pob::LeaderVote {
        author: a.into(),
        permlink: p.into(),
        sum,
        weight,
    };
    assert_eq!(
        events,
        vec![
            (
                28,
                TokenEvent::LeaderVoteQueued {
                    author: "alice".into(),
                    permlink: "a".into(),
                    sum: 3_000
                }
            ),
            (
                30,
                TokenEvent::LeaderVoteQueued {
                    author: "carol".into(),
                    permlink: "c".into(),
                    sum: 1_000
                }
            ),
            (
                32,
                TokenEvent::LeaderVotesDue {
                    block: 32,
                    expires: 72,
                    votes: vec![due("alice", "a", 3_000, 7_500), due("carol", "c", 1_000, 2_500)],
                }
            ),
            (
                72,
                TokenEvent::LeaderVoteExpired {
                    author: "carol".into(),
                    permlink: "c".into()
                }
            ),
        ]
    );
    for prefix in ["lvq/", "lvd/", "lvx/"] {
        assert!(
            h.state.scan_prefix(prefix.as_bytes()).next().is_none(),
            "{prefix} is empty at the end"
        );
    }
}

/// A genesis carrying the leader's routine under way (`import-state`): the queued post
/// waits for the next round, the due vote is listed until `keep_blocks` after the start
/// and settled by the leader's Hive vote.
#[test]
fn leader_votes_at_genesis() {
    let mut spec = spec();
    spec.starting_block = 100;
    let token = spec.modules.get_mut("token").expect("token");
    token["economy"]["proof_of_brain"]["leader_votes"] =
        json!({"check_after": 20, "every": 30, "offset": 2, "keep_blocks": 40});
    token["genesis"]["proof_of_brain"] = json!({"leader_queued": {"alice/a": 900}, "leader_due": {"bob/b": 2_500}});
    let leader = spec.leader.clone();
    let mut h = harness(spec);
    assert_eq!(
        opentoken_token::leader_votes(&h.state, 10).expect("a view"),
        (
            vec![opentoken_token::DueLeaderVote {
                author: "bob".into(),
                permlink: "b".into(),
                weight: 2_500,
                until: 140
            }],
            vec![("alice".into(), "a".into(), 900)]
        )
    );
    accepted(&mut h, 101, &vote(&leader, "bob", "b", 2_500));
    let round = h.block_end(122);
    assert!(
        matches!(&round[..], [TokenEvent::LeaderVotesDue { votes, .. }] if votes.len() == 1 && votes[0].weight == 10_000),
        "{round:?}"
    );
    let (due, queued) = opentoken_token::leader_votes(&h.state, 10).expect("a view");
    assert_eq!((due.len(), due[0].author.as_str(), queued.len()), (1, "alice", 0));
}

/// A paid post's record is kept `paid_keep_blocks` (the reference prunes `paid/<block>`
/// older than 30,240 blocks at its DAO): with 500, alice's post paid at 200 is dropped at
/// the DAO day of 1,150 (200 < 650) and carol's, paid at 1,100, only at 2,150.
#[test]
fn paid_records_are_pruned_at_the_dao_day_after_the_window() {
    let mut spec = spec();
    spec.modules.get_mut("token").expect("token")["economy"]["proof_of_brain"]["paid_keep_blocks"] = json!(500);
    let mut h = harness(spec);
    let meta = json!({"arHash": "Qm"});
    let mut pruned = Vec::new();
    for block in 1..=2_200u64 {
        let (author, permlink) = match block {
            8 => ("alice", "a"),
            900 => ("carol", "c"),
            _ => ("", ""),
        };
        if !author.is_empty() {
            accepted(&mut h, block, &comment(author, permlink, meta.clone()));
            accepted(&mut h, block, &options(author, permlink, "dlux-io", 1_000));
            accepted(&mut h, block, &vote("bob", author, permlink, 10_000));
        }
        for e in h.block_end(block) {
            if let TokenEvent::PaidPruned { block, posts } = e {
                pruned.push((block, posts));
            }
        }
        let paid = |a: &str, p: &str| h.state.get(&k::paid(a, p)).is_some();
        match block {
            1_149 => assert!(paid("alice", "a") && paid("carol", "c"), "both paid, both kept"),
            1_150 => assert!(!paid("alice", "a") && paid("carol", "c")),
            2_150 => assert!(!paid("carol", "c")),
            _ => {}
        }
    }
    assert_eq!(
        pruned,
        vec![
            (1_150, vec!["alice/a".to_string()]),
            (2_150, vec!["carol/c".to_string()])
        ]
    );
}
