//! The module's state: key layout, value types and their encoding.
//!
//! | key | value |
//! |---|---|
//! | `set/<name>` | a [`Set`], canonical JSON |
//! | `perm/<set>/<slot BE8>` | the mint draw's swap table (a lazy Fisher-Yates shuffle of the set's uid range): the uid index now at that slot, 8-byte BE; absent: the slot's own index |
//! | `nft/<set>/<uid>` | an [`Nft`], canonical JSON: its owner, or the offer kind holding it |
//! | `own/<account>/<set>/<uid>` | empty: the account's NFTs |
//! | `ft/<account>/<set>` | how many of the set's mint tokens the account holds, 8-byte BE |
//! | `off/<kind>/<set>:<id>` | an open [`Offer`], canonical JSON |
//! | `offacct/<seller>/<kind>/<set>:<id>` | empty: the account's open offers |
//! | `exp/<block BE8>/<kind>/<set>:<id>` | empty: an auction that ends at that block |
//! | `mintq/<seq BE8>` | a [`MintRequest`] waiting for the next checkpoint's block id |
//! | `mseq` | the next mint request number, 8-byte BE |
//! | `pfp/<account>` | the account's profile picture, `<set>:<uid>` |
//! | `tot/token` | every token the module holds in the token module's escrow: sets' define fees until their first mint, bonds of NFTs not melted, auctions' high bids |
//! | `tot/HIVE`, `tot/HBD` | the high bids of HIVE/HBD auctions, held in the multisig module's escrow |
//!
//! Amounts are the token's base units (`u64`); zero counts are deleted.

use crate::protocol::{Currency, OfferKind};
use opentoken_core::StateRead;
use serde::{Deserialize, Serialize};

pub const SEQ: &[u8] = b"mseq";
pub const HELD: &[u8] = b"tot/token";

/// What the module holds in `currency`: [`HELD`] for the token (in the token module's
/// escrow), `tot/HIVE` / `tot/HBD` for the high bids of HIVE/HBD auctions (in the multisig
/// module's escrow).
pub fn held(currency: Currency) -> Vec<u8> {
    match currency {
        Currency::Token => HELD.to_vec(),
        c => format!("tot/{}", c.as_str()).into_bytes(),
    }
}
pub const EXP_PREFIX: &[u8] = b"exp/";
pub const MINTQ_PREFIX: &[u8] = b"mintq/";
pub const SET_PREFIX: &[u8] = b"set/";

/// A defined set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Set {
    /// `n`
    pub name: String,
    /// `a`: who defined it, and whom royalties go to without a split.
    pub author: String,
    /// `s`: the renderer's IPFS hash.
    pub script: String,
    /// `p`: the permlink of the set's Hive post.
    pub permlink: String,
    /// `nl`
    pub long_name: String,
    /// `t`: 1..=4.
    pub kind: u8,
    /// `e`: "svg", "html", "img".
    pub handling: String,
    /// `o`, `m`: the uid range, inclusive, in the reference's base64.
    pub start: String,
    pub end: String,
    /// Mint tokens made at definition (`total`); never more than the range's size.
    pub total: u64,
    /// `i`: NFTs minted.
    pub minted: u64,
    /// `d`: NFTs melted.
    pub melted: u64,
    /// `r`: royalty, basis points of every sale's price.
    pub royalty_bp: u64,
    /// `ra`: how the royalty is split (`None`: all to the author); basis points summing
    /// to 10000.
    pub distro: Option<Vec<(String, u64)>>,
    /// `b`: bond per NFT, refunded to whoever melts it.
    pub bond: u64,
    /// `f`: the define fee without the bonds, held until the first mint.
    pub fee_held: u64,
    /// `x`, `y`: the sizes of the NFTs' exe and opt fields (types 2..=4).
    pub exe_size: u64,
    pub opt_size: u64,
    pub block: u64,
}

impl Set {
    /// How many uids the range holds.
    pub fn uids(&self) -> u64 {
        let lo = crate::b64::to_number(&self.start).unwrap_or(0);
        let hi = crate::b64::to_number(&self.end).unwrap_or(0);
        hi.saturating_sub(lo).saturating_add(1)
    }

    /// The tokens the set holds in escrow: the unfinalized fee and the bonds of every NFT
    /// and mint token not melted.
    pub fn held(&self) -> u64 {
        self.fee_held
            .saturating_add(self.bond.saturating_mul(self.total.saturating_sub(self.melted)))
    }
}

/// An NFT: who holds it, or which offer kind (`ls`, `ah`, `t`) holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nft {
    pub owner: String,
    /// The block of its last change of hands (the reference's `s` field 0).
    pub last: u64,
}

/// An open offer: a sale, an auction or a reserved transfer of one NFT or mint token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    pub kind: OfferKind,
    pub set: String,
    /// The NFT's uid, or the mint-token offer's id.
    pub id: String,
    /// `o`: the seller.
    pub seller: String,
    /// `h`: what it is priced in.
    pub currency: Currency,
    /// `p`: the price, or an auction's starting price.
    pub price: u64,
    /// `n`: an auction's buy-now price (kept as the reference does; 0: none).
    pub buy_now: u64,
    /// A reserved transfer's buyer.
    pub to: String,
    /// `t`: an auction's length in days.
    pub days: u64,
    /// `e`: the block an auction ends at (0: not an auction).
    pub expires: u64,
    /// `c`: bids so far.
    pub bids: u64,
    /// `b`, `f`: the high bid and its bidder.
    pub high: u64,
    pub bidder: String,
    pub block: u64,
}

impl Offer {
    /// A new offer of `seller`'s item opened at `block`, with no price, bid or buyer yet:
    /// the caller sets what its kind needs.
    pub fn new(kind: OfferKind, set: &str, id: &str, seller: &str, currency: Currency, block: u64) -> Self {
        Self {
            kind,
            set: set.into(),
            id: id.into(),
            seller: seller.into(),
            currency,
            price: 0,
            buy_now: 0,
            to: String::new(),
            days: 0,
            expires: 0,
            bids: 0,
            high: 0,
            bidder: String::new(),
            block,
        }
    }

    pub fn key(&self) -> Vec<u8> {
        offer(self.kind, &self.set, &self.id)
    }

    pub fn item(&self) -> String {
        crate::protocol::item_key(self.kind, &self.set, &self.id)
    }
}

/// A mint token redeemed, waiting for a checkpoint block's id to draw its uid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MintRequest {
    pub set: String,
    pub owner: String,
    pub txid: String,
    pub block: u64,
}

pub fn set(name: &str) -> Vec<u8> {
    format!("set/{name}").into_bytes()
}

pub fn perm(set: &str, slot: u64) -> Vec<u8> {
    let mut k = format!("perm/{set}/").into_bytes();
    k.extend_from_slice(&slot.to_be_bytes());
    k
}

pub fn nft(set: &str, uid: &str) -> Vec<u8> {
    format!("nft/{set}/{uid}").into_bytes()
}

pub fn nft_prefix(set: &str) -> Vec<u8> {
    format!("nft/{set}/").into_bytes()
}

pub fn owned(account: &str, set: &str, uid: &str) -> Vec<u8> {
    format!("own/{account}/{set}/{uid}").into_bytes()
}

pub fn owned_prefix(account: &str) -> Vec<u8> {
    format!("own/{account}/").into_bytes()
}

pub fn ft(account: &str, set: &str) -> Vec<u8> {
    format!("ft/{account}/{set}").into_bytes()
}

pub fn ft_prefix(account: &str) -> Vec<u8> {
    format!("ft/{account}/").into_bytes()
}

pub fn offer(kind: OfferKind, set: &str, id: &str) -> Vec<u8> {
    format!("off/{}/{set}:{id}", kind.as_str()).into_bytes()
}

pub fn offer_prefix(kind: OfferKind) -> Vec<u8> {
    format!("off/{}/", kind.as_str()).into_bytes()
}

pub fn offer_by(seller: &str, kind: OfferKind, set: &str, id: &str) -> Vec<u8> {
    format!("offacct/{seller}/{}/{set}:{id}", kind.as_str()).into_bytes()
}

pub fn offers_by_prefix(seller: &str) -> Vec<u8> {
    format!("offacct/{seller}/").into_bytes()
}

pub fn expiry(block: u64, kind: OfferKind, set: &str, id: &str) -> Vec<u8> {
    let mut k = EXP_PREFIX.to_vec();
    k.extend_from_slice(&block.to_be_bytes());
    k.extend_from_slice(format!("/{}/{set}:{id}", kind.as_str()).as_bytes());
    k
}

/// The block and the offer an expiry key names.
pub fn parse_expiry(key: &[u8]) -> Option<(u64, OfferKind, String, String)> {
    let rest = key.strip_prefix(EXP_PREFIX)?;
    let block = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let tail = std::str::from_utf8(rest.get(9..)?).ok()?;
    let (kind, item) = tail.split_once('/')?;
    let (set, id) = item.split_once(':')?;
    Some((block, OfferKind::parse(kind)?, set.to_string(), id.to_string()))
}

pub fn mint_request(seq: u64) -> Vec<u8> {
    let mut k = MINTQ_PREFIX.to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn pfp(account: &str) -> Vec<u8> {
    format!("pfp/{account}").into_bytes()
}

/// An 8-byte BE count (0 when absent or malformed).
pub fn num(state: &dyn StateRead, key: &[u8]) -> u64 {
    opentoken_core::counter::read(state, key)
}

fn json<T: for<'de> Deserialize<'de>>(state: &dyn StateRead, key: &[u8]) -> Option<Result<T, String>> {
    state.get(key).map(|b| {
        serde_json::from_slice(b).map_err(|e| format!("{} does not decode: {e}", String::from_utf8_lossy(key)))
    })
}

pub fn load_set(state: &dyn StateRead, name: &str) -> Option<Result<Set, String>> {
    json(state, &set(name))
}

pub fn load_nft(state: &dyn StateRead, set: &str, uid: &str) -> Option<Result<Nft, String>> {
    json(state, &nft(set, uid))
}

pub fn load_offer(state: &dyn StateRead, kind: OfferKind, set: &str, id: &str) -> Option<Result<Offer, String>> {
    json(state, &offer(kind, set, id))
}

pub fn load_mint_request(state: &dyn StateRead, key: &[u8]) -> Option<Result<MintRequest, String>> {
    json(state, key)
}
