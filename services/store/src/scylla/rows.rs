//! How the backend's values sit in CQL rows: the progress row, the state projection's
//! values, the binary blobs of commit links, snapshots and pending-message lists (through
//! the crate's one byte codec), and reading typed rows with errors that say what to do.

use super::statements::Statements;
use crate::bytes::{DecodeError, Reader, Writer};
use crate::StoreError;
use futures_util::TryStreamExt;
use opentoken_codec::{decode_message, encode_message};
use opentoken_core::Message;
use scylla::client::pager::TypedRowStream;
use scylla::client::session::Session;
use scylla::errors::NextRowError;
use scylla::statement::prepared::PreparedStatement;

/// A backend failure: the cluster is the usual suspect.
pub(super) fn backend(op: &'static str) -> impl Fn(String) -> StoreError {
    move |detail| StoreError::Backend {
        op,
        detail: format!("{detail}; is ScyllaDB reachable (--scylla-uri)?"),
    }
}

pub(super) fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        detail: format!("{detail}; rebuild the module with `opentoken replay` into a fresh keyspace"),
    }
}

/// A chain position as a CQL `bigint`.
pub(super) fn i64_of(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Backend {
        op: "encode",
        detail: format!("{what} {v} exceeds the CQL bigint range"),
    })
}

/// The progress row as stored.
#[derive(Debug, Clone)]
pub(super) struct ProgressRow {
    pub block: u64,
    pub next_offset: u64,
    pub lattice: Vec<u8>,
    /// The block the last commit link started from (-1: from nothing).
    pub prev: i64,
}

type ProgressColumns = (i64, i64, Option<Vec<u8>>, i64);

pub(super) async fn read_progress(
    s: &Session,
    st: &Statements,
    module: &str,
) -> Result<Option<ProgressRow>, StoreError> {
    let r = s
        .execute_unpaged(&st.get_progress, (module,))
        .await
        .map_err(|e| backend("read progress")(e.to_string()))?;
    let rows = r
        .into_rows_result()
        .map_err(|e| backend("read progress")(e.to_string()))?;
    let mut it = rows
        .rows::<ProgressColumns>()
        .map_err(|e| backend("read progress")(e.to_string()))?;
    match it.next() {
        None => Ok(None),
        Some(row) => {
            let (block, next_offset, lattice, prev) = row.map_err(|e| corrupt("progress row", e))?;
            Ok(Some(ProgressRow {
                block: u64::try_from(block).map_err(|e| corrupt("progress block", e))?,
                next_offset: u64::try_from(next_offset).map_err(|e| corrupt("progress offset", e))?,
                lattice: lattice.unwrap_or_default(),
                prev,
            }))
        }
    }
}

/// Every row a statement returns, typed, fetched page by page (the statement's page size).
pub(super) async fn rows_of<R>(
    s: &Session,
    stmt: &PreparedStatement,
    values: impl scylla::serialize::row::SerializeRow,
    op: &'static str,
) -> Result<Vec<R>, StoreError>
where
    R: for<'f, 'm> scylla::deserialize::row::DeserializeRow<'f, 'm>,
{
    let mut rows = Rows::of(s, stmt, values, op).await?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().await? {
        out.push(row);
    }
    Ok(out)
}

/// The rows of a read as they arrive, a page at a time: a reader that stops early never
/// fetches the rest.
pub(super) struct Rows<R> {
    stream: TypedRowStream<R>,
    op: &'static str,
}

impl<R> Rows<R>
where
    R: for<'f, 'm> scylla::deserialize::row::DeserializeRow<'f, 'm>,
{
    pub(super) async fn of(
        s: &Session,
        stmt: &PreparedStatement,
        values: impl scylla::serialize::row::SerializeRow,
        op: &'static str,
    ) -> Result<Self, StoreError> {
        let pager = s
            .execute_iter(stmt.clone(), values)
            .await
            .map_err(|e| backend(op)(e.to_string()))?;
        let stream = pager.rows_stream::<R>().map_err(|e| backend(op)(e.to_string()))?;
        Ok(Self { stream, op })
    }

    pub(super) async fn next(&mut self) -> Result<Option<R>, StoreError> {
        let op = self.op;
        self.stream.try_next().await.map_err(|e| match e {
            NextRowError::RowDeserializationError(e) => corrupt(op, e),
            other => backend(op)(other.to_string()),
        })
    }
}

/// A projection value: `1` + the value, or `0` for a deleted key. Deletes are writes, so a
/// retried commit overwrites them like any value, on every CQL server.
pub(super) fn projected(v: Option<&[u8]>) -> Vec<u8> {
    match v {
        Some(v) => {
            let mut out = Vec::with_capacity(v.len() + 1);
            out.push(1);
            out.extend_from_slice(v);
            out
        }
        None => vec![0],
    }
}

/// The value a projection row holds, `None` for a deleted (or absent) key.
pub(super) fn unprojected(v: Option<Vec<u8>>) -> Option<Vec<u8>> {
    let v = v?;
    match v.split_first() {
        Some((1, value)) => Some(value.to_vec()),
        _ => None,
    }
}

/// The smallest key greater than every key starting with `prefix` (`None`: no bound).
pub(super) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// State writes in key order (`None` deletes).
pub(super) type Changes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// The format version byte that starts a changes blob.
const CHANGES_V1: u8 = 1;

/// The blob of commit links and snapshots: a version byte, then until the end each key
/// (length-prefixed) and a tag, `1` and the length-prefixed value or `0` for a delete.
pub(super) fn encode_changes<'a>(items: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(CHANGES_V1);
    for (k, v) in items {
        w.bytes(k);
        match v {
            Some(v) => w.u8(1).bytes(v),
            None => w.u8(0),
        };
    }
    w.finish()
}

pub(super) fn decode_changes(bytes: &[u8]) -> Result<Changes, DecodeError> {
    let mut r = Reader::new(bytes, "state changes");
    let version = r.u8()?;
    if version != CHANGES_V1 {
        return Err(r.unknown("format version", version));
    }
    let mut out = Vec::new();
    while !r.is_empty() {
        let k = r.bytes()?.to_vec();
        let v = match r.u8()? {
            1 => Some(r.bytes()?.to_vec()),
            0 => None,
            tag => return Err(r.unknown("value tag", tag)),
        };
        out.push((k, v));
    }
    Ok(out)
}

/// The blob of a pending-message list: the length-prefixed Avro messages, until the end.
pub(super) fn encode_messages(ms: &[&Message]) -> Vec<u8> {
    let mut w = Writer::new();
    for m in ms {
        w.bytes(&encode_message(m));
    }
    w.finish()
}

pub(super) fn decode_messages(bytes: &[u8]) -> Result<Vec<Message>, DecodeError> {
    let mut r = Reader::new(bytes, "message list");
    let mut out = Vec::new();
    while !r.is_empty() {
        let m = r.bytes()?;
        out.push(decode_message(m).map_err(|e| r.item(e))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::ChainPos;

    fn changes() -> Changes {
        vec![
            (b"a".to_vec(), Some(b"1".to_vec())),
            (b"b".to_vec(), None),
            (vec![], Some(vec![])),
        ]
    }

    fn encoded_changes() -> Vec<u8> {
        encode_changes(changes().iter().map(|(k, v)| (k.as_slice(), v.as_deref())))
    }

    fn message() -> Message {
        Message {
            from: "dex".into(),
            to: "token".into(),
            pos: ChainPos::new(7, 1, 2),
            seq: 3,
            kind: "Credit".into(),
            payload: "{}".into(),
        }
    }

    /// The bytes of the formats before the shared codec existed (rows already stored must
    /// keep decoding).
    #[test]
    fn the_formats_are_pinned() {
        assert_eq!(
            hex::encode(encoded_changes()),
            "010000000161010000000131000000016200000000000100000000"
        );
        assert_eq!(encode_changes(std::iter::empty()), [1]);
        let m = "00000022c3018e763bd9a1108b23066465780a746f6b656e0e0204060c437265646974047b7d";
        assert_eq!(
            hex::encode(encode_messages(&[&message(), &message()])),
            format!("{m}{m}")
        );
        assert!(encode_messages(&[]).is_empty());
    }

    #[test]
    fn round_trips() {
        assert_eq!(decode_changes(&encoded_changes()), Ok(changes()));
        assert_eq!(decode_changes(&[1]), Ok(vec![]));
        let ms = vec![message(), message()];
        assert_eq!(decode_messages(&encode_messages(&[&ms[0], &ms[1]])), Ok(ms));
        assert_eq!(decode_messages(&[]), Ok(vec![]));
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        let enc = encoded_changes();
        for cut in 0..enc.len() {
            // Cutting right after a whole item leaves a valid, shorter list.
            if [1, 12, 18].contains(&cut) {
                continue;
            }
            assert!(decode_changes(&enc[..cut]).is_err(), "changes cut at {cut}");
        }
        assert!(matches!(
            decode_changes(&[2]),
            Err(DecodeError::Unknown { value: 2, .. })
        ));
        assert!(matches!(
            decode_changes(&[1, 0, 0, 0, 0, 7]),
            Err(DecodeError::Unknown { value: 7, .. })
        ));
        let msgs = encode_messages(&[&message()]);
        for cut in 1..msgs.len() {
            assert!(decode_messages(&msgs[..cut]).is_err(), "messages cut at {cut}");
        }
        assert!(decode_messages(&[0, 0, 0, 2, 1, 2]).is_err(), "not a message");
    }

    #[test]
    fn oversized_lengths_are_errors() {
        assert!(matches!(
            decode_changes(&[1, 0xFF, 0xFF, 0xFF, 0xFF, 0]),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            decode_messages(&[0xFF, 0xFF, 0xFF, 0xFF]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn projection_values_and_prefix_bounds() {
        assert_eq!(unprojected(Some(projected(Some(b"v")))), Some(b"v".to_vec()));
        assert_eq!(unprojected(Some(projected(None))), None);
        assert_eq!(unprojected(Some(vec![])), None);
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[0x61, 0xFF]), Some(vec![0x62]));
        assert_eq!(prefix_end(&[0xFF]), None);
    }
}
