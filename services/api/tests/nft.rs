//! The NFT routes over a real NFT state: the production engine runs the NFT module, the
//! ops the token module escrows (definitions, bids) arrive as its `paid` messages, the rest
//! are custom_json ops; the state is committed to a store as a processor commits it, and the
//! router answers from that store. The bounds are checked on a state with more of each
//! record than any answer shows.

use axum::http::StatusCode;
use opentoken_api::ApiState;
use opentoken_core::test_utils::{op, posting_op, test_spec, TestNet};
use opentoken_core::{ChainSpec, HiveOp, ModuleState, Outcome, StateWrite};
use opentoken_nft::keys::{self, Nft, Offer, Set};
use opentoken_nft::protocol::Currency;
use opentoken_nft::{b64, views, NftModule, OfferKind};
use serde_json::{json, Value};
use std::sync::Arc;

mod common;
use common::get;

/// The bounds of `services/api/src/nft.rs` (`NFTS_SHOWN`, `SETS_SHOWN`, `SET_NFTS_SHOWN`,
/// `OFFERS_SHOWN`, `TRADES_SHOWN`, `TRADES_SCAN`).
const NFTS_SHOWN: usize = 500;
const SETS_SHOWN: usize = 1000;
const SET_NFTS_SHOWN: usize = 2000;
const OFFERS_SHOWN: usize = 500;
const TRADES_SHOWN: usize = 100;
const TRADES_SCAN: usize = 2000;

/// A hundred blocks a day, so that auctions end soon; the multi-sig account, so that offers
/// can be priced in HIVE and HBD; a token of 4 decimals, so that its amounts cannot pass for
/// HIVE's or HBD's (3).
fn nft_spec() -> ChainSpec {
    let mut spec = test_spec()
        .with_module("nft", json!({"blocks_per_day": 100}))
        .with_module("multisig", json!({}));
    spec.precision = 4;
    spec
}

/// The NFT module alone on the real engine; the token module is played by `paid`.
struct Gallery {
    net: TestNet,
    n: usize,
}

impl Gallery {
    fn new() -> Self {
        let spec = nft_spec();
        let nft = Arc::new(NftModule::from_spec(&spec).unwrap());
        let mut g = Self {
            net: TestNet::new(spec, vec![nft]),
            n: 0,
        };
        g.block();
        g
    }

    /// An op the token module escrowed `amount` for, settled at the start of the next block.
    fn paid(&mut self, from: &str, op: &str, payload: Value, amount: u64) {
        self.n += 1;
        let block = self.net.next_block() - 1;
        let paid = json!({
            "op": op, "from": from, "amount": amount, "payload": payload.to_string(),
            "txid": TestNet::txid(block, 1000 + self.n), "block": block, "trx": 0, "op_in_trx": 0,
        });
        self.net.deliver("token", "nft", "paid", paid.to_string());
    }

    /// One block with `ops`, each of which must apply.
    fn ops(&mut self, ops: Vec<HiveOp>) {
        let count = ops.len();
        let out = self.net.run("nft", ops);
        for i in 0..count {
            let outcome = &out.status(i).outcome;
            assert!(matches!(outcome, Outcome::Applied { .. }), "op {i}: {outcome:?}");
        }
    }

    fn block(&mut self) {
        self.net.run_modules(vec![]);
    }

    fn run_to_checkpoint(&mut self) {
        let interval = self.net.spec().checkpoint_interval;
        while !self.net.next_block().is_multiple_of(interval) {
            self.block();
        }
        self.block();
    }

    fn state(&self) -> &ModuleState {
        self.net.state("nft")
    }

    /// `account`'s NFTs of `set`, in key order.
    fn uids(&self, account: &str, set: &str) -> Vec<String> {
        views::account_nfts(self.state(), account, 100)
            .into_iter()
            .filter(|(s, _)| s == set)
            .map(|(_, u)| u)
            .collect()
    }

    fn last(&self, set: &str, uid: &str) -> u64 {
        views::nft(self.state(), set, uid).unwrap().last
    }

    fn offers(&self, kind: OfferKind) -> Vec<Offer> {
        views::offers(self.state(), kind, None, 100)
    }
}

fn serve(state: &ModuleState, block: u64, spec: ChainSpec) -> (tempfile::TempDir, ApiState) {
    common::serve("nft", state, block, spec)
}

/// 200 and the body, with the envelope checked and removed.
async fn ok(api: &ApiState, uri: &str) -> Value {
    let (code, mut body) = get(api, uri).await;
    assert_eq!(code, StatusCode::OK, "{uri}: {body}");
    let m = body.as_object_mut().unwrap();
    assert_eq!(m.remove("node"), Some(json!("node1")), "{uri}");
    assert_eq!(m.remove("VERSION"), Some(json!("test")), "{uri}");
    assert!(m.remove("behind").is_some(), "{uri}");
    body
}

fn dlux(amount: u64) -> Value {
    json!({"amount": amount, "precision": 4, "token": "DLUX"})
}

fn coin(amount: u64, token: &str) -> Value {
    json!({"amount": amount, "precision": 3, "token": token})
}

/// The define fee without bonds of a type-1 set (`nft_define`'s formula, default config).
fn define_fee(name: &str, end: &str, total: u64) -> u64 {
    20 * (39 + name.len() as u64 + 2 * end.len() as u64) * total + 100_000
}

/// What the gallery holds, by name.
struct World {
    g: Gallery,
    /// alice's six cards NFTs in key order: `[0]` for sale, `[1]` at auction, `[2]` reserved
    /// for bob at 3.000 HIVE, `[3]` her profile picture, `[4]` kept, `[5]` at auction in HBD.
    cards: Vec<String>,
    /// bob's art NFT, for sale.
    art: String,
    ft_sale: Offer,
    ft_auction: Offer,
    ft_escrow: Offer,
    art_ft_sale: Offer,
}

/// Three sets: `cards` by alice (16 uids, 5% royalty, bond 10), `art` by bob, `zine` by
/// carol (never minted). alice redeems six cards and bob one art; alice sells one, auctions
/// one (bob bids 0.1500), reserves one for bob in HIVE, makes one her profile picture,
/// auctions one in HBD, sells, auctions and escrows (to carol) a mint token each and gives
/// bob two; bob sells his art NFT and an art mint token.
fn world() -> World {
    let mut g = Gallery::new();
    let define = |name: &str, script: &str, permlink: &str, end: &str, royalty: u64, bond: u64, long: &str| {
        json!({"name": name, "type": 1, "script": script, "permlink": permlink, "start": "0",
               "end": end, "royalty": royalty, "handling": "svg", "max_fee": 500_000,
               "bond": bond, "long_name": if long.is_empty() { Value::Null } else { json!(long) }})
    };
    g.paid(
        "alice",
        "nft_define",
        define("cards", "QmRenderer", "the-set", "F", 500, 10, "Card Set"),
        500_000,
    );
    g.paid(
        "bob",
        "nft_define",
        define("art", "QmArt", "art-post", "0F", 0, 0, "Art"),
        500_000,
    );
    g.paid(
        "carol",
        "nft_define",
        define("zine", "QmZine", "zine-post", "F", 0, 0, ""),
        500_000,
    );
    g.block();
    for name in ["cards", "art", "zine"] {
        assert!(views::set(g.state(), name).is_some(), "{name} defined");
    }
    let mut mints: Vec<HiveOp> = (0..6).map(|_| op("alice", "nft_mint", r#"{"set":"cards"}"#)).collect();
    mints.push(op("bob", "nft_mint", r#"{"set":"art"}"#));
    g.ops(mints);
    g.run_to_checkpoint();
    let cards = g.uids("alice", "cards");
    assert_eq!(cards.len(), 6, "drawn at the checkpoint");
    let art = g.uids("bob", "art").remove(0);
    let c = |i: usize| cards[i].clone();
    g.ops(vec![
        op(
            "alice",
            "nft_sell",
            &json!({"set": "cards", "uid": c(0), "price": 2500}).to_string(),
        ),
        op(
            "alice",
            "nft_auction",
            &json!({"set": "cards", "uid": c(1), "price": 1000, "time": 1, "now": 5000}).to_string(),
        ),
        op(
            "alice",
            "nft_reserve_transfer",
            &json!({"set": "cards", "uid": c(2), "to": "bob", "price": 3000, "type": "HIVE"}).to_string(),
        ),
        op(
            "alice",
            "nft_hauction",
            &json!({"set": "cards", "uid": c(5), "price": 2000, "time": 3, "type": "HBD"}).to_string(),
        ),
        posting_op("alice", "nft_pfp", &json!({"set": "cards", "uid": c(3)}).to_string()),
        op("alice", "ft_sell", r#"{"set":"cards","price":700}"#),
        op("alice", "ft_auction", r#"{"set":"cards","price":800,"time":2}"#),
        op("alice", "ft_escrow", r#"{"set":"cards","to":"carol","price":900}"#),
        op("alice", "ft_transfer", r#"{"set":"cards","to":"bob","qty":2}"#),
        op(
            "bob",
            "nft_sell",
            &json!({"set": "art", "uid": art, "price": 50}).to_string(),
        ),
        op("bob", "ft_sell", r#"{"set":"art","price":100}"#),
    ]);
    g.paid(
        "bob",
        "nft_bid",
        json!({"set": "cards", "uid": c(1), "bid_amount": 1500}),
        1500,
    );
    g.block();
    let one = |g: &Gallery, kind: OfferKind, set: &str| {
        let list: Vec<Offer> = g.offers(kind).into_iter().filter(|o| o.set == set).collect();
        assert_eq!(list.len(), 1, "{kind:?} of {set}");
        list.into_iter().next().unwrap()
    };
    let auction = views::offer(g.state(), OfferKind::NftAuction, "cards", &c(1)).unwrap();
    assert_eq!((auction.bids, auction.high), (1, 1500), "bob's bid stands");
    World {
        ft_sale: one(&g, OfferKind::FtSale, "cards"),
        ft_auction: one(&g, OfferKind::FtAuction, "cards"),
        ft_escrow: one(&g, OfferKind::FtReserve, "cards"),
        art_ft_sale: one(&g, OfferKind::FtSale, "art"),
        g,
        cards,
        art,
    }
}

impl World {
    fn serve(&self, spec: ChainSpec) -> (tempfile::TempDir, ApiState) {
        serve(self.g.state(), self.g.net.next_block() - 1, spec)
    }

    fn head(&self) -> u64 {
        self.g.net.next_block() - 1
    }
}

#[tokio::test]
async fn an_accounts_nfts_and_mint_tokens() {
    let w = world();
    let (_dir, api) = w.serve(nft_spec());
    let entry = |uid: &str| {
        json!({"uid": uid, "info": format!("{},", b64::from_number(w.g.last("cards", uid))),
               "set": "cards", "script": "QmRenderer", "type": 1, "encoding": "svg"})
    };
    let body = ok(&api, "/api/nfts/alice").await;
    assert_eq!(
        body,
        json!({
            "result": [entry(&w.cards[3]), entry(&w.cards[4])],
            "result_more": false,
            "mint_tokens": [{"qty": 16 - 6 - 3 - 2, "set": "cards", "script": "QmRenderer", "type": 1, "encoding": "svg"}],
            "mint_tokens_more": false,
            "user": "alice",
        }),
        "the NFTs in offers are not hers to list"
    );
    let body = ok(&api, "/api/nfts/bob").await;
    assert_eq!(body["result"], json!([]), "his art NFT is for sale");
    assert_eq!(
        body["mint_tokens"],
        json!([
            {"qty": 16 - 1 - 1, "set": "art", "script": "QmArt", "type": 1, "encoding": "svg"},
            {"qty": 2, "set": "cards", "script": "QmRenderer", "type": 1, "encoding": "svg"},
        ])
    );
    let body = ok(&api, "/api/nfts/nobody").await;
    assert_eq!(
        (body["result"].clone(), body["mint_tokens"].clone()),
        (json!([]), json!([]))
    );
    let (code, body) = get(&api, "/api/nfts/No").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not a valid Hive account name"),
        "{body}"
    );
}

#[tokio::test]
async fn one_nft_and_its_set() {
    let w = world();
    let (_dir, api) = w.serve(nft_spec());
    let listed = &w.cards[0];
    let body = ok(&api, &format!("/api/nft/cards/{listed}")).await;
    let last = w.g.last("cards", listed);
    assert_eq!(
        body,
        json!({
            "item": {"uid": listed, "set": "cards", "last_modified": last,
                     "info": format!("{},", b64::from_number(last)), "type": 1, "owner": "ls",
                     "lien": "No Lien"},
            "set": {"set": "cards", "link": "alice/the-set", "fee": dlux(0), "bond": dlux(10),
                    "permlink": "the-set", "author": "alice", "script": "QmRenderer",
                    "name_long": "Card Set", "encoding": "svg", "type": 1, "royalty": 500,
                    "name": "cards", "minted": "6", "max": 16},
        }),
        "an NFT for sale is shown, held by its sale"
    );
    for (i, owner) in [(1, "ah"), (2, "t"), (3, "alice"), (5, "ah")] {
        let body = ok(&api, &format!("/api/nft/cards/{}", w.cards[i])).await;
        assert_eq!(body["item"]["owner"], owner, "{i}");
    }
    let unminted = (0..16).map(b64::from_number).find(|u| !w.cards.contains(u)).unwrap();
    for uri in [format!("/api/nft/cards/{unminted}"), "/api/nft/nope/0".into()] {
        let (code, body) = get(&api, &uri).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(body["item"], "Not Found", "{uri}");
        assert!(body["error"].as_str().unwrap().contains("no NFT"), "{uri}: {body}");
    }
    let long = "x".repeat(33);
    for uri in [
        format!("/api/nft/{long}/0"),
        "/api/nft/bad.set/0".into(),
        "/api/nft/a%2Fb/0".into(),
        "/api/nft/cards/0:1".into(),
        format!("/api/nft/cards/{}", "1".repeat(65)),
    ] {
        let (code, body) = get(&api, &uri).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(body["error"].is_string(), "{uri}");
    }
}

#[tokio::test]
async fn the_sets_and_one_set_with_its_holders() {
    let w = world();
    let (_dir, api) = w.serve(nft_spec());
    let body = ok(&api, "/api/sets").await;
    let listing = |name: &str,
                   author: &str,
                   permlink: &str,
                   script: &str,
                   long: &str,
                   fee: u64,
                   bond: u64,
                   royalty: u64,
                   minted: &str| {
        json!({"set": name, "link": format!("{author}/{permlink}"), "fee": dlux(fee), "bond": dlux(bond),
               "permlink": permlink, "author": author, "script": script, "encoding": "svg", "type": 1,
               "royalty": royalty, "royalty_allocation": format!("{author}_10000"), "name": name,
               "name_long": long, "minted": minted, "max": 16, "max_exe_length": 0, "max_opt_length": 0,
               "total_div": dlux(0), "last_div": dlux(0)})
    };
    assert_eq!(
        body,
        json!({
            "result": [
                listing("art", "bob", "art-post", "QmArt", "Art", 0, 0, 0, "1"),
                listing("cards", "alice", "the-set", "QmRenderer", "Card Set", 0, 10, 500, "6"),
                listing("zine", "carol", "zine-post", "QmZine", "", define_fee("zine", "F", 16), 0, 0, "0"),
            ],
            "result_more": false,
        }),
        "the fee is held until the first mint"
    );

    let body = ok(&api, "/api/set/cards").await;
    let owners = ["ls", "ah", "t", "alice", "alice", "ah"];
    let result: Vec<Value> = w
        .cards
        .iter()
        .zip(owners)
        .map(|(uid, owner)| json!({"uid": uid, "set": "cards", "script": "QmRenderer", "owner": owner}))
        .collect();
    assert_eq!(body["result"], Value::Array(result));
    assert_eq!(body["result_more"], false);
    assert_eq!(
        body["set"],
        json!({"set": "cards", "link": "alice/the-set", "fee": dlux(0), "bond": dlux(10),
               "permlink": "the-set", "author": "alice", "script": "QmRenderer", "encoding": "svg",
               "type": 1, "royalty": 500, "royalty_accounts": "alice_10000", "name": "cards",
               "name_long": "Card Set", "minted": 6, "max": 16, "max_opt_length": 0,
               "max_exe_length": 0, "total_div": dlux(0), "last_div": dlux(0)})
    );
    assert_eq!(ok(&api, "/api/set/zine").await["result"], json!([]));
    let (code, body) = get(&api, "/api/set/nope").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "no NFT set \"nope\"");
    let (code, _) = get(&api, &format!("/api/set/{}", "y".repeat(33))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

/// `time` is the reference's estimate, now plus 3 s a block: between what it is before and
/// after the request.
fn check_time(uri: &str, entry: &Value, head: u64) {
    let time = entry["time"].as_str().unwrap();
    let blocks = entry["expires"].as_u64().unwrap() as i128 - head as i128;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i128;
    let at = |ms: i128| -> String {
        // The same format, from a trusted clock: seconds since the epoch.
        let secs = (ms / 1000) as i64;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60,
            ms % 1000
        )
    };
    // The answer was made before `now`, within a minute.
    let latest = at(now + blocks * 3000);
    let earliest = at(now - 60_000 + blocks * 3000);
    assert!(
        earliest.as_str() <= time && time <= latest.as_str(),
        "{uri}: {time} not in {earliest}..={latest}"
    );
}

/// Days since the epoch to a civil date, counted out by years and months (independent of
/// the API's own conversion).
fn civil(mut days: i64) -> (i64, i64, i64) {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut y = 1970;
    loop {
        let len = if leap(y) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        y += 1;
    }
    let months = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut m = 0;
    while days >= months[m] {
        days -= months[m];
        m += 1;
    }
    (y, m as i64 + 1, days + 1)
}

#[tokio::test]
async fn auctions_and_mint_auctions() {
    let w = world();
    let (_dir, api) = w.serve(nft_spec());
    let (token_uid, hbd_uid) = (&w.cards[1], &w.cards[5]);
    let offer = |uid: &str| views::offer(w.g.state(), OfferKind::NftAuction, "cards", uid).unwrap();
    let mut body = ok(&api, "/api/auctions").await;
    assert_eq!(body["result_more"], false);
    let list = body["result"].as_array_mut().unwrap();
    let uids: Vec<&str> = list.iter().map(|e| e["uid"].as_str().unwrap()).collect();
    let mut sorted = vec![token_uid.as_str(), hbd_uid.as_str()];
    sorted.sort();
    assert_eq!(uids, sorted, "in key order");
    for e in list.iter_mut() {
        check_time("/api/auctions", e, w.head());
        e.as_object_mut().unwrap().remove("time");
    }
    let by_uid = |uid: &str| list.iter().find(|e| e["uid"] == uid).unwrap().clone();
    assert_eq!(
        by_uid(token_uid),
        json!({"uid": token_uid, "set": "cards", "price": dlux(1500), "initial_price": dlux(1000),
               "by": "alice", "bids": 1, "bidder": "bob", "script": "QmRenderer",
               "name_long": "Card Set", "days": 1, "buy": 5000, "expires": offer(token_uid).expires}),
        "a bid: the price is the high bid"
    );
    assert_eq!(
        offer(token_uid).expires,
        offer(token_uid).block + 100,
        "a day of 100 blocks"
    );
    assert_eq!(
        by_uid(hbd_uid),
        json!({"uid": hbd_uid, "set": "cards", "price": coin(2000, "HBD"), "initial_price": coin(2000, "HBD"),
               "by": "alice", "bids": 0, "bidder": "", "script": "QmRenderer",
               "name_long": "Card Set", "days": 3, "buy": "", "expires": offer(hbd_uid).block + 300}),
        "an HBD auction is priced in HBD"
    );
    assert_eq!(
        ok(&api, "/api/auctions/cards").await["result"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(ok(&api, "/api/auctions/art").await["result"], json!([]));

    let mut body = ok(&api, "/api/mintauctions").await;
    let entry = body["result"][0].clone();
    check_time("/api/mintauctions", &entry, w.head());
    body["result"][0].as_object_mut().unwrap().remove("time");
    let a = &w.ft_auction;
    assert!(a.id.starts_with("Qm"), "{}", a.id);
    assert_eq!(
        body,
        json!({"result": [{"uid": a.id, "set": "cards", "price": dlux(800), "initial_price": dlux(800),
                           "by": "alice", "bids": 0, "bidder": "", "script": "QmRenderer",
                           "name_long": "Card Set", "days": 2, "buy": "", "expires": a.block + 200}],
               "result_more": false})
    );
    assert_eq!(ok(&api, "/api/mintauctions/zine").await["result"], json!([]));
    let (code, _) = get(&api, "/api/mintauctions/bad!").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sales_filter_by_their_own_set() {
    let w = world();
    let (_dir, api) = w.serve(nft_spec());
    let art =
        json!({"uid": w.art, "set": "art", "price": dlux(50), "by": "bob", "script": "QmArt", "name_long": "Art"});
    let cards = json!({"uid": w.cards[0], "set": "cards", "price": dlux(2500), "by": "alice",
                       "script": "QmRenderer", "name_long": "Card Set"});
    assert_eq!(
        ok(&api, "/api/sales").await,
        json!({"result": [art, cards], "result_more": false})
    );
    assert_eq!(
        ok(&api, "/api/sales/cards").await["result"],
        json!([cards]),
        "the set's own sales, not every other set's"
    );
    assert_eq!(ok(&api, "/api/sales/art").await["result"], json!([art]));
    assert_eq!(ok(&api, "/api/sales/zine").await["result"], json!([]));

    let art_ft = json!({"uid": w.art_ft_sale.id, "set": "art", "price": dlux(100), "by": "bob",
                        "script": "QmArt", "name_long": "Art"});
    let cards_ft = json!({"uid": w.ft_sale.id, "set": "cards", "price": dlux(700), "by": "alice",
                          "script": "QmRenderer", "name_long": "Card Set"});
    assert_eq!(
        ok(&api, "/api/mintsales").await,
        json!({"result": [art_ft, cards_ft], "result_more": false})
    );
    assert_eq!(ok(&api, "/api/mintsales/cards").await["result"], json!([cards_ft]));
    let (code, _) = get(&api, &format!("/api/sales/{}", "z".repeat(33))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn mint_supply_groups_auctions_and_sales_by_set() {
    let w = world();
    let (_dir, api) = w.serve(nft_spec());
    let mut body = ok(&api, "/api/mintsupply").await;
    assert_eq!(body["result_more"], false);
    let result = body["result"].as_array_mut().unwrap();
    assert_eq!(result.len(), 2, "{result:?}");
    let auction = result[1]["auctions"][0].as_object_mut().unwrap();
    assert!(auction.remove("time").unwrap().as_str().unwrap().ends_with('Z'));
    let a = &w.ft_auction;
    assert_eq!(
        body["result"],
        json!([
            {"set": "art", "script": "QmArt", "name_long": "Art", "auctions": [],
             "sales": [{"uid": w.art_ft_sale.id, "set": "art", "price": 100, "pricenai": dlux(100), "qty": 1,
                        "by": "bob", "script": "QmArt", "name_long": "Art"}],
             "qty_sales": 1, "qty_auctions": 0, "qty": 1},
            {"set": "cards", "script": "QmRenderer", "name_long": "Card Set",
             "auctions": [{"uid": a.id, "set": "cards", "price": 800, "pricenai": dlux(800),
                           "initial_price": dlux(800), "by": "alice", "bids": 0, "bidder": "",
                           "script": "QmRenderer", "name_long": "Card Set", "days": 2, "buy": "",
                           "expires": a.expires}],
             "sales": [{"uid": w.ft_sale.id, "set": "cards", "price": 700, "pricenai": dlux(700), "qty": 1,
                        "by": "alice", "script": "QmRenderer", "name_long": "Card Set"}],
             "qty_sales": 1, "qty_auctions": 1, "qty": 2},
        ])
    );
    let art = ok(&api, "/api/mintsupply/art").await;
    assert_eq!(art["result"].as_array().unwrap().len(), 1);
    assert_eq!(art["result"][0]["set"], "art");
    assert_eq!(ok(&api, "/api/mintsupply/zine").await["result"], json!([]));
}

#[tokio::test]
async fn a_profile_picture_while_it_is_held() {
    let w = world();
    let (_dir, api) = w.serve(nft_spec());
    let uid = &w.cards[3];
    let set = views::set(w.g.state(), "cards").unwrap();
    let body = ok(&api, "/api/pfp/alice").await;
    assert_eq!(
        body,
        json!({"result": [{
            "pfp": format!("cards:{uid}"),
            "nft": {"s": format!("{},", b64::from_number(w.g.last("cards", uid)))},
            "set": {"a": "alice", "b": 10, "d": 0, "e": "svg", "f": set.fee_held, "i": "6", "m": "F",
                    "n": "cards", "nl": "Card Set", "o": "0", "p": "the-set", "r": 500,
                    "s": "QmRenderer", "t": 1},
        }]})
    );
    let (code, body) = get(&api, "/api/pfp/bob").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(body["result"], "No Profile Picture Set or Owned");
    assert_eq!(body["error"], "@bob has chosen no profile picture");

    // Once she gives it away, it is hers no more.
    let mut g = w.g;
    g.ops(vec![op(
        "alice",
        "nft_transfer",
        &json!({"set": "cards", "uid": uid, "to": "dave"}).to_string(),
    )]);
    let (_dir2, api) = serve(g.state(), g.net.next_block() - 1, nft_spec());
    let (code, body) = get(&api, "/api/pfp/alice").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"],
        format!("@alice chose cards:{uid} as profile picture but no longer holds it")
    );
    let (code, _) = get(&api, "/api/pfp/x").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn escrows_from_and_to_an_account() {
    let w = world();
    let (_dir, api) = w.serve(nft_spec());
    let reserved = json!({"from": "alice", "to": "bob", "price": 3000, "type": "HIVE", "nai": coin(3000, "HIVE"),
                          "item": format!("cards:{}", w.cards[2]), "kind": "nfts", "set": "cards",
                          "uid": w.cards[2], "script": "QmRenderer"});
    let e = &w.ft_escrow;
    let escrow = json!({"from": "alice", "to": "carol", "price": 900, "type": "TOKEN", "nai": dlux(900),
                        "item": format!("cards:{}", e.id), "kind": "fts", "set": "cards", "uid": e.id,
                        "script": "QmRenderer"});
    for (uri, expect) in [
        ("/api/trades/nfts/alice", json!([reserved])),
        ("/api/trades/nfts/bob", json!([reserved])),
        ("/api/trades/nft/bob", json!([reserved])),
        ("/api/trades/nfts/carol", json!([])),
        ("/api/trades/fts/alice", json!([escrow])),
        ("/api/trades/ft/carol", json!([escrow])),
        ("/api/trades/fts/bob", json!([])),
    ] {
        let body = ok(&api, uri).await;
        let kind = if uri.contains("/nft") { "nfts" } else { "fts" };
        assert_eq!(
            body,
            json!({"result": expect, "result_more": false, "kind": kind}),
            "{uri}"
        );
    }
    for uri in ["/api/trades/ls/alice", "/api/trades/nfts/A", "/api/trades/x/alice"] {
        let (code, body) = get(&api, uri).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{uri}");
        assert!(body["error"].is_string(), "{uri}");
    }
}

/// Without a `modules.nft` section the routes do not exist.
#[tokio::test]
async fn a_chain_without_the_module_has_none_of_it() {
    let w = world();
    let (_dir, api) = w.serve(test_spec());
    for uri in [
        "/api/nfts/alice",
        "/api/nft/cards/0",
        "/api/sets",
        "/api/set/cards",
        "/api/auctions",
        "/api/auctions/cards",
        "/api/mintauctions",
        "/api/mintauctions/cards",
        "/api/sales",
        "/api/sales/cards",
        "/api/mintsales",
        "/api/mintsales/cards",
        "/api/mintsupply",
        "/api/mintsupply/cards",
        "/api/pfp/alice",
        "/api/trades/nfts/alice",
        // Even a bad value: the route does not exist.
        "/api/set/bad.name",
    ] {
        let (code, body) = get(&api, uri).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(body, json!({"error": "this chain runs no NFT module"}), "{uri}");
    }
}

fn put_json<T: serde::Serialize>(state: &mut ModuleState, key: Vec<u8>, v: &T) {
    state.put(key, serde_json::to_vec(v).unwrap());
}

fn reserve(id: &str, seller: &str, to: &str) -> Offer {
    Offer {
        price: 5,
        to: to.into(),
        ..Offer::new(OfferKind::NftReserve, "cards", id, seller, Currency::Token, 1)
    }
}

/// A state with more of every record than any answer shows: every list stops at its bound
/// and says that there is more.
#[tokio::test]
async fn every_list_is_bounded() {
    let w = world();
    let mut state = w.g.state().clone();
    let cards = views::set(&state, "cards").unwrap();
    // dave holds many cards NFTs (a hand-made state: the uids are only keys here).
    for i in 0..SET_NFTS_SHOWN + 5 {
        let uid = b64::padded(i as u64, 4);
        put_json(
            &mut state,
            keys::nft("cards", &uid),
            &Nft {
                owner: "dave".into(),
                last: 7,
            },
        );
        state.put(keys::owned("dave", "cards", &uid), Vec::new());
    }
    for i in 0..SETS_SHOWN + 5 {
        let mut s: Set = cards.clone();
        s.name = format!("s{i:05}");
        put_json(&mut state, keys::set(&s.name), &s);
    }
    for i in 0..OFFERS_SHOWN + 5 {
        let mut o = reserve(&b64::padded(i as u64, 4), "dave", "");
        o.kind = OfferKind::NftSale;
        put_json(&mut state, o.key(), &o);
        state.put(keys::offer_by("dave", o.kind, &o.set, &o.id), Vec::new());
        o.kind = OfferKind::FtAuction;
        o.id = format!("Qm{i:05}");
        o.expires = 1000;
        put_json(&mut state, o.key(), &o);
    }
    // After alice's escrow to bob (a one-symbol uid) come gina's many escrows to hank in key
    // order, then erin's to frank.
    for i in 0..TRADES_SCAN + 10 {
        let o = reserve(&format!("y{}", b64::padded(i as u64, 3)), "gina", "hank");
        put_json(&mut state, o.key(), &o);
        state.put(keys::offer_by("gina", o.kind, &o.set, &o.id), Vec::new());
    }
    for i in 0..TRADES_SHOWN + 5 {
        let o = reserve(&format!("z{}", b64::padded(i as u64, 3)), "erin", "frank");
        put_json(&mut state, o.key(), &o);
        state.put(keys::offer_by("erin", o.kind, &o.set, &o.id), Vec::new());
    }
    let (_dir, api) = serve(&state, w.head(), nft_spec());
    let len = |v: &Value| v.as_array().unwrap().len();

    let body = ok(&api, "/api/nfts/dave").await;
    assert_eq!(
        (len(&body["result"]), body["result_more"].clone()),
        (NFTS_SHOWN, json!(true))
    );
    // Key order is byte order, where `+` comes before the digits.
    let first = (0..SET_NFTS_SHOWN as u64 + 5).map(|i| b64::padded(i, 4)).min().unwrap();
    assert_eq!(first, "000+");
    assert_eq!(body["result"][0]["uid"], first);
    assert_eq!(body["result"][0]["info"], "7,");
    let body = ok(&api, "/api/set/cards").await;
    assert_eq!(
        (len(&body["result"]), body["result_more"].clone()),
        (SET_NFTS_SHOWN, json!(true))
    );
    let body = ok(&api, "/api/sets").await;
    assert_eq!(
        (len(&body["result"]), body["result_more"].clone()),
        (SETS_SHOWN, json!(true))
    );
    assert_eq!(body["result"][0]["set"], "art", "in name order");
    let body = ok(&api, "/api/sales").await;
    assert_eq!(
        (len(&body["result"]), body["result_more"].clone()),
        (OFFERS_SHOWN, json!(true))
    );
    let body = ok(&api, "/api/sales/art").await;
    assert_eq!((len(&body["result"]), body["result_more"].clone()), (1, json!(false)));
    let body = ok(&api, "/api/mintauctions/cards").await;
    assert_eq!(
        (len(&body["result"]), body["result_more"].clone()),
        (OFFERS_SHOWN, json!(true))
    );
    let body = ok(&api, "/api/mintsupply").await;
    assert_eq!(body["result_more"], true);
    let cards_supply = &body["result"].as_array().unwrap()[1];
    assert_eq!(cards_supply["set"], "cards");
    assert_eq!(cards_supply["qty_auctions"], OFFERS_SHOWN);

    // erin's escrows: all found through the seller index, though past the scan.
    let body = ok(&api, "/api/trades/nfts/erin").await;
    assert_eq!(
        (len(&body["result"]), body["result_more"].clone()),
        (TRADES_SHOWN, json!(true))
    );
    assert_eq!(body["result"][0]["to"], "frank");
    // frank's: past the scan, not found, and the answer says there may be more.
    let body = ok(&api, "/api/trades/nfts/frank").await;
    assert_eq!((len(&body["result"]), body["result_more"].clone()), (0, json!(true)));
    // hank's: within the scan, the first ones.
    let body = ok(&api, "/api/trades/nfts/hank").await;
    assert_eq!(
        (len(&body["result"]), body["result_more"].clone()),
        (TRADES_SHOWN, json!(true))
    );
    assert_eq!(body["result"][0]["uid"], "y00+");
    // bob's: the one reserved for him, though many others are open.
    let body = ok(&api, "/api/trades/nfts/bob").await;
    assert_eq!(len(&body["result"]), 1);
    assert_eq!(body["result"][0]["uid"], w.cards[2]);
}
