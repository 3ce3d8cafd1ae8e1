//! The CQL schema and every statement the backend runs, prepared once at connect, with
//! the page size of every read.

use super::rows::rows_of;
use crate::StoreError;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

/// The CQL schema, with `{ks}` for the keyspace (also in `infra/scylla/schema.cql`).
pub const SCHEMA: &str = include_str!("../../../../infra/scylla/schema.cql");

/// Creates the keyspace and tables if missing (every statement of [`SCHEMA`] is
/// `IF NOT EXISTS`).
pub(super) async fn create_schema(session: &Session, keyspace: &str, replication: &str) -> Result<(), StoreError> {
    let without_comments: String = SCHEMA
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    for stmt in without_comments.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let stmt = stmt.replace("{ks}", keyspace).replace("{replication}", replication);
        session
            .query_unpaged(stmt.clone(), &[])
            .await
            .map_err(|e| StoreError::backend("create the ScyllaDB schema", format!("{e}: {stmt}")))?;
    }
    Ok(())
}

/// The layout this build writes and reads (see `infra/scylla/schema.cql`), recorded in
/// `meta` under [`FORMAT_KEY`].
const FORMAT: &[u8] = b"2";
const FORMAT_KEY: &str = "store/format";

/// Records the store format in a new keyspace, and refuses a keyspace of another format
/// (format 1 kept state in tables this build no longer reads) with what to do.
pub(super) async fn claim_format(session: &Session, st: &Statements) -> Result<(), StoreError> {
    let refuse = |detail: String| {
        StoreError::Corrupt {
        what: "the ScyllaDB keyspace".into(),
        detail: format!(
            "{detail}; this build reads store format 2: rebuild the state with `opentoken replay` into a fresh keyspace \
             (or drop this one)"
        ),
    }
    };
    let found: Vec<(Vec<u8>,)> = rows_of(session, &st.meta_get, (FORMAT_KEY,), "read the store format").await?;
    match found.first() {
        Some((v,)) if v.as_slice() == FORMAT => Ok(()),
        Some((v,)) => Err(refuse(format!(
            "it holds store format {:?}",
            String::from_utf8_lossy(v)
        ))),
        None => {
            let progress: Vec<(String, Option<Vec<u8>>)> =
                rows_of(session, &st.all_progress, (), "read the store format").await?;
            if !progress.is_empty() {
                return Err(refuse("it was written by an older opentoken (store format 1)".into()));
            }
            session
                .execute_unpaged(&st.meta_put, (FORMAT_KEY, FORMAT.to_vec()))
                .await
                .map_err(|e| StoreError::backend("record the store format", e))?;
            Ok(())
        }
    }
}

/// Rows per page of reads whose rows are chunks (each up to [`CHUNK_BYTES`](super::writer::CHUNK_BYTES)).
const CHUNK_PAGE_ROWS: i32 = 8;

pub(super) struct Statements {
    pub get_progress: PreparedStatement,
    pub all_progress: PreparedStatement,
    pub put_progress: PreparedStatement,
    pub link_put: PreparedStatement,
    pub link_scan: PreparedStatement,
    pub link_delete: PreparedStatement,
    pub link_start_put: PreparedStatement,
    pub link_starts: PreparedStatement,
    pub link_start_delete: PreparedStatement,
    pub snapshot_chunk_put: PreparedStatement,
    pub snapshot_chunks: PreparedStatement,
    pub snapshot_chunks_delete: PreparedStatement,
    pub manifest_put: PreparedStatement,
    pub manifests: PreparedStatement,
    pub manifest_delete: PreparedStatement,
    pub projection_put: PreparedStatement,
    pub projection_get: PreparedStatement,
    pub projection_scan: PreparedStatement,
    /// A clustering-range read of the projection, when the server can bind it.
    pub projection_range: Option<PreparedStatement>,
    /// A clustering-range delete of a key's older versions, when the server can bind it.
    pub projection_prune: Option<PreparedStatement>,
    pub event_put: PreparedStatement,
    pub event_scan: PreparedStatement,
    pub event_bucket_put: PreparedStatement,
    pub event_buckets: PreparedStatement,
    pub status_put: PreparedStatement,
    pub status_get: PreparedStatement,
    pub status_delete: PreparedStatement,
    pub status_index_put: PreparedStatement,
    pub status_index_scan: PreparedStatement,
    pub status_index_delete: PreparedStatement,
    pub status_bucket_put: PreparedStatement,
    pub status_buckets: PreparedStatement,
    /// The buckets below one, when the server can bind a clustering range.
    pub status_buckets_below: Option<PreparedStatement>,
    pub status_bucket_delete: PreparedStatement,
    pub checkpoint_put: PreparedStatement,
    pub checkpoint_get: PreparedStatement,
    pub checkpoint_list: PreparedStatement,
    pub extra_pending_put: PreparedStatement,
    pub extra_pending_all: PreparedStatement,
    pub meta_put: PreparedStatement,
    pub meta_get: PreparedStatement,
}

impl Statements {
    /// Prepares every statement against the keyspace `ks`; every read fetches `page_rows`
    /// rows per page (chunk reads fewer: their rows are large).
    pub(super) async fn prepare(session: &Session, ks: &str, page_rows: i32) -> Result<Self, StoreError> {
        let p = |q: String| async move {
            session
                .prepare(q.clone())
                .await
                .map_err(|e| StoreError::backend("prepare a statement", format!("{e}: {q}")))
        };
        let sel = |q: String, page: i32| async move {
            let mut stmt = p(q).await?;
            stmt.set_page_size(page);
            Ok::<_, StoreError>(stmt)
        };
        let rows = page_rows;
        // Clustering-range statements are what a real cluster runs for prefix scans and for
        // deleting a key's older versions. The CQL test double prepares them with fewer
        // bind markers than they have (it cannot bind range markers); then scans read the
        // partition and filter, and older versions stay. Decided once, here.
        let ranged = |q: String, markers: usize, page: i32| async move {
            let mut stmt = session
                .prepare(q)
                .await
                .ok()
                .filter(|p| p.get_variable_col_specs().len() == markers)?;
            stmt.set_page_size(page);
            Some(stmt)
        };
        let projection_range = ranged(
            format!("SELECT key, block, value FROM {ks}.projection WHERE module = ? AND key >= ? AND key < ?"),
            3,
            rows,
        )
        .await;
        let projection_prune = ranged(
            format!("DELETE FROM {ks}.projection WHERE module = ? AND key = ? AND block < ?"),
            3,
            rows,
        )
        .await;
        let status_buckets_below = ranged(
            format!("SELECT bucket FROM {ks}.status_buckets WHERE module = ? AND bucket < ?"),
            2,
            rows,
        )
        .await;
        Ok(Statements {
            get_progress: p(format!(
                "SELECT block, next_offset, lattice, prev FROM {ks}.progress WHERE module = ?"
            ))
            .await?,
            all_progress: sel(format!("SELECT module, pending FROM {ks}.progress"), rows).await?,
            put_progress: p(format!(
                "INSERT INTO {ks}.progress (module, block, next_offset, lattice, pending, prev) VALUES (?, ?, ?, ?, ?, ?)"
            ))
            .await?,
            link_put: p(format!(
                "INSERT INTO {ks}.links (part, block, next_offset, chunk, chunks, len, start_offset, before, data) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .await?,
            link_scan: sel(
                format!(
                    "SELECT block, next_offset, chunk, chunks, len, start_offset, before, data FROM {ks}.links \
                     WHERE part = ?"
                ),
                CHUNK_PAGE_ROWS,
            )
            .await?,
            link_delete: p(format!("DELETE FROM {ks}.links WHERE part = ?")).await?,
            link_start_put: p(format!("INSERT INTO {ks}.link_starts (module, start) VALUES (?, ?)")).await?,
            link_starts: sel(format!("SELECT start FROM {ks}.link_starts WHERE module = ?"), rows).await?,
            link_start_delete: p(format!("DELETE FROM {ks}.link_starts WHERE module = ? AND start = ?")).await?,
            snapshot_chunk_put: p(format!(
                "INSERT INTO {ks}.snapshot_chunks (part, chunk, data) VALUES (?, ?, ?)"
            ))
            .await?,
            snapshot_chunks: sel(
                format!("SELECT chunk, data FROM {ks}.snapshot_chunks WHERE part = ?"),
                CHUNK_PAGE_ROWS,
            )
            .await?,
            snapshot_chunks_delete: p(format!("DELETE FROM {ks}.snapshot_chunks WHERE part = ?")).await?,
            manifest_put: p(format!(
                "INSERT INTO {ks}.snapshot_manifests (module, block, chunks, len, pairs, hash) VALUES (?, ?, ?, ?, ?, ?)"
            ))
            .await?,
            manifests: sel(
                format!("SELECT block, chunks, len, pairs, hash FROM {ks}.snapshot_manifests WHERE module = ?"),
                rows,
            )
            .await?,
            manifest_delete: p(format!(
                "DELETE FROM {ks}.snapshot_manifests WHERE module = ? AND block = ?"
            ))
            .await?,
            projection_put: p(format!(
                "INSERT INTO {ks}.projection (module, key, block, value) VALUES (?, ?, ?, ?)"
            ))
            .await?,
            projection_get: sel(
                format!("SELECT key, block, value FROM {ks}.projection WHERE module = ? AND key = ?"),
                rows,
            )
            .await?,
            projection_scan: sel(format!("SELECT key, block, value FROM {ks}.projection WHERE module = ?"), rows).await?,
            projection_range,
            projection_prune,
            event_put: p(format!(
                "INSERT INTO {ks}.events (part, block, trx, op, seq, data) VALUES (?, ?, ?, ?, ?, ?)"
            ))
            .await?,
            event_scan: sel(format!("SELECT block, trx, op, seq, data FROM {ks}.events WHERE part = ?"), rows).await?,
            event_bucket_put: p(format!("INSERT INTO {ks}.event_buckets (module, bucket) VALUES (?, ?)")).await?,
            event_buckets: sel(format!("SELECT bucket FROM {ks}.event_buckets WHERE module = ?"), rows).await?,
            status_put: p(format!(
                "INSERT INTO {ks}.statuses (txid, block, trx, op, module, data) VALUES (?, ?, ?, ?, ?, ?)"
            ))
            .await?,
            status_get: sel(
                format!("SELECT block, trx, op, module, data FROM {ks}.statuses WHERE txid = ?"),
                rows,
            )
            .await?,
            status_delete: p(format!(
                "DELETE FROM {ks}.statuses WHERE txid = ? AND block = ? AND trx = ? AND op = ? AND module = ?"
            ))
            .await?,
            status_index_put: p(format!(
                "INSERT INTO {ks}.status_index (part, block, trx, op, txid) VALUES (?, ?, ?, ?, ?)"
            ))
            .await?,
            status_index_scan: sel(
                format!("SELECT block, trx, op, txid FROM {ks}.status_index WHERE part = ?"),
                rows,
            )
            .await?,
            status_index_delete: p(format!("DELETE FROM {ks}.status_index WHERE part = ?")).await?,
            status_bucket_put: p(format!("INSERT INTO {ks}.status_buckets (module, bucket) VALUES (?, ?)")).await?,
            status_buckets: sel(format!("SELECT bucket FROM {ks}.status_buckets WHERE module = ?"), rows).await?,
            status_buckets_below,
            status_bucket_delete: p(format!(
                "DELETE FROM {ks}.status_buckets WHERE module = ? AND bucket = ?"
            ))
            .await?,
            checkpoint_put: p(format!(
                "INSERT INTO {ks}.checkpoints (module, block, hash) VALUES (?, ?, ?)"
            ))
            .await?,
            checkpoint_get: sel(
                format!("SELECT block, hash FROM {ks}.checkpoints WHERE module = ? AND block = ?"),
                rows,
            )
            .await?,
            checkpoint_list: sel(format!("SELECT block, hash FROM {ks}.checkpoints WHERE module = ?"), rows).await?,
            extra_pending_put: p(format!("INSERT INTO {ks}.pending (target, messages) VALUES (?, ?)")).await?,
            extra_pending_all: sel(format!("SELECT target, messages FROM {ks}.pending"), rows).await?,
            meta_put: p(format!("INSERT INTO {ks}.meta (key, value) VALUES (?, ?)")).await?,
            meta_get: p(format!("SELECT value FROM {ks}.meta WHERE key = ?")).await?,
        })
    }
}
