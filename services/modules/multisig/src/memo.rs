//! Memos: what a deposit's memo asks for, and the memos of outflows, which carry the id
//! `ot:<seq>` that their confirmation is matched by.
//!
//! A deposit memo is one of:
//! - **plain**: anything whose first non-blank character is not `{` (empty, text, an
//!   encrypted `#...` memo, an exchange's deposit tag): the amount is credited to the
//!   sender's Layer-2 balance;
//! - **for a module**: a JSON object with exactly one member, `{"<module>": <anything>}`,
//!   where `<module>` is a module name (`a-z`, then `a-z`, `0-9` or `_`, at most 32): the
//!   deposit is meant for that module (the DEX, NFT sales), which will get it as a message;
//! - **malformed**: starts with `{` but is not such an object: refunded, because guessing
//!   what a broken instruction meant would credit money where its sender did not want it.

use serde_json::Value;

/// The longest user memo an `ms_withdraw` may set, in bytes. With ` ot:<seq>` (at most 23
/// bytes) an outflow memo stays far below Hive's limit of 2047 bytes.
pub const MAX_USER_MEMO: usize = 256;

/// The most bytes of a transfer's memo an anomaly record keeps.
pub const MAX_RECORDED_MEMO: usize = 256;

/// The longest module name a deposit memo may address.
pub const MAX_MODULE_NAME: usize = 32;

/// What a deposit's memo asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepositMemo {
    Plain,
    Module(String),
    Malformed(&'static str),
}

fn is_module_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_MODULE_NAME
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// Classifies a deposit memo (see the module doc).
pub fn classify(memo: &str) -> DepositMemo {
    if !memo.trim_start().starts_with('{') {
        return DepositMemo::Plain;
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(memo) else {
        return DepositMemo::Malformed("not a JSON object");
    };
    if map.len() != 1 {
        return DepositMemo::Malformed("a module memo has exactly one member, {\"<module>\": ...}");
    }
    match map.keys().next() {
        Some(name) if is_module_name(name) => DepositMemo::Module(name.clone()),
        _ => DepositMemo::Malformed("the member is not a module name (a-z, 0-9, _; at most 32)"),
    }
}

/// The memo of outflow `seq`: the user's memo (if any), then its id.
pub fn outflow_memo(user: &str, seq: u64) -> String {
    if user.is_empty() {
        format!("ot:{seq}")
    } else {
        format!("{user} ot:{seq}")
    }
}

/// The memo of a refund: why, then the id.
pub fn refund_memo(why: &str, seq: u64) -> String {
    format!("refund: {why} ot:{seq}")
}

/// The outflow a transfer's memo names: its last space-separated word, `ot:` and a
/// number in canonical decimal (no sign, no leading zero), as [`outflow_memo`] writes it.
pub fn outflow_id(memo: &str) -> Option<u64> {
    let digits = memo.rsplit(' ').next()?.strip_prefix("ot:")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    digits.parse().ok()
}

/// Why a user memo cannot go into an outflow, if it cannot.
pub fn check_user_memo(memo: &str) -> Result<(), String> {
    if memo.len() > MAX_USER_MEMO {
        return Err(format!(
            "`memo` is {} bytes, at most {MAX_USER_MEMO} are allowed",
            memo.len()
        ));
    }
    if memo.chars().any(char::is_control) {
        return Err("`memo` must not contain control characters".into());
    }
    if memo.starts_with('#') {
        return Err("`memo` must not start with `#`: wallets read such memos as encrypted, and the multi-sig account cannot encrypt".into());
    }
    Ok(())
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deposit_memos() {
        use DepositMemo::*;
        for plain in [
            "",
            "hello",
            "#encrypted",
            "[1,2]",
            "dex:buy",
            "ot:5",
            "  hi {x}",
            "\"quoted\"",
        ] {
            assert_eq!(classify(plain), Plain, "{plain:?}");
        }
        assert_eq!(classify(r#"{"dex":{"rate":"0.1"}}"#), Module("dex".into()));
        assert_eq!(classify(r#"  {"nft_2":"set:1"}"#), Module("nft_2".into()));
        assert_eq!(classify(r#"{"rate":"0.5"}"#), Module("rate".into()));
        for bad in [
            "{",
            "{oops}",
            "{}",
            r#"{"dex":1,"nft":2}"#,
            r#"{"Dex":1}"#,
            r#"{"1dex":1}"#,
            r#"{"":1}"#,
            r#"{"dex-x":1}"#,
            r#"{"dex":1} trailing"#,
        ] {
            assert!(matches!(classify(bad), Malformed(_)), "{bad:?}");
        }
        let long = format!(r#"{{"{}":1}}"#, "a".repeat(33));
        assert!(matches!(classify(&long), Malformed(_)));
        let max = format!(r#"{{"{}":1}}"#, "a".repeat(32));
        assert_eq!(classify(&max), Module("a".repeat(32)));
    }

    #[test]
    fn outflow_ids_are_the_last_word_in_canonical_decimal() {
        assert_eq!(outflow_memo("", 0), "ot:0");
        assert_eq!(outflow_memo("rent ot:9", 12), "rent ot:9 ot:12");
        assert_eq!(outflow_id("rent ot:9 ot:12"), Some(12));
        assert_eq!(outflow_id(&refund_memo("below the minimum", 7)), Some(7));
        assert_eq!(outflow_id("ot:0"), Some(0));
        assert_eq!(outflow_id(&format!("ot:{}", u64::MAX)), Some(u64::MAX));
        for none in [
            "",
            "ot:",
            "ot:01",
            "ot:-1",
            "ot:+1",
            "ot:1 ",
            "xot:1",
            "OT:1",
            "ot:1x",
            "ot:18446744073709551616",
            "thanks",
        ] {
            assert_eq!(outflow_id(none), None, "{none:?}");
        }
    }

    #[test]
    fn user_memos() {
        assert!(check_user_memo("").is_ok());
        assert!(check_user_memo(&"x".repeat(MAX_USER_MEMO)).is_ok());
        assert!(check_user_memo("ünïcödé ✓").is_ok());
        assert!(check_user_memo(&"x".repeat(MAX_USER_MEMO + 1)).is_err());
        assert!(check_user_memo("a\nb").is_err());
        assert!(check_user_memo("#secret").is_err());
        assert!(check_user_memo(" padded ").is_ok());
        assert_eq!(cut("ab✓", 3), "ab");
        assert_eq!(cut("ab✓", 5), "ab✓");
    }
}
