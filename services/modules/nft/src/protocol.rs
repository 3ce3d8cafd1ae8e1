//! The messages between the NFT module and the token module.
//!
//! The NFT module holds no balance of its own: every token it takes is escrowed by the
//! token module (its `tot/nft` total) and every token it gives back is a message. The ops
//! that pay in the token (`nft_define`, `nft_buy`, `nft_bid`, `nft_reserve_complete`,
//! `ft_buy`, `ft_bid`, `ft_escrow_complete`; [`PAID_OPS`]) are routed to the token module,
//! which escrows the amount and sends the op here as [`KIND_PAID`]; this module settles it
//! or refunds it in full with the reason, in the block the message arrives. What it owes
//! goes back as [`KIND_CREDIT`] (to an account's liquid balance) and [`KIND_BURN`] (out of
//! the supply: half of a set's define fee).
//!
//! The token module must know what a purchase costs before it escrows it, and an op names
//! only the item: every TOKEN-priced sale and reserved transfer is mirrored to it with
//! [`KIND_PRICE`] (price 0 when it closes). A purchase that meets a stale price (the
//! item closed in the block the message was in flight) is refunded here.
//!
//! Payloads are canonical JSON (serde's output of these structs).

use opentoken_core::{Reject, RejectCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The module's name (its topic, its messages).
pub const NAME: &str = "nft";
/// The module that holds the token.
pub const TOKEN: &str = "token";
/// The module that holds HIVE and HBD (the multi-sig account).
pub const MULTISIG: &str = "multisig";

/// token -> nft: an op whose amount the token module escrowed ([`Paid`]).
pub const KIND_PAID: &str = "paid";
/// nft -> token: escrowed tokens to an account ([`Credit`]).
pub const KIND_CREDIT: &str = "credit";
/// nft -> token: escrowed tokens out of the supply ([`Burn`]).
pub const KIND_BURN: &str = "burn";
/// nft -> token: what an item costs now ([`Price`]).
pub const KIND_PRICE: &str = "price";

/// multisig -> nft: a HIVE/HBD deposit whose memo names an offer ([`CoinIn`]), escrowed
/// by the multisig module.
pub const KIND_COIN: &str = "coin";
/// nft -> multisig: coin out of the escrow (`opentoken_dex::protocol::Pay`: to a Layer-2
/// balance or out to Hive).
pub const KIND_PAY: &str = "pay";

/// What a HIVE/HBD deposit's memo asks of an offer (the reference's memo words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CoinWhat {
    /// `NFTbuy <set>:<uid>`: buy a HIVE/HBD-priced sale.
    #[serde(rename = "buy")]
    Buy,
    /// `NFTbid <set>:<uid>`: bid on a HIVE/HBD auction.
    #[serde(rename = "bid")]
    Bid,
    /// `NFTtrade <set>:<uid>`: complete a HIVE/HBD-priced reserved transfer.
    #[serde(rename = "trade")]
    Trade,
}

/// A deposit the multisig module escrowed for this module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoinIn {
    pub from: String,
    /// `HIVE` or `HBD`.
    pub coin: String,
    pub amount: u64,
    pub what: CoinWhat,
    pub set: String,
    pub id: String,
    pub txid: String,
    pub block: u64,
}

/// What a deposit memo means to this module: `None` when it is not an NFT memo (its first
/// word is not `NFTbuy`, `NFTbid`, `NFTtrade` or `NFT`), else the request or why it is
/// malformed (the deposit is then refunded with that reason).
pub fn parse_memo(memo: &str) -> Option<Result<(CoinWhat, String, String), String>> {
    let memo = memo.trim();
    let (word, rest) = memo.split_once(' ').unwrap_or((memo, ""));
    let what = match word {
        "NFTbuy" => CoinWhat::Buy,
        "NFTbid" => CoinWhat::Bid,
        "NFTtrade" => CoinWhat::Trade,
        "NFT" => {
            return Some(Err(
                "mint-token sales for HIVE/HBD by quantity (fts_sell_h) are not offered on this node".into(),
            ))
        }
        _ => return None,
    };
    let Some((set, id)) = rest.trim().split_once(':') else {
        return Some(Err(format!("`{word}` needs <set>:<uid>")));
    };
    let ok_set = !set.is_empty()
        && set.len() <= MAX_SET_NAME
        && set.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let ok_id =
        !id.is_empty() && id.len() <= MAX_ID && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'=');
    if !ok_set || !ok_id {
        return Some(Err(format!("`{word}` names no valid <set>:<uid>")));
    }
    Some(Ok((what, set.to_string(), id.to_string())))
}

/// The ops the token module takes for this module, with the field their escrowed
/// amount comes from (`None`: the mirrored price of the item the op names).
pub const PAID_OPS: &[(&str, Option<&str>)] = &[
    ("nft_define", Some("max_fee")),
    ("nft_buy", None),
    ("nft_bid", Some("bid_amount")),
    ("nft_reserve_complete", None),
    ("ft_buy", None),
    ("ft_bid", Some("bid_amount")),
    ("ft_escrow_complete", None),
];

/// An op the token module escrowed `amount` for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paid {
    pub op: String,
    pub from: String,
    pub amount: u64,
    /// The op's JSON object as it arrived (bounded by the chain's custom_json limit).
    pub payload: String,
    pub txid: String,
    pub block: u64,
    pub trx: u32,
    pub op_in_trx: u32,
}

/// Escrowed tokens to `account`'s liquid balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub account: String,
    pub amount: u64,
    /// What it is for: `sale`, `royalty`, `refund`, `outbid`, `bond`, `fee`.
    pub why: String,
    /// The set, item or op it belongs to (the feed, the account history).
    pub item: String,
}

/// Escrowed tokens out of the supply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Burn {
    pub amount: u64,
    pub item: String,
}

/// What `item` (an [`item_key`]) costs now; 0 when it is no longer offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub item: String,
    pub price: u64,
}

/// What an offer is priced in: the community token (settled through the token module) or
/// HIVE/HBD (settled through the multi-sig account's deposits and outflows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Currency {
    #[serde(rename = "TOKEN")]
    Token,
    #[serde(rename = "HIVE")]
    Hive,
    #[serde(rename = "HBD")]
    Hbd,
}

impl Currency {
    pub fn as_str(self) -> &'static str {
        match self {
            Currency::Token => "TOKEN",
            Currency::Hive => "HIVE",
            Currency::Hbd => "HBD",
        }
    }

    /// `TOKEN`, `HIVE`, `HBD` in any case (the reference upper-cases `type`).
    pub fn parse(s: &str) -> Option<Self> {
        [Currency::Token, Currency::Hive, Currency::Hbd]
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    pub fn is_coin(self) -> bool {
        self != Currency::Token
    }
}

/// The offer kinds, with the reference's names (they are its state prefixes and its API
/// fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OfferKind {
    /// An NFT for sale at a fixed price (`ls`).
    #[serde(rename = "ls")]
    NftSale,
    /// An NFT auction (`ah`).
    #[serde(rename = "ah")]
    NftAuction,
    /// An NFT reserved for one buyer at a price (`t`).
    #[serde(rename = "t")]
    NftReserve,
    /// A mint token for sale at a fixed price (`lt`).
    #[serde(rename = "lt")]
    FtSale,
    /// A mint-token auction (`am`).
    #[serde(rename = "am")]
    FtAuction,
    /// A mint token reserved for one buyer at a price (`fts`).
    #[serde(rename = "fts")]
    FtReserve,
}

impl OfferKind {
    pub const ALL: [OfferKind; 6] = [
        OfferKind::NftSale,
        OfferKind::NftAuction,
        OfferKind::NftReserve,
        OfferKind::FtSale,
        OfferKind::FtAuction,
        OfferKind::FtReserve,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OfferKind::NftSale => "ls",
            OfferKind::NftAuction => "ah",
            OfferKind::NftReserve => "t",
            OfferKind::FtSale => "lt",
            OfferKind::FtAuction => "am",
            OfferKind::FtReserve => "fts",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the offer holds an NFT (else one mint token).
    pub fn is_nft(self) -> bool {
        matches!(self, OfferKind::NftSale | OfferKind::NftAuction | OfferKind::NftReserve)
    }

    pub fn is_auction(self) -> bool {
        matches!(self, OfferKind::NftAuction | OfferKind::FtAuction)
    }

    /// Whether the token module mirrors its price (the ops that buy it name only the item).
    pub fn is_priced(self) -> bool {
        !self.is_auction()
    }
}

/// The key of an offer in messages and the API: `<kind>/<set>:<id>`.
pub fn item_key(kind: OfferKind, set: &str, id: &str) -> String {
    format!("{}/{set}:{id}", kind.as_str())
}

/// A string field of an op, 1..=`max` bytes.
pub fn text_field<'a>(payload: &'a Map<String, Value>, name: &str, max: usize) -> Result<&'a str, Reject> {
    match payload.get(name) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= max => Ok(s),
        Some(Value::String(s)) if s.is_empty() => Err(Reject::field(format!("`{name}` is empty"))),
        Some(Value::String(_)) => Err(Reject::field(format!("`{name}` is longer than {max} bytes"))),
        Some(other) => Err(Reject::field(format!(
            "`{name}` must be a string, got {}",
            opentoken_core::field::kind(other)
        ))),
        None => Err(Reject::field(format!("`{name}` is missing"))),
    }
}

/// The longest set name (the reference's names are short; a key holds it).
pub const MAX_SET_NAME: usize = 32;
/// The longest uid or offer id (a mint-token offer id is `Qm` + 44 base58 symbols).
pub const MAX_ID: usize = 64;

/// A set name: 1..=32 bytes of ASCII letters, digits, `-` and `_` (it is part of keys,
/// item keys and memos, so no `/`, `:`, spaces or control characters).
pub fn set_name(payload: &Map<String, Value>) -> Result<&str, Reject> {
    let s = text_field(payload, "set", MAX_SET_NAME)?;
    check_name("set", s)?;
    Ok(s)
}

pub(crate) fn check_name(field: &str, s: &str) -> Result<(), Reject> {
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(())
    } else {
        Err(Reject::field(format!(
            "`{field}` may hold only ASCII letters, digits, `-` and `_`, got {:?}",
            s.chars().take(40).collect::<String>()
        )))
    }
}

/// A uid or offer id: 1..=64 bytes of the reference's base64 alphabet or base58.
pub fn item_id(payload: &Map<String, Value>) -> Result<&str, Reject> {
    let s = text_field(payload, "uid", MAX_ID)?;
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'=') {
        Ok(s)
    } else {
        Err(Reject::field(format!(
            "`uid` may hold only the symbols 0-9 A-Z a-z + =, got {:?}",
            s.chars().take(40).collect::<String>()
        )))
    }
}

/// The item a priced purchase names: what the token module looks up its mirrored price
/// by. An error for an op that is not a priced purchase or a payload without a valid
/// `set` and `uid`.
pub fn priced_item(op: &str, payload: &Map<String, Value>) -> Result<String, Reject> {
    let kind = match op {
        "nft_buy" => OfferKind::NftSale,
        "nft_reserve_complete" => OfferKind::NftReserve,
        "ft_buy" => OfferKind::FtSale,
        "ft_escrow_complete" => OfferKind::FtReserve,
        other => {
            return Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("`{other}` does not buy a priced item"),
            ))
        }
    };
    Ok(item_key(kind, set_name(payload)?, item_id(payload)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn priced_items_name_the_reference_prefixes() {
        let p = obj(json!({"set": "dlux", "uid": "0A"}));
        assert_eq!(priced_item("nft_buy", &p).ok().as_deref(), Some("ls/dlux:0A"));
        assert_eq!(
            priced_item("ft_escrow_complete", &p).ok().as_deref(),
            Some("fts/dlux:0A")
        );
        assert!(priced_item("nft_bid", &p).is_err());
        assert!(priced_item("nft_buy", &obj(json!({"set": "a/b", "uid": "0A"}))).is_err());
        assert!(priced_item("nft_buy", &obj(json!({"set": "dlux", "uid": "0:A"}))).is_err());
        assert!(priced_item("nft_buy", &obj(json!({"set": "dlux", "uid": 5}))).is_err());
    }
}
