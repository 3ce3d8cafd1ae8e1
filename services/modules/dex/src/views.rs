//! Typed reads of the DEX's state for the API and tests. Every list is bounded by its
//! caller's limit or by what the state keeps.

use crate::config::DexConfig;
use crate::keys::{self, num, Asset, Candle, Order, Span, Trade};
use crate::protocol::{Pair, Params, Side};
use opentoken_core::StateRead;
use serde::Serialize;

fn decode<T: serde::de::DeserializeOwned>(v: &[u8]) -> Option<T> {
    serde_json::from_slice(v).ok()
}

/// A resting order by id.
pub fn order(state: &dyn StateRead, id: &str) -> Option<Order> {
    state.get(&keys::order(id)).and_then(decode)
}

/// An account's resting orders (at most `limit`), in id order.
pub fn account_orders(state: &dyn StateRead, account: &str, limit: usize) -> Vec<Order> {
    let prefix = keys::account_prefix(account);
    state
        .scan_prefix(&prefix)
        .take(limit)
        .filter_map(|(k, _)| {
            let id = std::str::from_utf8(k.get(prefix.len()..)?).ok()?;
            order(state, id)
        })
        .collect()
}

/// One side of a book, best first (price, then time), at most `depth` orders.
pub fn book(state: &dyn StateRead, pair: Pair, side: Side, depth: usize) -> Vec<Order> {
    state
        .scan_prefix(&keys::book_side(pair, side))
        .take(depth)
        .filter_map(|(_, id)| order(state, std::str::from_utf8(id).ok()?))
        .collect()
}

/// A price level: the price and what rests there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Level {
    pub price: u64,
    /// Milli-tokens offered (asks) or wanted at that price (bids: the coin's worth).
    pub tokens: u64,
    pub orders: u64,
}

/// One side aggregated by price, best first, at most `levels` levels (reading at most
/// `levels × 64` orders).
pub fn depth(state: &dyn StateRead, pair: Pair, side: Side, levels: usize) -> Vec<Level> {
    let mut out: Vec<Level> = Vec::new();
    for o in book(state, pair, side, levels.saturating_mul(64)) {
        let tokens = match side {
            Side::Ask => o.amount,
            Side::Bid => crate::price::tokens_for(o.amount, o.price),
        };
        match out.last_mut() {
            Some(l) if l.price == o.price => {
                l.tokens = l.tokens.saturating_add(tokens);
                l.orders += 1;
            }
            _ => {
                if out.len() == levels {
                    break;
                }
                out.push(Level {
                    price: o.price,
                    tokens,
                    orders: 1,
                });
            }
        }
    }
    out
}

/// The best price of a side.
pub fn best(state: &dyn StateRead, pair: Pair, side: Side) -> Option<u64> {
    book(state, pair, side, 1).first().map(|o| o.price)
}

/// The last trade price (the configured tick before any).
pub fn tick(cfg: &DexConfig, state: &dyn StateRead, pair: Pair) -> u64 {
    match num(state, &keys::tick(pair)) {
        0 => cfg.tick.of(pair),
        t => t,
    }
}

/// The parameters in force: the runners' voted ones, else the configured ones.
pub fn params(cfg: &DexConfig, state: &dyn StateRead) -> Params {
    state.get(keys::PARAMS).and_then(decode).unwrap_or(Params {
        fee_ppm: cfg.fee_ppm,
        dex_max_bp: cfg.dex_max_bp,
        dex_slope_bp: cfg.dex_slope_bp,
    })
}

/// The newest `limit` trades of a pair, oldest first.
pub fn trades(state: &dyn StateRead, pair: Pair, limit: usize) -> Vec<Trade> {
    let next = num(state, &keys::trade_seq(pair));
    let from = next.saturating_sub(limit as u64);
    (from..next)
        .filter_map(|s| state.get(&keys::trade(pair, s)).and_then(decode))
        .collect()
}

/// The newest `limit` candles of a span, oldest first.
pub fn candles(state: &dyn StateRead, pair: Pair, span: Span, limit: usize) -> Vec<Candle> {
    let all: Vec<Candle> = state
        .scan_prefix(&keys::candle_prefix(pair, span))
        .filter_map(|(_, v)| decode(v))
        .collect();
    let skip = all.len().saturating_sub(limit);
    all.into_iter().skip(skip).collect()
}

/// A CoinGecko-style ticker, from the hourly candles of the last 24 hours before `head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticker {
    pub pair: Pair,
    pub last: u64,
    pub bid: Option<u64>,
    pub ask: Option<u64>,
    /// Over the last 24 h: tokens and coin traded, highest and lowest price.
    pub tokens_24h: u64,
    pub coin_24h: u64,
    pub high_24h: Option<u64>,
    pub low_24h: Option<u64>,
    pub trades_24h: u64,
}

pub fn ticker(cfg: &DexConfig, state: &dyn StateRead, pair: Pair, head: u64) -> Ticker {
    let day = Span::Day.blocks(cfg.blocks_per_hour);
    let since = head.saturating_sub(day);
    let recent: Vec<Candle> = candles(state, pair, Span::Hour, 25)
        .into_iter()
        .filter(|c| c.start + cfg.blocks_per_hour > since)
        .collect();
    Ticker {
        pair,
        last: tick(cfg, state, pair),
        bid: best(state, pair, Side::Bid),
        ask: best(state, pair, Side::Ask),
        tokens_24h: recent.iter().map(|c| c.tokens).sum(),
        coin_24h: recent.iter().map(|c| c.coin).sum(),
        high_24h: recent.iter().map(|c| c.high).max(),
        low_24h: recent.iter().map(|c| c.low).min(),
        trades_24h: recent.iter().map(|c| c.trades).sum(),
    }
}

/// What the DEX holds and the parameters in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub escrow_tokens: u64,
    pub escrow_hive: u64,
    pub escrow_hbd: u64,
    pub fees_total: u64,
    pub collateral: Option<u64>,
    pub params: Params,
    pub fee_account: String,
    pub orders_placed: u64,
}

pub fn summary(cfg: &DexConfig, state: &dyn StateRead) -> Summary {
    Summary {
        escrow_tokens: num(state, &Asset::Token.key()),
        escrow_hive: num(state, &Asset::Coin(Pair::Hive).key()),
        escrow_hbd: num(state, &Asset::Coin(Pair::Hbd).key()),
        fees_total: num(state, keys::TOTAL_FEES),
        collateral: state.get(keys::COLLATERAL).map(|_| num(state, keys::COLLATERAL)),
        params: params(cfg, state),
        fee_account: cfg.fee_account.clone(),
        orders_placed: num(state, keys::SEQ),
    }
}
