//! Strict field parsing, with the token module's rules: amounts are non-negative integers
//! only (a JSON integer or a string of decimal digits), never JS `parseInt` guesses.

use crate::keys::Coin;
use opentoken_core::account::is_valid_account_name;
use opentoken_core::field::kind;
use opentoken_core::{Reject, RejectCode};
use serde_json::{Map, Value};

/// An op's JSON object, as the engine hands it over.
pub(crate) type Payload = Map<String, Value>;

/// A non-negative integer amount in milli-units: a JSON integer, or a string of decimal
/// digits; at most `i64::MAX` (Hive's asset range). The token module's rule
/// (`opentoken_core::field::amount`).
pub(crate) fn amount_field(payload: &Payload, name: &str) -> Result<u64, Reject> {
    opentoken_core::field::amount(payload, name, "milli-units")
}

/// `HIVE` or `HBD`, exactly.
pub(crate) fn coin_field(payload: &Payload, name: &str) -> Result<Coin, Reject> {
    match payload.get(name) {
        None => Err(Reject::field(format!("`{name}` is missing (\"HIVE\" or \"HBD\")"))),
        Some(Value::String(s)) => Coin::from_symbol(s).ok_or_else(|| {
            Reject::field(format!(
                "`{name}` must be \"HIVE\" or \"HBD\", got {:?}",
                crate::memo::cut(s, 16)
            ))
        }),
        Some(other) => Err(Reject::field(format!(
            "`{name}` must be \"HIVE\" or \"HBD\", got {}",
            kind(other)
        ))),
    }
}

/// An optional account name; `None` when absent.
pub(crate) fn account_field(payload: &Payload, name: &str) -> Result<Option<String>, Reject> {
    match payload.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if is_valid_account_name(s) => Ok(Some(s.clone())),
        Some(Value::String(s)) => Err(Reject::new(
            RejectCode::InvalidAccount,
            format!("{:?} is not a valid Hive account name", crate::memo::cut(s, 20)),
        )),
        Some(other) => Err(Reject::field(format!(
            "`{name}` must be an account name, got {}",
            kind(other)
        ))),
    }
}

/// An optional string; `None` when absent.
pub(crate) fn string_field<'a>(payload: &'a Payload, name: &str) -> Result<Option<&'a str>, Reject> {
    match payload.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(Reject::field(format!("`{name}` must be a string, got {}", kind(other)))),
    }
}

/// Refuses any field not in `known`: a misspelt optional field (`"too"` for `"to"`) would
/// otherwise be ignored silently and the money sent to the default.
pub(crate) fn only_fields(payload: &Payload, known: &[&str]) -> Result<(), Reject> {
    match payload.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(Reject::field(format!(
            "unknown field `{}` (allowed: {})",
            crate::memo::cut(k, 32),
            known.join(", ")
        ))),
    }
}
