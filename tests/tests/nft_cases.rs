//! The NFT module against bad input and the reference's value bugs, on the production
//! engine with the token module that holds its money.
//!
//! - A bad-input table: each case runs on a fresh fixture ([`world`]) and must be rejected
//!   with its code and a reason, or (a paid op that fails only on the NFT module's state)
//!   be escrowed by token and refunded in full with an [`NftEvent::Refunded`]. Either way
//!   the token, nft and nodes commitments are what they were before the case once its
//!   blocks have settled. Every failing case is named in one report.
//! - One test per value bug or hazard of spec §2, asserting the correct behaviour with
//!   exact balances and state.

use opentoken_core::test_utils::TestNet;
use opentoken_core::{HiveOp, Outcome, RejectCode};
use opentoken_e2e::nft::*;
use opentoken_nft::{b64, views, NftEvent, OfferKind};
use serde_json::{json, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};

const SET: &str = "cards";
/// The define fee of [`defined`]'s set: 16 mint tokens of 39 + 5 + 2 bytes, plus the
/// flat part.
const CARDS_FEE: u64 = 20 * (39 + 5 + 2) * 16 + 100_000;

/// The fixture every table case starts from (alice defined `cards`, minted six NFTs and
/// put most of them and three mint tokens on offer; everything settled).
struct World {
    net: TestNet,
    /// Alice holds it.
    held: String,
    /// Alice's, listed for 10_000 (`ls`).
    listed: String,
    /// Alice's, auctioned from 1000 for a day, no bids (`ah`).
    auctioned: String,
    /// Bob holds it.
    bobs: String,
    /// Alice's, reserved for carol at 2000 (`t`).
    reserved: String,
    /// Alice's, auctioned from 1000 for a day; bob's high bid of 1500.
    bid_on: String,
    /// Alice's mint token for sale at 3000 (`lt`).
    lt: String,
    /// Alice's mint token auctioned from 1000 for a day (`am`).
    am: String,
    /// Alice's mint token reserved for carol at 2500 (`fts`).
    fts: String,
}

fn only_offer(net: &TestNet, kind: OfferKind) -> String {
    let offers = views::offers(net.state("nft"), kind, Some(SET), 10);
    assert_eq!(offers.len(), 1, "one {} offer in the fixture", kind.as_str());
    offers[0].id.clone()
}

fn world() -> World {
    let mut net = net();
    defined(&mut net, SET);
    let u = minted(&mut net, SET, 6);
    assert_eq!(u.len(), 6, "six NFTs drawn");
    block(
        &mut net,
        vec![
            cj("alice", "nft_sell", json!({"set": SET, "uid": u[1], "price": 10_000})),
            cj(
                "alice",
                "nft_auction",
                json!({"set": SET, "uid": u[2], "price": 1000, "time": 1}),
            ),
            cj("alice", "nft_transfer", json!({"set": SET, "uid": u[3], "to": "bob"})),
            cj(
                "alice",
                "nft_reserve_transfer",
                json!({"set": SET, "uid": u[4], "to": "carol", "price": 2000, "type": "TOKEN"}),
            ),
            cj(
                "alice",
                "nft_auction",
                json!({"set": SET, "uid": u[5], "price": 1000, "time": 1}),
            ),
            cj("alice", "ft_sell", json!({"set": SET, "price": 3000})),
            cj("alice", "ft_auction", json!({"set": SET, "price": 1000, "time": 1})),
            cj("alice", "ft_escrow", json!({"set": SET, "to": "carol", "price": 2500})),
        ],
    )
    .iter()
    .for_each(ok);
    idle(&mut net, 1);
    ok(&one(
        &mut net,
        cj("bob", "nft_bid", json!({"set": SET, "uid": u[5], "bid_amount": 1500})),
    ));
    idle(&mut net, 2);
    assert_eq!(fts(&net, "alice", SET), 16 - 6 - 3);
    let high = views::offer(net.state("nft"), OfferKind::NftAuction, SET, &u[5]).expect("bid_on is open");
    assert_eq!((high.bids, high.high, high.bidder.as_str()), (1, 1500, "bob"));
    let (lt, am, fts) = (
        only_offer(&net, OfferKind::FtSale),
        only_offer(&net, OfferKind::FtAuction),
        only_offer(&net, OfferKind::FtReserve),
    );
    World {
        held: u[0].clone(),
        listed: u[1].clone(),
        auctioned: u[2].clone(),
        bobs: u[3].clone(),
        reserved: u[4].clone(),
        bid_on: u[5].clone(),
        lt,
        am,
        fts,
        net,
    }
}

/// What must become of a case's op.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Rejected at the op with this code and a reason; nothing taken.
    Rejected(RejectCode),
    /// Escrowed by token (its fields are fine), refunded in full by nft with a reason.
    Refunded,
}

struct Case {
    name: &'static str,
    /// Runs on the fixture before the commitments are taken (settled after).
    setup: fn(&mut World),
    op: fn(&World) -> HiveOp,
    expect: Expect,
}

fn case(name: &'static str, op: fn(&World) -> HiveOp, expect: Expect) -> Case {
    Case {
        name,
        setup: |_| {},
        op,
        expect,
    }
}

fn case_after(name: &'static str, setup: fn(&mut World), op: fn(&World) -> HiveOp, expect: Expect) -> Case {
    Case {
        name,
        setup,
        op,
        expect,
    }
}

fn rejected(code: RejectCode) -> Expect {
    Expect::Rejected(code)
}

use RejectCode::{
    InsufficientFunds as Funds, InvalidAccount as Account, InvalidField as Field, NothingToDo as Nothing, Overflow,
    UnknownOperation as Unknown, WrongAuthority as Authority,
};

/// A definition of the fresh set `fresh` with `key` set to `value` (`Value::Null`
/// removes it).
fn define_with(key: &str, value: Value) -> HiveOp {
    let mut v = define_json("fresh", "F", 500);
    match value {
        Value::Null => {
            v.as_object_mut().map(|m| m.remove(key));
        }
        other => v[key] = other,
    }
    cj("alice", "nft_define", v)
}

fn nft_op(from: &str, name: &str, uid: &str, extra: Value) -> HiveOp {
    let mut v = json!({"set": SET, "uid": uid});
    if let Value::Object(m) = extra {
        for (k, x) in m {
            v[k] = x;
        }
    }
    cj(from, name, v)
}

fn to(w: &World, who: &str) -> HiveOp {
    nft_op("alice", "nft_transfer", &w.held, json!({"to": who}))
}

fn sell_at(w: &World, price: Value) -> HiveOp {
    nft_op("alice", "nft_sell", &w.held, json!({"price": price}))
}

fn ft_qty(qty: Value) -> HiveOp {
    cj("alice", "ft_transfer", json!({"set": SET, "to": "bob", "qty": qty}))
}

fn bid(w: &World, from: &str, amount: Value) -> HiveOp {
    nft_op(from, "nft_bid", &w.auctioned, json!({"bid_amount": amount}))
}

fn auction_for(w: &World, extra: Value) -> HiveOp {
    nft_op("alice", "nft_auction", &w.held, extra)
}

fn add_roy(from: &str, distro: &str) -> HiveOp {
    cj(from, "nft_add_roy", json!({"set": SET, "distro": distro}))
}

fn accounts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("acct{i:03}")).collect()
}

fn cases() -> Vec<Case> {
    vec![
        // Unknown sets and uids.
        case(
            "mint of an unknown set",
            |_| cj("alice", "nft_mint", json!({"set": "nope"})),
            rejected(Field),
        ),
        case(
            "transfer of an unknown uid",
            |_| nft_op("alice", "nft_transfer", "zz", json!({"to": "bob"})),
            rejected(Field),
        ),
        case(
            "transfer in an unknown set",
            |w| {
                cj(
                    "alice",
                    "nft_transfer",
                    json!({"set": "nope", "uid": w.held, "to": "bob"}),
                )
            },
            rejected(Field),
        ),
        case(
            "ft_transfer of an unknown set",
            |_| cj("alice", "ft_transfer", json!({"set": "nope", "to": "bob", "qty": 1})),
            rejected(Field),
        ),
        case(
            "melt of an unknown uid",
            |_| nft_op("alice", "nft_melt", "zz", json!({})),
            rejected(Field),
        ),
        case(
            "set name with a slash in an op",
            |w| {
                cj(
                    "alice",
                    "nft_transfer",
                    json!({"set": "ca/rds", "uid": w.held, "to": "bob"}),
                )
            },
            rejected(Field),
        ),
        case(
            "uid with a colon in a paid op",
            |_| nft_op("carol", "nft_buy", "0:1", json!({})),
            rejected(Field),
        ),
        // Someone else's NFT, an NFT held by an open offer.
        case(
            "transfer of someone else's NFT",
            |w| nft_op("bob", "nft_transfer", &w.held, json!({"to": "carol"})),
            rejected(Account),
        ),
        case(
            "melt of someone else's NFT",
            |w| nft_op("alice", "nft_melt", &w.bobs, json!({})),
            rejected(Account),
        ),
        case(
            "sell of someone else's NFT",
            |w| nft_op("alice", "nft_sell", &w.bobs, json!({"price": 5})),
            rejected(Account),
        ),
        case(
            "pfp of someone else's NFT",
            |w| nft_op("bob", "nft_pfp", &w.held, json!({})),
            rejected(Account),
        ),
        case(
            "transfer of a listed NFT",
            |w| nft_op("alice", "nft_transfer", &w.listed, json!({"to": "bob"})),
            rejected(Account),
        ),
        case(
            "melt of an auctioned NFT",
            |w| nft_op("alice", "nft_melt", &w.auctioned, json!({})),
            rejected(Account),
        ),
        case(
            "sell of a reserved NFT",
            |w| nft_op("alice", "nft_sell", &w.reserved, json!({"price": 5})),
            rejected(Account),
        ),
        case(
            "auction of a listed NFT",
            |w| nft_op("alice", "nft_auction", &w.listed, json!({})),
            rejected(Account),
        ),
        // Amounts: qty.
        case("ft_transfer qty -5", |_| ft_qty(json!(-5)), rejected(Field)),
        case("ft_transfer qty \"-5\"", |_| ft_qty(json!("-5")), rejected(Field)),
        case("ft_transfer qty 0", |_| ft_qty(json!(0)), rejected(Field)),
        case("ft_transfer qty 1.5", |_| ft_qty(json!(1.5)), rejected(Field)),
        case("ft_transfer qty \"abc\"", |_| ft_qty(json!("abc")), rejected(Field)),
        case(
            "ft_transfer qty overflowing u64",
            |_| ft_qty(json!("99999999999999999999")),
            rejected(Overflow),
        ),
        case(
            "ft_transfer qty above the ledger's range",
            |_| ft_qty(json!(9_223_372_036_854_775_808u64)),
            rejected(Overflow),
        ),
        case("ft_transfer qty above holdings", |_| ft_qty(json!(8)), rejected(Funds)),
        // Amounts: price.
        case("sell price -1", |w| sell_at(w, json!(-1)), rejected(Field)),
        case("sell price 0", |w| sell_at(w, json!(0)), rejected(Field)),
        case("sell price 2.5", |w| sell_at(w, json!(2.5)), rejected(Field)),
        case("sell price \"12abc\"", |w| sell_at(w, json!("12abc")), rejected(Field)),
        case("sell price 1e30", |w| sell_at(w, json!(1e30)), rejected(Field)),
        case("sell price a list", |w| sell_at(w, json!([1])), rejected(Field)),
        case(
            "reserve without a price",
            |w| {
                nft_op(
                    "alice",
                    "nft_reserve_transfer",
                    &w.held,
                    json!({"to": "carol", "type": "TOKEN"}),
                )
            },
            rejected(Field),
        ),
        case(
            "reserve to oneself",
            |w| {
                nft_op(
                    "alice",
                    "nft_reserve_transfer",
                    &w.held,
                    json!({"to": "alice", "price": 5, "type": "TOKEN"}),
                )
            },
            rejected(Account),
        ),
        case(
            "ft_escrow price -1",
            |_| cj("alice", "ft_escrow", json!({"set": SET, "to": "carol", "price": -1})),
            rejected(Field),
        ),
        case(
            "ft_escrow to oneself",
            |_| cj("alice", "ft_escrow", json!({"set": SET, "to": "alice", "price": 5})),
            rejected(Account),
        ),
        case(
            "ft_sell price 0",
            |_| cj("alice", "ft_sell", json!({"set": SET, "price": 0})),
            rejected(Field),
        ),
        // Amounts: time and now.
        case(
            "auction time 0",
            |w| auction_for(w, json!({"time": 0})),
            rejected(Field),
        ),
        case(
            "auction time -1",
            |w| auction_for(w, json!({"time": -1})),
            rejected(Field),
        ),
        case(
            "auction time 31 days",
            |w| auction_for(w, json!({"time": 31})),
            rejected(Field),
        ),
        case(
            "auction time \"x\"",
            |w| auction_for(w, json!({"time": "x"})),
            rejected(Field),
        ),
        case(
            "auction now not above price",
            |w| auction_for(w, json!({"price": 1000, "now": 1000})),
            rejected(Field),
        ),
        case(
            "ft_auction time 31 days",
            |_| cj("alice", "ft_auction", json!({"set": SET, "time": 31})),
            rejected(Field),
        ),
        // Amounts: bid_amount (token checks the field before it escrows).
        case("bid -5", |w| bid(w, "bob", json!(-5)), rejected(Field)),
        case("bid 0", |w| bid(w, "bob", json!(0)), rejected(Field)),
        case("bid 1.5", |w| bid(w, "bob", json!(1.5)), rejected(Field)),
        case("bid \"12abc\"", |w| bid(w, "bob", json!("12abc")), rejected(Field)),
        case(
            "bid overflowing u64",
            |w| bid(w, "bob", json!("99999999999999999999")),
            rejected(Overflow),
        ),
        case(
            "bid missing",
            |w| nft_op("bob", "nft_bid", &w.auctioned, json!({})),
            rejected(Field),
        ),
        case(
            "bid above the balance",
            |w| bid(w, "bob", json!(5_000_000)),
            rejected(Funds),
        ),
        case(
            "ft_bid -1",
            |w| cj("bob", "ft_bid", json!({"set": SET, "uid": w.am, "bid_amount": -1})),
            rejected(Field),
        ),
        // Bids the NFT module refuses: escrowed, then refunded in full.
        case("bid below the start", |w| bid(w, "bob", json!(999)), Expect::Refunded),
        case(
            "bid not above the high bid",
            |w| nft_op("carol", "nft_bid", &w.bid_on, json!({"bid_amount": 1500})),
            Expect::Refunded,
        ),
        case("bid by the seller", |w| bid(w, "alice", json!(1000)), Expect::Refunded),
        case(
            "bid by the high bidder",
            |w| nft_op("bob", "nft_bid", &w.bid_on, json!({"bid_amount": 2000})),
            Expect::Refunded,
        ),
        case_after(
            "bid after the auction's end block",
            |w| {
                let end = views::offer(w.net.state("nft"), OfferKind::NftAuction, SET, &w.auctioned)
                    .expect("open")
                    .expires;
                while w.net.next_block() <= end {
                    w.net.run_modules(vec![]);
                }
            },
            |w| bid(w, "carol", json!(2000)),
            Expect::Refunded,
        ),
        case(
            "ft_bid below the start",
            |w| cj("bob", "ft_bid", json!({"set": SET, "uid": w.am, "bid_amount": 999})),
            Expect::Refunded,
        ),
        case(
            "ft_bid by the seller",
            |w| cj("alice", "ft_bid", json!({"set": SET, "uid": w.am, "bid_amount": 1000})),
            Expect::Refunded,
        ),
        case(
            "bid on an unknown auction",
            |w| nft_op("bob", "nft_bid", &w.held, json!({"bid_amount": 1000})),
            Expect::Refunded,
        ),
        // Purchases the NFT module refuses.
        case(
            "buying one's own listing",
            |w| nft_op("alice", "nft_buy", &w.listed, json!({})),
            Expect::Refunded,
        ),
        case(
            "buying one's own mint token",
            |w| cj("alice", "ft_buy", json!({"set": SET, "uid": w.lt})),
            Expect::Refunded,
        ),
        case(
            "completing a reservation meant for someone else",
            |w| nft_op("dave", "nft_reserve_complete", &w.reserved, json!({})),
            Expect::Refunded,
        ),
        case(
            "completing a mint-token escrow meant for someone else",
            |w| cj("dave", "ft_escrow_complete", json!({"set": SET, "uid": w.fts})),
            Expect::Refunded,
        ),
        // Paid ops for items not listed: token has no mirrored price.
        case(
            "buying an NFT not listed",
            |w| nft_op("carol", "nft_buy", &w.held, json!({})),
            rejected(Nothing),
        ),
        case(
            "buying an auctioned NFT",
            |w| nft_op("carol", "nft_buy", &w.auctioned, json!({})),
            rejected(Nothing),
        ),
        case(
            "completing a reservation of a listed NFT",
            |w| nft_op("carol", "nft_reserve_complete", &w.listed, json!({})),
            rejected(Nothing),
        ),
        case(
            "buying an unknown mint-token offer",
            |_| cj("carol", "ft_buy", json!({"set": SET, "uid": "QmNothingHere"})),
            rejected(Nothing),
        ),
        // Set definitions.
        case("define type 0", |_| define_with("type", json!(0)), rejected(Field)),
        case("define type 5", |_| define_with("type", json!(5)), rejected(Field)),
        case(
            "define type 2 without exe_size",
            |_| define_with("type", json!(2)),
            rejected(Field),
        ),
        case(
            "define start after end",
            |_| {
                let mut v = define_json("fresh", "1", 500);
                v["start"] = json!("F");
                cj("alice", "nft_define", v)
            },
            rejected(Field),
        ),
        case(
            "define start not base64",
            |_| define_with("start", json!("1/")),
            rejected(Field),
        ),
        case(
            "define end not base64",
            |_| define_with("end", json!("F-")),
            rejected(Field),
        ),
        case("define end empty", |_| define_with("end", json!("")), rejected(Field)),
        case(
            "define name with '/'",
            |_| define_with("name", json!("a/b")),
            rejected(Field),
        ),
        case(
            "define name with ':'",
            |_| define_with("name", json!("a:b")),
            rejected(Field),
        ),
        case(
            "define name with a space",
            |_| define_with("name", json!("a b")),
            rejected(Field),
        ),
        case(
            "define name of 33 bytes",
            |_| define_with("name", json!("a".repeat(33))),
            rejected(Field),
        ),
        case(
            "define name starting with Qm",
            |_| define_with("name", json!("QmSet")),
            rejected(Field),
        ),
        case(
            "define script with '<'",
            |_| define_with("script", json!("<script>")),
            rejected(Field),
        ),
        case(
            "define permlink with capitals",
            |_| define_with("permlink", json!("The-Set")),
            rejected(Field),
        ),
        case(
            "define more uids than max_uids",
            |_| define_with("end", json!(b64::from_number(100_000))),
            rejected(Field),
        ),
        case(
            "define max_fee one below the fee",
            |_| define_with("max_fee", json!(CARDS_FEE - 1)),
            rejected(Funds),
        ),
        case(
            "define max_fee -1",
            |_| define_with("max_fee", json!(-1)),
            rejected(Field),
        ),
        case(
            "define max_fee missing",
            |_| define_with("max_fee", Value::Null),
            rejected(Field),
        ),
        case(
            "define royalty -5",
            |_| define_with("royalty", json!(-5)),
            rejected(Field),
        ),
        case(
            "define royalty 10001",
            |_| define_with("royalty", json!(10_001)),
            rejected(Field),
        ),
        case("define bond -1", |_| define_with("bond", json!(-1)), rejected(Field)),
        case(
            "define bond above max_bond",
            |_| define_with("bond", json!(1_000_001)),
            rejected(Field),
        ),
        case("define total -1", |_| define_with("total", json!(-1)), rejected(Field)),
        case(
            "define long_name of 65 bytes",
            |_| define_with("long_name", json!("x".repeat(65))),
            rejected(Field),
        ),
        case(
            "define by an account that cannot pay max_fee",
            |_| cj("judy", "nft_define", define_json("fresh", "F", 500)),
            rejected(Funds),
        ),
        case(
            "define an existing set name",
            |_| cj("bob", "nft_define", define_json(SET, "F", 500)),
            Expect::Refunded,
        ),
        // Oversize lists.
        case(
            "royalty split of 11 shares",
            |_| {
                let mut parts: Vec<String> = accounts(10).iter().map(|a| format!("{a}_909")).collect();
                parts.push("acct010_910".into());
                add_roy("alice", &parts.join(","))
            },
            rejected(Field),
        ),
        case(
            "airdrop to 51 accounts",
            |_| cj("alice", "ft_airdrop", json!({"set": SET, "to": accounts(51)})),
            rejected(Field),
        ),
        case(
            "airdrop including oneself",
            |_| cj("alice", "ft_airdrop", json!({"set": SET, "to": ["bob", "alice"]})),
            rejected(Account),
        ),
        case(
            "airdrop to an invalid name",
            |_| cj("alice", "ft_airdrop", json!({"set": SET, "to": ["bob", "Bad_Name"]})),
            rejected(Account),
        ),
        case(
            "airdrop to an empty list",
            |_| cj("alice", "ft_airdrop", json!({"set": SET, "to": []})),
            rejected(Field),
        ),
        case(
            "airdrop to a string",
            |_| cj("alice", "ft_airdrop", json!({"set": SET, "to": "bob"})),
            rejected(Field),
        ),
        case(
            "airdrop to more accounts than mint tokens held",
            |_| cj("alice", "ft_airdrop", json!({"set": SET, "to": accounts(8)})),
            rejected(Funds),
        ),
        // Recipients.
        case(
            "ft_transfer to oneself",
            |_| cj("alice", "ft_transfer", json!({"set": SET, "to": "alice", "qty": 1})),
            rejected(Account),
        ),
        case("nft_transfer to oneself", |w| to(w, "alice"), rejected(Account)),
        case("nft_transfer to \"ls\"", |w| to(w, "ls"), rejected(Account)),
        case("nft_transfer to \"t\"", |w| to(w, "t"), rejected(Account)),
        case("nft_transfer to \"ah\"", |w| to(w, "ah"), rejected(Account)),
        case("nft_transfer to \"D\"", |w| to(w, "D"), rejected(Account)),
        case(
            "nft_transfer to an invalid account",
            |w| to(w, "Bad_Name"),
            rejected(Account),
        ),
        case(
            "nft_transfer to a number",
            |w| nft_op("alice", "nft_transfer", &w.held, json!({"to": 5})),
            rejected(Field),
        ),
        // Royalty splits.
        case(
            "royalty split by a non-author",
            |_| add_roy("bob", "bob_10000"),
            rejected(Account),
        ),
        case(
            "royalty split not summing to 10000",
            |_| add_roy("alice", "alice_5000,bob_4999"),
            rejected(Field),
        ),
        case(
            "royalty split naming an account twice",
            |_| add_roy("alice", "alice_5000,alice_5000"),
            rejected(Field),
        ),
        case(
            "royalty split with a zero share",
            |_| add_roy("alice", "alice_10000,bob_0"),
            rejected(Field),
        ),
        case(
            "royalty split with the reference's dividend pool",
            |_| add_roy("alice", "alice_9000,d_1000"),
            rejected(Account),
        ),
        case_after(
            "a second royalty split",
            |w| ok(&one(&mut w.net, add_roy("alice", "alice_5000,bob_5000"))),
            |_| add_roy("alice", "alice_10000"),
            rejected(Nothing),
        ),
        // Authority.
        case(
            "nft_transfer with posting authority",
            |w| posting("alice", "nft_transfer", json!({"set": SET, "uid": w.held, "to": "bob"})),
            rejected(Authority),
        ),
        case(
            "ft_transfer with posting authority",
            |_| posting("alice", "ft_transfer", json!({"set": SET, "to": "bob"})),
            rejected(Authority),
        ),
        case(
            "nft_buy with posting authority",
            |w| posting("carol", "nft_buy", json!({"set": SET, "uid": w.listed})),
            rejected(Authority),
        ),
        case(
            "nft_define with posting authority",
            |_| posting("alice", "nft_define", define_json("fresh", "F", 500)),
            rejected(Authority),
        ),
        case(
            "nft_bid with posting authority",
            |w| {
                posting(
                    "bob",
                    "nft_bid",
                    json!({"set": SET, "uid": w.auctioned, "bid_amount": 1000}),
                )
            },
            rejected(Authority),
        ),
        // Currencies this node does not take.
        case(
            "sell for HIVE",
            |w| nft_op("alice", "nft_sell", &w.held, json!({"type": "HIVE"})),
            rejected(Field),
        ),
        case(
            "sell for hbd",
            |w| nft_op("alice", "nft_sell", &w.held, json!({"type": "hbd"})),
            rejected(Field),
        ),
        case(
            "sell for DOGE",
            |w| nft_op("alice", "nft_sell", &w.held, json!({"type": "DOGE"})),
            rejected(Field),
        ),
        case(
            "reserve for HBD",
            |w| {
                nft_op(
                    "alice",
                    "nft_reserve_transfer",
                    &w.held,
                    json!({"to": "carol", "price": 5, "type": "HBD"}),
                )
            },
            rejected(Field),
        ),
        case(
            "auction for HIVE",
            |w| auction_for(w, json!({"type": "HIVE"})),
            rejected(Field),
        ),
        // Cancels and redemptions that are not the sender's to make.
        case(
            "cancel of an auction with bids",
            |w| nft_op("alice", "nft_sell_cancel", &w.bid_on, json!({})),
            rejected(Nothing),
        ),
        case(
            "cancel of someone else's listing",
            |w| nft_op("bob", "nft_sell_cancel", &w.listed, json!({})),
            rejected(Account),
        ),
        case(
            "cancel of someone else's reservation",
            |w| nft_op("dave", "nft_transfer_cancel", &w.reserved, json!({})),
            rejected(Account),
        ),
        case(
            "cancel of someone else's mint-token sale",
            |w| cj("bob", "ft_sell_cancel", json!({"set": SET, "uid": w.lt})),
            rejected(Account),
        ),
        case(
            "cancel of someone else's mint-token escrow",
            |w| cj("dave", "ft_escrow_cancel", json!({"set": SET, "uid": w.fts})),
            rejected(Account),
        ),
        case(
            "mint without a mint token",
            |_| cj("bob", "nft_mint", json!({"set": SET})),
            rejected(Funds),
        ),
        case(
            "ft_sell without a mint token",
            |_| cj("bob", "ft_sell", json!({"set": SET, "price": 5})),
            rejected(Funds),
        ),
        case(
            "ft_auction without a mint token",
            |_| cj("bob", "ft_auction", json!({"set": SET})),
            rejected(Funds),
        ),
        // Ops the reference has that this node does not.
        case(
            "nft_hauction on a chain without the multi-sig account",
            |w| nft_op("alice", "nft_hauction", &w.held, json!({"type": "HIVE"})),
            rejected(Field),
        ),
        case(
            "nft_hauction without type",
            |w| nft_op("alice", "nft_hauction", &w.held, json!({})),
            rejected(Field),
        ),
        case(
            "nft_hauction in the token",
            |w| nft_op("alice", "nft_hauction", &w.held, json!({"type": "TOKEN"})),
            rejected(Field),
        ),
        case(
            "reserve without type",
            |w| {
                nft_op(
                    "alice",
                    "nft_reserve_transfer",
                    &w.held,
                    json!({"to": "carol", "price": 5}),
                )
            },
            rejected(Field),
        ),
        case(
            "ft_sell for HIVE",
            |_| cj("alice", "ft_sell", json!({"set": SET, "price": 5, "type": "HIVE"})),
            rejected(Field),
        ),
        case(
            "nft_div",
            |_| cj("alice", "nft_div", json!({"set": SET, "period": 30_000})),
            rejected(Unknown),
        ),
        case(
            "nft_delete",
            |w| nft_op("alice", "nft_delete", &w.held, json!({})),
            rejected(Unknown),
        ),
        case(
            "fts_sell_h",
            |_| cj("alice", "fts_sell_h", json!({"set": SET, "quantity": 1, "hive": 1000})),
            rejected(Unknown),
        ),
        // Malformed payloads.
        case(
            "a payload that is not an object",
            |_| opentoken_core::test_utils::custom_json("dlux_nft_mint", &["alice"], &[], "[1]"),
            rejected(RejectCode::NotAnObject),
        ),
        case(
            "a paid op that is not JSON",
            |_| opentoken_core::test_utils::custom_json("dlux_nft_buy", &["alice"], &[], "{set"),
            rejected(RejectCode::MalformedJson),
        ),
    ]
}

fn signer(op: &HiveOp) -> String {
    match op {
        HiveOp::CustomJson(c) => c
            .required_posting_auths
            .first()
            .or_else(|| c.required_auths.first())
            .cloned()
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn op_name(op: &HiveOp) -> String {
    match op {
        HiveOp::CustomJson(c) => c.id.trim_start_matches("dlux_").to_string(),
        _ => String::new(),
    }
}

const MODULES: [&str; 3] = ["token", "nft", "nodes"];

fn commitments(net: &mut TestNet) -> [[u8; 32]; 3] {
    MODULES.map(|m| net.commitment(m))
}

/// Runs one case on a fresh fixture: `Err` says what went wrong.
fn run_case(c: &Case) -> Result<(), String> {
    let mut w = world();
    (c.setup)(&mut w);
    idle(&mut w.net, 2);
    if !w.net.pending_messages().is_empty() {
        return Err("the setup left messages in flight".into());
    }
    let op = (c.op)(&w);
    let (payer, name) = (signer(&op), op_name(&op));
    let before = commitments(&mut w.net);
    let had = bal(&w.net, &payer);
    let outcome = one(&mut w.net, op);
    let taken = i128::from(had) - i128::from(bal(&w.net, &payer));
    let events = idle_events(&mut w.net, 2);
    match (c.expect, &outcome) {
        (Expect::Rejected(code), Outcome::Rejected { code: got, reason }) => {
            if *got != code {
                return Err(format!("rejected with {got:?} ({reason}), expected {code:?}"));
            }
            if reason.trim().is_empty() {
                return Err("rejected without a reason".into());
            }
            if taken != 0 {
                return Err(format!("a rejected op moved {taken} of @{payer}'s balance"));
            }
            if !events.is_empty() {
                return Err(format!("a rejected op was followed by nft events {events:?}"));
            }
        }
        (Expect::Refunded, Outcome::Applied { .. }) => {
            if taken <= 0 {
                return Err(format!("token applied it but took nothing from @{payer} ({taken})"));
            }
            match events.as_slice() {
                [NftEvent::Refunded {
                    account,
                    amount,
                    op,
                    why,
                    ..
                }] if account == &payer && i128::from(*amount) == taken && op == &name && !why.trim().is_empty() => {}
                other => {
                    return Err(format!(
                        "expected one refund of {taken} to @{payer} for {name} with a reason, got {other:?}"
                    ))
                }
            }
            if bal(&w.net, &payer) != had {
                return Err(format!(
                    "@{payer} has {} two blocks later, had {had}",
                    bal(&w.net, &payer)
                ));
            }
        }
        (expect, got) => return Err(format!("expected {expect:?}, got {got:?}")),
    }
    if !w.net.pending_messages().is_empty() {
        return Err(format!("messages still in flight: {:?}", w.net.pending_messages()));
    }
    let after = commitments(&mut w.net);
    let changed: Vec<&str> = MODULES
        .iter()
        .zip(before.iter().zip(after.iter()))
        .filter(|(_, (b, a))| b != a)
        .map(|(m, _)| *m)
        .collect();
    if !changed.is_empty() {
        return Err(format!("state changed in {changed:?}"));
    }
    Ok(())
}

#[test]
fn each_bad_op_is_rejected_or_refunded_and_changes_nothing() {
    let cases = cases();
    assert!(cases.len() >= 45, "the table holds {} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let result = catch_unwind(AssertUnwindSafe(|| run_case(c))).unwrap_or_else(|p| {
                Err(format!(
                    "panicked: {}",
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                ))
            });
            result.err().map(|e| format!("{}: {e}", c.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_fixture_is_what_the_cases_assume() {
    let w = world();
    let s = views::offer(w.net.state("nft"), OfferKind::NftSale, SET, &w.listed).expect("listed");
    assert_eq!((s.price, s.seller.as_str()), (10_000, "alice"));
    let r = views::offer(w.net.state("nft"), OfferKind::NftReserve, SET, &w.reserved).expect("reserved");
    assert_eq!((r.price, r.to.as_str()), (2000, "carol"));
    let a = views::offer(w.net.state("nft"), OfferKind::NftAuction, SET, &w.auctioned).expect("auctioned");
    assert_eq!((a.price, a.bids, a.days), (1000, 0, 1));
    assert_eq!(nfts_of(&w.net, "bob"), vec![(SET.to_string(), w.bobs.clone())]);
    assert_eq!(nfts_of(&w.net, "alice"), vec![(SET.to_string(), w.held.clone())]);
    let priced = |item: String| num(w.net.state("token"), format!("nftp/{item}").as_bytes());
    assert_eq!(priced(format!("ls/{SET}:{}", w.listed)), 10_000);
    assert_eq!(priced(format!("t/{SET}:{}", w.reserved)), 2000);
    assert_eq!(priced(format!("lt/{SET}:{}", w.lt)), 3000);
    assert_eq!(priced(format!("fts/{SET}:{}", w.fts)), 2500);
    assert_eq!(priced(format!("am/{SET}:{}", w.am)), 0, "auctions are not priced");
    assert_eq!(
        views::held(w.net.state("nft")),
        1500,
        "the fee went at the first mint; bob's bid"
    );
    assert_eq!(num(w.net.state("token"), b"tot/nft"), 1500);
}

// ---------------------------------------------------------------------------------------
// The reference's value bugs and hazards (spec §2), each as the correct behaviour.
// ---------------------------------------------------------------------------------------

fn rejected_with(o: &Outcome, code: RejectCode) {
    match o {
        Outcome::Rejected { code: got, reason } => {
            assert_eq!(*got, code, "rejected for {reason}");
            assert!(!reason.trim().is_empty(), "a rejection names its reason");
        }
        other => panic!("expected a {code:?} rejection, got {other:?}"),
    }
}

#[test]
fn a_negative_ft_transfer_qty_is_rejected_and_steals_nothing() {
    // §2.5 ft_transfer BUG: a negative qty passes and moves tokens from `to` to the sender.
    let mut net = net();
    defined(&mut net, SET);
    ok(&one(
        &mut net,
        cj("alice", "ft_transfer", json!({"set": SET, "to": "bob", "qty": 2})),
    ));
    assert_eq!((fts(&net, "alice", SET), fts(&net, "bob", SET)), (14, 2));
    for qty in [json!(-5), json!("-5"), json!(-1), json!(-14)] {
        rejected_with(
            &one(
                &mut net,
                cj("bob", "ft_transfer", json!({"set": SET, "to": "alice", "qty": qty})),
            ),
            RejectCode::InvalidField,
        );
    }
    idle(&mut net, 2);
    assert_eq!((fts(&net, "alice", SET), fts(&net, "bob", SET)), (14, 2));
}

#[test]
fn an_ft_transfer_to_oneself_is_rejected_and_loses_nothing() {
    // §2.5 ft_transfer BUG: `to == from` loses qty (the second put wins).
    let mut net = net();
    defined(&mut net, SET);
    rejected_with(
        &one(
            &mut net,
            cj("alice", "ft_transfer", json!({"set": SET, "to": "alice", "qty": 3})),
        ),
        RejectCode::InvalidAccount,
    );
    assert_eq!(fts(&net, "alice", SET), 16);
}

#[test]
fn ft_sell_without_a_mint_token_is_rejected_and_makes_none() {
    // §2.5 ft_sell BUG: a user with no mint tokens can list one, creating it from nothing.
    let mut net = net();
    defined(&mut net, SET);
    let nft_before = net.commitment("nft");
    rejected_with(
        &one(&mut net, cj("bob", "ft_sell", json!({"set": SET, "price": 10}))),
        RejectCode::InsufficientFunds,
    );
    idle(&mut net, 2);
    assert!(views::offers(net.state("nft"), OfferKind::FtSale, None, 10).is_empty());
    assert_eq!((fts(&net, "bob", SET), fts(&net, "alice", SET)), (0, 16));
    assert_eq!(net.commitment("nft"), nft_before);
}

#[test]
fn a_first_ft_bid_below_the_start_is_refused_and_never_credits_the_bidder() {
    // §2.5 ft_bid BUG: the first bid has no minimum; a negative one credits the bidder.
    let mut net = net();
    defined(&mut net, SET);
    ok(&one(
        &mut net,
        cj("alice", "ft_auction", json!({"set": SET, "price": 1000, "time": 1})),
    ));
    idle(&mut net, 1);
    let id = only_offer(&net, OfferKind::FtAuction);
    let bob = bal(&net, "bob");
    let sup = supply(&net);
    let bid = |amount: Value| cj("bob", "ft_bid", json!({"set": SET, "uid": id, "bid_amount": amount}));
    for amount in [json!(-5), json!("-1000"), json!(0), json!("0")] {
        rejected_with(&one(&mut net, bid(amount)), RejectCode::InvalidField);
        assert_eq!(bal(&net, "bob"), bob, "nothing taken, nothing credited");
    }
    // Positive but below the start: escrowed, then refunded in full.
    ok(&one(&mut net, bid(json!(999))));
    assert_eq!(bob - bal(&net, "bob"), 999);
    let events = idle_events(&mut net, 2);
    assert!(
        matches!(events.as_slice(), [NftEvent::Refunded { account, amount: 999, op, .. }] if account == "bob" && op == "ft_bid"),
        "{events:?}"
    );
    assert_eq!(bal(&net, "bob"), bob, "refunded exactly, not credited");
    let o = views::offer(net.state("nft"), OfferKind::FtAuction, SET, &id).expect("still open");
    assert_eq!((o.bids, o.high, o.bidder.as_str()), (0, 0, ""));
    // The start itself is a valid first bid.
    ok(&one(&mut net, bid(json!(1000))));
    idle(&mut net, 2);
    let o = views::offer(net.state("nft"), OfferKind::FtAuction, SET, &id).expect("still open");
    assert_eq!((o.bids, o.high, o.bidder.as_str()), (1, 1000, "bob"));
    assert_eq!(bob - bal(&net, "bob"), 1000);
    assert_eq!(supply(&net), sup, "no token made or burned");
    // The define fee (held until the first mint) and the bid.
    assert_eq!(views::held(net.state("nft")), CARDS_FEE + 1000);
    assert_eq!(num(net.state("token"), b"tot/nft"), CARDS_FEE + 1000);
    // At the end the bidder gets the mint token and the seller exactly the bid (the
    // reference pays the seller whatever the first bid was, even a negative amount).
    let a = bal(&net, "alice");
    while net.next_block() <= o.expires {
        net.run_modules(vec![]);
    }
    idle(&mut net, 2);
    assert_eq!((fts(&net, "bob", SET), fts(&net, "alice", SET)), (1, 15));
    assert_eq!(bal(&net, "alice") - a, 1000, "seller and author");
    assert_eq!(bob - bal(&net, "bob"), 1000);
    assert_eq!(supply(&net), sup);
    assert_eq!(num(net.state("token"), b"tot/nft"), CARDS_FEE);
}

#[test]
fn completing_a_mint_token_escrow_pays_the_seller() {
    // §2.5 ft_escrow_complete BUG: like nft_reserve_complete, the seller is never paid.
    let mut net = net();
    defined(&mut net, SET);
    ok(&one(
        &mut net,
        cj("alice", "ft_transfer", json!({"set": SET, "to": "bob", "qty": 1})),
    ));
    ok(&one(
        &mut net,
        cj("bob", "ft_escrow", json!({"set": SET, "to": "carol", "price": 2001})),
    ));
    idle(&mut net, 1);
    assert_eq!(fts(&net, "bob", SET), 0, "the mint token is in the escrow");
    let id = only_offer(&net, OfferKind::FtReserve);
    let (a, b, c, sup) = (bal(&net, "alice"), bal(&net, "bob"), bal(&net, "carol"), supply(&net));
    ok(&one(
        &mut net,
        cj("carol", "ft_escrow_complete", json!({"set": SET, "uid": id})),
    ));
    idle(&mut net, 2);
    // 5% of 2001 is 100 (rounded down); the seller gets the rest.
    assert_eq!(c - bal(&net, "carol"), 2001);
    assert_eq!(bal(&net, "bob") - b, 1901);
    assert_eq!(bal(&net, "alice") - a, 100);
    assert_eq!(supply(&net), sup);
    assert_eq!((fts(&net, "carol", SET), fts(&net, "bob", SET)), (1, 0));
    assert!(views::offers(net.state("nft"), OfferKind::FtReserve, None, 10).is_empty());
    assert_eq!(num(net.state("token"), format!("nftp/fts/{SET}:{id}").as_bytes()), 0);
    assert_eq!(num(net.state("token"), b"tot/nft"), views::held(net.state("nft")));
}

#[test]
fn a_royalty_above_the_cap_or_a_negative_bond_is_rejected_at_define() {
    // §2.4 HAZARD: royalty and bond are not range-checked (a royalty above 10000 pays
    // sellers a negative amount, a negative bond lowers the fee, even below zero).
    let mut net = net();
    // Genesis messages land in the first block (and `block` would pair the op with the
    // status of one of them).
    idle(&mut net, 1);
    let alice = bal(&net, "alice");
    for (key, bad) in [
        ("royalty", json!(10_001)),
        ("royalty", json!(5001)),
        ("royalty", json!(-1)),
        ("bond", json!(-1)),
        ("bond", json!("-100000")),
    ] {
        let mut v = define_json("cards", "F", 500);
        v[key] = bad.clone();
        rejected_with(&one(&mut net, cj("alice", "nft_define", v)), RejectCode::InvalidField);
        assert_eq!(bal(&net, "alice"), alice, "{key} = {bad}: nothing taken");
    }
    idle(&mut net, 2);
    assert!(views::set(net.state("nft"), "cards").is_none());
    assert_eq!(num(net.state("token"), b"tot/nft"), 0);
    // The royalty cap itself is fine, and the bond is part of the fee (not of the fee
    // held until the first mint).
    let mut v = define_json("cards", "F", 5000);
    v["bond"] = json!(50_000);
    v["max_fee"] = json!(CARDS_FEE + 16 * 50_000);
    ok(&one(&mut net, cj("alice", "nft_define", v)));
    idle(&mut net, 2);
    let set = set_of(&net, "cards");
    assert_eq!((set.royalty_bp, set.bond, set.fee_held), (5000, 50_000, CARDS_FEE));
    assert_eq!(alice - bal(&net, "alice"), CARDS_FEE + 800_000);
    assert_eq!(views::held(net.state("nft")), CARDS_FEE + 800_000);
}

#[test]
fn the_last_mint_token_of_a_set_always_mints() {
    // §2.7 HAZARD: the reference draws from [start, end) and loops forever on the last
    // mint token; here the range is inclusive, so a one-uid set mints its one uid.
    let mut net = net();
    idle(&mut net, 1);
    let alice = bal(&net, "alice");
    let mut v = define_json("solo", "A", 500);
    v["start"] = json!("A");
    ok(&one(&mut net, cj("alice", "nft_define", v)));
    idle(&mut net, 2);
    let fee = 20 * (39 + 4 + 2) + 100_000;
    assert_eq!(alice - bal(&net, "alice"), fee);
    assert_eq!(set_of(&net, "solo").total, 1);
    assert_eq!(fts(&net, "alice", "solo"), 1);
    ok(&one(&mut net, cj("alice", "nft_mint", json!({"set": "solo"}))));
    to_checkpoint(&mut net);
    idle(&mut net, 1);
    assert_eq!(nfts_of(&net, "alice"), vec![("solo".to_string(), "A".to_string())]);
    let set = set_of(&net, "solo");
    assert_eq!((set.minted, set.fee_held), (1, 0));
    assert!(views::pending_mints(net.state("nft"), 10).is_empty());
    assert_eq!(num(net.state("token"), b"tot/nft"), 0);
    rejected_with(
        &one(&mut net, cj("alice", "nft_mint", json!({"set": "solo"}))),
        RejectCode::InsufficientFunds,
    );
}

#[test]
fn two_ft_sells_by_one_account_in_one_block_get_distinct_ids() {
    // §2.9: the reference ids are hash(from:set:block); the second overwrites the first.
    let mut net = net();
    defined(&mut net, SET);
    block(
        &mut net,
        vec![
            cj("alice", "ft_sell", json!({"set": SET, "price": 3000})),
            cj("alice", "ft_sell", json!({"set": SET, "price": 4000})),
        ],
    )
    .iter()
    .for_each(ok);
    idle(&mut net, 1);
    let offers = views::offers(net.state("nft"), OfferKind::FtSale, Some(SET), 10);
    assert_eq!(offers.len(), 2);
    assert_ne!(offers[0].id, offers[1].id);
    let mut prices: Vec<u64> = offers.iter().map(|o| o.price).collect();
    prices.sort_unstable();
    assert_eq!(prices, vec![3000, 4000]);
    assert_eq!(fts(&net, "alice", SET), 14, "one mint token in each offer");
    for o in &offers {
        assert_eq!(
            num(net.state("token"), format!("nftp/lt/{SET}:{}", o.id).as_bytes()),
            o.price
        );
    }
    let (a, c) = (bal(&net, "alice"), bal(&net, "carol"));
    block(
        &mut net,
        offers
            .iter()
            .map(|o| cj("carol", "ft_buy", json!({"set": SET, "uid": o.id})))
            .collect(),
    )
    .iter()
    .for_each(ok);
    idle(&mut net, 2);
    assert_eq!(fts(&net, "carol", SET), 2, "both sold");
    assert_eq!(c - bal(&net, "carol"), 7000);
    // The seller is the author: the price and the royalty both come to alice.
    assert_eq!(bal(&net, "alice") - a, 7000);
}

#[test]
fn nft_hauction_and_a_missing_type_are_rejected_and_do_not_stall() {
    // §2.4: nft_hauction and nft_reserve_transfer throw without `type`, which stalls the
    // reference. Here each is rejected with the reason (and on a chain without the
    // multi-sig account, HIVE/HBD offers are refused), and the chain goes on.
    let mut net = net();
    defined(&mut net, SET);
    let uid = minted(&mut net, SET, 1).remove(0);
    let nft_before = net.commitment("nft");
    for (op, payload) in [
        ("nft_hauction", json!({"set": SET, "uid": uid, "price": 1000})),
        (
            "nft_hauction",
            json!({"set": SET, "uid": uid, "price": 1000, "type": "HIVE"}),
        ),
        (
            "nft_hauction",
            json!({"set": SET, "uid": uid, "price": 1000, "type": "HBD"}),
        ),
        (
            "nft_reserve_transfer",
            json!({"set": SET, "uid": uid, "to": "carol", "price": 2000}),
        ),
        (
            "nft_reserve_transfer",
            json!({"set": SET, "uid": uid, "to": "carol", "price": 2000, "type": null}),
        ),
    ] {
        let o = one(&mut net, cj("alice", op, payload.clone()));
        match &o {
            Outcome::Rejected { code, reason } => {
                assert_eq!(*code, RejectCode::InvalidField, "{op} {payload}: {reason}");
                assert!(reason.contains("type") || reason.contains("multi-sig"), "{reason}");
            }
            other => panic!("{op} {payload}: {other:?}"),
        }
    }
    idle(&mut net, 2);
    assert_eq!(net.commitment("nft"), nft_before);
    assert_eq!(nfts_of(&net, "alice"), vec![(SET.to_string(), uid.clone())]);
    // The next blocks go on: the same reservation with its type settles.
    ok(&one(
        &mut net,
        cj(
            "alice",
            "nft_reserve_transfer",
            json!({"set": SET, "uid": uid, "to": "carol", "price": 2000, "type": "TOKEN"}),
        ),
    ));
    idle(&mut net, 1);
    let (a, c) = (bal(&net, "alice"), bal(&net, "carol"));
    ok(&one(
        &mut net,
        cj("carol", "nft_reserve_complete", json!({"set": SET, "uid": uid})),
    ));
    idle(&mut net, 2);
    assert_eq!(nfts_of(&net, "carol"), vec![(SET.to_string(), uid)]);
    assert_eq!(c - bal(&net, "carol"), 2000);
    assert_eq!(bal(&net, "alice") - a, 2000, "seller and author");
}

#[test]
fn a_split_royalty_is_paid_once_and_its_shares_add_up_exactly() {
    // §2.8 distro: shares rounded down, the first takes the rest; paid on every sale once.
    let mut net = net();
    defined(&mut net, SET);
    let uid = minted(&mut net, SET, 1).remove(0);
    ok(&one(
        &mut net,
        cj(
            "alice",
            "nft_add_roy",
            json!({"set": SET, "distro": "alice_3334,frank_3333,grace_3333"}),
        ),
    ));
    ok(&one(
        &mut net,
        cj("alice", "nft_transfer", json!({"set": SET, "uid": uid, "to": "dave"})),
    ));
    ok(&one(
        &mut net,
        cj("dave", "nft_sell", json!({"set": SET, "uid": uid, "price": 12_345})),
    ));
    idle(&mut net, 2);
    let who = ["alice", "dave", "erin", "frank", "grace"];
    let before: Vec<u64> = who.iter().map(|a| bal(&net, a)).collect();
    let sup = supply(&net);
    ok(&one(&mut net, cj("erin", "nft_buy", json!({"set": SET, "uid": uid}))));
    let events = idle_events(&mut net, 2);
    let sales = events.iter().filter(|e| matches!(e, NftEvent::Sold { .. })).count();
    assert_eq!(sales, 1, "{events:?}");
    let delta = |net: &TestNet| -> Vec<i128> {
        who.iter()
            .zip(&before)
            .map(|(a, b)| i128::from(bal(net, a)) - i128::from(*b))
            .collect()
    };
    // 5% of 12345 is 617; frank and grace 3333 bp of it each (205), alice the rest (207).
    assert_eq!(delta(&net), vec![207, 12_345 - 617, -12_345, 205, 205]);
    assert_eq!(delta(&net).iter().sum::<i128>(), 0, "the sale moves tokens, makes none");
    assert_eq!(supply(&net), sup);
    idle(&mut net, 5);
    assert_eq!(delta(&net), vec![207, 11_728, -12_345, 205, 205], "paid once");
    assert_eq!(nfts_of(&net, "erin"), vec![(SET.to_string(), uid)]);
    assert_eq!(num(net.state("token"), b"tot/nft"), 0);
    assert_eq!(views::held(net.state("nft")), 0);
}

#[test]
fn melting_refunds_the_bond_exactly_once() {
    // §2.4 nft_melt: the bond goes to whoever melts; a second melt finds nothing.
    let mut net = net();
    idle(&mut net, 1);
    let mut v = define_json(SET, "F", 500);
    v["bond"] = json!(1000);
    ok(&one(&mut net, cj("alice", "nft_define", v)));
    idle(&mut net, 2);
    assert_eq!(set_of(&net, SET).fee_held, CARDS_FEE);
    let uid = minted(&mut net, SET, 1).remove(0);
    idle(&mut net, 2);
    assert_eq!(
        views::held(net.state("nft")),
        16_000,
        "the bonds; the fee went at the first mint"
    );
    ok(&one(
        &mut net,
        cj("alice", "nft_transfer", json!({"set": SET, "uid": uid, "to": "bob"})),
    ));
    let (a, b, sup) = (bal(&net, "alice"), bal(&net, "bob"), supply(&net));
    ok(&one(&mut net, cj("bob", "nft_melt", json!({"set": SET, "uid": uid}))));
    idle(&mut net, 2);
    assert_eq!(bal(&net, "bob") - b, 1000, "the bond to the one who melts");
    assert_eq!(bal(&net, "alice"), a);
    assert_eq!(supply(&net), sup);
    rejected_with(
        &one(&mut net, cj("bob", "nft_melt", json!({"set": SET, "uid": uid}))),
        RejectCode::InvalidField,
    );
    idle(&mut net, 5);
    assert_eq!(bal(&net, "bob") - b, 1000, "once");
    let set = set_of(&net, SET);
    assert_eq!((set.minted, set.melted), (1, 1));
    assert!(views::nft(net.state("nft"), SET, &uid).is_none());
    assert!(nfts_of(&net, "bob").is_empty());
    assert_eq!(views::held(net.state("nft")), 15_000);
    assert_eq!(num(net.state("token"), b"tot/nft"), 15_000);
    assert!(opentoken_nft::held_matches(net.state("nft")).is_ok());
}

#[test]
fn an_auction_without_bids_returns_the_nft_to_the_seller_at_its_end_block() {
    let mut net = net();
    defined(&mut net, SET);
    let uid = minted(&mut net, SET, 1).remove(0);
    let at = net.next_block();
    ok(&one(
        &mut net,
        cj(
            "alice",
            "nft_auction",
            json!({"set": SET, "uid": uid, "price": 1000, "time": 1}),
        ),
    ));
    let end = views::offer(net.state("nft"), OfferKind::NftAuction, SET, &uid)
        .expect("open")
        .expires;
    assert_eq!(end, at + 28_800, "one day of blocks");
    let a = bal(&net, "alice");
    while net.next_block() < end {
        net.run_modules(vec![]);
    }
    assert!(nfts_of(&net, "alice").is_empty(), "held by the auction until its end");
    assert_eq!(
        views::nft(net.state("nft"), SET, &uid).map(|n| n.owner),
        Some("ah".into())
    );
    let out = net.run_modules(vec![]);
    assert_eq!(out.block, end);
    assert!(
        nft_events(&out).iter().any(|e| matches!(
            e,
            NftEvent::Closed {
                why: opentoken_nft::CloseWhy::NoBids,
                ..
            }
        )),
        "closed at its end block"
    );
    assert_eq!(nfts_of(&net, "alice"), vec![(SET.to_string(), uid.clone())]);
    assert!(views::offer(net.state("nft"), OfferKind::NftAuction, SET, &uid).is_none());
    assert!(views::account_offers(net.state("nft"), "alice", 10).is_empty());
    idle(&mut net, 2);
    assert_eq!(bal(&net, "alice"), a, "nothing paid");
}

#[test]
fn an_auction_with_bids_cannot_be_cancelled() {
    let mut net = net();
    defined(&mut net, SET);
    let uid = minted(&mut net, SET, 1).remove(0);
    ok(&one(
        &mut net,
        cj(
            "alice",
            "nft_auction",
            json!({"set": SET, "uid": uid, "price": 1000, "time": 1}),
        ),
    ));
    ok(&one(
        &mut net,
        cj("bob", "nft_bid", json!({"set": SET, "uid": uid, "bid_amount": 1200})),
    ));
    idle(&mut net, 2);
    let nft_before = net.commitment("nft");
    for cancel in ["nft_sell_cancel", "nft_transfer_cancel"] {
        rejected_with(
            &one(&mut net, cj("alice", cancel, json!({"set": SET, "uid": uid}))),
            RejectCode::NothingToDo,
        );
    }
    idle(&mut net, 2);
    assert_eq!(net.commitment("nft"), nft_before);
    let o = views::offer(net.state("nft"), OfferKind::NftAuction, SET, &uid).expect("still open");
    assert_eq!((o.bids, o.high, o.bidder.as_str()), (1, 1200, "bob"));
    let a = bal(&net, "alice");
    while net.next_block() <= o.expires {
        net.run_modules(vec![]);
    }
    idle(&mut net, 1);
    assert_eq!(nfts_of(&net, "bob"), vec![(SET.to_string(), uid)]);
    assert_eq!(bal(&net, "alice") - a, 1200, "seller and author");
}

#[test]
fn two_buyers_of_one_listing_in_one_block_one_gets_it_and_the_other_is_refunded() {
    // Both pay against the mirrored price; the first to settle buys, the second finds the
    // listing gone and gets all of it back.
    let mut net = net();
    defined(&mut net, SET);
    let uid = minted(&mut net, SET, 1).remove(0);
    ok(&one(
        &mut net,
        cj("alice", "nft_sell", json!({"set": SET, "uid": uid, "price": 10_000})),
    ));
    idle(&mut net, 1);
    let (a, c, d, sup) = (bal(&net, "alice"), bal(&net, "carol"), bal(&net, "dave"), supply(&net));
    block(
        &mut net,
        vec![
            cj("carol", "nft_buy", json!({"set": SET, "uid": uid})),
            cj("dave", "nft_buy", json!({"set": SET, "uid": uid})),
        ],
    )
    .iter()
    .for_each(ok);
    assert_eq!(
        (c - bal(&net, "carol"), d - bal(&net, "dave")),
        (10_000, 10_000),
        "both escrowed"
    );
    let events = idle_events(&mut net, 2);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            NftEvent::Sold { buyer, .. } if buyer == "carol" => "sold to carol",
            NftEvent::Refunded {
                account,
                amount: 10_000,
                ..
            } if account == "dave" => "dave refunded",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, vec!["sold to carol", "dave refunded"], "{events:?}");
    assert_eq!(nfts_of(&net, "carol"), vec![(SET.to_string(), uid)]);
    assert_eq!(c - bal(&net, "carol"), 10_000);
    assert_eq!(bal(&net, "dave"), d);
    assert_eq!(bal(&net, "alice") - a, 10_000, "seller and author");
    assert_eq!(supply(&net), sup);
    assert_eq!(num(net.state("token"), b"tot/nft"), 0);
}
