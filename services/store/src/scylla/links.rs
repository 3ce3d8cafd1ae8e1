//! The commit chain: each commit's state writes as a link from the committed position it
//! starts at to the one it ends at, in chunks, and how a load walks it back.
//!
//! A link lives in the partition of its start block and is identified by the position it
//! ends at, so the rows a crashed commit left (a link to a position that never became the
//! progress) are never read: a load starts at the progress row, whose position names the
//! last link exactly, and each link names the start of the one before it.

use super::rows::{corrupt, decode_changes, rows_of, Changes};
use super::statements::Statements;
use super::writer::{chunks_of, join_chunks, Writer};
use crate::StoreError;
use scylla::client::session::Session;

/// A committed position as the chain keys it: block and next offset (-1, -1: nothing).
pub(super) type Position = (i64, i64);

/// The link start of a module's first commit: from nothing.
pub(super) const FROM_NOTHING: i64 = -1;

/// One link as a commit writes it.
pub(super) struct NewLink<'a> {
    pub module: &'a str,
    /// The block it starts at ([`FROM_NOTHING`] for the first commit).
    pub start: i64,
    pub start_offset: i64,
    /// The start block of the link that ends at `start` ([`FROM_NOTHING`]: none).
    pub before: i64,
    pub end: Position,
    /// `encode_changes` of its state writes.
    pub blob: &'a [u8],
}

/// One link as read back.
pub(super) struct Link {
    pub start_offset: i64,
    pub before: i64,
    pub changes: Changes,
}

fn part(module: &str, start: i64) -> String {
    format!("{module}/{start}")
}

/// Writes the index row, then the chunks (bounded: see [`Writer`]).
pub(super) async fn write(w: &Writer<'_>, st: &Statements, l: &NewLink<'_>) -> Result<(), StoreError> {
    w.one(&st.link_start_put, (l.module.to_string(), l.start)).await?;
    let chunks = chunks_of(l.blob);
    let count = i32::try_from(chunks.len()).map_err(|e| corrupt("commit link", e))?;
    let len = i64::try_from(l.blob.len()).map_err(|e| corrupt("commit link", e))?;
    for (i, data) in chunks.into_iter().enumerate() {
        let values = (
            part(l.module, l.start),
            l.end.0,
            l.end.1,
            i as i32,
            count,
            len,
            l.start_offset,
            l.before,
            data.to_vec(),
        );
        w.one(&st.link_put, values).await?;
    }
    Ok(())
}

type LinkRow = (i64, i64, i32, i32, i64, i64, i64, Vec<u8>);

/// The link of `module` that starts at `start` and ends at `end`, if it was written.
pub(super) async fn read(
    s: &Session,
    st: &Statements,
    module: &str,
    start: i64,
    end: Position,
) -> Result<Option<Link>, StoreError> {
    // The partition holds this link and any a crashed commit left; keep this one's rows.
    let rows: Vec<LinkRow> = rows_of(s, &st.link_scan, (part(module, start),), "read commit link").await?;
    let rows: Vec<LinkRow> = rows.into_iter().filter(|r| (r.0, r.1) == end).collect();
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let (count, len, start_offset, before) = (first.3, first.4, first.5, first.6);
    let what = || format!("commit link of {module} from block {start} to {end:?}");
    if rows
        .iter()
        .any(|r| (r.3, r.4, r.5, r.6) != (count, len, start_offset, before))
    {
        return Err(corrupt(what(), "its chunks disagree on the link they belong to"));
    }
    let blob =
        join_chunks(rows.into_iter().map(|r| (r.2, r.7)).collect(), count, len).map_err(|e| corrupt(what(), e))?;
    let changes = decode_changes(&blob).map_err(|e| corrupt(what(), e))?;
    Ok(Some(Link {
        start_offset,
        before,
        changes,
    }))
}

/// Deletes the links that start before block `below` (older than the oldest kept
/// snapshot: no load walks back past it), partition by partition.
pub(super) async fn prune(w: &Writer<'_>, st: &Statements, module: &str, below: i64) -> Result<usize, StoreError> {
    let starts: Vec<(i64,)> = rows_of(w.s, &st.link_starts, (module,), "list commit links").await?;
    let mut deleted = 0;
    for (start,) in starts.into_iter().filter(|(start,)| *start < below) {
        w.one(&st.link_delete, (part(module, start),)).await?;
        w.one(&st.link_start_delete, (module.to_string(), start)).await?;
        deleted += 1;
    }
    Ok(deleted)
}
