//! opentoken's wire and storage encoding: Avro single-object encoding of block records,
//! module messages, state events, op statuses and consensus reports, with the schemas in
//! `schemas/*.avsc`.
//!
//! Why Avro single-object encoding (DESIGN.md, Records and schemas): every record names the
//! schema that wrote it by fingerprint, so any Avro reader can decode our Kafka topics and
//! stored events with the published schemas, and records written by an older schema version
//! keep decoding after the schema evolves (Avro resolution, old writer -> new reader). The
//! decoder knows every writer schema we ever published (current + `schemas/history/`) and
//! rejects unknown fingerprints instead of guessing.
//!
//! Encoding builds explicit Avro values field by field, so the bytes of a record are a
//! function of the record alone (golden tests pin them). Decoding never panics, whatever the
//! input.

use std::sync::LazyLock;
use thiserror::Error;

mod bounded;
mod direct;
mod records;
mod report;
pub mod single_object;
pub mod value;
mod wire;

pub use report::{ModuleHash, Report, REPORT_SIGNING_DOMAIN};
pub use single_object::{SingleObjectCodec, MAX_RECORD_BYTES};

use opentoken_core::{BlockRecord, EventRecord, Message, ModuleCheckpoint, OpStatus};

/// Why bytes could not be decoded (or, for [`SingleObjectCodec`] users, encoded).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CodecError {
    #[error("{what}: {len} bytes is too short for an Avro single-object record (10-byte header); the data is truncated or not an opentoken record")]
    TooShort { what: &'static str, len: usize },
    #[error("{what}: bytes start with {found:02x?}, not the Avro single-object marker c3 01; the data is not an opentoken record (or was written by an incompatible version)")]
    NotSingleObject { what: &'static str, found: [u8; 2] },
    #[error("{what}: unknown writer schema fingerprint {fingerprint:016x} (known: {known:016x?}); it was written by a newer or foreign schema: upgrade this node or add the writer schema to schemas/history")]
    UnknownSchema {
        what: &'static str,
        fingerprint: u64,
        known: Vec<u64>,
    },
    #[error("{what}: {len} bytes is more than the {max} bytes any opentoken record may have; the data is not an opentoken record")]
    TooLarge { what: &'static str, len: usize, max: usize },
    #[error(
        "{what}: {detail}; the record is corrupt or forged, and was refused before decoding allocated anything for it"
    )]
    Oversized { what: &'static str, detail: String },
    #[error("{what}: Avro datum does not decode with its writer schema: {detail}; the record is corrupt")]
    Avro { what: &'static str, detail: String },
    #[error("{what}: {count} bytes left after the Avro datum; the record is corrupt or framed wrongly")]
    TrailingBytes { what: &'static str, count: usize },
    #[error("{what}: decoded value does not fit the record type: {detail}")]
    Shape { what: &'static str, detail: String },
    #[error("{what}: value does not match its schema: {detail} (a bug in the code that built the value)")]
    Encode { what: &'static str, detail: String },
    #[error("{what}: schema does not parse: {detail}")]
    Schema { what: &'static str, detail: String },
}

/// A schema file of this crate, relative to the repository root, with the text compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaFile {
    /// Path relative to the repository root, e.g. `schemas/block_record.avsc`.
    pub path: &'static str,
    /// The file's content as compiled into this binary.
    pub text: &'static str,
    /// `true` for a schema records are written with; `false` for a historical writer schema
    /// that is only read.
    pub current: bool,
}

const BLOCK_RECORD: &str = include_str!("../../../schemas/block_record.avsc");
const BLOCK_RECORD_V1: &str = include_str!("../../../schemas/history/block_record.v1.avsc");
const MODULE_MESSAGE: &str = include_str!("../../../schemas/module_message.avsc");
const STATE_EVENT: &str = include_str!("../../../schemas/state_event.avsc");
const OP_STATUS: &str = include_str!("../../../schemas/op_status.avsc");
const REPORT: &str = include_str!("../../../schemas/report.avsc");
const MODULE_CHECKPOINT: &str = include_str!("../../../schemas/module_checkpoint.avsc");
const MESSAGE_BATCH: &str = include_str!("../../../schemas/message_batch.avsc");

/// Every schema file this crate uses (current and historical writer schemas). The
/// `token_event.avsc` of the token module is not among them: modules own their event schemas
/// and use [`SingleObjectCodec`] for them.
pub fn schema_files() -> &'static [SchemaFile] {
    const FILES: &[SchemaFile] = &[
        SchemaFile {
            path: "schemas/block_record.avsc",
            text: BLOCK_RECORD,
            current: true,
        },
        SchemaFile {
            path: "schemas/history/block_record.v1.avsc",
            text: BLOCK_RECORD_V1,
            current: false,
        },
        SchemaFile {
            path: "schemas/module_message.avsc",
            text: MODULE_MESSAGE,
            current: true,
        },
        SchemaFile {
            path: "schemas/state_event.avsc",
            text: STATE_EVENT,
            current: true,
        },
        SchemaFile {
            path: "schemas/op_status.avsc",
            text: OP_STATUS,
            current: true,
        },
        SchemaFile {
            path: "schemas/report.avsc",
            text: REPORT,
            current: true,
        },
        SchemaFile {
            path: "schemas/module_checkpoint.avsc",
            text: MODULE_CHECKPOINT,
            current: true,
        },
        SchemaFile {
            path: "schemas/message_batch.avsc",
            text: MESSAGE_BATCH,
            current: true,
        },
    ];
    FILES
}

/// Builds a codec from compiled-in schema text. The texts are constants of this crate, and
/// the tests parse every one, so failure here is a build defect, not an input condition.
fn compiled(what: &'static str, current: &'static str, history: &[&'static str]) -> SingleObjectCodec {
    match SingleObjectCodec::new(what, current, history) {
        Ok(c) => c,
        Err(e) => panic!("compiled-in schema is broken (fix schemas/ and rebuild): {e}"),
    }
}

static BLOCK: LazyLock<SingleObjectCodec> =
    LazyLock::new(|| compiled("block record", BLOCK_RECORD, &[BLOCK_RECORD_V1]));
static MESSAGE: LazyLock<SingleObjectCodec> = LazyLock::new(|| compiled("module message", MODULE_MESSAGE, &[]));
static EVENT: LazyLock<SingleObjectCodec> = LazyLock::new(|| compiled("state event", STATE_EVENT, &[]));
static STATUS: LazyLock<SingleObjectCodec> = LazyLock::new(|| compiled("op status", OP_STATUS, &[]));
static REPORTS: LazyLock<SingleObjectCodec> = LazyLock::new(|| compiled("report", REPORT, &[]));
static BATCHES: LazyLock<SingleObjectCodec> = LazyLock::new(|| compiled("message batch", MESSAGE_BATCH, &[]));
static CHECKPOINTS: LazyLock<SingleObjectCodec> =
    LazyLock::new(|| compiled("module checkpoint", MODULE_CHECKPOINT, &[]));

/// The block record codec (current schema plus history), e.g. for tools that inspect topics.
pub fn block_record_codec() -> &'static SingleObjectCodec {
    &BLOCK
}
/// The module message codec.
pub fn message_codec() -> &'static SingleObjectCodec {
    &MESSAGE
}
/// The state event envelope codec.
pub fn event_record_codec() -> &'static SingleObjectCodec {
    &EVENT
}
/// The op status codec.
pub fn op_status_codec() -> &'static SingleObjectCodec {
    &STATUS
}
/// The consensus report codec.
pub fn report_codec() -> &'static SingleObjectCodec {
    &REPORTS
}

/// Encodes a value that this crate built from a typed record. The builders in `records`
/// produce exactly the shapes of the compiled-in schemas for every possible input (property
/// tests cover the whole input space), so a failure is a defect of this crate.
fn encode_built(codec: &SingleObjectCodec, v: apache_avro::types::Value) -> Vec<u8> {
    match codec.encode(v) {
        Ok(b) => b,
        Err(e) => panic!("opentoken-codec built a value that does not match its own schema: {e}"),
    }
}

/// A record of the current schema written by a purpose-written writer (`wire`), framed as
/// a single object.
fn encode_wire<T>(codec: &SingleObjectCodec, r: &T, write: fn(&T, &mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(&single_object::MAGIC);
    out.extend_from_slice(&codec.fingerprint().to_le_bytes());
    write(r, &mut out);
    out
}

/// Reads a record of the current schema with its purpose-written reader; anything else (an
/// older writer schema, a header or datum the reader refuses) goes through the codec, which
/// gives the same record or the error that names what is wrong.
fn decode_wire<T>(
    codec: &SingleObjectCodec,
    bytes: &[u8],
    read: fn(&[u8]) -> Result<T, direct::DirectError>,
    slow: impl FnOnce(&[u8]) -> Result<T, CodecError>,
) -> Result<T, CodecError> {
    let current = bytes.len() >= single_object::HEADER_LEN
        && bytes.len() <= MAX_RECORD_BYTES
        && bytes[..2] == single_object::MAGIC
        && bytes[2..single_object::HEADER_LEN] == codec.fingerprint().to_le_bytes();
    if current {
        if let Ok(r) = read(&bytes[single_object::HEADER_LEN..]) {
            return Ok(r);
        }
    }
    slow(bytes)
}

/// The record the ingester publishes to a module topic, one per block or empty range.
pub fn encode_block_record(r: &BlockRecord) -> Vec<u8> {
    encode_wire(&BLOCK, r, wire::block_record)
}

/// Decodes a block record written with the current or any historical schema.
pub fn decode_block_record(bytes: &[u8]) -> Result<BlockRecord, CodecError> {
    decode_wire(&BLOCK, bytes, wire::block_record_from, decode_block_record_via_values)
}

/// [`decode_block_record`] through the schema-driven path, for the tests that compare the two.
#[doc(hidden)]
pub fn decode_block_record_via_values(bytes: &[u8]) -> Result<BlockRecord, CodecError> {
    records::block_record_from(&BLOCK.decode(bytes)?)
}

/// [`encode_block_record`] through the schema-driven path (the same bytes).
#[doc(hidden)]
pub fn encode_block_record_via_values(r: &BlockRecord) -> Vec<u8> {
    encode_built(&BLOCK, records::block_record(r))
}

/// A module message as the store keeps it until delivery (and as a Kafka record).
pub fn encode_message(m: &Message) -> Vec<u8> {
    encode_wire(&MESSAGE, m, wire::message)
}

/// [`encode_message`] through the schema-driven path (the same bytes).
#[doc(hidden)]
pub fn encode_message_via_values(m: &Message) -> Vec<u8> {
    encode_built(&MESSAGE, records::message(m))
}

/// [`decode_message`] through the schema-driven path.
#[doc(hidden)]
pub fn decode_message_via_values(bytes: &[u8]) -> Result<Message, CodecError> {
    records::message_from(&MESSAGE.decode(bytes)?)
}

/// Decodes a module message.
pub fn decode_message(bytes: &[u8]) -> Result<Message, CodecError> {
    decode_wire(&MESSAGE, bytes, wire::message_from, decode_message_via_values)
}

/// The envelope of a persisted state event (the module's own event bytes inside).
pub fn encode_event_record(e: &EventRecord) -> Vec<u8> {
    encode_wire(&EVENT, e, wire::event_record)
}

/// [`encode_event_record`] through the schema-driven path (the same bytes).
#[doc(hidden)]
pub fn encode_event_record_via_values(e: &EventRecord) -> Vec<u8> {
    encode_built(&EVENT, records::event_record(e))
}

/// [`decode_event_record`] through the schema-driven path.
#[doc(hidden)]
pub fn decode_event_record_via_values(bytes: &[u8]) -> Result<EventRecord, CodecError> {
    records::event_record_from(&EVENT.decode(bytes)?)
}

/// Decodes a state event envelope.
pub fn decode_event_record(bytes: &[u8]) -> Result<EventRecord, CodecError> {
    decode_wire(&EVENT, bytes, wire::event_record_from, decode_event_record_via_values)
}

/// The outcome of one op, as the store keeps it for `/api/status/:txid`.
pub fn encode_op_status(s: &OpStatus) -> Vec<u8> {
    encode_wire(&STATUS, s, wire::op_status)
}

/// [`encode_op_status`] through the schema-driven path (the same bytes).
#[doc(hidden)]
pub fn encode_op_status_via_values(s: &OpStatus) -> Vec<u8> {
    encode_built(&STATUS, records::op_status(s))
}

/// [`decode_op_status`] through the schema-driven path.
#[doc(hidden)]
pub fn decode_op_status_via_values(bytes: &[u8]) -> Result<OpStatus, CodecError> {
    records::op_status_from(&STATUS.decode(bytes)?)
}

/// Decodes an op status.
pub fn decode_op_status(bytes: &[u8]) -> Result<OpStatus, CodecError> {
    decode_wire(&STATUS, bytes, wire::op_status_from, decode_op_status_via_values)
}

/// A signed consensus report, as published on the reports topic.
pub fn encode_report(r: &Report) -> Vec<u8> {
    encode_built(&REPORTS, report::report(r))
}

/// Decodes a consensus report (the signature is checked by the checkpointer, not here).
pub fn decode_report(bytes: &[u8]) -> Result<Report, CodecError> {
    report::report_from(&REPORTS.decode(bytes)?)
}

/// A module's checkpoint hash, as processors publish it to the checkpoints topic.
pub fn encode_module_checkpoint(c: &ModuleCheckpoint) -> Vec<u8> {
    encode_built(
        &CHECKPOINTS,
        value::record(vec![
            ("module", apache_avro::types::Value::String(c.module.clone())),
            ("block", value::long_u64(c.block)),
            ("hash", apache_avro::types::Value::Fixed(32, c.hash.to_vec())),
        ]),
    )
}

pub fn decode_module_checkpoint(bytes: &[u8]) -> Result<ModuleCheckpoint, CodecError> {
    let v = CHECKPOINTS.decode(bytes)?;
    let f = value::Fields::of("module checkpoint", &v)?;
    Ok(ModuleCheckpoint {
        module: f.string("module")?,
        block: f.u64("block")?,
        hash: f.fixed::<32>("hash")?,
    })
}

/// Module messages crossing processes (`<community>.messages.<to>`), with the sender's
/// progress and quiet promise (see `schemas/message_batch.avsc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBatch {
    pub from: String,
    pub to: String,
    pub through_block: u64,
    pub quiet_through: u64,
    pub messages: Vec<Message>,
}

pub fn encode_message_batch(b: &MessageBatch) -> Vec<u8> {
    use apache_avro::types::Value;
    encode_built(
        &BATCHES,
        value::record(vec![
            ("from", Value::String(b.from.clone())),
            ("to", Value::String(b.to.clone())),
            ("through_block", value::long_u64(b.through_block)),
            ("quiet_through", value::long_u64(b.quiet_through)),
            (
                "messages",
                Value::Array(b.messages.iter().map(records::message).collect()),
            ),
        ]),
    )
}

pub fn decode_message_batch(bytes: &[u8]) -> Result<MessageBatch, CodecError> {
    use apache_avro::types::Value;
    const WHAT: &str = "message batch";
    let v = BATCHES.decode(bytes)?;
    let f = value::Fields::of(WHAT, &v)?;
    let messages = match f.get("messages")? {
        Value::Array(items) => items.iter().map(records::message_from).collect::<Result<Vec<_>, _>>()?,
        other => {
            return Err(CodecError::Shape {
                what: WHAT,
                detail: format!("messages is {other:?}, not an array"),
            })
        }
    };
    Ok(MessageBatch {
        from: f.string("from")?,
        to: f.string("to")?,
        through_block: f.u64("through_block")?,
        quiet_through: f.u64("quiet_through")?,
        messages,
    })
}

/// The schema file (stem under `schemas/`) a single-object record was written with, found
/// by its fingerprint; what the Kafka backend puts in the `opentoken.schema` header so that
/// a reader with only `schemas/` knows which file decodes a record.
pub fn schema_name_of(bytes: &[u8]) -> Option<&'static str> {
    let fp = u64::from_le_bytes(bytes.get(2..10)?.try_into().ok()?);
    if bytes.first() != Some(&0xC3) || bytes.get(1) != Some(&0x01) {
        return None;
    }
    let codecs: [(&SingleObjectCodec, &'static str); 7] = [
        (&CHECKPOINTS, "module_checkpoint"),
        (&BATCHES, "message_batch"),
        (&BLOCK, "block_record"),
        (&MESSAGE, "module_message"),
        (&EVENT, "state_event"),
        (&STATUS, "op_status"),
        (&REPORTS, "report"),
    ];
    codecs
        .into_iter()
        .find(|(c, _)| c.writer_schema(fp).is_some())
        .map(|(_, name)| name)
}

#[cfg(test)]
mod schema_name_tests {
    use super::*;

    #[test]
    fn records_name_their_schema_file_and_checkpoints_round_trip() {
        let c = ModuleCheckpoint {
            module: "token".into(),
            block: 1200,
            hash: [7; 32],
        };
        let bytes = encode_module_checkpoint(&c);
        assert_eq!(schema_name_of(&bytes), Some("module_checkpoint"));
        assert_eq!(decode_module_checkpoint(&bytes).ok(), Some(c));
        assert_eq!(schema_name_of(b"not avro at all"), None);
        let batch = MessageBatch {
            from: "token".into(),
            to: "nodes".into(),
            through_block: 120,
            quiet_through: 199,
            messages: vec![Message {
                from: "token".into(),
                to: "nodes".into(),
                pos: opentoken_core::ChainPos::new(117, 2, 0),
                seq: 3,
                kind: "gov_added".into(),
                payload: "{\"account\":\"alice\",\"amount\":5}".into(),
            }],
        };
        let bytes = encode_message_batch(&batch);
        assert_eq!(schema_name_of(&bytes), Some("message_batch"));
        assert_eq!(decode_message_batch(&bytes).ok(), Some(batch));
        let mut unknown = bytes.clone();
        unknown[5] ^= 0xff;
        assert_eq!(schema_name_of(&unknown), None);
        assert!(decode_module_checkpoint(&unknown).is_err());
    }
}
