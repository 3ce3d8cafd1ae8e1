//! Chron work: redeemed mint tokens become NFTs at the next checkpoint block, and
//! auctions end at their block.
//!
//! **The uid draw.** The reference seeds the draw with the next block's witness signature,
//! which the redeemer cannot know when they sign. Here the seed is the hash of the first
//! checkpoint block's id after the request (the only block ids every deployment sees, see
//! `BlockContext::header`) with the request's number, transaction and set: unknown to
//! the redeemer, the same on every node. The draw is a lazy Fisher-Yates shuffle of the
//! set's uid range (`perm/` keys hold the swapped slots): each mint takes a uniformly
//! chosen unused uid in one step, so it never collides, never probes, and the last mint
//! token always finds the last uid.

use crate::b64;
use crate::events::NftEvent;
use crate::keys::{self, Set};
use crate::NftModule;
use opentoken_core::module::InvariantError;
use opentoken_core::{BlockContext, StateRead};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub(crate) fn broken(what: impl Into<String>) -> InvariantError {
    InvariantError {
        module: crate::NAME.into(),
        what: what.into(),
    }
}

/// The swap table writes of drawing slot `j` of `remaining` (the uid index taken, and
/// each slot's new value: `None` deletes it).
pub fn draw(perm: impl Fn(u64) -> Option<u64>, remaining: u64, j: u64) -> (u64, Vec<(u64, Option<u64>)>) {
    let idx = perm(j).unwrap_or(j);
    let last = remaining - 1;
    let moved = perm(last).unwrap_or(last);
    let mut writes = Vec::with_capacity(2);
    if j != last {
        writes.push((j, if moved == j { None } else { Some(moved) }));
    }
    writes.push((last, None));
    (idx, writes)
}

/// The uid of index `idx` of `set`'s range, padded to the width of its end.
pub fn uid_of(set: &Set, idx: u64) -> Result<String, InvariantError> {
    let lo = b64::to_number(&set.start).ok_or_else(|| broken(format!("set {} has a bad start", set.name)))?;
    Ok(b64::padded(lo + idx, set.end.len()))
}

/// The draw's seed for mint request `seq` (transaction `txid`, set `set`) at the
/// checkpoint block `block_id`; the slot is `seed % remaining`.
pub fn seed(block_id: &str, seq: u64, txid: &str, set: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(format!("{block_id}:{seq}:{txid}:{set}").as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b)
}

impl NftModule {
    pub(crate) fn chron(&self, ctx: &BlockContext<'_>, state: &dyn StateRead) -> Result<Vec<NftEvent>, InvariantError> {
        let mut events = Vec::new();
        if let Some(header) = ctx.header {
            self.mints(ctx.block, header.id, state, &mut events)?;
        }
        self.auction_ends(ctx.block, state, &mut events)?;
        Ok(events)
    }

    fn mints(
        &self,
        block: u64,
        block_id: &str,
        state: &dyn StateRead,
        events: &mut Vec<NftEvent>,
    ) -> Result<(), InvariantError> {
        // What this block's earlier draws changed, before they are applied.
        let mut sets: BTreeMap<String, Set> = BTreeMap::new();
        let mut perms: BTreeMap<(String, u64), Option<u64>> = BTreeMap::new();
        for (k, _) in state.scan_prefix(keys::MINTQ_PREFIX) {
            if events.len() as u64 >= self.cfg.mints_per_block {
                break;
            }
            let req = keys::load_mint_request(state, k)
                .ok_or_else(|| broken("a scanned mint request vanished"))?
                .map_err(broken)?;
            if req.block >= block {
                break;
            }
            let seq = k
                .get(keys::MINTQ_PREFIX.len()..)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| broken("a mint request key without its number"))?;
            let mut set = match sets.get(&req.set) {
                Some(s) => s.clone(),
                None => keys::load_set(state, &req.set)
                    .ok_or_else(|| broken(format!("mint request {seq} names the missing set {}", req.set)))?
                    .map_err(broken)?,
            };
            let remaining = set.uids().saturating_sub(set.minted);
            if remaining == 0 {
                return Err(broken(format!(
                    "set {} has no uid left for mint request {seq}",
                    set.name
                )));
            }
            let j = seed(block_id, seq, &req.txid, &req.set) % remaining;
            let name = set.name.clone();
            let (idx, writes) = draw(
                |slot| match perms.get(&(name.clone(), slot)) {
                    Some(v) => *v,
                    None => state
                        .get(&keys::perm(&name, slot))
                        .and_then(|v| <[u8; 8]>::try_from(v).ok().map(u64::from_be_bytes)),
                },
                remaining,
                j,
            );
            for (slot, v) in writes {
                perms.insert((name.clone(), slot), v);
            }
            let uid = uid_of(&set, idx)?;
            let (fee_paid, fee_burned) = if set.minted == 0 {
                (set.fee_held / 2, set.fee_held - set.fee_held / 2)
            } else {
                (0, 0)
            };
            set.minted += 1;
            set.fee_held -= fee_paid + fee_burned;
            sets.insert(name.clone(), set);
            events.push(NftEvent::Minted {
                set: name,
                uid,
                owner: req.owner,
                seq,
                slot: j,
                block,
                fee_paid,
                fee_burned,
            });
        }
        Ok(())
    }

    fn auction_ends(
        &self,
        block: u64,
        state: &dyn StateRead,
        events: &mut Vec<NftEvent>,
    ) -> Result<(), InvariantError> {
        let limit = usize::try_from(self.cfg.expiries_per_block).unwrap_or(usize::MAX);
        for (k, _) in state.scan_prefix(keys::EXP_PREFIX).take(limit) {
            let (at, kind, set, id) = keys::parse_expiry(k).ok_or_else(|| broken("a malformed expiry key"))?;
            if at > block {
                break;
            }
            let offer = keys::load_offer(state, kind, &set, &id)
                .ok_or_else(|| broken(format!("expiry names {set}:{id}, which is not open")))?
                .map_err(broken)?;
            if offer.bids == 0 {
                events.push(NftEvent::Closed {
                    offer: Box::new(offer),
                    why: crate::events::CloseWhy::NoBids,
                    block,
                });
            } else {
                let price = offer.high;
                let (fee, royalties) = self
                    .split(&offer, price, state)
                    .map_err(|r| broken(format!("auction {}: {}", offer.item(), r.reason)))?;
                events.push(NftEvent::Sold {
                    buyer: offer.bidder.clone(),
                    offer: Box::new(offer),
                    price,
                    paid: 0,
                    fee,
                    royalties,
                    block,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn next_due(&self, spec_interval: u64, state: &dyn StateRead, after: u64) -> Option<u64> {
        let auction = state
            .scan_prefix(keys::EXP_PREFIX)
            .next()
            .and_then(|(k, _)| keys::parse_expiry(k))
            .map(|(b, ..)| b.max(after.saturating_add(1)));
        let mint = state.scan_prefix(keys::MINTQ_PREFIX).next().and_then(|_| {
            let interval = spec_interval.max(1);
            (after / interval).checked_add(1)?.checked_mul(interval)
        });
        match (auction, mint) {
            (Some(a), Some(m)) => Some(a.min(m)),
            (a, m) => a.or(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        /// Drawing every slot of a range, whatever the seeds, yields each index once.
        #[test]
        fn a_full_draw_is_a_permutation(n in 1u64..200, seeds in proptest::collection::vec(any::<u64>(), 200)) {
            let mut perm: BTreeMap<u64, u64> = BTreeMap::new();
            let mut seen = BTreeSet::new();
            for (i, s) in seeds.iter().take(n as usize).enumerate() {
                let remaining = n - i as u64;
                let (idx, writes) = draw(|slot| perm.get(&slot).copied(), remaining, s % remaining);
                for (slot, v) in writes {
                    match v {
                        Some(v) => { perm.insert(slot, v); }
                        None => { perm.remove(&slot); }
                    }
                }
                prop_assert!(idx < n);
                prop_assert!(seen.insert(idx), "index {} drawn twice", idx);
            }
            prop_assert_eq!(seen.len() as u64, n);
            prop_assert!(perm.is_empty(), "the table empties when the range is used up");
        }
    }
}
