//! The module's state: key layout, value types and their encoding.
//!
//! | key | value |
//! |---|---|
//! | `ord/<id>` | a resting [`Order`], canonical JSON |
//! | `book/<PAIR>/<side>/<rank BE8>/<seq BE8>` | the id of the order resting there: `rank` is the price for asks and `u64::MAX - price` for bids, so key order is price-time priority (best first, then oldest) |
//! | `acct/<account>/<id>` | empty: the account's resting orders |
//! | `exp/<block BE8>/<seq BE8>` | the id of an order that expires after that block |
//! | `seq` | the next order sequence number (time priority), 8-byte BE |
//! | `esc/<ASSET>` | what the DEX holds (`TOKEN`, `HIVE`, `HBD`): received orders' amounts less everything credited, paid or returned. Always the sum of the resting orders' amounts of that asset |
//! | `tick/<PAIR>` | the last trade's price (micro-coin per token); absent: the configured genesis tick |
//! | `tseq/<PAIR>` | the next trade number of the pair |
//! | `trade/<PAIR>/<tseq BE8>` | a [`Trade`], canonical JSON; the newest `keep_trades` are kept |
//! | `candle/<PAIR>/<h\|d>/<bucket start block BE8>` | a [`Candle`] of the trades in that hour / day (by block), canonical JSON; the newest `keep_hourly` / `keep_daily` are kept |
//! | `cnt/candle/<PAIR>/<h\|d>` | how many candles of that kind exist |
//! | `collateral` | the governance stake behind the multi-sig account (nodes' `collateral` message); absent: no cap on bids |
//! | `params` | the voted [`Params`](crate::protocol::Params) (nodes' `params` message), canonical JSON; absent: the configured ones |
//! | `tot/fees` | every fee ever taken, milli-tokens |
//!
//! Amounts are milli-units (`u64`), prices micro-coin per token. Zero totals are deleted.

use crate::protocol::{Pair, Payout, Side};
use opentoken_core::StateRead;
use serde::{Deserialize, Serialize};

pub const SEQ: &[u8] = b"seq";
pub const COLLATERAL: &[u8] = b"collateral";
pub const PARAMS: &[u8] = b"params";
pub const TOTAL_FEES: &[u8] = b"tot/fees";
pub const EXP_PREFIX: &[u8] = b"exp/";

/// What the DEX holds: the token, or one of the coins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Asset {
    Token,
    Coin(Pair),
}

impl Asset {
    pub fn key(self) -> Vec<u8> {
        match self {
            Asset::Token => b"esc/TOKEN".to_vec(),
            Asset::Coin(p) => format!("esc/{}", p.symbol()).into_bytes(),
        }
    }

    /// What an order of `side` on `pair` holds.
    pub fn of(pair: Pair, side: Side) -> Asset {
        match side {
            Side::Ask => Asset::Token,
            Side::Bid => Asset::Coin(pair),
        }
    }
}

/// `liq/<account>`: the liquidity points an account's resting bids earned since the last
/// payout.
pub fn liquidity(account: &str) -> Vec<u8> {
    format!("{LIQUIDITY_PREFIX}{account}").into_bytes()
}
pub const LIQUIDITY_PREFIX: &str = "liq/";

pub fn order(id: &str) -> Vec<u8> {
    format!("ord/{id}").into_bytes()
}

/// The book prefix of one side of a pair.
pub fn book_side(pair: Pair, side: Side) -> Vec<u8> {
    format!("book/{}/{}/", pair.symbol(), side.as_str()).into_bytes()
}

/// Where an order rests in its book.
pub fn book(pair: Pair, side: Side, price: u64, seq: u64) -> Vec<u8> {
    let rank = match side {
        Side::Ask => price,
        Side::Bid => u64::MAX - price,
    };
    let mut k = book_side(pair, side);
    k.extend_from_slice(&rank.to_be_bytes());
    k.push(b'/');
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn account_prefix(account: &str) -> Vec<u8> {
    format!("acct/{account}/").into_bytes()
}

pub fn account_order(account: &str, id: &str) -> Vec<u8> {
    format!("acct/{account}/{id}").into_bytes()
}

pub fn expiry(block: u64, seq: u64) -> Vec<u8> {
    let mut k = EXP_PREFIX.to_vec();
    k.extend_from_slice(&block.to_be_bytes());
    k.push(b'/');
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The block an expiry key is due after.
pub fn expiry_block(key: &[u8]) -> Option<u64> {
    let b = key.get(EXP_PREFIX.len()..EXP_PREFIX.len() + 8)?;
    Some(u64::from_be_bytes(b.try_into().ok()?))
}

pub fn tick(pair: Pair) -> Vec<u8> {
    format!("tick/{}", pair.symbol()).into_bytes()
}

pub fn trade_seq(pair: Pair) -> Vec<u8> {
    format!("tseq/{}", pair.symbol()).into_bytes()
}

pub fn trade_prefix(pair: Pair) -> Vec<u8> {
    format!("trade/{}/", pair.symbol()).into_bytes()
}

pub fn trade(pair: Pair, seq: u64) -> Vec<u8> {
    let mut k = trade_prefix(pair);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Candle width: an hour or a day of blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Hour,
    Day,
}

impl Span {
    pub const ALL: [Span; 2] = [Span::Hour, Span::Day];

    pub fn tag(self) -> &'static str {
        match self {
            Span::Hour => "h",
            Span::Day => "d",
        }
    }

    pub fn blocks(self, blocks_per_hour: u64) -> u64 {
        match self {
            Span::Hour => blocks_per_hour,
            Span::Day => blocks_per_hour * 24,
        }
    }
}

pub fn candle_prefix(pair: Pair, span: Span) -> Vec<u8> {
    format!("candle/{}/{}/", pair.symbol(), span.tag()).into_bytes()
}

pub fn candle(pair: Pair, span: Span, start: u64) -> Vec<u8> {
    let mut k = candle_prefix(pair, span);
    k.extend_from_slice(&start.to_be_bytes());
    k
}

pub fn candle_count(pair: Pair, span: Span) -> Vec<u8> {
    format!("cnt/candle/{}/{}", pair.symbol(), span.tag()).into_bytes()
}

/// A u64 value (absent: 0).
pub fn num(state: &dyn StateRead, key: &[u8]) -> u64 {
    opentoken_core::counter::read(state, key)
}

/// A resting order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub from: String,
    pub pair: Pair,
    pub side: Side,
    /// Limit price, micro-coin per token.
    pub price: u64,
    /// What it still holds: milli-tokens (ask) or milli-coin (bid).
    pub amount: u64,
    /// What it was placed with.
    pub placed: u64,
    /// Tokens and coin it has traded so far.
    pub filled_tokens: u64,
    pub filled_coin: u64,
    pub expires: u64,
    pub payout: Payout,
    pub txid: String,
    pub block: u64,
    pub time: u64,
    /// Time priority.
    pub seq: u64,
}

impl Order {
    pub fn book_key(&self) -> Vec<u8> {
        book(self.pair, self.side, self.price, self.seq)
    }
}

/// A fill, as history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    pub seq: u64,
    pub block: u64,
    /// Seconds since the Unix epoch (the taker's block time).
    pub time: u64,
    pub price: u64,
    pub tokens: u64,
    pub coin: u64,
    /// Milli-tokens of the buyer's leg kept as the fee.
    pub fee: u64,
    pub buyer: String,
    pub seller: String,
    /// `buy` when a bid took an ask, `sell` when an ask took a bid (the reference's `type`).
    pub kind: String,
    pub maker: String,
    pub taker: String,
}

/// Open/high/low/close of the trades in a span, with volumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candle {
    pub start: u64,
    pub open: u64,
    pub high: u64,
    pub low: u64,
    pub close: u64,
    /// Coin traded (the reference's `v`).
    pub coin: u64,
    /// Tokens traded (the reference's `d`).
    pub tokens: u64,
    pub trades: u64,
}
