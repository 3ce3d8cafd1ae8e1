//! The DEX escrow through the real engine, on a chain with a `modules.dex` section: buy
//! orders deposited with an order memo or placed with `dex_buy` from a Layer-2 balance are
//! escrowed and sent to the DEX; the DEX's `pay` messages release the escrow to a balance
//! or to Hive (an outflow confirmed like any other); bad orders are refunded or rejected,
//! bad payments rejected with nothing changed, and a payment that cannot be queued is
//! credited instead. On a chain without a DEX nothing of it exists.

mod common;

use common::{deposit, deposit_hbd, state, transfer, withdraw, MS};
use opentoken_core::test_utils::{assert_applied, assert_rejected, block_time, op, posting_op, BlockOutput, TestNet};
use opentoken_core::{AssetSymbol, ChainSpec, HiveOp, Module, Outcome, RejectCode, StateRead, StateWrite};
use opentoken_dex::order::order_id;
use opentoken_dex::{OrderIn, Pair, Payout, Side};
use opentoken_multisig::keys::{self, Coin, OutflowState};
use opentoken_multisig::views::{self, books_check, holdings, Balances, CoinBooks};
use opentoken_multisig::{MultisigEvent, MultisigModule, Outflow, OutflowReason, NAME};
use serde_json::json;
use std::sync::Arc;

/// Blocks an order rests by default: the DEX's default 720 hours of 1200 blocks.
const MAX_REST: u64 = 720 * 1200;

fn dex_spec(section: serde_json::Value) -> ChainSpec {
    common::spec(section).with_module("dex", json!({}))
}

fn dex_net_with(section: serde_json::Value) -> TestNet {
    let spec = dex_spec(section);
    let module = Arc::new(MultisigModule::from_spec(&spec).expect("valid config"));
    TestNet::new(spec, vec![module])
}

/// The DEX chain with the minimums of `common::net`.
fn dex_net() -> TestNet {
    dex_net_with(json!({"min_deposit": 10, "min_withdrawal": 5}))
}

fn buy(signer: &str, payload: serde_json::Value) -> HiveOp {
    op(signer, "dex_buy", &payload.to_string())
}

fn pay_msg(net: &mut TestNet, account: &str, coin: &str, amount: u64, via: &str, order: &str, why: &str) {
    let payload = json!({"account": account, "coin": coin, "amount": amount, "via": via, "order": order, "why": why});
    net.deliver("dex", NAME, "pay", payload.to_string());
}

/// The orders sent to the DEX in a block, decoded.
fn orders_sent(b: &BlockOutput) -> Vec<OrderIn> {
    b.out
        .remote_messages
        .iter()
        .map(|m| {
            assert_eq!(
                (m.from.as_str(), m.to.as_str(), m.kind.as_str()),
                (NAME, "dex", "order")
            );
            serde_json::from_str(&m.payload).expect("an OrderIn")
        })
        .collect()
}

fn events(b: &BlockOutput) -> Vec<MultisigEvent> {
    b.out
        .events
        .iter()
        .map(|r| MultisigEvent::decode(&r.data).expect("decodes"))
        .collect()
}

fn books(net: &TestNet, coin: Coin) -> CoinBooks {
    let h = holdings(state(net)).unwrap();
    match coin {
        Coin::Hive => h.hive,
        Coin::Hbd => h.hbd,
    }
}

/// (held, balances, pending, dex_held)
fn split(net: &TestNet, coin: Coin) -> (u64, u64, u64, u64) {
    let b = books(net, coin);
    (b.held, b.balances, b.pending, b.dex_held)
}

fn bal(net: &TestNet, account: &str) -> (u64, u64) {
    let Balances { hive, hbd, .. } = views::balances(state(net), account).unwrap();
    (hive, hbd)
}

fn summary(o: &Outcome) -> &str {
    match o {
        Outcome::Applied { summary } => summary,
        other => panic!("expected applied, got {other:?}"),
    }
}

/// The buy order a deposit or `dex_buy` as op 0 of `block` places.
fn expected_order(from: &str, block: u64, pair: Pair, amount: u64, price: u64, payout: Payout) -> OrderIn {
    let txid = TestNet::txid(block, 0);
    OrderIn {
        id: order_id("DLUX", from, &txid, 0),
        from: from.into(),
        pair,
        side: Side::Bid,
        amount,
        price,
        expires: block + MAX_REST,
        payout,
        txid,
        block,
        time: block_time(block),
    }
}

#[test]
fn a_deposit_whose_memo_is_an_order_is_escrowed_and_sent_to_the_dex() {
    let mut net = dex_net();
    let b = net.run(NAME, vec![deposit("alice", 1_000, r#"{"rate":"0.100000"}"#)]);
    assert_eq!(b.kinds(), vec!["Escrowed"]);
    let want = expected_order("alice", 1, Pair::Hive, 1_000, 100_000, Payout::Hive);
    assert_eq!(orders_sent(&b), vec![want.clone()]);
    assert_eq!(
        events(&b),
        vec![MultisigEvent::Escrowed {
            module: "dex".into(),
            account: "alice".into(),
            asset: Coin::Hive,
            amount: 1_000,
            order: serde_json::to_string(&want).unwrap(),
            from_l2: false,
        }]
    );
    assert_eq!(
        summary(&b.status(0).outcome),
        format!(
            "@alice escrows 1.000 HIVE deposited for DEX buy order {} at 0.100000",
            want.id
        )
    );
    assert_eq!(bal(&net, "alice"), (0, 0), "escrowed, not credited");
    assert_eq!(split(&net, Coin::Hive), (1_000, 0, 0, 1_000));
    assert!(books_check(state(&net)).unwrap().ok);

    // `{"dex": {}}` is a market buy of the deposited coin; fields inside it apply.
    let b = net.run(NAME, vec![deposit_hbd("bob", 2_500, r#"{"dex":{}}"#)]);
    assert_eq!(
        orders_sent(&b),
        vec![expected_order("bob", 2, Pair::Hbd, 2_500, 0, Payout::Hive)]
    );
    assert!(summary(&b.status(0).outcome).ends_with("at market"));
    let b = net.run(
        NAME,
        vec![deposit_hbd(
            "bob",
            500,
            r#"{"dex":{"rate":"2","hours":1,"payout":"l2"}}"#,
        )],
    );
    let mut want = expected_order("bob", 3, Pair::Hbd, 500, 2_000_000, Payout::L2);
    want.expires = 3 + 1200;
    assert_eq!(orders_sent(&b), vec![want]);
    assert_eq!(split(&net, Coin::Hbd), (3_000, 0, 0, 3_000));
    assert_eq!(
        state(&net).get(&keys::total_dex(Coin::Hbd)),
        Some(&3_000u64.to_be_bytes()[..])
    );
}

#[test]
fn bad_dex_memos_are_refunded_with_the_reason_and_plain_ones_credited() {
    let mut net = dex_net();
    let b = net.run(
        NAME,
        vec![
            deposit("alice", 1_000, r#"{"rate":true}"#),
            deposit("alice", 1_000, r#"{"rate":"-1"}"#),
            deposit("alice", 1_000, r#"{"rate":"0.1","x":1}"#),
            deposit("alice", 1_000, r#"{"dex":5}"#),
            deposit("alice", 1_000, "thanks"),
            deposit("alice", 1_000, r#"{"nft":1}"#),
            deposit("alice", 5, r#"{"rate":"0.1"}"#),
        ],
    );
    assert_eq!(
        b.kinds(),
        vec![
            "Refunded",
            "Refunded",
            "Refunded",
            "Refunded",
            "Deposited",
            "Refunded",
            "Refunded"
        ]
    );
    assert!(b.out.remote_messages.is_empty(), "nothing reaches the DEX");
    let whys: Vec<String> = events(&b)
        .into_iter()
        .filter_map(|e| match e {
            MultisigEvent::Refunded { why, memo, seq, .. } => {
                assert_eq!(memo, format!("refund: {why} ot:{seq}"));
                Some(why)
            }
            _ => None,
        })
        .collect();
    for (why, needle) in whys.iter().zip([
        "bad DEX order: `rate` must be a decimal like",
        "bad DEX order: `rate` must be decimal digits",
        "bad DEX order: a DEX memo has only rate, hours, payout and token, not \"x\"",
        "bad DEX order: {\"dex\": ...} takes an object",
        "no module accepts nft yet",
        "below the minimum deposit",
    ]) {
        assert!(
            why.starts_with(needle) || why.contains(needle),
            "{why:?} does not say {needle:?}"
        );
    }
    assert_eq!(bal(&net, "alice"), (1_000, 0), "the plain memo is credited");
    assert_eq!(split(&net, Coin::Hive), (6_005, 1_000, 5_005, 0));
    let out = views::pending_outflow(state(&net), 0).unwrap().unwrap();
    assert!(matches!(out.reason, OutflowReason::Refund(ref w) if w == &whys[0]));
    assert!(books_check(state(&net)).unwrap().ok);
}

#[test]
fn a_dex_deposit_over_the_safety_limit_is_refunded() {
    let mut net = dex_net_with(json!({"safety_price": {"HIVE": 1000, "HBD": 500}}));
    net.deliver("nodes", NAME, "collateral", json!({"stake": 10_000}).to_string());
    net.run(NAME, vec![]);
    // The limit is 10.000 HIVE: 6.000 and 4.000 fit, 0.010 more does not.
    let b = net.run(
        NAME,
        vec![
            deposit("alice", 6_000, r#"{"rate":"0.1"}"#),
            deposit("carol", 4_000, r#"{"dex":{}}"#),
            deposit("bob", 10, r#"{"rate":"0.1"}"#),
        ],
    );
    assert_eq!(b.kinds(), vec!["Escrowed", "Escrowed", "Refunded"]);
    match &events(&b)[2] {
        MultisigEvent::Refunded { why, to, .. } => {
            assert_eq!(to, "bob");
            assert!(why.starts_with("over the safety limit"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(orders_sent(&b).len(), 2);
    assert_eq!(split(&net, Coin::Hive), (10_010, 0, 10, 10_000));
}

#[test]
fn dex_buy_escrows_from_the_layer2_balance() {
    let mut net = dex_net();
    net.run(NAME, vec![deposit("alice", 5_000, ""), deposit_hbd("alice", 3_000, "")]);
    let b = net.run(
        NAME,
        vec![
            buy("alice", json!({"hive": 2_000, "rate": "0.1"})),
            buy("alice", json!({"hbd": "1000"})),
        ],
    );
    assert_eq!(b.kinds(), vec!["Escrowed", "Escrowed"]);
    let mut second = expected_order("alice", 2, Pair::Hbd, 1_000, 0, Payout::L2);
    second.txid = TestNet::txid(2, 1);
    second.id = order_id("DLUX", "alice", &second.txid, 0);
    assert_eq!(
        orders_sent(&b),
        vec![
            expected_order("alice", 2, Pair::Hive, 2_000, 100_000, Payout::L2),
            second
        ]
    );
    assert!(matches!(
        &events(&b)[0],
        MultisigEvent::Escrowed {
            from_l2: true,
            amount: 2_000,
            ..
        }
    ));
    assert!(summary(&b.status(0).outcome).contains("from the Layer-2 balance"));
    assert_eq!(bal(&net, "alice"), (3_000, 2_000));
    assert_eq!(split(&net, Coin::Hive), (5_000, 3_000, 0, 2_000), "held is unchanged");
    assert_eq!(split(&net, Coin::Hbd), (3_000, 2_000, 0, 1_000));

    // Not enough, in either coin; posting authority; bad fields: nothing moves.
    let before = net.commitment(NAME);
    let b = net.run(
        NAME,
        vec![
            buy("alice", json!({"hive": 3_001})),
            buy("alice", json!({"hbd": 2_001, "rate": "0.5"})),
            buy("bob", json!({"hive": 10})),
            posting_op("alice", "dex_buy", r#"{"hive":10}"#),
            buy("alice", json!({"hive": 10, "hbd": 10})),
            buy("alice", json!({"hive": 10, "payuot": "hive"})),
            buy("alice", json!({"hive": 10, "rate": [0.1]})),
            buy("alice", json!({"hive": 3})),
        ],
    );
    let o = b.outcomes();
    assert!(assert_rejected(&o[0], RejectCode::InsufficientFunds, "hive").contains("has 3.000 HIVE"));
    assert!(assert_rejected(&o[1], RejectCode::InsufficientFunds, "hbd").contains("has 2.000 HBD"));
    assert_rejected(&o[2], RejectCode::InsufficientFunds, "no balance");
    assert_rejected(&o[3], RejectCode::WrongAuthority, "posting");
    assert_rejected(&o[4], RejectCode::InvalidField, "both coins");
    assert!(assert_rejected(&o[5], RejectCode::InvalidField, "misspelt").contains("payuot"));
    assert_rejected(&o[6], RejectCode::InvalidField, "a rate that is not a decimal");
    assert!(assert_rejected(&o[7], RejectCode::InvalidField, "below min_order").contains("smallest order"));
    assert!(b.out.remote_messages.is_empty());
    assert_eq!(net.commitment(NAME), before);
}

#[test]
fn pay_credits_a_balance_or_queues_an_outflow_confirmed_like_any_other() {
    let mut net = dex_net();
    let b = net.run(NAME, vec![deposit("alice", 10_000, r#"{"rate":"0.1"}"#)]);
    let order = orders_sent(&b)[0].id.clone();

    pay_msg(&mut net, "bob", "HIVE", 3_000, "l2", &order, "fill");
    let b = net.run(NAME, vec![]);
    assert_eq!(
        events(&b),
        vec![MultisigEvent::EscrowPaid {
            module: "dex".into(),
            account: "bob".into(),
            asset: Coin::Hive,
            amount: 3_000,
            order: order.clone(),
            why: "fill".into(),
            fallback: None,
        }]
    );
    assert_eq!(
        summary(&b.statuses()[0].outcome),
        format!("The DEX pays 3.000 HIVE to @bob's Layer-2 balance (fill of order {order})")
    );
    assert_eq!(bal(&net, "bob"), (3_000, 0));
    assert_eq!(split(&net, Coin::Hive), (10_000, 3_000, 0, 7_000));

    pay_msg(&mut net, "alice", "HIVE", 4_000, "hive", &order, "return");
    let b = net.run(NAME, vec![]);
    assert_eq!(b.kinds(), vec!["EscrowPaidOut"]);
    assert!(b.out.remote_messages.is_empty(), "a payment sends nothing");
    let memo = format!("DLUX DEX return {order} ot:0");
    let out = views::pending_outflow(state(&net), 0).unwrap().expect("queued");
    assert_eq!(
        out,
        Outflow {
            to: "alice".into(),
            amount: 4_000,
            asset: Coin::Hive,
            memo: memo.clone(),
            reason: OutflowReason::Module {
                module: "dex".into(),
                order: order.clone(),
                why: "return".into(),
            },
            created_block: 3,
            state: OutflowState::Pending,
            owner: None,
        }
    );
    assert_eq!(split(&net, Coin::Hive), (10_000, 3_000, 4_000, 3_000));

    // The runners pay it: the matching transfer confirms it, and the account holds less.
    let b = net.run(NAME, vec![transfer(MS, "alice", 4_000, AssetSymbol::Hive, &memo)]);
    assert_eq!(b.kinds(), vec!["OutflowPaid"]);
    assert_eq!(split(&net, Coin::Hive), (6_000, 3_000, 0, 3_000));
    let paid = views::paid_history(state(&net), 10).unwrap();
    assert_eq!(paid[0].paid.reason.to_string(), format!("dex:return:{order}"));

    // The rest back to the balance; the escrow is empty and its key gone.
    pay_msg(&mut net, "alice", "HIVE", 3_000, "l2", &order, "return");
    net.run(NAME, vec![]);
    assert_eq!(bal(&net, "alice"), (3_000, 0));
    assert_eq!(split(&net, Coin::Hive), (6_000, 6_000, 0, 0));
    assert_eq!(state(&net).get(&keys::total_dex(Coin::Hive)), None);
    assert!(books_check(state(&net)).unwrap().ok);
    // And it is withdrawn like any balance.
    let b = net.run(NAME, vec![withdraw("alice", r#"{"amount":3000,"asset":"HIVE"}"#)]);
    assert_eq!(b.kinds(), vec!["WithdrawalQueued"]);
}

#[test]
fn bad_pay_messages_are_rejected_and_change_nothing() {
    let mut net = dex_net();
    net.run(NAME, vec![deposit("alice", 1_000, r#"{"rate":"0.1"}"#)]);
    let pay = |account: &str, coin: &str, amount: u64| {
        json!({"account": account, "coin": coin, "amount": amount, "via": "l2", "order": "o", "why": "fill"})
            .to_string()
    };
    let cases: Vec<(&str, &str, String, &str)> = vec![
        ("dex", "pay", pay("bob", "HIVE", 1_001), "escrow holds 1.000 HIVE"),
        ("dex", "pay", pay("bob", "HBD", 1), "escrow holds 0.000 HBD"),
        ("dex", "pay", pay("bob", "HIVE", 0), "of 0"),
        ("dex", "pay", pay("Bob!", "HIVE", 1), "not a valid Hive account name"),
        ("dex", "pay", pay("bob", "VESTS", 1), "does not decode"),
        ("dex", "pay", "not json".into(), "does not decode"),
        (
            "dex",
            "pay",
            json!({"account": "bob", "coin": "HIVE", "amount": 1}).to_string(),
            "does not decode",
        ),
        (
            "dex",
            "pay",
            json!({"account": "bob", "coin": "HIVE", "amount": -1, "via": "l2", "order": "o", "why": "fill"})
                .to_string(),
            "does not decode",
        ),
        (
            "dex",
            "pay",
            pay("bob", "HIVE", 1).replace("l2", "moon"),
            "does not decode",
        ),
        ("token", "pay", pay("bob", "HIVE", 1), "pay from token"),
        ("dex", "order", pay("bob", "HIVE", 1), "order from dex"),
    ];
    for (from, kind, payload, needle) in cases {
        let before = (net.commitment(NAME), state(&net).to_map());
        net.deliver(from, NAME, kind, payload.clone());
        let b = net.run(NAME, vec![]);
        let reason = assert_rejected(&b.statuses()[0].outcome, RejectCode::BadMessage, &payload);
        assert!(reason.contains(needle), "{payload}: {reason:?} does not say {needle:?}");
        assert!(b.out.events.is_empty());
        assert_eq!((net.commitment(NAME), state(&net).to_map()), before, "{payload}");
    }
    // The whole escrow can be paid.
    net.deliver("dex", NAME, "pay", pay("bob", "HIVE", 1_000));
    let b = net.run(NAME, vec![]);
    assert_applied(&b.statuses()[0].outcome, "all of it");
}

#[test]
fn a_payout_that_cannot_be_queued_is_credited_with_the_reason() {
    let mut net = dex_net();
    net.run(NAME, vec![deposit("alice", 1_000, r#"{"rate":"0.1"}"#)]);
    // The outflow counter at its end: no outflow can be queued any more.
    net.state_mut(NAME).put(keys::SEQ.to_vec(), keys::encode_u64(u64::MAX));
    pay_msg(&mut net, "bob", "HIVE", 400, "hive", "o1", "fill");
    let b = net.run(NAME, vec![]);
    match &events(&b)[..] {
        [MultisigEvent::EscrowPaid {
            account,
            amount: 400,
            fallback: Some(why),
            ..
        }] => {
            assert_eq!(account, "bob");
            assert!(why.contains("outflow counter is exhausted"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert!(summary(&b.statuses()[0].outcome).contains("instead of to Hive: the outflow counter is exhausted"));
    assert_eq!(bal(&net, "bob"), (400, 0));
    assert_eq!(split(&net, Coin::Hive), (1_000, 400, 0, 600));

    // Paying the multi-sig account itself to Hive cannot be done either.
    net.state_mut(NAME).put(keys::SEQ.to_vec(), keys::encode_u64(0));
    pay_msg(&mut net, MS, "HIVE", 100, "hive", "o2", "fill");
    let b = net.run(NAME, vec![]);
    assert!(
        matches!(&events(&b)[..], [MultisigEvent::EscrowPaid { fallback: Some(w), .. }] if w.contains("cannot pay itself")),
        "{:?}",
        events(&b)
    );
    assert!(books_check(state(&net)).unwrap().ok);
}

#[test]
fn the_dex_chain_declares_its_routes_and_messages() {
    let spec = dex_spec(json!({}));
    let m = MultisigModule::from_spec(&spec).unwrap();
    let names: Vec<&str> = m.routes().iter().map(|r| r.name).collect();
    assert_eq!(names, ["ms_withdraw", "ms_sign", "dex_buy"]);
    assert!(m.routes().iter().all(|r| r.auth == opentoken_core::Auth::Active));
    assert_eq!(m.sends_to(), ["dex"]);
    assert!(!m.sends_on_messages());
    assert!(m.dex_config().is_some());
    assert!(MultisigModule::from_spec(&dex_spec(json!({})).with_module("dex", json!({"fee_ppm": "x"}))).is_err());

    let plain = MultisigModule::from_spec(&common::spec(json!({}))).unwrap();
    let names: Vec<&str> = plain.routes().iter().map(|r| r.name).collect();
    assert_eq!(names, ["ms_withdraw", "ms_sign"]);
    assert!(plain.sends_to().is_empty());
    assert!(plain.dex_config().is_none());
}

#[test]
fn without_a_dex_nothing_of_it_exists() {
    let mut net = common::net();
    let b = net.run(
        NAME,
        vec![
            deposit("alice", 2_000, ""),
            buy("alice", json!({"hive": 1_000})),
            deposit("bob", 1_000, r#"{"rate":"0.100000"}"#),
            deposit("bob", 1_000, r#"{"dex":{}}"#),
        ],
    );
    let o = b.outcomes();
    assert_rejected(&o[1], RejectCode::UnknownOperation, "dex_buy");
    assert_eq!(b.kinds(), vec!["Deposited", "Refunded", "Refunded"]);
    let whys: Vec<String> = events(&b)
        .into_iter()
        .filter_map(|e| match e {
            MultisigEvent::Refunded { why, .. } => Some(why),
            _ => None,
        })
        .collect();
    assert_eq!(whys, ["no module accepts rate yet", "no module accepts dex yet"]);
    assert!(b.out.remote_messages.is_empty());
    assert_eq!(books(&net, Coin::Hive).dex_held, 0);

    net.deliver(
        "dex",
        NAME,
        "pay",
        json!({"account": "alice", "coin": "HIVE", "amount": 1, "via": "l2", "order": "o", "why": "fill"}).to_string(),
    );
    let b = net.run(NAME, vec![]);
    let reason = assert_rejected(&b.statuses()[0].outcome, RejectCode::BadMessage, "pay");
    assert_eq!(
        reason,
        "multisig takes no message pay from dex (only signers and collateral from nodes)"
    );
}

/// Plain traffic (deposits, withdrawals, confirmations, refunds) leaves the same state
/// whether the chain runs a DEX or not: the DEX changes only what is addressed to it.
#[test]
fn plain_traffic_gives_the_same_state_with_or_without_a_dex() {
    let section = json!({"min_deposit": 10, "min_withdrawal": 5});
    let mut with = dex_net_with(section.clone());
    let mut without = common::net_with(section).0;
    let blocks = vec![
        vec![
            deposit("alice", 5_000, "hi"),
            deposit_hbd("bob", 700, ""),
            deposit("carol", 3, ""),
        ],
        vec![withdraw("alice", r#"{"amount":1000,"asset":"HIVE","to":"dave"}"#)],
        vec![
            transfer(MS, "dave", 1_000, AssetSymbol::Hive, "ot:1"),
            deposit("erin", 50, "{oops"),
        ],
    ];
    for ops in blocks {
        let a = with.run(NAME, ops.clone());
        let b = without.run(NAME, ops);
        assert_eq!(a.outcomes(), b.outcomes());
        assert_eq!(a.out.events, b.out.events);
    }
    assert_eq!(state(&with).to_map(), state(&without).to_map());
    assert_eq!(with.commitment(NAME), without.commitment(NAME));
}
