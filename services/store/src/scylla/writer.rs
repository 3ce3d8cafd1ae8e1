//! Every write of a commit goes through here: bounded in size, counted for the crash-test
//! hook, and measured.
//!
//! ScyllaDB refuses a batch over `batch_size_fail_threshold_in_kb` (50 KiB by default) and a
//! mutation over half a commitlog segment; large cells and partitions are slow everywhere.
//! So blobs are written as chunks of at most [`CHUNK_BYTES`], and many small rows go out as
//! unlogged batches of at most [`MUTATION_LIMIT`] bytes of values. A single row larger than
//! that by itself (a state value over 47 KiB) is written alone: one INSERT is not a batch,
//! and ScyllaDB's limit for one mutation is 16 MiB with the default 32 MiB segments.

use super::crash_hook::Writes;
use super::rows::backend;
use crate::StoreError;
use scylla::client::session::Session;
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The most value bytes one statement or batch carries: under ScyllaDB's default
/// `batch_size_fail_threshold_in_kb` (50 KiB) with room for the statement framing.
pub const MUTATION_LIMIT: usize = 48 * 1024;

/// The most data bytes of one chunk (of a commit link or a snapshot): a chunk row with its
/// key columns stays under [`MUTATION_LIMIT`].
pub const CHUNK_BYTES: usize = 47 * 1024;

/// How many rows callers of [`Writer::many`] hand over at a time.
pub(super) const ROWS_PER_CALL: usize = 4096;

/// The largest write so far, in bytes of values (what [`MUTATION_LIMIT`] bounds): tests
/// assert on it (`ScyllaStore::largest_write_bytes`).
#[derive(Debug, Default)]
pub(super) struct Meter {
    largest: AtomicUsize,
}

impl Meter {
    fn note(&self, bytes: usize) {
        self.largest.fetch_max(bytes, Ordering::Relaxed);
    }

    pub(super) fn largest(&self) -> usize {
        self.largest.load(Ordering::Relaxed)
    }
}

/// How many bytes a value takes on the wire (its `[bytes]` length prefix included).
pub(super) trait WireSize {
    fn wire_size(&self) -> usize;
}

impl WireSize for i64 {
    fn wire_size(&self) -> usize {
        4 + 8
    }
}

impl WireSize for i32 {
    fn wire_size(&self) -> usize {
        4 + 4
    }
}

impl WireSize for String {
    fn wire_size(&self) -> usize {
        4 + self.len()
    }
}

impl WireSize for &str {
    fn wire_size(&self) -> usize {
        4 + self.len()
    }
}

impl WireSize for Vec<u8> {
    fn wire_size(&self) -> usize {
        4 + self.len()
    }
}

impl WireSize for &[u8] {
    fn wire_size(&self) -> usize {
        4 + self.len()
    }
}

macro_rules! tuple_wire_size {
    ($($t:ident),+) => {
        impl<$($t: WireSize),+> WireSize for ($($t,)+) {
            #[allow(non_snake_case)]
            fn wire_size(&self) -> usize {
                let ($($t,)+) = self;
                0 $(+ $t.wire_size())+
            }
        }
    };
}
tuple_wire_size!(A);
tuple_wire_size!(A, B);
tuple_wire_size!(A, B, C);
tuple_wire_size!(A, B, C, D);
tuple_wire_size!(A, B, C, D, E);
tuple_wire_size!(A, B, C, D, E, F);
tuple_wire_size!(A, B, C, D, E, F, G);
tuple_wire_size!(A, B, C, D, E, F, G, H);
tuple_wire_size!(A, B, C, D, E, F, G, H, I);

/// The writes of one commit (or one pruning pass).
pub(super) struct Writer<'a> {
    pub s: &'a Session,
    pub writes: &'a Writes,
    pub meter: &'a Meter,
}

impl Writer<'_> {
    /// One statement.
    pub(super) async fn one<V: SerializeRow + WireSize>(
        &self,
        stmt: &PreparedStatement,
        values: V,
    ) -> Result<(), StoreError> {
        self.writes.tick()?;
        self.meter.note(values.wire_size());
        self.s
            .execute_unpaged(stmt, values)
            .await
            .map_err(|e| backend("commit")(e.to_string()))?;
        Ok(())
    }

    /// The same statement for many rows, as unlogged batches of at most [`MUTATION_LIMIT`]
    /// bytes (callers pass rows of one partition, so a batch is one mutation; and a few
    /// thousand rows at a time, [`ROWS_PER_CALL`], so that no copy of a large commit's rows
    /// is made at once).
    pub(super) async fn many<V: SerializeRow + WireSize>(
        &self,
        stmt: &PreparedStatement,
        rows: Vec<V>,
    ) -> Result<(), StoreError> {
        let mut pending: Vec<V> = Vec::new();
        let mut bytes = 0;
        for row in rows {
            let size = row.wire_size();
            if !pending.is_empty() && bytes + size > MUTATION_LIMIT {
                self.batch(stmt, std::mem::take(&mut pending), bytes).await?;
                bytes = 0;
            }
            bytes += size;
            pending.push(row);
        }
        if !pending.is_empty() {
            self.batch(stmt, pending, bytes).await?;
        }
        Ok(())
    }

    async fn batch<V: SerializeRow + WireSize>(
        &self,
        stmt: &PreparedStatement,
        rows: Vec<V>,
        bytes: usize,
    ) -> Result<(), StoreError> {
        if rows.len() == 1 {
            let Some(row) = rows.into_iter().next() else {
                return Ok(());
            };
            return self.one(stmt, row).await;
        }
        self.writes.tick()?;
        self.meter.note(bytes);
        let mut batch = Batch::new(BatchType::Unlogged);
        for _ in 0..rows.len() {
            batch.append_statement(stmt.clone());
        }
        self.s
            .batch(&batch, rows)
            .await
            .map_err(|e| backend("commit")(e.to_string()))?;
        Ok(())
    }
}

/// `bytes` as chunks of at most [`CHUNK_BYTES`] (one empty chunk for no bytes, so every
/// blob has a first chunk).
pub(super) fn chunks_of(bytes: &[u8]) -> Vec<&[u8]> {
    if bytes.is_empty() {
        return vec![bytes];
    }
    bytes.chunks(CHUNK_BYTES).collect()
}

/// Reassembles chunks `0..count` of a blob of `len` bytes; missing, repeated or extra
/// chunks and a wrong total length are errors (a torn or rotten write).
pub(super) fn join_chunks(mut chunks: Vec<(i32, Vec<u8>)>, count: i32, len: i64) -> Result<Vec<u8>, String> {
    chunks.sort_by_key(|(n, _)| *n);
    let numbers: Vec<i32> = chunks.iter().map(|(n, _)| *n).collect();
    if numbers != (0..count).collect::<Vec<i32>>() {
        return Err(format!("chunks {numbers:?} where 0..{count} were written"));
    }
    let total: usize = chunks.iter().map(|(_, d)| d.len()).sum();
    if i64::try_from(total).ok() != Some(len) {
        return Err(format!("{total} bytes in the chunks where {len} were written"));
    }
    let mut out = Vec::with_capacity(total);
    for (_, data) in chunks {
        out.extend_from_slice(&data);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(parts: &[&[u8]]) -> Vec<(i32, Vec<u8>)> {
        parts.iter().enumerate().map(|(i, p)| (i as i32, p.to_vec())).collect()
    }

    #[test]
    fn chunks_are_bounded_and_join_back() {
        let blob: Vec<u8> = (0..CHUNK_BYTES * 2 + 5).map(|i| i as u8).collect();
        let parts = chunks_of(&blob);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.len() <= CHUNK_BYTES));
        let mut rows = numbered(&parts);
        rows.reverse();
        assert_eq!(join_chunks(rows, 3, blob.len() as i64), Ok(blob));
        assert_eq!(chunks_of(&[]), vec![&[] as &[u8]]);
        assert_eq!(join_chunks(numbered(&[&[]]), 1, 0), Ok(vec![]));
    }

    #[test]
    fn torn_chunk_sets_are_refused() {
        let rows = numbered(&[b"ab", b"cd"]);
        assert!(join_chunks(rows[..1].to_vec(), 2, 4).is_err(), "missing");
        assert!(join_chunks(rows.clone(), 1, 4).is_err(), "extra");
        assert!(join_chunks(rows.clone(), 2, 5).is_err(), "length");
        let mut twice = rows.clone();
        twice.push((1, b"cd".to_vec()));
        assert!(join_chunks(twice, 2, 4).is_err(), "repeated");
    }

    #[test]
    fn wire_sizes_count_length_prefixes() {
        assert_eq!(("ab".to_string(), 1i64, vec![0u8; 3]).wire_size(), 6 + 12 + 7);
        assert!(CHUNK_BYTES + ("token/123456789".to_string(), 1i32, 1i64).wire_size() < MUTATION_LIMIT);
    }
}
