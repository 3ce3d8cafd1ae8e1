//! Reading orders: what `dex_sell` (token module), `dex_buy` and a deposit's memo
//! (multisig module) ask for. The module that escrows the funds parses the order *before*
//! escrowing, with these functions, so a bad order is rejected (or, for a deposit that
//! already arrived, refunded) with a reason and nothing is escrowed.
//!
//! - `dex_sell` (the reference's fields): `{"<token lower-case>": milli-tokens, "hive":
//!   total milli-HIVE wanted}` or `"hbd"` (a limit order at `ceil(total × 10^6 / amount)`
//!   micro-coin per token: the seller never gets less than the total asked), or neither
//!   (a market order; `"pair": "HBD"` for the HBD market, else HIVE). opentoken also takes
//!   `"rate": "0.100000"` with `"pair"` instead of a total. Optional `"hours"` (1..=
//!   max_hours, default max_hours) and `"payout"` (`"hive"`, the default: proceeds are paid
//!   out by the multi-sig account; `"l2"`: credited to the Layer-2 balance).
//! - `dex_buy` (opentoken's, from a Layer-2 balance): exactly one of `"hive"` / `"hbd"`
//!   (milli-coin to spend), optional `"rate"` (absent: market), `"hours"`, `"payout"`
//!   (default `"l2"`: unspent coin back to the Layer-2 balance).
//! - A deposit to the multi-sig account whose memo is `{"rate": "0.100000"}` (the
//!   reference's form, optionally with `"hours"`, `"payout"`) or `{"dex": {...}}` with the
//!   same fields (`{"dex": {}}`: market): a buy of the deposited coin; unspent coin is paid
//!   back out to Hive unless `"payout": "l2"`.
//!
//! Every amount is at least `min_order`, and a limit bid buys at least one milli-token at
//! its rate.

use crate::config::DexConfig;
use crate::price::{self, tokens_for, MAX_PRICE, SCALE};
use crate::protocol::{OrderIn, Pair, Payout, Side};
use opentoken_core::{field, ChainPos, Reject, RejectCode};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The reference's `hashThis`: base58 of the sha256 multihash (`Qm…`, 46 characters).
pub fn hash_this(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut mh = Vec::with_capacity(34);
    mh.extend_from_slice(&[0x12, 0x20]);
    mh.extend_from_slice(&digest);
    bs58::encode(mh).into_string()
}

/// An order's id: the reference's `TOKEN + hashThis(from + txid)` for the first op of a
/// transaction; a later op of the same transaction hashes `from + txid + ":" + op` so that
/// two orders of one transaction never share an id.
pub fn order_id(token: &str, from: &str, txid: &str, op_in_trx: u32) -> String {
    if op_in_trx == 0 {
        format!("{token}{}", hash_this(&format!("{from}{txid}")))
    } else {
        format!("{token}{}", hash_this(&format!("{from}{txid}:{op_in_trx}")))
    }
}

/// What identifies the op that places an order.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    pub token: &'a str,
    /// The placing block's time, seconds since the Unix epoch.
    pub time: u64,
    pub from: &'a str,
    pub txid: &'a str,
    pub pos: ChainPos,
}

impl Placed<'_> {
    fn id(&self) -> String {
        order_id(self.token, self.from, self.txid, self.pos.op_in_trx)
    }
}

fn hours(cfg: &DexConfig, payload: &Map<String, Value>) -> Result<u64, Reject> {
    if !payload.contains_key("hours") {
        return Ok(cfg.max_hours);
    }
    let h = field::amount(payload, "hours", "hours")?;
    if h > cfg.max_hours {
        return Err(Reject::field(format!("`hours` must be 0..={}, got {h}", cfg.max_hours)));
    }
    // 0 (the DLUX wallet's market orders send it) is the shortest lifetime, one hour: the
    // reference expires such an order in the block it was placed.
    Ok(h.max(1))
}

fn payout(payload: &Map<String, Value>, default: Payout) -> Result<Payout, Reject> {
    match payload.get("payout") {
        None => Ok(default),
        Some(Value::String(s)) if s == "l2" => Ok(Payout::L2),
        Some(Value::String(s)) if s == "hive" => Ok(Payout::Hive),
        Some(other) => Err(Reject::field(format!(
            "`payout` must be \"l2\" or \"hive\", got {}",
            match other {
                Value::String(s) => format!("{:?}", s.chars().take(20).collect::<String>()),
                v => field::kind(v).to_string(),
            }
        ))),
    }
}

fn pair_field(payload: &Map<String, Value>) -> Result<Option<Pair>, Reject> {
    match payload.get("pair") {
        None => Ok(None),
        Some(Value::String(s)) => Pair::from_symbol(s).map(Some).ok_or_else(|| {
            Reject::field(format!(
                "unknown pair {:?}: \"HIVE\" or \"HBD\"",
                s.chars().take(20).collect::<String>()
            ))
        }),
        Some(other) => Err(Reject::field(format!(
            "`pair` must be \"HIVE\" or \"HBD\", got {}",
            field::kind(other)
        ))),
    }
}

fn expires(cfg: &DexConfig, block: u64, hours: u64) -> u64 {
    block.saturating_add(hours.saturating_mul(cfg.blocks_per_hour))
}

/// A limit bid must be able to buy at least one milli-token at its rate.
fn buys_something(price: u64, coin: u64) -> Result<(), Reject> {
    if tokens_for(coin, price) == 0 {
        return Err(Reject::field(format!(
            "{} at rate {} buys nothing (less than one milli-token)",
            price::format_milli(coin),
            price::format_rate(price)
        )));
    }
    Ok(())
}

/// A `dex_sell` payload as an order (not yet escrowed: the caller checks the balance).
pub fn parse_sell(
    cfg: &DexConfig,
    json_key: &str,
    at: Placed<'_>,
    payload: &Map<String, Value>,
) -> Result<OrderIn, Reject> {
    let amount = field::amount(payload, json_key, "milli-tokens")?;
    if amount < cfg.min_order {
        return Err(Reject::field(format!(
            "`{json_key}` {amount} is below the smallest order of {} milli-tokens",
            cfg.min_order
        )));
    }
    let total = |name: &str| -> Result<Option<u64>, Reject> {
        if !payload.contains_key(name) {
            return Ok(None);
        }
        Ok(Some(field::amount(payload, name, "milli-coin")?))
    };
    let (hive, hbd, pair, rate) = (total("hive")?, total("hbd")?, pair_field(payload)?, payload.get("rate"));
    if hive.is_some() && hbd.is_some() {
        return Err(Reject::field("name one of `hive` and `hbd`, not both"));
    }
    // A total of 0 (the DLUX wallet's market sell: `"hive": 0` or `"hbd": 0`) is a market
    // order on that pair.
    let market_on = match (hive, hbd) {
        (Some(0), _) => Some(Pair::Hive),
        (_, Some(0)) => Some(Pair::Hbd),
        _ => None,
    };
    if let Some(named) = market_on {
        if rate.is_some() {
            return Err(Reject::field("a market order (total 0) takes no `rate`"));
        }
        if pair.is_some_and(|p| p != named) {
            return Err(Reject::field("`pair` contradicts the total given"));
        }
    }
    let (hive, hbd, pair) = match market_on {
        Some(named) => (None, None, Some(named)),
        None => (hive, hbd, pair),
    };
    if rate.is_some() && (hive.is_some() || hbd.is_some()) {
        return Err(Reject::field("give a total (`hive`/`hbd`) or a `rate`, not both"));
    }
    let (pair, price) = match (hive.or(hbd), rate) {
        (Some(t), _) => {
            let named = if hive.is_some() { Pair::Hive } else { Pair::Hbd };
            if pair.is_some_and(|p| p != named) {
                return Err(Reject::field("`pair` contradicts the total given"));
            }
            let p = (u128::from(t) * u128::from(SCALE)).div_ceil(u128::from(amount));
            let p = u64::try_from(p).ok().filter(|p| *p <= MAX_PRICE).ok_or_else(|| {
                Reject::new(
                    RejectCode::Overflow,
                    "the total asked is above the highest price per token",
                )
            })?;
            (named, p)
        }
        (None, Some(r)) => {
            let p = price::parse_rate("rate", r)?;
            if p == 0 {
                return Err(Reject::field("`rate` 0 asks nothing; leave it out for a market order"));
            }
            (pair.unwrap_or(Pair::Hive), p)
        }
        (None, None) => (pair.unwrap_or(Pair::Hive), 0),
    };
    let hours = hours(cfg, payload)?;
    Ok(OrderIn {
        id: at.id(),
        from: at.from.to_string(),
        pair,
        side: Side::Ask,
        amount,
        price,
        expires: expires(cfg, at.pos.block, hours),
        payout: payout(payload, Payout::Hive)?,
        txid: at.txid.to_string(),
        block: at.pos.block,
        time: at.time,
    })
}

/// The buy order fields shared by `dex_buy` and a deposit memo: `rate`, `hours`, `payout`.
fn buy_order(
    cfg: &DexConfig,
    at: Placed<'_>,
    pair: Pair,
    coin: u64,
    fields: &Map<String, Value>,
    default_payout: Payout,
    memo: bool,
) -> Result<OrderIn, Reject> {
    if coin < cfg.min_order {
        return Err(Reject::field(format!(
            "{} milli-{} is below the smallest order of {} milli-units",
            coin,
            pair.symbol(),
            cfg.min_order
        )));
    }
    // No rate: a market order. In a deposit's memo also a rate of 0, null or "" (the DLUX
    // wallet's market buy sends `"rate": 0`; the reference reads any falsy rate as a market
    // order); `dex_buy`, opentoken's own op, refuses those as a likely mistake.
    let price = match fields.get("rate") {
        None => 0,
        Some(Value::Null) if memo => 0,
        Some(Value::String(s)) if memo && s.is_empty() => 0,
        Some(r) => match price::parse_rate("rate", r)? {
            0 if !memo => return Err(Reject::field("`rate` 0 buys nothing; leave it out for a market order")),
            p => p,
        },
    };
    if price > 0 {
        buys_something(price, coin)?;
    }
    let hours = hours(cfg, fields)?;
    Ok(OrderIn {
        id: at.id(),
        from: at.from.to_string(),
        pair,
        side: Side::Bid,
        amount: coin,
        price,
        expires: expires(cfg, at.pos.block, hours),
        payout: payout(fields, default_payout)?,
        txid: at.txid.to_string(),
        block: at.pos.block,
        time: at.time,
    })
}

/// A `dex_buy` payload as an order (the caller checks the Layer-2 balance).
pub fn parse_buy(cfg: &DexConfig, at: Placed<'_>, payload: &Map<String, Value>) -> Result<OrderIn, Reject> {
    let (pair, coin) = match (payload.contains_key("hive"), payload.contains_key("hbd")) {
        (true, false) => (Pair::Hive, field::amount(payload, "hive", "milli-HIVE")?),
        (false, true) => (Pair::Hbd, field::amount(payload, "hbd", "milli-HBD")?),
        (true, true) => return Err(Reject::field("name one of `hive` and `hbd`, not both")),
        (false, false) => return Err(Reject::field("`hive` or `hbd` (the milli-coin to spend) is missing")),
    };
    if payload.contains_key("pair") {
        return Err(Reject::field("`dex_buy` names its pair by `hive` or `hbd`, not `pair`"));
    }
    buy_order(cfg, at, pair, coin, payload, Payout::L2, false)
}

/// What a deposit's memo means to the DEX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoOrder {
    /// Not a DEX memo (the multisig module reads it as it always did).
    NotDex,
    /// A valid buy order of the deposited coin.
    Order(OrderIn),
    /// A DEX memo with a bad field: the deposit is refunded with this reason.
    Bad(String),
}

const MEMO_FIELDS: [&str; 4] = ["rate", "hours", "payout", "token"];

/// The DLUX wallet names the token it buys (`"token": "DLUX"`): accepted when it is this
/// chain's token (any case), so a memo meant for another token's DEX is refunded.
fn memo_token(at: &Placed<'_>, fields: &Map<String, Value>) -> Result<(), String> {
    match fields.get("token") {
        None => Ok(()),
        Some(Value::String(t)) if t.eq_ignore_ascii_case(at.token) => Ok(()),
        Some(other) => Err(format!(
            "the memo buys {}, this DEX trades {}",
            match other {
                Value::String(t) => format!("{:?}", t.chars().take(20).collect::<String>()),
                v => field::kind(v).to_string(),
            },
            at.token
        )),
    }
}

/// Reads a deposit memo (`{"rate": ...}` or `{"dex": {...}}`) as a buy of `coin` of `pair`.
pub fn parse_memo(cfg: &DexConfig, at: Placed<'_>, pair: Pair, coin: u64, memo: &str) -> MemoOrder {
    if !memo.trim_start().starts_with('{') {
        return MemoOrder::NotDex;
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(memo) else {
        return MemoOrder::NotDex;
    };
    let fields = if map.contains_key("rate") {
        if let Some(k) = map.keys().find(|k| !MEMO_FIELDS.contains(&k.as_str())) {
            return MemoOrder::Bad(format!(
                "a DEX memo has only rate, hours, payout and token, not {:?}",
                k.chars().take(20).collect::<String>()
            ));
        }
        map
    } else if map.len() == 1 && map.contains_key(crate::NAME) {
        match map.get(crate::NAME) {
            Some(Value::Object(inner)) => {
                if let Some(k) = inner.keys().find(|k| !MEMO_FIELDS.contains(&k.as_str())) {
                    return MemoOrder::Bad(format!(
                        "a DEX memo has only rate, hours, payout and token, not {:?}",
                        k.chars().take(20).collect::<String>()
                    ));
                }
                inner.clone()
            }
            _ => return MemoOrder::Bad("{\"dex\": ...} takes an object of rate, hours, payout, token".into()),
        }
    } else {
        return MemoOrder::NotDex;
    };
    if let Err(why) = memo_token(&at, &fields) {
        return MemoOrder::Bad(why);
    }
    match buy_order(cfg, at, pair, coin, &fields, Payout::Hive, true) {
        Ok(o) => MemoOrder::Order(o),
        Err(r) => MemoOrder::Bad(r.reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> Placed<'static> {
        Placed {
            token: "DLUX",
            time: 1_700_000_000,
            from: "alice",
            txid: "0123456789abcdef0123456789abcdef01234567",
            pos: ChainPos::new(100, 0, 0),
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn ids_are_the_references_for_the_first_op() {
        let id = order_id("DLUX", "alice", "abc", 0);
        assert!(id.starts_with("DLUXQm") && id.len() == 4 + 46, "{id}");
        assert_ne!(id, order_id("DLUX", "alice", "abc", 1));
    }

    #[test]
    fn a_sell_by_total_rounds_its_price_up() {
        let cfg = DexConfig::default();
        let o = parse_sell(&cfg, "dlux", at(), &obj(json!({"dlux": 3000, "hive": 1000}))).unwrap();
        assert_eq!(
            (o.pair, o.side, o.amount, o.price),
            (Pair::Hive, Side::Ask, 3000, 333_334)
        );
        assert_eq!(o.expires, 100 + 720 * 1200);
        assert_eq!(o.payout, Payout::Hive);
        let m = parse_sell(&cfg, "dlux", at(), &obj(json!({"dlux": 10, "pair": "HBD"}))).unwrap();
        assert_eq!((m.pair, m.price), (Pair::Hbd, 0));
    }

    #[test]
    fn memos_are_buys_only_in_the_dex_forms() {
        let cfg = DexConfig::default();
        let m = |s: &str| parse_memo(&cfg, at(), Pair::Hive, 1000, s);
        assert_eq!(m("hello"), MemoOrder::NotDex);
        assert_eq!(m("{\"nft\": 1}"), MemoOrder::NotDex);
        assert!(
            matches!(m("{\"rate\":\"0.100000\"}"), MemoOrder::Order(o) if o.price == 100_000 && o.payout == Payout::Hive)
        );
        assert!(matches!(m("{\"dex\":{}}"), MemoOrder::Order(o) if o.price == 0));
        assert!(matches!(m("{\"rate\":0.1}"), MemoOrder::Order(o) if o.price == 100_000));
        for bad in [
            "{\"rate\":-0.1}",
            "{\"rate\":1e-7}",
            "{\"rate\":0.1234567}",
            "{\"rate\":true}",
        ] {
            assert!(matches!(m(bad), MemoOrder::Bad(_)), "{bad}");
        }
        assert!(matches!(m("{\"rate\":\"0.1\",\"x\":1}"), MemoOrder::Bad(_)));
        assert!(matches!(m("{\"dex\":5}"), MemoOrder::Bad(_)));
    }

    /// The orders the DLUX wallet (dluxio/dlux-iov's DEX page) broadcasts, in its shapes: a
    /// sell's market order as a total of 0, a buy memo naming the token with the rate as a
    /// string or a number, a market buy as `"rate": 0, "hours": "0"`.
    #[test]
    fn the_dlux_wallet_s_orders_are_read_as_it_means_them() {
        let cfg = DexConfig::default();
        let sell = |v: Value| parse_sell(&cfg, "dlux", at(), &obj(v));
        let o = sell(json!({"dlux": 5000, "hive": 0, "hours": 720})).unwrap();
        assert_eq!((o.pair, o.price), (Pair::Hive, 0), "HIVE market sell");
        let o = sell(json!({"dlux": 5000, "hbd": 0, "hours": 24})).unwrap();
        assert_eq!(
            (o.pair, o.price, o.expires),
            (Pair::Hbd, 0, 100 + 24 * 1200),
            "HBD market sell"
        );
        let o = sell(json!({"dlux": 5000, "hive": 1000, "hours": 1})).unwrap();
        assert_eq!((o.pair, o.price), (Pair::Hive, 200_000), "limit sell");
        assert!(sell(json!({"dlux": 5000, "hive": 0, "rate": "0.1"})).is_err());
        assert!(sell(json!({"dlux": 5000, "hbd": 0, "pair": "HIVE"})).is_err());

        let m = |s: &str| parse_memo(&cfg, at(), Pair::Hive, 1000, s);
        let limit = m(r#"{"rate":"0.100000","hours":"720","token":"DLUX"}"#);
        assert!(
            matches!(&limit, MemoOrder::Order(o) if o.price == 100_000 && o.expires == 100 + 720 * 1200),
            "{limit:?}"
        );
        let number = m(r#"{"rate":0.25,"hours":24,"token":"DLUX"}"#);
        assert!(
            matches!(&number, MemoOrder::Order(o) if o.price == 250_000),
            "{number:?}"
        );
        let market = m(r#"{"rate":0,"hours":"0","token":"DLUX"}"#);
        assert!(
            matches!(&market, MemoOrder::Order(o) if o.price == 0 && o.expires == 100 + 1200),
            "hours 0 is the shortest lifetime: {market:?}"
        );
        assert!(matches!(m(r#"{"rate":"0.1","token":"dlux"}"#), MemoOrder::Order(_)));
        assert!(
            matches!(m(r#"{"rate":"0.1","token":"LARYNX"}"#), MemoOrder::Bad(why) if why.contains("LARYNX")),
            "another token's order is refunded"
        );
        assert!(matches!(m(r#"{"rate":"0.1","token":5}"#), MemoOrder::Bad(_)));
    }
}
