//! The DEX's events: what `handle` and chron work decide, what `apply` writes, and what the
//! store keeps, Avro single-object encoded with `schemas/dex_event.avsc`.

use crate::keys::Order;
use crate::protocol::{OrderIn, Pair, Params, Payout, Side};
use apache_avro::types::Value;
use opentoken_codec::value::{long_u64, record, Fields};
use opentoken_codec::{CodecError, SingleObjectCodec};
use opentoken_core::ModuleEvent;
use std::sync::OnceLock;

/// Why the DEX gives an order's holding back to its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnWhy {
    /// `dex_clear` by the owner.
    Cancelled,
    /// Its expiry block passed.
    Expired,
    /// A market order: what the book could not fill at once.
    Unfilled,
    /// Too little to ever trade at its price (a bid whose coin buys no milli-token).
    Dust,
    /// It met the owner's own resting order, which is cancelled (self-trade prevention).
    SelfTrade,
    /// The part of a bid above what the collateral allows one resting bid to hold.
    Collateral,
    /// The incoming order met `max_fills_per_order` resting orders; the rest is returned.
    FillLimit,
    /// An order id that already rests (cannot happen with distinct transactions).
    Duplicate,
}

impl ReturnWhy {
    pub const ALL: [ReturnWhy; 8] = [
        ReturnWhy::Cancelled,
        ReturnWhy::Expired,
        ReturnWhy::Unfilled,
        ReturnWhy::Dust,
        ReturnWhy::SelfTrade,
        ReturnWhy::Collateral,
        ReturnWhy::FillLimit,
        ReturnWhy::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReturnWhy::Cancelled => "cancelled",
            ReturnWhy::Expired => "expired",
            ReturnWhy::Unfilled => "unfilled",
            ReturnWhy::Dust => "dust",
            ReturnWhy::SelfTrade => "self-trade",
            ReturnWhy::Collateral => "collateral",
            ReturnWhy::FillLimit => "fill-limit",
            ReturnWhy::Duplicate => "duplicate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == s)
    }
}

/// One fill between a resting order (the maker) and an incoming one (the taker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    pub pair: Pair,
    /// The maker's price: what the fill is at.
    pub price: u64,
    pub tokens: u64,
    pub coin: u64,
    /// Milli-tokens of the buyer's leg kept as the fee.
    pub fee: u64,
    pub maker: String,
    pub maker_from: String,
    pub maker_side: Side,
    pub taker: String,
    pub taker_from: String,
    /// Where the seller's coin goes.
    pub seller_payout: Payout,
    pub trade_seq: u64,
    pub block: u64,
    pub time: u64,
}

impl Fill {
    pub fn buyer(&self) -> (&str, &str) {
        match self.maker_side {
            Side::Bid => (&self.maker_from, &self.maker),
            Side::Ask => (&self.taker_from, &self.taker),
        }
    }

    pub fn seller(&self) -> (&str, &str) {
        match self.maker_side {
            Side::Ask => (&self.maker_from, &self.maker),
            Side::Bid => (&self.taker_from, &self.taker),
        }
    }
}

/// A state change of the DEX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DexEvent {
    /// An escrowed order arrived: the DEX holds its amount until it is traded or returned.
    Received { order: OrderIn, seq: u64 },
    /// A fill: the maker's holding shrinks, the buyer's tokens and the seller's coin leave.
    Filled(Box<Fill>),
    /// What is left of an incoming order rests in the book.
    Rested(Box<Order>),
    /// `amount` of an order goes back to its owner; a resting order leaves the book.
    Returned {
        id: String,
        from: String,
        pair: Pair,
        side: Side,
        amount: u64,
        payout: Payout,
        why: ReturnWhy,
        resting: bool,
    },
    /// The collateral behind the multi-sig account changed (nodes' `collateral`).
    CollateralSet { stake: u64 },
    /// The runners voted new parameters (nodes' `params`).
    ParamsSet(Params),
    /// The resting bids' liquidity points of one count (best bids first, each
    /// `⌊price·amount/best price⌋`), added to each account's points.
    LiquidityCounted { block: u64, awards: Vec<(String, u64)> },
    /// At the token's DAO day: every account's points (including this block's count), sent
    /// to the token module to pay, and cleared; when more accounts hold points than one
    /// message names, the top earners only (the others keep theirs).
    LiquiditySent { block: u64, awards: Vec<(String, u64)> },
}

/// The schema compiled in; a test checks that it is the file under `schemas/`.
pub const SCHEMA: &str = include_str!("../../../../schemas/dex_event.avsc");

/// The first schema, before the liquidity reward: records it wrote still decode.
const SCHEMA_V1: &str = include_str!("../../../../schemas/history/dex_event.v1.avsc");

fn codec() -> Result<&'static SingleObjectCodec, CodecError> {
    static CODEC: OnceLock<Result<SingleObjectCodec, CodecError>> = OnceLock::new();
    CODEC
        .get_or_init(|| SingleObjectCodec::new("dex event", SCHEMA, &[SCHEMA_V1]))
        .as_ref()
        .map_err(Clone::clone)
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn shape(detail: String) -> CodecError {
    CodecError::Shape {
        what: "dex event",
        detail,
    }
}

fn pair_of(f: &Fields<'_>, name: &str) -> Result<Pair, CodecError> {
    let v = f.string(name)?;
    Pair::from_symbol(&v).ok_or_else(|| shape(format!("{name}: unknown pair {v:?}")))
}

fn side_of(f: &Fields<'_>, name: &str) -> Result<Side, CodecError> {
    match f.string(name)?.as_str() {
        "ask" => Ok(Side::Ask),
        "bid" => Ok(Side::Bid),
        other => Err(shape(format!("{name}: unknown side {other:?}"))),
    }
}

fn payout_of(f: &Fields<'_>, name: &str) -> Result<Payout, CodecError> {
    match f.string(name)?.as_str() {
        "l2" => Ok(Payout::L2),
        "hive" => Ok(Payout::Hive),
        other => Err(shape(format!("{name}: unknown payout {other:?}"))),
    }
}

fn order_in_value(o: &OrderIn) -> Value {
    record(vec![
        ("id", s(&o.id)),
        ("from", s(&o.from)),
        ("pair", s(o.pair.symbol())),
        ("side", s(o.side.as_str())),
        ("amount", long_u64(o.amount)),
        ("price", long_u64(o.price)),
        ("expires", long_u64(o.expires)),
        ("payout", s(o.payout.as_str())),
        ("txid", s(&o.txid)),
        ("block", long_u64(o.block)),
        ("time", long_u64(o.time)),
    ])
}

fn read_order_in(v: &Value) -> Result<OrderIn, CodecError> {
    let f = Fields::of("dex incoming order", v)?;
    Ok(OrderIn {
        id: f.string("id")?,
        from: f.string("from")?,
        pair: pair_of(&f, "pair")?,
        side: side_of(&f, "side")?,
        amount: f.u64("amount")?,
        price: f.u64("price")?,
        expires: f.u64("expires")?,
        payout: payout_of(&f, "payout")?,
        txid: f.string("txid")?,
        block: f.u64("block")?,
        time: f.u64("time")?,
    })
}

fn order_value(o: &Order) -> Value {
    record(vec![
        ("id", s(&o.id)),
        ("from", s(&o.from)),
        ("pair", s(o.pair.symbol())),
        ("side", s(o.side.as_str())),
        ("price", long_u64(o.price)),
        ("amount", long_u64(o.amount)),
        ("placed", long_u64(o.placed)),
        ("filled_tokens", long_u64(o.filled_tokens)),
        ("filled_coin", long_u64(o.filled_coin)),
        ("expires", long_u64(o.expires)),
        ("payout", s(o.payout.as_str())),
        ("txid", s(&o.txid)),
        ("block", long_u64(o.block)),
        ("time", long_u64(o.time)),
        ("seq", long_u64(o.seq)),
    ])
}

fn read_order(v: &Value) -> Result<Order, CodecError> {
    let f = Fields::of("dex order", v)?;
    Ok(Order {
        id: f.string("id")?,
        from: f.string("from")?,
        pair: pair_of(&f, "pair")?,
        side: side_of(&f, "side")?,
        price: f.u64("price")?,
        amount: f.u64("amount")?,
        placed: f.u64("placed")?,
        filled_tokens: f.u64("filled_tokens")?,
        filled_coin: f.u64("filled_coin")?,
        expires: f.u64("expires")?,
        payout: payout_of(&f, "payout")?,
        txid: f.string("txid")?,
        block: f.u64("block")?,
        time: f.u64("time")?,
        seq: f.u64("seq")?,
    })
}

fn awards_value(block: u64, awards: &[(String, u64)]) -> Value {
    record(vec![
        ("block", long_u64(block)),
        (
            "awards",
            Value::Array(
                awards
                    .iter()
                    .map(|(a, p)| record(vec![("account", s(a)), ("points", long_u64(*p))]))
                    .collect(),
            ),
        ),
    ])
}

fn read_awards(f: &Fields<'_>) -> Result<Vec<(String, u64)>, CodecError> {
    f.array("awards")?
        .iter()
        .map(|a| {
            let a = Fields::of("dex event", a)?;
            Ok((a.string("account")?, a.u64("points")?))
        })
        .collect()
}

impl DexEvent {
    fn to_value(&self) -> Value {
        let (branch, body) = match self {
            DexEvent::Received { order, seq } => (
                0,
                record(vec![("order", order_in_value(order)), ("seq", long_u64(*seq))]),
            ),
            DexEvent::Filled(f) => (
                1,
                record(vec![
                    ("pair", s(f.pair.symbol())),
                    ("price", long_u64(f.price)),
                    ("tokens", long_u64(f.tokens)),
                    ("coin", long_u64(f.coin)),
                    ("fee", long_u64(f.fee)),
                    ("maker", s(&f.maker)),
                    ("maker_from", s(&f.maker_from)),
                    ("maker_side", s(f.maker_side.as_str())),
                    ("taker", s(&f.taker)),
                    ("taker_from", s(&f.taker_from)),
                    ("seller_payout", s(f.seller_payout.as_str())),
                    ("trade_seq", long_u64(f.trade_seq)),
                    ("block", long_u64(f.block)),
                    ("time", long_u64(f.time)),
                ]),
            ),
            DexEvent::Rested(o) => (2, record(vec![("order", order_value(o))])),
            DexEvent::Returned {
                id,
                from,
                pair,
                side,
                amount,
                payout,
                why,
                resting,
            } => (
                3,
                record(vec![
                    ("id", s(id)),
                    ("from", s(from)),
                    ("pair", s(pair.symbol())),
                    ("side", s(side.as_str())),
                    ("amount", long_u64(*amount)),
                    ("payout", s(payout.as_str())),
                    ("why", s(why.as_str())),
                    ("resting", Value::Boolean(*resting)),
                ]),
            ),
            DexEvent::CollateralSet { stake } => (4, record(vec![("stake", long_u64(*stake))])),
            DexEvent::ParamsSet(p) => (
                5,
                record(vec![
                    ("fee_ppm", long_u64(p.fee_ppm)),
                    ("dex_max_bp", long_u64(p.dex_max_bp)),
                    ("dex_slope_bp", long_u64(p.dex_slope_bp)),
                ]),
            ),
            DexEvent::LiquidityCounted { block, awards } => (6, awards_value(*block, awards)),
            DexEvent::LiquiditySent { block, awards } => (7, awards_value(*block, awards)),
        };
        record(vec![("event", Value::Union(branch, Box::new(body)))])
    }
}

impl ModuleEvent for DexEvent {
    type CodecError = CodecError;

    fn kind(&self) -> &'static str {
        match self {
            DexEvent::Received { .. } => "Received",
            DexEvent::Filled(_) => "Filled",
            DexEvent::Rested(_) => "Rested",
            DexEvent::Returned { .. } => "Returned",
            DexEvent::CollateralSet { .. } => "CollateralSet",
            DexEvent::ParamsSet(_) => "ParamsSet",
            DexEvent::LiquidityCounted { .. } => "LiquidityCounted",
            DexEvent::LiquiditySent { .. } => "LiquiditySent",
        }
    }

    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec()?.encode(self.to_value())
    }

    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let v = codec()?.decode(bytes)?;
        let (branch, body) = Fields::of("dex event", &v)?.union("event")?;
        let f = Fields::of("dex event", body)?;
        Ok(match branch {
            0 => DexEvent::Received {
                order: read_order_in(f.get("order")?)?,
                seq: f.u64("seq")?,
            },
            1 => DexEvent::Filled(Box::new(Fill {
                pair: pair_of(&f, "pair")?,
                price: f.u64("price")?,
                tokens: f.u64("tokens")?,
                coin: f.u64("coin")?,
                fee: f.u64("fee")?,
                maker: f.string("maker")?,
                maker_from: f.string("maker_from")?,
                maker_side: side_of(&f, "maker_side")?,
                taker: f.string("taker")?,
                taker_from: f.string("taker_from")?,
                seller_payout: payout_of(&f, "seller_payout")?,
                trade_seq: f.u64("trade_seq")?,
                block: f.u64("block")?,
                time: f.u64("time")?,
            })),
            2 => DexEvent::Rested(Box::new(read_order(f.get("order")?)?)),
            3 => DexEvent::Returned {
                id: f.string("id")?,
                from: f.string("from")?,
                pair: pair_of(&f, "pair")?,
                side: side_of(&f, "side")?,
                amount: f.u64("amount")?,
                payout: payout_of(&f, "payout")?,
                why: {
                    let w = f.string("why")?;
                    ReturnWhy::parse(&w).ok_or_else(|| shape(format!("why: unknown reason {w:?}")))?
                },
                resting: match f.get("resting")? {
                    Value::Boolean(b) => *b,
                    _ => return Err(shape("resting: not a boolean".into())),
                },
            },
            4 => DexEvent::CollateralSet { stake: f.u64("stake")? },
            5 => DexEvent::ParamsSet(Params {
                fee_ppm: f.u64("fee_ppm")?,
                dex_max_bp: f.u64("dex_max_bp")?,
                dex_slope_bp: f.u64("dex_slope_bp")?,
            }),
            6 => DexEvent::LiquidityCounted {
                block: f.u64("block")?,
                awards: read_awards(&f)?,
            },
            7 => DexEvent::LiquiditySent {
                block: f.u64("block")?,
                awards: read_awards(&f)?,
            },
            other => return Err(shape(format!("unknown event branch {other}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::test_utils::assert_event_codec;

    pub(crate) fn samples() -> Vec<DexEvent> {
        let order_in = OrderIn {
            id: "DLUXQmX".into(),
            from: "alice".into(),
            pair: Pair::Hbd,
            side: Side::Bid,
            amount: 1234,
            price: 100_000,
            expires: 864_100,
            payout: Payout::L2,
            txid: "ab".repeat(20),
            block: 100,
            time: 1_700_000_000,
        };
        let order = Order {
            id: "DLUXQmY".into(),
            from: "bob".into(),
            pair: Pair::Hive,
            side: Side::Ask,
            price: 333_334,
            amount: 3000,
            placed: 4000,
            filled_tokens: 1000,
            filled_coin: 334,
            expires: 7,
            payout: Payout::Hive,
            txid: "cd".repeat(20),
            block: 5,
            time: 6,
            seq: 9,
        };
        let mut v = vec![
            DexEvent::Received {
                order: order_in,
                seq: 3,
            },
            DexEvent::Filled(Box::new(Fill {
                pair: Pair::Hive,
                price: 100_000,
                tokens: 1000,
                coin: 100,
                fee: 5,
                maker: "m".into(),
                maker_from: "bob".into(),
                maker_side: Side::Ask,
                taker: "t".into(),
                taker_from: "alice".into(),
                seller_payout: Payout::Hive,
                trade_seq: 0,
                block: 101,
                time: 1_700_000_003,
            })),
            DexEvent::Rested(Box::new(order)),
            DexEvent::CollateralSet { stake: 42 },
            DexEvent::ParamsSet(Params {
                fee_ppm: 5000,
                dex_max_bp: 10_000,
                dex_slope_bp: 7,
            }),
            DexEvent::LiquidityCounted {
                block: 199,
                awards: vec![("alice".into(), 1_000), ("bob".into(), 333)],
            },
            DexEvent::LiquiditySent {
                block: 18_505,
                awards: vec![("alice".into(), 57_000)],
            },
        ];
        for why in ReturnWhy::ALL {
            v.push(DexEvent::Returned {
                id: "DLUXQmZ".into(),
                from: "carol".into(),
                pair: Pair::Hbd,
                side: Side::Ask,
                amount: 77,
                payout: Payout::Hive,
                why,
                resting: why == ReturnWhy::Expired,
            });
        }
        v
    }

    #[test]
    fn every_variant_round_trips_through_avro() {
        opentoken_core::test_utils::assert_writes_like(&samples(), |e| {
            codec()
                .expect("the codec")
                .encode_with_apache_avro(e.to_value())
                .expect("apache-avro writes it")
        });
        assert_event_codec(
            &samples(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../schemas/dex_event.avsc"),
            SCHEMA,
        );
    }
}
