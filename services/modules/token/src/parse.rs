//! Strict field parsing: the reference reads amounts with JS `parseInt` ("12.9" -> 12,
//! "0x10" -> 16, "1e3" -> 1); opentoken accepts only what is unambiguously an integer and
//! rejects the rest with a reason.

use crate::keys::{amount, SUPPLY};
use opentoken_core::account::is_valid_account_name;
use opentoken_core::field::kind;
use opentoken_core::{Reject, RejectCode, StateRead};
use serde_json::{Map, Value};

/// An op's JSON object, as the engine hands it over.
pub(crate) type Payload = Map<String, Value>;

/// A non-negative integer amount: a JSON integer, or a string of decimal digits
/// (`opentoken_core::field::amount`). At most i64::MAX and at most the total supply.
pub(crate) fn amount_field(payload: &Map<String, Value>, name: &str, state: &dyn StateRead) -> Result<u64, Reject> {
    let parsed = opentoken_core::field::amount(payload, name, "base units")?;
    let supply = amount(state, SUPPLY);
    if parsed > supply {
        return Err(Reject::new(
            RejectCode::Overflow,
            format!("`{name}` {parsed} exceeds the total supply {supply}"),
        ));
    }
    Ok(parsed)
}

/// An amount that must move something: 0 is refused where it would be a no-op.
pub(crate) fn positive(amt: u64) -> Result<u64, Reject> {
    if amt == 0 {
        Err(Reject::field("amount must be greater than 0"))
    } else {
        Ok(amt)
    }
}

/// An optional boolean.
pub(crate) fn bool_field(payload: &Map<String, Value>, name: &str) -> Result<Option<bool>, Reject> {
    match payload.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(Reject::field(format!(
            "`{name}` must be true or false, got {}",
            kind(other)
        ))),
    }
}

/// A recipient: a valid Hive account name that is not the sender.
pub(crate) fn recipient_field(payload: &Map<String, Value>, name: &str, from: &str) -> Result<String, Reject> {
    let to = match payload.get(name) {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(Reject::field(format!(
                "`{name}` must be an account name, got {}",
                kind(other)
            )))
        }
        None => return Err(Reject::field(format!("`{name}` is missing"))),
    };
    if !is_valid_account_name(to) {
        return Err(Reject::new(
            RejectCode::InvalidAccount,
            format!("{to:?} is not a valid Hive account name"),
        ));
    }
    if to == from {
        return Err(Reject::new(
            RejectCode::InvalidAccount,
            format!("`{name}` must not be the sender (@{from})"),
        ));
    }
    Ok(to.clone())
}
