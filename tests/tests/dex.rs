//! The DEX with the modules that hold its money, on the production engine: token escrows
//! sells, multisig escrows buys, the DEX matches and sends back credits and payments.
//!
//! - A bad-input table (every kind of bad order, memo, cancel): each is rejected with a
//!   reason, or (a deposit that already arrived) refunded with a reason, and nothing else
//!   changes.
//! - The reference's DEX hazards (spec §1.13 and inline), each as the correct behaviour.
//! - A property test over random order flows: TOKEN, HIVE and HBD are each conserved across
//!   the ledgers, the DEX's escrow, the messages in flight and the outflows at every block,
//!   and the book never rests two orders that could trade.

use opentoken_core::test_utils::{assert_rejected, custom_json, TestNet};
use opentoken_core::{Asset, AssetSymbol, ChainSpec, HiveOp, Outcome, RejectCode, StateRead, TransferOp};
use opentoken_dex::order::order_id;
use opentoken_dex::price::{self, MakerSide};
use opentoken_dex::protocol::{Credit, OrderIn, Pay};
use opentoken_dex::{views, Pair, Side};
use opentoken_e2e::*;
use opentoken_multisig::keys::{self as mskeys, Coin};
use proptest::prelude::*;
use serde_json::json;

const MS: &str = "dlux-cc";

fn spec(dex: serde_json::Value) -> ChainSpec {
    let mut spec = (*devnet_multisig_spec()).clone();
    // No safety price: deposits are not limited here (the collateral has its own test).
    spec.modules.insert("multisig".into(), json!({}));
    spec.modules.insert("dex".into(), dex);
    spec
}

fn net(dex: serde_json::Value) -> TestNet {
    net_of(spec(dex))
}

fn net_of(spec: ChainSpec) -> TestNet {
    let modules = opentoken_registry::modules(&spec).expect("modules");
    TestNet::new(spec, modules)
}

fn cj(from: &str, name: &str, json: serde_json::Value) -> HiveOp {
    custom_json(&format!("dlux_{name}"), &[from], &[], &json.to_string())
}

fn posting(from: &str, name: &str, json: serde_json::Value) -> HiveOp {
    custom_json(&format!("dlux_{name}"), &[], &[from], &json.to_string())
}

fn deposit(from: &str, milli: i64, symbol: AssetSymbol, memo: &str) -> HiveOp {
    HiveOp::Transfer(TransferOp {
        from: from.into(),
        to: MS.into(),
        amount: Asset::new(milli, symbol),
        memo: memo.into(),
    })
}

/// Which module an op goes to (the ingester's routing, by hand).
fn module_of(op: &HiveOp) -> &'static str {
    match op {
        HiveOp::Transfer(_) => "multisig",
        HiveOp::CustomJson(c) if c.id.ends_with("dex_sell") => "token",
        HiveOp::CustomJson(c) if c.id.ends_with("dex_buy") => "multisig",
        _ => "dex",
    }
}

/// Runs one block with `ops` (each routed), returns the outcomes in op order. TestNet
/// numbers ops module group by module group, so ops are grouped by module in order of
/// first appearance: give a block's ops already in that order when txids matter.
fn block(net: &mut TestNet, ops: Vec<HiveOp>) -> (u64, Vec<Outcome>) {
    opentoken_e2e::routed::run_routed(net, ops, module_of)
}

fn idle(net: &mut TestNet, blocks: u64) {
    for _ in 0..blocks {
        net.run_modules(vec![]);
    }
}

fn num(state: &dyn StateRead, key: &[u8]) -> u64 {
    state
        .get(key)
        .and_then(|v| <[u8; 8]>::try_from(v).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

fn token_balance(net: &TestNet, account: &str) -> u64 {
    num(net.state("token"), format!("bal/{account}").as_bytes())
}

fn coin_balance(net: &TestNet, coin: Coin, account: &str) -> u64 {
    num(net.state("multisig"), &mskeys::balance(coin, account))
}

/// Every place value can be, summed: per asset, what token/multisig moved into the DEX
/// escrow equals what the DEX holds plus what is in flight either way.
fn check_books(net: &TestNet) {
    let token = net.state("token");
    let ms = net.state("multisig");
    let dex = net.state("dex");
    opentoken_dex::escrow_matches_book(dex).expect("the DEX holds what its orders hold");
    let check = opentoken_token::views::supply_check(token).expect("supply check");
    assert!(check.ok, "token supply: {}", check.check);
    let summary = views::summary(&opentoken_dex::DexConfig::default(), dex);
    let (mut orders_tok, mut credits) = (0u64, 0u64);
    let (mut orders_coin, mut pays) = ([0u64; 2], [0u64; 2]);
    let idx = |p: Pair| if p == Pair::Hive { 0 } else { 1 };
    for m in net.pending_messages() {
        match (m.from.as_str(), m.to.as_str(), m.kind.as_str()) {
            ("token", "dex", "order") => orders_tok += serde_json::from_str::<OrderIn>(&m.payload).unwrap().amount,
            ("multisig", "dex", "order") => {
                let o: OrderIn = serde_json::from_str(&m.payload).unwrap();
                orders_coin[idx(o.pair)] += o.amount;
            }
            ("dex", "token", "credit") => credits += serde_json::from_str::<Credit>(&m.payload).unwrap().amount,
            ("dex", "multisig", "pay") => {
                let p: Pay = serde_json::from_str(&m.payload).unwrap();
                pays[idx(p.coin)] += p.amount;
            }
            _ => {}
        }
    }
    assert_eq!(
        num(token, b"tot/dex"),
        summary.escrow_tokens + orders_tok + credits,
        "TOKEN: token's escrow = the DEX's + orders and credits in flight"
    );
    for (coin, pair, held) in [
        (Coin::Hive, Pair::Hive, summary.escrow_hive),
        (Coin::Hbd, Pair::Hbd, summary.escrow_hbd),
    ] {
        assert_eq!(
            num(ms, &mskeys::total_dex(coin)),
            held + orders_coin[idx(pair)] + pays[idx(pair)],
            "{coin:?}: multisig's DEX escrow = the DEX's + orders and payments in flight"
        );
        assert_eq!(
            num(ms, &mskeys::held(coin)),
            num(ms, &mskeys::total_balances(coin))
                + num(ms, &mskeys::total_pending(coin))
                + num(ms, &mskeys::total_dex(coin)),
            "{coin:?}: held = balances + pending outflows + DEX escrow"
        );
    }
}

/// No resting bid and ask of a pair could trade with each other (the later as taker).
fn check_uncrossed(net: &TestNet) {
    let dex = net.state("dex");
    for pair in Pair::ALL {
        let bids = views::book(dex, pair, Side::Bid, 10_000);
        let asks = views::book(dex, pair, Side::Ask, 10_000);
        for b in &bids {
            for a in asks.iter().filter(|a| a.price <= b.price) {
                assert_ne!(a.from, b.from, "own orders rest crossed");
                let fill = if b.seq > a.seq {
                    price::taker_fill(MakerSide::Ask, a.price, a.amount, b.amount, Some(b.price))
                } else {
                    price::taker_fill(MakerSide::Bid, b.price, a.amount, b.amount, Some(a.price))
                };
                assert!(fill.is_none(), "{b:?} and {a:?} rest crossed and could trade");
            }
        }
    }
}

/// Everything of `net` that a rejected op must leave unchanged.
fn snapshot(net: &mut TestNet) -> Vec<[u8; 32]> {
    ["token", "nodes", "multisig", "dex"]
        .iter()
        .map(|m| net.commitment(m))
        .collect()
}

#[test]
fn an_order_sold_by_custom_json_and_bought_by_a_memo_deposit_settles_through_both_ledgers() {
    let mut net = net(json!({}));
    // alice sells 100 DLUX at 0.1 HIVE (10 HIVE total), proceeds to her Layer-2 balance.
    let (b, out) = block(
        &mut net,
        vec![cj(
            "alice",
            "dex_sell",
            json!({"dlux": 100_000, "hive": 10_000, "payout": "l2"}),
        )],
    );
    assert!(matches!(out[0], Outcome::Applied { .. }), "{out:?}");
    let sell_id = order_id("DLUX", "alice", &TestNet::txid(b, 0), 0);
    let alice_before = token_balance(&net, "alice");
    idle(&mut net, 1);
    assert_eq!(views::order(net.state("dex"), &sell_id).expect("rests").amount, 100_000);
    // bob deposits 4 HIVE with the reference's memo: a limit buy at 0.1.
    let (_, out) = block(
        &mut net,
        vec![deposit("bob", 4_000, AssetSymbol::Hive, "{\"rate\":\"0.100000\"}")],
    );
    assert!(matches!(out[0], Outcome::Applied { .. }), "{out:?}");
    check_books(&net);
    idle(&mut net, 2);
    check_books(&net);
    // 4 HIVE bought 40 DLUX less the 0.5% fee; alice got 4 HIVE on Layer 2; rn the fee.
    assert_eq!(token_balance(&net, "bob") - 1_000_000, 40_000 - 200);
    assert_eq!(token_balance(&net, "rn"), 200);
    assert_eq!(coin_balance(&net, Coin::Hive, "alice"), 4_000);
    assert_eq!(token_balance(&net, "alice"), alice_before);
    assert_eq!(views::order(net.state("dex"), &sell_id).expect("rests").amount, 60_000);
    let trades = views::trades(net.state("dex"), Pair::Hive, 10);
    assert_eq!(trades.len(), 1);
    assert_eq!(
        (trades[0].buyer.as_str(), trades[0].seller.as_str(), trades[0].coin),
        ("bob", "alice", 4_000)
    );
    // alice cancels: the 60 DLUX left come back.
    let (_, out) = block(&mut net, vec![cj("alice", "dex_clear", json!({"txid": sell_id}))]);
    assert!(matches!(out[0], Outcome::Applied { .. }), "{out:?}");
    idle(&mut net, 1);
    assert_eq!(token_balance(&net, "alice"), alice_before + 60_000);
    check_books(&net);
}

#[test]
fn a_fill_paid_out_to_hive_is_an_outflow_of_the_multisig_account() {
    let mut net = net(json!({"fee_ppm": 0}));
    block(
        &mut net,
        vec![deposit(
            "carol",
            5_000,
            AssetSymbol::Hbd,
            "{\"dex\":{\"rate\":\"0.012500\"}}",
        )],
    );
    idle(&mut net, 1);
    // dave sells 100 DLUX at 0.0125 HBD (1.25 HBD); proceeds paid out to Hive (default).
    block(
        &mut net,
        vec![cj("dave", "dex_sell", json!({"dlux": 100_000, "hbd": 1_250}))],
    );
    idle(&mut net, 2);
    check_books(&net);
    let ms = net.state("multisig");
    let outs: Vec<opentoken_multisig::Outflow> = ms
        .scan_prefix(mskeys::OUT_PREFIX)
        .map(|(_, v)| serde_json::from_slice(v).unwrap())
        .collect();
    let paid: Vec<_> = outs.iter().filter(|o| o.to == "dave").collect();
    assert_eq!(paid.len(), 1, "{outs:?}");
    assert_eq!((paid[0].asset, paid[0].amount), (Coin::Hbd, 1_250));
    assert!(
        paid[0].memo.contains("DEX fill") && paid[0].memo.contains(" ot:"),
        "{}",
        paid[0].memo
    );
    assert_eq!(token_balance(&net, "carol"), 800_000 + 100_000);
}

#[test]
fn bad_inputs_are_rejected_or_refunded_with_a_reason_and_change_nothing_else() {
    // Without the token economy, whose mints change the state at every 100th block: here
    // every block with a bad input must leave every module's state as it was.
    let mut spec = spec(json!({}));
    if let Some(token) = spec.modules.get_mut("token").and_then(|t| t.as_object_mut()) {
        token.remove("economy");
    }
    let mut net = net_of(spec);
    // Some Layer-2 HIVE for dex_buy cases, and one resting order of bob's.
    block(
        &mut net,
        vec![
            deposit("erin", 50_000, AssetSymbol::Hive, ""),
            cj("bob", "dex_sell", json!({"dlux": 10_000, "hive": 2_000})),
        ],
    );
    let bob_order = order_id("DLUX", "bob", &TestNet::txid(net.next_block() - 1, 1), 0);
    idle(&mut net, 2);
    assert!(views::order(net.state("dex"), &bob_order).is_some());
    use RejectCode::*;
    let sell = |j: serde_json::Value| cj("alice", "dex_sell", j);
    let buy = |j: serde_json::Value| cj("erin", "dex_buy", j);
    let rejected: Vec<(&str, HiveOp, RejectCode)> = vec![
        ("sell: zero amount", sell(json!({"dlux": 0, "hive": 100})), InvalidField),
        (
            "sell: negative amount",
            sell(json!({"dlux": -5, "hive": 100})),
            InvalidField,
        ),
        (
            "sell: fractional amount",
            sell(json!({"dlux": 1.5, "hive": 100})),
            InvalidField,
        ),
        (
            "sell: fractional string",
            sell(json!({"dlux": "12.5", "hive": 100})),
            InvalidField,
        ),
        (
            "sell: hex string",
            sell(json!({"dlux": "0x10", "hive": 100})),
            InvalidField,
        ),
        (
            "sell: exponent",
            sell(json!({"dlux": "1e3", "hive": 100})),
            InvalidField,
        ),
        (
            "sell: overflowing amount",
            sell(json!({"dlux": "99999999999999999999999", "hive": 100})),
            Overflow,
        ),
        (
            "sell: more than the balance",
            sell(json!({"dlux": 999_999_999, "hive": 100})),
            InsufficientFunds,
        ),
        (
            "sell: below the minimum",
            sell(json!({"dlux": 3, "hive": 100})),
            InvalidField,
        ),
        ("sell: amount missing", sell(json!({"hive": 100})), InvalidField),
        (
            "sell: amount null",
            sell(json!({"dlux": null, "hive": 100})),
            InvalidField,
        ),
        (
            "sell: a market total of 0 with a rate",
            sell(json!({"dlux": 1000, "hive": 0, "rate": "0.1"})),
            InvalidField,
        ),
        (
            "sell: negative total",
            sell(json!({"dlux": 1000, "hive": -1})),
            InvalidField,
        ),
        (
            "sell: fractional total",
            sell(json!({"dlux": 1000, "hive": 0.5})),
            InvalidField,
        ),
        (
            "sell: both totals",
            sell(json!({"dlux": 1000, "hive": 100, "hbd": 100})),
            InvalidField,
        ),
        (
            "sell: total and rate",
            sell(json!({"dlux": 1000, "hive": 100, "rate": "0.1"})),
            InvalidField,
        ),
        (
            "sell: price over the highest",
            sell(json!({"dlux": 4, "hive": "9000000000000000000"})),
            Overflow,
        ),
        (
            "sell: unknown pair",
            sell(json!({"dlux": 1000, "pair": "BTC"})),
            InvalidField,
        ),
        (
            "sell: lower-case pair",
            sell(json!({"dlux": 1000, "pair": "hbd"})),
            InvalidField,
        ),
        (
            "sell: pair contradicts the total",
            sell(json!({"dlux": 1000, "hive": 100, "pair": "HBD"})),
            InvalidField,
        ),
        (
            "sell: rate not a decimal",
            sell(json!({"dlux": 1000, "rate": [0.1]})),
            InvalidField,
        ),
        (
            "sell: negative rate",
            sell(json!({"dlux": 1000, "rate": "-0.1"})),
            InvalidField,
        ),
        (
            "sell: rate with seven decimals",
            sell(json!({"dlux": 1000, "rate": "0.1000001"})),
            InvalidField,
        ),
        (
            "sell: zero rate",
            sell(json!({"dlux": 1000, "rate": "0"})),
            InvalidField,
        ),
        (
            "sell: negative hours",
            sell(json!({"dlux": 1000, "hive": 100, "hours": -1})),
            InvalidField,
        ),
        (
            "sell: hours 721",
            sell(json!({"dlux": 1000, "hive": 100, "hours": 721})),
            InvalidField,
        ),
        (
            "sell: unknown payout",
            sell(json!({"dlux": 1000, "hive": 100, "payout": "btc"})),
            InvalidField,
        ),
        (
            "sell: posting authority",
            posting("alice", "dex_sell", json!({"dlux": 1000, "hive": 100})),
            WrongAuthority,
        ),
        (
            "sell: not an object",
            custom_json("dlux_dex_sell", &["alice"], &[], "[1000]"),
            NotAnObject,
        ),
        (
            "sell: not JSON",
            custom_json("dlux_dex_sell", &["alice"], &[], "{\"dlux\": "),
            MalformedJson,
        ),
        (
            "buy: more than the Layer-2 balance",
            buy(json!({"hive": 60_000, "rate": "0.1"})),
            InsufficientFunds,
        ),
        (
            "buy: no HBD on Layer 2",
            buy(json!({"hbd": 1_000, "rate": "0.1"})),
            InsufficientFunds,
        ),
        ("buy: both coins", buy(json!({"hive": 100, "hbd": 100})), InvalidField),
        ("buy: no coin", buy(json!({"rate": "0.1"})), InvalidField),
        ("buy: zero", buy(json!({"hive": 0, "rate": "0.1"})), InvalidField),
        ("buy: negative", buy(json!({"hive": -100, "rate": "0.1"})), InvalidField),
        (
            "buy: fractional",
            buy(json!({"hive": "1.5", "rate": "0.1"})),
            InvalidField,
        ),
        (
            "buy: zero rate",
            buy(json!({"hive": 100, "rate": "0.000000"})),
            InvalidField,
        ),
        (
            "buy: rate too high to buy a milli-token",
            buy(json!({"hive": 100, "rate": "200"})),
            InvalidField,
        ),
        (
            "buy: posting authority",
            posting("erin", "dex_buy", json!({"hive": 100, "rate": "0.1"})),
            WrongAuthority,
        ),
        (
            "cancel: another's order",
            cj("alice", "dex_clear", json!({"txid": bob_order})),
            InvalidAccount,
        ),
        (
            "cancel: unknown order",
            cj("bob", "dex_clear", json!({"txid": "DLUXQmNothing"})),
            NothingToDo,
        ),
        (
            "cancel: id not a string",
            cj("bob", "dex_clear", json!({"txid": 5})),
            InvalidField,
        ),
        ("cancel: id missing", cj("bob", "dex_clear", json!({})), InvalidField),
        (
            "cancel: posting authority",
            posting("bob", "dex_clear", json!({"txid": bob_order})),
            WrongAuthority,
        ),
    ];
    let n_rejected = rejected.len();
    for (what, op, code) in rejected {
        let before = snapshot(&mut net);
        let (_, out) = block(&mut net, vec![op]);
        assert_rejected(&out[0], code, what);
        assert!(net.pending_messages().is_empty(), "{what}: sent a message");
        assert_eq!(snapshot(&mut net), before, "{what}: state changed");
    }
    // Deposits that already arrived cannot be rejected: they are refunded with the reason,
    // and nothing reaches the DEX.
    let refunded = [
        ("memo: rate not a decimal", "{\"rate\":true}"),
        ("memo: negative rate", "{\"rate\":\"-1\"}"),
        ("memo: rate not a number", "{\"rate\":\"abc\"}"),
        ("memo: rate with seven decimals", "{\"rate\":\"0.0000001\"}"),
        ("memo: unknown field", "{\"rate\":\"0.1\",\"x\":1}"),
        ("memo: dex not an object", "{\"dex\":5}"),
        ("memo: negative hours", "{\"rate\":\"0.1\",\"hours\":-1}"),
        ("memo: broken JSON", "{\"rate\":"),
    ];
    for (what, memo) in refunded {
        let (token, dex) = (net.commitment("token"), net.commitment("dex"));
        let (_, out) = block(&mut net, vec![deposit("frank", 1_000, AssetSymbol::Hive, memo)]);
        assert!(matches!(out[0], Outcome::Applied { .. }), "{what}: {out:?}");
        assert!(net.pending_messages().is_empty(), "{what}: reached the DEX");
        let refunds: Vec<opentoken_multisig::Outflow> = net
            .state("multisig")
            .scan_prefix(mskeys::OUT_PREFIX)
            .map(|(_, v)| serde_json::from_slice(v).unwrap())
            .filter(|o: &opentoken_multisig::Outflow| o.to == "frank")
            .collect();
        let last = refunds.last().expect("a refund");
        assert!(
            last.memo.starts_with("refund: ") && last.amount == 1_000,
            "{what}: {last:?}"
        );
        assert_eq!((net.commitment("token"), net.commitment("dex")), (token, dex), "{what}");
    }
    assert!(
        n_rejected + refunded.len() >= 40,
        "{} cases",
        n_rejected + refunded.len()
    );
    check_books(&net);
}

#[test]
fn a_deposit_over_the_safety_limit_is_refunded_and_a_bid_over_the_collateral_cap_is_trimmed() {
    let mut spec = spec(json!({}));
    spec.modules
        .insert("multisig".into(), json!({"safety_price": {"HIVE": 1000, "HBD": 250}}));
    let modules = opentoken_registry::modules(&spec).expect("modules");
    let mut net = TestNet::new(spec, modules);
    // The collateral as the nodes module would send it: 50 tokens, so the account may hold
    // 50 HIVE and one resting bid 50 x 0.1 = 5 HIVE.
    net.deliver("nodes", "multisig", "collateral", "{\"stake\":50000}");
    net.deliver("nodes", "dex", "collateral", "{\"stake\":50000}");
    idle(&mut net, 1);
    block(
        &mut net,
        vec![deposit("grace", 8_000, AssetSymbol::Hive, "{\"rate\":\"0.100000\"}")],
    );
    idle(&mut net, 2);
    // 8 HIVE held, 60 more would pass the 50 HIVE limit: refunded, never escrowed.
    block(
        &mut net,
        vec![deposit("grace", 60_000, AssetSymbol::Hive, "{\"rate\":\"0.100000\"}")],
    );
    assert!(
        net.pending_messages().is_empty(),
        "over the safety limit: refunded, not escrowed"
    );
    idle(&mut net, 2);
    let rest = views::account_orders(net.state("dex"), "grace", 10);
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].amount, 5_000, "capped at the collateral's value");
    let outs: Vec<opentoken_multisig::Outflow> = net
        .state("multisig")
        .scan_prefix(mskeys::OUT_PREFIX)
        .map(|(_, v)| serde_json::from_slice(v).unwrap())
        .collect();
    assert!(outs
        .iter()
        .any(|o| o.to == "grace" && o.amount == 60_000 && o.memo.contains("safety limit")));
    assert!(
        outs.iter()
            .any(|o| o.to == "grace" && o.amount == 3_000 && o.memo.contains("collateral")),
        "{outs:?}"
    );
    check_books(&net);
}

/// The reference's DEX hazards (spec §1.13 and inline), each as the correct behaviour.
#[test]
fn the_references_dex_hazards_are_handled() {
    let mut net = net(json!({"fee_ppm": 0}));
    // §1.13.1 a self-trade: heidi's bid meets her own ask; the ask is cancelled, no trade.
    block(
        &mut net,
        vec![cj("heidi", "dex_sell", json!({"dlux": 1_000, "hive": 100}))],
    );
    block(
        &mut net,
        vec![deposit(
            "heidi",
            100,
            AssetSymbol::Hive,
            "{\"rate\":\"0.100000\",\"payout\":\"l2\"}",
        )],
    );
    idle(&mut net, 2);
    assert!(
        views::trades(net.state("dex"), Pair::Hive, 10).is_empty(),
        "no self-trade"
    );
    assert_eq!(token_balance(&net, "heidi"), 200_000, "her ask came back");
    // §1.13.2 a limit buy at rate 0 does not rest at the tick: refunded (bad-input test).
    // §1.13.3/4 cancel of an order that does not exist, and an empty book, change nothing
    // (bad-input test; the book below starts empty and matching an empty book is a rest).
    // §1.6 BUG lexicographic rates: a bid at 10.000000 fills an ask at 9.000000.
    block(
        &mut net,
        vec![cj(
            "ivan",
            "dex_sell",
            json!({"dlux": 10, "rate": "9.000000", "pair": "HBD"}),
        )],
    );
    block(
        &mut net,
        vec![deposit(
            "judy",
            200,
            AssetSymbol::Hbd,
            "{\"rate\":\"10.000000\",\"payout\":\"l2\"}",
        )],
    );
    idle(&mut net, 2);
    let t = views::trades(net.state("dex"), Pair::Hbd, 10);
    assert_eq!(t.len(), 1, "10 >= 9 numerically");
    assert_eq!((t[0].price, t[0].tokens, t[0].coin), (9_000_000, 10, 90));
    // §1.3 BUG substring levels: 1.100000 and 11.100000 are different prices.
    block(
        &mut net,
        vec![cj("erin", "dex_sell", json!({"dlux": 10, "rate": "11.100000"}))],
    );
    block(
        &mut net,
        vec![cj("frank", "dex_sell", json!({"dlux": 10, "rate": "1.100000"}))],
    );
    idle(&mut net, 1);
    let asks = views::book(net.state("dex"), Pair::Hive, Side::Ask, 10);
    assert_eq!(
        asks.iter().map(|o| o.price).collect::<Vec<_>>(),
        vec![1_100_000, 11_100_000]
    );
    // §1.5 BUG dust bid inflating `rn`: a bid whose coin buys no milli-token is returned,
    // never taken as a fee.
    // §1.2 HAZARD `t` in local time: a trade's time is its taker's block time (UTC seconds).
    let trade_block = t[0].block;
    assert_eq!(t[0].time, opentoken_core::test_utils::block_time(trade_block - 1));
    // §1.6 HAZARD a memo that is JSON null / a number is a plain deposit (credited), not a stall.
    let (_, out) = block(
        &mut net,
        vec![
            deposit("grace", 1_000, AssetSymbol::Hive, "null"),
            deposit("grace", 1_000, AssetSymbol::Hive, "42"),
        ],
    );
    assert!(out.iter().all(|o| matches!(o, Outcome::Applied { .. })));
    assert_eq!(coin_balance(&net, Coin::Hive, "grace"), 2_000);
    // §1.13.5 fees never go to a pseudo-account on Hive: the fee account `rn` is a token
    // balance; no outflow ever names it.
    let outs: Vec<opentoken_multisig::Outflow> = net
        .state("multisig")
        .scan_prefix(mskeys::OUT_PREFIX)
        .map(|(_, v)| serde_json::from_slice(v).unwrap())
        .collect();
    assert!(outs.iter().all(|o| o.to != "rn"));
    // §1.10 HAZARD NAI objects as refund amounts: every outflow is an integer amount.
    check_books(&net);
    check_uncrossed(&net);
}

#[test]
fn orders_expire_after_their_hours_and_return_their_rest() {
    let mut net = net(json!({"blocks_per_hour": 5}));
    let (b, _) = block(
        &mut net,
        vec![cj("alice", "dex_sell", json!({"dlux": 1_000, "hive": 100, "hours": 1}))],
    );
    let id = order_id("DLUX", "alice", &TestNet::txid(b, 0), 0);
    let before = token_balance(&net, "alice");
    idle(&mut net, 3);
    assert!(views::order(net.state("dex"), &id).is_some());
    idle(&mut net, 5);
    assert!(views::order(net.state("dex"), &id).is_none(), "expired");
    assert_eq!(token_balance(&net, "alice"), before + 1_000);
    check_books(&net);
}

#[derive(Debug, Clone)]
enum Act {
    Sell {
        who: usize,
        amount: u64,
        total: Option<u64>,
        hbd: bool,
        l2: bool,
    },
    BuyMemo {
        who: usize,
        coin: i64,
        rate: Option<u64>,
        hbd: bool,
    },
    BuyL2 {
        who: usize,
        coin: u64,
        rate: Option<u64>,
    },
    Cancel {
        who: usize,
        nth: usize,
    },
    Idle(u64),
}

const WHO: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        4 => (0usize..5, 4u64..60_000, proptest::option::weighted(0.8, 1u64..8_000), any::<bool>(), any::<bool>())
            .prop_map(|(who, amount, total, hbd, l2)| Act::Sell { who, amount, total, hbd, l2 }),
        4 => (0usize..5, 4i64..6_000, proptest::option::weighted(0.8, 50_000u64..150_000), any::<bool>())
            .prop_map(|(who, coin, rate, hbd)| Act::BuyMemo { who, coin, rate, hbd }),
        2 => (0usize..5, 4u64..3_000, proptest::option::weighted(0.8, 50_000u64..150_000))
            .prop_map(|(who, coin, rate)| Act::BuyL2 { who, coin, rate }),
        1 => (0usize..5, 0usize..3).prop_map(|(who, nth)| Act::Cancel { who, nth }),
        1 => (1u64..4).prop_map(Act::Idle),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random order flows through token, multisig and the DEX: at every block the books of
    /// all three agree (TOKEN, HIVE, HBD each conserved across balances, escrows, messages
    /// in flight and outflows), and no two resting orders could trade.
    #[test]
    fn random_order_flows_conserve_every_asset_at_every_block(acts in proptest::collection::vec(act(), 1..40)) {
        let mut net = net(json!({"blocks_per_hour": 20, "max_fills_per_order": 6}));
        // Layer-2 HIVE for dex_buy.
        block(&mut net, WHO.iter().map(|w| deposit(w, 20_000, AssetSymbol::Hive, "")).collect());
        for a in acts {
            let op = match a {
                Act::Sell { who, amount, total, hbd, l2 } => {
                    let mut j = json!({"dlux": amount, "hours": 1});
                    match total {
                        Some(t) => j[if hbd { "hbd" } else { "hive" }] = t.into(),
                        None if hbd => j["pair"] = "HBD".into(),
                        None => {}
                    }
                    if l2 { j["payout"] = "l2".into(); }
                    Some(cj(WHO[who], "dex_sell", j))
                }
                Act::BuyMemo { who, coin, rate, hbd } => {
                    let memo = match rate {
                        Some(r) => json!({"rate": price::format_rate(r), "hours": 1}).to_string(),
                        None => "{\"dex\":{\"hours\":1}}".into(),
                    };
                    Some(deposit(WHO[who], coin, if hbd { AssetSymbol::Hbd } else { AssetSymbol::Hive }, &memo))
                }
                Act::BuyL2 { who, coin, rate } => {
                    let mut j = json!({"hive": coin, "hours": 1});
                    if let Some(r) = rate { j["rate"] = price::format_rate(r).into(); }
                    Some(cj(WHO[who], "dex_buy", j))
                }
                Act::Cancel { who, nth } => views::account_orders(net.state("dex"), WHO[who], 8)
                    .get(nth)
                    .map(|o| cj(WHO[who], "dex_clear", json!({"txid": o.id}))),
                Act::Idle(n) => { idle(&mut net, n); None }
            };
            if let Some(op) = op {
                block(&mut net, vec![op]);
            }
            check_books(&net);
            check_uncrossed(&net);
        }
        // Drain: everything in flight lands, orders expire; the DEX then holds nothing.
        idle(&mut net, 30);
        check_books(&net);
        let s = views::summary(&opentoken_dex::DexConfig::default(), net.state("dex"));
        prop_assert_eq!((s.escrow_tokens, s.escrow_hive, s.escrow_hbd), (0, 0, 0));
        prop_assert_eq!(num(net.state("token"), b"tot/dex"), 0);
    }
}
