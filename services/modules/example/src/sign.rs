//! `sign`: an account leaves (or replaces) its entry in the guestbook.

use crate::events::GuestbookEvent;
use opentoken_core::Reject;
use serde_json::{Map, Value};

/// Longest accepted message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 280;

/// Decides `sign` by `from` with `payload` (an object: the engine rejected anything else).
/// Every rejection names the field and what is wrong with it, because the reason is what
/// the op's status shows its sender.
pub fn decide(from: &str, payload: &Map<String, Value>) -> Result<Vec<GuestbookEvent>, Reject> {
    let message = match payload.get("message") {
        None => return Err(Reject::field("`message` is required")),
        Some(Value::String(s)) => s,
        Some(_) => return Err(Reject::field("`message` must be a string")),
    };
    let chars = message.chars().count();
    if chars == 0 {
        return Err(Reject::field("`message` must not be empty"));
    }
    if chars > MAX_MESSAGE_CHARS {
        return Err(Reject::field(format!(
            "`message` is {chars} characters, at most {MAX_MESSAGE_CHARS} are allowed"
        )));
    }
    if message.chars().any(char::is_control) {
        return Err(Reject::field("`message` must not contain control characters"));
    }
    Ok(vec![GuestbookEvent::Signed {
        account: from.to_string(),
        message: message.clone(),
    }])
}
