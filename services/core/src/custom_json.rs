//! Parsing a custom_json's `json` string the way Hive admits it. Hive validates it with
//! its own parser (fc's), which is more liberal than serde_json in two ways a block can
//! carry: `\uD83D` escapes that are half of a surrogate pair (JavaScript's `JSON.parse`,
//! the reference node's parser, accepts them too), and nesting up to fc's recursion limit
//! of 200 where serde_json stops at 128. An op Hive put in a block must not be refused as
//! malformed for either; anything deeper than Hive's limit cannot be in a valid block, and
//! is refused before parsing, so the work stays bounded whatever an API node sends.

use std::borrow::Cow;

/// fc's `DEFAULT_MAX_RECURSION_DEPTH`, the deepest nesting Hive accepts in a custom_json.
pub const MAX_DEPTH: usize = 200;

/// Why a `json` string was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("json nests {depth} levels deep, deeper than Hive's limit of {MAX_DEPTH}")]
    TooDeep { depth: usize },
    #[error("json is not valid JSON: {0}")]
    Invalid(#[from] serde_json::Error),
}

/// Parses a custom_json payload: lone surrogate escapes become U+FFFD (a Rust string holds
/// no unpaired surrogate; the reference keeps the UTF-16 unit, but no op field that takes
/// part in consensus can be a valid value containing one), nesting is allowed to
/// [`MAX_DEPTH`].
pub fn parse(json: &str) -> Result<serde_json::Value, ParseError> {
    let (text, depth) = scan(json);
    if depth > MAX_DEPTH {
        return Err(ParseError::TooDeep { depth });
    }
    let mut de = serde_json::Deserializer::from_str(&text);
    // Safe to lift: the depth was checked above, and 200 levels of recursion are far below
    // any thread's stack.
    de.disable_recursion_limit();
    let value = serde::Deserialize::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// One pass over the text: the maximum nesting of `[`/`{` outside strings, and the text
/// with every unpaired surrogate escape replaced by `\uFFFD` (borrowed when there is none).
fn scan(json: &str) -> (Cow<'_, str>, usize) {
    let bytes = json.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    let mut in_string = false;
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `json` already in `out`
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => {
                if bytes.get(i + 1) == Some(&b'u') {
                    match surrogate_at(bytes, i) {
                        Some(Surrogate::High) if surrogate_at(bytes, i + 6) == Some(Surrogate::Low) => {
                            i += 12;
                            continue;
                        }
                        Some(_) => {
                            let o = out.get_or_insert_with(|| String::with_capacity(json.len()));
                            o.push_str(&json[copied..i]);
                            o.push_str("\\uFFFD");
                            i += 6;
                            copied = i;
                            continue;
                        }
                        None => {}
                    }
                }
                i += 2;
                continue;
            }
            b'"' => in_string = !in_string,
            b'[' | b'{' if !in_string => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    match out {
        Some(mut o) => {
            o.push_str(&json[copied..]);
            (Cow::Owned(o), max)
        }
        None => (Cow::Borrowed(json), max),
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Surrogate {
    High,
    Low,
}

/// Whether `bytes[at..]` is a `\u` escape (four hex digits) of a surrogate code unit.
fn surrogate_at(bytes: &[u8], at: usize) -> Option<Surrogate> {
    let esc = bytes.get(at..at + 6)?;
    if esc[0] != b'\\' || esc[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&esc[2..]).ok()?;
    let unit = u16::from_str_radix(hex, 16).ok()?;
    match unit {
        0xD800..=0xDBFF => Some(Surrogate::High),
        0xDC00..=0xDFFF => Some(Surrogate::Low),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ordinary_json_is_parsed_as_serde_json_does() {
        for text in [
            r#"{"a":1}"#,
            r#"{"s":"q\"uo\\te\u00e9"}"#,
            "[]",
            r#"{"e":"😀 \ud83d\ude00"}"#,
        ] {
            assert_eq!(
                parse(text).unwrap(),
                serde_json::from_str::<serde_json::Value>(text).unwrap(),
                "{text}"
            );
        }
        assert!(
            matches!(scan(r#"{"a":"\ud83d\ude00"}"#).0, Cow::Borrowed(_)),
            "nothing copied"
        );
    }

    #[test]
    fn lone_surrogates_become_the_replacement_character() {
        assert_eq!(parse(r#"{"m":"a\ud83db"}"#).unwrap(), json!({"m": "a\u{FFFD}b"}));
        assert_eq!(parse(r#"{"m":"\udc00"}"#).unwrap(), json!({"m": "\u{FFFD}"}));
        assert_eq!(
            parse(r#"{"m":"\uD83D\uD83D\uDE00"}"#).unwrap(),
            json!({"m": "\u{FFFD}😀"})
        );
        assert_eq!(parse(r#"{"m":"x\ud83d"}"#).unwrap(), json!({"m": "x\u{FFFD}"}));
        // An escaped backslash followed by `ud83d` is text, not an escape.
        assert_eq!(parse(r#"{"m":"\\ud83d"}"#).unwrap(), json!({"m": "\\ud83d"}));
        // In a key too, and serde_json alone refuses all of these.
        assert!(serde_json::from_str::<serde_json::Value>(r#"{"\ud800":1}"#).is_err());
        assert_eq!(parse(r#"{"\ud800":1}"#).unwrap(), json!({"\u{FFFD}": 1}));
    }

    #[test]
    fn nesting_is_allowed_to_hives_limit_and_no_further() {
        let nested = |n: usize| format!("{{\"a\":{}1{}}}", "[".repeat(n - 1), "]".repeat(n - 1));
        assert!(
            serde_json::from_str::<serde_json::Value>(&nested(150)).is_err(),
            "serde_json stops at 128"
        );
        assert!(parse(&nested(150)).is_ok());
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        assert!(matches!(
            parse(&nested(MAX_DEPTH + 1)),
            Err(ParseError::TooDeep { depth: 201 })
        ));
        // Brackets inside strings do not count.
        let text = format!(r#"{{"a":"{}"}}"#, "[".repeat(10_000));
        assert!(parse(&text).is_ok());
        // A million openers are refused by the scan, without recursion.
        assert!(matches!(parse(&"[".repeat(1_000_000)), Err(ParseError::TooDeep { .. })));
    }

    #[test]
    fn invalid_json_is_still_invalid() {
        for text in [
            "{",
            r#"{"a":}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a":1} x"#,
            "\\u0041",
            r#"{"a":"\x"}"#,
        ] {
            assert!(matches!(parse(text), Err(ParseError::Invalid(_))), "{text}");
        }
    }
}
