//! Typed access to decoded Avro values, for turning a `Value` back into a Rust record.
//!
//! Decoding goes bytes -> `Value` (checked against the writer schema) -> Rust type. The second
//! step still meets values this code did not write (another writer, an older schema), so
//! every accessor returns a `CodecError::Shape` naming the field instead of panicking.
//! Module crates use these helpers for their own event schemas.

use crate::CodecError;
use apache_avro::types::Value;

/// Wraps a field path for error messages.
fn shape(what: &'static str, field: &str, detail: impl Into<String>) -> CodecError {
    CodecError::Shape {
        what,
        detail: format!("{field}: {}", detail.into()),
    }
}

/// The value inside a union (Avro `Value::Union`), or the value itself.
pub fn strip_union(v: &Value) -> &Value {
    match v {
        Value::Union(_, inner) => inner,
        other => other,
    }
}

/// Fields of a decoded record, looked up by name.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    what: &'static str,
    fields: &'a [(String, Value)],
}

impl<'a> Fields<'a> {
    /// The fields of `v`, which must be a record.
    pub fn of(what: &'static str, v: &'a Value) -> Result<Self, CodecError> {
        match strip_union(v) {
            Value::Record(fields) => Ok(Self { what, fields }),
            other => Err(shape(
                what,
                "record",
                format!("expected a record, found {}", kind(other)),
            )),
        }
    }

    /// The named field's value.
    pub fn get(&self, name: &str) -> Result<&'a Value, CodecError> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| shape(self.what, name, "missing field"))
    }

    /// A long (or int) field.
    pub fn long(&self, name: &str) -> Result<i64, CodecError> {
        match strip_union(self.get(name)?) {
            Value::Long(x) => Ok(*x),
            Value::Int(x) => Ok(i64::from(*x)),
            other => Err(shape(
                self.what,
                name,
                format!("expected a long, found {}", kind(other)),
            )),
        }
    }

    /// An unsigned 64-bit value stored as an Avro long (two's complement reinterpretation,
    /// so that every u64 round-trips).
    pub fn u64(&self, name: &str) -> Result<u64, CodecError> {
        Ok(self.long(name)? as u64)
    }

    /// An unsigned 32-bit value stored as an Avro long; out-of-range values are rejected.
    pub fn u32(&self, name: &str) -> Result<u32, CodecError> {
        let x = self.long(name)?;
        u32::try_from(x).map_err(|_| shape(self.what, name, format!("{x} is not in 0..=4294967295")))
    }

    /// A string field.
    pub fn string(&self, name: &str) -> Result<String, CodecError> {
        match strip_union(self.get(name)?) {
            Value::String(s) => Ok(s.clone()),
            other => Err(shape(
                self.what,
                name,
                format!("expected a string, found {}", kind(other)),
            )),
        }
    }

    /// A bytes field.
    pub fn bytes(&self, name: &str) -> Result<Vec<u8>, CodecError> {
        match strip_union(self.get(name)?) {
            Value::Bytes(b) => Ok(b.clone()),
            other => Err(shape(self.what, name, format!("expected bytes, found {}", kind(other)))),
        }
    }

    /// A fixed (or bytes) value of exactly `N` bytes.
    pub fn fixed<const N: usize>(&self, name: &str) -> Result<[u8; N], CodecError> {
        let b = match strip_union(self.get(name)?) {
            Value::Fixed(_, b) | Value::Bytes(b) => b,
            other => {
                return Err(shape(
                    self.what,
                    name,
                    format!("expected fixed({N}), found {}", kind(other)),
                ))
            }
        };
        <[u8; N]>::try_from(b.as_slice())
            .map_err(|_| shape(self.what, name, format!("expected {N} bytes, found {}", b.len())))
    }

    /// An array field's items.
    pub fn array(&self, name: &str) -> Result<&'a [Value], CodecError> {
        match strip_union(self.get(name)?) {
            Value::Array(items) => Ok(items),
            other => Err(shape(
                self.what,
                name,
                format!("expected an array, found {}", kind(other)),
            )),
        }
    }

    /// An array-of-strings field's items.
    pub fn strings(&self, name: &str) -> Result<Vec<String>, CodecError> {
        self.array(name)?
            .iter()
            .map(|v| match strip_union(v) {
                Value::String(s) => Ok(s.clone()),
                other => Err(shape(
                    self.what,
                    name,
                    format!("expected strings, found {}", kind(other)),
                )),
            })
            .collect()
    }

    /// Symbol of an enum field.
    pub fn symbol(&self, name: &str) -> Result<&'a str, CodecError> {
        match strip_union(self.get(name)?) {
            Value::Enum(_, s) => Ok(s),
            other => Err(shape(
                self.what,
                name,
                format!("expected an enum, found {}", kind(other)),
            )),
        }
    }

    /// `None` for a null (or null branch of a union), else the long.
    pub fn optional_long(&self, name: &str) -> Result<Option<i64>, CodecError> {
        match strip_union(self.get(name)?) {
            Value::Null => Ok(None),
            Value::Long(x) => Ok(Some(*x)),
            Value::Int(x) => Ok(Some(i64::from(*x))),
            other => Err(shape(
                self.what,
                name,
                format!("expected null or long, found {}", kind(other)),
            )),
        }
    }

    /// A union field: the branch index (in the reader schema) and its value.
    pub fn union(&self, name: &str) -> Result<(u32, &'a Value), CodecError> {
        match self.get(name)? {
            Value::Union(i, v) => Ok((*i, v)),
            other => Err(shape(
                self.what,
                name,
                format!("expected a union, found {}", kind(other)),
            )),
        }
    }
}

/// A short name of a value's type for error messages (never the value itself, which may be
/// large or sensitive).
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int(_) => "int",
        Value::Long(_) => "long",
        Value::Float(_) => "float",
        Value::Double(_) => "double",
        Value::Bytes(_) => "bytes",
        Value::String(_) => "string",
        Value::Fixed(..) => "fixed",
        Value::Enum(..) => "enum",
        Value::Union(..) => "union",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Record(_) => "record",
        _ => "logical value",
    }
}

/// Builds a record value from `(name, value)` pairs in schema order.
pub fn record(fields: Vec<(&str, Value)>) -> Value {
    Value::Record(fields.into_iter().map(|(n, v)| (n.to_string(), v)).collect())
}

/// A u64 as an Avro long (two's complement reinterpretation; see [`Fields::u64`]).
pub fn long_u64(x: u64) -> Value {
    Value::Long(x as i64)
}

/// A u32 as an Avro long (exact).
pub fn long_u32(x: u32) -> Value {
    Value::Long(i64::from(x))
}

/// An array of strings.
pub fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.clone())).collect())
}
