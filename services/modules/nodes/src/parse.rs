//! Typed reads of op payload fields. Every failure is an `InvalidField` rejection whose reason
//! names the field, so a node operator can see exactly what their op got wrong.

use opentoken_core::Reject;
use serde_json::{Map, Value};

pub(crate) type Payload = Map<String, Value>;

/// An optional integer vote, clamped into `min..=max`; absent means `default`. Clamping keeps
/// the reference's tolerance for out-of-range votes, but a value of another type (a string,
/// a fraction, null) is refused instead of being parsed leniently.
pub(crate) fn clamped(payload: &Payload, name: &str, min: u64, max: u64, default: u64) -> Result<u64, Reject> {
    let Some(v) = payload.get(name) else {
        return Ok(default);
    };
    let n = v.as_number().filter(|n| n.is_i64() || n.is_u64()).ok_or_else(|| {
        Reject::field(format!(
            "`{name}` must be an integer ({min}..={max}, default {default}), got {}",
            describe(v)
        ))
    })?;
    Ok(match (n.as_i64(), n.as_u64()) {
        (_, Some(u)) => u.clamp(min, max),
        // A negative integer: below every range here.
        _ => min,
    })
}

/// A required non-negative integer.
pub(crate) fn u64_field(payload: &Payload, name: &str) -> Result<u64, Reject> {
    match payload.get(name) {
        None => Err(Reject::field(format!("`{name}` is required (a block number)"))),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| Reject::field(format!("`{name}` must be a non-negative integer, got {}", describe(v)))),
    }
}

/// A required string.
pub(crate) fn str_field<'a>(payload: &'a Payload, name: &str) -> Result<&'a str, Reject> {
    match payload.get(name) {
        None => Err(Reject::field(format!("`{name}` is required"))),
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(Reject::field(format!("`{name}` must be a string, got {}", describe(v)))),
    }
}

/// A required string of exactly `2 * N` hex digits.
pub(crate) fn hex_field<const N: usize>(payload: &Payload, name: &str, what: &str) -> Result<[u8; N], Reject> {
    let s = str_field(payload, name)?;
    let mut out = [0u8; N];
    if s.len() != 2 * N || hex::decode_to_slice(s, &mut out).is_err() {
        return Err(Reject::field(format!(
            "`{name}` must be {} hex digits ({what}), got {:?}",
            2 * N,
            preview(s)
        )));
    }
    Ok(out)
}

/// A JSON value's type, for reasons (never the whole value, which may be large).
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("the string {:?}", preview(s)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// At most 80 characters of a string, for reasons.
pub(crate) fn preview(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_string()
    } else {
        let mut p: String = s.chars().take(77).collect();
        p.push_str("...");
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Payload {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn clamping_and_types() {
        let p = obj(json!({"a": 5000, "b": -3, "c": 7, "d": 1.5, "e": "7", "f": null, "g": u64::MAX}));
        assert_eq!(clamped(&p, "a", 1, 1000, 500).unwrap(), 1000);
        assert_eq!(clamped(&p, "b", 1, 1000, 500).unwrap(), 1);
        assert_eq!(clamped(&p, "c", 1, 1000, 500).unwrap(), 7);
        assert_eq!(clamped(&p, "missing", 1, 1000, 500).unwrap(), 500);
        assert_eq!(clamped(&p, "g", 0, 100, 100).unwrap(), 100);
        for bad in ["d", "e", "f"] {
            let r = clamped(&p, bad, 1, 1000, 500).unwrap_err();
            assert!(r.reason.contains(&format!("`{bad}`")), "{r:?}");
        }
    }

    #[test]
    fn hex_fields() {
        let p = obj(json!({"k": "AB".repeat(32), "short": "ab", "bad": "zz".repeat(32), "n": 5}));
        assert_eq!(hex_field::<32>(&p, "k", "key").unwrap(), [0xab; 32]);
        for f in ["short", "bad", "n", "missing"] {
            let r = hex_field::<32>(&p, f, "key").unwrap_err();
            assert!(r.reason.contains(&format!("`{f}`")), "{r:?}");
        }
    }
}
