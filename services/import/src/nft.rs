//! The NFT module's state: sets, NFTs, mint tokens and their offers (dex-nft-api §2.2),
//! into `modules.nft.genesis` ([`opentoken_nft::genesis`]) and the token module's
//! `genesis.nft` (the tokens the NFT module holds, and the TOKEN prices it offers at).
//!
//! - `sets/<name>` become sets: `o`/`m` the uid range (opentoken's range is inclusive:
//!   the reference never mints its `end`, opentoken may), `i` minted, `d` melted (the
//!   `D` group of the `u` string names the melted uids the mint draw must skip), `b` the
//!   bond, `f` the define fee still held, `r`/`ra` the royalty (a `d_<bps>` share of the
//!   reference's never-working dividends goes to the author, reported). The reference
//!   does not keep how many mint tokens a set made: `total` is what is out (held, offered,
//!   redeemed) plus what was minted, which is what the bonds are held for. The define
//!   block is not kept by the reference either: 0.
//! - `nfts/<owner>/<set>:<uid>` are NFTs with their owners and last change of hands (the
//!   `s` string's field 0); `nfts/t/...` reserved transfers; `rnfts/<set>/<account>` mint
//!   tokens; `pfps/<account>` profile pictures.
//! - Open offers are carried with their ids, prices, ends and TOKEN high bids: `ls`, `ah`,
//!   `am`, `lt`, `nfts/t`, `fts/t`, and `ahh` without a bid. Closed at the import, each
//!   reported: an `ahh` auction with a HIVE/HBD high bid (the bid is in the multi-sig
//!   account, which opentoken's multisig module does not hold for the NFT module: the NFT
//!   goes back to its seller and the bid must be refunded by the operators), a HIVE/HBD
//!   offer on a chain without the multisig module (the item back to its seller), and the
//!   mint-token HIVE/HBD sales `lth` opentoken does not offer (their tokens back to the
//!   seller; a purchase pending in `pcon` is reported with its quantity).
//! - A mint token redeemed but not yet drawn (a `mint` op in `chrono`) goes back to its
//!   redeemer, reported: the draw is opentoken's, not the reference's.
//! - `div` (dividends; the reference's `nft_div` cannot run) is reported.

use crate::Reader;
use opentoken_nft::b64;
use opentoken_nft::genesis::{uid_index, NftGenesis};
use opentoken_nft::keys::{Nft, Offer, Set};
use opentoken_nft::protocol::Currency;
use opentoken_nft::{NftConfig, OfferKind};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The top-level paths this part reads.
pub(crate) const PATHS: &[&str] = &[
    "sets", "nfts", "rnfts", "ls", "ah", "ahh", "am", "lt", "lth", "fts", "pcon", "pfps", "div",
];

/// The `chrono` ops this part accounts for (the rest of the importer does not report
/// them again): mints waiting for their draw, auction ends (the offers carry their end
/// block), dividends.
pub(crate) const CHRONO_OPS: &[&str] = &["mint", "ahe", "ahhe", "ame", "div"];

/// The fields of `sets/<name>`.
const SET_FIELDS: &[&str] = &[
    "a", "s", "i", "m", "o", "n", "nl", "r", "t", "x", "y", "e", "p", "b", "f", "u", "d", "ra", "j",
];

fn str_of<'a>(r: &mut Reader, path: &str, v: Option<&'a Value>) -> Option<&'a str> {
    match v {
        None | Some(Value::Null) => Some(""),
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            r.refuse(path, format!("{other} is not a string"));
            None
        }
    }
}

fn num_of(r: &mut Reader, path: &str, v: Option<&Value>) -> Option<u64> {
    match v {
        None | Some(Value::Null) => Some(0),
        Some(Value::String(s)) if s.is_empty() => Some(0),
        Some(v) => r.amount(path, v),
    }
}

/// Block `s`'s field 0: the base64 block of the NFT's last change of hands.
fn last_of(r: &mut Reader, path: &str, nft: &Value) -> Option<u64> {
    let Some(s) = nft.get("s").and_then(Value::as_str) else {
        r.refuse(path, "an NFT without its `s` string");
        return None;
    };
    let mut fields = s.split(',');
    let last = fields.next().and_then(b64::to_number);
    if last.is_none() {
        r.refuse(path, format!("`s` {s:?} does not start with a base64 block"));
    }
    if fields.any(|f| !f.is_empty()) {
        r.report(path, format!("`s` {s:?}: its exe/opt fields are not kept by opentoken"));
    }
    if nft.get("l").is_some() {
        r.report(path, "a lien (`l`, never set by the reference): not kept");
    }
    last
}

fn currency(token: &str, h: Option<&Value>) -> Option<Currency> {
    match h.and_then(Value::as_str) {
        None => Some(Currency::Token),
        Some(c) if c.eq_ignore_ascii_case(token) || c.eq_ignore_ascii_case("TOKEN") => Some(Currency::Token),
        Some(c) => Currency::parse(c).filter(|c| c.is_coin()),
    }
}

struct Ctx<'a> {
    token: String,
    coin: bool,
    cfg: NftConfig,
    sets: BTreeMap<String, Set>,
    /// `(set, uid)` of every NFT held or offered.
    held: BTreeMap<String, Nft>,
    /// Mint tokens offers hold, by set.
    ft_offers: BTreeMap<String, u64>,
    /// `<set>:<uid>` of every NFT an offer holds.
    offered: BTreeSet<String>,
    fts: BTreeMap<String, BTreeMap<String, u64>>,
    offers: Vec<Value>,
    state: &'a Map<String, Value>,
}

impl Ctx<'_> {
    fn ft(&mut self, account: &str, set: &str, qty: u64) {
        if qty > 0 {
            let e = self
                .fts
                .entry(account.into())
                .or_default()
                .entry(set.into())
                .or_default();
            *e = e.saturating_add(qty);
        }
    }

    /// `<set>:<id>` of an offer or NFT path, its set defined; refused otherwise.
    fn item<'k>(&self, r: &mut Reader, path: &str, key: &'k str, nft: bool) -> Option<(&'k str, &'k str)> {
        let Some((set, id)) = key.split_once(':') else {
            r.refuse(path, "not <set>:<uid>");
            return None;
        };
        if set.starts_with("Qm") && !self.sets.contains_key(set) {
            r.report(path, "an item of a legacy single-NFT set: not imported");
            return None;
        }
        let Some(s) = self.sets.get(set) else {
            r.refuse(path, format!("an item of the undefined set {set:?}"));
            return None;
        };
        if nft && uid_index(s, id).is_none() {
            r.refuse(
                path,
                format!("{id:?} is not a uid of {set}'s range {}..={}", s.start, s.end),
            );
            return None;
        }
        if !nft
            && (id.is_empty()
                || id.len() > 64
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'='))
        {
            r.refuse(path, "the offer id is not 1..=64 symbols of 0-9 A-Z a-z + =");
            return None;
        }
        Some((set, id))
    }

    fn give(&mut self, r: &mut Reader, path: &str, set: &str, uid: &str, owner: &str, last: u64) {
        let key = format!("{set}:{uid}");
        if self.held.contains_key(&key) || self.offered.contains(&key) {
            r.refuse(path, format!("{key} is held twice"));
            return;
        }
        self.held.insert(
            key,
            Nft {
                owner: owner.into(),
                last,
            },
        );
    }
}

fn read_set(r: &mut Reader, name: &str, v: &Value, cfg: &NftConfig) -> Option<(Set, Vec<String>)> {
    let path = format!("sets/{name}");
    let o = r.object(&path, v)?;
    let mut ok = true;
    for k in o.keys().filter(|k| !SET_FIELDS.contains(&k.as_str())) {
        r.refuse(format!("{path}/{k}"), "an unknown set field");
        ok = false;
    }
    if o.contains_key("j") {
        r.report(
            format!("{path}/j"),
            "the legacy base64 total: not kept (the total is what is out and minted)",
        );
    }
    let author = str_of(r, &format!("{path}/a"), o.get("a"))?;
    if !r.account(&format!("{path}/a"), author) {
        ok = false;
    }
    let kind = num_of(r, &format!("{path}/t"), o.get("t"))?;
    if !(1..=4).contains(&kind) {
        r.refuse(format!("{path}/t"), format!("type {kind} is not 1..=4"));
        ok = false;
    }
    let (start, end) = (
        str_of(r, &format!("{path}/o"), o.get("o"))?,
        str_of(r, &format!("{path}/m"), o.get("m"))?,
    );
    let range = b64::to_number(start)
        .zip(b64::to_number(end))
        .filter(|(lo, hi)| lo <= hi);
    let Some((lo, hi)) = range else {
        r.refuse(format!("{path}/o"), format!("{start:?}..{end:?} is not a base64 range"));
        return None;
    };
    if hi - lo + 1 > cfg.max_uids {
        r.refuse(
            format!("{path}/m"),
            format!(
                "{} uids, more than this chain's max_uids ({})",
                hi - lo + 1,
                cfg.max_uids
            ),
        );
        ok = false;
    }
    let minted = match o.get("i").and_then(Value::as_str).map(b64::to_number) {
        Some(Some(n)) => n,
        None if o.get("i").is_none() => 0,
        _ => {
            r.refuse(format!("{path}/i"), "the issued count is not a base64 number");
            return None;
        }
    };
    let royalty_bp = num_of(r, &format!("{path}/r"), o.get("r"))?;
    if royalty_bp > 10_000 {
        r.refuse(
            format!("{path}/r"),
            format!("a royalty of {royalty_bp} basis points, above 100%"),
        );
        ok = false;
    }
    let distro = match o.get("ra").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        None => None,
        Some(ra) => {
            let mut shares: Vec<(String, u64)> = Vec::new();
            let mut to_author = 0;
            for part in ra.split(',').filter(|p| !p.is_empty()) {
                match part.rsplit_once('_').map(|(a, bp)| (a, bp.parse::<u64>())) {
                    Some(("d", Ok(bp))) => to_author += bp,
                    Some((a, Ok(bp))) => shares.push((a.to_string(), bp)),
                    _ => shares.push((part.to_string(), 0)),
                }
            }
            if to_author > 0 {
                r.report(
                    format!("{path}/ra"),
                    format!(
                        "the dividend share d_{to_author} goes to the author @{author}: opentoken pays no dividends"
                    ),
                );
                match shares.iter_mut().find(|(a, _)| a == author) {
                    Some(s) => s.1 += to_author,
                    None => shares.push((author.to_string(), to_author)),
                }
            }
            let text: Vec<String> = shares.iter().map(|(a, bp)| format!("{a}_{bp}")).collect();
            match opentoken_nft::parse_distro(&text.join(",")) {
                Ok(d) => Some(d),
                Err(e) => {
                    r.refuse(format!("{path}/ra"), format!("{ra:?}: {}", e.reason));
                    ok = false;
                    None
                }
            }
        }
    };
    let mut melted_uids = Vec::new();
    let u = str_of(r, &format!("{path}/u"), o.get("u"))?;
    for group in u.split(',') {
        if let Some((uids, "D")) = group.rsplit_once('_') {
            melted_uids.extend(uids.split('_').filter(|x| !x.is_empty()).map(str::to_string));
        }
    }
    let melted = num_of(r, &format!("{path}/d"), o.get("d"))?;
    if melted_uids.len() as u64 != melted {
        r.refuse(
            format!("{path}/u"),
            format!(
                "{} melted uids in the `D` group, the set counts {melted} (`d`)",
                melted_uids.len()
            ),
        );
        ok = false;
    }
    let set = Set {
        name: name.to_string(),
        author: author.to_string(),
        script: str_of(r, &format!("{path}/s"), o.get("s"))?.to_string(),
        permlink: str_of(r, &format!("{path}/p"), o.get("p"))?.to_string(),
        long_name: str_of(r, &format!("{path}/nl"), o.get("nl"))?.to_string(),
        kind: kind.min(4) as u8,
        handling: str_of(r, &format!("{path}/e"), o.get("e"))?.to_string(),
        start: start.to_string(),
        end: end.to_string(),
        total: 0,
        minted,
        melted,
        royalty_bp,
        distro,
        bond: num_of(r, &format!("{path}/b"), o.get("b"))?,
        fee_held: num_of(r, &format!("{path}/f"), o.get("f"))?,
        exe_size: num_of(r, &format!("{path}/x"), o.get("x"))?,
        opt_size: num_of(r, &format!("{path}/y"), o.get("y"))?,
        block: 0,
    };
    ok.then_some((set, melted_uids))
}

/// Writes the NFT module's genesis into `spec`; returns the tokens it holds in escrow.
pub(crate) fn import(state: &Map<String, Value>, r: &mut Reader, block: u64, spec: &mut Value) -> u128 {
    let present: Vec<&str> = PATHS
        .iter()
        .copied()
        .filter(|p| {
            state
                .get(*p)
                .is_some_and(|v| v.as_object().is_none_or(|o| !o.is_empty()))
        })
        .collect();
    let Some(section) = spec.pointer("/modules/nft").cloned() else {
        for p in present {
            r.report(p, "the base chain runs no NFT module: not imported");
        }
        return 0;
    };
    let mut cfg_section = section;
    if let Some(o) = cfg_section.as_object_mut() {
        o.remove("genesis");
    }
    let cfg: NftConfig = match serde_json::from_value(cfg_section) {
        Ok(c) => c,
        Err(e) => {
            r.refuse(
                "modules.nft",
                format!("the base chain's NFT section does not parse: {e}"),
            );
            return 0;
        }
    };
    let mut c = Ctx {
        token: spec.get("token").and_then(Value::as_str).unwrap_or("TOKEN").to_string(),
        coin: spec.pointer("/modules/multisig").is_some(),
        cfg,
        sets: BTreeMap::new(),
        held: BTreeMap::new(),
        offered: BTreeSet::new(),
        ft_offers: BTreeMap::new(),
        fts: BTreeMap::new(),
        offers: Vec::new(),
        state,
    };
    let empty = Map::new();
    let tree = |c: &Ctx<'_>, r: &mut Reader, p: &str| -> Map<String, Value> {
        match c.state.get(p) {
            Some(v) => r.object(p, v).cloned().unwrap_or_default(),
            None => empty.clone(),
        }
    };

    let mut melted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, v) in &tree(&c, r, "sets") {
        if name.starts_with("Qm") {
            r.report(format!("sets/{name}"), "a legacy single-NFT set: not imported");
            continue;
        }
        let valid = !name.is_empty()
            && name.len() <= opentoken_nft::protocol::MAX_SET_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            r.refuse(
                format!("sets/{name}"),
                "not a set name (1..=32 ASCII letters, digits, `-`, `_`)",
            );
            continue;
        }
        if let Some((set, uids)) = read_set(r, name, v, &c.cfg) {
            for uid in &uids {
                if uid_index(&set, uid).is_none() {
                    r.refuse(
                        format!("sets/{name}/u"),
                        format!("melted {uid:?} is not a uid of the range"),
                    );
                }
            }
            if !uids.is_empty() {
                melted.insert(name.clone(), uids);
            }
            c.sets.insert(name.clone(), set);
        }
    }

    // NFTs held by accounts, and reserved transfers (`nfts/t`).
    for (owner, items) in &tree(&c, r, "nfts") {
        let opath = format!("nfts/{owner}");
        let Some(items) = r.object(&opath, items).cloned() else {
            continue;
        };
        if owner != "t" && !r.account(&opath, owner) {
            continue;
        }
        for (key, nft) in &items {
            let path = format!("{opath}/{key}");
            let Some((set, uid)) = c.item(r, &path, key, true) else {
                continue;
            };
            let Some(last) = last_of(r, &path, nft) else { continue };
            if owner != "t" {
                c.give(r, &path, set, uid, owner, last);
                continue;
            }
            let terms = nft.get("t").and_then(Value::as_str).unwrap_or("");
            let parts: Vec<&str> = terms.split('_').collect();
            let (Some(from), Some(to), Some(price), Some(kind)) = (
                parts.first(),
                parts.get(1),
                parts.get(2).and_then(|p| p.parse::<u64>().ok()),
                parts.get(3),
            ) else {
                r.refuse(&path, format!("terms {terms:?} are not from_to_price_TYPE"));
                continue;
            };
            if !r.account(&path, from) || !r.account(&path, to) {
                continue;
            }
            let Some(cur) = currency(&c.token, Some(&json!(kind))) else {
                r.refuse(&path, format!("{kind:?} is not TOKEN, HIVE or HBD"));
                continue;
            };
            offer(
                &mut c,
                r,
                &path,
                OfferKind::NftReserve,
                set,
                uid,
                from,
                cur,
                last,
                |o| {
                    o.to = to.to_string();
                    o.price = price;
                },
            );
        }
    }
    for (set, accounts) in &tree(&c, r, "rnfts") {
        let spath = format!("rnfts/{set}");
        let Some(accounts) = r.object(&spath, accounts).cloned() else {
            continue;
        };
        if !c.sets.contains_key(set) {
            if set.starts_with("Qm") {
                r.report(&spath, "mint tokens of a legacy set: not imported");
            } else {
                r.refuse(&spath, "mint tokens of an undefined set");
            }
            continue;
        }
        for (account, qty) in &accounts {
            let path = format!("{spath}/{account}");
            if qty.is_null() {
                r.report(&path, "null (the reference's NaN from `ft_sell` without tokens): 0");
                continue;
            }
            if let (true, Some(q)) = (r.account(&path, account), r.amount(&path, qty)) {
                c.ft(account, set, q);
            }
        }
    }

    // Offers.
    for (root, kind) in [
        ("ls", OfferKind::NftSale),
        ("ah", OfferKind::NftAuction),
        ("ahh", OfferKind::NftAuction),
        ("am", OfferKind::FtAuction),
        ("lt", OfferKind::FtSale),
    ] {
        for (key, v) in &tree(&c, r, root) {
            let path = format!("{root}/{key}");
            let Some(o) = r.object(&path, v).cloned() else { continue };
            let Some((set, id)) = c.item(r, &path, key, kind.is_nft()) else {
                continue;
            };
            let seller = o.get("o").and_then(Value::as_str).unwrap_or("");
            if !r.account(&format!("{path}/o"), seller) {
                continue;
            }
            let last = match o.get("nft") {
                Some(n) if kind.is_nft() => match last_of(r, &format!("{path}/nft"), n) {
                    Some(l) => l,
                    None => continue,
                },
                None if kind.is_nft() => {
                    r.refuse(&path, "an NFT offer without its `nft`");
                    continue;
                }
                _ => 0,
            };
            let h = if root == "ahh" {
                o.get("h").or(Some(&Value::Null))
            } else {
                o.get("h")
            };
            let Some(cur) = (match (root, h) {
                ("ahh", Some(h)) => h.as_str().and_then(Currency::parse).filter(|c| c.is_coin()),
                _ => currency(&c.token, h),
            }) else {
                r.refuse(format!("{path}/h"), "not the token, HIVE or HBD");
                continue;
            };
            let nums: Vec<Option<u64>> = ["p", "n", "t", "e", "c", "b"]
                .iter()
                .map(|f| num_of(r, &format!("{path}/{f}"), o.get(*f)))
                .collect();
            let [Some(price), Some(buy_now), Some(days), Some(expires), Some(bids), Some(high)] = nums[..] else {
                continue;
            };
            let bidder = o.get("f").and_then(Value::as_str).unwrap_or("").to_string();
            if high > 0 && !r.account(&format!("{path}/f"), &bidder) {
                continue;
            }
            if cur.is_coin() && high > 0 {
                r.report(
                    &path,
                    format!(
                        "closed at the import: the NFT back to @{seller}; the high bid of {high} {} by @{bidder} is in the multi-sig account and is not carried (refund it)",
                        cur.as_str()
                    ),
                );
                c.give(r, &path, set, id, seller, last);
                continue;
            }
            let auction = kind.is_auction();
            let per_day = c.cfg.blocks_per_day;
            offer(&mut c, r, &path, kind, set, id, seller, cur, last, |x| {
                x.price = price;
                if auction {
                    x.buy_now = buy_now;
                    x.days = days;
                    x.expires = expires.max(block + 1);
                    x.bids = if high > 0 { bids.max(1) } else { 0 };
                    x.high = high;
                    x.bidder = if high > 0 { bidder.clone() } else { String::new() };
                    x.block = expires.saturating_sub(days.saturating_mul(per_day));
                }
            });
        }
    }
    // Mint-token reserved transfers: `fts/t/<set>:<hash>`.
    for (sub, items) in &tree(&c, r, "fts") {
        let spath = format!("fts/{sub}");
        if sub != "t" {
            r.refuse(&spath, "an unknown path under fts (only fts/t)");
            continue;
        }
        let Some(items) = r.object(&spath, items).cloned() else {
            continue;
        };
        for (key, v) in &items {
            let path = format!("{spath}/{key}");
            let Some((set, id)) = c.item(r, &path, key, false) else {
                continue;
            };
            let terms = v.get("t").and_then(Value::as_str).unwrap_or("");
            let parts: Vec<&str> = terms.split('_').collect();
            let (Some(from), Some(to), Some(price)) = (
                parts.first(),
                parts.get(1),
                parts.get(2).and_then(|p| p.parse::<u64>().ok()),
            ) else {
                r.refuse(&path, format!("terms {terms:?} are not from_to_price"));
                continue;
            };
            if r.account(&path, from) && r.account(&path, to) {
                offer(
                    &mut c,
                    r,
                    &path,
                    OfferKind::FtReserve,
                    set,
                    id,
                    from,
                    Currency::Token,
                    0,
                    |o| {
                        o.to = to.to_string();
                        o.price = price;
                    },
                );
            }
        }
    }
    // Mint-token HIVE/HBD sales: closed, their tokens back to the seller.
    for (key, v) in &tree(&c, r, "lth") {
        let path = format!("lth/{key}");
        let Some((set, _)) = c.item(r, &path, key, false) else {
            continue;
        };
        let seller = v.get("o").and_then(Value::as_str).unwrap_or("");
        if !r.account(&format!("{path}/o"), seller) {
            continue;
        }
        if let Some(q) = num_of(r, &format!("{path}/q"), v.get("q")) {
            c.ft(seller, set, q);
            r.report(
                &path,
                format!("a mint-token HIVE/HBD sale (not offered by opentoken): closed at the import, its {q} token(s) back to @{seller}"),
            );
        }
    }
    report_each(r, c.state.get("pcon"), "pcon", 3, |_| {
        "a purchase pending the reference's oracle: not carried (its HIVE/HBD is in the multi-sig account; refund it)"
            .into()
    });
    report_each(r, c.state.get("div"), "div", 1, |v| {
        format!("dividends (never payable in the reference; opentoken pays none): {v}, not imported")
    });

    // Mints waiting for their draw: the token back to the redeemer.
    if let Some(chrono) = c.state.get("chrono").and_then(Value::as_object) {
        for (key, e) in chrono {
            if e.get("op").and_then(Value::as_str) != Some("mint") {
                continue;
            }
            let path = format!("chrono/{key}");
            let (Some(set), Some(by)) = (
                e.get("set").and_then(Value::as_str),
                e.get("for").and_then(Value::as_str),
            ) else {
                r.refuse(&path, "a mint without its set and redeemer");
                continue;
            };
            if c.sets.contains_key(set) && r.account(&path, by) {
                c.ft(by, set, 1);
                r.report(
                    &path,
                    format!("a mint not yet drawn: the {set} mint token back to @{by}, to redeem again"),
                );
            } else if !c.sets.contains_key(set) {
                r.refuse(&path, format!("a mint of the undefined set {set:?}"));
            }
        }
    }

    let mut pfps = BTreeMap::new();
    for (account, v) in &tree(&c, r, "pfps") {
        let path = format!("pfps/{account}");
        let item = v.as_str().unwrap_or("");
        let known = item.split_once(':').and_then(|(s, u)| uid_index(c.sets.get(s)?, u));
        if !r.account(&path, account) {
            continue;
        }
        match known {
            Some(_) => {
                pfps.insert(account.clone(), item.to_string());
            }
            None => r.report(&path, format!("{v} is no NFT of an imported set: not imported")),
        }
    }

    // Each set made the tokens out and the NFTs minted.
    for (name, set) in c.sets.iter_mut() {
        let out: u64 =
            c.fts.values().filter_map(|m| m.get(name)).sum::<u64>() + c.ft_offers.get(name).copied().unwrap_or(0);
        set.total = set.minted.saturating_add(out);
    }
    let nfts: BTreeMap<String, Nft> = c.held;
    let genesis = json!({
        "sets": c.sets, "melted": melted, "nfts": nfts, "fts": c.fts,
        "offers": c.offers, "pfps": pfps,
    });
    let parsed: NftGenesis = match serde_json::from_value(genesis.clone()) {
        Ok(g) => g,
        Err(e) => {
            r.refuse("sets", format!("the NFT state does not make a genesis: {e}"));
            return 0;
        }
    };
    if let Err(e) = parsed.validate(&c.cfg, c.coin) {
        r.refuse(
            "sets",
            format!("the NFT state is not one the module's ops can make: {}", e.why),
        );
        return 0;
    }
    let held = parsed.held();
    spec["modules"]["nft"]["genesis"] = genesis;
    if let Some(t) = spec
        .pointer_mut("/modules/token/genesis")
        .and_then(Value::as_object_mut)
    {
        t.insert("nft".into(), json!({"escrow": held as u64, "prices": parsed.prices()}));
    }
    held
}

/// An offer of `kind` from `seller`: carried when this chain can hold it, else closed
/// (the item back to the seller) and reported.
#[allow(clippy::too_many_arguments)]
fn offer(
    c: &mut Ctx<'_>,
    r: &mut Reader,
    path: &str,
    kind: OfferKind,
    set: &str,
    id: &str,
    seller: &str,
    currency: Currency,
    last: u64,
    fill: impl FnOnce(&mut Offer),
) {
    if currency.is_coin() && !c.coin {
        r.report(
            path,
            format!("a {} offer, and the base chain runs no multisig module: closed at the import, the item back to @{seller}", currency.as_str()),
        );
        if kind.is_nft() {
            c.give(r, path, set, id, seller, last);
        } else {
            c.ft(seller, set, 1);
        }
        return;
    }
    let mut o = Offer::new(kind, set, id, seller, currency, 0);
    fill(&mut o);
    if kind.is_nft() {
        let key = format!("{set}:{id}");
        if c.held.contains_key(&key) || !c.offered.insert(key.clone()) {
            r.refuse(path, format!("{key} is held twice"));
            return;
        }
    } else {
        *c.ft_offers.entry(set.into()).or_default() += 1;
    }
    c.offers.push(json!({"offer": o, "last": last}));
}

/// Reports every leaf `depth` levels under `root`.
fn report_each(r: &mut Reader, v: Option<&Value>, root: &str, depth: usize, why: impl Fn(&Value) -> String) {
    let Some(v) = v else { return };
    let mut stack = vec![(root.to_string(), v, 0usize)];
    while let Some((path, v, d)) = stack.pop() {
        match v.as_object() {
            Some(o) if d < depth => stack.extend(o.iter().map(|(k, v)| (format!("{path}/{k}"), v, d + 1))),
            _ => r.report(path, why(v)),
        }
    }
}

#[cfg(test)]
mod tests;
