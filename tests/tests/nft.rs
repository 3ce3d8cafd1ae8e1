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
use opentoken_core::{HiveOp, Outcome, StateRead};
use opentoken_e2e::devnet_multisig_spec;
use opentoken_e2e::nft::*;
use opentoken_nft::{views, OfferKind};
use proptest::prelude::*;
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
    let expect: Vec<String> = (0..16).map(opentoken_nft::b64::from_number).collect();
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

/// What a random flow does; indices pick among what exists when the step runs (an index
/// past the end names nothing, which exercises the rejection paths too).
#[derive(Debug, Clone)]
enum Step {
    Mint(usize),
    FtGive(usize, usize, u64),
    FtSell(usize, u64),
    FtBuy(usize, usize),
    FtAuction(usize, u64),
    FtBid(usize, usize, u64),
    FtEscrow(usize, usize, u64),
    FtComplete(usize),
    Cancel(usize, usize),
    NftGive(usize, usize, usize),
    NftSell(usize, usize, u64),
    NftBuy(usize, usize),
    NftAuction(usize, usize, u64),
    NftBid(usize, usize, u64),
    NftReserve(usize, usize, usize, u64),
    NftComplete(usize),
    Melt(usize, usize),
    /// An NFT for sale or auction in HIVE (`false`) or HBD (`true`).
    CoinSell(usize, usize, u64, bool),
    CoinAuction(usize, usize, u64, bool),
    /// A deposit naming the k-th open offer of that kind: exact (`0`) or off by `d`, in the
    /// offer's coin or the other.
    CoinBuy(usize, usize, u64, bool),
    CoinBid(usize, usize, u64, bool),
    Idle(u64),
    Checkpoint,
}

const WHO: [&str; 4] = ["alice", "bob", "carol", "dave"];

fn step() -> impl Strategy<Value = Step> {
    let a = 0..WHO.len();
    let k = 0usize..6;
    let p = 1u64..5000;
    prop_oneof![
        3 => a.clone().prop_map(Step::Mint),
        2 => (a.clone(), a.clone(), 0u64..4).prop_map(|(x, y, q)| Step::FtGive(x, y, q)),
        2 => (a.clone(), p.clone()).prop_map(|(x, q)| Step::FtSell(x, q)),
        2 => (a.clone(), k.clone()).prop_map(|(x, i)| Step::FtBuy(x, i)),
        1 => (a.clone(), p.clone()).prop_map(|(x, q)| Step::FtAuction(x, q)),
        2 => (a.clone(), k.clone(), 0u64..3000).prop_map(|(x, i, q)| Step::FtBid(x, i, q)),
        1 => (a.clone(), a.clone(), p.clone()).prop_map(|(x, y, q)| Step::FtEscrow(x, y, q)),
        1 => k.clone().prop_map(Step::FtComplete),
        1 => (0usize..6, k.clone()).prop_map(|(kind, i)| Step::Cancel(kind, i)),
        2 => (a.clone(), k.clone(), a.clone()).prop_map(|(x, i, y)| Step::NftGive(x, i, y)),
        2 => (a.clone(), k.clone(), p.clone()).prop_map(|(x, i, q)| Step::NftSell(x, i, q)),
        2 => (a.clone(), k.clone()).prop_map(|(x, i)| Step::NftBuy(x, i)),
        1 => (a.clone(), k.clone(), p.clone()).prop_map(|(x, i, q)| Step::NftAuction(x, i, q)),
        2 => (a.clone(), k.clone(), 0u64..3000).prop_map(|(x, i, q)| Step::NftBid(x, i, q)),
        1 => (a.clone(), k.clone(), a.clone(), p.clone()).prop_map(|(x, i, y, q)| Step::NftReserve(x, i, y, q)),
        1 => k.clone().prop_map(Step::NftComplete),
        1 => (a.clone(), k.clone()).prop_map(|(x, i)| Step::Melt(x, i)),
        3 => (a.clone(), k.clone(), p.clone(), any::<bool>()).prop_map(|(x, i, q, c)| Step::CoinSell(x, i, q, c)),
        2 => (a.clone(), k.clone(), p.clone(), any::<bool>()).prop_map(|(x, i, q, c)| Step::CoinAuction(x, i, q, c)),
        3 => (a.clone(), k.clone(), prop_oneof![3 => Just(0u64), 1 => 1u64..50], prop_oneof![4 => Just(false), 1 => Just(true)]).prop_map(|(x, i, d, w)| Step::CoinBuy(x, i, d, w)),
        3 => (a.clone(), k.clone(), 0u64..3000, prop_oneof![4 => Just(false), 1 => Just(true)]).prop_map(|(x, i, d, w)| Step::CoinBid(x, i, d, w)),
        2 => (1u64..8).prop_map(Step::Idle),
        1 => Just(Step::Checkpoint),
    ]
}

fn offers(net: &TestNet, kind: OfferKind) -> Vec<opentoken_nft::keys::Offer> {
    views::offers(net.state("nft"), kind, None, 1000)
}

fn pick<T: Clone>(list: &[T], i: usize) -> Option<T> {
    list.get(i).cloned()
}

/// The concrete op of `s` in the state as it is now; `None` for a step that runs blocks.
fn op_of(net: &TestNet, s: &Step) -> Option<HiveOp> {
    let set = "cards";
    let nft_of = |who: usize, i: usize| {
        pick(&nfts_of(net, WHO[who]), i)
            .map(|(_, u)| u)
            .unwrap_or_else(|| "zz".into())
    };
    let item = |kind: OfferKind, i: usize| pick(&offers(net, kind), i);
    let id_of = |kind: OfferKind, i: usize| item(kind, i).map(|o| o.id).unwrap_or_else(|| "QmNone".into());
    Some(match s.clone() {
        Step::Mint(x) => cj(WHO[x], "nft_mint", json!({ "set": set })),
        Step::FtGive(x, y, q) => cj(WHO[x], "ft_transfer", json!({ "set": set, "to": WHO[y], "qty": q })),
        Step::FtSell(x, p) => cj(WHO[x], "ft_sell", json!({ "set": set, "price": p })),
        Step::FtBuy(x, i) => cj(
            WHO[x],
            "ft_buy",
            json!({ "set": set, "uid": id_of(OfferKind::FtSale, i) }),
        ),
        Step::FtAuction(x, p) => cj(WHO[x], "ft_auction", json!({ "set": set, "price": p, "time": 1 })),
        Step::FtBid(x, i, d) => {
            let o = item(OfferKind::FtAuction, i);
            let amount = o.as_ref().map(|o| o.high.max(o.price) + d).unwrap_or(d);
            let uid = o.map(|o| o.id).unwrap_or_else(|| "QmNone".into());
            cj(
                WHO[x],
                "ft_bid",
                json!({ "set": set, "uid": uid, "bid_amount": amount }),
            )
        }
        Step::FtEscrow(x, y, p) => cj(WHO[x], "ft_escrow", json!({ "set": set, "to": WHO[y], "price": p })),
        Step::FtComplete(i) => {
            let o = item(OfferKind::FtReserve, i)?;
            cj(&o.to, "ft_escrow_complete", json!({ "set": set, "uid": o.id }))
        }
        Step::Cancel(kind, i) => {
            let kind = OfferKind::ALL[kind];
            let o = item(kind, i)?;
            let name = match kind {
                OfferKind::NftSale | OfferKind::NftAuction => "nft_sell_cancel",
                OfferKind::NftReserve => "nft_transfer_cancel",
                OfferKind::FtSale | OfferKind::FtAuction => "ft_sell_cancel",
                OfferKind::FtReserve => "ft_escrow_cancel",
            };
            cj(&o.seller, name, json!({ "set": set, "uid": o.id }))
        }
        Step::NftGive(x, i, y) => cj(
            WHO[x],
            "nft_transfer",
            json!({ "set": set, "uid": nft_of(x, i), "to": WHO[y] }),
        ),
        Step::NftSell(x, i, p) => cj(
            WHO[x],
            "nft_sell",
            json!({ "set": set, "uid": nft_of(x, i), "price": p }),
        ),
        Step::NftBuy(x, i) => cj(
            WHO[x],
            "nft_buy",
            json!({ "set": set, "uid": id_of(OfferKind::NftSale, i) }),
        ),
        Step::NftAuction(x, i, p) => cj(
            WHO[x],
            "nft_auction",
            json!({ "set": set, "uid": nft_of(x, i), "price": p, "time": 1 }),
        ),
        Step::NftBid(x, i, d) => {
            let o = item(OfferKind::NftAuction, i);
            let amount = o.as_ref().map(|o| o.high.max(o.price) + d).unwrap_or(d);
            let uid = o.map(|o| o.id).unwrap_or_else(|| "zz".into());
            cj(
                WHO[x],
                "nft_bid",
                json!({ "set": set, "uid": uid, "bid_amount": amount }),
            )
        }
        Step::NftReserve(x, i, y, p) => cj(
            WHO[x],
            "nft_reserve_transfer",
            json!({ "set": set, "uid": nft_of(x, i), "to": WHO[y], "price": p, "type": "TOKEN" }),
        ),
        Step::NftComplete(i) => {
            let o = item(OfferKind::NftReserve, i)?;
            cj(&o.to, "nft_reserve_complete", json!({ "set": set, "uid": o.id }))
        }
        Step::Melt(x, i) => cj(WHO[x], "nft_melt", json!({ "set": set, "uid": nft_of(x, i) })),
        Step::CoinSell(x, i, p, hbd) => cj(
            WHO[x],
            "nft_sell",
            json!({ "set": set, "uid": nft_of(x, i), "price": p, "type": if hbd { "HBD" } else { "HIVE" } }),
        ),
        Step::CoinAuction(x, i, p, hbd) => cj(
            WHO[x],
            "nft_hauction",
            json!({ "set": set, "uid": nft_of(x, i), "price": p, "time": 1, "type": if hbd { "HBD" } else { "HIVE" } }),
        ),
        Step::CoinBuy(x, i, d, wrong) => {
            let list = coin_offers(net, OfferKind::NftSale);
            let o = list.get(i % list.len().max(1)).cloned()?;
            coin_deposit(
                WHO[x],
                o.price + d,
                o.currency,
                wrong,
                &format!("NFTbuy cards:{}", o.id),
            )
        }
        Step::CoinBid(x, i, d, wrong) => {
            let list = coin_offers(net, OfferKind::NftAuction);
            let o = list.get(i % list.len().max(1)).cloned()?;
            coin_deposit(
                WHO[x],
                o.high.max(o.price) + d,
                o.currency,
                wrong,
                &format!("NFTbid cards:{}", o.id),
            )
        }
        Step::Idle(_) | Step::Checkpoint => return None,
    })
}

/// Every place a token, an NFT and a mint token can be, summed and cross-checked.
fn check(net: &TestNet) {
    let token = net.state("token");
    let nft = net.state("nft");
    // The token: the ledger's audit (balances, stake, escrows) against the supply.
    check_coin(net);
    let audit = opentoken_token::supply_check(token).expect("audit");
    assert!(audit.ok, "{}", audit.check);
    // What the NFT module holds is what its sets and bids hold ...
    let held = opentoken_nft::held_matches(nft).expect("the module holds what its sets and bids hold");
    // ... and the token's NFT escrow is that plus what is in flight either way.
    let mut in_flight = 0u64;
    for m in net.pending_messages() {
        let amount = serde_json::from_str::<serde_json::Value>(&m.payload)
            .ok()
            .and_then(|v| v.get("amount").and_then(|a| a.as_u64()))
            .unwrap_or(0);
        match (m.from.as_str(), m.kind.as_str()) {
            ("token", "paid") | ("nft", "credit") | ("nft", "burn") => in_flight += amount,
            _ => {}
        }
    }
    assert_eq!(
        num(token, b"tot/nft"),
        held + in_flight,
        "the NFT escrow is what the module holds plus what is in flight"
    );
    // One holder per NFT: an account (with its index entry) or the offer holding it.
    let mut indexed = 0usize;
    for (k, v) in nft.scan_prefix(b"nft/") {
        let key = String::from_utf8_lossy(k).to_string();
        let (_, rest) = key.split_at(4);
        let (set, uid) = rest.split_once('/').expect("nft/<set>/<uid>");
        let n: opentoken_nft::keys::Nft = serde_json::from_slice(v).expect("an NFT");
        match OfferKind::parse(&n.owner) {
            Some(kind) => assert!(
                views::offer(nft, kind, set, uid).is_some(),
                "{key} held by a missing {kind:?} offer"
            ),
            None => {
                assert!(
                    nft.get(&nkeys_owned(&n.owner, set, uid)).is_some(),
                    "{key} not in @{}'s index",
                    n.owner
                );
                indexed += 1;
            }
        }
    }
    assert_eq!(
        nft.scan_prefix(b"own/").count(),
        indexed,
        "no index entry without its NFT"
    );
    // Mint tokens: held + offered + waiting + minted == the set's total, each redeemed once.
    let set = set_of(net, "cards");
    let held_ft: u64 = WHO.iter().chain(["erin"].iter()).map(|a| fts(net, a, "cards")).sum();
    let offered: u64 = [OfferKind::FtSale, OfferKind::FtAuction, OfferKind::FtReserve]
        .into_iter()
        .map(|k| offers(net, k).len() as u64)
        .sum();
    let waiting = views::pending_mints(nft, 10_000).len() as u64;
    assert_eq!(
        held_ft + offered + waiting + set.minted,
        set.total,
        "mint tokens accounted for"
    );
    assert!(set.minted <= set.uids());
    let live = nft.scan_prefix(b"nft/cards/").count() as u64;
    assert_eq!(
        live,
        set.minted - set.melted,
        "every minted NFT that is not melted exists"
    );
}

fn coin_offers(net: &TestNet, kind: OfferKind) -> Vec<opentoken_nft::keys::Offer> {
    offers(net, kind).into_iter().filter(|o| o.currency.is_coin()).collect()
}

fn coin_deposit(
    from: &str,
    milli: u64,
    currency: opentoken_nft::protocol::Currency,
    wrong: bool,
    memo: &str,
) -> HiveOp {
    use opentoken_nft::protocol::Currency;
    let hbd = (currency == Currency::Hbd) != wrong;
    HiveOp::Transfer(opentoken_core::TransferOp {
        from: from.into(),
        to: "dlux-cc".into(),
        amount: opentoken_core::Asset::new(
            milli as i64,
            if hbd {
                opentoken_core::AssetSymbol::Hbd
            } else {
                opentoken_core::AssetSymbol::Hive
            },
        ),
        memo: memo.into(),
    })
}

/// HIVE and HBD: the multisig books balance (what the account holds = balances + pending
/// outflows + module escrows), and its NFT escrow is what the NFT module holds (HIVE/HBD
/// high bids) plus what is in flight either way.
fn check_coin(net: &TestNet) {
    use opentoken_multisig::keys::{self as mskeys, Coin};
    use opentoken_nft::protocol::Currency;
    let books = opentoken_multisig::views::books_check(net.state("multisig")).expect("books");
    assert!(books.ok, "{books:?}");
    for (coin, cur) in [(Coin::Hive, Currency::Hive), (Coin::Hbd, Currency::Hbd)] {
        let held = opentoken_nft::coin_held_matches(net.state("nft"), cur).expect("bids held");
        let mut in_flight = 0u64;
        for m in net.pending_messages() {
            let v: serde_json::Value = serde_json::from_str(&m.payload).unwrap_or_default();
            let amount = v.get("amount").and_then(|a| a.as_u64()).unwrap_or(0);
            let is_coin = v.get("coin").and_then(|c| c.as_str()) == Some(coin.symbol());
            match (m.from.as_str(), m.kind.as_str()) {
                ("multisig", "coin") | ("nft", "pay") if is_coin => in_flight += amount,
                _ => {}
            }
        }
        assert_eq!(
            num(net.state("multisig"), &mskeys::total_escrow("nft", coin)),
            held + in_flight,
            "{coin:?}: the NFT escrow is the high bids plus what is in flight"
        );
    }
}

fn nkeys_owned(account: &str, set: &str, uid: &str) -> Vec<u8> {
    opentoken_nft::keys::owned(account, set, uid)
}

/// Runs `steps` from a set with a royalty split, a bond and NFTs and mint tokens spread
/// over four accounts, checking every place value can be after every block; returns how
/// often each event kind (`module:kind`, `nft:Sold:COIN` for HIVE/HBD sales) occurred.
fn run_flow(steps: &[Step]) -> std::collections::BTreeMap<String, usize> {
    let mut spec = (*devnet_multisig_spec()).clone();
    // No safety price: deposits are not limited here (the multisig tests cover it).
    spec.modules.insert("multisig".into(), json!({}));
    spec.modules.remove("dex");
    spec.modules.insert(
        "nft".into(),
        json!({ "blocks_per_day": 20, "coin_fee_account": "dlux-io" }),
    );
    let modules = opentoken_registry::modules(&spec).expect("modules");
    let mut net = TestNet::new(spec, modules);
    let mut seen = std::collections::BTreeMap::new();
    let mut note = |net: &TestNet, out: &opentoken_core::test_utils::BlockOutput| {
        for e in &out.out.events {
            let mut k = format!("{}:{}", e.module, e.kind);
            if e.kind == "Sold" || e.kind == "BidPlaced" {
                if let Ok(ev) = <opentoken_nft::NftEvent as opentoken_core::ModuleEvent>::decode(&e.data) {
                    let cur = match &ev {
                        opentoken_nft::NftEvent::Sold { offer, .. } => offer.currency,
                        opentoken_nft::NftEvent::BidPlaced { currency, .. } => *currency,
                        _ => opentoken_nft::protocol::Currency::Token,
                    };
                    k = format!("{k}:{}", if cur.is_coin() { "COIN" } else { "TOKEN" });
                }
            }
            *seen.entry(k).or_insert(0) += 1;
        }
        check(net);
    };
    ok(&one(
        &mut net,
        cj(
            "alice",
            "nft_define",
            json!({"name": "cards", "type": 1, "script": "QmRenderer",
        "permlink": "the-set", "start": "0", "end": "F", "royalty": 700, "bond": 9, "handling": "svg", "max_fee": 500_000}),
        ),
    ));
    idle(&mut net, 1);
    ok(&one(
        &mut net,
        cj(
            "alice",
            "nft_add_roy",
            json!({"set": "cards", "distro": "alice_5000,bob_3000,erin_2000"}),
        ),
    ));
    ok(&one(
        &mut net,
        cj(
            "alice",
            "ft_airdrop",
            json!({"set": "cards", "to": ["bob", "carol", "dave"]}),
        ),
    ));
    block(
        &mut net,
        (0..6)
            .map(|_| cj("alice", "nft_mint", json!({"set": "cards"})))
            .collect(),
    );
    to_checkpoint(&mut net);
    let mine = nfts_of(&net, "alice");
    block(
        &mut net,
        mine.iter()
            .take(4)
            .enumerate()
            .map(|(i, (_, uid))| {
                cj(
                    "alice",
                    "nft_transfer",
                    json!({"set": "cards", "uid": uid, "to": WHO[1 + i % 3]}),
                )
            })
            .collect(),
    );
    check(&net);
    for s in steps {
        match s {
            Step::Idle(n) => {
                for _ in 0..*n {
                    let out = net.run_modules(vec![]);
                    note(&net, &out);
                }
            }
            Step::Checkpoint => {
                let interval = net.spec().checkpoint_interval;
                while !net.next_block().is_multiple_of(interval) {
                    let out = net.run_modules(vec![]);
                    note(&net, &out);
                }
                let out = net.run_modules(vec![]);
                note(&net, &out);
            }
            _ => {
                let out = match op_of(&net, s) {
                    Some(op @ HiveOp::Transfer(_)) => net.run_modules(vec![("multisig", vec![op])]),
                    Some(op) => net.run_modules(vec![(module_of(&op), vec![op])]),
                    None => net.run_modules(vec![]),
                };
                note(&net, &out);
            }
        }
    }
    // Settle: every message delivered, every auction ended, every redemption drawn.
    let interval = net.spec().checkpoint_interval;
    for _ in 0..(2 * interval) {
        let out = net.run_modules(vec![]);
        note(&net, &out);
    }
    assert!(net.pending_messages().is_empty());
    assert!(views::pending_mints(net.state("nft"), 10).is_empty());
    seen
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn tokens_coins_nfts_and_mint_tokens_are_conserved_at_every_block(steps in proptest::collection::vec(step(), 10..60)) {
        run_flow(&steps);
    }
}

/// The property test means something only if its flows reach every settlement: sales,
/// bids and auction ends in the token and in a coin, mint draws, melts, refunds.
#[test]
fn generated_flows_reach_every_settlement() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..24 {
        let steps = proptest::collection::vec(step(), 40..60)
            .new_tree(&mut runner)
            .expect("steps")
            .current();
        for (k, n) in run_flow(&steps) {
            *seen.entry(k).or_insert(0) += n;
        }
    }
    for kind in [
        "nft:Sold:TOKEN",
        "nft:Sold:COIN",
        "nft:BidPlaced:TOKEN",
        "nft:BidPlaced:COIN",
        "nft:Minted",
        "nft:Melted",
        "nft:Refunded",
        "nft:Closed",
        "nft:FtMoved",
        "token:NftCredited",
        "multisig:Escrowed",
        "multisig:EscrowPaid",
        "multisig:EscrowPaidOut",
    ] {
        assert!(seen.get(kind).copied().unwrap_or(0) > 0, "no {kind} in {seen:?}");
    }
}

mod coin {
    //! HIVE/HBD offers, paid by deposits to the multi-sig account whose memo names the offer.

    use super::*;
    use opentoken_core::{Asset, AssetSymbol, TransferOp};
    use opentoken_multisig::keys::{self as mskeys, Coin};

    const MS: &str = "dlux-cc";

    fn coin_net() -> TestNet {
        let mut spec = (*opentoken_e2e::devnet_multisig_spec()).clone();
        spec.modules.insert("multisig".into(), json!({}));
        spec.modules.remove("dex");
        spec.modules.insert(
            "nft".into(),
            json!({ "blocks_per_day": 20, "coin_fee_account": "dlux-io" }),
        );
        let modules = opentoken_registry::modules(&spec).expect("modules");
        TestNet::new(spec, modules)
    }

    fn deposit(from: &str, milli: i64, symbol: AssetSymbol, memo: &str) -> HiveOp {
        HiveOp::Transfer(TransferOp {
            from: from.into(),
            to: MS.into(),
            amount: Asset::new(milli, symbol),
            memo: memo.into(),
        })
    }

    fn pay(net: &mut TestNet, op: HiveOp) {
        net.run_modules(vec![("multisig", vec![op])]);
    }

    fn l2(net: &TestNet, coin: Coin, account: &str) -> u64 {
        num(net.state("multisig"), &mskeys::balance(coin, account))
    }

    /// Unpaid outflows as (to, amount, coin).
    fn outflows(net: &TestNet) -> Vec<(String, u64, Coin)> {
        opentoken_multisig::views::pending_outflows(net.state("multisig"), 100)
            .expect("outflows")
            .into_iter()
            .map(|p| (p.outflow.to, p.outflow.amount, p.outflow.asset))
            .collect()
    }

    fn escrow(net: &TestNet, coin: Coin) -> u64 {
        num(net.state("multisig"), &mskeys::total_escrow("nft", coin))
    }

    fn setup() -> (TestNet, String) {
        let mut net = coin_net();
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
        (net, uid)
    }

    #[test]
    fn a_hive_sale_pays_the_seller_on_hive_and_royalty_and_fee_to_layer_2() {
        let (mut net, uid) = setup();
        ok(&one(
            &mut net,
            cj(
                "bob",
                "nft_sell",
                json!({"set": "cards", "uid": uid, "price": 10_000, "type": "HIVE"}),
            ),
        ));
        pay(
            &mut net,
            deposit("carol", 10_000, AssetSymbol::Hive, &format!("NFTbuy cards:{uid}")),
        );
        idle(&mut net, 2);
        assert_eq!(nfts_of(&net, "carol"), vec![("cards".to_string(), uid)]);
        assert_eq!(
            outflows(&net),
            vec![("bob".to_string(), 9_400, Coin::Hive)],
            "price less 5% royalty, 1% fee"
        );
        assert_eq!(l2(&net, Coin::Hive, "alice"), 500, "the royalty");
        assert_eq!(l2(&net, Coin::Hive, "dlux-io"), 100, "the fee");
        assert_eq!(escrow(&net, Coin::Hive), 0, "nothing left in the NFT escrow");
        assert!(
            opentoken_multisig::views::books_check(net.state("multisig"))
                .expect("books")
                .ok
        );
    }

    #[test]
    fn a_wrong_amount_coin_or_memo_is_refunded_on_hive_with_the_reason() {
        let (mut net, uid) = setup();
        ok(&one(
            &mut net,
            cj(
                "bob",
                "nft_sell",
                json!({"set": "cards", "uid": uid, "price": 10_000, "type": "HIVE"}),
            ),
        ));
        pay(
            &mut net,
            deposit("carol", 9_999, AssetSymbol::Hive, &format!("NFTbuy cards:{uid}")),
        );
        pay(
            &mut net,
            deposit("carol", 10_000, AssetSymbol::Hbd, &format!("NFTbuy cards:{uid}")),
        );
        pay(
            &mut net,
            deposit("carol", 10_000, AssetSymbol::Hive, "NFTbuy cards:nope"),
        );
        pay(&mut net, deposit("carol", 10_000, AssetSymbol::Hive, "NFTbuy no/set"));
        pay(
            &mut net,
            deposit("carol", 10_000, AssetSymbol::Hive, "NFT cards:QmHash"),
        );
        // The seller's own purchase (the reference's NFTbuy stalls on these).
        pay(
            &mut net,
            deposit("bob", 10_000, AssetSymbol::Hive, &format!("NFTbuy cards:{uid}")),
        );
        idle(&mut net, 2);
        let refunds: Vec<(String, u64, Coin)> = outflows(&net);
        assert_eq!(
            refunds,
            vec![
                ("carol".to_string(), 9_999, Coin::Hive),
                ("carol".to_string(), 10_000, Coin::Hbd),
                ("carol".to_string(), 10_000, Coin::Hive),
                ("carol".to_string(), 10_000, Coin::Hive),
                ("carol".to_string(), 10_000, Coin::Hive),
                ("bob".to_string(), 10_000, Coin::Hive),
            ]
        );
        assert!(
            views::offer(net.state("nft"), OfferKind::NftSale, "cards", &uid).is_some(),
            "still for sale"
        );
        assert_eq!((escrow(&net, Coin::Hive), escrow(&net, Coin::Hbd)), (0, 0));
    }

    #[test]
    fn a_hbd_auction_refunds_the_outbid_on_hive_and_pays_the_seller_at_its_end() {
        let (mut net, uid) = setup();
        ok(&one(
            &mut net,
            cj(
                "bob",
                "nft_hauction",
                json!({"set": "cards", "uid": uid, "price": 1_000, "time": 1, "type": "HBD"}),
            ),
        ));
        let end = views::offer(net.state("nft"), OfferKind::NftAuction, "cards", &uid)
            .expect("open")
            .expires;
        pay(
            &mut net,
            deposit("carol", 1_000, AssetSymbol::Hbd, &format!("NFTbid cards:{uid}")),
        );
        pay(
            &mut net,
            deposit("dave", 1_000, AssetSymbol::Hbd, &format!("NFTbid cards:{uid}")),
        );
        pay(
            &mut net,
            deposit("dave", 2_000, AssetSymbol::Hbd, &format!("NFTbid cards:{uid}")),
        );
        idle(&mut net, 2);
        assert_eq!(escrow(&net, Coin::Hbd), 2_000, "the high bid is held");
        assert_eq!(
            outflows(&net),
            vec![
                ("dave".to_string(), 1_000, Coin::Hbd),
                ("carol".to_string(), 1_000, Coin::Hbd)
            ],
            "the underbid refunded, then the outbid"
        );
        while net.next_block() <= end {
            net.run_modules(vec![]);
        }
        idle(&mut net, 2);
        assert_eq!(nfts_of(&net, "dave"), vec![("cards".to_string(), uid)]);
        assert_eq!(outflows(&net).last(), Some(&("bob".to_string(), 1_880, Coin::Hbd)));
        assert_eq!(l2(&net, Coin::Hbd, "alice"), 100);
        assert_eq!(l2(&net, Coin::Hbd, "dlux-io"), 20);
        assert_eq!(escrow(&net, Coin::Hbd), 0);
        assert!(opentoken_nft::held_matches(net.state("nft")).is_ok());
    }

    #[test]
    fn a_hive_reserved_transfer_completes_by_nfttrade_from_its_buyer_only() {
        let (mut net, uid) = setup();
        ok(&one(
            &mut net,
            cj(
                "bob",
                "nft_reserve_transfer",
                json!({"set": "cards", "uid": uid, "to": "carol", "price": 3_000, "type": "HIVE"}),
            ),
        ));
        pay(
            &mut net,
            deposit("dave", 3_000, AssetSymbol::Hive, &format!("NFTtrade cards:{uid}")),
        );
        pay(
            &mut net,
            deposit("carol", 3_000, AssetSymbol::Hive, &format!("NFTtrade cards:{uid}")),
        );
        idle(&mut net, 2);
        assert_eq!(nfts_of(&net, "carol"), vec![("cards".to_string(), uid)]);
        assert_eq!(
            outflows(&net),
            vec![
                ("dave".to_string(), 3_000, Coin::Hive),
                ("bob".to_string(), 2_820, Coin::Hive)
            ]
        );
    }

    #[test]
    fn a_token_purchase_of_a_coin_offer_is_refunded_and_coin_offers_need_the_multisig() {
        let (mut net, uid) = setup();
        ok(&one(
            &mut net,
            cj(
                "bob",
                "nft_sell",
                json!({"set": "cards", "uid": uid, "price": 10_000, "type": "HIVE"}),
            ),
        ));
        // No mirrored price: the token module refuses at once, taking nothing.
        let o = one(&mut net, cj("carol", "nft_buy", json!({"set": "cards", "uid": uid})));
        assert!(matches!(o, Outcome::Rejected { .. }), "{o:?}");
        let mut plain = super::net();
        defined(&mut plain, "cards");
        let uid = minted(&mut plain, "cards", 1).remove(0);
        let o = one(
            &mut plain,
            cj(
                "alice",
                "nft_sell",
                json!({"set": "cards", "uid": uid, "price": 10, "type": "HIVE"}),
            ),
        );
        assert!(matches!(o, Outcome::Rejected { .. }), "{o:?}");
    }
}
