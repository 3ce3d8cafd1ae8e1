//! Evolve: writes what an event decided. Total over what `handle` and chron work produce;
//! a failure here is a broken invariant (the processor stops), never bad input.

use crate::config::DexConfig;
use crate::events::{DexEvent, Fill};
use crate::keys::{self, num, Asset, Candle, Order, Span, Trade};
use crate::protocol::{Pair, Side};
use crate::NAME;
use opentoken_core::counter;
use opentoken_core::module::InvariantError;
use opentoken_core::{StateRead, StateWrite};

fn broken(what: impl Into<String>) -> InvariantError {
    InvariantError {
        module: NAME.into(),
        what: what.into(),
    }
}

fn put_num(state: &mut dyn StateWrite, key: Vec<u8>, v: u64) {
    counter::put(state, key, v)
}

fn add(state: &mut dyn StateWrite, key: Vec<u8>, by: u64) -> Result<(), InvariantError> {
    counter::add(state, crate::NAME, key, by)
}

fn sub(state: &mut dyn StateWrite, key: Vec<u8>, by: u64) -> Result<(), InvariantError> {
    counter::sub(state, crate::NAME, key, by)
}

fn json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, InvariantError> {
    serde_json::to_vec(v).map_err(|e| broken(format!("encoding a record: {e}")))
}

/// A resting order (`None` when absent).
pub(crate) fn load(state: &dyn StateRead, id: &str) -> Result<Option<Order>, InvariantError> {
    match state.get(&keys::order(id)) {
        None => Ok(None),
        Some(b) => serde_json::from_slice(b)
            .map(Some)
            .map_err(|e| broken(format!("order {id} does not decode: {e}"))),
    }
}

fn write_order(state: &mut dyn StateWrite, o: &Order) -> Result<(), InvariantError> {
    state.put(keys::order(&o.id), json(o)?);
    Ok(())
}

fn rest(state: &mut dyn StateWrite, o: &Order) -> Result<(), InvariantError> {
    if state.get(&keys::order(&o.id)).is_some() {
        return Err(broken(format!("order {} already rests", o.id)));
    }
    write_order(state, o)?;
    state.put(o.book_key(), o.id.as_bytes().to_vec());
    state.put(keys::account_order(&o.from, &o.id), Vec::new());
    state.put(keys::expiry(o.expires, o.seq), o.id.as_bytes().to_vec());
    Ok(())
}

fn unrest(state: &mut dyn StateWrite, o: &Order) {
    state.delete(&keys::order(&o.id));
    state.delete(&o.book_key());
    state.delete(&keys::account_order(&o.from, &o.id));
    state.delete(&keys::expiry(o.expires, o.seq));
}

pub(crate) fn apply(cfg: &DexConfig, event: &DexEvent, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
    match event {
        DexEvent::Received { order, seq } => {
            if *seq != num(state, keys::SEQ) {
                return Err(broken(format!("order seq {seq} is not the next")));
            }
            put_num(state, keys::SEQ.to_vec(), seq + 1);
            add(state, Asset::of(order.pair, order.side).key(), order.amount)
        }
        DexEvent::Filled(f) => filled(cfg, f, state),
        DexEvent::Rested(o) => rest(state, o),
        DexEvent::Returned {
            id,
            pair,
            side,
            amount,
            resting,
            ..
        } => {
            if *resting {
                let o = load(state, id)?.ok_or_else(|| broken(format!("returned order {id} does not rest")))?;
                if o.amount != *amount {
                    return Err(broken(format!(
                        "order {id} holds {}, not the {amount} returned",
                        o.amount
                    )));
                }
                unrest(state, &o);
            }
            sub(state, Asset::of(*pair, *side).key(), *amount)
        }
        DexEvent::CollateralSet { stake } => {
            put_num(state, keys::COLLATERAL.to_vec(), *stake);
            Ok(())
        }
        DexEvent::ParamsSet(p) => {
            state.put(keys::PARAMS.to_vec(), json(p)?);
            Ok(())
        }
        DexEvent::LiquidityCounted { awards, .. } => {
            for (account, points) in awards {
                add(state, keys::liquidity(account), *points)?;
            }
            Ok(())
        }
        DexEvent::LiquiditySent { awards, .. } => {
            // The accounts sent are paid and cleared; any others (more than one message
            // names) keep their points for the next day.
            for (account, _) in awards {
                let k = keys::liquidity(account);
                if state.get(&k).is_some() {
                    state.delete(&k);
                }
            }
            Ok(())
        }
    }
}

fn filled(cfg: &DexConfig, f: &Fill, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
    let mut maker = load(state, &f.maker)?.ok_or_else(|| broken(format!("maker {} does not rest", f.maker)))?;
    let spent = match maker.side {
        Side::Ask => f.tokens,
        Side::Bid => f.coin,
    };
    maker.amount = maker
        .amount
        .checked_sub(spent)
        .ok_or_else(|| broken(format!("maker {} holds less than the fill", f.maker)))?;
    maker.filled_tokens = maker.filled_tokens.saturating_add(f.tokens);
    maker.filled_coin = maker.filled_coin.saturating_add(f.coin);
    if maker.amount == 0 {
        unrest(state, &maker);
    } else {
        write_order(state, &maker)?;
    }
    sub(state, Asset::Token.key(), f.tokens)?;
    sub(state, Asset::Coin(f.pair).key(), f.coin)?;
    add(state, keys::TOTAL_FEES.to_vec(), f.fee)?;
    put_num(state, keys::tick(f.pair), f.price);
    record_trade(cfg, f, state)?;
    for span in Span::ALL {
        candle(cfg, f, span, state)?;
    }
    Ok(())
}

fn record_trade(cfg: &DexConfig, f: &Fill, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
    let seq = num(state, &keys::trade_seq(f.pair));
    if seq != f.trade_seq {
        return Err(broken(format!("trade seq {} is not the next ({seq})", f.trade_seq)));
    }
    let (buyer, _) = f.buyer();
    let (seller, _) = f.seller();
    let trade = Trade {
        seq,
        block: f.block,
        time: f.time,
        price: f.price,
        tokens: f.tokens,
        coin: f.coin,
        fee: f.fee,
        buyer: buyer.to_string(),
        seller: seller.to_string(),
        kind: match f.maker_side {
            Side::Ask => "buy".into(),
            Side::Bid => "sell".into(),
        },
        maker: f.maker.clone(),
        taker: f.taker.clone(),
    };
    state.put(keys::trade(f.pair, seq), json(&trade)?);
    put_num(state, keys::trade_seq(f.pair), seq + 1);
    if seq >= cfg.keep_trades {
        state.delete(&keys::trade(f.pair, seq - cfg.keep_trades));
    }
    Ok(())
}

fn candle(cfg: &DexConfig, f: &Fill, span: Span, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
    let width = span.blocks(cfg.blocks_per_hour);
    let start = f.block - f.block % width;
    let key = keys::candle(f.pair, span, start);
    let c = match state.get(&key) {
        Some(b) => {
            let mut c: Candle =
                serde_json::from_slice(b).map_err(|e| broken(format!("candle does not decode: {e}")))?;
            c.high = c.high.max(f.price);
            c.low = c.low.min(f.price);
            c.close = f.price;
            c.coin = c.coin.saturating_add(f.coin);
            c.tokens = c.tokens.saturating_add(f.tokens);
            c.trades += 1;
            c
        }
        None => {
            let count_key = keys::candle_count(f.pair, span);
            let count = num(state, &count_key) + 1;
            let keep = match span {
                Span::Hour => cfg.keep_hourly,
                Span::Day => cfg.keep_daily,
            };
            if count > keep {
                let oldest = state
                    .scan_prefix(&keys::candle_prefix(f.pair, span))
                    .next()
                    .map(|(k, _)| k.to_vec());
                if let Some(k) = oldest {
                    state.delete(&k);
                }
                put_num(state, count_key, count - 1);
            } else {
                put_num(state, count_key, count);
            }
            Candle {
                start,
                open: f.price,
                high: f.price,
                low: f.price,
                close: f.price,
                coin: f.coin,
                tokens: f.tokens,
                trades: 1,
            }
        }
    };
    state.put(key, json(&c)?);
    Ok(())
}

/// What the DEX holds of `asset` must be exactly what its resting orders hold (checked by
/// tests and the property suite; O(orders), so not after every event).
pub fn escrow_matches_book(state: &dyn StateRead) -> Result<(), String> {
    let mut sums = std::collections::BTreeMap::<Asset, u64>::new();
    for (k, v) in state.scan_prefix(b"ord/") {
        let o: Order = serde_json::from_slice(v).map_err(|e| format!("{}: {e}", String::from_utf8_lossy(k)))?;
        *sums.entry(Asset::of(o.pair, o.side)).or_default() += o.amount;
    }
    for asset in [Asset::Token, Asset::Coin(Pair::Hive), Asset::Coin(Pair::Hbd)] {
        let held = num(state, &asset.key());
        let book = sums.get(&asset).copied().unwrap_or(0);
        if held != book {
            return Err(format!("{asset:?}: the DEX holds {held}, its orders {book}"));
        }
    }
    Ok(())
}
