//! Prices and the rounding rule: every amount is an integer, and no fill gives either side
//! a worse price than its limit.
//!
//! A price is **micro-coin per token**: the reference's 6-decimal `rate` string times
//! 10^6 (`"0.100000"` = 100 000: 0.1 HIVE per token). Token and coin amounts are both in
//! milli-units, so `t` milli-tokens at price `p` are worth exactly `t × p / 10^6`
//! milli-coin, which is rarely an integer. The rule:
//!
//! - A fill happens at the **resting (maker) order's price** `p`.
//! - The coin amount is rounded in the maker's favour: a resting ask (a seller) receives
//!   `ceil(t × p / 10^6)`, a resting bid (a buyer) pays `floor(t × p / 10^6)`. The maker
//!   therefore never trades worse than its price.
//! - The taker accepts that rounding only within its own limit. When the rounded amount
//!   would cross it (possible only when the limits are equal or nearly so), the fill is
//!   cut to the largest multiple of the price's **lot** (`10^6 / gcd(p, 10^6)` milli-tokens,
//!   where `t × p / 10^6` is exact and nobody is rounded). [`taker_fill`] returns that.
//! - What no fill can take (less than one lot at the best price, or a market order's
//!   rest) is returned to its owner, never rested across the book.

use opentoken_core::{Reject, RejectCode};

/// Micro-units per unit of a price.
pub const SCALE: u64 = 1_000_000;

/// The highest price accepted: 10^6 coin per token (far above any real market), so that
/// `tokens × price` always fits in `u128` arithmetic and a price string stays short.
pub const MAX_PRICE: u64 = 1_000_000 * SCALE;

/// Parses a `rate` string: decimal digits, optionally a `.` and at most six more digits
/// (`"0.1"`, `"0.100000"`, `"12"`). Signs, exponents, spaces, more than six decimals and
/// JSON numbers are refused: one price has one meaning on every node.
pub fn parse_rate(field: &str, v: &serde_json::Value) -> Result<u64, Reject> {
    // A JSON number (a wallet's number input) is read by its decimal text: serde_json prints
    // an f64 as the shortest text that reads back as it, which for every rate this accepts
    // (at most 13 significant digits) is the text that was sent. No float arithmetic.
    let text;
    let s = match v {
        serde_json::Value::String(s) => s.as_str(),
        serde_json::Value::Number(n) => {
            text = n.to_string();
            text.as_str()
        }
        other => {
            return Err(Reject::field(format!(
                "`{field}` must be a decimal like \"0.100000\", got {}",
                opentoken_core::field::kind(other)
            )))
        }
    };
    let shown: String = s.chars().take(24).collect();
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || (s.contains('.') && frac.is_empty()) {
        return Err(Reject::field(format!(
            "`{field}` must be decimal digits with at most six decimals, got {shown:?}"
        )));
    }
    if frac.len() > 6 {
        return Err(Reject::field(format!(
            "`{field}` has more than six decimals ({shown:?}): prices are in millionths"
        )));
    }
    if whole.len() > 7 {
        return Err(Reject::new(
            RejectCode::Overflow,
            format!("`{field}` {shown:?} is too large"),
        ));
    }
    let w: u64 = whole
        .parse()
        .map_err(|_| Reject::new(RejectCode::Overflow, format!("`{field}` {shown:?} is too large")))?;
    let mut f: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse()
            .map_err(|_| Reject::field(format!("`{field}` {shown:?} is not a number")))?
    };
    for _ in frac.len()..6 {
        f *= 10;
    }
    let p = w * SCALE + f;
    if p > MAX_PRICE {
        return Err(Reject::new(
            RejectCode::Overflow,
            format!(
                "`{field}` {shown:?} is above the highest price {}",
                format_rate(MAX_PRICE)
            ),
        ));
    }
    Ok(p)
}

/// The reference's 6-decimal rate string of a price.
pub fn format_rate(p: u64) -> String {
    format!("{}.{:06}", p / SCALE, p % SCALE)
}

/// Milli-units as the reference prints them: `"1.000"`.
pub fn format_milli(a: u64) -> String {
    format!("{}.{:03}", a / 1000, a % 1000)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The smallest token amount whose value at `p` is an exact number of milli-coin.
pub fn lot(p: u64) -> u64 {
    if p == 0 {
        return 1;
    }
    SCALE / gcd(p, SCALE)
}

/// `t × p / 10^6` rounded down.
pub fn coin_floor(t: u64, p: u64) -> u128 {
    u128::from(t) * u128::from(p) / u128::from(SCALE)
}

/// `t × p / 10^6` rounded up.
pub fn coin_ceil(t: u64, p: u64) -> u128 {
    (u128::from(t) * u128::from(p)).div_ceil(u128::from(SCALE))
}

/// The most tokens `coin` buys at `p` without rounding: `floor(coin × 10^6 / p)`.
pub fn tokens_for(coin: u64, p: u64) -> u64 {
    if p == 0 {
        return 0;
    }
    let t = u128::from(coin) * u128::from(SCALE) / u128::from(p);
    u64::try_from(t).unwrap_or(u64::MAX)
}

/// Who rests: the maker's side decides the rounding direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MakerSide {
    /// The maker sells tokens (an ask); it receives `ceil` coin.
    Ask,
    /// The maker buys tokens (a bid); it pays `floor` coin.
    Bid,
}

/// One fill's amounts: `tokens` change hands for `coin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    pub tokens: u64,
    pub coin: u64,
}

/// The fill of at most `max_tokens` at the maker's price `p` that respects the rounding
/// rule, the taker's limit (`None`: a market order) and, for a buying taker or maker, the
/// coin it has (`max_coin`). `None` when no fill is possible (less than one lot).
pub fn taker_fill(maker: MakerSide, p: u64, max_tokens: u64, max_coin: u64, taker_limit: Option<u64>) -> Option<Fill> {
    if p == 0 || max_tokens == 0 {
        return None;
    }
    let ok = |t: u64| -> Option<Fill> {
        if t == 0 {
            return None;
        }
        let coin = match maker {
            MakerSide::Ask => coin_ceil(t, p),
            MakerSide::Bid => coin_floor(t, p),
        };
        let coin = u64::try_from(coin).ok()?;
        if coin == 0 || coin > max_coin {
            return None;
        }
        // The taker's limit: a buying taker pays at most its limit per token, a selling
        // taker receives at least its limit per token.
        if let Some(limit) = taker_limit {
            let scaled = u128::from(coin) * u128::from(SCALE);
            let bound = u128::from(t) * u128::from(limit);
            let within = match maker {
                MakerSide::Ask => scaled <= bound,
                MakerSide::Bid => scaled >= bound,
            };
            if !within {
                return None;
            }
        }
        Some(Fill { tokens: t, coin })
    };
    // The coin at hand bounds the tokens first: a maker ask is paid ceil(t × p / 10^6)
    // (at most `max_coin` exactly when t × p <= max_coin × 10^6), a maker bid pays
    // floor(t × p / 10^6) (at most `max_coin` exactly when t × p < (max_coin + 1) × 10^6).
    let by_coin = match maker {
        MakerSide::Ask => tokens_for(max_coin, p),
        MakerSide::Bid => {
            let t = ((u128::from(max_coin) + 1) * u128::from(SCALE) - 1) / u128::from(p);
            u64::try_from(t).unwrap_or(u64::MAX)
        }
    };
    let t = max_tokens.min(by_coin);
    ok(t).or_else(|| {
        let l = lot(p);
        ok(t - t % l)
    })
}

/// The fee on `tokens` at `ppm` parts per million, rounded up (at least one milli-token of
/// any fill when the fee is not zero), never more than the tokens.
pub fn fee(tokens: u64, ppm: u64) -> u64 {
    let f = (u128::from(tokens) * u128::from(ppm)).div_ceil(u128::from(SCALE));
    u64::try_from(f).unwrap_or(u64::MAX).min(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn rates_parse_exactly_and_print_as_the_reference() {
        assert_eq!(parse_rate("rate", &json!("0.1")).unwrap(), 100_000);
        assert_eq!(parse_rate("rate", &json!("0.100000")).unwrap(), 100_000);
        assert_eq!(parse_rate("rate", &json!("12")).unwrap(), 12_000_000);
        assert_eq!(parse_rate("rate", &json!("0.000001")).unwrap(), 1);
        // A wallet's number input: read by its decimal text.
        assert_eq!(parse_rate("rate", &json!(0.1)).unwrap(), 100_000);
        assert_eq!(parse_rate("rate", &json!(12)).unwrap(), 12_000_000);
        assert_eq!(parse_rate("rate", &json!(0.123456)).unwrap(), 123_456);
        assert_eq!(format_rate(100_000), "0.100000");
        assert_eq!(format_rate(12_500), "0.012500");
        for bad in [
            json!(-0.1),
            json!(1e-7),
            json!(1e20),
            json!(0.1234567),
            json!(true),
            json!("-0.1"),
            json!("1e3"),
            json!(" 0.1"),
            json!("0.1234567"),
            json!("."),
            json!("1."),
            json!(".5"),
            json!("0x10"),
            json!("99999999"),
            json!(null),
            json!("１"),
        ] {
            assert!(parse_rate("rate", &bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn lots_make_values_exact() {
        assert_eq!(lot(100_000), 10);
        assert_eq!(lot(123_457), 1_000_000);
        assert_eq!(lot(SCALE), 1);
        assert_eq!(
            coin_floor(lot(123_457), 123_457) * u128::from(SCALE),
            u128::from(lot(123_457)) * 123_457
        );
    }

    #[test]
    fn equal_limits_fill_only_whole_lots() {
        // 15 milli-tokens at 0.1: 1.5 milli-coin is not a whole amount; the fill is cut to
        // one lot (10) at exactly 1 milli-coin.
        let f = taker_fill(MakerSide::Ask, 100_000, 15, 1_000, Some(100_000)).unwrap();
        assert_eq!(f, Fill { tokens: 10, coin: 1 });
        // A better taker limit absorbs the rounding.
        let f = taker_fill(MakerSide::Ask, 100_000, 15, 1_000, Some(200_000)).unwrap();
        assert_eq!(f, Fill { tokens: 15, coin: 2 });
        // Less than a lot cannot fill at the same limit.
        assert_eq!(taker_fill(MakerSide::Bid, 100_000, 9, u64::MAX, Some(100_000)), None);
    }

    #[test]
    fn fee_rounds_up_and_never_exceeds_the_fill() {
        assert_eq!(fee(1000, 5000), 5);
        assert_eq!(fee(1, 5000), 1);
        assert_eq!(fee(0, 5000), 0);
        assert_eq!(fee(10, 0), 0);
        assert_eq!(fee(3, 1_000_000), 3);
    }

    proptest! {
        /// Whatever the amounts, a fill is inside both limits and the coins at hand.
        #[test]
        fn a_fill_is_never_worse_than_either_limit(
            p in 1u64..5_000_000,
            slack in 0u64..2_000,
            max_tokens in 0u64..10_000_000,
            max_coin in 0u64..10_000_000,
            ask in any::<bool>(),
        ) {
            let maker = if ask { MakerSide::Ask } else { MakerSide::Bid };
            let limit = if ask { p + slack } else { p.saturating_sub(slack).max(1) };
            if let Some(f) = taker_fill(maker, p, max_tokens, max_coin, Some(limit)) {
                prop_assert!(f.tokens > 0 && f.tokens <= max_tokens && f.coin > 0 && f.coin <= max_coin);
                let value = u128::from(f.coin) * u128::from(SCALE);
                let at = |q: u64| u128::from(f.tokens) * u128::from(q);
                if ask {
                    // The maker sells: it receives at least p; the taker pays at most its limit.
                    prop_assert!(value >= at(p) && value <= at(limit));
                } else {
                    prop_assert!(value <= at(p) && value >= at(limit));
                }
            } else {
                // No fill only when not even one lot fits.
                let l = lot(p);
                let fits_coin = coin_ceil(l, p) <= u128::from(max_coin);
                prop_assert!(max_tokens < l || !fits_coin || tokens_for(max_coin, p) < l);
            }
        }
    }
}
