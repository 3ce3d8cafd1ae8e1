//! The DEX on a chain that runs it (the spec has a `modules.dex` section), in the reference
//! node's shapes so that its wallets (the DLUX wallet reads `/dex` and `/@:account`'s
//! `contracts`) and CoinGecko-style aggregators keep working:
//!
//! - `GET /dex`: both markets (`hive`, `hbd`) with `tick`, `buyBook`/`sellBook` level
//!   strings, `sells`/`buys` as Contract objects, `his` (recent trades) and `days` (daily
//!   candles), plus `stats` (what the DEX holds, the fee and collateral parameters).
//! - `GET /api/pairs`, `GET /api/tickers`, `GET /api/orderbook[/{ticker_id}]`,
//!   `GET /api/recent/{ticker_id}`, `GET /api/historical[/{ticker_id}]`: CoinGecko style,
//!   ticker ids `HIVE_<TOKEN>` and `HBD_<TOKEN>`.
//! - `/@:account` gets `contracts` (the account's open orders) and `tick` ([`ApiState::add_dex`]).
//!
//! On a chain without a DEX every one of these routes answers 404 with a JSON `error`
//! (and `/@:account` has no `contracts`), as `/api/multisig` does without its module.
//!
//! The reference's bugs are not reproduced: bids are listed best (highest) first, tickers'
//! volumes, highs and lows come from the trades (through the module's hourly candles), an
//! empty side's `bid`/`ask` is `null` rather than `0`/`999999999`, and a bad ticker id or
//! query value is a 400 rather than a 200 with an error inside.
//!
//! Every answer is bounded whatever the state holds: at most [`ORDERS_SHOWN`] orders per
//! side in `/dex`, [`DEPTH_MAX`] per side in `/api/orderbook`, [`CONTRACTS_SHOWN`] contracts
//! on `/@:account`, [`TRADES_MAX`] trades and [`DAYS_SHOWN`] daily candles per pair (the
//! module keeps a bounded number of each anyway). `/dex`, `/api/orderbook`, `/api/recent`
//! and `/api/historical` read hundreds to a few thousand keys, so they run as heavy routes
//! (slots, per-client rate); `/api/tickers` reads about sixty keys and runs on the blocking
//! pool like the cheap routes.
//!
//! The module's views ([`opentoken_dex::views`]) run on a bounded copy of the keys each
//! answer needs ([`Part`]).

use crate::client::ClientIp;
use crate::part::Part;
use crate::reply::{blocking, fail, unavailable};
use crate::{ApiState, App};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use opentoken_core::KvSource;
use opentoken_dex::keys::{self, Candle, Order, Span, Trade};
use opentoken_dex::price::{self, format_rate};
use opentoken_dex::views::{self, Summary, Ticker};
use opentoken_dex::{DexConfig, Pair, Side};
use opentoken_store::ModuleKv;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Orders per side of each market in `/dex` (best first); `sells_more`/`buys_more` say
/// whether more rest.
pub(crate) const ORDERS_SHOWN: usize = 200;
/// Open orders in `/@:account`'s `contracts` (in order id order); `contracts_more` says
/// whether the account has more.
pub(crate) const CONTRACTS_SHOWN: usize = 100;
/// Orders per side of `/api/orderbook` when `?depth=` is absent.
pub(crate) const DEPTH_DEFAULT: usize = 50;
/// The deepest `/api/orderbook` answers (`?depth=0`, CoinGecko's "full depth", means this).
pub(crate) const DEPTH_MAX: usize = 500;
/// Trades in `/api/recent` and per side of `/api/historical` when `?limit=` is absent.
pub(crate) const LIMIT_DEFAULT: usize = 50;
/// The most trades any answer reads per pair: `/dex`'s `his`, `/api/recent`'s and
/// `/api/historical`'s largest `limit` (less when the module keeps fewer, `keep_trades`).
pub(crate) const TRADES_MAX: usize = 1000;
/// Daily candles per pair in `/dex`'s `days` (the newest; the module keeps `keep_daily`,
/// 365 by default).
pub(crate) const DAYS_SHOWN: usize = 400;
/// Up to this many trades are read one key each; more with one scan of what is kept.
const POINT_READS: usize = 64;
/// Hourly candles a ticker reads: the hour in progress and the 24 before it.
const TICKER_HOURS: u64 = 25;

/// A read of the DEX's committed state failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DexReadError {
    #[error("reading the DEX's state failed: {0}")]
    Read(String),
    #[error("the chain spec's modules.dex is invalid: {0}")]
    Config(String),
}

impl From<String> for DexReadError {
    fn from(e: String) -> Self {
        DexReadError::Read(e)
    }
}

impl ApiState {
    /// Whether the chain runs the DEX: the registry runs it exactly when the spec has its
    /// section.
    pub(crate) fn has_dex(&self) -> bool {
        self.spec.module_config(opentoken_dex::NAME).is_some()
    }

    /// The DEX's parameters; `None` on a chain without it.
    fn dex_config(&self) -> Result<Option<DexConfig>, DexReadError> {
        DexConfig::from_spec(&self.spec).map_err(|e| DexReadError::Config(e.why))
    }

    fn dex_kv(&self) -> ModuleKv<'_> {
        ModuleKv {
            store: self.store.as_ref(),
            module: opentoken_dex::NAME,
        }
    }

    /// The block the DEX's committed state is at (0 before its first commit, or when the
    /// store cannot say): a ticker's "last 24 hours" end there.
    fn dex_block(&self) -> u64 {
        self.store
            .progress(opentoken_dex::NAME)
            .ok()
            .flatten()
            .map_or(0, |p| p.block)
    }

    /// `/@:account`'s DEX fields, as the reference has them: `contracts`, the account's open
    /// orders as Contract objects (at most [`CONTRACTS_SHOWN`], in order id order, each with
    /// `partials`: one `{coin, token, txid}` entry with what the order has traded so far, or
    /// none), `contracts_more` (whether it has more) and `tick` (the HIVE market's last
    /// price, to value the balance). Absent on a chain without a DEX.
    pub(crate) fn add_dex(&self, account: &str, body: &mut Map<String, Value>) -> Result<(), DexReadError> {
        let Some(cfg) = self.dex_config()? else {
            return Ok(());
        };
        let src = self.dex_kv();
        let mut part = Part::default();
        part.load(&src, keys::PARAMS)?;
        part.load(&src, &keys::tick(Pair::Hive))?;
        let prefix = keys::account_prefix(account);
        let ids = part.scan(&src, &prefix, CONTRACTS_SHOWN + 1)?;
        let more = ids.len() > CONTRACTS_SHOWN;
        for (k, _) in ids.iter().take(CONTRACTS_SHOWN) {
            if let Some(id) = k.strip_prefix(prefix.as_slice()) {
                part.load(&src, &keys::order(&String::from_utf8_lossy(id)))?;
            }
        }
        let units = self.units(views::summary(&cfg, &part).params.fee_ppm);
        let contracts: Vec<Value> = views::account_orders(&part, account, CONTRACTS_SHOWN)
            .iter()
            .map(|o| {
                let mut c = contract(o, &units);
                let partials = if o.filled_tokens > 0 || o.filled_coin > 0 {
                    json!([{"coin": o.filled_coin, "token": o.filled_tokens, "txid": o.id}])
                } else {
                    json!([])
                };
                c.insert("partials".into(), partials);
                Value::Object(c)
            })
            .collect();
        body.insert("contracts".into(), Value::Array(contracts));
        body.insert("contracts_more".into(), json!(more));
        body.insert("tick".into(), json!(format_rate(views::tick(&cfg, &part, Pair::Hive))));
        Ok(())
    }

    fn units(&self, fee_ppm: u64) -> Units {
        Units {
            token: self.spec.token.clone(),
            precision: self.spec.precision,
            fee_ppm,
        }
    }
}

impl Part {
    /// The best `n` orders of one side (their book keys and their orders); whether more
    /// rest. An order filled between the two reads is simply missing (the views skip it).
    fn load_side(&mut self, src: &dyn KvSource, pair: Pair, side: Side, n: usize) -> Result<bool, DexReadError> {
        let entries = src
            .kv_scan(&keys::book_side(pair, side), n.saturating_add(1))
            .map_err(DexReadError::Read)?;
        let more = entries.len() > n;
        for (k, id) in entries.into_iter().take(n) {
            self.load(src, &keys::order(&String::from_utf8_lossy(&id)))?;
            self.insert(k, id);
        }
        Ok(more)
    }

    /// The newest `n` trades of a pair (fewer when fewer are kept): one key each when they
    /// are few, else one scan of what the module keeps when that is at most [`TRADES_MAX`]
    /// (the module keeps exactly the newest `keep_trades`), else one key each.
    fn load_trades(&mut self, src: &dyn KvSource, pair: Pair, n: usize, keep: u64) -> Result<(), DexReadError> {
        self.load(src, &keys::trade_seq(pair))?;
        let next = keys::num(self, &keys::trade_seq(pair));
        let n = (n as u64).min(keep).min(next);
        if n as usize > POINT_READS && keep <= TRADES_MAX as u64 {
            self.scan(src, &keys::trade_prefix(pair), keep as usize)?;
        } else {
            for seq in next - n..next {
                self.load(src, &keys::trade(pair, seq))?;
            }
        }
        Ok(())
    }

    /// The candles of the `buckets` spans ending with the one `head` is in, one key each.
    fn load_candles_back(
        &mut self,
        src: &dyn KvSource,
        pair: Pair,
        span: Span,
        width: u64,
        head: u64,
        buckets: u64,
    ) -> Result<(), DexReadError> {
        let width = width.max(1);
        let mut start = head - head % width;
        for _ in 0..buckets {
            self.load(src, &keys::candle(pair, span, start))?;
            match start.checked_sub(width) {
                Some(s) => start = s,
                None => break,
            }
        }
        Ok(())
    }

    /// The newest [`DAYS_SHOWN`] daily candles: all of them with one scan when the module
    /// keeps no more than that (it keeps exactly the newest `keep_daily`), else the days
    /// back from `head` one key each.
    fn load_days(&mut self, src: &dyn KvSource, pair: Pair, cfg: &DexConfig, head: u64) -> Result<(), DexReadError> {
        if cfg.keep_daily <= DAYS_SHOWN as u64 {
            self.scan(src, &keys::candle_prefix(pair, Span::Day), cfg.keep_daily as usize)?;
            Ok(())
        } else {
            let width = Span::Day.blocks(cfg.blocks_per_hour);
            self.load_candles_back(src, pair, Span::Day, width, head, DAYS_SHOWN as u64)
        }
    }

    /// What `views::summary` reads.
    fn load_summary(&mut self, src: &dyn KvSource) -> Result<(), DexReadError> {
        for key in [
            keys::Asset::Token.key(),
            keys::Asset::Coin(Pair::Hive).key(),
            keys::Asset::Coin(Pair::Hbd).key(),
        ] {
            self.load(src, &key)?;
        }
        for key in [keys::TOTAL_FEES, keys::COLLATERAL, keys::PARAMS, keys::SEQ] {
            self.load(src, key)?;
        }
        Ok(())
    }

    /// What `views::ticker` reads: the tick, the best order of each side and the hourly
    /// candles of the last 24 hours before `head`.
    fn load_ticker(&mut self, src: &dyn KvSource, cfg: &DexConfig, pair: Pair, head: u64) -> Result<(), DexReadError> {
        self.load(src, &keys::tick(pair))?;
        self.load_side(src, pair, Side::Ask, 1)?;
        self.load_side(src, pair, Side::Bid, 1)?;
        self.load_candles_back(src, pair, Span::Hour, cfg.blocks_per_hour, head, TICKER_HOURS)
    }
}

/// What the JSON of an order needs besides the order.
#[derive(Debug, Clone)]
pub(crate) struct Units {
    pub(crate) token: String,
    pub(crate) precision: u8,
    /// The fee in force, parts per million of the buyer's tokens.
    pub(crate) fee_ppm: u64,
}

/// HIVE and HBD have three decimals.
const COIN_PRECISION: u8 = 3;

/// `amount` base units with `precision` decimals, as the reference prints them (`"1.000"`).
pub(crate) fn format_units(amount: u64, precision: u8) -> String {
    match 10u64.checked_pow(u32::from(precision)) {
        Some(scale) if precision > 0 => format!(
            "{}.{:0width$}",
            amount / scale,
            amount % scale,
            width = usize::from(precision)
        ),
        _ => amount.to_string(),
    }
}

fn nai(amount: u64, precision: u8, token: &str) -> Value {
    json!({"amount": amount, "precision": precision, "token": token})
}

/// An order's token and coin amounts: an ask holds tokens and asks what they bring at its
/// price (rounded up, as the seller is paid), a bid holds coin and asks the tokens it buys
/// at its price.
fn amounts(o: &Order) -> (u64, u64) {
    match o.side {
        Side::Ask => (
            o.amount,
            u64::try_from(price::coin_ceil(o.amount, o.price)).unwrap_or(u64::MAX),
        ),
        Side::Bid => (price::tokens_for(o.amount, o.price), o.amount),
    }
}

/// The reference's `type`: `hive:sell`, `hbd:buy`, ...
fn order_type(o: &Order) -> String {
    let side = match o.side {
        Side::Ask => "sell",
        Side::Bid => "buy",
    };
    format!("{}:{side}", o.pair.lower())
}

/// A resting order as the reference's Contract: `txid` (the order id `dex_clear` takes),
/// `from`, `amount` (tokens still open), `hive`/`hbd` (the coin still open; the other pair's
/// is 0), `fee` (the tokens the fee in force takes from the buyer's leg of `amount`), `rate`,
/// `block` (placed in), `type`, `hive_id` (the placing Hive transaction), `expire_path`
/// (`<last block>:<order id>`: the order expires after that block), `key`
/// (`<rate>:<txid>`), the NAI helpers `hivenai`, `hbdnai`, `amountnai`, `feenai`, and this
/// node's additions `expires`, `payout` (`l2` or `hive`: where its coin goes), `placed`,
/// `filled_tokens`, `filled_coin`. Amounts are integers in base units (milli-units).
pub(crate) fn contract(o: &Order, u: &Units) -> Map<String, Value> {
    let (tokens, coin) = amounts(o);
    let (hive, hbd) = match o.pair {
        Pair::Hive => (coin, 0),
        Pair::Hbd => (0, coin),
    };
    let fee = price::fee(tokens, u.fee_ppm);
    let rate = format_rate(o.price);
    let mut m = Map::new();
    m.insert("txid".into(), json!(o.id));
    m.insert("from".into(), json!(o.from));
    m.insert("amount".into(), json!(tokens));
    m.insert("hive".into(), json!(hive));
    m.insert("hbd".into(), json!(hbd));
    m.insert("fee".into(), json!(fee));
    m.insert("key".into(), json!(format!("{rate}:{}", o.id)));
    m.insert("rate".into(), json!(rate));
    m.insert("block".into(), json!(o.block));
    m.insert("type".into(), json!(order_type(o)));
    m.insert("hive_id".into(), json!(o.txid));
    m.insert("expire_path".into(), json!(format!("{}:{}", o.expires, o.id)));
    m.insert("expires".into(), json!(o.expires));
    m.insert("payout".into(), json!(o.payout.as_str()));
    m.insert("placed".into(), json!(o.placed));
    m.insert("filled_tokens".into(), json!(o.filled_tokens));
    m.insert("filled_coin".into(), json!(o.filled_coin));
    m.insert("hivenai".into(), nai(hive, COIN_PRECISION, "HIVE"));
    m.insert("hbdnai".into(), nai(hbd, COIN_PRECISION, "HBD"));
    m.insert("amountnai".into(), nai(tokens, u.precision, &u.token));
    m.insert("feenai".into(), nai(fee, u.precision, &u.token));
    m
}

/// The reference's book string of the orders shown, best first: price levels
/// `<rate>_<id>_<id>` (oldest first within a level) joined by `,`.
pub(crate) fn book_string(orders: &[Order]) -> String {
    let mut out = String::new();
    let mut last: Option<u64> = None;
    for o in orders {
        if last == Some(o.price) {
            out.push('_');
        } else {
            if last.is_some() {
                out.push(',');
            }
            out.push_str(&format_rate(o.price));
            out.push('_');
            last = Some(o.price);
        }
        out.push_str(&o.id);
    }
    out
}

/// A trade's id: the taker order's id and the pair's trade number.
fn trade_id(t: &Trade) -> String {
    format!("{}:{}", t.taker, t.seq)
}

/// `/dex`'s `his`: the trades keyed `<block>:<trade number>:<taker order id>`, each the
/// reference's Trade (`type` `buy` when a bid took an ask, `sell` when an ask took a bid,
/// `t` in ms, `block`, `base_vol` tokens, `target_vol` coin, `target` the coin, `price` the
/// maker's rate, `id`) plus `fee`, `buyer`, `seller`, `maker`, `taker`. JSON objects are
/// not ordered: sort by `block` and `id` for time order.
pub(crate) fn his(trades: &[Trade], pair: Pair) -> Map<String, Value> {
    trades
        .iter()
        .map(|t| {
            (
                format!("{}:{}:{}", t.block, t.seq, t.taker),
                json!({
                    "type": t.kind,
                    "t": t.time.saturating_mul(1000),
                    "block": t.block,
                    "base_vol": t.tokens,
                    "target_vol": t.coin,
                    "target": pair.lower(),
                    "price": format_rate(t.price),
                    "id": trade_id(t),
                    "fee": t.fee,
                    "buyer": t.buyer,
                    "seller": t.seller,
                    "maker": t.maker,
                    "taker": t.taker,
                }),
            )
        })
        .collect()
}

/// `/dex`'s `days`: the daily candles keyed by their first block, `{o, c, t (high), b
/// (low)}` as rates, `v` the coin and `d` the tokens traded (base units), `n` the trades.
pub(crate) fn days(candles: &[Candle]) -> Map<String, Value> {
    candles
        .iter()
        .map(|c| {
            (
                c.start.to_string(),
                json!({
                    "o": format_rate(c.open),
                    "c": format_rate(c.close),
                    "t": format_rate(c.high),
                    "b": format_rate(c.low),
                    "v": c.coin,
                    "d": c.tokens,
                    "n": c.trades,
                }),
            )
        })
        .collect()
}

/// An order with the reference's `/dex` helpers: the Contract.
fn dex_order(o: &Order, u: &Units) -> Value {
    Value::Object(contract(o, u))
}

/// `/dex`'s `stats`: [`Summary`] (what the DEX holds in escrow per asset, every fee taken,
/// the collateral, the parameters in force, the fee account, orders ever placed) with the
/// reference's names for the same parameters: `dex_fee` (a fraction, 5 decimals), `dex_max`
/// and `dex_slope` (percent strings) and `multiSigCollateral` (the governance stake behind
/// the multi-sig account, `null` when unknown and bids are not capped), and `block`.
pub(crate) fn stats(s: &Summary, block: u64) -> Value {
    let mut v = serde_json::to_value(s).unwrap_or_else(|_| json!({}));
    if let Value::Object(m) = &mut v {
        let p = s.params;
        m.insert(
            "dex_fee".into(),
            json!(format!("{}.{:05}", p.fee_ppm / 1_000_000, (p.fee_ppm % 1_000_000) / 10)),
        );
        m.insert("dex_max".into(), json!(format_units(p.dex_max_bp, 2)));
        m.insert("dex_slope".into(), json!(format_units(p.dex_slope_bp, 2)));
        m.insert("multiSigCollateral".into(), json!(s.collateral));
        m.insert("block".into(), json!(block));
    }
    v
}

fn dex_body(api: &ApiState, cfg: &DexConfig) -> Result<Map<String, Value>, DexReadError> {
    // The block first: a commit landing during the reads makes them newer, never older.
    let block = api.dex_block();
    let src = api.dex_kv();
    let mut part = Part::default();
    part.load_summary(&src)?;
    let summary = views::summary(cfg, &part);
    let units = api.units(summary.params.fee_ppm);
    let mut markets = Map::new();
    for pair in Pair::ALL {
        part.load(&src, &keys::tick(pair))?;
        let sells_more = part.load_side(&src, pair, Side::Ask, ORDERS_SHOWN)?;
        let buys_more = part.load_side(&src, pair, Side::Bid, ORDERS_SHOWN)?;
        part.load_trades(&src, pair, TRADES_MAX, cfg.keep_trades)?;
        part.load_days(&src, pair, cfg, block)?;
        let sells = views::book(&part, pair, Side::Ask, ORDERS_SHOWN);
        let buys = views::book(&part, pair, Side::Bid, ORDERS_SHOWN);
        let trades = views::trades(&part, pair, TRADES_MAX);
        let candles = views::candles(&part, pair, Span::Day, DAYS_SHOWN);
        markets.insert(
            pair.lower().into(),
            json!({
                "tick": format_rate(views::tick(cfg, &part, pair)),
                "sellBook": book_string(&sells),
                "buyBook": book_string(&buys),
                "sells": sells.iter().map(|o| dex_order(o, &units)).collect::<Vec<_>>(),
                "buys": buys.iter().map(|o| dex_order(o, &units)).collect::<Vec<_>>(),
                "sells_more": sells_more,
                "buys_more": buys_more,
                "his": his(&trades, pair),
                "days": days(&candles),
            }),
        );
    }
    let mut body = Map::new();
    body.insert("markets".into(), Value::Object(markets));
    body.insert("stats".into(), stats(&summary, block));
    Ok(body)
}

/// 404 on a chain without a DEX.
fn no_dex() -> Response {
    fail(StatusCode::NOT_FOUND, "this chain runs no DEX")
}

/// The answer a route gives instead of its own (a refusal), boxed: a `Response` is large.
type Answer = Box<Response>;

/// The DEX's parameters, or the answer to give instead (404 without a DEX).
fn config_or_answer(api: &ApiState) -> Result<DexConfig, Answer> {
    match api.dex_config() {
        Ok(Some(cfg)) => Ok(cfg),
        Ok(None) => Err(Box::new(no_dex())),
        Err(e) => Err(Box::new(fail(StatusCode::INTERNAL_SERVER_ERROR, e))),
    }
}

/// `GET /dex`: `{markets: {hive: M, hbd: M}, stats, node, behind, VERSION}` where each
/// market M is `{tick, sellBook, buyBook, sells, buys, sells_more, buys_more, his, days}`:
/// `tick` the last trade's rate (6-decimal string; the configured one before any trade),
/// `sells` ascending and `buys` descending by rate (then oldest first), at most
/// [`ORDERS_SHOWN`] each, as Contract objects ([`contract`]); `sellBook`/`buyBook` the
/// reference's level strings of those orders ([`book_string`]); `his` the newest kept
/// trades, at most [`TRADES_MAX`] ([`his`]); `days` the newest daily candles, at most
/// [`DAYS_SHOWN`] ([`days`]). `stats`: see [`stats`]. Unlike the reference there is no
/// synthetic ICO ask. 404 on a chain without a DEX.
pub(crate) async fn dex(State(app): State<Arc<App>>, client: ClientIp) -> Response {
    let cfg = match config_or_answer(&app.api) {
        Ok(cfg) => cfg,
        Err(answer) => return *answer,
    };
    let work = app.clone();
    app.heavy
        .run(&app.heavy.dex, client, move || {
            let s = &work.api;
            match dex_body(s, &cfg) {
                Ok(body) => s.envelope(body).into_response(),
                Err(e) => unavailable("reading the DEX", e),
            }
        })
        .await
}

/// A market's CoinGecko ticker id: `HIVE_<TOKEN>`, `HBD_<TOKEN>`.
pub(crate) fn ticker_id(pair: Pair, token: &str) -> String {
    format!("{}_{token}", pair.symbol())
}

fn pair_of(ticker: &str, token: &str) -> Option<Pair> {
    Pair::ALL.into_iter().find(|p| ticker_id(*p, token) == ticker)
}

/// `GET /api/pairs`: `[{ticker_id, base, target}]`, one per market (`base` the coin,
/// `target` the token), a bare array as the reference has it. 404 on a chain without a DEX.
pub(crate) async fn pairs(State(app): State<Arc<App>>) -> Response {
    if !app.api.has_dex() {
        return no_dex();
    }
    let token = &app.api.spec.token;
    let list: Vec<Value> = Pair::ALL
        .into_iter()
        .map(|p| json!({"ticker_id": ticker_id(p, token), "base": p.symbol(), "target": token}))
        .collect();
    Json(Value::Array(list)).into_response()
}

/// One CoinGecko ticker from the module's [`Ticker`]: `last_price` the tick, `base_volume`
/// the coin and `target_volume` the tokens traded in the 24 hours (of blocks) before the
/// committed block, `high`/`low` the extreme trade prices in them (the tick when nothing
/// traded), `bid`/`ask` the best resting prices (`null` when a side is empty); rates as
/// 6-decimal strings, volumes as decimal strings.
pub(crate) fn ticker_json(t: &Ticker, token: &str, precision: u8) -> Value {
    json!({
        "ticker_id": ticker_id(t.pair, token),
        "base_currency": t.pair.symbol(),
        "target_currency": token,
        "last_price": format_rate(t.last),
        "base_volume": format_units(t.coin_24h, COIN_PRECISION),
        "target_volume": format_units(t.tokens_24h, precision),
        "bid": t.bid.map(format_rate),
        "ask": t.ask.map(format_rate),
        "high": format_rate(t.high_24h.unwrap_or(t.last)),
        "low": format_rate(t.low_24h.unwrap_or(t.last)),
    })
}

/// `GET /api/tickers`: a bare array of one ticker per market ([`ticker_json`]). About
/// sixty keys: runs on the blocking pool without a heavy slot. 404 on a chain without a DEX.
pub(crate) async fn tickers(State(app): State<Arc<App>>) -> Response {
    let cfg = match config_or_answer(&app.api) {
        Ok(cfg) => cfg,
        Err(answer) => return *answer,
    };
    blocking(move || {
        let s = &app.api;
        let head = s.dex_block();
        let src = s.dex_kv();
        let mut part = Part::default();
        let mut list = Vec::new();
        for pair in Pair::ALL {
            if let Err(e) = part.load_ticker(&src, &cfg, pair, head) {
                return unavailable("reading the DEX's tickers", e);
            }
            list.push(ticker_json(
                &views::ticker(&cfg, &part, pair, head),
                &s.spec.token,
                s.spec.precision,
            ));
        }
        Json(Value::Array(list)).into_response()
    })
    .await
}

/// Query parameters in the order given (the first of a repeated one counts).
type QueryList = Vec<(String, String)>;
type QueryPairs = Result<Query<QueryList>, QueryRejection>;

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A count parameter: `default` when absent, at most `max` (a larger one is served as
/// `max`); `0` means `max` when `zero_is_max`, else it is refused.
pub(crate) fn count_param(
    name: &str,
    value: Option<&str>,
    default: usize,
    max: usize,
    zero_is_max: bool,
) -> Result<usize, String> {
    let Some(v) = value else {
        return Ok(default.min(max));
    };
    let shown: String = v.chars().take(24).collect();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{name}` must be a whole number, got {shown:?}"));
    }
    // All digits: only too many of them fail to parse, which is a large number.
    let n = v.parse::<u64>().unwrap_or(u64::MAX);
    match n {
        0 if zero_is_max => Ok(max),
        0 => Err(format!("`{name}` must be at least 1")),
        n => Ok(usize::try_from(n).unwrap_or(usize::MAX).min(max)),
    }
}

/// The reference's answer to a ticker id it does not serve, as a 400.
fn unknown_ticker(api: &ApiState, field: &str, message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({field: message, "node": api.node, "VERSION": api.version})),
    )
        .into_response()
}

fn bad_query(why: impl std::fmt::Display) -> Response {
    fail(StatusCode::BAD_REQUEST, why)
}

fn query_or_answer(query: QueryPairs) -> Result<QueryList, Answer> {
    query
        .map(|Query(q)| q)
        .map_err(|e| Box::new(bad_query(format!("the query does not parse: {e}"))))
}

/// `GET /api/orderbook?ticker_id=&depth=`: see [`orderbook_of`].
pub(crate) async fn orderbook(State(app): State<Arc<App>>, client: ClientIp, query: QueryPairs) -> Response {
    orderbook_for(app, client, None, query).await
}

/// `GET /api/orderbook/{ticker_id}?depth=`: `{asks: [[rate, tokens]], bids: [[rate,
/// tokens]], timestamp (ms, now), ticker_id, node, behind, VERSION}`, one entry per resting
/// order (tokens as a decimal string: what an ask offers, what a bid's coin buys at its
/// rate), asks ascending and bids descending by rate, then oldest first; at most `depth`
/// per side (default [`DEPTH_DEFAULT`]; `0` or more than [`DEPTH_MAX`] serve
/// [`DEPTH_MAX`]). An unknown or missing ticker id is 400 `{ERROR: "ticker_id must be ..."}`;
/// a `depth` that is not a whole number is 400 `{error}`. 404 on a chain without a DEX.
pub(crate) async fn orderbook_of(
    State(app): State<Arc<App>>,
    client: ClientIp,
    Path(ticker): Path<String>,
    query: QueryPairs,
) -> Response {
    orderbook_for(app, client, Some(ticker), query).await
}

async fn orderbook_for(app: Arc<App>, client: ClientIp, ticker: Option<String>, query: QueryPairs) -> Response {
    if !app.api.has_dex() {
        return no_dex();
    }
    let query = match query_or_answer(query) {
        Ok(q) => q,
        Err(answer) => return *answer,
    };
    let token = app.api.spec.token.clone();
    let ticker = ticker.or_else(|| param(&query, "ticker_id").map(str::to_string));
    let Some(pair) = ticker.as_deref().and_then(|t| pair_of(t, &token)) else {
        return unknown_ticker(
            &app.api,
            "ERROR",
            format!(
                "ticker_id must be {} or {}",
                ticker_id(Pair::Hive, &token),
                ticker_id(Pair::Hbd, &token)
            ),
        );
    };
    let depth = match count_param("depth", param(&query, "depth"), DEPTH_DEFAULT, DEPTH_MAX, true) {
        Ok(d) => d,
        Err(why) => return bad_query(why),
    };
    let work = app.clone();
    app.heavy
        .run(&app.heavy.dex_book, client, move || {
            let s = &work.api;
            let src = s.dex_kv();
            let mut part = Part::default();
            for side in [Side::Ask, Side::Bid] {
                if let Err(e) = part.load_side(&src, pair, side, depth) {
                    return unavailable("reading the DEX's order book", e);
                }
            }
            let entries = |side: Side| -> Vec<Value> {
                views::book(&part, pair, side, depth)
                    .iter()
                    .map(|o| json!([format_rate(o.price), format_units(amounts(o).0, s.spec.precision)]))
                    .collect()
            };
            let mut body = Map::new();
            body.insert("asks".into(), Value::Array(entries(Side::Ask)));
            body.insert("bids".into(), Value::Array(entries(Side::Bid)));
            body.insert("timestamp".into(), json!(now_ms()));
            body.insert("ticker_id".into(), json!(ticker_id(pair, &s.spec.token)));
            s.envelope(body).into_response()
        })
        .await
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A trade as `/api/recent` and `/api/historical` list it: `{trade_id, price,
/// base_volume (coin), target_volume (tokens), trade_timestamp (ms), type}`. The volumes
/// follow the pair's CoinGecko base (the coin) and target (the token), as `/api/tickers`'
/// do.
pub(crate) fn trade_record(t: &Trade, precision: u8) -> Value {
    json!({
        "trade_id": trade_id(t),
        "price": format_rate(t.price),
        "base_volume": format_units(t.coin, COIN_PRECISION),
        "target_volume": format_units(t.tokens, precision),
        "trade_timestamp": t.time.saturating_mul(1000),
        "type": t.kind,
    })
}

/// The most trades `/api/recent` and `/api/historical` serve: what the module keeps, at
/// most [`TRADES_MAX`].
fn trades_max(cfg: &DexConfig) -> usize {
    usize::try_from(cfg.keep_trades).unwrap_or(usize::MAX).min(TRADES_MAX)
}

/// Checks what the trade routes share: the DEX, the query, the ticker id (400 `{error:
/// "Ticker_ID is not supported"}` as the reference words it).
fn trade_route(api: &ApiState, ticker: Option<&str>, query: QueryPairs) -> Result<TradeRoute, Answer> {
    let cfg = config_or_answer(api)?;
    let query = query_or_answer(query)?;
    let ticker = ticker.or_else(|| param(&query, "ticker_id"));
    match ticker.and_then(|t| pair_of(t, &api.spec.token)) {
        Some(pair) => Ok(TradeRoute { cfg, pair, query }),
        None => Err(Box::new(unknown_ticker(
            api,
            "error",
            "Ticker_ID is not supported".into(),
        ))),
    }
}

/// A trade route's checked request.
struct TradeRoute {
    cfg: DexConfig,
    pair: Pair,
    query: QueryList,
}

/// `GET /api/recent/{ticker_id}?limit=`: `{recent_trades: [trade], node, behind, VERSION}`,
/// the newest `limit` trades oldest first ([`trade_record`]; default [`LIMIT_DEFAULT`],
/// at most what the module keeps and [`TRADES_MAX`]; `0` or not a whole number: 400).
/// Unknown ticker id: 400 `{error: "Ticker_ID is not supported"}`. 404 on a chain without a
/// DEX.
pub(crate) async fn recent(
    State(app): State<Arc<App>>,
    client: ClientIp,
    Path(ticker): Path<String>,
    query: QueryPairs,
) -> Response {
    let TradeRoute { cfg, pair, query } = match trade_route(&app.api, Some(&ticker), query) {
        Ok(checked) => checked,
        Err(answer) => return *answer,
    };
    let limit = match count_param("limit", param(&query, "limit"), LIMIT_DEFAULT, trades_max(&cfg), false) {
        Ok(l) => l,
        Err(why) => return bad_query(why),
    };
    let work = app.clone();
    app.heavy
        .run(&app.heavy.dex_trades, client, move || {
            let s = &work.api;
            let mut part = Part::default();
            if let Err(e) = part.load_trades(&s.dex_kv(), pair, limit, cfg.keep_trades) {
                return unavailable("reading the DEX's trades", e);
            }
            let list: Vec<Value> = views::trades(&part, pair, limit)
                .iter()
                .map(|t| trade_record(t, s.spec.precision))
                .collect();
            let mut body = Map::new();
            body.insert("recent_trades".into(), Value::Array(list));
            s.envelope(body).into_response()
        })
        .await
}

/// Which trades `/api/historical` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kinds {
    Both,
    Buys,
    Sells,
}

/// `?type=`: absent both, `buy` the buys, `sell` (or the reference's `ask`) the sells.
pub(crate) fn kinds_param(value: Option<&str>) -> Result<Kinds, String> {
    match value {
        None => Ok(Kinds::Both),
        Some("buy") => Ok(Kinds::Buys),
        Some("sell" | "ask") => Ok(Kinds::Sells),
        Some(other) => Err(format!(
            "`type` must be buy, sell or ask, got {:?}",
            other.chars().take(24).collect::<String>()
        )),
    }
}

/// The newest `limit` trades of each kind asked for, oldest first: `(sells, buys)`.
pub(crate) fn split_trades(trades: &[Trade], kinds: Kinds, limit: usize) -> (Vec<&Trade>, Vec<&Trade>) {
    let newest = |kind: &str, wanted: bool| -> Vec<&Trade> {
        if !wanted {
            return Vec::new();
        }
        let mut v: Vec<&Trade> = trades.iter().rev().filter(|t| t.kind == kind).take(limit).collect();
        v.reverse();
        v
    };
    (
        newest("sell", kinds != Kinds::Buys),
        newest("buy", kinds != Kinds::Sells),
    )
}

/// `GET /api/historical?ticker_id=&type=&limit=`: see [`historical_of`].
pub(crate) async fn historical(State(app): State<Arc<App>>, client: ClientIp, query: QueryPairs) -> Response {
    historical_for(app, client, None, query).await
}

/// `GET /api/historical/{ticker_id}?type=&limit=`: `{sell: [trade], buy: [trade], node,
/// behind, VERSION}`, per kind the newest `limit` of the kept trades (at most
/// [`TRADES_MAX`]) oldest first ([`trade_record`]); `type=buy` fills only `buy`,
/// `type=sell` (or `ask`) only `sell`; `limit` as `/api/recent`'s, per kind. Unknown ticker
/// id: 400 `{error: "Ticker_ID is not supported"}`; another `type` or a bad `limit`: 400
/// `{error}`. 404 on a chain without a DEX.
pub(crate) async fn historical_of(
    State(app): State<Arc<App>>,
    client: ClientIp,
    Path(ticker): Path<String>,
    query: QueryPairs,
) -> Response {
    historical_for(app, client, Some(ticker), query).await
}

async fn historical_for(app: Arc<App>, client: ClientIp, ticker: Option<String>, query: QueryPairs) -> Response {
    let TradeRoute { cfg, pair, query } = match trade_route(&app.api, ticker.as_deref(), query) {
        Ok(checked) => checked,
        Err(answer) => return *answer,
    };
    let kinds = match kinds_param(param(&query, "type")) {
        Ok(k) => k,
        Err(why) => return bad_query(why),
    };
    let max = trades_max(&cfg);
    let limit = match count_param("limit", param(&query, "limit"), LIMIT_DEFAULT, max, false) {
        Ok(l) => l,
        Err(why) => return bad_query(why),
    };
    let work = app.clone();
    app.heavy
        .run(&app.heavy.dex_trades, client, move || {
            let s = &work.api;
            let mut part = Part::default();
            if let Err(e) = part.load_trades(&s.dex_kv(), pair, max, cfg.keep_trades) {
                return unavailable("reading the DEX's trades", e);
            }
            let trades = views::trades(&part, pair, max);
            let (sells, buys) = split_trades(&trades, kinds, limit);
            let records =
                |list: Vec<&Trade>| Value::Array(list.into_iter().map(|t| trade_record(t, s.spec.precision)).collect());
            let mut body = Map::new();
            body.insert("sell".into(), records(sells));
            body.insert("buy".into(), records(buys));
            s.envelope(body).into_response()
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::StateRead;
    use opentoken_dex::Payout;

    fn order(id: &str, pair: Pair, side: Side, price: u64, amount: u64, seq: u64) -> Order {
        Order {
            id: id.into(),
            from: "alice".into(),
            pair,
            side,
            price,
            amount,
            placed: amount,
            filled_tokens: 0,
            filled_coin: 0,
            expires: 5000,
            payout: Payout::L2,
            txid: "ab".repeat(20),
            block: 7,
            time: 21,
            seq,
        }
    }

    fn units() -> Units {
        Units {
            token: "DLUX".into(),
            precision: 3,
            fee_ppm: 5000,
        }
    }

    /// An ask offers its tokens and asks what they bring at its rate (rounded up, as it is
    /// paid); a bid holds coin and wants what it buys; the fee is the buyer's share of the
    /// tokens; the reference's names, key and NAI helpers are all there.
    #[test]
    fn contracts_carry_the_reference_fields() {
        let ask = contract(&order("DLUXa", Pair::Hive, Side::Ask, 123_457, 1_000, 1), &units());
        assert_eq!(ask["type"], "hive:sell");
        assert_eq!(ask["amount"], 1_000);
        assert_eq!(ask["hive"], 124, "1.000 × 0.123457 = 0.123457, rounded up");
        assert_eq!(ask["hbd"], 0);
        assert_eq!(ask["fee"], 5);
        assert_eq!(ask["rate"], "0.123457");
        assert_eq!(ask["key"], "0.123457:DLUXa");
        assert_eq!(ask["txid"], "DLUXa");
        assert_eq!(ask["hive_id"], "ab".repeat(20));
        assert_eq!(ask["block"], 7);
        assert_eq!(ask["expire_path"], "5000:DLUXa");
        assert_eq!(ask["hivenai"], json!({"amount": 124, "precision": 3, "token": "HIVE"}));
        assert_eq!(
            ask["amountnai"],
            json!({"amount": 1000, "precision": 3, "token": "DLUX"})
        );
        assert_eq!(ask["feenai"], json!({"amount": 5, "precision": 3, "token": "DLUX"}));

        let bid = contract(&order("DLUXb", Pair::Hbd, Side::Bid, 12_500, 100, 2), &units());
        assert_eq!(bid["type"], "hbd:buy");
        assert_eq!(bid["hbd"], 100);
        assert_eq!(bid["hive"], 0);
        assert_eq!(bid["amount"], 8_000, "0.100 HBD at 0.0125 buys 8.000");
        assert_eq!(bid["fee"], 40);
        assert_eq!(bid["hbdnai"], json!({"amount": 100, "precision": 3, "token": "HBD"}));
    }

    #[test]
    fn book_strings_group_levels_best_first() {
        let o = |id: &str, p: u64| order(id, Pair::Hive, Side::Bid, p, 10, 0);
        let book = [o("B", 200_000), o("A", 100_000), o("C", 100_000), o("D", 50_000)];
        assert_eq!(book_string(&book), "0.200000_B,0.100000_A_C,0.050000_D");
        assert_eq!(book_string(&[]), "");
    }

    #[test]
    fn units_print_like_the_reference() {
        assert_eq!(format_units(1_000, 3), "1.000");
        assert_eq!(format_units(5, 3), "0.005");
        assert_eq!(format_units(12_345, 2), "123.45");
        assert_eq!(format_units(7, 0), "7");
        assert_eq!(format_units(u64::MAX, 200), u64::MAX.to_string());
    }

    #[test]
    fn counts_default_cap_and_refuse_non_numbers() {
        assert_eq!(count_param("depth", None, 50, 500, true), Ok(50));
        assert_eq!(count_param("depth", Some("7"), 50, 500, true), Ok(7));
        assert_eq!(count_param("depth", Some("100000"), 50, 500, true), Ok(500));
        assert_eq!(
            count_param("depth", Some("99999999999999999999999"), 50, 500, true),
            Ok(500)
        );
        assert_eq!(count_param("depth", Some("0"), 50, 500, true), Ok(500));
        assert!(count_param("limit", Some("0"), 50, 500, false).is_err());
        for bad in ["", "-1", "1.5", "abc", " 3", "0x10"] {
            let why = count_param("limit", Some(bad), 50, 500, false).unwrap_err();
            assert!(why.contains("`limit`"), "{bad:?}: {why}");
        }
        assert_eq!(count_param("limit", None, 50, 10, false), Ok(10), "default above max");
    }

    fn trade(seq: u64, kind: &str) -> Trade {
        Trade {
            seq,
            block: 100 + seq,
            time: 1_000 + seq,
            price: 100_000 + seq,
            tokens: 1_000,
            coin: 100,
            fee: 5,
            buyer: "bob".into(),
            seller: "alice".into(),
            kind: kind.into(),
            maker: format!("M{seq}"),
            taker: format!("T{seq}"),
        }
    }

    #[test]
    fn historical_takes_the_newest_of_each_kind() {
        let trades: Vec<Trade> = [(0, "buy"), (1, "sell"), (2, "buy"), (3, "buy"), (4, "sell")]
            .into_iter()
            .map(|(s, k)| trade(s, k))
            .collect();
        let seqs = |v: Vec<&Trade>| v.iter().map(|t| t.seq).collect::<Vec<_>>();
        let (sells, buys) = split_trades(&trades, Kinds::Both, 2);
        assert_eq!((seqs(sells), seqs(buys)), (vec![1, 4], vec![2, 3]));
        let (sells, buys) = split_trades(&trades, Kinds::Buys, 5);
        assert_eq!((seqs(sells), seqs(buys)), (vec![], vec![0, 2, 3]));
        let (sells, buys) = split_trades(&trades, Kinds::Sells, 1);
        assert_eq!((seqs(sells), seqs(buys)), (vec![4], vec![]));
        assert_eq!(kinds_param(Some("ask")), Ok(Kinds::Sells));
        assert_eq!(kinds_param(None), Ok(Kinds::Both));
        assert!(kinds_param(Some("bid")).is_err());
    }

    #[test]
    fn trades_and_candles_in_the_reference_shapes() {
        let t = trade(3, "sell");
        let h = his(std::slice::from_ref(&t), Pair::Hbd);
        let e = &h["103:3:T3"];
        assert_eq!(e["type"], "sell");
        assert_eq!(e["t"], 1_003_000);
        assert_eq!(e["base_vol"], 1_000);
        assert_eq!(e["target_vol"], 100);
        assert_eq!(e["target"], "hbd");
        assert_eq!(e["price"], "0.100003");
        assert_eq!(e["id"], "T3:3");
        let r = trade_record(&t, 3);
        assert_eq!(r["base_volume"], "0.100");
        assert_eq!(r["target_volume"], "1.000");
        assert_eq!(r["trade_timestamp"], 1_003_000);
        let c = Candle {
            start: 28_800,
            open: 100_000,
            high: 150_000,
            low: 90_000,
            close: 120_000,
            coin: 500,
            tokens: 4_000,
            trades: 3,
        };
        let d = days(&[c]);
        assert_eq!(
            d["28800"],
            json!({"o": "0.100000", "c": "0.120000", "t": "0.150000", "b": "0.090000", "v": 500, "d": 4000, "n": 3})
        );
    }

    #[test]
    fn stats_name_the_parameters_as_the_reference() {
        let s = Summary {
            escrow_tokens: 1,
            escrow_hive: 2,
            escrow_hbd: 3,
            fees_total: 4,
            collateral: Some(9),
            params: opentoken_dex::protocol::Params {
                fee_ppm: 5000,
                dex_max_bp: 10_000,
                dex_slope_bp: 250,
            },
            fee_account: "rn".into(),
            orders_placed: 6,
        };
        let v = stats(&s, 77);
        assert_eq!(v["dex_fee"], "0.00500");
        assert_eq!(v["dex_max"], "100.00");
        assert_eq!(v["dex_slope"], "2.50");
        assert_eq!(v["multiSigCollateral"], 9);
        assert_eq!(v["escrow_hive"], 2);
        assert_eq!(v["block"], 77);
    }

    #[test]
    fn tickers_without_trades_or_orders() {
        let t = Ticker {
            pair: Pair::Hive,
            last: 100_000,
            bid: None,
            ask: Some(110_000),
            tokens_24h: 0,
            coin_24h: 0,
            high_24h: None,
            low_24h: None,
            trades_24h: 0,
        };
        let v = ticker_json(&t, "DLUX", 3);
        assert_eq!(v["ticker_id"], "HIVE_DLUX");
        assert_eq!(v["bid"], Value::Null);
        assert_eq!(v["ask"], "0.110000");
        assert_eq!(
            (v["high"].clone(), v["low"].clone()),
            (json!("0.100000"), json!("0.100000"))
        );
        assert_eq!(v["base_volume"], "0.000");
        assert_eq!(pair_of("HBD_DLUX", "DLUX"), Some(Pair::Hbd));
        assert_eq!(pair_of("hbd_dlux", "DLUX"), None);
    }

    /// Copies of the store's keys answer the module's views as the state itself would.
    #[test]
    fn a_part_reads_like_the_state() {
        let mut state = opentoken_core::ModuleState::new();
        use opentoken_core::StateWrite;
        state.put(b"book/HIVE/ask/x".to_vec(), b"1".to_vec());
        state.put(b"book/HIVE/ask/y".to_vec(), b"2".to_vec());
        state.put(b"book/HIVE/bid/z".to_vec(), b"3".to_vec());
        let mut part = Part::default();
        let got = part.scan(&state, b"book/HIVE/ask/", 10).unwrap();
        assert_eq!(got.len(), 2);
        part.load(&state, b"missing").unwrap();
        assert_eq!(part.scan_prefix(b"book/HIVE/").count(), 2);
        assert_eq!(part.get(b"book/HIVE/ask/y"), Some(&b"2"[..]));
        assert_eq!(part.get(b"missing"), None);
    }
}
