//! Avro single-object encoding (`0xC3 0x01`, 8-byte little-endian CRC-64-AVRO fingerprint of
//! the writer schema's parsing canonical form, then the binary datum) with a registry of
//! writer schemas.
//!
//! Why single-object encoding: every record carries the fingerprint of the schema that wrote
//! it, so any Avro reader that knows our schemas (they are in `schemas/`) can decode a Kafka
//! record or a stored event without our code, and our own reader can resolve records written
//! by an older schema version into the current one (Avro schema resolution).

use crate::CodecError;
use apache_avro::rabin::Rabin;
use apache_avro::types::Value;
use apache_avro::Schema;
use std::sync::Once;

/// The two marker bytes every single-object encoded record starts with.
pub const MAGIC: [u8; 2] = [0xC3, 0x01];
/// Marker plus fingerprint.
pub const HEADER_LEN: usize = 10;

/// Upper bound on what the Avro decoder may allocate for one length-prefixed item while
/// decoding. Arbitrary input can claim a string of 2^62 bytes; the default limit of
/// apache-avro (512 MiB) would let it allocate that much before failing. No opentoken record
/// is anywhere near 64 MiB (a Hive block is at most 2 MiB).
pub const MAX_ALLOCATION_BYTES: usize = 64 * 1024 * 1024;

/// The largest single-object record [`SingleObjectCodec::decode`] accepts. A Hive block is
/// at most 2 MiB, and a record holds at most the routed operations of one block (a message
/// batch, a span of messages; Kafka's default record limit is 1 MiB); so a record larger
/// than this is not one of ours, and refusing it bounds what decoding it could allocate
/// (apache-avro's `Value`s take a few dozen bytes per encoded byte at worst).
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

static ALLOCATION_LIMIT: Once = Once::new();

/// Appended behind the datum while decoding; see [`SingleObjectCodec::decode`].
const SENTINEL: u8 = 0;

/// Sets apache-avro's process-wide allocation limit before the first decode. The limit can be
/// set only once per process; whichever caller sets it first wins, so this is a no-op when
/// another part of the process set it already.
pub(crate) fn limit_allocations() {
    ALLOCATION_LIMIT.call_once(|| {
        apache_avro::max_allocation_bytes(MAX_ALLOCATION_BYTES);
    });
}

/// The CRC-64-AVRO (Rabin) fingerprint of a schema's parsing canonical form, as the u64 whose
/// little-endian bytes follow the marker.
pub fn fingerprint(schema: &Schema) -> u64 {
    let fp = schema.fingerprint::<Rabin>();
    let mut b = [0u8; 8];
    // Rabin always yields 8 bytes; copy defensively so a change upstream cannot panic here.
    for (dst, src) in b.iter_mut().zip(fp.bytes.iter()) {
        *dst = *src;
    }
    u64::from_le_bytes(b)
}

/// The canonical forms of the union branches in a module event schema's first field (the
/// record wrapping one event of many), in order: `None` for any other shape. Schema
/// evolution tests compare two versions with it, since a union may only grow at its end.
pub fn event_union_branches(schema: &Schema) -> Option<Vec<String>> {
    let Schema::Record(r) = schema else {
        return None;
    };
    let Schema::Union(u) = &r.fields.first()?.schema else {
        return None;
    };
    Some(u.variants().iter().map(Schema::canonical_form).collect())
}

/// One record type: the schema this code writes and reads into, plus every older writer
/// schema it still accepts.
#[derive(Debug, Clone)]
pub struct SingleObjectCodec {
    what: &'static str,
    current: Schema,
    current_fp: u64,
    history: Vec<(u64, Schema)>,
    writer: CachedWriter,
    /// The current schema and each historical one with their names resolved, for the
    /// direct encoder and decoder (`None` where apache-avro's own path is kept).
    direct: Option<crate::direct::Resolved>,
    direct_history: Vec<Option<crate::direct::Resolved>>,
}

/// A single-object writer of the current schema, built once: apache-avro's
/// `to_avro_datum` resolves the schema's names on every call, which cost more than the
/// state machines themselves (every event, status and record is encoded). The writer keeps
/// the resolved schema and still validates each value; it writes the same bytes (marker,
/// Rabin fingerprint, datum).
#[derive(Default)]
struct CachedWriter(std::sync::Mutex<Option<apache_avro::GenericSingleObjectWriter>>);

impl std::fmt::Debug for CachedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CachedWriter")
    }
}

/// A clone builds its own writer on first use.
impl Clone for CachedWriter {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl CachedWriter {
    /// Encodes `value` with the cached writer of `schema`; `None` when no writer can be built
    /// (the caller falls back to the uncached path). A writer whose write failed is dropped,
    /// so a half-written buffer never reaches the next record.
    fn encode(&self, schema: &Schema, value: &Value) -> Option<Result<Vec<u8>, apache_avro::Error>> {
        let mut slot = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            *slot = apache_avro::GenericSingleObjectWriter::new_with_capacity(schema, 256).ok();
        }
        let writer = slot.as_mut()?;
        let mut out = Vec::with_capacity(256);
        match writer.write_value_ref(value, &mut out) {
            Ok(_) => Some(Ok(out)),
            Err(e) => {
                *slot = None;
                Some(Err(e))
            }
        }
    }
}

impl SingleObjectCodec {
    /// Parses the current schema and the historical writer schemas (oldest first).
    /// `what` names the record type in errors ("block record", "token event", ...).
    pub fn new(what: &'static str, current: &str, history: &[&str]) -> Result<Self, CodecError> {
        let parse = |text: &str| {
            Schema::parse_str(text).map_err(|e| CodecError::Schema {
                what,
                detail: e.to_string(),
            })
        };
        let current = parse(current)?;
        let current_fp = fingerprint(&current);
        let mut hist = Vec::with_capacity(history.len());
        for text in history {
            let s = parse(text)?;
            let fp = fingerprint(&s);
            if fp != current_fp && !hist.iter().any(|(f, _)| *f == fp) {
                hist.push((fp, s));
            }
        }
        let direct = crate::direct::Resolved::new(&current);
        let direct_history = hist.iter().map(|(_, s)| crate::direct::Resolved::new(s)).collect();
        Ok(Self {
            what,
            current,
            current_fp,
            history: hist,
            writer: CachedWriter::default(),
            direct,
            direct_history,
        })
    }

    /// What this codec encodes, for error messages.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The schema records are written with and resolved into.
    pub fn schema(&self) -> &Schema {
        &self.current
    }

    /// Fingerprint of the current schema.
    pub fn fingerprint(&self) -> u64 {
        self.current_fp
    }

    /// Fingerprints of every writer schema this codec decodes (current first).
    pub fn known_fingerprints(&self) -> Vec<u64> {
        std::iter::once(self.current_fp)
            .chain(self.history.iter().map(|(fp, _)| *fp))
            .collect()
    }

    /// The writer schema with this fingerprint, if known.
    pub fn writer_schema(&self, fp: u64) -> Option<&Schema> {
        if fp == self.current_fp {
            return Some(&self.current);
        }
        self.history.iter().find(|(f, _)| *f == fp).map(|(_, s)| s)
    }

    /// Encodes a value of the current schema. Fails only when `value` does not match the
    /// schema, which for the record types of this crate is a bug in this crate.
    pub fn encode(&self, value: Value) -> Result<Vec<u8>, CodecError> {
        if let Some(direct) = &self.direct {
            let mut out = Vec::with_capacity(128);
            out.extend_from_slice(&MAGIC);
            out.extend_from_slice(&self.current_fp.to_le_bytes());
            match direct.encode(&value, &mut out) {
                Ok(()) => return Ok(out),
                Err(crate::direct::DirectError::Unsupported(_)) => {}
                Err(e) => {
                    return Err(CodecError::Encode {
                        what: self.what,
                        detail: e.to_string(),
                    })
                }
            }
        }
        match self.writer.encode(&self.current, &value) {
            Some(Ok(bytes)) => Ok(bytes),
            Some(Err(e)) => Err(CodecError::Encode {
                what: self.what,
                detail: e.to_string(),
            }),
            None => self.encode_with(&self.current, self.current_fp, value),
        }
    }

    /// Encodes with an explicit (e.g. historical) writer schema; used by evolution tests and
    /// by tools that must produce old records.
    pub fn encode_with_writer(&self, writer: &Schema, value: Value) -> Result<Vec<u8>, CodecError> {
        self.encode_with(writer, fingerprint(writer), value)
    }

    fn encode_with(&self, schema: &Schema, fp: u64, value: Value) -> Result<Vec<u8>, CodecError> {
        let datum = apache_avro::to_avro_datum(schema, value).map_err(|e| CodecError::Encode {
            what: self.what,
            detail: e.to_string(),
        })?;
        let mut out = Vec::with_capacity(HEADER_LEN + datum.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&fp.to_le_bytes());
        out.extend_from_slice(&datum);
        Ok(out)
    }

    /// Decodes a single-object encoded record into a value of the current schema, resolving
    /// it from its writer schema when that is an older one. Never panics on any input, and
    /// allocates at most a small multiple of the record's size (at most
    /// [`MAX_RECORD_BYTES`]) whatever lengths the record claims.
    pub fn decode(&self, bytes: &[u8]) -> Result<Value, CodecError> {
        self.decode_via(bytes, true)
    }

    /// [`decode`](Self::decode) through apache-avro's own reader, for the tests that compare
    /// the direct reader with it.
    #[doc(hidden)]
    pub fn decode_with_apache_avro(&self, bytes: &[u8]) -> Result<Value, CodecError> {
        self.decode_via(bytes, false)
    }

    /// [`encode`](Self::encode) through apache-avro's own writer (same bytes), for the tests
    /// that compare the direct writer with it.
    #[doc(hidden)]
    pub fn encode_with_apache_avro(&self, value: Value) -> Result<Vec<u8>, CodecError> {
        self.encode_with(&self.current, self.current_fp, value)
    }

    fn decode_via(&self, bytes: &[u8], use_direct: bool) -> Result<Value, CodecError> {
        let what = self.what;
        if bytes.len() < HEADER_LEN {
            return Err(CodecError::TooShort { what, len: bytes.len() });
        }
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(CodecError::TooLarge {
                what,
                len: bytes.len(),
                max: MAX_RECORD_BYTES,
            });
        }
        if bytes[..2] != MAGIC {
            return Err(CodecError::NotSingleObject {
                what,
                found: [bytes[0], bytes[1]],
            });
        }
        let mut fp = [0u8; 8];
        fp.copy_from_slice(&bytes[2..HEADER_LEN]);
        let fp = u64::from_le_bytes(fp);
        let writer = self.writer_schema(fp).ok_or(CodecError::UnknownSchema {
            what,
            fingerprint: fp,
            known: self.known_fingerprints(),
        })?;
        limit_allocations();
        // Every length and item count must fit in the bytes that follow it, before
        // apache-avro reserves memory for it.
        crate::bounded::check(what, writer, &bytes[HEADER_LEN..])?;
        let direct = if fp == self.current_fp {
            self.direct.as_ref()
        } else {
            self.history
                .iter()
                .position(|(f, _)| *f == fp)
                .and_then(|i| self.direct_history.get(i))
                .and_then(Option::as_ref)
        };
        let decoded = match direct.filter(|_| use_direct).map(|d| d.decode(&bytes[HEADER_LEN..])) {
            Some(Ok((_, rest))) if rest > 0 => return Err(CodecError::TrailingBytes { what, count: rest }),
            Some(Ok((value, _))) => Some(value),
            Some(Err(crate::direct::DirectError::Unsupported(_))) | None => None,
            Some(Err(e)) => {
                return Err(CodecError::Avro {
                    what,
                    detail: e.to_string(),
                })
            }
        };
        let value = match decoded {
            Some(value) => value,
            None => self.decode_datum_with_apache_avro(writer, &bytes[HEADER_LEN..])?,
        };
        if fp == self.current_fp {
            return Ok(value);
        }
        resolve_by_name(value, writer, &self.current, &self.current).map_err(|e| CodecError::Avro {
            what,
            detail: format!("cannot resolve writer schema {fp:016x} into the current schema: {e}"),
        })
    }

    /// One datum of `writer` through apache-avro's reader (schemas the direct reader leaves
    /// to it, and the tests that compare the two).
    fn decode_datum_with_apache_avro(&self, writer: &Schema, datum: &[u8]) -> Result<Value, CodecError> {
        let what = self.what;
        // apache-avro turns an end of input inside a union index, a boolean or a string into
        // a null instead of an error (a leniency for files), which would let a truncated
        // record decode as a different one. Decode from the datum plus one sentinel byte: a
        // well-formed datum leaves exactly the sentinel unread, and any read that reached the
        // real end of the datum consumed the sentinel instead of hitting end of input.
        let mut framed = Vec::with_capacity(datum.len() + 1);
        framed.extend_from_slice(datum);
        framed.push(SENTINEL);
        let mut rest = framed.as_slice();
        let value = apache_avro::from_avro_datum(writer, &mut rest, None).map_err(|e| CodecError::Avro {
            what,
            detail: e.to_string(),
        })?;
        match rest.len() {
            1 => {}
            0 => {
                return Err(CodecError::Avro {
                    what,
                    detail: "datum ends early (truncated record)".into(),
                })
            }
            n => return Err(CodecError::TrailingBytes { what, count: n - 1 }),
        }
        if !value.validate(writer) {
            return Err(CodecError::Avro {
                what,
                detail: "decoded datum does not match its writer schema (truncated or corrupt record)".into(),
            });
        }
        Ok(value)
    }
}

/// Resolves `value` (written with `writer`) into `reader` the way the Avro specification
/// says for unions of named types: the writer's branch is matched to the reader's branch of
/// the same full name (or, failing that, the one that names it among its aliases), then
/// resolved into it, also where the union is a field of a record
/// whose fields are the same in both (a module's event: a record holding the union).
/// apache-avro's own `Value::resolve` picks the first reader branch the value happens to
/// fit, so a union grown by a branch could read an old `WithdrawalQueued` as a `Deposited`
/// of the same shape. Anything else is left to apache-avro.
/// `root` is the whole reader schema, where named types a branch refers to are defined.
fn resolve_by_name(value: Value, writer: &Schema, reader: &Schema, root: &Schema) -> Result<Value, String> {
    if let (Value::Record(fields), Schema::Record(w), Schema::Record(r)) = (&value, writer, reader) {
        let same_fields = w.fields.len() == r.fields.len()
            && w.fields.iter().zip(&r.fields).all(|(a, b)| a.name == b.name)
            && fields.len() == w.fields.len();
        if same_fields {
            let mut out = Vec::with_capacity(fields.len());
            for ((name, v), (wf, rf)) in fields.iter().zip(w.fields.iter().zip(&r.fields)) {
                out.push((name.clone(), resolve_by_name(v.clone(), &wf.schema, &rf.schema, root)?));
            }
            return Ok(Value::Record(out));
        }
    }
    if let (Value::Union(index, inner), Schema::Union(w), Schema::Union(r)) = (&value, writer, reader) {
        let name_of = |s: &Schema| match s {
            Schema::Record(rec) => Some(rec.name.fullname(None)),
            Schema::Enum(e) => Some(e.name.fullname(None)),
            Schema::Fixed(f) => Some(f.name.fullname(None)),
            _ => None,
        };
        let written = w
            .variants()
            .get(*index as usize)
            .ok_or_else(|| format!("union branch {index} is not in the writer schema"))?;
        // A branch renamed since keeps its old name among its aliases (Avro's rule for
        // reading a writer's type under another name).
        let aliases_of = |s: &Schema| match s {
            Schema::Record(rec) => rec.aliases.clone().unwrap_or_default(),
            Schema::Enum(e) => e.aliases.clone().unwrap_or_default(),
            Schema::Fixed(f) => f.aliases.clone().unwrap_or_default(),
            _ => Vec::new(),
        };
        if let Some(name) = name_of(written) {
            let (j, branch) = r
                .variants()
                .iter()
                .enumerate()
                .find(|(_, s)| name_of(s).as_deref() == Some(name.as_str()))
                .or_else(|| {
                    r.variants()
                        .iter()
                        .enumerate()
                        .find(|(_, s)| aliases_of(s).iter().any(|a| a.fullname(None) == name))
                })
                .ok_or_else(|| format!("the current schema has no union branch named {name}"))?;
            let resolved = (**inner)
                .clone()
                .resolve_schemata(branch, vec![root])
                .map_err(|e| e.to_string())?;
            return Ok(Value::Union(j as u32, Box::new(resolved)));
        }
    }
    value.resolve(reader).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rabin_matches_the_avro_spec_test_vector() {
        // From the Avro specification's fingerprint test suite: "null" -> 7195948357588979594.
        let s = Schema::parse_str("\"null\"").unwrap();
        assert_eq!(fingerprint(&s), 7_195_948_357_588_979_594);
    }

    #[test]
    fn header_errors_are_named() {
        let c = SingleObjectCodec::new("test record", "\"long\"", &[]).unwrap();
        assert!(matches!(c.decode(&[0xC3]), Err(CodecError::TooShort { .. })));
        assert!(matches!(
            c.decode(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
            Err(CodecError::NotSingleObject { .. })
        ));
        assert!(matches!(
            c.decode(&[0xC3, 1, 9, 9, 9, 9, 9, 9, 9, 9, 2]),
            Err(CodecError::UnknownSchema { .. })
        ));
        let mut ok = c.encode(Value::Long(1)).unwrap();
        assert_eq!(c.decode(&ok).unwrap(), Value::Long(1));
        ok.push(0);
        assert!(matches!(c.decode(&ok), Err(CodecError::TrailingBytes { count: 1, .. })));
    }

    #[test]
    fn the_cached_writer_writes_the_uncached_bytes_and_survives_a_bad_value() {
        let schema = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"},
            {"name":"u","type":[{"type":"record","name":"X","fields":[{"name":"s","type":"string"}]},"long"]}]}"#;
        let c = SingleObjectCodec::new("test record", schema, &[]).unwrap();
        let value = |a: i64, s: &str| {
            Value::Record(vec![
                ("a".into(), Value::Long(a)),
                (
                    "u".into(),
                    Value::Union(0, Box::new(Value::Record(vec![("s".into(), Value::String(s.into()))]))),
                ),
            ])
        };
        for (a, text) in [(1, "x"), (-5, "hello ✓"), (i64::MAX, "")] {
            let cached = c.encode(value(a, text)).unwrap();
            let uncached = c.encode_with(&c.current, c.current_fp, value(a, text)).unwrap();
            assert_eq!(cached, uncached);
            assert_eq!(c.decode(&cached).unwrap(), value(a, text));
        }
        // A value that does not fit is an error, and the next record is whole.
        assert!(matches!(c.encode(Value::Long(3)), Err(CodecError::Encode { .. })));
        let after = c.encode(value(7, "after")).unwrap();
        assert_eq!(c.decode(&after).unwrap(), value(7, "after"));
    }

    #[test]
    fn bad_schema_is_an_error() {
        assert!(matches!(
            SingleObjectCodec::new("x", "{\"type\": \"nope\"}", &[]),
            Err(CodecError::Schema { .. })
        ));
    }

    #[test]
    fn a_grown_union_reads_old_records_into_the_branch_of_the_same_name() {
        let rec = |name: &str| {
            format!(
                r#"{{"type":"record","name":"{name}","namespace":"t","fields":[{{"name":"account","type":"string"}}]}}"#
            )
        };
        let v1 = format!("[{}, {}]", rec("Deposited"), rec("Withdrawn"));
        // A branch of the same shape inserted before the old second one.
        let v2 = format!("[{}, {}, {}]", rec("Deposited"), rec("Refunded"), rec("Withdrawn"));
        let old = SingleObjectCodec::new("test event", &v1, &[]).unwrap();
        let new = SingleObjectCodec::new("test event", &v2, &[&v1]).unwrap();
        let withdrawn = Value::Union(
            1,
            Box::new(Value::Record(vec![("account".into(), Value::String("alice".into()))])),
        );
        let bytes = old.encode(withdrawn.clone()).unwrap();
        match new.decode(&bytes).unwrap() {
            Value::Union(2, inner) => assert_eq!(
                *inner,
                Value::Record(vec![("account".into(), Value::String("alice".into()))])
            ),
            other => panic!("an old Withdrawn read as {other:?}"),
        }
        // The same where the union is a record's field (how module events are written).
        let wrap = |union: &str| {
            format!(
                r#"{{"type":"record","name":"Event","namespace":"t","fields":[{{"name":"event","type":{union}}}]}}"#
            )
        };
        let old_rec = SingleObjectCodec::new("test event", &wrap(&v1), &[]).unwrap();
        let new_rec = SingleObjectCodec::new("test event", &wrap(&v2), &[&wrap(&v1)]).unwrap();
        let held = Value::Record(vec![("event".into(), withdrawn.clone())]);
        let bytes_rec = old_rec.encode(held).unwrap();
        match new_rec.decode(&bytes_rec).unwrap() {
            Value::Record(f) => assert!(matches!(&f[0].1, Value::Union(2, _)), "read as {:?}", f[0].1),
            other => panic!("not a record: {other:?}"),
        }
        // A union branch the reader lost is an error, not another branch.
        let v3 = format!("[{}, {}]", rec("Deposited"), rec("Refunded"));
        let newer = SingleObjectCodec::new("test event", &v3, &[&v1]).unwrap();
        assert!(newer.decode(&bytes).is_err());
    }
}
