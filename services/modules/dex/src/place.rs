//! Matching an incoming order: price-time priority, partial fills, the rounding rule of
//! `price`, and what happens to the rest.
//!
//! The incoming order (the taker) meets the resting orders of the other side best first
//! (lowest ask, highest bid; oldest first within a price) while they cross its limit (any
//! price for a market order). Each meeting is one of:
//! - the owner's own order: that resting order is cancelled and returned (self-trade
//!   prevention: one account never trades with itself, and the book never stays crossed);
//! - a fill at the resting order's price (`price::taker_fill`): the resting order shrinks
//!   or leaves the book; a resting bid whose coin then buys no milli-token is returned
//!   (dust);
//! - no possible fill (the rounding would cross the taker's limit and not even one lot
//!   fits): the taker moves on to the next resting order.
//!
//! What is left of the taker: a market order's rest is returned (`unfilled`); a limit
//! order's rest rests in the book, except what the collateral does not allow a bid to hold
//! (returned, `collateral`), a bid's coin that buys no milli-token (`dust`), or anything
//! left after `max_fills_per_order` meetings (`fill-limit`). So no op's work is unbounded,
//! and after every op no resting bid and ask can trade with each other.

use crate::apply::load;
use crate::events::{DexEvent, Fill, ReturnWhy};
use crate::keys::{self, num, Order};
use crate::price::{self, taker_fill, tokens_for, MakerSide};
use crate::protocol::{OrderIn, Side};
use crate::views;
use crate::DexModule;
use opentoken_core::{Reject, RejectCode, StateRead};

/// The most coin one resting bid at `p` may hold: the collateral's value at the tick
/// times `dex_max`, less `dex_slope` in proportion to how far below the tick it bids.
/// `None`: no collateral is known, no cap (the multisig module's deposit limit still holds).
pub(crate) fn bid_cap(m: &DexModule, state: &dyn StateRead, pair: crate::Pair, p: u64) -> Option<u64> {
    let stake = state.get(keys::COLLATERAL).map(|_| num(state, keys::COLLATERAL))?;
    let params = views::params(&m.cfg, state);
    let tick = u128::from(views::tick(&m.cfg, state, pair));
    let value = u128::from(stake) * tick / u128::from(price::SCALE);
    let mut cap = value * u128::from(params.dex_max_bp) / 10_000;
    if u128::from(p) < tick {
        let below_bp = (tick - u128::from(p)) * 10_000 / tick;
        let cut = u128::from(params.dex_slope_bp) * below_bp / 10_000;
        cap = cap * (10_000 - cut.min(10_000)) / 10_000;
    }
    Some(u64::try_from(cap).unwrap_or(u64::MAX))
}

fn returned(o: &OrderIn, amount: u64, why: ReturnWhy) -> DexEvent {
    DexEvent::Returned {
        id: o.id.clone(),
        from: o.from.clone(),
        pair: o.pair,
        side: o.side,
        amount,
        payout: o.payout,
        why,
        resting: false,
    }
}

/// `o` leaves the book and what it holds goes back to its owner.
pub(crate) fn returned_resting(o: &Order, why: ReturnWhy) -> DexEvent {
    DexEvent::Returned {
        id: o.id.clone(),
        from: o.from.clone(),
        pair: o.pair,
        side: o.side,
        amount: o.amount,
        payout: o.payout,
        why,
        resting: true,
    }
}

fn broken(what: String) -> Reject {
    Reject::new(RejectCode::BadMessage, format!("dex state is unreadable: {what}"))
}

/// Whether a resting order can still trade with some taker at its own price.
fn can_trade(o: &Order) -> bool {
    match o.side {
        Side::Ask => o.amount > 0,
        Side::Bid => tokens_for(o.amount, o.price) > 0,
    }
}

impl DexModule {
    /// Matches `order` (already escrowed by its sender) and decides what rests and what
    /// goes back.
    pub(crate) fn place(&self, order: OrderIn, block: u64, state: &dyn StateRead) -> Result<Vec<DexEvent>, Reject> {
        let seq = num(state, keys::SEQ);
        let mut events = vec![DexEvent::Received {
            order: order.clone(),
            seq,
        }];
        if state.get(&keys::order(&order.id)).is_some() {
            events.push(returned(&order, order.amount, ReturnWhy::Duplicate));
            return Ok(events);
        }
        let fee_ppm = views::params(&self.cfg, state).fee_ppm;
        let limit = (order.price > 0).then_some(order.price);
        let maker_side = order.side.opposite();
        let mut rem = order.amount;
        let (mut filled_tokens, mut filled_coin) = (0u64, 0u64);
        let mut trade_seq = num(state, &keys::trade_seq(order.pair));
        let mut stopped_by_limit = false;
        let prefix = keys::book_side(order.pair, maker_side);
        for (met, (_, id)) in state.scan_prefix(&prefix).enumerate() {
            if rem == 0 {
                break;
            }
            let id = String::from_utf8_lossy(id);
            let maker = load(state, &id)
                .map_err(|e| broken(e.what))?
                .ok_or_else(|| broken(format!("book names {id}, which does not rest")))?;
            let crosses = match (limit, maker.side) {
                (None, _) => true,
                (Some(l), Side::Ask) => maker.price <= l,
                (Some(l), Side::Bid) => maker.price >= l,
            };
            if !crosses {
                break;
            }
            if met >= self.cfg.max_fills_per_order as usize {
                stopped_by_limit = true;
                break;
            }
            if maker.from == order.from {
                events.push(returned_resting(&maker, ReturnWhy::SelfTrade));
                continue;
            }
            // The same pair can fill twice: a fill cut to whole lots may leave a rest the
            // rounding then allows.
            let mut maker = maker;
            for _ in 0..2 {
                if rem == 0 {
                    break;
                }
                let fill = match maker.side {
                    // The taker buys tokens with `rem` coin.
                    Side::Ask => taker_fill(MakerSide::Ask, maker.price, maker.amount, rem, limit),
                    // The taker sells `rem` tokens to a bid holding `maker.amount` coin.
                    Side::Bid => taker_fill(MakerSide::Bid, maker.price, rem, maker.amount, limit),
                };
                let Some(fill) = fill else {
                    break;
                };
                let fee = price::fee(fill.tokens, fee_ppm);
                let seller_payout = match maker.side {
                    Side::Ask => maker.payout,
                    Side::Bid => order.payout,
                };
                events.push(DexEvent::Filled(Box::new(Fill {
                    pair: order.pair,
                    price: maker.price,
                    tokens: fill.tokens,
                    coin: fill.coin,
                    fee,
                    maker: maker.id.clone(),
                    maker_from: maker.from.clone(),
                    maker_side: maker.side,
                    taker: order.id.clone(),
                    taker_from: order.from.clone(),
                    seller_payout,
                    trade_seq,
                    block,
                    time: order.time,
                })));
                trade_seq += 1;
                filled_tokens += fill.tokens;
                filled_coin += fill.coin;
                rem -= match order.side {
                    Side::Bid => fill.coin,
                    Side::Ask => fill.tokens,
                };
                maker.amount -= match maker.side {
                    Side::Ask => fill.tokens,
                    Side::Bid => fill.coin,
                };
                if maker.amount == 0 {
                    break;
                }
            }
            if maker.amount > 0 && !can_trade(&maker) {
                events.push(returned_resting(&maker, ReturnWhy::Dust));
            }
        }
        if rem == 0 {
            return Ok(events);
        }
        let why = if limit.is_none() {
            Some(ReturnWhy::Unfilled)
        } else if stopped_by_limit {
            Some(ReturnWhy::FillLimit)
        } else if order.side == Side::Bid && tokens_for(rem, order.price) == 0 {
            Some(ReturnWhy::Dust)
        } else {
            None
        };
        if let Some(why) = why {
            events.push(returned(&order, rem, why));
            return Ok(events);
        }
        if order.side == Side::Bid {
            if let Some(cap) = bid_cap(self, state, order.pair, order.price) {
                if rem > cap {
                    events.push(returned(&order, rem - cap, ReturnWhy::Collateral));
                    rem = cap;
                    if tokens_for(rem, order.price) == 0 {
                        if rem > 0 {
                            events.push(returned(&order, rem, ReturnWhy::Dust));
                        }
                        return Ok(events);
                    }
                }
            }
        }
        events.push(DexEvent::Rested(Box::new(Order {
            id: order.id.clone(),
            from: order.from.clone(),
            pair: order.pair,
            side: order.side,
            price: order.price,
            amount: rem,
            placed: order.amount,
            filled_tokens,
            filled_coin,
            expires: order.expires,
            payout: order.payout,
            txid: order.txid.clone(),
            block: order.block,
            time: order.time,
            seq,
        })));
        Ok(events)
    }
}
