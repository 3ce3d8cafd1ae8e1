//! HIVE/HBD offers (chains that run the multisig module): NFT sales, auctions
//! (`nft_hauction`) and reserved transfers priced in a coin are paid by a deposit to the
//! multi-sig account whose memo names the offer (`NFTbuy`, `NFTbid`, `NFTtrade
//! <set>:<uid>`). The multisig module escrows it and sends it here ([`CoinIn`]); it
//! settles or is refunded in full, out to the payer's Hive account, with the reason.
//!
//! A sale pays the royalty (to the author or the split, credited to their Layer-2
//! balances in the coin), the platform fee (`coin_fee_bp` to `coin_fee_account`'s Layer-2
//! balance) and the rest to the seller on Hive. The reference pays the same split but
//! turns royalty and fee into the token through its DEX, and its `NFTbuy`/`NFTtrade`
//! failure paths stall (spec §2.6); here every failure refunds.

use crate::events::{NftEvent, Share};
use crate::keys::Offer;
use crate::ops::{offer_of, set_of};
use crate::protocol::{CoinIn, CoinWhat, Currency, OfferKind};
use crate::royalty::royalties;
use crate::NftModule;
use opentoken_core::{Reject, RejectCode, StateRead};

impl NftModule {
    /// The fee and royalties of a sale of `offer` at `price`.
    pub(crate) fn split(&self, offer: &Offer, price: u64, state: &dyn StateRead) -> Result<(u64, Vec<Share>), Reject> {
        let set = set_of(state, &offer.set)?;
        let fee = if offer.currency.is_coin() && !self.cfg.coin_fee_account.is_empty() {
            (u128::from(price) * u128::from(self.cfg.coin_fee_bp) / 10_000) as u64
        } else {
            0
        };
        Ok((fee, royalties(&set, price)))
    }

    /// Settles a HIVE/HBD payment, or refunds it with the reason. A payment in anything
    /// but HIVE or HBD cannot come from the multisig module (it escrows only those) and
    /// nothing could be paid back in it: the message is refused, recorded in its status.
    pub(crate) fn settle_coin(&self, c: &CoinIn, state: &dyn StateRead) -> Result<Vec<NftEvent>, Reject> {
        let currency = match Currency::parse(&c.coin) {
            Some(cur) if cur.is_coin() => cur,
            _ => {
                return Err(Reject::new(
                    RejectCode::BadMessage,
                    format!(
                        "a payment in {:?}, which is neither HIVE nor HBD",
                        c.coin.chars().take(10).collect::<String>()
                    ),
                ))
            }
        };
        let done = match c.what {
            CoinWhat::Buy => self.coin_buy(c, currency, OfferKind::NftSale, state),
            CoinWhat::Trade => self.coin_buy(c, currency, OfferKind::NftReserve, state),
            CoinWhat::Bid => self.coin_bid(c, currency, state),
        };
        Ok(match done {
            Ok(events) => events,
            Err(r) => vec![NftEvent::Refunded {
                account: c.from.clone(),
                amount: c.amount,
                currency,
                op: format!("NFT{} {}:{}", what(c.what), c.set, c.id),
                why: r.reason,
            }],
        })
    }

    fn coin_buy(
        &self,
        c: &CoinIn,
        currency: Currency,
        kind: OfferKind,
        state: &dyn StateRead,
    ) -> Result<Vec<NftEvent>, Reject> {
        let offer = offer_of(state, kind, &c.set, &c.id)?;
        if offer.currency != currency {
            return Err(Reject::field(format!(
                "{} is priced in {}, {} was paid",
                offer.item(),
                offer.currency.as_str(),
                currency.as_str()
            )));
        }
        if offer.seller == c.from {
            return Err(Reject::field(format!("@{} is the seller of {}", c.from, offer.item())));
        }
        if !offer.to.is_empty() && offer.to != c.from {
            return Err(Reject::field(format!(
                "{} is reserved for @{}, not @{}",
                offer.item(),
                offer.to,
                c.from
            )));
        }
        if c.amount != offer.price {
            return Err(Reject::field(format!(
                "{} costs {} (milli-{}), {} was paid",
                offer.item(),
                offer.price,
                currency.as_str(),
                c.amount
            )));
        }
        let price = offer.price;
        let (fee, royalties) = self.split(&offer, price, state)?;
        Ok(vec![NftEvent::Sold {
            offer: Box::new(offer),
            buyer: c.from.clone(),
            price,
            paid: c.amount,
            fee,
            royalties,
            block: c.block,
        }])
    }

    fn coin_bid(&self, c: &CoinIn, currency: Currency, state: &dyn StateRead) -> Result<Vec<NftEvent>, Reject> {
        let offer = offer_of(state, OfferKind::NftAuction, &c.set, &c.id)?;
        if offer.currency != currency {
            return Err(Reject::field(format!(
                "auction {} is in {}, {} was paid",
                offer.item(),
                offer.currency.as_str(),
                currency.as_str()
            )));
        }
        self.check_bid(&offer, &c.from, c.amount, c.block)?;
        Ok(vec![NftEvent::BidPlaced {
            kind: OfferKind::NftAuction,
            set: offer.set.clone(),
            id: offer.id.clone(),
            currency,
            bidder: c.from.clone(),
            amount: c.amount,
            prev_bidder: offer.bidder.clone(),
            prev_amount: offer.high,
        }])
    }
}

fn what(w: CoinWhat) -> &'static str {
    match w {
        CoinWhat::Buy => "buy",
        CoinWhat::Bid => "bid",
        CoinWhat::Trade => "trade",
    }
}
