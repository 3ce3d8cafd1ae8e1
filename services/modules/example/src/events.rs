//! The guestbook's events: what `handle` decides, what `apply` writes, and what the store
//! keeps, Avro single-object encoded with `schemas/guestbook_event.avsc` so that any Avro
//! reader can decode them without opentoken's code.

use apache_avro::types::Value;
use opentoken_codec::value::{record, Fields};
use opentoken_codec::{CodecError, SingleObjectCodec};
use opentoken_core::{ModuleEvent, StateWrite};
use std::sync::OnceLock;

/// A state change of the guestbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestbookEvent {
    /// `account`'s entry is now `message`.
    Signed { account: String, message: String },
}

/// The schema compiled in; a test checks that it is the file under `schemas/`.
pub const SCHEMA: &str = include_str!("../../../../schemas/guestbook_event.avsc");

/// The state key of `account`'s entry.
pub fn entry_key(account: &str) -> Vec<u8> {
    format!("entry/{account}").into_bytes()
}

fn codec() -> Result<&'static SingleObjectCodec, CodecError> {
    static CODEC: OnceLock<Result<SingleObjectCodec, CodecError>> = OnceLock::new();
    CODEC
        .get_or_init(|| SingleObjectCodec::new("guestbook event", SCHEMA, &[]))
        .as_ref()
        .map_err(Clone::clone)
}

impl GuestbookEvent {
    /// Writes the event to state. Total: every event `handle` produced applies.
    pub fn apply(&self, state: &mut dyn StateWrite) {
        match self {
            GuestbookEvent::Signed { account, message } => {
                state.put(entry_key(account), message.as_bytes().to_vec());
            }
        }
    }

    /// The event as the schema's record: a union with one branch per event, in schema
    /// order (a new event is a new branch at the end, a compatible schema change).
    fn to_value(&self) -> Value {
        let (branch, body) = match self {
            GuestbookEvent::Signed { account, message } => (
                0,
                record(vec![
                    ("account", Value::String(account.clone())),
                    ("message", Value::String(message.clone())),
                ]),
            ),
        };
        record(vec![("event", Value::Union(branch, Box::new(body)))])
    }
}

impl ModuleEvent for GuestbookEvent {
    type CodecError = CodecError;

    fn kind(&self) -> &'static str {
        match self {
            GuestbookEvent::Signed { .. } => "Signed",
        }
    }

    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec()?.encode(self.to_value())
    }

    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let v = codec()?.decode(bytes)?;
        let (branch, body) = Fields::of("guestbook event", &v)?.union("event")?;
        let f = Fields::of("guestbook event", body)?;
        match branch {
            0 => Ok(GuestbookEvent::Signed {
                account: f.string("account")?,
                message: f.string("message")?,
            }),
            other => Err(CodecError::Shape {
                what: "guestbook event",
                detail: format!("unknown event branch {other}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::test_utils::assert_event_codec;

    #[test]
    fn every_variant_round_trips_through_avro() {
        let signed = GuestbookEvent::Signed {
            account: "alice".into(),
            message: "hello from the guestbook ✓".into(),
        };
        assert_event_codec(
            &[signed],
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../schemas/guestbook_event.avsc"),
            SCHEMA,
        );
    }
}
