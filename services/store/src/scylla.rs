//! The ScyllaDB backend of [`Store`] (the `scylla` driver, CQL schema in
//! `infra/scylla/schema.cql`).
//!
//! ScyllaDB has no multi-partition transactions, so a commit is a sequence of idempotent
//! writes keyed by chain position with each module's progress row written last:
//!
//! 1. refuse the whole batch if it contradicts what is stored (progress going back, a
//!    checkpoint with another hash) before writing anything;
//! 2. the module's change set as one row `commits(module, prev_block) -> (block, changes)`,
//!    a link in a chain from the genesis (or a snapshot) to the committed block;
//! 3. at a checkpoint block, a snapshot of the whole state, keyed by block and carrying its
//!    state commitment (content-addressed: it is verified against the hash on load);
//! 4. the current-state projection the API reads (`state`), events, statuses, checkpoints;
//! 5. the progress row: block, offset, lattice, pending messages and the chain link it
//!    ends, in one row (a single-row write is atomic).
//!
//! A crash anywhere before 5 leaves rows ahead of the progress row. None of them is ever
//! read as committed state: [`Store::load_module`] starts from the newest verified snapshot
//! at or below the progress block and follows the commit chain exactly up to the progress
//! block; the processor then checks the result against the committed lattice. The stray commit link is
//! overwritten by the retried commit (same `prev_block`), the projection converges when the
//! same blocks are committed again, and event and checkpoint rows ahead of progress are
//! the ones the retried commit writes again (chain positions are deterministic).
//!
//! Writes across modules are not atomic as a group: each module's progress row commits
//! that module. In distributed mode a processor runs one module, so this is the unit anyway.

use crate::{CommitBatch, LoadedModule, Pair, Progress, Store, StoreError};
use opentoken_codec::{decode_event_record, decode_message, decode_op_status};
use opentoken_codec::{encode_event_record, encode_message, encode_op_status};
use opentoken_core::commitment::LtHash;
use opentoken_core::{EventRecord, Message, ModuleCheckpoint, OpStatus};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::prepared::PreparedStatement;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Blocks per partition of the events table: bounded partitions, and a read from a block
/// touches only the partitions from there on.
const EVENT_BUCKET: u64 = 1000;

/// The CQL schema, with `{ks}` for the keyspace (also in `infra/scylla/schema.cql`).
pub const SCHEMA: &str = include_str!("../../../infra/scylla/schema.cql");

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct ScyllaConfig {
    /// `host:port[,host:port]`.
    pub nodes: Vec<String>,
    pub keyspace: String,
    /// The keyspace's replication, e.g. `{'class': 'NetworkTopologyStrategy', 'replication_factor': 3}`.
    pub replication: String,
    /// Attempts (with backoff) to reach the cluster at start.
    pub connect_attempts: u32,
}

impl ScyllaConfig {
    /// From `scylla://host:port[,host:port]/keyspace`.
    pub fn from_uri(uri: &str) -> Result<Self, StoreError> {
        let rest = uri.strip_prefix("scylla://").ok_or_else(|| StoreError::Backend {
            op: "parse scylla uri",
            detail: format!("{uri:?} does not start with scylla:// (expected scylla://host:port/keyspace)"),
        })?;
        let (hosts, keyspace) = rest.split_once('/').unwrap_or((rest, "opentoken"));
        let keyspace = if keyspace.is_empty() { "opentoken" } else { keyspace };
        if !keyspace.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Backend {
                op: "parse scylla uri",
                detail: format!("keyspace {keyspace:?} must be letters, digits and _"),
            });
        }
        Ok(Self {
            nodes: hosts.split(',').filter(|h| !h.is_empty()).map(str::to_string).collect(),
            keyspace: keyspace.to_string(),
            replication: "{'class': 'SimpleStrategy', 'replication_factor': 1}".into(),
            connect_attempts: 30,
        })
    }
}

struct Statements {
    get_progress: PreparedStatement,
    all_progress: PreparedStatement,
    put_progress: PreparedStatement,
    get_commit: PreparedStatement,
    put_commit: PreparedStatement,
    snapshot_list: PreparedStatement,
    snapshot_get: PreparedStatement,
    snapshot_put: PreparedStatement,
    state_put: PreparedStatement,
    state_get: PreparedStatement,
    state_scan: PreparedStatement,
    state_range: Option<PreparedStatement>,
    event_put: PreparedStatement,
    event_scan: PreparedStatement,
    event_bucket_put: PreparedStatement,
    event_buckets: PreparedStatement,
    status_put: PreparedStatement,
    status_get: PreparedStatement,
    checkpoint_put: PreparedStatement,
    checkpoint_get: PreparedStatement,
    checkpoint_list: PreparedStatement,
    extra_pending_put: PreparedStatement,
    extra_pending_all: PreparedStatement,
    meta_put: PreparedStatement,
    meta_get: PreparedStatement,
}

pub struct ScyllaStore {
    runtime: Option<tokio::runtime::Runtime>,
    session: Arc<Session>,
    st: Arc<Statements>,
    /// Test hook: fail the next commit after this many writes (-1: off), as a crash would.
    crash_after: AtomicI64,
}

fn backend(op: &'static str) -> impl Fn(String) -> StoreError {
    move |detail| StoreError::Backend {
        op,
        detail: format!("{detail}; is ScyllaDB reachable (--scylla-uri)?"),
    }
}

fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        detail: format!("{detail}; rebuild the module with `opentoken replay` into a fresh keyspace"),
    }
}

/// A length-prefixed list of `(key, Option<value>)`; the format of commit and snapshot rows.
fn encode_changes<'a>(items: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>) -> Vec<u8> {
    let mut out = vec![1u8]; // format version
    for (k, v) in items {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        match v {
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
            None => out.push(0),
        }
    }
    out
}

type Changes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn decode_changes(bytes: &[u8]) -> Option<Changes> {
    let (&version, mut rest) = bytes.split_first()?;
    if version != 1 {
        return None;
    }
    let mut out = Vec::new();
    let take = |rest: &mut &[u8], n: usize| -> Option<Vec<u8>> {
        if rest.len() < n {
            return None;
        }
        let (a, b) = rest.split_at(n);
        *rest = b;
        Some(a.to_vec())
    };
    let len = |rest: &mut &[u8]| -> Option<usize> {
        let b = take(rest, 4)?;
        Some(u32::from_be_bytes(b.try_into().ok()?) as usize)
    };
    while !rest.is_empty() {
        let kl = len(&mut rest)?;
        let k = take(&mut rest, kl)?;
        let tag = take(&mut rest, 1)?;
        let v = match tag[0] {
            1 => {
                let vl = len(&mut rest)?;
                Some(take(&mut rest, vl)?)
            }
            0 => None,
            _ => return None,
        };
        out.push((k, v));
    }
    Some(out)
}

fn encode_messages(ms: &[&Message]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in ms {
        let b = encode_message(m);
        out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        out.extend_from_slice(&b);
    }
    out
}

fn decode_messages(mut bytes: &[u8]) -> Result<Vec<Message>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < 4 {
            return Err("truncated message list".into());
        }
        let (l, rest) = bytes.split_at(4);
        let n = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
        if rest.len() < n {
            return Err("truncated message".into());
        }
        let (m, rest) = rest.split_at(n);
        out.push(decode_message(m).map_err(|e| e.to_string())?);
        bytes = rest;
    }
    Ok(out)
}

fn i64_of(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Backend {
        op: "encode",
        detail: format!("{what} {v} exceeds the CQL bigint range"),
    })
}

/// The progress row as stored.
#[derive(Debug, Clone)]
struct ProgressRow {
    block: u64,
    next_offset: u64,
    lattice: Vec<u8>,
    /// The block the last commit link started from (-1: from nothing).
    prev: i64,
}

impl ScyllaStore {
    /// Connects (retrying with backoff while the cluster is not reachable), creates the
    /// keyspace and tables if missing, and prepares every statement.
    pub fn connect(cfg: &ScyllaConfig) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("opentoken-scylla")
            .enable_all()
            .build()
            .map_err(|e| StoreError::backend("start the ScyllaDB client runtime", e))?;
        let cfg2 = cfg.clone();
        let setup = runtime.handle().spawn(async move { Self::setup(&cfg2).await });
        let (session, st) =
            futures_executor::block_on(setup).map_err(|e| StoreError::backend("connect to ScyllaDB", e))??;
        Ok(Self {
            runtime: Some(runtime),
            session: Arc::new(session),
            st: Arc::new(st),
            crash_after: AtomicI64::new(-1),
        })
    }

    async fn setup(cfg: &ScyllaConfig) -> Result<(Session, Statements), StoreError> {
        let mut backoff = Duration::from_millis(200);
        let mut attempt = 0;
        let session = loop {
            attempt += 1;
            let built = SessionBuilder::new()
                .known_nodes(&cfg.nodes)
                // Real clusters agree on schema; the CQL test double has no peers table.
                .auto_await_schema_agreement(false)
                .fetch_schema_metadata(false)
                .build()
                .await;
            match built {
                Ok(s) => break s,
                Err(e) if attempt < cfg.connect_attempts => {
                    tracing::warn!(error = %e, attempt, "ScyllaDB not reachable at {:?}; retrying in {backoff:?}", cfg.nodes);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
                Err(e) => {
                    return Err(StoreError::backend(
                        "connect to ScyllaDB",
                        format!("{e} (nodes {:?}, {attempt} attempts)", cfg.nodes),
                    ))
                }
            }
        };
        let ks = &cfg.keyspace;
        let without_comments: String = SCHEMA
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        for stmt in without_comments.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let stmt = stmt.replace("{ks}", ks).replace("{replication}", &cfg.replication);
            session
                .query_unpaged(stmt.clone(), &[])
                .await
                .map_err(|e| StoreError::backend("create the ScyllaDB schema", format!("{e}: {stmt}")))?;
        }
        let p = |q: String| {
            let session = &session;
            async move {
                session
                    .prepare(q.clone())
                    .await
                    .map_err(|e| StoreError::backend("prepare a statement", format!("{e}: {q}")))
            }
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
        let st = Statements {
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
        };
        Ok((session, st))
    }

    /// Makes the next commit fail after `writes` writes, leaving what it wrote, as a
    /// process killed in the middle of a commit would. For crash tests.
    pub fn crash_next_commit_after(&self, writes: usize) {
        self.crash_after.store(writes as i64, Ordering::SeqCst);
    }

    /// Runs `f` on the store's runtime and waits for it from any thread (also from a thread
    /// of another runtime, where a nested `block_on` would panic).
    fn run<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(
            Arc<Session>,
            Arc<Statements>,
        ) -> std::pin::Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>,
    ) -> Result<T, StoreError> {
        let rt = self
            .runtime
            .as_ref()
            .ok_or_else(|| StoreError::backend(op, "the store is shut down"))?;
        let handle = rt.handle().spawn(f(self.session.clone(), self.st.clone()));
        futures_executor::block_on(handle).map_err(|e| StoreError::backend(op, e))?
    }

    fn progress_row(&self, module: &str) -> Result<Option<ProgressRow>, StoreError> {
        let module = module.to_string();
        self.run("read progress", move |s, st| {
            Box::pin(async move { read_progress(&s, &st, &module).await })
        })
    }
}

impl Drop for ScyllaStore {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

type Row4 = (i64, i64, Option<Vec<u8>>, i64);

async fn read_progress(s: &Session, st: &Statements, module: &str) -> Result<Option<ProgressRow>, StoreError> {
    let r = s
        .execute_unpaged(&st.get_progress, (module,))
        .await
        .map_err(|e| backend("read progress")(e.to_string()))?;
    let rows = r
        .into_rows_result()
        .map_err(|e| backend("read progress")(e.to_string()))?;
    let mut it = rows
        .rows::<Row4>()
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

async fn rows_of<R>(
    s: &Session,
    stmt: &PreparedStatement,
    values: impl scylla::serialize::row::SerializeRow,
    op: &'static str,
) -> Result<Vec<R>, StoreError>
where
    R: for<'f> scylla::deserialize::row::DeserializeRow<'f, 'f>,
{
    let r = s
        .execute_unpaged(stmt, values)
        .await
        .map_err(|e| backend(op)(e.to_string()))?;
    let rows = r.into_rows_result().map_err(|e| backend(op)(e.to_string()))?;
    let it = rows.rows::<R>().map_err(|e| backend(op)(e.to_string()))?;
    it.collect::<Result<Vec<R>, _>>().map_err(|e| corrupt(op, e))
}

const SIMULATED_CRASH: &str = "simulated crash in the middle of a commit";

/// Retries `f` on transient backend errors (timeouts, a node going away): every write is
/// idempotent and a commit re-run after a partial one converges, so retrying is safe.
/// Conflicts, corruption and the crash-test hook are not retried.
fn with_retries<T>(op: &str, mut f: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
    let mut backoff = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match f() {
            Err(StoreError::Backend { op: o, detail }) if o != SIMULATED_CRASH && attempt < 5 => {
                tracing::warn!(attempt, "ScyllaDB {op} failed ({o}: {detail}); retrying in {backoff:?}");
                std::thread::sleep(backoff);
                backoff *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Counts writes and stops at the crash point of a crash test.
struct Writes<'a> {
    left: &'a AtomicI64,
}

impl Writes<'_> {
    fn tick(&self) -> Result<(), StoreError> {
        let left = self.left.load(Ordering::SeqCst);
        if left == 0 {
            self.left.store(-1, Ordering::SeqCst);
            return Err(StoreError::backend(
                SIMULATED_CRASH,
                "the test hook stopped the commit here",
            ));
        }
        if left > 0 {
            self.left.store(left - 1, Ordering::SeqCst);
        }
        Ok(())
    }
}

impl Store for ScyllaStore {
    fn wants_snapshots(&self) -> bool {
        true
    }

    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        let crash = self.crash_after.load(Ordering::SeqCst);
        let crash = Arc::new(AtomicI64::new(crash));
        let result = with_retries("commit", || {
            let (batch, crash) = (batch.clone(), crash.clone());
            self.run("commit", move |s, st| {
                Box::pin(async move { commit(&s, &st, &batch, &crash).await })
            })
        });
        // A crash hook fires once.
        if crash.load(Ordering::SeqCst) < 0 {
            self.crash_after.store(-1, Ordering::SeqCst);
        }
        result
    }

    fn load_module(&self, module: &str) -> Result<LoadedModule, StoreError> {
        with_retries("load", || {
            let module = module.to_string();
            self.run("load module", move |s, st| {
                Box::pin(async move { load(&s, &st, &module).await })
            })
        })
    }

    fn progress(&self, module: &str) -> Result<Option<Progress>, StoreError> {
        Ok(self.progress_row(module)?.map(|p| Progress {
            block: p.block,
            next_offset: p.next_offset,
        }))
    }

    fn get(&self, module: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let (module, key) = (module.to_string(), key.to_vec());
        self.run("read state", move |s, st| {
            Box::pin(async move {
                let rows: Vec<(Vec<u8>, Option<Vec<u8>>)> =
                    rows_of(&s, &st.state_get, (module, key.clone()), "read state").await?;
                Ok(rows
                    .into_iter()
                    .find(|(k, _)| *k == key)
                    .and_then(|(_, v)| unprojected(v)))
            })
        })
    }

    fn scan_prefix(&self, module: &str, prefix: &[u8], limit: usize) -> Result<Vec<Pair>, StoreError> {
        let (module, prefix) = (module.to_string(), prefix.to_vec());
        self.run("scan state", move |s, st| {
            Box::pin(async move {
                let upper = prefix_end(&prefix);
                let rows: Vec<(Vec<u8>, Option<Vec<u8>>)> = match (&st.state_range, &upper) {
                    (Some(range), Some(upper)) => {
                        rows_of(&s, range, (module.clone(), prefix.clone(), upper.clone()), "scan state").await?
                    }
                    _ => rows_of(&s, &st.state_scan, (module.clone(),), "scan state").await?,
                };
                let mut rows: Vec<(Vec<u8>, Vec<u8>)> = rows
                    .into_iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .filter_map(|(k, v)| unprojected(v).map(|v| (k, v)))
                    .collect();
                rows.sort();
                rows.truncate(limit);
                Ok(rows)
            })
        })
    }

    fn statuses(&self, txid: &str) -> Result<Vec<OpStatus>, StoreError> {
        let txid = txid.to_string();
        self.run("read statuses", move |s, st| {
            Box::pin(async move {
                let mut rows: Vec<(i64, i64, i64, String, Vec<u8>)> =
                    rows_of(&s, &st.status_get, (txid.clone(),), "read statuses").await?;
                rows.sort_by(|a, b| (a.0, a.1, a.2, &a.3).cmp(&(b.0, b.1, b.2, &b.3)));
                rows.into_iter()
                    .map(|r| decode_op_status(&r.4).map_err(|e| corrupt(format!("status of transaction {txid}"), e)))
                    .collect()
            })
        })
    }

    fn events(&self, module: &str, from_block: u64, limit: usize) -> Result<Vec<EventRecord>, StoreError> {
        let module = module.to_string();
        self.run("read events", move |s, st| {
            Box::pin(async move {
                let mut buckets: Vec<(i64,)> = rows_of(&s, &st.event_buckets, (module.clone(),), "read events").await?;
                buckets.retain(|(b,)| *b >= 0 && (*b as u64) >= from_block / EVENT_BUCKET);
                buckets.sort();
                let mut out = Vec::new();
                for (bucket,) in buckets {
                    if out.len() >= limit {
                        break;
                    }
                    let part = format!("{module}/{bucket}");
                    let mut rows: Vec<(i64, i64, i64, i64, Vec<u8>)> =
                        rows_of(&s, &st.event_scan, (part,), "read events").await?;
                    rows.sort_by_key(|r| (r.0, r.1, r.2, r.3));
                    for r in rows.into_iter().filter(|r| r.0 >= 0 && r.0 as u64 >= from_block) {
                        if out.len() >= limit {
                            break;
                        }
                        out.push(decode_event_record(&r.4).map_err(|e| corrupt(format!("event of {module}"), e))?);
                    }
                }
                Ok(out)
            })
        })
    }

    /// Checkpoint rows can be ahead of progress after a crash (they are rewritten with the
    /// same hash when the blocks are committed again); readers compare with progress, as
    /// the checkpointer does.
    fn checkpoint(&self, module: &str, block: u64) -> Result<Option<[u8; 32]>, StoreError> {
        let module = module.to_string();
        let b = i64_of(block, "block")?;
        self.run("read checkpoint", move |s, st| {
            Box::pin(async move {
                let rows: Vec<(i64, Vec<u8>)> = rows_of(&s, &st.checkpoint_get, (module, b), "read checkpoint").await?;
                rows.into_iter()
                    .find(|(block, _)| *block == b)
                    .map(|(_, h)| h.try_into().map_err(|_| corrupt("checkpoint hash", "not 32 bytes")))
                    .transpose()
            })
        })
    }

    fn checkpoints(&self, module: &str) -> Result<Vec<ModuleCheckpoint>, StoreError> {
        let module = module.to_string();
        self.run("read checkpoints", move |s, st| {
            Box::pin(async move {
                let rows: Vec<(i64, Vec<u8>)> =
                    rows_of(&s, &st.checkpoint_list, (module.clone(),), "read checkpoints").await?;
                let mut out = Vec::new();
                for (b, h) in rows {
                    out.push(ModuleCheckpoint {
                        module: module.clone(),
                        block: u64::try_from(b).map_err(|e| corrupt("checkpoint block", e))?,
                        hash: h.try_into().map_err(|_| corrupt("checkpoint hash", "not 32 bytes"))?,
                    });
                }
                out.sort_by_key(|c| c.block);
                Ok(out)
            })
        })
    }

    fn pending_messages(&self) -> Result<Vec<Message>, StoreError> {
        self.run("read pending messages", move |s, st| {
            Box::pin(async move {
                let mut out = Vec::new();
                let rows: Vec<(String, Option<Vec<u8>>)> =
                    rows_of(&s, &st.all_progress, (), "read pending messages").await?;
                let extra: Vec<(String, Option<Vec<u8>>)> =
                    rows_of(&s, &st.extra_pending_all, (), "read pending messages").await?;
                for (target, blob) in rows.into_iter().chain(extra) {
                    out.extend(
                        decode_messages(&blob.unwrap_or_default())
                            .map_err(|e| corrupt(format!("pending messages for {target}"), e))?,
                    );
                }
                // Delivery order: source module, position, emission order.
                out.sort_by(|a, b| (&a.from, a.pos, a.seq, &a.to).cmp(&(&b.from, b.pos, b.seq, &b.to)));
                Ok(out)
            })
        })
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let (key, value) = (key.to_string(), value.to_vec());
        self.run("write meta", move |s, st| {
            Box::pin(async move {
                s.execute_unpaged(&st.meta_put, (key, value))
                    .await
                    .map_err(|e| backend("write meta")(e.to_string()))?;
                Ok(())
            })
        })
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_string();
        self.run("read meta", move |s, st| {
            Box::pin(async move {
                let rows: Vec<(Vec<u8>,)> = rows_of(&s, &st.meta_get, (key,), "read meta").await?;
                Ok(rows.into_iter().next().map(|(v,)| v))
            })
        })
    }
}

/// A projection value: `1` + the value, or `0` for a deleted key. Deletes are writes, so a
/// retried commit overwrites them like any value, on every CQL server.
fn projected(v: Option<&[u8]>) -> Vec<u8> {
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

fn unprojected(v: Option<Vec<u8>>) -> Option<Vec<u8>> {
    let v = v?;
    match v.first() {
        Some(1) => Some(v[1..].to_vec()),
        _ => None,
    }
}

/// The smallest key greater than every key starting with `prefix` (`None`: no bound).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

async fn exec(
    s: &Session,
    stmt: &PreparedStatement,
    values: impl scylla::serialize::row::SerializeRow,
    writes: &Writes<'_>,
) -> Result<(), StoreError> {
    writes.tick()?;
    s.execute_unpaged(stmt, values)
        .await
        .map_err(|e| backend("commit")(e.to_string()))?;
    Ok(())
}

async fn commit(s: &Session, st: &Statements, batch: &CommitBatch, crash: &AtomicI64) -> Result<(), StoreError> {
    let writes = Writes { left: crash };
    // 1. Refuse contradictions before writing anything.
    let mut prior: BTreeMap<&str, Option<ProgressRow>> = BTreeMap::new();
    for m in &batch.modules {
        let old = read_progress(s, st, &m.module).await?;
        if let Some(old) = &old {
            if m.progress.block < old.block || m.progress.next_offset < old.next_offset {
                return Err(StoreError::Conflict {
                    detail: format!(
                        "module {}: progress would go back from block {} offset {} to block {} offset {}; another \
                         processor instance of this module has committed further (stop the stale one)",
                        m.module, old.block, old.next_offset, m.progress.block, m.progress.next_offset
                    ),
                });
            }
        }
        prior.insert(m.module.as_str(), old);
    }
    for c in &batch.checkpoints {
        let b = i64_of(c.block, "block")?;
        let rows: Vec<(i64, Vec<u8>)> =
            rows_of(s, &st.checkpoint_get, (c.module.clone(), b), "read checkpoint").await?;
        if let Some((_, old)) = rows.into_iter().find(|(block, _)| *block == b) {
            if old.as_slice() != c.hash {
                return Err(StoreError::Conflict {
                    detail: format!(
                        "module {}: checkpoint at block {} is already recorded with a different hash; this node's \
                         state diverged from what it committed before (non-determinism or a changed module version): \
                         rebuild the module with `opentoken replay`",
                        c.module, c.block
                    ),
                });
            }
        }
    }

    // 2. + 3. Commit links and snapshots.
    let mut links: BTreeMap<&str, i64> = BTreeMap::new();
    for m in &batch.modules {
        let block = i64_of(m.progress.block, "block")?;
        let old = prior.get(m.module.as_str()).cloned().flatten();
        // A re-commit of the committed block extends the link that ends there.
        let (prev, changes) = match &old {
            Some(o) if o.block == m.progress.block => {
                let rows: Vec<(i64, i64, Vec<u8>)> =
                    rows_of(s, &st.get_commit, (m.module.clone(), o.prev), "read commit link").await?;
                let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = match rows.into_iter().find(|r| r.0 == o.prev) {
                    Some((_, _, blob)) => decode_changes(&blob)
                        .ok_or_else(|| corrupt(format!("commit link of {}", m.module), "undecodable"))?
                        .into_iter()
                        .collect(),
                    None => BTreeMap::new(),
                };
                for (k, v) in &m.changes {
                    merged.insert(k.clone(), v.clone());
                }
                (
                    o.prev,
                    encode_changes(merged.iter().map(|(k, v)| (k.as_slice(), v.as_deref()))),
                )
            }
            Some(o) => (
                i64_of(o.block, "block")?,
                encode_changes(m.changes.iter().map(|(k, v)| (k.as_slice(), v.as_deref()))),
            ),
            None => (
                -1,
                encode_changes(m.changes.iter().map(|(k, v)| (k.as_slice(), v.as_deref()))),
            ),
        };
        links.insert(m.module.as_str(), prev);
        exec(s, &st.put_commit, (m.module.clone(), prev, block, changes), &writes).await?;
        if let Some(pairs) = &m.snapshot {
            let hash = LtHash::from_pairs(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).digest();
            let blob = encode_changes(pairs.iter().map(|(k, v)| (k.as_slice(), Some(v.as_slice()))));
            exec(
                s,
                &st.snapshot_put,
                (m.module.clone(), block, hash.to_vec(), blob),
                &writes,
            )
            .await?;
        }
    }

    // 4. Projection, events, statuses, checkpoints, pending for modules outside the batch.
    for m in &batch.modules {
        for (k, v) in &m.changes {
            exec(
                s,
                &st.state_put,
                (m.module.clone(), k.clone(), projected(v.as_deref())),
                &writes,
            )
            .await?;
        }
    }
    let buckets: std::collections::BTreeSet<(&str, u64)> = batch
        .events
        .iter()
        .map(|e| (e.module.as_str(), e.pos.block / EVENT_BUCKET))
        .collect();
    for (module, bucket) in buckets {
        exec(
            s,
            &st.event_bucket_put,
            (module.to_string(), i64_of(bucket, "bucket")?),
            &writes,
        )
        .await?;
    }
    for ev in &batch.events {
        let p = ev.pos;
        let part = format!("{}/{}", ev.module, p.block / EVENT_BUCKET);
        let values = (
            part,
            i64_of(p.block, "block")?,
            i64::from(p.trx_in_block),
            i64::from(p.op_in_trx),
            i64::from(ev.seq),
            encode_event_record(ev),
        );
        exec(s, &st.event_put, values, &writes).await?;
    }
    for o in &batch.statuses {
        let p = o.pos;
        let values = (
            o.txid.clone(),
            i64_of(p.block, "block")?,
            i64::from(p.trx_in_block),
            i64::from(p.op_in_trx),
            o.module.clone(),
            encode_op_status(o),
        );
        exec(s, &st.status_put, values, &writes).await?;
    }
    for c in &batch.checkpoints {
        let values = (c.module.clone(), i64_of(c.block, "block")?, c.hash.to_vec());
        exec(s, &st.checkpoint_put, values, &writes).await?;
    }
    let in_batch: Vec<&str> = batch.modules.iter().map(|m| m.module.as_str()).collect();
    let mut others: BTreeMap<&str, Vec<&Message>> = BTreeMap::new();
    for msg in batch
        .pending_messages
        .iter()
        .filter(|m| !in_batch.contains(&m.to.as_str()))
    {
        others.entry(msg.to.as_str()).or_default().push(msg);
    }
    for (target, msgs) in others {
        exec(
            s,
            &st.extra_pending_put,
            (target.to_string(), encode_messages(&msgs)),
            &writes,
        )
        .await?;
    }

    // 5. Progress rows last: each commits its module.
    for m in &batch.modules {
        let msgs: Vec<&Message> = batch.pending_messages.iter().filter(|x| x.to == m.module).collect();
        let values = (
            m.module.clone(),
            i64_of(m.progress.block, "block")?,
            i64_of(m.progress.next_offset, "offset")?,
            m.lattice.clone(),
            encode_messages(&msgs),
            links.get(m.module.as_str()).copied().unwrap_or(-1),
        );
        exec(s, &st.put_progress, values, &writes).await?;
    }
    Ok(())
}

/// The committed state: newest verified snapshot at or below progress, then the commit
/// chain up to exactly the progress block. (The processor checks the result against the
/// committed lattice when it loads it, for every backend.)
async fn load(s: &Session, st: &Statements, module: &str) -> Result<LoadedModule, StoreError> {
    let Some(progress) = read_progress(s, st, module).await? else {
        return Ok(LoadedModule::default());
    };
    let mut snaps: Vec<(i64, Vec<u8>)> = rows_of(s, &st.snapshot_list, (module,), "list snapshots").await?;
    snaps.retain(|(b, _)| *b >= 0 && (*b as u64) <= progress.block);
    snaps.sort_by_key(|(b, _)| std::cmp::Reverse(*b));
    let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut at: i64 = -1;
    for (block, hash) in snaps {
        let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = rows_of(s, &st.snapshot_get, (module, block), "read snapshot").await?;
        let Some((_, _, blob)) = rows.into_iter().find(|r| r.0 == block) else {
            continue;
        };
        let Some(pairs) = decode_changes(&blob) else {
            tracing::warn!(module, block, "snapshot does not decode; trying an older one");
            continue;
        };
        let pairs: BTreeMap<Vec<u8>, Vec<u8>> = pairs.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
        let digest = LtHash::from_pairs(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).digest();
        if digest.as_slice() != hash.as_slice() {
            tracing::warn!(
                module,
                block,
                "snapshot does not match its commitment; trying an older one"
            );
            continue;
        }
        state = pairs;
        at = block;
        break;
    }
    let target = i64_of(progress.block, "block")?;
    while at < target {
        let rows: Vec<(i64, i64, Vec<u8>)> = rows_of(s, &st.get_commit, (module, at), "read commit link").await?;
        let Some((_, next, blob)) = rows.into_iter().find(|r| r.0 == at) else {
            return Err(corrupt(
                format!("module {module}"),
                format!("the commit chain breaks after block {at} (committed up to {target})"),
            ));
        };
        if next <= at || next > target {
            return Err(corrupt(
                format!("module {module}"),
                format!("the commit link after block {at} leads to block {next} (committed up to {target})"),
            ));
        }
        for (k, v) in decode_changes(&blob).ok_or_else(|| corrupt(format!("commit link of {module}"), "undecodable"))? {
            match v {
                Some(v) => state.insert(k, v),
                None => state.remove(&k),
            };
        }
        at = next;
    }
    Ok(LoadedModule {
        pairs: state,
        lattice: (!progress.lattice.is_empty()).then_some(progress.lattice),
        progress: Some(Progress {
            block: progress.block,
            next_offset: progress.next_offset,
        }),
    })
}

/// An in-process CQL server (kassandra: a protocol-level test double of ScyllaDB, with the
/// gaps the README lists) on a thread of its own, started once per process; clients in
/// this process or child processes reach it over TCP.
#[cfg(feature = "cql-test-server")]
pub fn cql_test_server() -> std::net::SocketAddr {
    static ADDR: std::sync::OnceLock<std::net::SocketAddr> = std::sync::OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => panic!("runtime for the CQL test server: {e}"),
            };
            rt.block_on(async move {
                let tester = kassandra_tester::KassandraTester::new(kassandra::KassandraSession::default());
                let _ = tester
                    .in_scope(|addr| {
                        let tx = tx.clone();
                        async move {
                            let _ = tx.send(addr);
                            std::future::pending::<Result<(), ()>>().await
                        }
                    })
                    .await;
            });
        });
        match rx.recv() {
            Ok(addr) => addr,
            Err(e) => panic!("the CQL test server did not start: {e}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_round_trip_and_garbage_is_refused() {
        let items: Vec<(Vec<u8>, Option<Vec<u8>>)> = vec![
            (b"a".to_vec(), Some(b"1".to_vec())),
            (b"b".to_vec(), None),
            (vec![], Some(vec![])),
        ];
        let enc = encode_changes(items.iter().map(|(k, v)| (k.as_slice(), v.as_deref())));
        assert_eq!(decode_changes(&enc), Some(items));
        assert_eq!(decode_changes(&enc[..enc.len() - 1]), None);
        assert_eq!(decode_changes(&[2]), None);
    }

    #[test]
    fn uri_parsing() {
        let c = ScyllaConfig::from_uri("scylla://a:9042,b:9042/dlux").expect("valid");
        assert_eq!(c.nodes, vec!["a:9042", "b:9042"]);
        assert_eq!(c.keyspace, "dlux");
        assert_eq!(
            ScyllaConfig::from_uri("scylla://a:9042").expect("valid").keyspace,
            "opentoken"
        );
        assert!(ScyllaConfig::from_uri("http://a").is_err());
        assert!(ScyllaConfig::from_uri("scylla://a/bad-name").is_err());
    }

    #[test]
    fn prefix_bounds() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[0x61, 0xFF]), Some(vec![0x62]));
        assert_eq!(prefix_end(&[0xFF]), None);
    }
}
