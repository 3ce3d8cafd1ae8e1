//! The CQL schema and every statement the backend runs, prepared once at connect.

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

pub(super) struct Statements {
    pub get_progress: PreparedStatement,
    pub all_progress: PreparedStatement,
    pub put_progress: PreparedStatement,
    pub get_commit: PreparedStatement,
    pub put_commit: PreparedStatement,
    pub snapshot_list: PreparedStatement,
    pub snapshot_get: PreparedStatement,
    pub snapshot_put: PreparedStatement,
    pub state_put: PreparedStatement,
    pub state_get: PreparedStatement,
    pub state_scan: PreparedStatement,
    /// A clustering-range read of the state projection, when the server can bind it.
    pub state_range: Option<PreparedStatement>,
    pub event_put: PreparedStatement,
    pub event_scan: PreparedStatement,
    pub event_bucket_put: PreparedStatement,
    pub event_buckets: PreparedStatement,
    pub status_put: PreparedStatement,
    pub status_get: PreparedStatement,
    pub checkpoint_put: PreparedStatement,
    pub checkpoint_get: PreparedStatement,
    pub checkpoint_list: PreparedStatement,
    pub extra_pending_put: PreparedStatement,
    pub extra_pending_all: PreparedStatement,
    pub meta_put: PreparedStatement,
    pub meta_get: PreparedStatement,
}

impl Statements {
    /// Prepares every statement against the keyspace `ks`.
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        let p = |q: String| async move {
            session
                .prepare(q.clone())
                .await
                .map_err(|e| StoreError::backend("prepare a statement", format!("{e}: {q}")))
        };
        // A clustering-range read is what a real cluster does for prefix scans. The CQL test
        // double prepares it with one bind marker instead of three (it cannot bind range
        // markers); then scans read the partition and filter. Decided once, here.
        let state_range = session
            .prepare(format!(
                "SELECT key, value FROM {ks}.state WHERE module = ? AND key >= ? AND key < ?"
            ))
            .await
            .ok()
            .filter(|p| p.get_variable_col_specs().len() == 3);
        Ok(Statements {
            get_progress: p(format!(
                "SELECT block, next_offset, lattice, prev FROM {ks}.progress WHERE module = ?"
            ))
            .await?,
            all_progress: p(format!("SELECT module, pending FROM {ks}.progress")).await?,
            put_progress: p(format!(
                "INSERT INTO {ks}.progress (module, block, next_offset, lattice, pending, prev) VALUES (?, ?, ?, ?, ?, ?)"
            ))
            .await?,
            get_commit: p(format!(
                "SELECT prev_block, block, changes FROM {ks}.commits WHERE module = ? AND prev_block = ?"
            ))
            .await?,
            put_commit: p(format!(
                "INSERT INTO {ks}.commits (module, prev_block, block, changes) VALUES (?, ?, ?, ?)"
            ))
            .await?,
            snapshot_list: p(format!("SELECT block, hash FROM {ks}.snapshots WHERE module = ?")).await?,
            snapshot_get: p(format!(
                "SELECT block, hash, pairs FROM {ks}.snapshots WHERE module = ? AND block = ?"
            ))
            .await?,
            snapshot_put: p(format!(
                "INSERT INTO {ks}.snapshots (module, block, hash, pairs) VALUES (?, ?, ?, ?)"
            ))
            .await?,
            state_put: p(format!("INSERT INTO {ks}.state (module, key, value) VALUES (?, ?, ?)")).await?,
            state_get: p(format!("SELECT key, value FROM {ks}.state WHERE module = ? AND key = ?")).await?,
            state_scan: p(format!("SELECT key, value FROM {ks}.state WHERE module = ?")).await?,
            state_range,
            event_put: p(format!(
                "INSERT INTO {ks}.events (part, block, trx, op, seq, data) VALUES (?, ?, ?, ?, ?, ?)"
            ))
            .await?,
            event_scan: p(format!("SELECT block, trx, op, seq, data FROM {ks}.events WHERE part = ?")).await?,
            event_bucket_put: p(format!("INSERT INTO {ks}.event_buckets (module, bucket) VALUES (?, ?)")).await?,
            event_buckets: p(format!("SELECT bucket FROM {ks}.event_buckets WHERE module = ?")).await?,
            status_put: p(format!(
                "INSERT INTO {ks}.statuses (txid, block, trx, op, module, data) VALUES (?, ?, ?, ?, ?, ?)"
            ))
            .await?,
            status_get: p(format!(
                "SELECT block, trx, op, module, data FROM {ks}.statuses WHERE txid = ?"
            ))
            .await?,
            checkpoint_put: p(format!(
                "INSERT INTO {ks}.checkpoints (module, block, hash) VALUES (?, ?, ?)"
            ))
            .await?,
            checkpoint_get: p(format!(
                "SELECT block, hash FROM {ks}.checkpoints WHERE module = ? AND block = ?"
            ))
            .await?,
            checkpoint_list: p(format!("SELECT block, hash FROM {ks}.checkpoints WHERE module = ?")).await?,
            extra_pending_put: p(format!("INSERT INTO {ks}.pending (target, messages) VALUES (?, ?)")).await?,
            extra_pending_all: p(format!("SELECT target, messages FROM {ks}.pending")).await?,
            meta_put: p(format!("INSERT INTO {ks}.meta (key, value) VALUES (?, ?)")).await?,
            meta_get: p(format!("SELECT value FROM {ks}.meta WHERE key = ?")).await?,
        })
    }
}
