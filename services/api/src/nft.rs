//! The NFT module on a chain that runs it (the spec has a `modules.nft` section), in the
//! reference node's shapes (spec `dex-nft-api.md` §4.3) so that its NFT wallet keeps working:
//!
//! - `GET /api/nfts/{user}`: the account's NFTs (`result`) and mint tokens (`mint_tokens`).
//! - `GET /api/nft/{set}/{uid}`: one NFT (`item`) and its set (`set`).
//! - `GET /api/sets`, `GET /api/set/{set}`: the sets; one set with its NFTs and their holders.
//! - `GET /api/auctions[/{set}]` (`ah`), `/api/mintauctions[/{set}]` (`am`),
//!   `/api/sales[/{set}]` (`ls`), `/api/mintsales[/{set}]` (`lt`),
//!   `/api/mintsupply[/{set}]` (`am` and `lt` grouped by set): the open offers.
//! - `GET /api/pfp/{user}`: the account's profile picture, while it holds it.
//! - `GET /api/trades/{kind}/{user}`: reserved transfers (`nfts`: `t`) and mint-token
//!   escrows (`fts`: `fts`) from or to the account (the reference's "limbo").
//!
//! On a chain without the module every one of these routes answers 404 with a JSON `error`,
//! as the DEX's do without a DEX. Amounts are integers in base units: an offer priced in the
//! token has the chain's precision, one in HIVE or HBD has 3 (every `{amount, precision,
//! token}` says which).
//!
//! Every answer is bounded whatever the state holds: at most [`NFTS_SHOWN`] NFTs and
//! [`MINT_TOKENS_SHOWN`] sets of mint tokens per account, [`SETS_SHOWN`] sets,
//! [`SET_NFTS_SHOWN`] NFTs of one set, [`OFFERS_SHOWN`] offers per list (per kind in
//! `/api/mintsupply`), [`TRADES_SHOWN`] escrows per account, found among at most
//! [`TRADES_SCAN`] open escrows of the kind. A list that was cut says so with `result_more`
//! (`mint_tokens_more`). The routes that list read up to a few thousand keys and run as heavy
//! routes (slots, per-client rate); `/api/nft` and `/api/pfp` read three keys and run on the
//! blocking pool like the cheap routes.
//!
//! The module's views ([`opentoken_nft::views`]) read a `StateRead`, which the store cannot
//! lend; so each answer first copies the keys it needs from the store into a [`Part`]
//! (bounded scans and point reads), and the module's own views then run on that copy.
//!
//! # Where this differs from the reference (for `docs/compatibility.md`)
//!
//! - `/api/sales/{set}` lists that set's sales. The reference's filter is inverted (it lists
//!   every *other* set's), and it reads an unused `mls` map.
//! - `max` of `/api/sets` and `/api/set/{set}` is the set's `total` (the NFTs it can ever
//!   have: its mint tokens). The reference reads `j`, which only sets defined 14–21 Dec 2021
//!   have; for every other set `/api/sets` fails whole with "Something went wrong".
//! - `max` of `/api/nft`'s `set` is the size of the set's uid range, `end − start + 1`. The
//!   reference's `b64(m) − b64(o)` is one short because its draw excluded `end`; this node's
//!   range includes it.
//! - `/api/nft/{set}/{uid}` of an NFT held by an open offer shows it with `owner` the offer
//!   kind (`ls`, `ah`, `t`), as `/api/set` does. The reference answers `{item: "Not Found"}`
//!   because the NFT's record lives in the listing. An unknown set or NFT is a 404
//!   `{item: "Not Found", error}`; the reference sends 200, or "Something went wrong" as text
//!   for an unknown set.
//! - `/api/set/{set}`'s `result` comes from the NFT records, not from the reference's `u`
//!   ownership string, so that string's orphan groups (spec §2.2) never show. An unknown set
//!   is a 404 with a JSON `error`; the reference sends "Something went wrong" as text.
//! - `fee` is the define fee the set still holds, without the bonds (the set's `f`): all of it
//!   until the first mint, then 0. At the first mint this node pays half of the fee to the
//!   fee account and burns the other half, and it does not keep the amount paid. The
//!   reference keeps showing `f` after it has paid it out.
//! - `total_div` and `last_div` are always 0 and `period_div` is absent: this node has no
//!   set dividends (`nft_div`). The reference's `/api/set` reads them from a wrong path
//!   (`divs`), so it also always shows 0.
//! - Every price carries the offer's own currency, in every list: `/api/sales` and
//!   `/api/trades` as the reference does, and also `/api/mintsales` and `/api/mintauctions`,
//!   which the reference always prints in the token. A HIVE/HBD NFT auction is an `ah` offer
//!   priced in HIVE or HBD: `/api/auctions` lists it with the others and its NFT's holder is
//!   `ah`. The reference keeps those auctions in a second map (`ahh`, holder `hh`).
//! - `/api/mintsupply` has `name_long` in every set entry (the reference leaves it out when
//!   a set's first listing is a fixed-price sale) and lists the sets in name order. There are
//!   no HIVE/HBD mint-token sales (`lth`) on this node, so no sale has `max` or `pb`.
//! - `/api/trades/{kind}/{user}`: `kind` is `nfts` (or `nft`) or `fts` (or `ft`); any other
//!   kind is a 400. The reference serves the mint-token escrows for every kind except `nfts`,
//!   so the `/api/trades/nft/<user>` in its own guide lists mint tokens. Mint-token escrows
//!   have `type` `"TOKEN"` and a `nai.token`; the reference leaves both out.
//! - `/api/pfp/{user}` with no profile picture, or one the account no longer holds, is a
//!   404 `{result: "No Profile Picture Set or Owned", error}`; the reference sends 200. `set`
//!   is the raw record in the reference's short keys, without `u` (this node keeps no
//!   ownership string) and `j`; `nft` is `{s}`.
//! - An NFT's `info` (the reference's `s`) is `<base64 block>,` (`,,` for type 4 sets): the
//!   block it last changed hands, and empty exe/opt fields, because no op here writes them.
//!   At mint that block is the one where the uid was drawn, not the one of the request.
//! - A path value that cannot name anything is a 400 with a JSON `error`: a set name that is
//!   not 1..=32 ASCII letters, digits, `-` or `_`, a uid that is not 1..=64 symbols of
//!   `0-9 A-Z a-z + =`, or an invalid Hive account name. The reference answers such values
//!   like any other (usually with an empty list or "Something went wrong").
//! - Lists are bounded (see above) and say so with `result_more`; auctions also carry
//!   `expires`, the block they end at.

use crate::client::ClientIp;
use crate::part::Part;
use crate::reply::{blocking, fail, unavailable};
use crate::{ApiState, App};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use opentoken_core::account::is_valid_account_name;
use opentoken_core::{KvSource, StateRead};
use opentoken_nft::b64;
use opentoken_nft::keys::{self, Nft, Offer, Set};
use opentoken_nft::protocol::{Currency, OfferKind, MAX_ID, MAX_SET_NAME};
use opentoken_nft::views;
use opentoken_store::ModuleKv;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// NFTs listed in `/api/nfts/{user}`'s `result` (in set and uid order).
pub(crate) const NFTS_SHOWN: usize = 500;
/// Sets listed in `/api/nfts/{user}`'s `mint_tokens` (in set order).
pub(crate) const MINT_TOKENS_SHOWN: usize = 200;
/// Sets listed in `/api/sets` (in name order).
pub(crate) const SETS_SHOWN: usize = 1000;
/// NFTs listed in `/api/set/{set}`'s `result` (in uid key order).
pub(crate) const SET_NFTS_SHOWN: usize = 2000;
/// Offers listed by each market route, per kind in `/api/mintsupply` (in set and id order).
pub(crate) const OFFERS_SHOWN: usize = 500;
/// Escrows listed in `/api/trades/{kind}/{user}`.
pub(crate) const TRADES_SHOWN: usize = 100;
/// Open escrows of the kind `/api/trades` looks through for the ones *to* the user (the
/// ones *from* the user are found through the seller index, whatever their number).
pub(crate) const TRADES_SCAN: usize = 2000;

/// HIVE and HBD have three decimals.
const COIN_PRECISION: u8 = 3;
/// Hive makes a block every 3 s: an auction's end time is estimated from its block.
const BLOCK_MS: i128 = 3000;
/// 9999-12-31T23:59:59.999Z: the latest time an estimate is written as.
const MAX_TIME_MS: i128 = 253_402_300_799_999;

/// A read of the NFT module's committed state failed.
#[derive(Debug, thiserror::Error)]
#[error("reading the NFT module's state failed: {0}")]
pub(crate) struct NftReadError(String);

impl From<String> for NftReadError {
    fn from(e: String) -> Self {
        NftReadError(e)
    }
}

impl ApiState {
    /// Whether the chain runs the NFT module: the registry runs it exactly when the spec has
    /// its section.
    pub(crate) fn has_nft(&self) -> bool {
        self.spec.module_config(opentoken_nft::NAME).is_some()
    }

    fn nft_kv(&self) -> ModuleKv<'_> {
        ModuleKv {
            store: self.store.as_ref(),
            module: opentoken_nft::NAME,
        }
    }

    /// The block the NFT module's committed state is at (0 before its first commit, or when
    /// the store cannot say): auction end times are estimated from it.
    fn nft_block(&self) -> u64 {
        self.store
            .progress(opentoken_nft::NAME)
            .ok()
            .flatten()
            .map_or(0, |p| p.block)
    }

    fn nft_units(&self) -> Units {
        Units {
            token: self.spec.token.clone(),
            precision: self.spec.precision,
        }
    }
}

impl Part {
    /// Copies the first `shown` keys under `prefix` and one more; whether there was one more.
    fn scan_more(&mut self, src: &dyn KvSource, prefix: &[u8], shown: usize) -> Result<bool, NftReadError> {
        let pairs = self.scan(src, prefix, shown.saturating_add(1))?;
        Ok(pairs.len() > shown)
    }

    /// Copies the sets named, each once, and returns them by name (a set that is missing or
    /// does not decode is left out).
    fn load_sets<'a>(
        &mut self,
        src: &dyn KvSource,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<BTreeMap<String, Set>, NftReadError> {
        let names: BTreeSet<&str> = names.into_iter().collect();
        let mut sets = BTreeMap::new();
        for name in names {
            self.load(src, &keys::set(name))?;
            if let Some(s) = views::set(self, name) {
                sets.insert(name.to_string(), s);
            }
        }
        Ok(sets)
    }

    /// The open offers of `kind` (of `set` only when given), at most [`OFFERS_SHOWN`];
    /// whether more are open.
    fn load_offers(
        &mut self,
        src: &dyn KvSource,
        kind: OfferKind,
        set: Option<&str>,
    ) -> Result<(Vec<Offer>, bool), NftReadError> {
        let mut prefix = keys::offer_prefix(kind);
        if let Some(s) = set {
            prefix.extend_from_slice(format!("{s}:").as_bytes());
        }
        let more = self.scan_more(src, &prefix, OFFERS_SHOWN)?;
        Ok((views::offers(self, kind, set, OFFERS_SHOWN), more))
    }
}

/// What the JSON of an amount needs besides the amount: the token and its precision.
#[derive(Debug, Clone)]
pub(crate) struct Units {
    pub(crate) token: String,
    pub(crate) precision: u8,
}

impl Units {
    /// `{amount, precision, token}` of `amount` in `currency`: the token with the chain's
    /// precision, HIVE or HBD with 3.
    pub(crate) fn nai(&self, amount: u64, currency: Currency) -> Value {
        match currency {
            Currency::Token => json!({"amount": amount, "precision": self.precision, "token": self.token}),
            coin => json!({"amount": amount, "precision": COIN_PRECISION, "token": coin.as_str()}),
        }
    }
}

/// When an auction ending at a block is expected to end: the reference's estimate, now plus
/// 3 s per block from the committed block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// The committed block.
    pub(crate) head: u64,
    /// Now, ms since the epoch.
    pub(crate) now_ms: u64,
}

impl Clock {
    fn now(head: u64) -> Self {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self { head, now_ms }
    }

    /// The estimated time of `block`, ISO 8601 in UTC with milliseconds.
    pub(crate) fn eta(&self, block: u64) -> String {
        let ms = i128::from(self.now_ms) + (i128::from(block) - i128::from(self.head)) * BLOCK_MS;
        iso_utc(ms.clamp(0, MAX_TIME_MS))
    }
}

/// `ms` since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (JavaScript's `toISOString`), for
/// 0..=[`MAX_TIME_MS`].
pub(crate) fn iso_utc(ms: i128) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days to a civil date (H. Hinnant's algorithm), years starting in March.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// A set's royalty split as the reference writes it (`acct_bps,acct_bps`), all to the
/// author (`<author>_10000`) when it was never split.
pub(crate) fn royalty_split(set: &Set) -> String {
    match &set.distro {
        Some(d) if !d.is_empty() => d
            .iter()
            .map(|(a, bp)| format!("{a}_{bp}"))
            .collect::<Vec<_>>()
            .join(","),
        _ => format!("{}_10000", set.author),
    }
}

/// The fields every route's set shows: `set`, `link` (`<author>/<permlink>`), `fee` and
/// `bond` (in the token), `permlink`, `author`, `script`, `encoding`, `type`, `royalty`
/// (basis points), `name`, `name_long`.
fn set_common(set: &Set, u: &Units) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("set".into(), json!(set.name));
    m.insert("link".into(), json!(format!("{}/{}", set.author, set.permlink)));
    m.insert("fee".into(), u.nai(set.fee_held, Currency::Token));
    m.insert("bond".into(), u.nai(set.bond, Currency::Token));
    m.insert("permlink".into(), json!(set.permlink));
    m.insert("author".into(), json!(set.author));
    m.insert("script".into(), json!(set.script));
    m.insert("encoding".into(), json!(set.handling));
    m.insert("type".into(), json!(set.kind));
    m.insert("royalty".into(), json!(set.royalty_bp));
    m.insert("name".into(), json!(set.name));
    m.insert("name_long".into(), json!(set.long_name));
    m
}

/// The dividend fields of the reference, which this node has none of.
fn no_dividends(m: &mut Map<String, Value>, u: &Units) {
    m.insert("total_div".into(), u.nai(0, Currency::Token));
    m.insert("last_div".into(), u.nai(0, Currency::Token));
}

/// A set as `/api/sets` lists it: [`set_common`] and `royalty_allocation`, `minted` (base64
/// string), `max` (`total`), `max_exe_length`, `max_opt_length`, `total_div`, `last_div`.
pub(crate) fn set_listing(set: &Set, u: &Units) -> Value {
    let mut m = set_common(set, u);
    m.insert("royalty_allocation".into(), json!(royalty_split(set)));
    m.insert("minted".into(), json!(b64::from_number(set.minted)));
    m.insert("max".into(), json!(set.total));
    m.insert("max_exe_length".into(), json!(set.exe_size));
    m.insert("max_opt_length".into(), json!(set.opt_size));
    no_dividends(&mut m, u);
    Value::Object(m)
}

/// A set as `/api/set/{set}` shows it: [`set_common`] and `royalty_accounts`, `minted` (a
/// number), `max` (`total`), `max_opt_length`, `max_exe_length`, `total_div`, `last_div`.
pub(crate) fn set_detail(set: &Set, u: &Units) -> Value {
    let mut m = set_common(set, u);
    m.insert("royalty_accounts".into(), json!(royalty_split(set)));
    m.insert("minted".into(), json!(set.minted));
    m.insert("max".into(), json!(set.total));
    m.insert("max_opt_length".into(), json!(set.opt_size));
    m.insert("max_exe_length".into(), json!(set.exe_size));
    no_dividends(&mut m, u);
    Value::Object(m)
}

/// A set as `/api/nft`'s `set`: [`set_common`] and `minted` (base64 string) and `max` (the
/// size of the uid range).
pub(crate) fn item_set(set: &Set, u: &Units) -> Value {
    let mut m = set_common(set, u);
    m.insert("minted".into(), json!(b64::from_number(set.minted)));
    m.insert("max".into(), json!(set.uids()));
    Value::Object(m)
}

/// The set in the reference's raw short keys (`/api/pfp`): `a` author, `b` bond, `d`
/// melted, `e` encoding, `f` fee held, `i` minted (base64), `m`/`o` the uid range's end
/// and start, `n`, `nl`, `p` permlink, `r` royalty, `ra` its split (once split), `s`
/// script, `t` type, `x`/`y` the exe/opt sizes (when not 0).
pub(crate) fn raw_set(set: &Set) -> Value {
    let mut m = Map::new();
    m.insert("a".into(), json!(set.author));
    m.insert("b".into(), json!(set.bond));
    m.insert("d".into(), json!(set.melted));
    m.insert("e".into(), json!(set.handling));
    m.insert("f".into(), json!(set.fee_held));
    m.insert("i".into(), json!(b64::from_number(set.minted)));
    m.insert("m".into(), json!(set.end));
    m.insert("n".into(), json!(set.name));
    m.insert("nl".into(), json!(set.long_name));
    m.insert("o".into(), json!(set.start));
    m.insert("p".into(), json!(set.permlink));
    m.insert("r".into(), json!(set.royalty_bp));
    if set.distro.as_ref().is_some_and(|d| !d.is_empty()) {
        m.insert("ra".into(), json!(royalty_split(set)));
    }
    m.insert("s".into(), json!(set.script));
    m.insert("t".into(), json!(set.kind));
    if set.exe_size > 0 {
        m.insert("x".into(), json!(set.exe_size));
    }
    if set.opt_size > 0 {
        m.insert("y".into(), json!(set.opt_size));
    }
    Value::Object(m)
}

/// An NFT's `info` (the reference's `s`): the base64 block it last changed hands, then the
/// exe/opt fields (one for types 1..=3, two for type 4), empty.
pub(crate) fn info(nft: &Nft, set: Option<&Set>) -> String {
    let fields = if set.is_some_and(|s| s.kind == 4) { ",," } else { "," };
    format!("{}{fields}", b64::from_number(nft.last))
}

/// A field of a set that may be missing (an offer or NFT of a set that does not decode):
/// `null` then.
fn of_set(set: Option<&Set>, field: impl Fn(&Set) -> Value) -> Value {
    set.map_or(Value::Null, field)
}

/// An NFT of `/api/nfts`' `result`: `{uid, info, set, script, type, encoding}`.
pub(crate) fn nft_entry(set_name: &str, uid: &str, nft: &Nft, set: Option<&Set>) -> Value {
    json!({
        "uid": uid,
        "info": info(nft, set),
        "set": set_name,
        "script": of_set(set, |s| json!(s.script)),
        "type": of_set(set, |s| json!(s.kind)),
        "encoding": of_set(set, |s| json!(s.handling)),
    })
}

/// A set's mint tokens in `/api/nfts`' `mint_tokens`: `{qty, set, script, type, encoding}`.
pub(crate) fn mint_token_entry(set_name: &str, qty: u64, set: Option<&Set>) -> Value {
    json!({
        "qty": qty,
        "set": set_name,
        "script": of_set(set, |s| json!(s.script)),
        "type": of_set(set, |s| json!(s.kind)),
        "encoding": of_set(set, |s| json!(s.handling)),
    })
}

/// What an auction stands at: the high bid, or the starting price before any (the
/// reference's `b || p`).
fn standing(o: &Offer) -> u64 {
    if o.bids > 0 {
        o.high
    } else {
        o.price
    }
}

/// An auction as `/api/auctions` and `/api/mintauctions` list it: `uid` (the NFT's, or the
/// mint-token offer's id), `set`, `price` (where it stands) and `initial_price` as
/// `{amount, precision, token}`, `time` (when it is expected to end), `by`, `bids`, `bidder`
/// (`""` before any bid), `script`, `name_long`, `days`, `buy` (the buy-now price, `""` when
/// none), and `expires` (the block it ends at).
pub(crate) fn auction_entry(o: &Offer, set: Option<&Set>, u: &Units, clock: &Clock) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("uid".into(), json!(o.id));
    m.insert("set".into(), json!(o.set));
    m.insert("price".into(), u.nai(standing(o), o.currency));
    m.insert("initial_price".into(), u.nai(o.price, o.currency));
    m.insert("time".into(), json!(clock.eta(o.expires)));
    m.insert("by".into(), json!(o.seller));
    m.insert("bids".into(), json!(o.bids));
    m.insert("bidder".into(), json!(o.bidder));
    m.insert("script".into(), of_set(set, |s| json!(s.script)));
    m.insert("name_long".into(), of_set(set, |s| json!(s.long_name)));
    m.insert("days".into(), json!(o.days));
    m.insert("buy".into(), if o.buy_now > 0 { json!(o.buy_now) } else { json!("") });
    m.insert("expires".into(), json!(o.expires));
    m
}

/// A fixed-price sale as `/api/sales` and `/api/mintsales` list it: `{uid, set, price:
/// {amount, precision, token}, by, script, name_long}`.
pub(crate) fn sale_entry(o: &Offer, set: Option<&Set>, u: &Units) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("uid".into(), json!(o.id));
    m.insert("set".into(), json!(o.set));
    m.insert("price".into(), u.nai(o.price, o.currency));
    m.insert("by".into(), json!(o.seller));
    m.insert("script".into(), of_set(set, |s| json!(s.script)));
    m.insert("name_long".into(), of_set(set, |s| json!(s.long_name)));
    m
}

/// `/api/mintsupply`'s form of an entry: `price` the amount alone, `pricenai` the
/// `{amount, precision, token}`; a sale also has `qty` (1: one mint token per offer).
fn supply_entry(mut m: Map<String, Value>, sale: bool) -> Value {
    if let Some(nai) = m.remove("price") {
        m.insert("price".into(), nai["amount"].clone());
        m.insert("pricenai".into(), nai);
    }
    if sale {
        m.insert("qty".into(), json!(1));
    }
    Value::Object(m)
}

/// `/api/mintsupply`'s `result`: one entry per set with open mint-token auctions or sales,
/// in name order: `{set, script, name_long, auctions, sales, qty_sales, qty_auctions, qty}`.
pub(crate) fn mint_supply(
    auctions: &[Offer],
    sales: &[Offer],
    sets: &BTreeMap<String, Set>,
    u: &Units,
    clock: &Clock,
) -> Vec<Value> {
    let mut groups: BTreeMap<&str, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for o in auctions {
        let entry = supply_entry(auction_entry(o, sets.get(&o.set), u, clock), false);
        groups.entry(&o.set).or_default().0.push(entry);
    }
    for o in sales {
        let entry = supply_entry(sale_entry(o, sets.get(&o.set), u), true);
        groups.entry(&o.set).or_default().1.push(entry);
    }
    groups
        .into_iter()
        .map(|(name, (auctions, sales))| {
            let set = sets.get(name);
            let (qa, qs) = (auctions.len(), sales.len());
            json!({
                "set": name,
                "script": of_set(set, |s| json!(s.script)),
                "name_long": of_set(set, |s| json!(s.long_name)),
                "auctions": auctions,
                "sales": sales,
                "qty_sales": qs,
                "qty_auctions": qa,
                "qty": qa + qs,
            })
        })
        .collect()
}

/// An escrow as `/api/trades` lists it: `from`, `to`, `price`, `type` (`TOKEN`, `HIVE`,
/// `HBD`), `nai` (`{amount, precision, token}`), `item` (`<set>:<uid>`), `kind` (`nfts` or
/// `fts`), `set`, `uid` (the NFT's, or the mint-token offer's id: what completing or
/// cancelling names), `script`.
pub(crate) fn trade_entry(o: &Offer, kind: &str, set: Option<&Set>, u: &Units) -> Value {
    json!({
        "from": o.seller,
        "to": o.to,
        "price": o.price,
        "type": o.currency.as_str(),
        "nai": u.nai(o.price, o.currency),
        "item": format!("{}:{}", o.set, o.id),
        "kind": kind,
        "set": o.set,
        "uid": o.id,
        "script": of_set(set, |s| json!(s.script)),
    })
}

/// Which escrows `/api/trades/{kind}/...` lists, and the kind's name in the answer.
pub(crate) fn trade_kind(kind: &str) -> Result<(OfferKind, &'static str), String> {
    match kind {
        "nfts" | "nft" => Ok((OfferKind::NftReserve, "nfts")),
        "fts" | "ft" => Ok((OfferKind::FtReserve, "fts")),
        other => Err(format!(
            "the trade kind must be `nfts` or `fts`, got {:?}",
            shown(other)
        )),
    }
}

/// At most 40 characters of a path value, for an error message.
fn shown(s: &str) -> String {
    s.chars().take(40).collect()
}

/// A set name as the module allows it (1..=32 bytes of ASCII letters, digits, `-`, `_`).
pub(crate) fn check_set(set: &str) -> Result<(), String> {
    if set.is_empty() || set.len() > MAX_SET_NAME {
        return Err(format!(
            "a set name is 1 to {MAX_SET_NAME} bytes, got {} bytes ({:?})",
            set.len(),
            shown(set)
        ));
    }
    if !set.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(format!(
            "a set name holds only ASCII letters, digits, `-` and `_`, got {:?}",
            shown(set)
        ));
    }
    Ok(())
}

/// A uid or mint-token offer id as the module allows it (1..=64 symbols of `0-9 A-Z a-z + =`).
pub(crate) fn check_uid(uid: &str) -> Result<(), String> {
    if uid.is_empty() || uid.len() > MAX_ID {
        return Err(format!(
            "a uid is 1 to {MAX_ID} symbols, got {} bytes ({:?})",
            uid.len(),
            shown(uid)
        ));
    }
    if !uid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'=') {
        return Err(format!(
            "a uid holds only the symbols 0-9 A-Z a-z + =, got {:?}",
            shown(uid)
        ));
    }
    Ok(())
}

/// A Hive account name.
pub(crate) fn check_account(user: &str) -> Result<(), String> {
    if is_valid_account_name(user) {
        Ok(())
    } else {
        Err(format!("{:?} is not a valid Hive account name", shown(user)))
    }
}

/// The route's answer when the request cannot be served: 404 without the module, 400 for a
/// path value that cannot name anything (`checks` in order).
fn refusal(api: &ApiState, checks: &[Result<(), String>]) -> Option<Response> {
    if !api.has_nft() {
        return Some(fail(StatusCode::NOT_FOUND, "this chain runs no NFT module"));
    }
    checks
        .iter()
        .find_map(|c| c.as_ref().err())
        .map(|why| fail(StatusCode::BAD_REQUEST, why))
}

/// What a route answers: its status and body (the envelope is added), or the failed read.
type Body = Result<(StatusCode, Map<String, Value>), NftReadError>;

fn respond(api: &ApiState, what: &str, body: Body) -> Response {
    match body {
        Ok((code, m)) => (code, api.envelope(m)).into_response(),
        Err(e) => unavailable(what, e),
    }
}

fn ok(m: Map<String, Value>) -> Body {
    Ok((StatusCode::OK, m))
}

/// `GET /api/nfts/{user}`: `{result: [{uid, info, set, script, type, encoding}],
/// result_more, mint_tokens: [{qty, set, script, type, encoding}], mint_tokens_more, user,
/// node, behind, VERSION}`: the NFTs the account holds (not those in its open offers), at
/// most [`NFTS_SHOWN`], and its mint tokens per set, at most [`MINT_TOKENS_SHOWN`] sets.
/// 400 for an invalid account name; 404 without the module.
pub(crate) async fn nfts(State(app): State<Arc<App>>, client: ClientIp, Path(user): Path<String>) -> Response {
    if let Some(r) = refusal(&app.api, &[check_account(&user)]) {
        return r;
    }
    let work = app.clone();
    app.heavy
        .run(&app.heavy.nft_holdings, client, move || {
            let s = &work.api;
            respond(s, &format!("reading the NFTs of {user}"), nfts_body(s, &user))
        })
        .await
}

fn nfts_body(api: &ApiState, user: &str) -> Body {
    let src = api.nft_kv();
    let mut part = Part::default();
    let more = part.scan_more(&src, &keys::owned_prefix(user), NFTS_SHOWN)?;
    let held = views::account_nfts(&part, user, NFTS_SHOWN);
    for (set, uid) in &held {
        part.load(&src, &keys::nft(set, uid))?;
    }
    let fts_more = part.scan_more(&src, &keys::ft_prefix(user), MINT_TOKENS_SHOWN)?;
    let fts = views::account_fts(&part, user, MINT_TOKENS_SHOWN);
    let names = held
        .iter()
        .map(|(s, _)| s.as_str())
        .chain(fts.iter().map(|(s, _)| s.as_str()));
    let sets = part.load_sets(&src, names)?;
    let result: Vec<Value> = held
        .iter()
        .filter_map(|(set, uid)| {
            let nft = views::nft(&part, set, uid)?;
            Some(nft_entry(set, uid, &nft, sets.get(set)))
        })
        .collect();
    let mint_tokens: Vec<Value> = fts
        .iter()
        .map(|(set, qty)| mint_token_entry(set, *qty, sets.get(set)))
        .collect();
    let mut m = Map::new();
    m.insert("result".into(), Value::Array(result));
    m.insert("result_more".into(), json!(more));
    m.insert("mint_tokens".into(), Value::Array(mint_tokens));
    m.insert("mint_tokens_more".into(), json!(fts_more));
    m.insert("user".into(), json!(user));
    ok(m)
}

/// `GET /api/nft/{set}/{uid}`: `{item: {uid, set, last_modified, info, type, owner, lien},
/// set: {set, link, fee, bond, permlink, author, script, name_long, encoding, type, royalty,
/// name, minted, max}, node, behind, VERSION}`. `owner` is the account, or the kind of the
/// open offer holding the NFT (`ls`, `ah`, `t`); `last_modified` the block it last changed
/// hands; `lien` always `"No Lien"`. An unknown set or NFT: 404 `{item: "Not Found",
/// error}`. 400 for a bad set name or uid; 404 without the module.
pub(crate) async fn item(State(app): State<Arc<App>>, Path((set, uid)): Path<(String, String)>) -> Response {
    if let Some(r) = refusal(&app.api, &[check_set(&set), check_uid(&uid)]) {
        return r;
    }
    blocking(move || {
        let s = &app.api;
        respond(s, &format!("reading NFT {set}:{uid}"), item_body(s, &set, &uid))
    })
    .await
}

fn item_body(api: &ApiState, set_name: &str, uid: &str) -> Body {
    let src = api.nft_kv();
    let mut part = Part::default();
    part.load(&src, &keys::set(set_name))?;
    part.load(&src, &keys::nft(set_name, uid))?;
    let (Some(set), Some(nft)) = (views::set(&part, set_name), views::nft(&part, set_name, uid)) else {
        let mut m = Map::new();
        m.insert("item".into(), json!("Not Found"));
        m.insert(
            "error".into(),
            json!(format!(
                "no NFT {set_name}:{uid} (never minted, melted, or no such set)"
            )),
        );
        return Ok((StatusCode::NOT_FOUND, m));
    };
    let mut m = Map::new();
    m.insert(
        "item".into(),
        json!({
            "uid": uid,
            "set": set_name,
            "last_modified": nft.last,
            "info": info(&nft, Some(&set)),
            "type": set.kind,
            "owner": nft.owner,
            "lien": "No Lien",
        }),
    );
    m.insert("set".into(), item_set(&set, &api.nft_units()));
    ok(m)
}

/// `GET /api/sets`: `{result: [set], result_more, node, behind, VERSION}`, every set in name
/// order, at most [`SETS_SHOWN`] ([`set_listing`]). 404 without the module.
pub(crate) async fn sets(State(app): State<Arc<App>>, client: ClientIp) -> Response {
    if let Some(r) = refusal(&app.api, &[]) {
        return r;
    }
    let work = app.clone();
    app.heavy
        .run(&app.heavy.nft_market, client, move || {
            let s = &work.api;
            respond(s, "reading the NFT sets", sets_body(s))
        })
        .await
}

fn sets_body(api: &ApiState) -> Body {
    let u = api.nft_units();
    let mut part = Part::default();
    let more = part.scan_more(&api.nft_kv(), keys::SET_PREFIX, SETS_SHOWN)?;
    let result: Vec<Value> = views::sets(&part, SETS_SHOWN)
        .iter()
        .map(|s| set_listing(s, &u))
        .collect();
    let mut m = Map::new();
    m.insert("result".into(), Value::Array(result));
    m.insert("result_more".into(), json!(more));
    ok(m)
}

/// `GET /api/set/{set}`: `{result: [{uid, set, script, owner}], result_more, set,
/// node, behind, VERSION}`: the set's NFTs in uid key order, at most [`SET_NFTS_SHOWN`], each
/// with its holder (an account, or the kind of the open offer holding it), and the set
/// ([`set_detail`]). An unknown set: 404. 400 for a bad set name; 404 without the module.
pub(crate) async fn set(State(app): State<Arc<App>>, client: ClientIp, Path(set): Path<String>) -> Response {
    if let Some(r) = refusal(&app.api, &[check_set(&set)]) {
        return r;
    }
    let work = app.clone();
    app.heavy
        .run(&app.heavy.nft_holdings, client, move || {
            let s = &work.api;
            respond(s, &format!("reading the NFT set {set}"), set_body(s, &set))
        })
        .await
}

fn set_body(api: &ApiState, name: &str) -> Body {
    let src = api.nft_kv();
    let mut part = Part::default();
    part.load(&src, &keys::set(name))?;
    let Some(set) = views::set(&part, name) else {
        let mut m = Map::new();
        m.insert("error".into(), json!(format!("no NFT set {name:?}")));
        return Ok((StatusCode::NOT_FOUND, m));
    };
    let more = part.scan_more(&src, &keys::nft_prefix(name), SET_NFTS_SHOWN)?;
    let result: Vec<Value> = views::set_nfts(&part, name, SET_NFTS_SHOWN)
        .into_iter()
        .map(|(uid, nft)| json!({"uid": uid, "set": name, "script": set.script, "owner": nft.owner}))
        .collect();
    let mut m = Map::new();
    m.insert("result".into(), Value::Array(result));
    m.insert("result_more".into(), json!(more));
    m.insert("set".into(), set_detail(&set, &api.nft_units()));
    ok(m)
}

/// The market routes: which offers each lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Market {
    /// `/api/auctions`: `ah`.
    Auctions,
    /// `/api/mintauctions`: `am`.
    MintAuctions,
    /// `/api/sales`: `ls`.
    Sales,
    /// `/api/mintsales`: `lt`.
    MintSales,
    /// `/api/mintsupply`: `am` and `lt`, by set.
    MintSupply,
}

impl Market {
    fn name(self) -> &'static str {
        match self {
            Market::Auctions => "NFT auctions",
            Market::MintAuctions => "mint-token auctions",
            Market::Sales => "NFT sales",
            Market::MintSales => "mint-token sales",
            Market::MintSupply => "mint-token auctions and sales",
        }
    }
}

async fn market(app: Arc<App>, client: ClientIp, which: Market, set: Option<String>) -> Response {
    let check = set.as_deref().map_or(Ok(()), check_set);
    if let Some(r) = refusal(&app.api, &[check]) {
        return r;
    }
    let work = app.clone();
    app.heavy
        .run(&app.heavy.nft_market, client, move || {
            let s = &work.api;
            let what = format!("reading the {}", which.name());
            respond(s, &what, market_body(s, which, set.as_deref()))
        })
        .await
}

fn market_body(api: &ApiState, which: Market, set: Option<&str>) -> Body {
    // The block first: a commit landing during the reads makes them newer, never older.
    let clock = Clock::now(api.nft_block());
    let src = api.nft_kv();
    let u = api.nft_units();
    let mut part = Part::default();
    let (result, more) = match which {
        Market::Auctions | Market::MintAuctions | Market::Sales | Market::MintSales => {
            let kind = match which {
                Market::Auctions => OfferKind::NftAuction,
                Market::MintAuctions => OfferKind::FtAuction,
                Market::Sales => OfferKind::NftSale,
                _ => OfferKind::FtSale,
            };
            let (offers, more) = part.load_offers(&src, kind, set)?;
            let sets = part.load_sets(&src, offers.iter().map(|o| o.set.as_str()))?;
            let list = offers
                .iter()
                .map(|o| {
                    let s = sets.get(&o.set);
                    Value::Object(if kind.is_auction() {
                        auction_entry(o, s, &u, &clock)
                    } else {
                        sale_entry(o, s, &u)
                    })
                })
                .collect();
            (list, more)
        }
        Market::MintSupply => {
            let (auctions, a_more) = part.load_offers(&src, OfferKind::FtAuction, set)?;
            let (sales, s_more) = part.load_offers(&src, OfferKind::FtSale, set)?;
            let names = auctions.iter().chain(&sales).map(|o| o.set.as_str());
            let sets = part.load_sets(&src, names)?;
            (mint_supply(&auctions, &sales, &sets, &u, &clock), a_more || s_more)
        }
    };
    let mut m = Map::new();
    m.insert("result".into(), Value::Array(result));
    m.insert("result_more".into(), json!(more));
    ok(m)
}

/// `GET /api/auctions`: `{result: [auction], result_more, node, behind, VERSION}`, the open
/// NFT auctions in set and uid order, at most [`OFFERS_SHOWN`] ([`auction_entry`]). 404
/// without the module.
pub(crate) async fn auctions(State(app): State<Arc<App>>, client: ClientIp) -> Response {
    market(app, client, Market::Auctions, None).await
}

/// `GET /api/auctions/{set}`: [`auctions`] of one set. 400 for a bad set name.
pub(crate) async fn auctions_of(State(app): State<Arc<App>>, client: ClientIp, Path(set): Path<String>) -> Response {
    market(app, client, Market::Auctions, Some(set)).await
}

/// `GET /api/mintauctions`: as [`auctions`], for the open mint-token auctions (`uid` is the
/// offer's id).
pub(crate) async fn mint_auctions(State(app): State<Arc<App>>, client: ClientIp) -> Response {
    market(app, client, Market::MintAuctions, None).await
}

/// `GET /api/mintauctions/{set}`: [`mint_auctions`] of one set. 400 for a bad set name.
pub(crate) async fn mint_auctions_of(
    State(app): State<Arc<App>>,
    client: ClientIp,
    Path(set): Path<String>,
) -> Response {
    market(app, client, Market::MintAuctions, Some(set)).await
}

/// `GET /api/sales`: `{result: [sale], result_more, node, behind, VERSION}`, the NFTs for
/// sale at a fixed price in set and uid order, at most [`OFFERS_SHOWN`] ([`sale_entry`]).
/// 404 without the module.
pub(crate) async fn sales(State(app): State<Arc<App>>, client: ClientIp) -> Response {
    market(app, client, Market::Sales, None).await
}

/// `GET /api/sales/{set}`: [`sales`] of that set (not of every other set, as the
/// reference's). 400 for a bad set name.
pub(crate) async fn sales_of(State(app): State<Arc<App>>, client: ClientIp, Path(set): Path<String>) -> Response {
    market(app, client, Market::Sales, Some(set)).await
}

/// `GET /api/mintsales`: as [`sales`], for mint tokens (`uid` is the offer's id).
pub(crate) async fn mint_sales(State(app): State<Arc<App>>, client: ClientIp) -> Response {
    market(app, client, Market::MintSales, None).await
}

/// `GET /api/mintsales/{set}`: [`mint_sales`] of one set. 400 for a bad set name.
pub(crate) async fn mint_sales_of(State(app): State<Arc<App>>, client: ClientIp, Path(set): Path<String>) -> Response {
    market(app, client, Market::MintSales, Some(set)).await
}

/// `GET /api/mintsupply`: `{result: [...], result_more, node, behind, VERSION}`, the open
/// mint-token auctions and sales grouped by set ([`mint_supply`]), at most [`OFFERS_SHOWN`]
/// of each kind; `result_more` when either kind has more. 404 without the module.
pub(crate) async fn mint_supply_all(State(app): State<Arc<App>>, client: ClientIp) -> Response {
    market(app, client, Market::MintSupply, None).await
}

/// `GET /api/mintsupply/{set}`: [`mint_supply_all`] of one set. 400 for a bad set name.
pub(crate) async fn mint_supply_of(State(app): State<Arc<App>>, client: ClientIp, Path(set): Path<String>) -> Response {
    market(app, client, Market::MintSupply, Some(set)).await
}

/// `GET /api/pfp/{user}`: `{result: [{pfp: "<set>:<uid>", nft: {s}, set: <raw set>}], node,
/// behind, VERSION}` ([`raw_set`]), while the account holds the NFT it chose. Otherwise 404
/// `{result: "No Profile Picture Set or Owned", error}`. 400 for an invalid account name;
/// 404 without the module.
pub(crate) async fn pfp(State(app): State<Arc<App>>, Path(user): Path<String>) -> Response {
    if let Some(r) = refusal(&app.api, &[check_account(&user)]) {
        return r;
    }
    blocking(move || {
        let s = &app.api;
        respond(s, &format!("reading the profile picture of {user}"), pfp_body(s, &user))
    })
    .await
}

fn pfp_body(api: &ApiState, user: &str) -> Body {
    let src = api.nft_kv();
    let mut part = Part::default();
    part.load(&src, &keys::pfp(user))?;
    let chosen = part
        .get(&keys::pfp(user))
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.split_once(':'))
        .map(|(s, u)| (s.to_string(), u.to_string()));
    if let Some((set, uid)) = &chosen {
        part.load(&src, &keys::nft(set, uid))?;
        part.load(&src, &keys::set(set))?;
    }
    let found = views::pfp(&part, user).and_then(|(set_name, uid)| {
        let nft = views::nft(&part, &set_name, &uid)?;
        let set = views::set(&part, &set_name)?;
        Some((set_name, uid, nft, set))
    });
    let mut m = Map::new();
    match found {
        Some((set_name, uid, nft, set)) => {
            m.insert(
                "result".into(),
                json!([{
                    "pfp": format!("{set_name}:{uid}"),
                    "nft": {"s": info(&nft, Some(&set))},
                    "set": raw_set(&set),
                }]),
            );
            ok(m)
        }
        None => {
            m.insert("result".into(), json!("No Profile Picture Set or Owned"));
            let why = match chosen {
                Some((set, uid)) => format!("@{user} chose {set}:{uid} as profile picture but no longer holds it"),
                None => format!("@{user} has chosen no profile picture"),
            };
            m.insert("error".into(), json!(why));
            Ok((StatusCode::NOT_FOUND, m))
        }
    }
}

/// `GET /api/trades/{kind}/{user}`: `{result: [escrow], result_more, kind, node, behind,
/// VERSION}`: the open reserved transfers (`nfts`) or mint-token escrows (`fts`) the account
/// offers or is offered ([`trade_entry`]), at most [`TRADES_SHOWN`], in set and uid order.
/// Those it offers are all found (the seller index); those it is offered among the first
/// [`TRADES_SCAN`] open escrows of the kind; `result_more` says there may be more. 400 for
/// another kind or an invalid account name; 404 without the module.
pub(crate) async fn trades(
    State(app): State<Arc<App>>,
    client: ClientIp,
    Path((kind, user)): Path<(String, String)>,
) -> Response {
    if let Some(r) = refusal(&app.api, &[check_account(&user)]) {
        return r;
    }
    let (kind, name) = match trade_kind(&kind) {
        Ok(k) => k,
        Err(why) => return fail(StatusCode::BAD_REQUEST, why),
    };
    let work = app.clone();
    app.heavy
        .run(&app.heavy.nft_holdings, client, move || {
            let s = &work.api;
            respond(
                s,
                &format!("reading the escrows of {user}"),
                trades_body(s, kind, name, &user),
            )
        })
        .await
}

fn trades_body(api: &ApiState, kind: OfferKind, name: &str, user: &str) -> Body {
    let src = api.nft_kv();
    let u = api.nft_units();
    let mut index = Part::default();
    let mut by_prefix = keys::offers_by_prefix(user);
    by_prefix.extend_from_slice(format!("{}/", kind.as_str()).as_bytes());
    let mut more = index.scan_more(&src, &by_prefix, TRADES_SHOWN)?;
    let mut part = Part::default();
    let mine_keys: Vec<Vec<u8>> = index
        .scan_prefix(&by_prefix)
        .take(TRADES_SHOWN)
        .map(|(k, _)| k.to_vec())
        .collect();
    for k in &mine_keys {
        if let Some(item) = k.strip_prefix(by_prefix.as_slice()) {
            let mut key = keys::offer_prefix(kind);
            key.extend_from_slice(item);
            part.load(&src, &key)?;
        }
    }
    more |= part.scan_more(&src, &keys::offer_prefix(kind), TRADES_SCAN)?;
    let mine: Vec<Offer> = views::offers(&part, kind, None, TRADES_SCAN + TRADES_SHOWN + 1)
        .into_iter()
        .filter(|o| o.seller == user || o.to == user)
        .collect();
    more |= mine.len() > TRADES_SHOWN;
    let mine = &mine[..mine.len().min(TRADES_SHOWN)];
    let sets = part.load_sets(&src, mine.iter().map(|o| o.set.as_str()))?;
    let result: Vec<Value> = mine
        .iter()
        .map(|o| trade_entry(o, name, sets.get(&o.set), &u))
        .collect();
    let mut m = Map::new();
    m.insert("result".into(), Value::Array(result));
    m.insert("result_more".into(), json!(more));
    m.insert("kind".into(), json!(name));
    ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units() -> Units {
        Units {
            token: "DLUX".into(),
            precision: 3,
        }
    }

    fn set() -> Set {
        Set {
            name: "cards".into(),
            author: "alice".into(),
            script: "QmRenderer".into(),
            permlink: "the-set".into(),
            long_name: "Cards".into(),
            kind: 1,
            handling: "svg".into(),
            start: "0".into(),
            end: "F".into(),
            total: 10,
            minted: 65,
            melted: 1,
            royalty_bp: 500,
            distro: None,
            bond: 7,
            fee_held: 0,
            exe_size: 0,
            opt_size: 0,
            block: 3,
        }
    }

    fn offer(kind: OfferKind, currency: Currency) -> Offer {
        Offer {
            price: 1000,
            ..Offer::new(kind, "cards", "0A", "alice", currency, 9)
        }
    }

    #[test]
    fn times_print_like_javascripts_iso_strings() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_utc(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00.000Z", "a leap day");
        assert_eq!(iso_utc(1_709_251_199_999), "2024-02-29T23:59:59.999Z");
        assert_eq!(iso_utc(MAX_TIME_MS), "9999-12-31T23:59:59.999Z");
        let clock = Clock {
            head: 100,
            now_ms: 1_700_000_000_000,
        };
        assert_eq!(clock.eta(110), "2023-11-14T22:13:50.000Z", "10 blocks: 30 s");
        assert_eq!(clock.eta(90), "2023-11-14T22:12:50.000Z", "ended: in the past");
        assert_eq!(clock.eta(u64::MAX), "9999-12-31T23:59:59.999Z");
        let early = Clock {
            head: u64::MAX,
            now_ms: 0,
        };
        assert_eq!(early.eta(0), "1970-01-01T00:00:00.000Z");
    }

    /// Token prices carry the chain's token and precision, HIVE and HBD their own name and
    /// 3 decimals, in every list.
    #[test]
    fn prices_carry_their_currency() {
        let u = Units {
            token: "LARYNX".into(),
            precision: 6,
        };
        assert_eq!(
            u.nai(5, Currency::Token),
            json!({"amount": 5, "precision": 6, "token": "LARYNX"})
        );
        assert_eq!(
            u.nai(5, Currency::Hbd),
            json!({"amount": 5, "precision": 3, "token": "HBD"})
        );
        let sale = sale_entry(&offer(OfferKind::NftSale, Currency::Hive), None, &u);
        assert_eq!(
            Value::Object(sale),
            json!({"uid": "0A", "set": "cards", "price": {"amount": 1000, "precision": 3, "token": "HIVE"},
                   "by": "alice", "script": null, "name_long": null})
        );
        let mut t = offer(OfferKind::NftReserve, Currency::Hbd);
        t.to = "bob".into();
        assert_eq!(
            trade_entry(&t, "nfts", Some(&set()), &u),
            json!({"from": "alice", "to": "bob", "price": 1000, "type": "HBD",
                   "nai": {"amount": 1000, "precision": 3, "token": "HBD"}, "item": "cards:0A",
                   "kind": "nfts", "set": "cards", "uid": "0A", "script": "QmRenderer"})
        );
    }

    #[test]
    fn auctions_stand_at_the_high_bid_once_there_is_one() {
        let clock = Clock { head: 0, now_ms: 0 };
        let mut a = offer(OfferKind::NftAuction, Currency::Token);
        a.days = 2;
        a.expires = 20;
        let e = auction_entry(&a, Some(&set()), &units(), &clock);
        assert_eq!(e["price"]["amount"], 1000);
        assert_eq!(
            (e["bids"].clone(), e["bidder"].clone(), e["buy"].clone()),
            (json!(0), json!(""), json!(""))
        );
        assert_eq!(e["time"], "1970-01-01T00:01:00.000Z");
        a.bids = 3;
        a.high = 2500;
        a.bidder = "bob".into();
        a.buy_now = 9000;
        let e = auction_entry(&a, Some(&set()), &units(), &clock);
        assert_eq!(e["price"], json!({"amount": 2500, "precision": 3, "token": "DLUX"}));
        assert_eq!(e["initial_price"]["amount"], 1000);
        assert_eq!((e["bidder"].clone(), e["buy"].clone()), (json!("bob"), json!(9000)));
        let supply = supply_entry(e, false);
        assert_eq!(supply["price"], 2500);
        assert_eq!(supply["pricenai"]["amount"], 2500);
        assert!(supply.get("qty").is_none());
    }

    #[test]
    fn sets_show_the_references_fields() {
        let mut s = set();
        let listing = set_listing(&s, &units());
        assert_eq!(listing["minted"], "11", "65 in base64");
        assert_eq!(listing["max"], 10, "the total");
        assert_eq!(listing["royalty_allocation"], "alice_10000");
        assert_eq!(listing["link"], "alice/the-set");
        assert_eq!(listing["bond"], json!({"amount": 7, "precision": 3, "token": "DLUX"}));
        assert!(listing.get("period_div").is_none());
        let detail = set_detail(&s, &units());
        assert_eq!(
            (detail["minted"].clone(), detail["max"].clone()),
            (json!(65), json!(10))
        );
        assert_eq!(item_set(&s, &units())["max"], 16, "0..=F");
        s.distro = Some(vec![("alice".into(), 6000), ("bob".into(), 4000)]);
        s.kind = 4;
        s.exe_size = 3;
        assert_eq!(set_detail(&s, &units())["royalty_accounts"], "alice_6000,bob_4000");
        let raw = raw_set(&s);
        assert_eq!(
            raw,
            json!({"a": "alice", "b": 7, "d": 1, "e": "svg", "f": 0, "i": "11", "m": "F", "n": "cards",
                   "nl": "Cards", "o": "0", "p": "the-set", "r": 500, "ra": "alice_6000,bob_4000",
                   "s": "QmRenderer", "t": 4, "x": 3})
        );
        let nft = Nft {
            owner: "alice".into(),
            last: 64,
        };
        assert_eq!(info(&nft, Some(&s)), "10,,");
        assert_eq!(info(&nft, Some(&set())), "10,");
    }

    #[test]
    fn path_values_are_checked() {
        assert!(check_set("cards_2-x").is_ok());
        for bad in ["", "a/b", "a:b", "a b", "dé", &"x".repeat(33)] {
            assert!(check_set(bad).is_err(), "{bad:?}");
        }
        assert!(check_set(&"x".repeat(32)).is_ok());
        assert!(check_uid("Qm+=09az").is_ok());
        for bad in ["", "0:1", "0/1", "0_1", &"1".repeat(65)] {
            assert!(check_uid(bad).is_err(), "{bad:?}");
        }
        assert!(check_account("alice").is_ok());
        assert!(check_account("Al").is_err());
        assert_eq!(trade_kind("nft"), Ok((OfferKind::NftReserve, "nfts")));
        assert_eq!(trade_kind("fts"), Ok((OfferKind::FtReserve, "fts")));
        assert!(trade_kind("ls").is_err());
    }

    /// Mint supply groups each set's auctions and sales, counting each offer as one token.
    #[test]
    fn mint_supply_groups_by_set() {
        let clock = Clock { head: 0, now_ms: 0 };
        let mut a = offer(OfferKind::FtAuction, Currency::Token);
        a.set = "zoo".into();
        let s1 = offer(OfferKind::FtSale, Currency::Token);
        let mut s2 = s1.clone();
        s2.id = "0B".into();
        let sets: BTreeMap<String, Set> = [("cards".to_string(), set())].into_iter().collect();
        let r = mint_supply(&[a], &[s1, s2], &sets, &units(), &clock);
        assert_eq!(r.len(), 2);
        assert_eq!(
            (
                r[0]["set"].clone(),
                r[0]["qty_sales"].clone(),
                r[0]["qty_auctions"].clone(),
                r[0]["qty"].clone()
            ),
            (json!("cards"), json!(2), json!(0), json!(2))
        );
        assert_eq!(r[0]["name_long"], "Cards");
        assert_eq!(r[0]["sales"][1]["uid"], "0B");
        assert_eq!(r[0]["sales"][0]["qty"], 1);
        assert_eq!(r[1]["set"], "zoo");
        assert_eq!(r[1]["script"], Value::Null, "a set that is not there");
        assert_eq!(r[1]["qty"], 1);
    }
}
