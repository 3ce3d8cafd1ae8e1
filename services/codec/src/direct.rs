//! Avro binary encoding and decoding of `apache_avro::types::Value`s against a schema whose
//! named types were resolved once, when the codec was built.
//!
//! apache-avro resolves a schema's names on every `to_avro_datum`, `from_avro_datum` and
//! `Value::validate` call, and validates a value in a separate walk before writing it; for
//! our small records that bookkeeping cost several times the encoding itself. These two
//! walks do the same work in one pass over a pre-resolved schema, for the types our schemas
//! use (null, boolean, long, string, bytes, enum, fixed, array, record, union and references;
//! see `schemas/`). They write and read exactly the bytes apache-avro does (the tests in this
//! module and `tests/roundtrip.rs` compare both on every record type), and a value the
//! schema does not describe is an error, as apache-avro's validation makes it.

use apache_avro::schema::{Name, Namespace};
use apache_avro::types::Value;
use apache_avro::Schema;
use std::collections::HashMap;

/// Why a value could not be written or a datum could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DirectError {
    /// The value is not one the schema describes.
    Mismatch(String),
    /// A shape this encoder leaves to apache-avro (a union value given without its branch,
    /// where the branch would have to be found by trying each; a schema type our schemas do
    /// not use).
    Unsupported(String),
    /// The datum ends inside a value.
    Truncated,
    /// The datum is not a value of the schema (a bad union or enum index, a boolean that is
    /// neither 0 nor 1, invalid UTF-8, an over-long integer).
    Malformed(String),
}

impl std::fmt::Display for DirectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirectError::Mismatch(s) => write!(f, "the value does not match the schema: {s}"),
            DirectError::Unsupported(s) => write!(f, "left to apache-avro: {s}"),
            DirectError::Truncated => f.write_str("datum ends early (truncated record)"),
            DirectError::Malformed(s) => f.write_str(s),
        }
    }
}

/// A schema with its named types resolved.
#[derive(Clone)]
pub(crate) struct Resolved {
    root: Schema,
    names: HashMap<Name, Schema>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolved")
    }
}

impl Resolved {
    /// `None` when a name is defined twice (apache-avro refuses such a schema anyway; the
    /// caller keeps apache-avro's own path).
    pub(crate) fn new(schema: &Schema) -> Option<Self> {
        let mut names = HashMap::new();
        collect_names(schema, &schema.namespace(), &mut names)?;
        Some(Self {
            root: schema.clone(),
            names,
        })
    }

    /// Appends the Avro binary encoding of `value` to `out`. On an error `out` may hold part
    /// of the value; the caller discards it.
    pub(crate) fn encode(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), DirectError> {
        self.write(value, &self.root, &self.root.namespace(), out)
    }

    /// Reads one value from the whole of `datum`; bytes left over are reported as
    /// `(value, count)` for the caller to refuse.
    pub(crate) fn decode(&self, datum: &[u8]) -> Result<(Value, usize), DirectError> {
        let mut r = datum;
        let v = self.read(&self.root, &self.root.namespace(), &mut r)?;
        Ok((v, r.len()))
    }

    fn named(&self, name: &Name, ns: &Namespace) -> Result<&Schema, DirectError> {
        let full = name.fully_qualified_name(ns);
        self.names
            .get(&full)
            .ok_or_else(|| DirectError::Unsupported(format!("unresolved reference {full}")))
    }

    fn write(&self, value: &Value, schema: &Schema, ns: &Namespace, out: &mut Vec<u8>) -> Result<(), DirectError> {
        let mismatch = || DirectError::Mismatch(format!("{} for a {schema:?}", kind(value)));
        match (schema, value) {
            (Schema::Ref { name }, _) => {
                let target = self.named(name, ns)?;
                let ns = name.fully_qualified_name(ns).namespace;
                self.write(value, target, &ns, out)
            }
            (Schema::Null, Value::Null) => Ok(()),
            (Schema::Boolean, Value::Boolean(b)) => {
                out.push(u8::from(*b));
                Ok(())
            }
            (Schema::Long, Value::Long(n)) => {
                zig(*n, out);
                Ok(())
            }
            (Schema::Long, Value::Int(n)) => {
                zig(i64::from(*n), out);
                Ok(())
            }
            (Schema::String, Value::String(s)) => {
                bytes(s.as_bytes(), out);
                Ok(())
            }
            (Schema::Bytes, Value::Bytes(b)) => {
                bytes(b, out);
                Ok(())
            }
            (Schema::Fixed(f), Value::Fixed(n, b)) if *n == f.size && b.len() == f.size => {
                out.extend_from_slice(b);
                Ok(())
            }
            (Schema::Enum(e), Value::Enum(i, sym)) => match e.symbols.get(*i as usize) {
                Some(s) if s == sym => {
                    zig(i64::from(*i), out);
                    Ok(())
                }
                _ => Err(mismatch()),
            },
            (Schema::Array(a), Value::Array(items)) => {
                if !items.is_empty() {
                    zig(len_i64(items.len()), out);
                    for item in items {
                        self.write(item, &a.items, ns, out)?;
                    }
                }
                out.push(0);
                Ok(())
            }
            (Schema::Record(r), Value::Record(fields)) => {
                if fields.len() != r.fields.len() {
                    return Err(mismatch());
                }
                let ns = r.name.fully_qualified_name(ns).namespace;
                for (i, f) in r.fields.iter().enumerate() {
                    let v = match fields.get(i) {
                        Some((name, v)) if *name == f.name => v,
                        _ => fields
                            .iter()
                            .find(|(name, _)| *name == f.name)
                            .map(|(_, v)| v)
                            .ok_or_else(|| DirectError::Mismatch(format!("no field {:?}", f.name)))?,
                    };
                    self.write(v, &f.schema, &ns, out)?;
                }
                Ok(())
            }
            (Schema::Union(u), Value::Union(i, inner)) => {
                let branch = u.variants().get(*i as usize).ok_or_else(mismatch)?;
                zig(i64::from(*i), out);
                self.write(inner, branch, ns, out)
            }
            (Schema::Union(u), v) => {
                // A scalar given without its branch goes to the first branch of its type, as
                // apache-avro's validation finds it; anything else is left to apache-avro.
                let i = u
                    .variants()
                    .iter()
                    .position(|s| scalar_fits(s, v))
                    .ok_or_else(|| DirectError::Unsupported(format!("{} in a union", kind(v))))?;
                zig(len_i64(i), out);
                self.write(v, &u.variants()[i], ns, out)
            }
            (
                Schema::Null
                | Schema::Boolean
                | Schema::Long
                | Schema::String
                | Schema::Bytes
                | Schema::Fixed(_)
                | Schema::Enum(_)
                | Schema::Array(_)
                | Schema::Record(_),
                _,
            ) => Err(mismatch()),
            (other, _) => Err(DirectError::Unsupported(format!("schema type {other:?}"))),
        }
    }

    fn read(&self, schema: &Schema, ns: &Namespace, r: &mut &[u8]) -> Result<Value, DirectError> {
        match schema {
            Schema::Ref { name } => {
                let target = self.named(name, ns)?;
                let ns = name.fully_qualified_name(ns).namespace;
                self.read(target, &ns, r)
            }
            Schema::Null => Ok(Value::Null),
            Schema::Boolean => match take(r, 1)?[0] {
                0 => Ok(Value::Boolean(false)),
                1 => Ok(Value::Boolean(true)),
                b => Err(DirectError::Malformed(format!("a boolean byte {b}"))),
            },
            Schema::Long => Ok(Value::Long(zag(r)?)),
            Schema::String => {
                let n = length(r)?;
                let b = take(r, n)?;
                String::from_utf8(b.to_vec())
                    .map(Value::String)
                    .map_err(|e| DirectError::Malformed(format!("a string that is not UTF-8: {e}")))
            }
            Schema::Bytes => {
                let n = length(r)?;
                Ok(Value::Bytes(take(r, n)?.to_vec()))
            }
            Schema::Fixed(f) => Ok(Value::Fixed(f.size, take(r, f.size)?.to_vec())),
            Schema::Enum(e) => {
                let i = zag(r)?;
                let sym = i32::try_from(i)
                    .ok()
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| e.symbols.get(i))
                    .ok_or_else(|| DirectError::Malformed(format!("enum index {i} of {}", e.symbols.len())))?;
                Ok(Value::Enum(i as u32, sym.clone()))
            }
            Schema::Array(a) => {
                let mut items = Vec::new();
                loop {
                    let n = block_count(r)?;
                    if n == 0 {
                        break;
                    }
                    // Every item takes at least a byte in our schemas' arrays (the caller
                    // checked the bounds first); reserve no more than the bytes could hold.
                    items.reserve(n.min(r.len()));
                    for _ in 0..n {
                        items.push(self.read(&a.items, ns, r)?);
                    }
                }
                Ok(Value::Array(items))
            }
            Schema::Record(rec) => {
                let ns = rec.name.fully_qualified_name(ns).namespace;
                let mut fields = Vec::with_capacity(rec.fields.len());
                for f in &rec.fields {
                    fields.push((f.name.clone(), self.read(&f.schema, &ns, r)?));
                }
                Ok(Value::Record(fields))
            }
            Schema::Union(u) => {
                let i = zag(r)?;
                let branch = usize::try_from(i)
                    .ok()
                    .and_then(|i| u.variants().get(i))
                    .ok_or_else(|| DirectError::Malformed(format!("union index {i} of {}", u.variants().len())))?;
                Ok(Value::Union(i as u32, Box::new(self.read(branch, ns, r)?)))
            }
            other => Err(DirectError::Unsupported(format!("schema type {other:?}"))),
        }
    }
}

/// Every named type of `schema` by its full name, as apache-avro's resolution finds them;
/// `None` when a name is defined twice.
fn collect_names(schema: &Schema, ns: &Namespace, names: &mut HashMap<Name, Schema>) -> Option<()> {
    let mut define = |name: &Name, s: &Schema| -> Option<Namespace> {
        let full = name.fully_qualified_name(ns);
        let inner = full.namespace.clone();
        names.insert(full, s.clone()).is_none().then_some(inner)
    };
    match schema {
        Schema::Record(r) => {
            let inner = define(&r.name, schema)?;
            for f in &r.fields {
                collect_names(&f.schema, &inner, names)?;
            }
        }
        Schema::Enum(e) => {
            define(&e.name, schema)?;
        }
        Schema::Fixed(f) => {
            define(&f.name, schema)?;
        }
        Schema::Array(a) => collect_names(&a.items, ns, names)?,
        Schema::Map(m) => collect_names(&m.types, ns, names)?,
        Schema::Union(u) => {
            for v in u.variants() {
                collect_names(v, ns, names)?;
            }
        }
        _ => {}
    }
    Some(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int(_) => "int",
        Value::Long(_) => "long",
        Value::String(_) => "string",
        Value::Bytes(_) => "bytes",
        Value::Fixed(..) => "fixed",
        Value::Enum(..) => "enum",
        Value::Array(_) => "array",
        Value::Record(_) => "record",
        Value::Union(..) => "union",
        _ => "other value",
    }
}

/// Whether the scalar `v` is of the schema `s` (for a union value given without its branch).
fn scalar_fits(s: &Schema, v: &Value) -> bool {
    matches!(
        (s, v),
        (Schema::Null, Value::Null)
            | (Schema::Boolean, Value::Boolean(_))
            | (Schema::Long, Value::Long(_))
            | (Schema::String, Value::String(_))
            | (Schema::Bytes, Value::Bytes(_))
    )
}

pub(crate) fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Avro's zig-zag varint (apache-avro's `zig_i64`).
pub(crate) fn zig(n: i64, out: &mut Vec<u8>) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z > 0x7F {
        out.push(0x80 | (z & 0x7F) as u8);
        z >>= 7;
    }
    out.push(z as u8);
}

/// A length-prefixed byte string (Avro `bytes` and `string`).
pub(crate) fn bytes(b: &[u8], out: &mut Vec<u8>) {
    zig(len_i64(b.len()), out);
    out.extend_from_slice(b);
}

/// Reads a zig-zag varint as apache-avro does: at most 10 bytes, bits beyond 64 dropped.
pub(crate) fn zag(r: &mut &[u8]) -> Result<i64, DirectError> {
    let mut z = 0u64;
    for j in 0..10u32 {
        let b = take(r, 1)?[0];
        z |= u64::from(b & 0x7F) << (j * 7);
        if b >> 7 == 0 {
            return Ok(if z & 1 == 0 { (z >> 1) as i64 } else { !(z >> 1) as i64 });
        }
    }
    Err(DirectError::Malformed("an integer longer than 10 bytes".into()))
}

/// The item count of the next array block (0 at the end), as apache-avro reads it: a
/// negative count is followed by the block's size in bytes.
pub(crate) fn block_count(r: &mut &[u8]) -> Result<usize, DirectError> {
    let n = match zag(r)? {
        0 => return Ok(0),
        c if c < 0 => {
            zag(r)?;
            c.checked_neg()
                .ok_or_else(|| DirectError::Malformed("an array block count overflows".into()))?
        }
        c => c,
    };
    usize::try_from(n).map_err(|_| DirectError::Malformed(format!("an array block of {n} items")))
}

/// A non-negative length.
pub(crate) fn length(r: &mut &[u8]) -> Result<usize, DirectError> {
    let n = zag(r)?;
    usize::try_from(n).map_err(|_| DirectError::Malformed(format!("a length of {n}")))
}

/// The next `n` bytes of `r`, or `Truncated`.
pub(crate) fn take<'a>(r: &mut &'a [u8], n: usize) -> Result<&'a [u8], DirectError> {
    if r.len() < n {
        return Err(DirectError::Truncated);
    }
    let (head, rest) = r.split_at(n);
    *r = rest;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every schema under `schemas/` (the modules' events too) and its history.
    fn all_schemas() -> &'static [(String, Schema)] {
        static ALL: std::sync::OnceLock<Vec<(String, Schema)>> = std::sync::OnceLock::new();
        ALL.get_or_init(read_all_schemas)
    }

    fn read_all_schemas() -> Vec<(String, Schema)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        let mut out = Vec::new();
        for dir in [root.clone(), root.join("history")] {
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .expect("schemas/")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "avsc"))
                .collect();
            files.sort();
            for p in files {
                let text = std::fs::read_to_string(&p).expect("readable");
                out.push((p.display().to_string(), Schema::parse_str(&text).expect("parses")));
            }
        }
        out
    }

    /// A varint's bytes as apache-avro writes and reads them, at the edges.
    #[test]
    fn varints_match_apache_avro() {
        for n in [0, 1, -1, 63, 64, -64, -65, i64::MAX, i64::MIN, 1 << 40, -(1 << 40)] {
            let mut ours = Vec::new();
            zig(n, &mut ours);
            let theirs = apache_avro::to_avro_datum(&Schema::Long, Value::Long(n)).expect("encodes");
            assert_eq!(ours, theirs, "{n}");
            let mut r = ours.as_slice();
            assert_eq!(zag(&mut r), Ok(n));
        }
        let long = [0xFFu8; 11];
        assert!(matches!(zag(&mut &long[..]), Err(DirectError::Malformed(_))));
        assert_eq!(zag(&mut &[0x80u8][..]), Err(DirectError::Truncated));
    }

    proptest! {
        /// Any bytes, read against every schema of `schemas/`: whenever apache-avro reads a
        /// value that uses the whole datum (its leniency at the end of input aside), the
        /// direct reader reads the same value; whenever the direct reader reads one, apache-avro
        /// reads it too.
        #[test]
        fn reads_what_apache_avro_reads(datum in proptest::collection::vec(any::<u8>(), 0..64), pick in any::<usize>()) {
            crate::single_object::limit_allocations();
            let schemas = all_schemas();
            let (path, schema) = &schemas[pick % schemas.len()];
            let resolved = Resolved::new(schema).expect("resolves");
            if crate::bounded::check("fuzz", schema, &datum).is_err() {
                return Ok(());
            }
            let ours = resolved.decode(&datum).ok().filter(|(_, rest)| *rest == 0).map(|(v, _)| v);
            let mut framed = datum.clone();
            framed.push(0);
            let mut r = framed.as_slice();
            let theirs = apache_avro::from_avro_datum(schema, &mut r, None)
                .ok()
                .filter(|v| r.len() == 1 && v.validate(schema));
            prop_assert_eq!(ours, theirs, "{}", path);
        }
    }
}
