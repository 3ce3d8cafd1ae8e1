//! One human-readable line per event, like the reference node's feed.

use crate::events::DexEvent;
use crate::price::{format_milli, format_rate};
use crate::protocol::Side;

pub(crate) fn describe(token: &str, event: &DexEvent) -> String {
    match event {
        DexEvent::Received { order, .. } => {
            let what = match order.side {
                Side::Ask => format!("selling {} {token}", format_milli(order.amount)),
                Side::Bid => format!(
                    "buying {token} with {} {}",
                    format_milli(order.amount),
                    order.pair.symbol()
                ),
            };
            let at = if order.price == 0 {
                "at market".to_string()
            } else {
                format!("at {}", format_rate(order.price))
            };
            format!("@{} is {what} {at} ({})", order.from, order.id)
        }
        DexEvent::Filled(f) => format!(
            "@{} bought {} {token} from @{} for {} {} at {} (fee {})",
            f.buyer().0,
            format_milli(f.tokens),
            f.seller().0,
            format_milli(f.coin),
            f.pair.symbol(),
            format_rate(f.price),
            format_milli(f.fee)
        ),
        DexEvent::Rested(o) => format!(
            "{} rests: {} {} at {} until block {}",
            o.id,
            format_milli(o.amount),
            match o.side {
                Side::Ask => token.to_string(),
                Side::Bid => o.pair.symbol().to_string(),
            },
            format_rate(o.price),
            o.expires
        ),
        DexEvent::Returned {
            id,
            from,
            pair,
            side,
            amount,
            why,
            ..
        } => format!(
            "{} {} back to @{from} from {id} ({})",
            format_milli(*amount),
            match side {
                Side::Ask => token,
                Side::Bid => pair.symbol(),
            },
            why.as_str()
        ),
        DexEvent::CollateralSet { stake } => format!(
            "collateral behind the multi-sig account: {} {token}",
            format_milli(*stake)
        ),
        DexEvent::ParamsSet(p) => format!(
            "DEX parameters voted: fee {} ppm, dex_max {} bp, dex_slope {} bp",
            p.fee_ppm, p.dex_max_bp, p.dex_slope_bp
        ),
        DexEvent::LiquidityCounted { block, awards } => {
            format!("liquidity points at block {block} for {} bidders", awards.len())
        }
        DexEvent::LiquiditySent { block, awards } => format!(
            "liquidity points of {} bidders sent for payment at block {block}",
            awards.len()
        ),
    }
}
