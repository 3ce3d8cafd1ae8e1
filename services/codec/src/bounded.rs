//! A bounded pre-scan of an Avro datum against its writer schema, run before apache-avro
//! decodes it.
//!
//! Why: apache-avro 0.17 trusts every length it reads. A string or bytes length is capped
//! only by its process-wide allocation limit (it then allocates and zero-fills that many
//! bytes), and an array or map block count is `reserve`d as that many `Value`s (tens of
//! bytes each) before a single item is read, so a 20-byte record claiming 60 million items
//! reserves gigabytes. This scan walks the datum without allocating and refuses any length
//! or item count that the bytes left could not hold: a string of `n` bytes needs `n` bytes,
//! an array of `n` items needs `n` times the smallest encoding of one item (at least one
//! byte each, so that a block of zero-size items is bounded too). What apache-avro then
//! allocates is therefore bounded by a small multiple of the record's own size.
//!
//! The scan judges only sizes and nesting depth. Anything else it cannot follow (the datum
//! ends early, a union index out of range, an unresolvable name) ends the scan without a
//! verdict, and the decoder reports it as it always did.

use crate::CodecError;
use apache_avro::schema::{Name, Namespace, RecordSchema};
use apache_avro::Schema;
use std::collections::HashMap;

/// Deepest nesting of records, arrays, maps and unions a datum may have. No opentoken
/// schema nests more than 6 deep; only a recursive schema could go further, and there
/// input alone would decide how deep apache-avro recurses (a stack overflow).
pub(crate) const MAX_DEPTH: usize = 64;

/// Names of the writer schema's named types, for `Ref` lookups.
type Names<'s> = HashMap<Name, &'s Schema>;

/// Why the scan stopped early.
enum Stop {
    /// A size the datum cannot back, or nesting too deep: the record is refused.
    Refused(String),
    /// Something the decoder will report in its own words.
    NoVerdict,
}

/// Refuses `datum` when a length or item count in it claims more than the bytes left can
/// hold, or it nests deeper than [`MAX_DEPTH`]; `Ok` otherwise (including for data the
/// decoder will reject for other reasons).
pub(crate) fn check(what: &'static str, schema: &Schema, datum: &[u8]) -> Result<(), CodecError> {
    let Ok(resolved) = apache_avro::schema::ResolvedSchema::try_from(schema) else {
        return Ok(());
    };
    let mut scan = Scan {
        names: resolved.get_names().clone(),
        input: datum,
    };
    match scan.value(schema, &None, 0) {
        Ok(()) | Err(Stop::NoVerdict) => Ok(()),
        Err(Stop::Refused(detail)) => Err(CodecError::Oversized { what, detail }),
    }
}

struct Scan<'s, 'd> {
    names: Names<'s>,
    input: &'d [u8],
}

impl<'s> Scan<'s, '_> {
    fn byte(&mut self) -> Result<u8, Stop> {
        let (&b, rest) = self.input.split_first().ok_or(Stop::NoVerdict)?;
        self.input = rest;
        Ok(b)
    }

    fn skip(&mut self, n: usize) -> Result<(), Stop> {
        if n > self.input.len() {
            return Err(Stop::NoVerdict);
        }
        self.input = &self.input[n..];
        Ok(())
    }

    /// A zig-zag varint (int or long).
    fn long(&mut self) -> Result<i64, Stop> {
        let mut z = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            z |= u64::from(b & 0x7f) << (i * 7);
            if b & 0x80 == 0 {
                return Ok(((z >> 1) as i64) ^ -((z & 1) as i64));
            }
        }
        Err(Stop::NoVerdict)
    }

    /// A string or bytes length, which must fit in what is left.
    fn length(&mut self, kind: &str) -> Result<usize, Stop> {
        let len = self.long()?;
        let left = self.input.len();
        match usize::try_from(len) {
            Ok(n) if n <= left => Ok(n),
            Ok(_) => Err(Stop::Refused(format!(
                "a {kind} claims {len} bytes but only {left} bytes of the record are left"
            ))),
            Err(_) => Err(Stop::NoVerdict),
        }
    }

    /// One block count of an array or map whose items take at least `item_min` bytes each.
    fn block_count(&mut self, kind: &str, item_min: usize) -> Result<usize, Stop> {
        let raw = self.long()?;
        if raw < 0 {
            // A negative count is followed by the block's size in bytes.
            self.long()?;
        }
        let count = raw.unsigned_abs();
        let left = self.input.len();
        let need = count.saturating_mul(item_min.max(1) as u64);
        if need > left as u64 {
            return Err(Stop::Refused(format!(
                "an {kind} block claims {count} items (at least {need} bytes) but only {left} bytes of the record are left"
            )));
        }
        Ok(count as usize)
    }

    fn named(&self, name: &Name, ns: &Namespace) -> Result<&'s Schema, Stop> {
        let full = name.fully_qualified_name(ns);
        self.names.get(&full).copied().ok_or(Stop::NoVerdict)
    }

    fn value(&mut self, schema: &Schema, ns: &Namespace, depth: usize) -> Result<(), Stop> {
        if depth > MAX_DEPTH {
            return Err(Stop::Refused(format!("values nest deeper than {MAX_DEPTH} levels")));
        }
        match schema {
            Schema::Null => Ok(()),
            Schema::Boolean => self.skip(1),
            Schema::Int
            | Schema::Long
            | Schema::Date
            | Schema::TimeMillis
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos
            | Schema::Enum(_) => self.long().map(drop),
            Schema::Float => self.skip(4),
            Schema::Double => self.skip(8),
            Schema::Duration => self.skip(12),
            Schema::Fixed(f) => self.skip(f.size),
            Schema::Bytes | Schema::String | Schema::BigDecimal | Schema::Uuid => {
                let n = self.length(if matches!(schema, Schema::String) {
                    "string"
                } else {
                    "bytes value"
                })?;
                self.skip(n)
            }
            Schema::Decimal(d) => self.value(&d.inner, ns, depth + 1),
            Schema::Array(a) => {
                let min = self.min_size(&a.items, ns, 0);
                loop {
                    let n = self.block_count("array", min)?;
                    if n == 0 {
                        return Ok(());
                    }
                    for _ in 0..n {
                        self.value(&a.items, ns, depth + 1)?;
                    }
                }
            }
            Schema::Map(m) => {
                let min = 1 + self.min_size(&m.types, ns, 0);
                loop {
                    let n = self.block_count("map", min)?;
                    if n == 0 {
                        return Ok(());
                    }
                    for _ in 0..n {
                        let k = self.length("map key")?;
                        self.skip(k)?;
                        self.value(&m.types, ns, depth + 1)?;
                    }
                }
            }
            Schema::Union(u) => {
                let i = usize::try_from(self.long()?).map_err(|_| Stop::NoVerdict)?;
                let variant = u.variants().get(i).ok_or(Stop::NoVerdict)?;
                self.value(variant, ns, depth + 1)
            }
            Schema::Record(RecordSchema { name, fields, .. }) => {
                let inner = name.fully_qualified_name(ns).namespace;
                for f in fields {
                    self.value(&f.schema, &inner, depth + 1)?;
                }
                Ok(())
            }
            Schema::Ref { name } => {
                let full = name.fully_qualified_name(ns);
                let target = self.named(name, ns)?;
                self.value(target, &full.namespace, depth + 1)
            }
        }
    }

    /// The fewest bytes a value of `schema` can be encoded in (0 for null and empty
    /// records; named references are followed to a bounded depth).
    fn min_size(&self, schema: &Schema, ns: &Namespace, depth: usize) -> usize {
        if depth > MAX_DEPTH {
            return 0;
        }
        match schema {
            Schema::Null => 0,
            Schema::Float => 4,
            Schema::Double => 8,
            Schema::Duration => 12,
            Schema::Fixed(f) => f.size,
            Schema::Decimal(d) => self.min_size(&d.inner, ns, depth + 1),
            Schema::Union(u) => {
                1 + u
                    .variants()
                    .iter()
                    .map(|v| self.min_size(v, ns, depth + 1))
                    .min()
                    .unwrap_or(0)
            }
            Schema::Record(RecordSchema { name, fields, .. }) => {
                let inner = name.fully_qualified_name(ns).namespace;
                fields
                    .iter()
                    .map(|f| self.min_size(&f.schema, &inner, depth + 1))
                    .fold(0usize, usize::saturating_add)
            }
            Schema::Ref { name } => {
                let full = name.fully_qualified_name(ns);
                self.named(name, ns)
                    .map_or(0, |s| self.min_size(s, &full.namespace, depth + 1))
            }
            // Booleans, varints, lengths, enum indices, array and map terminators.
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(text: &str) -> Schema {
        Schema::parse_str(text).unwrap()
    }

    fn zigzag(n: i64) -> Vec<u8> {
        let mut z = ((n << 1) ^ (n >> 63)) as u64;
        let mut out = Vec::new();
        loop {
            if z < 0x80 {
                out.push(z as u8);
                return out;
            }
            out.push((z as u8 & 0x7f) | 0x80);
            z >>= 7;
        }
    }

    #[test]
    fn lengths_beyond_the_input_are_refused() {
        let s = schema(r#""string""#);
        assert!(check("t", &s, &[zigzag(3), b"abc".to_vec()].concat()).is_ok());
        assert!(matches!(
            check("t", &s, &[zigzag(4), b"abc".to_vec()].concat()),
            Err(CodecError::Oversized { .. })
        ));
    }

    #[test]
    fn item_counts_are_bounded_by_the_smallest_item() {
        let longs = schema(r#"{"type":"array","items":"long"}"#);
        assert!(check("t", &longs, &[zigzag(2), vec![2, 4, 0]].concat()).is_ok());
        assert!(check("t", &longs, &[zigzag(60_000_000), vec![2, 4, 0]].concat()).is_err());
        // Negative block counts carry a byte size; the count is still bounded.
        assert!(check("t", &longs, &[zigzag(-60_000_000), zigzag(3), vec![2, 4, 0]].concat()).is_err());
        let doubles = schema(r#"{"type":"array","items":"double"}"#);
        assert!(check("t", &doubles, &[zigzag(2), vec![0; 9]].concat()).is_err());
        // Zero-size items still take a byte each in the bound.
        let nulls = schema(r#"{"type":"array","items":"null"}"#);
        assert!(check("t", &nulls, &[zigzag(1_000_000), vec![0]].concat()).is_err());
        let maps = schema(r#"{"type":"map","values":"long"}"#);
        assert!(check("t", &maps, &[zigzag(3), vec![0, 2, 0, 2]].concat()).is_err());
    }

    #[test]
    fn named_references_and_nesting_are_followed() {
        let s = schema(
            r#"{"type":"record","name":"List","namespace":"x","fields":[
                {"name":"v","type":"long"},{"name":"next","type":["null","List"]}]}"#,
        );
        // Three linked items, well-formed.
        assert!(check("t", &s, &[2, 2, 4, 2, 6, 0]).is_ok());
        // A chain deeper than the limit is refused before apache-avro would recurse into it.
        let deep: Vec<u8> = std::iter::repeat_n([2u8, 2], MAX_DEPTH).flatten().collect();
        assert!(matches!(check("t", &s, &deep), Err(CodecError::Oversized { .. })));
    }

    #[test]
    fn what_it_cannot_follow_is_left_to_the_decoder() {
        let s = schema(r#"["null","long"]"#);
        assert!(check("t", &s, &[9]).is_ok());
        assert!(check("t", &schema(r#""long""#), &[]).is_ok());
    }
}
