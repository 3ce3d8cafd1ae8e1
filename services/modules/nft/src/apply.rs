//! Evolve: writes what an event decided. Total over what `handle` and chron work produce;
//! a failure here is a broken invariant (the processor stops), never bad input.

use crate::chron::{broken, draw, uid_of};
use crate::events::NftEvent;
use crate::keys::{self, num, MintRequest, Nft, Offer, Set};
use crate::protocol::{Currency, OfferKind};
use opentoken_core::counter;
use opentoken_core::module::InvariantError;
use opentoken_core::{StateRead, StateWrite};

fn put_num(state: &mut dyn StateWrite, key: Vec<u8>, v: u64) {
    counter::put(state, key, v)
}

fn add(state: &mut dyn StateWrite, key: Vec<u8>, by: u64) -> Result<(), InvariantError> {
    counter::add(state, crate::NAME, key, by)
}

fn sub(state: &mut dyn StateWrite, key: Vec<u8>, by: u64) -> Result<(), InvariantError> {
    counter::sub(state, crate::NAME, key, by)
}

fn put_json<T: serde::Serialize>(state: &mut dyn StateWrite, key: Vec<u8>, v: &T) -> Result<(), InvariantError> {
    let bytes = serde_json::to_vec(v).map_err(|e| broken(format!("encoding a record: {e}")))?;
    state.put(key, bytes);
    Ok(())
}

fn load_set(state: &dyn StateRead, name: &str) -> Result<Set, InvariantError> {
    keys::load_set(state, name)
        .ok_or_else(|| broken(format!("set {name} is missing")))?
        .map_err(broken)
}

fn give_nft(state: &mut dyn StateWrite, set: &str, uid: &str, owner: &str, block: u64) -> Result<(), InvariantError> {
    put_json(
        state,
        keys::nft(set, uid),
        &Nft {
            owner: owner.into(),
            last: block,
        },
    )?;
    state.put(keys::owned(owner, set, uid), Vec::new());
    Ok(())
}

fn take_nft(state: &mut dyn StateWrite, set: &str, uid: &str, owner: &str) -> Result<Nft, InvariantError> {
    let nft = keys::load_nft(state, set, uid)
        .ok_or_else(|| broken(format!("NFT {set}:{uid} is missing")))?
        .map_err(broken)?;
    if nft.owner != owner {
        return Err(broken(format!("NFT {set}:{uid} is held by {}, not {owner}", nft.owner)));
    }
    state.delete(&keys::owned(owner, set, uid));
    Ok(nft)
}

fn close_offer(state: &mut dyn StateWrite, o: &Offer) {
    state.delete(&o.key());
    state.delete(&keys::offer_by(&o.seller, o.kind, &o.set, &o.id));
    if o.kind.is_auction() {
        state.delete(&keys::expiry(o.expires, o.kind, &o.set, &o.id));
    }
}

/// The item of a closing offer goes to `to` at `block`.
fn release(state: &mut dyn StateWrite, o: &Offer, to: &str, block: u64) -> Result<(), InvariantError> {
    if o.kind.is_nft() {
        take_nft(state, &o.set, &o.id, o.kind.as_str())?;
        give_nft(state, &o.set, &o.id, to, block)?;
    } else {
        add(state, keys::ft(to, &o.set), 1)?;
    }
    close_offer(state, o);
    Ok(())
}

pub(crate) fn apply(event: &NftEvent, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
    match event {
        NftEvent::SetDefined { set, definer, fee, .. } => {
            if state.get(&keys::set(&set.name)).is_some() {
                return Err(broken(format!("set {} defined twice", set.name)));
            }
            put_json(state, keys::set(&set.name), set.as_ref())?;
            add(state, keys::ft(definer, &set.name), set.total)?;
            add(state, keys::HELD.to_vec(), *fee)?;
        }
        NftEvent::Refunded { .. } => {}
        NftEvent::FtMoved { set, from, to, qty } => {
            sub(state, keys::ft(from, set), *qty)?;
            add(state, keys::ft(to, set), *qty)?;
        }
        NftEvent::MintRequested {
            set,
            owner,
            seq,
            txid,
            block,
        } => {
            sub(state, keys::ft(owner, set), 1)?;
            put_json(
                state,
                keys::mint_request(*seq),
                &MintRequest {
                    set: set.clone(),
                    owner: owner.clone(),
                    txid: txid.clone(),
                    block: *block,
                },
            )?;
            put_num(state, keys::SEQ.to_vec(), seq + 1);
        }
        NftEvent::Minted {
            set,
            uid,
            owner,
            seq,
            slot,
            block,
            fee_paid,
            fee_burned,
        } => {
            let key = keys::mint_request(*seq);
            if state.get(&key).is_none() {
                return Err(broken(format!("mint request {seq} is not waiting")));
            }
            state.delete(&key);
            let mut s = load_set(state, set)?;
            let remaining = s.uids().saturating_sub(s.minted);
            if *slot >= remaining {
                return Err(broken(format!("slot {slot} of {remaining} in set {set}")));
            }
            let (idx, writes) = draw(
                |j| {
                    state
                        .get(&keys::perm(set, j))
                        .and_then(|v| <[u8; 8]>::try_from(v).ok().map(u64::from_be_bytes))
                },
                remaining,
                *slot,
            );
            for (j, v) in writes {
                match v {
                    Some(v) => state.put(keys::perm(set, j), v.to_be_bytes().to_vec()),
                    None => state.delete(&keys::perm(set, j)),
                }
            }
            let drawn = uid_of(&s, idx)?;
            if &drawn != uid {
                return Err(broken(format!(
                    "slot {slot} of {set} is uid {drawn}, the event says {uid}"
                )));
            }
            if state.get(&keys::nft(set, uid)).is_some() {
                return Err(broken(format!("uid {set}:{uid} minted twice")));
            }
            if s.fee_held < fee_paid + fee_burned {
                return Err(broken(format!("set {set} holds less fee than its first mint pays")));
            }
            s.fee_held -= fee_paid + fee_burned;
            s.minted += 1;
            put_json(state, keys::set(set), &s)?;
            sub(state, keys::HELD.to_vec(), fee_paid + fee_burned)?;
            give_nft(state, set, uid, owner, *block)?;
        }
        NftEvent::NftMoved {
            set,
            uid,
            from,
            to,
            block,
        } => {
            take_nft(state, set, uid, from)?;
            give_nft(state, set, uid, to, *block)?;
        }
        NftEvent::Melted { set, uid, owner, bond } => {
            take_nft(state, set, uid, owner)?;
            state.delete(&keys::nft(set, uid));
            let mut s = load_set(state, set)?;
            s.melted += 1;
            put_json(state, keys::set(set), &s)?;
            sub(state, keys::HELD.to_vec(), *bond)?;
            let pfp = keys::pfp(owner);
            if state.get(&pfp) == Some(format!("{set}:{uid}").as_bytes()) {
                state.delete(&pfp);
            }
        }
        NftEvent::Offered(o) => {
            if state.get(&o.key()).is_some() {
                return Err(broken(format!("offer {} opened twice", o.item())));
            }
            if o.kind.is_nft() {
                let nft = take_nft(state, &o.set, &o.id, &o.seller)?;
                put_json(
                    state,
                    keys::nft(&o.set, &o.id),
                    &Nft {
                        owner: o.kind.as_str().into(),
                        last: nft.last,
                    },
                )?;
            } else {
                sub(state, keys::ft(&o.seller, &o.set), 1)?;
            }
            put_json(state, o.key(), o.as_ref())?;
            state.put(keys::offer_by(&o.seller, o.kind, &o.set, &o.id), Vec::new());
            if o.kind.is_auction() {
                state.put(keys::expiry(o.expires, o.kind, &o.set, &o.id), Vec::new());
            }
        }
        NftEvent::Closed { offer, block, .. } => {
            if offer.high > 0 {
                return Err(broken(format!("offer {} closed with a bid held", offer.item())));
            }
            release(state, offer, &offer.seller, *block)?;
        }
        NftEvent::Sold {
            offer,
            buyer,
            price,
            paid,
            fee,
            royalties,
            block,
        } => {
            let royalty: u64 = royalties.iter().map(|r| r.amount).sum();
            if royalty.saturating_add(*fee) > *price {
                return Err(broken(format!("royalties and fee of {} above its price", offer.item())));
            }
            add(state, keys::held(offer.currency), *paid)?;
            sub(state, keys::held(offer.currency), *price)?;
            release(state, offer, buyer, *block)?;
        }
        NftEvent::BidPlaced {
            kind,
            set,
            id,
            currency,
            bidder,
            amount,
            prev_amount,
            ..
        } => {
            let mut o = keys::load_offer(state, *kind, set, id)
                .ok_or_else(|| broken(format!("bid on {set}:{id}, which is not open")))?
                .map_err(broken)?;
            if o.high != *prev_amount {
                return Err(broken(format!(
                    "bid on {} replaces {}, not {prev_amount}",
                    o.item(),
                    o.high
                )));
            }
            o.high = *amount;
            o.bidder = bidder.clone();
            o.bids += 1;
            if o.currency != *currency {
                return Err(broken(format!(
                    "a {currency:?} bid on {}, priced in {:?}",
                    o.item(),
                    o.currency
                )));
            }
            put_json(state, o.key(), &o)?;
            add(state, keys::held(*currency), *amount)?;
            sub(state, keys::held(*currency), *prev_amount)?;
        }
        NftEvent::RoyaltySplit { set, distro } => {
            let mut s = load_set(state, set)?;
            s.distro = Some(distro.clone());
            put_json(state, keys::set(set), &s)?;
        }
        NftEvent::PfpSet { account, set, uid } => {
            state.put(keys::pfp(account), format!("{set}:{uid}").into_bytes());
        }
        NftEvent::SetSeeded { set, perm } => {
            if state.get(&keys::set(&set.name)).is_some() {
                return Err(broken(format!("set {} seeded twice", set.name)));
            }
            put_json(state, keys::set(&set.name), set.as_ref())?;
            add(state, keys::HELD.to_vec(), set.held())?;
            for (slot, index) in perm {
                state.put(keys::perm(&set.name, *slot), index.to_be_bytes().to_vec());
            }
        }
        NftEvent::NftSeeded { set, uid, owner, block } => {
            if state.get(&keys::nft(set, uid)).is_some() {
                return Err(broken(format!("NFT {set}:{uid} seeded twice")));
            }
            give_nft(state, set, uid, owner, *block)?;
        }
        NftEvent::FtSeeded { set, account, qty } => add(state, keys::ft(account, set), *qty)?,
        NftEvent::OfferSeeded(o) => {
            apply(&NftEvent::Offered(o.clone()), state)?;
            add(state, keys::held(o.currency), o.high)?;
        }
    }
    Ok(())
}

/// What the module should hold, recomputed from its sets and auctions: every set's
/// [`Set::held`] plus every TOKEN high bid. Equal to `tot/token` at every block (a
/// property test checks it); the token module's `tot/nft` equals it plus the messages in
/// flight. The HIVE/HBD high bids equal `tot/HIVE` and `tot/HBD` likewise
/// ([`coin_held_matches`]).
pub fn held_matches(state: &dyn StateRead) -> Result<u64, InvariantError> {
    coin_held_matches(state, Currency::Hive)?;
    coin_held_matches(state, Currency::Hbd)?;
    let mut expect = 0u64;
    for (k, v) in state.scan_prefix(keys::SET_PREFIX) {
        let s: Set = serde_json::from_slice(v)
            .map_err(|e| broken(format!("{} does not decode: {e}", String::from_utf8_lossy(k))))?;
        expect = expect.saturating_add(s.held());
    }
    for kind in [OfferKind::NftAuction, OfferKind::FtAuction] {
        for (k, v) in state.scan_prefix(&keys::offer_prefix(kind)) {
            let o: Offer = serde_json::from_slice(v)
                .map_err(|e| broken(format!("{} does not decode: {e}", String::from_utf8_lossy(k))))?;
            if o.currency == Currency::Token {
                expect = expect.saturating_add(o.high);
            }
        }
    }
    let held = num(state, keys::HELD);
    if held != expect {
        return Err(broken(format!("tot/token is {held}, the sets and bids hold {expect}")));
    }
    Ok(held)
}

/// The high bids of `currency`'s auctions equal what the module says it holds of it.
pub fn coin_held_matches(state: &dyn StateRead, currency: Currency) -> Result<u64, InvariantError> {
    let mut expect = 0u64;
    for (k, v) in state.scan_prefix(&keys::offer_prefix(OfferKind::NftAuction)) {
        let o: Offer = serde_json::from_slice(v)
            .map_err(|e| broken(format!("{} does not decode: {e}", String::from_utf8_lossy(k))))?;
        if o.currency == currency {
            expect = expect.saturating_add(o.high);
        }
    }
    let held = num(state, &keys::held(currency));
    if held != expect {
        return Err(broken(format!(
            "tot/{} is {held}, the auctions' high bids are {expect}",
            currency.as_str()
        )));
    }
    Ok(held)
}
