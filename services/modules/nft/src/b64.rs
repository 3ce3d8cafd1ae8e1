//! The reference's base64 numbers: uids and set ranges are written in the alphabet
//! `0-9A-Za-z+=` (64 symbols, most significant first; `"0"` is zero, `"=="` is 4095).
//! It is not RFC 4648 base64: it is a positional number system, so uids sort by length
//! first, then by symbol.

const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+=";

/// The longest number this module writes: 8 symbols hold 48 bits, far beyond any set.
pub const MAX_LEN: usize = 8;

fn digit(c: u8) -> Option<u64> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u64)
}

/// The value of `s`; `None` for an empty string, a symbol outside the alphabet, or more
/// than [`MAX_LEN`] symbols.
pub fn to_number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > MAX_LEN {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, c| Some(acc * 64 + digit(c)?))
}

/// `n` in the alphabet, without padding (`0` is `"0"`).
pub fn from_number(mut n: u64) -> String {
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(ALPHABET[(n % 64) as usize]);
        n /= 64;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `n` left-padded with `0` to `width` symbols: a set's uids all have the width of its
/// largest (the reference pads to `len(end)`).
pub fn padded(n: u64, width: usize) -> String {
    let s = from_number(n);
    if s.len() >= width {
        s
    } else {
        let mut p = "0".repeat(width - s.len());
        p.push_str(&s);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_reference_values() {
        assert_eq!(from_number(0), "0");
        assert_eq!(to_number("=="), Some(4095));
        assert_eq!(to_number("10"), Some(64));
        assert_eq!(from_number(63), "=");
        assert_eq!(padded(5, 3), "005");
        assert_eq!(to_number(""), None);
        assert_eq!(to_number("a/"), None);
        assert_eq!(to_number("123456789"), None);
    }

    proptest! {
        #[test]
        fn round_trips(n in 0u64..(1u64 << 48)) {
            prop_assert_eq!(to_number(&from_number(n)), Some(n));
            prop_assert_eq!(to_number(&padded(n, 8)), Some(n));
        }
    }
}
