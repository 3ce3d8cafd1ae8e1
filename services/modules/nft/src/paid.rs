//! Ops the token module escrowed for ([`Paid`]): definitions, purchases, completions of
//! reserved transfers, and bids. Each settles here, in the block its message arrives, or
//! is refunded in full with the reason ([`NftEvent::Refunded`]): the token module has
//! already taken the amount, so a failure here is never a rejection that keeps it.
//!
//! Where the reference errs, this does not: completing a reserved transfer pays the
//! seller (the reference credits the buyer), the first bid must reach the starting price
//! (the reference takes any, even a negative one), a bid after the end or by the seller
//! is refused, and a mint token is sold only by someone who holds one.

use crate::define;
use crate::events::NftEvent;
use crate::keys::{self, Offer};
use crate::ops::{offer_of, Payload};
use crate::protocol::{item_id, set_name, Currency, OfferKind, Paid};
use crate::NftModule;
use opentoken_core::{Reject, StateRead};

impl NftModule {
    /// Settles `paid`, or refunds it with the reason.
    pub(crate) fn settle(&self, paid: &Paid, state: &dyn StateRead) -> Vec<NftEvent> {
        let payload: Payload = match serde_json::from_str(&paid.payload) {
            Ok(p) => p,
            Err(e) => return vec![self.refund(paid, format!("the op's JSON does not decode: {e}"))],
        };
        let done = match paid.op.as_str() {
            "nft_define" => self.define(paid, &payload, state),
            "nft_buy" => self.buy(paid, OfferKind::NftSale, &payload, state),
            "ft_buy" => self.buy(paid, OfferKind::FtSale, &payload, state),
            "nft_reserve_complete" => self.buy(paid, OfferKind::NftReserve, &payload, state),
            "ft_escrow_complete" => self.buy(paid, OfferKind::FtReserve, &payload, state),
            "nft_bid" => self.bid(paid, OfferKind::NftAuction, &payload, state),
            "ft_bid" => self.bid(paid, OfferKind::FtAuction, &payload, state),
            other => Err(Reject::field(format!("`{other}` is not an op this module is paid for"))),
        };
        match done {
            Ok(events) => events,
            Err(r) => vec![self.refund(paid, r.reason)],
        }
    }

    fn refund(&self, paid: &Paid, why: String) -> NftEvent {
        NftEvent::Refunded {
            account: paid.from.clone(),
            amount: paid.amount,
            currency: Currency::Token,
            op: paid.op.clone(),
            why,
        }
    }

    fn define(&self, paid: &Paid, payload: &Payload, state: &dyn StateRead) -> Result<Vec<NftEvent>, Reject> {
        let d = define::parse(&self.cfg, &paid.from, paid.block, payload)?;
        if d.max_fee != paid.amount {
            return Err(Reject::field(format!(
                "escrowed {} for a `max_fee` of {}",
                paid.amount, d.max_fee
            )));
        }
        if state.get(&keys::set(&d.set.name)).is_some() {
            return Err(Reject::field(format!("the NFT set {:?} already exists", d.set.name)));
        }
        Ok(vec![NftEvent::SetDefined {
            set: Box::new(d.set),
            definer: paid.from.clone(),
            paid: paid.amount,
            fee: d.fee,
        }])
    }

    /// The open TOKEN-priced offer the op names (a HIVE/HBD one is paid by a deposit).
    fn open_offer(&self, kind: OfferKind, payload: &Payload, state: &dyn StateRead) -> Result<Offer, Reject> {
        let set = set_name(payload)?;
        let id = item_id(payload)?;
        let offer = offer_of(state, kind, set, id)?;
        if offer.currency != Currency::Token {
            return Err(Reject::field(format!(
                "{} is priced in {}: pay it with a transfer to the multi-sig account whose memo is `{} {set}:{id}`",
                offer.item(),
                offer.currency.as_str(),
                match kind {
                    OfferKind::NftAuction => "NFTbid",
                    OfferKind::NftReserve => "NFTtrade",
                    _ => "NFTbuy",
                }
            )));
        }
        Ok(offer)
    }

    /// A fixed-price sale or a reserved transfer: the buyer paid exactly the price.
    fn buy(
        &self,
        paid: &Paid,
        kind: OfferKind,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<NftEvent>, Reject> {
        let offer = self.open_offer(kind, payload, state)?;
        if offer.seller == paid.from {
            return Err(Reject::field(format!(
                "@{} is the seller of {}",
                paid.from,
                offer.item()
            )));
        }
        if !offer.to.is_empty() && offer.to != paid.from {
            return Err(Reject::field(format!(
                "{} is reserved for @{}, not @{}",
                offer.item(),
                offer.to,
                paid.from
            )));
        }
        if paid.amount != offer.price {
            return Err(Reject::field(format!(
                "{} costs {}, {} was paid",
                offer.item(),
                offer.price,
                paid.amount
            )));
        }
        let price = offer.price;
        let (fee, royalties) = self.split(&offer, price, state)?;
        Ok(vec![NftEvent::Sold {
            offer: Box::new(offer),
            buyer: paid.from.clone(),
            price,
            paid: paid.amount,
            fee,
            royalties,
            block: paid.block,
        }])
    }

    fn bid(
        &self,
        paid: &Paid,
        kind: OfferKind,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<NftEvent>, Reject> {
        let offer = self.open_offer(kind, payload, state)?;
        let amount = paid.amount;
        self.check_bid(&offer, &paid.from, amount, paid.block)?;
        Ok(vec![NftEvent::BidPlaced {
            kind,
            set: offer.set.clone(),
            id: offer.id.clone(),
            currency: Currency::Token,
            bidder: paid.from.clone(),
            amount,
            prev_bidder: offer.bidder.clone(),
            prev_amount: offer.high,
        }])
    }

    /// Whether `from` may bid `amount` on `offer` at `block`: not the seller, not after
    /// the end, at least the starting price first, then above the high bid and not by its
    /// holder.
    pub(crate) fn check_bid(&self, offer: &Offer, from: &str, amount: u64, block: u64) -> Result<(), Reject> {
        if offer.seller == from {
            return Err(Reject::field(format!("@{from} may not bid on their own auction")));
        }
        if block > offer.expires {
            return Err(Reject::field(format!(
                "auction {} ended at block {}",
                offer.item(),
                offer.expires
            )));
        }
        if offer.bids == 0 {
            if amount < offer.price {
                return Err(Reject::field(format!(
                    "a first bid on {} must be at least {}, got {amount}",
                    offer.item(),
                    offer.price
                )));
            }
        } else {
            if offer.bidder == from {
                return Err(Reject::field(format!(
                    "@{from} already holds the high bid on {}",
                    offer.item()
                )));
            }
            if amount <= offer.high {
                return Err(Reject::field(format!(
                    "a bid on {} must be above {}, got {amount}",
                    offer.item(),
                    offer.high
                )));
            }
        }
        Ok(())
    }
}
