//! The NFT module's events: what `handle` and chron work decide, what `apply` writes, and
//! what the store keeps, Avro single-object encoded with `schemas/nft_event.avsc`.

use crate::keys::{Offer, Set};
use crate::protocol::{Currency, OfferKind};
use apache_avro::types::Value;
use opentoken_codec::value::{long_u64, record, strip_union, Fields};
use opentoken_codec::{CodecError, SingleObjectCodec};
use opentoken_core::ModuleEvent;
use std::sync::OnceLock;

/// Why an offer closed without a sale: the item goes back to the seller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseWhy {
    /// `nft_sell_cancel`, `ft_sell_cancel`, `nft_transfer_cancel`, `ft_escrow_cancel`.
    Cancelled,
    /// An auction ended without a bid.
    NoBids,
}

impl CloseWhy {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseWhy::Cancelled => "cancelled",
            CloseWhy::NoBids => "no-bids",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [CloseWhy::Cancelled, CloseWhy::NoBids]
            .into_iter()
            .find(|w| w.as_str() == s)
    }
}

/// One royalty payment of a sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub account: String,
    pub amount: u64,
}

/// A state change of the NFT module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NftEvent {
    /// A set is defined: its definer holds `total` mint tokens, the module holds `fee`
    /// (bonds included) and `paid - fee` goes back.
    SetDefined {
        set: Box<Set>,
        definer: String,
        paid: u64,
        fee: u64,
    },
    /// An op the token module escrowed for failed: all of it goes back, with the reason.
    Refunded {
        account: String,
        amount: u64,
        currency: Currency,
        op: String,
        why: String,
    },
    /// Mint tokens change hands.
    FtMoved {
        set: String,
        from: String,
        to: String,
        qty: u64,
    },
    /// A mint token is redeemed: gone now, its NFT drawn at the next checkpoint.
    MintRequested {
        set: String,
        owner: String,
        seq: u64,
        txid: String,
        block: u64,
    },
    /// The NFT of a redemption: uid index `slot` of the draw; the set's first mint pays
    /// `fee_paid` of its held define fee to the fee account and burns `fee_burned`.
    Minted {
        set: String,
        uid: String,
        owner: String,
        seq: u64,
        slot: u64,
        block: u64,
        fee_paid: u64,
        fee_burned: u64,
    },
    /// An NFT changes hands (`nft_transfer`).
    NftMoved {
        set: String,
        uid: String,
        from: String,
        to: String,
        block: u64,
    },
    /// An NFT is melted: gone for good, its bond to its owner.
    Melted {
        set: String,
        uid: String,
        owner: String,
        bond: u64,
    },
    /// An item leaves its owner for an offer.
    Offered(Box<Offer>),
    /// An offer closes without a sale: the item back to the seller.
    Closed {
        offer: Box<Offer>,
        why: CloseWhy,
        block: u64,
    },
    /// An offer is sold: the item to `buyer`; `paid` arrives now in the offer's currency
    /// (an auction's was held since the bid); the seller gets `price` less the royalties
    /// and `fee` (HIVE/HBD sales only).
    Sold {
        offer: Box<Offer>,
        buyer: String,
        price: u64,
        paid: u64,
        fee: u64,
        royalties: Vec<Share>,
        block: u64,
    },
    /// A new high bid; the previous one (if any) goes back to its bidder.
    BidPlaced {
        kind: OfferKind,
        set: String,
        id: String,
        currency: Currency,
        bidder: String,
        amount: u64,
        prev_bidder: String,
        prev_amount: u64,
    },
    /// The author splits the set's royalty.
    RoyaltySplit { set: String, distro: Vec<(String, u64)> },
    /// An account's profile picture.
    PfpSet { account: String, set: String, uid: String },
    /// Genesis: a set defined before the start (its held fee and bonds into `tot/token`),
    /// with its draw's swap table (`(slot, uid index)`) for the uids already used.
    SetSeeded { set: Box<Set>, perm: Vec<(u64, u64)> },
    /// Genesis: an NFT held by an account at the start, last changed hands at `block`.
    NftSeeded {
        set: String,
        uid: String,
        owner: String,
        block: u64,
    },
    /// Genesis: mint tokens held by an account at the start.
    FtSeeded { set: String, account: String, qty: u64 },
    /// Genesis: an offer open at the start (its item from the seller, as `Offered`; its
    /// high bid, if any, held as `BidPlaced` holds it).
    OfferSeeded(Box<Offer>),
}

impl NftEvent {
    /// What the seller of a sale receives.
    pub fn seller_gets(price: u64, fee: u64, royalties: &[Share]) -> u64 {
        price
            .saturating_sub(fee)
            .saturating_sub(royalties.iter().map(|s| s.amount).sum::<u64>())
    }
}

/// The schema compiled in; a test checks that it is the file under `schemas/`.
pub const SCHEMA: &str = include_str!("../../../../schemas/nft_event.avsc");

/// The first schema (`schemas/history/`), before the genesis events: records it wrote are
/// read with the codec's history, each into the union branch of the same name.
const SCHEMA_V1: &str = include_str!("../../../../schemas/history/nft_event.v1.avsc");

fn codec() -> Result<&'static SingleObjectCodec, CodecError> {
    static CODEC: OnceLock<Result<SingleObjectCodec, CodecError>> = OnceLock::new();
    CODEC
        .get_or_init(|| SingleObjectCodec::new("nft event", SCHEMA, &[SCHEMA_V1]))
        .as_ref()
        .map_err(Clone::clone)
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn shape(detail: String) -> CodecError {
    CodecError::Shape {
        what: "nft event",
        detail,
    }
}

fn split_value(d: &[(String, u64)]) -> Value {
    Value::Array(
        d.iter()
            .map(|(a, bp)| record(vec![("account", s(a)), ("bp", long_u64(*bp))]))
            .collect(),
    )
}

fn read_split(items: &[Value]) -> Result<Vec<(String, u64)>, CodecError> {
    items
        .iter()
        .map(|v| {
            let f = Fields::of("nft royalty split", v)?;
            Ok((f.string("account")?, f.u64("bp")?))
        })
        .collect()
}

fn set_value(x: &Set) -> Value {
    record(vec![
        ("name", s(&x.name)),
        ("author", s(&x.author)),
        ("script", s(&x.script)),
        ("permlink", s(&x.permlink)),
        ("long_name", s(&x.long_name)),
        ("kind", long_u64(u64::from(x.kind))),
        ("handling", s(&x.handling)),
        ("start", s(&x.start)),
        ("end", s(&x.end)),
        ("total", long_u64(x.total)),
        ("minted", long_u64(x.minted)),
        ("melted", long_u64(x.melted)),
        ("royalty_bp", long_u64(x.royalty_bp)),
        (
            "distro",
            match &x.distro {
                None => Value::Union(0, Box::new(Value::Null)),
                Some(d) => Value::Union(1, Box::new(split_value(d))),
            },
        ),
        ("bond", long_u64(x.bond)),
        ("fee_held", long_u64(x.fee_held)),
        ("exe_size", long_u64(x.exe_size)),
        ("opt_size", long_u64(x.opt_size)),
        ("block", long_u64(x.block)),
    ])
}

fn read_set(v: &Value) -> Result<Set, CodecError> {
    let f = Fields::of("nft set", v)?;
    let kind = u8::try_from(f.u64("kind")?).map_err(|_| shape("set kind out of range".into()))?;
    let distro = match strip_union(f.get("distro")?) {
        Value::Null => None,
        Value::Array(items) => Some(read_split(items)?),
        _ => return Err(shape("distro: neither null nor an array".into())),
    };
    Ok(Set {
        name: f.string("name")?,
        author: f.string("author")?,
        script: f.string("script")?,
        permlink: f.string("permlink")?,
        long_name: f.string("long_name")?,
        kind,
        handling: f.string("handling")?,
        start: f.string("start")?,
        end: f.string("end")?,
        total: f.u64("total")?,
        minted: f.u64("minted")?,
        melted: f.u64("melted")?,
        royalty_bp: f.u64("royalty_bp")?,
        distro,
        bond: f.u64("bond")?,
        fee_held: f.u64("fee_held")?,
        exe_size: f.u64("exe_size")?,
        opt_size: f.u64("opt_size")?,
        block: f.u64("block")?,
    })
}

fn kind_of(f: &Fields<'_>, name: &str) -> Result<OfferKind, CodecError> {
    let k = f.string(name)?;
    OfferKind::parse(&k).ok_or_else(|| shape(format!("{name}: unknown offer kind {k:?}")))
}

fn currency_of(f: &Fields<'_>, name: &str) -> Result<Currency, CodecError> {
    let c = f.string(name)?;
    Currency::parse(&c).ok_or_else(|| shape(format!("{name}: unknown currency {c:?}")))
}

fn offer_value(o: &Offer) -> Value {
    record(vec![
        ("kind", s(o.kind.as_str())),
        ("set", s(&o.set)),
        ("id", s(&o.id)),
        ("seller", s(&o.seller)),
        ("currency", s(o.currency.as_str())),
        ("price", long_u64(o.price)),
        ("buy_now", long_u64(o.buy_now)),
        ("to", s(&o.to)),
        ("days", long_u64(o.days)),
        ("expires", long_u64(o.expires)),
        ("bids", long_u64(o.bids)),
        ("high", long_u64(o.high)),
        ("bidder", s(&o.bidder)),
        ("block", long_u64(o.block)),
    ])
}

fn read_offer(v: &Value) -> Result<Offer, CodecError> {
    let f = Fields::of("nft offer", v)?;
    Ok(Offer {
        kind: kind_of(&f, "kind")?,
        set: f.string("set")?,
        id: f.string("id")?,
        seller: f.string("seller")?,
        currency: currency_of(&f, "currency")?,
        price: f.u64("price")?,
        buy_now: f.u64("buy_now")?,
        to: f.string("to")?,
        days: f.u64("days")?,
        expires: f.u64("expires")?,
        bids: f.u64("bids")?,
        high: f.u64("high")?,
        bidder: f.string("bidder")?,
        block: f.u64("block")?,
    })
}

impl NftEvent {
    fn to_value(&self) -> Value {
        let (branch, body) = match self {
            NftEvent::SetDefined {
                set,
                definer,
                paid,
                fee,
            } => (
                0,
                record(vec![
                    ("set", set_value(set)),
                    ("definer", s(definer)),
                    ("paid", long_u64(*paid)),
                    ("fee", long_u64(*fee)),
                ]),
            ),
            NftEvent::Refunded {
                account,
                amount,
                currency,
                op,
                why,
            } => (
                1,
                record(vec![
                    ("account", s(account)),
                    ("amount", long_u64(*amount)),
                    ("currency", s(currency.as_str())),
                    ("op", s(op)),
                    ("why", s(why)),
                ]),
            ),
            NftEvent::FtMoved { set, from, to, qty } => (
                2,
                record(vec![
                    ("set", s(set)),
                    ("from", s(from)),
                    ("to", s(to)),
                    ("qty", long_u64(*qty)),
                ]),
            ),
            NftEvent::MintRequested {
                set,
                owner,
                seq,
                txid,
                block,
            } => (
                3,
                record(vec![
                    ("set", s(set)),
                    ("owner", s(owner)),
                    ("seq", long_u64(*seq)),
                    ("txid", s(txid)),
                    ("block", long_u64(*block)),
                ]),
            ),
            NftEvent::Minted {
                set,
                uid,
                owner,
                seq,
                slot,
                block,
                fee_paid,
                fee_burned,
            } => (
                4,
                record(vec![
                    ("set", s(set)),
                    ("uid", s(uid)),
                    ("owner", s(owner)),
                    ("seq", long_u64(*seq)),
                    ("slot", long_u64(*slot)),
                    ("block", long_u64(*block)),
                    ("fee_paid", long_u64(*fee_paid)),
                    ("fee_burned", long_u64(*fee_burned)),
                ]),
            ),
            NftEvent::NftMoved {
                set,
                uid,
                from,
                to,
                block,
            } => (
                5,
                record(vec![
                    ("set", s(set)),
                    ("uid", s(uid)),
                    ("from", s(from)),
                    ("to", s(to)),
                    ("block", long_u64(*block)),
                ]),
            ),
            NftEvent::Melted { set, uid, owner, bond } => (
                6,
                record(vec![
                    ("set", s(set)),
                    ("uid", s(uid)),
                    ("owner", s(owner)),
                    ("bond", long_u64(*bond)),
                ]),
            ),
            NftEvent::Offered(o) => (7, record(vec![("offer", offer_value(o))])),
            NftEvent::Closed { offer, why, block } => (
                8,
                record(vec![
                    ("offer", offer_value(offer)),
                    ("why", s(why.as_str())),
                    ("block", long_u64(*block)),
                ]),
            ),
            NftEvent::Sold {
                offer,
                buyer,
                price,
                paid,
                fee,
                royalties,
                block,
            } => (
                9,
                record(vec![
                    ("offer", offer_value(offer)),
                    ("buyer", s(buyer)),
                    ("price", long_u64(*price)),
                    ("paid", long_u64(*paid)),
                    ("fee", long_u64(*fee)),
                    (
                        "royalties",
                        Value::Array(
                            royalties
                                .iter()
                                .map(|r| record(vec![("account", s(&r.account)), ("amount", long_u64(r.amount))]))
                                .collect(),
                        ),
                    ),
                    ("block", long_u64(*block)),
                ]),
            ),
            NftEvent::BidPlaced {
                kind,
                set,
                id,
                currency,
                bidder,
                amount,
                prev_bidder,
                prev_amount,
            } => (
                10,
                record(vec![
                    ("kind", s(kind.as_str())),
                    ("set", s(set)),
                    ("id", s(id)),
                    ("currency", s(currency.as_str())),
                    ("bidder", s(bidder)),
                    ("amount", long_u64(*amount)),
                    ("prev_bidder", s(prev_bidder)),
                    ("prev_amount", long_u64(*prev_amount)),
                ]),
            ),
            NftEvent::RoyaltySplit { set, distro } => {
                (11, record(vec![("set", s(set)), ("distro", split_value(distro))]))
            }
            NftEvent::PfpSet { account, set, uid } => (
                12,
                record(vec![("account", s(account)), ("set", s(set)), ("uid", s(uid))]),
            ),
            NftEvent::SetSeeded { set, perm } => (
                13,
                record(vec![
                    ("set", set_value(set)),
                    (
                        "perm",
                        Value::Array(
                            perm.iter()
                                .map(|(slot, index)| {
                                    record(vec![("slot", long_u64(*slot)), ("index", long_u64(*index))])
                                })
                                .collect(),
                        ),
                    ),
                ]),
            ),
            NftEvent::NftSeeded { set, uid, owner, block } => (
                14,
                record(vec![
                    ("set", s(set)),
                    ("uid", s(uid)),
                    ("owner", s(owner)),
                    ("block", long_u64(*block)),
                ]),
            ),
            NftEvent::FtSeeded { set, account, qty } => (
                15,
                record(vec![("set", s(set)), ("account", s(account)), ("qty", long_u64(*qty))]),
            ),
            NftEvent::OfferSeeded(o) => (16, record(vec![("offer", offer_value(o))])),
        };
        record(vec![("event", Value::Union(branch, Box::new(body)))])
    }
}

impl ModuleEvent for NftEvent {
    type CodecError = CodecError;

    fn kind(&self) -> &'static str {
        match self {
            NftEvent::SetDefined { .. } => "SetDefined",
            NftEvent::Refunded { .. } => "Refunded",
            NftEvent::FtMoved { .. } => "FtMoved",
            NftEvent::MintRequested { .. } => "MintRequested",
            NftEvent::Minted { .. } => "Minted",
            NftEvent::NftMoved { .. } => "NftMoved",
            NftEvent::Melted { .. } => "Melted",
            NftEvent::Offered(_) => "Offered",
            NftEvent::Closed { .. } => "Closed",
            NftEvent::Sold { .. } => "Sold",
            NftEvent::BidPlaced { .. } => "BidPlaced",
            NftEvent::RoyaltySplit { .. } => "RoyaltySplit",
            NftEvent::PfpSet { .. } => "PfpSet",
            NftEvent::SetSeeded { .. } => "SetSeeded",
            NftEvent::NftSeeded { .. } => "NftSeeded",
            NftEvent::FtSeeded { .. } => "FtSeeded",
            NftEvent::OfferSeeded(_) => "OfferSeeded",
        }
    }

    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec()?.encode(self.to_value())
    }

    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let v = codec()?.decode(bytes)?;
        let (branch, body) = Fields::of("nft event", &v)?.union("event")?;
        let f = Fields::of("nft event", body)?;
        Ok(match branch {
            0 => NftEvent::SetDefined {
                set: Box::new(read_set(f.get("set")?)?),
                definer: f.string("definer")?,
                paid: f.u64("paid")?,
                fee: f.u64("fee")?,
            },
            1 => NftEvent::Refunded {
                account: f.string("account")?,
                amount: f.u64("amount")?,
                currency: currency_of(&f, "currency")?,
                op: f.string("op")?,
                why: f.string("why")?,
            },
            2 => NftEvent::FtMoved {
                set: f.string("set")?,
                from: f.string("from")?,
                to: f.string("to")?,
                qty: f.u64("qty")?,
            },
            3 => NftEvent::MintRequested {
                set: f.string("set")?,
                owner: f.string("owner")?,
                seq: f.u64("seq")?,
                txid: f.string("txid")?,
                block: f.u64("block")?,
            },
            4 => NftEvent::Minted {
                set: f.string("set")?,
                uid: f.string("uid")?,
                owner: f.string("owner")?,
                seq: f.u64("seq")?,
                slot: f.u64("slot")?,
                block: f.u64("block")?,
                fee_paid: f.u64("fee_paid")?,
                fee_burned: f.u64("fee_burned")?,
            },
            5 => NftEvent::NftMoved {
                set: f.string("set")?,
                uid: f.string("uid")?,
                from: f.string("from")?,
                to: f.string("to")?,
                block: f.u64("block")?,
            },
            6 => NftEvent::Melted {
                set: f.string("set")?,
                uid: f.string("uid")?,
                owner: f.string("owner")?,
                bond: f.u64("bond")?,
            },
            7 => NftEvent::Offered(Box::new(read_offer(f.get("offer")?)?)),
            8 => NftEvent::Closed {
                offer: Box::new(read_offer(f.get("offer")?)?),
                why: {
                    let w = f.string("why")?;
                    CloseWhy::parse(&w).ok_or_else(|| shape(format!("why: unknown reason {w:?}")))?
                },
                block: f.u64("block")?,
            },
            9 => NftEvent::Sold {
                offer: Box::new(read_offer(f.get("offer")?)?),
                buyer: f.string("buyer")?,
                price: f.u64("price")?,
                paid: f.u64("paid")?,
                fee: f.u64("fee")?,
                royalties: f
                    .array("royalties")?
                    .iter()
                    .map(|v| {
                        let r = Fields::of("nft royalty", v)?;
                        Ok(Share {
                            account: r.string("account")?,
                            amount: r.u64("amount")?,
                        })
                    })
                    .collect::<Result<_, CodecError>>()?,
                block: f.u64("block")?,
            },
            10 => NftEvent::BidPlaced {
                kind: kind_of(&f, "kind")?,
                set: f.string("set")?,
                id: f.string("id")?,
                currency: currency_of(&f, "currency")?,
                bidder: f.string("bidder")?,
                amount: f.u64("amount")?,
                prev_bidder: f.string("prev_bidder")?,
                prev_amount: f.u64("prev_amount")?,
            },
            11 => NftEvent::RoyaltySplit {
                set: f.string("set")?,
                distro: read_split(f.array("distro")?)?,
            },
            12 => NftEvent::PfpSet {
                account: f.string("account")?,
                set: f.string("set")?,
                uid: f.string("uid")?,
            },
            13 => NftEvent::SetSeeded {
                set: Box::new(read_set(f.get("set")?)?),
                perm: f
                    .array("perm")?
                    .iter()
                    .map(|v| {
                        let p = Fields::of("nft perm slot", v)?;
                        Ok((p.u64("slot")?, p.u64("index")?))
                    })
                    .collect::<Result<_, CodecError>>()?,
            },
            14 => NftEvent::NftSeeded {
                set: f.string("set")?,
                uid: f.string("uid")?,
                owner: f.string("owner")?,
                block: f.u64("block")?,
            },
            15 => NftEvent::FtSeeded {
                set: f.string("set")?,
                account: f.string("account")?,
                qty: f.u64("qty")?,
            },
            16 => NftEvent::OfferSeeded(Box::new(read_offer(f.get("offer")?)?)),
            other => return Err(shape(format!("unknown event branch {other}"))),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use opentoken_core::test_utils::assert_event_codec;

    pub(crate) fn sample_set() -> Set {
        Set {
            name: "dlux".into(),
            author: "alice".into(),
            script: "QmScript".into(),
            permlink: "the-post".into(),
            long_name: "DLUX Genesis".into(),
            kind: 1,
            handling: "svg".into(),
            start: "00".into(),
            end: "==".into(),
            total: 4096,
            minted: 3,
            melted: 1,
            royalty_bp: 250,
            distro: Some(vec![("alice".into(), 6000), ("bob".into(), 4000)]),
            bond: 10,
            fee_held: 100_000,
            exe_size: 0,
            opt_size: 0,
            block: 77,
        }
    }

    pub(crate) fn sample_offer(kind: OfferKind) -> Offer {
        Offer {
            kind,
            set: "dlux".into(),
            id: "0A".into(),
            seller: "bob".into(),
            currency: if kind.is_nft() { Currency::Hbd } else { Currency::Token },
            price: 1000,
            buy_now: 5000,
            to: "carol".into(),
            days: 7,
            expires: 1234,
            bids: 2,
            high: 1500,
            bidder: "dave".into(),
            block: 99,
        }
    }

    pub(crate) fn samples() -> Vec<NftEvent> {
        let mut plain = sample_set();
        plain.distro = None;
        let mut v = vec![
            NftEvent::SetDefined {
                set: Box::new(sample_set()),
                definer: "alice".into(),
                paid: 200_000,
                fee: 150_000,
            },
            NftEvent::SetDefined {
                set: Box::new(plain),
                definer: "alice".into(),
                paid: 1,
                fee: 1,
            },
            NftEvent::Refunded {
                account: "bob".into(),
                amount: 5,
                currency: Currency::Hive,
                op: "nft_buy".into(),
                why: "gone".into(),
            },
            NftEvent::FtMoved {
                set: "dlux".into(),
                from: "alice".into(),
                to: "bob".into(),
                qty: 3,
            },
            NftEvent::MintRequested {
                set: "dlux".into(),
                owner: "bob".into(),
                seq: 4,
                txid: "ab".repeat(20),
                block: 100,
            },
            NftEvent::Minted {
                set: "dlux".into(),
                uid: "0A".into(),
                owner: "bob".into(),
                seq: 4,
                slot: 10,
                block: 200,
                fee_paid: 50,
                fee_burned: 50,
            },
            NftEvent::NftMoved {
                set: "dlux".into(),
                uid: "0A".into(),
                from: "bob".into(),
                to: "carol".into(),
                block: 201,
            },
            NftEvent::Melted {
                set: "dlux".into(),
                uid: "0A".into(),
                owner: "carol".into(),
                bond: 10,
            },
            NftEvent::Sold {
                offer: Box::new(sample_offer(OfferKind::FtAuction)),
                buyer: "dave".into(),
                price: 1500,
                paid: 0,
                fee: 15,
                royalties: vec![Share {
                    account: "alice".into(),
                    amount: 37,
                }],
                block: 1234,
            },
            NftEvent::BidPlaced {
                kind: OfferKind::NftAuction,
                set: "dlux".into(),
                id: "0A".into(),
                currency: Currency::Token,
                bidder: "erin".into(),
                amount: 2000,
                prev_bidder: "dave".into(),
                prev_amount: 1500,
            },
            NftEvent::RoyaltySplit {
                set: "dlux".into(),
                distro: vec![("alice".into(), 10_000)],
            },
            NftEvent::PfpSet {
                account: "bob".into(),
                set: "dlux".into(),
                uid: "0A".into(),
            },
        ];
        for kind in OfferKind::ALL {
            v.push(NftEvent::Offered(Box::new(sample_offer(kind))));
        }
        v.push(NftEvent::SetSeeded {
            set: Box::new(sample_set()),
            perm: vec![(0, 4000), (7, 4001)],
        });
        v.push(NftEvent::SetSeeded {
            set: Box::new(sample_set()),
            perm: vec![],
        });
        v.push(NftEvent::NftSeeded {
            set: "dlux".into(),
            uid: "0A".into(),
            owner: "bob".into(),
            block: 9,
        });
        v.push(NftEvent::FtSeeded {
            set: "dlux".into(),
            account: "bob".into(),
            qty: 3,
        });
        v.push(NftEvent::OfferSeeded(Box::new(sample_offer(OfferKind::NftAuction))));
        for why in [CloseWhy::Cancelled, CloseWhy::NoBids] {
            v.push(NftEvent::Closed {
                offer: Box::new(sample_offer(OfferKind::NftSale)),
                why,
                block: 5,
            });
        }
        v
    }

    /// Records written with the first schema (`schemas/history/nft_event.v1.avsc`, before
    /// the genesis events) decode with today's reader to the same events; a genesis event
    /// does not fit it.
    #[test]
    fn records_of_the_first_schema_still_decode() {
        let codec = codec().expect("compiled schemas");
        let old = apache_avro::Schema::parse_str(SCHEMA_V1).expect("parses");
        let seeded = ["SetSeeded", "NftSeeded", "FtSeeded", "OfferSeeded"];
        for e in samples() {
            let written = codec.encode_with_writer(&old, e.to_value());
            if seeded.contains(&e.kind()) {
                assert!(written.is_err(), "{e:?} fits v1");
                continue;
            }
            let bytes = written.expect("fits v1");
            assert_ne!(bytes, e.encode().expect("encodes"), "written with the old fingerprint");
            assert_eq!(NftEvent::decode(&bytes).expect("a v1 record decodes"), e);
        }
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
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../schemas/nft_event.avsc"),
            SCHEMA,
        );
    }
}
