//! Strict parsing of the integer amounts in ops' JSON, shared by every module that takes
//! one: the reference reads amounts with JS `parseInt` ("12.9" -> 12, "0x10" -> 16,
//! "1e3" -> 1); opentoken accepts only what is unambiguously an integer (a JSON integer, or
//! a string of decimal digits) and rejects the rest with a reason, so one op means one
//! thing on every node and to every wallet.

use crate::module::{Reject, RejectCode};
use serde_json::{Map, Value};

/// The largest amount any ledger holds: Hive's asset range, and the token's.
pub const MAX_AMOUNT: u64 = i64::MAX as u64;

/// The longest piece of a sender's text a reason repeats.
const SHOWN: usize = 40;

/// `text` cut to at most [`SHOWN`] bytes at a character boundary, so a reason stays short
/// whatever the sender wrote.
fn shown(text: &str) -> &str {
    let mut end = text.len().min(SHOWN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What a JSON value is, for reasons ("`x` must be an integer, got a string").
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Field `name` of `payload` as a non-negative integer amount of at most [`MAX_AMOUNT`]
/// (`unit` names the unit in reasons: "base units", "milli-units").
pub fn amount(payload: &Map<String, Value>, name: &str, unit: &str) -> Result<u64, Reject> {
    let v = payload
        .get(name)
        .ok_or_else(|| Reject::field(format!("`{name}` is missing")))?;
    let parsed = match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u
            } else if n.as_i64().is_some() {
                return Err(Reject::field(format!("`{name}` must not be negative ({n})")));
            } else {
                return Err(Reject::field(format!("`{name}` must be an integer in {unit}, got {n}")));
            }
        }
        Value::String(s) => {
            if s.is_empty() {
                return Err(Reject::field(format!("`{name}` is an empty string")));
            }
            if let Some(rest) = s.strip_prefix('-') {
                if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Reject::field(format!("`{name}` must not be negative ({})", shown(s))));
                }
            }
            if !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Reject::field(format!(
                    "`{name}` must be decimal digits only ({unit}), got {:?}",
                    shown(s)
                )));
            }
            s.parse::<u64>()
                .map_err(|_| Reject::new(RejectCode::Overflow, format!("`{name}` {} is too large", shown(s))))?
        }
        Value::Null => return Err(Reject::field(format!("`{name}` is null"))),
        other => {
            return Err(Reject::field(format!(
                "`{name}` must be an integer, got {}",
                kind(other)
            )))
        }
    };
    if parsed > MAX_AMOUNT {
        return Err(Reject::new(
            RejectCode::Overflow,
            format!("`{name}` {parsed} exceeds the ledger's range (i64::MAX)"),
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<u64, Reject> {
        let Value::Object(m) = json!({ "amount": v }) else {
            unreachable!()
        };
        amount(&m, "amount", "base units")
    }

    #[test]
    fn only_unambiguous_integers_are_amounts() {
        assert_eq!(parse(json!(0)).unwrap(), 0);
        assert_eq!(parse(json!(1500)).unwrap(), 1500);
        assert_eq!(parse(json!("1500")).unwrap(), 1500);
        assert_eq!(parse(json!(i64::MAX)).unwrap(), MAX_AMOUNT);
        let long = "9".repeat(5000);
        for (v, code, needle) in [
            (json!(-1), RejectCode::InvalidField, "negative"),
            (json!("-1"), RejectCode::InvalidField, "negative"),
            (json!(1.5), RejectCode::InvalidField, "integer in base units"),
            (json!("12.9"), RejectCode::InvalidField, "decimal digits"),
            (json!("0x10"), RejectCode::InvalidField, "decimal digits"),
            (json!("1e3"), RejectCode::InvalidField, "decimal digits"),
            (json!(" 1"), RejectCode::InvalidField, "decimal digits"),
            (json!(""), RejectCode::InvalidField, "empty"),
            (json!(null), RejectCode::InvalidField, "null"),
            (json!(true), RejectCode::InvalidField, "a boolean"),
            (json!([1]), RejectCode::InvalidField, "an array"),
            (json!(u64::MAX), RejectCode::Overflow, "range"),
            (json!("18446744073709551616"), RejectCode::Overflow, "too large"),
            (json!(long), RejectCode::Overflow, "too large"),
        ] {
            let r = parse(v.clone()).expect_err("refused");
            assert_eq!(r.code, code, "{v}: {}", r.reason);
            assert!(r.reason.contains(needle), "{v}: {:?} does not say {needle:?}", r.reason);
            assert!(r.reason.len() < 120, "a short reason whatever the input: {}", r.reason);
        }
        let Value::Object(empty) = json!({}) else {
            unreachable!()
        };
        assert!(amount(&empty, "amount", "x").unwrap_err().reason.contains("missing"));
    }
}
