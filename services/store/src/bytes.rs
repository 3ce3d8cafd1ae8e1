//! The one length-prefixed byte codec behind every binary encoding the store writes: the
//! snapshot format ([`encode_snapshot`](crate::encode_snapshot)) and the ScyllaDB row blobs
//! (commit links, snapshots, pending-message lists).
//!
//! Integers are big-endian; a byte string is a `u32` length then the bytes. Reading goes
//! through one bounds check ([`Reader::take`]): a stored row or a snapshot fetched from a
//! peer is input, so a truncated record or a length prefix larger than what follows is a
//! [`DecodeError`] naming what was being decoded, never a panic, and nothing is allocated
//! for bytes the input does not hold.

use thiserror::Error;

/// Why stored or received bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("{what}: truncated: needs {need} more bytes, has {left}")]
    Truncated {
        what: &'static str,
        need: usize,
        left: usize,
    },
    #[error("{what}: {count} items cannot fit in the {left} bytes that follow")]
    Count {
        what: &'static str,
        count: u64,
        left: usize,
    },
    #[error("{what}: unknown {field} {value}")]
    Unknown {
        what: &'static str,
        field: &'static str,
        value: u8,
    },
    #[error("{what}: {left} trailing bytes")]
    Trailing { what: &'static str, left: usize },
    /// An embedded record (e.g. an Avro message) that does not decode.
    #[error("{what}: {detail}")]
    Item { what: &'static str, detail: String },
}

/// Builds an encoding.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    out: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.out.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A `u32` length, then the bytes. (Store values are far below 4 GiB: redb, Kafka and
    /// CQL refuse values that large long before they reach an encoding.)
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        debug_assert!(u32::try_from(b.len()).is_ok(), "a byte string over 4 GiB");
        self.out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        self.out.extend_from_slice(b);
        self
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Reads an encoding front to back; every read is bounds-checked by [`Reader::take`].
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// `what` names the encoding in every error (e.g. "snapshot").
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { rest: bytes, what }
    }

    /// The next `n` bytes: the single bounds check every other read goes through.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated {
                what: self.what,
                need: n,
                left: self.rest.len(),
            });
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A `u32`-length-prefixed byte string, borrowed from the input.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u32()?;
        // A `u32` always fits a `usize` on the 32- and 64-bit targets the store builds for;
        // where it would not, the prefix is larger than any input anyway.
        self.take(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// A `u64` item count, refused when `count` items of at least `min_item_len` bytes each
    /// cannot fit in what follows (so a caller may size a collection by it).
    pub(crate) fn count(&mut self, min_item_len: usize) -> Result<usize, DecodeError> {
        let count = self.u64()?;
        let left = self.rest.len();
        let fits = usize::try_from(count)
            .ok()
            .filter(|&c| c.saturating_mul(min_item_len.max(1)) <= left);
        fits.ok_or(DecodeError::Count {
            what: self.what,
            count,
            left,
        })
    }

    /// Whether everything was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// An error about a field of this encoding holding a value it does not define.
    pub(crate) fn unknown(&self, field: &'static str, value: u8) -> DecodeError {
        DecodeError::Unknown {
            what: self.what,
            field,
            value,
        }
    }

    /// An error about an embedded record of this encoding.
    pub(crate) fn item(&self, detail: impl std::fmt::Display) -> DecodeError {
        DecodeError::Item {
            what: self.what,
            detail: detail.to_string(),
        }
    }

    /// Ends the read, refusing trailing bytes.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Trailing {
                what: self.what,
                left: self.rest.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_big_endian_and_length_prefixed() {
        let mut w = Writer::new();
        w.u8(7).u64(0x0102_0304_0506_0708).bytes(b"ab").bytes(b"");
        assert_eq!(
            w.finish(),
            [7, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 0]
        );
    }

    #[test]
    fn reads_what_was_written() {
        let mut w = Writer::new();
        w.u8(7).u64(42).bytes(b"ab");
        let bytes = w.finish();
        let mut r = Reader::new(&bytes, "test");
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.u64(), Ok(42));
        assert_eq!(r.bytes(), Ok(&b"ab"[..]));
        assert!(r.is_empty());
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn a_length_prefix_past_the_end_is_an_error() {
        let bytes = [0xFF, 0xFF, 0xFF, 0xFF, 1, 2];
        let mut r = Reader::new(&bytes, "test");
        assert_eq!(
            r.bytes(),
            Err(DecodeError::Truncated {
                what: "test",
                need: u32::MAX as usize,
                left: 2
            })
        );
        assert_eq!(
            Reader::new(&[0, 0], "test").u32().map_err(|e| e.to_string()),
            Err("test: truncated: needs 4 more bytes, has 2".into())
        );
    }

    #[test]
    fn a_count_that_cannot_fit_is_refused_before_any_allocation() {
        let mut bytes = u64::MAX.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0; 16]);
        assert!(matches!(
            Reader::new(&bytes, "test").count(8),
            Err(DecodeError::Count {
                count: u64::MAX,
                left: 16,
                ..
            })
        ));
        let mut two = 2u64.to_be_bytes().to_vec();
        two.extend_from_slice(&[0; 16]);
        assert_eq!(Reader::new(&two, "test").count(8), Ok(2));
        assert!(Reader::new(&two, "test").count(9).is_err());
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut r = Reader::new(&[1, 2, 3], "test");
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.finish(), Err(DecodeError::Trailing { what: "test", left: 2 }));
    }
}
