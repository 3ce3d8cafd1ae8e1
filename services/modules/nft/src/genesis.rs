//! The module's state at the start of a chain (`modules.nft.genesis`): what a running
//! community brings (`opentoken import-state`), turned into genesis events.
//!
//! ```json
//! "genesis": {
//!   "sets": {"<name>": <Set>},
//!   "melted": {"<set>": ["<uid>", ...]},
//!   "nfts": {"<set>:<uid>": {"owner": "<account>", "last": <block>}},
//!   "fts": {"<account>": {"<set>": <count>}},
//!   "offers": [{"offer": <Offer>, "last": <block>}],
//!   "pfps": {"<account>": "<set>:<uid>"}
//! }
//! ```
//! Every part is optional. `nfts` are the NFTs accounts hold; an NFT an offer holds is in
//! `offers` (its `last` is the NFT's last change of hands; 0 for mint-token offers), a
//! mint token an offer holds likewise (not counted in `fts`). `melted` lists the uids
//! melted so far: with the live NFTs they are the uids the mint draw has used, so the
//! draw's swap table can be rebuilt (its keys are the one part of the state that depends
//! on history: the table seeded is the canonical one for the used uids).
//!
//! A genesis that could not be the state of the module's ops is refused, naming the field:
//! a set whose counts do not add up (minted NFTs other than the live and the melted ones,
//! more mint tokens than it made), an NFT of an undefined set or outside its range, an NFT
//! held twice, an owner or seller that is not a Hive account, a HIVE/HBD offer on a chain
//! without the multisig module, a bid on an offer that is not an auction.

use crate::b64;
use crate::config::NftConfig;
use crate::events::NftEvent;
use crate::keys::{Nft, Offer, Set};
use crate::protocol::{check_name, Currency, OfferKind, MAX_ID, MAX_SET_NAME};
use opentoken_core::account::is_valid_account_name;
use opentoken_core::module::GenesisError;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// An offer open at the start, with the block its NFT last changed hands.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisOffer {
    pub offer: Offer,
    #[serde(default)]
    pub last: u64,
}

/// The module's state at the start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct NftGenesis {
    pub sets: BTreeMap<String, Set>,
    pub melted: BTreeMap<String, Vec<String>>,
    pub nfts: BTreeMap<String, Nft>,
    pub fts: BTreeMap<String, BTreeMap<String, u64>>,
    pub offers: Vec<GenesisOffer>,
    pub pfps: BTreeMap<String, String>,
}

fn bad(why: impl Into<String>) -> GenesisError {
    GenesisError {
        module: crate::NAME.into(),
        why: why.into(),
    }
}

/// The index of `uid` in `set`'s range, when it is one of its uids as the module writes
/// them (padded to the width of the range's end).
pub fn uid_index(set: &Set, uid: &str) -> Option<u64> {
    let n = b64::to_number(uid)?;
    let lo = b64::to_number(&set.start)?;
    let hi = b64::to_number(&set.end)?;
    (lo..=hi).contains(&n).then_some(())?;
    (b64::padded(n, set.end.len()) == uid).then_some(n - lo)
}

fn check_set(cfg: &NftConfig, key: &str, s: &Set) -> Result<(), GenesisError> {
    let at = |f: &str, why: &str| bad(format!("genesis.sets.{key}.{f}: {why}"));
    if s.name != key || key.is_empty() || key.len() > MAX_SET_NAME || check_name("set", key).is_err() {
        return Err(at("name", "must be the key, 1..=32 ASCII letters, digits, `-`, `_`"));
    }
    if !is_valid_account_name(&s.author) {
        return Err(at("author", "not a Hive account name"));
    }
    if !(1..=4).contains(&s.kind) {
        return Err(at("kind", "must be 1..=4"));
    }
    let (Some(lo), Some(hi)) = (b64::to_number(&s.start), b64::to_number(&s.end)) else {
        return Err(at("start", "start and end must be base64 numbers of 1..=8 symbols"));
    };
    if lo > hi || s.uids() > cfg.max_uids {
        return Err(at(
            "end",
            &format!("the range must be start..=end of at most max_uids ({})", cfg.max_uids),
        ));
    }
    if s.total > s.uids() || s.minted > s.total || s.melted > s.minted {
        return Err(at("total", "needs melted <= minted <= total <= the range's uids"));
    }
    if s.royalty_bp > 10_000 {
        return Err(at("royalty_bp", "at most 10000"));
    }
    if let Some(d) = &s.distro {
        let text: Vec<String> = d.iter().map(|(a, bp)| format!("{a}_{bp}")).collect();
        if let Err(r) = crate::ops::parse_distro(&text.join(",")) {
            return Err(at("distro", &r.reason));
        }
    }
    let bonds = s.bond.checked_mul(s.total);
    if bonds
        .and_then(|b| b.checked_add(s.fee_held))
        .is_none_or(|h| h > i64::MAX as u64)
    {
        return Err(at("bond", "the bonds and the held fee overflow"));
    }
    Ok(())
}

impl NftGenesis {
    pub fn is_empty(&self) -> bool {
        self == &NftGenesis::default()
    }

    /// The tokens the module holds at the start (the token module's `tot/nft` must seed
    /// exactly this): every set's held fee and bonds, and the TOKEN auctions' high bids.
    pub fn held(&self) -> u128 {
        let sets: u128 = self.sets.values().map(|s| u128::from(s.held())).sum();
        let bids: u128 = self
            .offers
            .iter()
            .filter(|o| o.offer.currency == Currency::Token)
            .map(|o| u128::from(o.offer.high))
            .sum();
        sets + bids
    }

    /// The TOKEN-priced items on offer at the start and their prices (the token module's
    /// mirror of them must seed exactly these).
    pub fn prices(&self) -> BTreeMap<String, u64> {
        self.offers
            .iter()
            .map(|o| &o.offer)
            .filter(|o| o.kind.is_priced() && o.currency == Currency::Token)
            .map(|o| (o.item(), o.price))
            .collect()
    }

    /// Refuses a genesis that could not be the module's state, naming the field. `coin`:
    /// whether the chain runs the multisig module (HIVE/HBD offers need it).
    pub fn validate(&self, cfg: &NftConfig, coin: bool) -> Result<(), GenesisError> {
        for (key, s) in &self.sets {
            check_set(cfg, key, s)?;
        }
        if self.held() > i64::MAX as u128 {
            return Err(bad("genesis: the sets and bids hold more than i64::MAX"));
        }
        // Every uid used once: live (held or offered) or melted.
        let mut used: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
        let mut use_uid = |set: &str, uid: &str, field: String| -> Result<(), GenesisError> {
            let s = self
                .sets
                .get(set)
                .ok_or_else(|| bad(format!("{field}: set {set:?} is not defined")))?;
            let idx =
                uid_index(s, uid).ok_or_else(|| bad(format!("{field}: {uid:?} is not a uid of set {set}'s range")))?;
            if !used.entry(s.name.as_str()).or_default().insert(idx) {
                return Err(bad(format!("{field}: uid {set}:{uid} is held or melted twice")));
            }
            Ok(())
        };
        for (set, uids) in &self.melted {
            for uid in uids {
                use_uid(set, uid, format!("genesis.melted.{set}"))?;
            }
            let n = self.sets.get(set).map_or(0, |s| s.melted);
            if uids.len() as u64 != n {
                return Err(bad(format!(
                    "genesis.melted.{set}: {} uids, the set counts {n} melted",
                    uids.len()
                )));
            }
        }
        for (key, nft) in &self.nfts {
            let field = format!("genesis.nfts.{key}");
            let (set, uid) = key
                .split_once(':')
                .ok_or_else(|| bad(format!("{field}: not <set>:<uid>")))?;
            use_uid(set, uid, field.clone())?;
            if !is_valid_account_name(&nft.owner) {
                return Err(bad(format!("{field}.owner: {:?} is not a Hive account", nft.owner)));
            }
        }
        let mut ft_out: BTreeMap<&str, u128> = BTreeMap::new();
        for (account, sets) in &self.fts {
            if !is_valid_account_name(account) {
                return Err(bad(format!("genesis.fts.{account}: not a Hive account")));
            }
            for (set, qty) in sets {
                let Some(s) = self.sets.get(set) else {
                    return Err(bad(format!("genesis.fts.{account}.{set}: set is not defined")));
                };
                if *qty == 0 {
                    return Err(bad(format!("genesis.fts.{account}.{set}: a count of 0")));
                }
                *ft_out.entry(s.name.as_str()).or_default() += u128::from(*qty);
            }
        }
        let mut items = BTreeSet::new();
        for (i, g) in self.offers.iter().enumerate() {
            let o = &g.offer;
            let field = format!("genesis.offers[{i}] ({})", o.item());
            let at = |why: &str| bad(format!("{field}: {why}"));
            if !items.insert(o.item()) {
                return Err(at("opened twice"));
            }
            let Some(s) = self.sets.get(&o.set) else {
                return Err(at("set is not defined"));
            };
            if o.kind.is_nft() {
                use_uid(&o.set, &o.id, field.clone())?;
            } else {
                if o.id.is_empty()
                    || o.id.len() > MAX_ID
                    || !o
                        .id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'=')
                {
                    return Err(at("id: not 1..=64 symbols of 0-9 A-Z a-z + ="));
                }
                if o.currency.is_coin() {
                    return Err(at("currency: mint-token offers are in the token"));
                }
                *ft_out.entry(s.name.as_str()).or_default() += 1;
            }
            if !is_valid_account_name(&o.seller) {
                return Err(at("seller: not a Hive account"));
            }
            if o.currency.is_coin() && !coin {
                return Err(at("currency: HIVE/HBD offers need the multisig module"));
            }
            if o.price == 0 {
                return Err(at("price: at least 1"));
            }
            let reserve = matches!(o.kind, OfferKind::NftReserve | OfferKind::FtReserve);
            if reserve == o.to.is_empty() || (reserve && !is_valid_account_name(&o.to)) {
                return Err(at("to: a reserved transfer's buyer, and only there"));
            }
            if o.kind.is_auction() {
                if o.expires == 0 || o.days == 0 {
                    return Err(at("expires: an auction needs its days and end block"));
                }
                if (o.high > 0) != (o.bids > 0) || (o.high > 0 && !is_valid_account_name(&o.bidder)) {
                    return Err(at("high: a high bid needs its bidder and a bid count"));
                }
            } else if o.high > 0 || o.bids > 0 || !o.bidder.is_empty() || o.expires > 0 {
                return Err(at("high: bids and an end block are for auctions"));
            }
            if g.last > 0 && !o.kind.is_nft() {
                return Err(at("last: mint-token offers hold no NFT"));
            }
        }
        for (name, s) in &self.sets {
            let live = used.get(name.as_str()).map_or(0, BTreeSet::len) as u64;
            if live != s.minted {
                return Err(bad(format!(
                    "genesis.sets.{name}.minted: {} minted, but {live} uids are held, offered or melted",
                    s.minted
                )));
            }
            let fts = ft_out.get(name.as_str()).copied().unwrap_or(0);
            if fts + u128::from(s.minted) > u128::from(s.total) {
                return Err(bad(format!(
                    "genesis.sets.{name}.total: {fts} mint tokens out and {} minted, more than the {} made",
                    s.minted, s.total
                )));
            }
        }
        for (account, item) in &self.pfps {
            let ok = item
                .split_once(':')
                .and_then(|(set, uid)| uid_index(self.sets.get(set)?, uid));
            if !is_valid_account_name(account) || ok.is_none() {
                return Err(bad(format!(
                    "genesis.pfps.{account}: {item:?} is not a uid of a defined set, or not an account's"
                )));
            }
        }
        Ok(())
    }

    /// The events that write this state, in order: sets (with their draw tables), the
    /// NFTs and mint tokens to their holders (an offered item to its seller first), the
    /// offers, the profile pictures. Assumes [`validate`](Self::validate) passed.
    pub fn events(&self) -> Vec<NftEvent> {
        let mut out = Vec::new();
        let mut used: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
        let mut note = |set: &str, uid: &str| {
            if let Some(s) = self.sets.get(set) {
                if let Some(i) = uid_index(s, uid) {
                    used.entry(s.name.as_str()).or_default().insert(i);
                }
            }
        };
        for (set, uids) in &self.melted {
            uids.iter().for_each(|u| note(set, u));
        }
        for key in self.nfts.keys() {
            if let Some((set, uid)) = key.split_once(':') {
                note(set, uid);
            }
        }
        for g in self.offers.iter().filter(|g| g.offer.kind.is_nft()) {
            note(&g.offer.set, &g.offer.id);
        }
        for s in self.sets.values() {
            let perm = used.get(s.name.as_str()).map(|u| perm(s, u)).unwrap_or_default();
            out.push(NftEvent::SetSeeded {
                set: Box::new(s.clone()),
                perm,
            });
        }
        for (key, nft) in &self.nfts {
            if let Some((set, uid)) = key.split_once(':') {
                out.push(NftEvent::NftSeeded {
                    set: set.into(),
                    uid: uid.into(),
                    owner: nft.owner.clone(),
                    block: nft.last,
                });
            }
        }
        let mut fts = self.fts.clone();
        for g in &self.offers {
            let o = &g.offer;
            if o.kind.is_nft() {
                out.push(NftEvent::NftSeeded {
                    set: o.set.clone(),
                    uid: o.id.clone(),
                    owner: o.seller.clone(),
                    block: g.last,
                });
            } else {
                *fts.entry(o.seller.clone())
                    .or_default()
                    .entry(o.set.clone())
                    .or_default() += 1;
            }
        }
        for (account, sets) in fts {
            for (set, qty) in sets {
                out.push(NftEvent::FtSeeded {
                    set,
                    account: account.clone(),
                    qty,
                });
            }
        }
        for g in &self.offers {
            out.push(NftEvent::OfferSeeded(Box::new(g.offer.clone())));
        }
        for (account, item) in &self.pfps {
            if let Some((set, uid)) = item.split_once(':') {
                out.push(NftEvent::PfpSet {
                    account: account.clone(),
                    set: set.into(),
                    uid: uid.into(),
                });
            }
        }
        out
    }
}

/// The draw's swap table for a set whose used uid indices are `used` (`|used|` is the
/// set's `minted`): the slots `0..remaining` must name exactly the unused indices. A
/// used index below `remaining` takes, in order, an unused one at or above it; the work
/// is bounded by the used count.
pub fn perm(set: &Set, used: &BTreeSet<u64>) -> Vec<(u64, u64)> {
    let remaining = set.uids().saturating_sub(used.len() as u64);
    let mut free = (remaining..set.uids()).filter(|k| !used.contains(k));
    used.range(..remaining)
        .filter_map(|&slot| free.next().map(|idx| (slot, idx)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chron::draw;

    #[test]
    fn the_seeded_table_draws_exactly_the_unused_uids() {
        let mut s = crate::events::tests::sample_set();
        s.start = "0".into();
        s.end = "Z".into(); // 36 uids
        for used in [
            vec![],
            vec![0, 5, 35],
            vec![30, 31, 32, 33, 34, 35],
            (0..36).collect(),
            vec![1, 2, 3, 20],
        ] {
            let used: BTreeSet<u64> = used.into_iter().collect();
            let mut table: BTreeMap<u64, u64> = perm(&s, &used).into_iter().collect();
            let mut drawn = BTreeSet::new();
            let n = s.uids() - used.len() as u64;
            for i in 0..n {
                let remaining = n - i;
                let (idx, writes) = draw(|j| table.get(&j).copied(), remaining, (i * 7) % remaining);
                for (j, v) in writes {
                    match v {
                        Some(v) => table.insert(j, v),
                        None => table.remove(&j),
                    };
                }
                assert!(!used.contains(&idx) && drawn.insert(idx), "{idx} drawn from {used:?}");
            }
            assert_eq!(drawn.len() as u64 + used.len() as u64, s.uids());
        }
    }
}
