//! The DEX routes over a real DEX state: the production engine runs the DEX module, orders
//! arrive as the token and multisig modules send them (so fills, partial fills, history and
//! candles are the module's own), the state is committed to a store as a processor commits
//! it, and the router answers from that store.

use axum::http::StatusCode;
use opentoken_api::ApiState;
use opentoken_core::test_utils::{block_time, test_spec, TestNet};
use opentoken_core::ChainSpec;
use opentoken_dex::keys::Trade;
use opentoken_dex::order::order_id;
use opentoken_dex::{DexModule, OrderIn, Pair, Payout, Side};
use serde_json::{json, Value};
use std::sync::Arc;

mod common;
use common::get;

/// Ten blocks an hour, so that a day (240 blocks) passes quickly.
fn dex_spec() -> ChainSpec {
    test_spec()
        .with_module("dex", json!({"blocks_per_hour": 10}))
        .with_module("multisig", json!({}))
}

/// The DEX alone on the real engine; the token and multisig modules are played by
/// `deliver`.
struct Market {
    net: TestNet,
    n: usize,
}

impl Market {
    fn new() -> Self {
        let spec = dex_spec();
        let dex = Arc::new(DexModule::from_spec(&spec).unwrap());
        Self {
            net: TestNet::new(spec, vec![dex]),
            n: 0,
        }
    }

    /// An escrowed order, matched at the start of the next block; returns its id.
    fn order(&mut self, from: &str, pair: Pair, side: Side, amount: u64, price: u64) -> String {
        self.n += 1;
        let placed = self.net.next_block() - 1;
        let txid = TestNet::txid(placed, self.n);
        let id = order_id("DLUX", from, &txid, 0);
        let order = OrderIn {
            id: id.clone(),
            from: from.into(),
            pair,
            side,
            amount,
            price,
            expires: placed + 100_000,
            payout: Payout::L2,
            txid,
            block: placed,
            time: block_time(placed),
        };
        let sender = match side {
            Side::Ask => "token",
            Side::Bid => "multisig",
        };
        self.net
            .deliver(sender, "dex", "order", serde_json::to_string(&order).unwrap());
        id
    }

    fn ask(&mut self, from: &str, tokens: u64, price: u64) -> String {
        self.order(from, Pair::Hive, Side::Ask, tokens, price)
    }

    fn bid(&mut self, from: &str, coin: u64, price: u64) -> String {
        self.order(from, Pair::Hive, Side::Bid, coin, price)
    }

    fn block(&mut self) {
        self.net.run_modules(vec![]);
    }

    fn trades(&self) -> Vec<Trade> {
        opentoken_dex::views::trades(self.net.state("dex"), Pair::Hive, 1000)
    }

    /// The DEX's state committed to a fresh store at the last block, and an API on it.
    fn serve(&self, spec: ChainSpec) -> (tempfile::TempDir, ApiState) {
        common::serve("dex", self.net.state("dex"), self.net.next_block() - 1, spec)
    }
}

fn rates(list: &Value) -> Vec<f64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| o["rate"].as_str().unwrap().parse().unwrap())
        .collect()
}

fn sorted(v: &[f64], descending: bool) -> bool {
    v.windows(2)
        .all(|w| if descending { w[0] >= w[1] } else { w[0] <= w[1] })
}

/// Resting asks at 0.12, 0.10, 0.11 and bids at 0.09, 0.08, 0.095; then a bid at 0.105
/// takes 5.000 of the 0.10 ask for 0.500 HIVE and an ask at 0.085 sells 1.000 to the
/// 0.095 bid for 0.095 HIVE. Returns the market and alice's order ids (0.10 and 0.12).
fn traded_market() -> (Market, String, String) {
    let mut m = Market::new();
    m.block();
    let a1 = m.ask("alice", 10_000, 100_000);
    let a2 = m.ask("alice", 5_000, 120_000);
    m.ask("carol", 4_000, 110_000);
    m.order("alice", Pair::Hbd, Side::Ask, 2_000, 12_500);
    m.bid("bob", 300, 90_000);
    m.bid("dave", 200, 80_000);
    m.bid("erin", 100, 95_000);
    m.block();
    m.bid("bob", 500, 105_000);
    m.block();
    m.ask("frank", 1_000, 85_000);
    m.block();
    (m, a1, a2)
}

#[tokio::test]
async fn dex_shows_both_markets_in_the_reference_shape() {
    let (m, a1, _) = traded_market();
    let (_dir, api) = m.serve(dex_spec());
    let (code, body) = get(&api, "/dex").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        (body["node"].clone(), body["VERSION"].clone()),
        (json!("node1"), json!("test"))
    );
    assert!(body.get("behind").is_some());
    let hive = &body["markets"]["hive"];
    let sells = rates(&hive["sells"]);
    let buys = rates(&hive["buys"]);
    assert_eq!(sells, [0.1, 0.11, 0.12], "asks ascending");
    assert!(sorted(&buys, true) && buys.len() >= 2, "bids descending: {buys:?}");
    assert_eq!(*buys.last().unwrap(), 0.08);
    assert_eq!(hive["tick"], "0.095000", "the last fill's price");
    let sell_book = hive["sellBook"].as_str().unwrap();
    assert!(
        sell_book.starts_with(&format!("0.100000_{a1},0.110000_")),
        "{sell_book}"
    );
    assert_eq!(sell_book.split(',').count(), 3);
    assert!(hive["buyBook"].as_str().unwrap().ends_with(&format!(
        "0.080000_{}",
        hive["buys"].as_array().unwrap().last().unwrap()["txid"]
            .as_str()
            .unwrap()
    )));
    let first = &hive["sells"][0];
    assert_eq!(first["txid"], a1.as_str());
    assert_eq!(first["from"], "alice");
    assert_eq!(first["type"], "hive:sell");
    assert_eq!(first["amount"], 5_000, "half of it sold");
    assert_eq!(first["hive"], 500);
    assert_eq!(first["key"], format!("0.100000:{a1}"));
    assert_eq!(first["amountnai"]["token"], "DLUX");
    assert_eq!(first["hivenai"]["amount"], 500);
    assert_eq!(first["filled_tokens"], 5_000);
    for field in [
        "fee",
        "rate",
        "block",
        "expire_path",
        "hbdnai",
        "feenai",
        "hive_id",
        "hbd",
    ] {
        assert!(first.get(field).is_some(), "no {field} in {first}");
    }
    assert_eq!(hive["buys"][0]["type"], "hive:buy");
    assert_eq!(hive["sells_more"], false);

    let his = hive["his"].as_object().unwrap();
    assert_eq!(his.len(), 2, "{his:?}");
    let mut trades: Vec<&Value> = his.values().collect();
    trades.sort_by_key(|t| t["block"].as_u64());
    assert_eq!(
        (trades[0]["type"].clone(), trades[0]["price"].clone()),
        (json!("buy"), json!("0.100000"))
    );
    assert_eq!(
        (trades[0]["base_vol"].clone(), trades[0]["target_vol"].clone()),
        (json!(5_000), json!(500))
    );
    assert_eq!(
        (trades[1]["type"].clone(), trades[1]["price"].clone()),
        (json!("sell"), json!("0.095000"))
    );
    assert_eq!(trades[1]["target"], "hive");
    assert_eq!(
        trades[1]["t"],
        block_time(trades[1]["block"].as_u64().unwrap() - 1) * 1000
    );
    let days = hive["days"].as_object().unwrap();
    assert_eq!(days.len(), 1);
    let day = days.values().next().unwrap();
    assert_eq!(
        (day["o"].clone(), day["c"].clone(), day["t"].clone(), day["b"].clone()),
        (
            json!("0.100000"),
            json!("0.095000"),
            json!("0.100000"),
            json!("0.095000")
        )
    );
    assert_eq!((day["v"].clone(), day["d"].clone()), (json!(595), json!(6_000)));

    let hbd = &body["markets"]["hbd"];
    assert_eq!(hbd["tick"], "0.012500", "no HBD trade: the configured tick");
    assert_eq!(hbd["sells"][0]["type"], "hbd:sell");
    assert_eq!(hbd["buys"], json!([]));
    assert_eq!(hbd["buyBook"], "");

    let stats = &body["stats"];
    assert_eq!(stats["dex_fee"], "0.00500");
    assert_eq!(stats["block"], m.net.next_block() - 1);
    let held_tokens: u64 = [hive, hbd]
        .iter()
        .flat_map(|mk| mk["sells"].as_array().unwrap())
        .map(|o| o["amount"].as_u64().unwrap())
        .sum();
    assert_eq!(stats["escrow_tokens"], held_tokens, "escrow = the resting asks");
    assert_eq!(stats["fees_total"], 30, "0.5% of 5.000 and of 1.000");
}

#[tokio::test]
async fn orderbook_sorts_best_first_and_caps_depth() {
    let (m, _, _) = traded_market();
    let (_dir, api) = m.serve(dex_spec());
    let (code, body) = get(&api, "/api/orderbook/HIVE_DLUX").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["ticker_id"], "HIVE_DLUX");
    assert!(body["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    let side = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e[0].as_str().unwrap().parse().unwrap())
            .collect()
    };
    assert_eq!(side(&body["asks"]), [0.1, 0.11, 0.12]);
    assert_eq!(body["asks"][0][1], "5.000");
    let bids = side(&body["bids"]);
    assert!(sorted(&bids, true) && bids.len() >= 2, "{bids:?}");
    assert_eq!(
        body["bids"].as_array().unwrap().last().unwrap(),
        &json!(["0.080000", "2.500"])
    );

    let (_, capped) = get(&api, "/api/orderbook?ticker_id=HIVE_DLUX&depth=2").await;
    assert_eq!(side(&capped["asks"]), [0.1, 0.11]);
    assert_eq!(side(&capped["bids"]), bids[..2]);
    let (code, _) = get(&api, "/api/orderbook/HIVE_DLUX?depth=100000").await;
    assert_eq!(code, StatusCode::OK, "a deeper book is served at the most");

    let (code, body) = get(&api, "/api/orderbook/HIVE_DLUX?depth=lots").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("depth"), "{body}");
    let (code, body) = get(&api, "/api/orderbook/DOGE_DLUX").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["ERROR"], "ticker_id must be HIVE_DLUX or HBD_DLUX");
    let (code, _) = get(&api, "/api/orderbook").await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "no ticker id");
}

#[tokio::test]
async fn tickers_come_from_the_trades_of_the_last_day() {
    let (mut m, a1, _) = traded_market();
    let trades = m.trades();
    assert_eq!(trades.len(), 2);
    let (_dir, api) = m.serve(dex_spec());
    let (code, body) = get(&api, "/api/tickers").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let hive = &body[0];
    assert_eq!(hive["ticker_id"], "HIVE_DLUX");
    assert_eq!(
        (hive["base_currency"].clone(), hive["target_currency"].clone()),
        (json!("HIVE"), json!("DLUX"))
    );
    let coin: u64 = trades.iter().map(|t| t.coin).sum();
    let tokens: u64 = trades.iter().map(|t| t.tokens).sum();
    assert_eq!((coin, tokens), (595, 6_000));
    assert_eq!(hive["base_volume"], "0.595");
    assert_eq!(hive["target_volume"], "6.000");
    assert_eq!(
        (hive["high"].clone(), hive["low"].clone()),
        (json!("0.100000"), json!("0.095000"))
    );
    assert_eq!(hive["last_price"], "0.095000");
    assert_eq!(hive["ask"], "0.100000");
    let (_, book) = get(&api, "/api/orderbook/HIVE_DLUX?depth=1").await;
    assert_eq!(hive["bid"], book["bids"][0][0]);
    let hbd = &body[1];
    assert_eq!(hbd["ticker_id"], "HBD_DLUX");
    assert_eq!(hbd["bid"], Value::Null, "no HBD bid");
    assert_eq!(
        (hbd["high"].clone(), hbd["low"].clone()),
        (json!("0.012500"), json!("0.012500"))
    );
    assert_eq!(hbd["target_volume"], "0.000");

    // A day and more later, only the new trade counts.
    m.net.idle_until(300);
    m.bid("bob", 120, 100_000);
    m.block();
    assert_eq!(m.trades().len(), 3);
    let (_dir2, api) = m.serve(dex_spec());
    let (_, body) = get(&api, "/api/tickers").await;
    let hive = &body[0];
    assert_eq!(
        (hive["base_volume"].clone(), hive["target_volume"].clone()),
        (json!("0.120"), json!("1.200"))
    );
    assert_eq!(
        (hive["high"].clone(), hive["low"].clone()),
        (json!("0.100000"), json!("0.100000"))
    );
    let (_, alice) = get(&api, "/@alice").await;
    let first = alice["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["txid"] == a1.as_str())
        .unwrap();
    assert_eq!(
        (first["amount"].clone(), first["filled_tokens"].clone()),
        (json!(3_800), json!(6_200))
    );
}

#[tokio::test]
async fn recent_and_historical_trades() {
    let (m, _, _) = traded_market();
    let (_dir, api) = m.serve(dex_spec());
    let (code, body) = get(&api, "/api/recent/HIVE_DLUX").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let list = body["recent_trades"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["type"], "buy", "oldest first");
    assert_eq!(list[0]["base_volume"], "0.500");
    assert_eq!(list[0]["target_volume"], "5.000");
    let (_, body) = get(&api, "/api/recent/HIVE_DLUX?limit=1").await;
    let list = body["recent_trades"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{body}");
    assert_eq!(
        (list[0]["type"].clone(), list[0]["price"].clone()),
        (json!("sell"), json!("0.095000"))
    );
    assert!(list[0]["trade_timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    let (code, body) = get(&api, "/api/recent/HIVE_DLUX?limit=5000").await;
    assert_eq!(
        (code, body["recent_trades"].as_array().unwrap().len()),
        (StatusCode::OK, 2)
    );
    for bad in ["?limit=0", "?limit=-3", "?limit=x"] {
        let (code, body) = get(&api, &format!("/api/recent/HIVE_DLUX{bad}")).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["error"].as_str().unwrap().contains("limit"), "{body}");
    }
    let (code, body) = get(&api, "/api/recent/HIVE_BTC").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "Ticker_ID is not supported");
    assert_eq!(get(&api, "/api/recent/HBD_DLUX").await.1["recent_trades"], json!([]));

    let (code, body) = get(&api, "/api/historical/HIVE_DLUX").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["buy"].as_array().unwrap().len(),
            body["sell"].as_array().unwrap().len()
        ),
        (1, 1)
    );
    let (_, body) = get(&api, "/api/historical?ticker_id=HIVE_DLUX&type=buy").await;
    assert_eq!(
        (
            body["buy"].as_array().unwrap().len(),
            body["sell"].as_array().unwrap().len()
        ),
        (1, 0)
    );
    let (_, body) = get(&api, "/api/historical/HIVE_DLUX?type=ask").await;
    assert_eq!(
        (
            body["buy"].as_array().unwrap().len(),
            body["sell"].as_array().unwrap().len()
        ),
        (0, 1)
    );
    let (code, body) = get(&api, "/api/historical/HIVE_DLUX?type=bid").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("type"));
    let (code, _) = get(&api, "/api/historical/NOPE").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);

    let (code, body) = get(&api, "/api/pairs").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body,
        json!([{"ticker_id": "HIVE_DLUX", "base": "HIVE", "target": "DLUX"},
               {"ticker_id": "HBD_DLUX", "base": "HBD", "target": "DLUX"}])
    );
}

#[tokio::test]
async fn accounts_list_their_open_orders() {
    let (m, a1, a2) = traded_market();
    let (_dir, api) = m.serve(dex_spec());
    let (code, body) = get(&api, "/@alice").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let contracts = body["contracts"].as_array().unwrap();
    assert_eq!(contracts.len(), 3, "two HIVE asks and one HBD ask: {contracts:?}");
    assert_eq!(body["contracts_more"], false);
    assert_eq!(body["tick"], "0.095000");
    let by_id = |id: &str| contracts.iter().find(|c| c["txid"] == id).unwrap();
    let first = by_id(&a1);
    assert_eq!(first["partials"], json!([{"coin": 500, "token": 5_000, "txid": a1}]));
    assert_eq!(first["amount"], 5_000);
    let second = by_id(&a2);
    assert_eq!(second["partials"], json!([]));
    assert_eq!(
        (second["rate"].clone(), second["hive"].clone()),
        (json!("0.120000"), json!(600))
    );
    assert!(contracts.iter().any(|c| c["type"] == "hbd:sell" && c["hbd"] == 25));
    let (_, bob) = get(&api, "/@bob").await;
    let bobs = bob["contracts"].as_array().unwrap();
    assert_eq!(bobs.len(), 1, "the 0.09 bid rests, the 0.105 one was spent: {bobs:?}");
    assert_eq!(
        (bobs[0]["type"].clone(), bobs[0]["hive"].clone()),
        (json!("hive:buy"), json!(300))
    );
    assert_eq!(get(&api, "/@nobody").await.1["contracts"], json!([]));
}

/// Without a `modules.dex` section the routes do not exist and accounts have no contracts.
#[tokio::test]
async fn a_chain_without_a_dex_has_none_of_it() {
    let (m, _, _) = traded_market();
    let (_dir, api) = m.serve(test_spec());
    for uri in [
        "/dex",
        "/api/pairs",
        "/api/tickers",
        "/api/orderbook/HIVE_DLUX",
        "/api/recent/HIVE_DLUX",
        "/api/historical/HIVE_DLUX",
    ] {
        let (code, body) = get(&api, uri).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(body["error"], "this chain runs no DEX", "{uri}");
    }
    let (code, body) = get(&api, "/@alice").await;
    assert_eq!(code, StatusCode::OK);
    assert!(body.get("contracts").is_none() && body.get("tick").is_none());
}
