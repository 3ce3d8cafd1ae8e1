//! The ScyllaDB backend of [`Store`] (the `scylla` driver, CQL schema in
//! `infra/scylla/schema.cql`).
//!
//! ScyllaDB has no multi-partition transactions, so a commit is a sequence of idempotent
//! writes keyed by chain position with each module's progress row written last:
//!
//! 1. refuse the whole batch if it contradicts what is stored (progress going back, a
//!    checkpoint with another hash) before writing anything;
//! 2. the module's change set as a link of the commit chain, from the committed position
//!    it starts at to the one it ends at, in bounded chunks (`links`);
//! 3. at a checkpoint block, a snapshot of the whole state in bounded chunks, then its
//!    manifest with the state commitment it must hash to (`snapshots`);
//! 4. the projection the API reads, one version per commit (`projection`), events,
//!    statuses, checkpoints;
//! 5. the progress row: block, offset, lattice, pending messages and the start of the link
//!    it ends, in one row (a single-row write is atomic);
//! 6. then, committed, deletes what nothing needs any more: projection versions a newer
//!    committed one hides, snapshots older than the newest `keep_snapshots`, commit
//!    links older than the oldest kept snapshot, and statuses older than the last
//!    `keep_status_blocks` blocks (`statuses`).
//!
//! A crash anywhere before 5 leaves rows ahead of the progress row. None of them is ever
//! read as committed state: [`Store::load_module`] walks the chain back from the progress
//! row (links are identified by the position they end at) to the newest verified snapshot,
//! and projection reads take the newest version at or below the progress block. Rows a
//! crash left hold the state at their block (processing is deterministic), so the
//! retried commits agree with them or overwrite them; event and checkpoint rows ahead of
//! progress are the ones the retried commit writes again (chain positions are
//! deterministic), and reads of events and statuses stop at progress too.
//!
//! Every write is bounded (`writer`: chunks and batches under ScyllaDB's 50 KiB batch
//! limit) and every read is paged (`rows::Rows`).
//!
//! Writes across modules are not atomic as a group: each module's progress row commits
//! that module. In distributed mode a processor runs one module, so this is the unit anyway.
//!
//! The rooms: `config` (where the cluster is), `statements` (the schema and every prepared
//! statement), `rows` (how values sit in rows, the row blobs, paged reads), `writer`
//! (bounded, counted writes), `links`, `snapshots` and `projection` (the three stores of
//! state), `statuses` (op statuses, their index by block and their expiry), `commit`
//! (steps 1 to 6), `load` (the committed state back), this file (the
//! [`Store`] impl and the bridge from its synchronous calls to the async driver),
//! `crash_hook` (test builds only) and `test_server` (an in-process CQL server for tests).

mod commit;
mod config;
mod crash_hook;
mod links;
mod load;
mod projection;
mod rows;
mod snapshots;
mod statements;
mod statuses;
#[cfg(feature = "cql-test-server")]
mod test_server;
mod writer;

/// The blob decoders as the fuzz targets (`fuzz/`) call them; not an API (feature `fuzzing`
/// only): what ScyllaDB hands back is input too.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use crate::DecodeError;
    use opentoken_core::Message;

    /// State writes in key order (`None` deletes).
    pub type Changes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

    /// A commit link's or snapshot's blob: state writes in key order (`None` deletes).
    pub fn decode_changes(bytes: &[u8]) -> Result<Changes, DecodeError> {
        super::rows::decode_changes(bytes)
    }

    /// A pending-message list's blob.
    pub fn decode_messages(bytes: &[u8]) -> Result<Vec<Message>, DecodeError> {
        super::rows::decode_messages(bytes)
    }
}

pub use config::{ScyllaConfig, DEFAULT_KEEP_SNAPSHOTS, DEFAULT_PAGE_ROWS};
pub use statements::SCHEMA;
#[cfg(feature = "cql-test-server")]
pub use test_server::cql_test_server;
pub use writer::{CHUNK_BYTES, MUTATION_LIMIT};

use crate::{CommitBatch, LoadedModule, Pair, Progress, Store, StoreError};
use commit::CommitContext;
use crash_hook::CrashHook;
use opentoken_codec::{decode_event_record, decode_op_status};
use opentoken_core::{EventRecord, Message, ModuleCheckpoint, OpStatus};
use opentoken_lifecycle::{Backoff, Transient};
use projection::Superseded;
use rows::{backend, corrupt, decode_messages, i64_of, read_progress, rows_of, ProgressRow};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use statements::Statements;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use writer::{Meter, Writer};

/// Blocks per partition of the events table: bounded partitions, and a read from a block
/// touches only the partitions from there on.
const EVENT_BUCKET: u64 = 1000;

/// Tries of a read or commit on transient backend errors (the first one included).
const COMMAND_ATTEMPTS: u32 = 5;

/// [`Store`] on a ScyllaDB cluster. The driver is async; the trait is not, so the store
/// owns a small tokio runtime and every call waits for its future there ([`Self::run`]).
pub struct ScyllaStore {
    runtime: Option<tokio::runtime::Runtime>,
    session: Arc<Session>,
    st: Arc<Statements>,
    /// What this store's commits wrote that the next commit deletes.
    superseded: Arc<Superseded>,
    /// The largest write so far.
    meter: Arc<Meter>,
    keep_snapshots: usize,
    /// Blocks of statuses kept behind each module's progress.
    keep_status_blocks: u64,
    /// Test builds (feature `crash-hook`): fail the next commit after some writes.
    crash: CrashHook,
}

/// The session and statements are the driver's; nothing here helps a diagnosis but the name.
impl std::fmt::Debug for ScyllaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScyllaStore").finish_non_exhaustive()
    }
}

/// A call's work on the store's runtime.
type Job<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>;

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
            superseded: Arc::default(),
            meter: Arc::default(),
            keep_snapshots: cfg.keep_snapshots.max(1),
            keep_status_blocks: cfg.keep_status_blocks.max(1),
            crash: CrashHook::off(),
        })
    }

    async fn setup(cfg: &ScyllaConfig) -> Result<(Session, Statements), StoreError> {
        let session = Self::reach(cfg).await?;
        statements::create_schema(&session, &cfg.keyspace, &cfg.replication).await?;
        let st = Statements::prepare(&session, &cfg.keyspace, cfg.page_rows).await?;
        statements::claim_format(&session, &st).await?;
        Ok((session, st))
    }

    /// A session to the cluster, waiting for it up to `cfg.connect_attempts` tries (it may
    /// be starting alongside the node).
    async fn reach(cfg: &ScyllaConfig) -> Result<Session, StoreError> {
        let mut backoff = Backoff::for_service().attempts(cfg.connect_attempts);
        loop {
            let built = SessionBuilder::new()
                .known_nodes(&cfg.nodes)
                // Real clusters agree on schema; the CQL test double has no peers table.
                .auto_await_schema_agreement(false)
                .fetch_schema_metadata(false)
                .build()
                .await;
            match built {
                Ok(s) => return Ok(s),
                Err(e) => match backoff.next_delay() {
                    Some(wait) => {
                        let attempt = backoff.failures();
                        tracing::warn!(error = %e, attempt, "ScyllaDB not reachable at {:?}; retrying in {wait:?}", cfg.nodes);
                        tokio::time::sleep(wait).await;
                    }
                    None => {
                        return Err(StoreError::backend(
                            "connect to ScyllaDB",
                            format!("{e} (nodes {:?}, {} attempts)", cfg.nodes, backoff.failures()),
                        ))
                    }
                },
            }
        }
    }

    /// Makes the next commit fail after `writes` writes, leaving what it wrote, as a
    /// process killed in the middle of a commit would. For crash tests.
    #[cfg(feature = "crash-hook")]
    pub fn crash_next_commit_after(&self, writes: usize) {
        self.crash.arm(writes);
    }

    /// The largest write (statement or batch) this store has sent, in bytes of values: at
    /// most [`MUTATION_LIMIT`] unless a single state entry is larger by itself.
    pub fn largest_write_bytes(&self) -> usize {
        self.meter.largest()
    }

    /// Runs `f` on the store's runtime and waits for it from any thread (also from a thread
    /// of another runtime, where a nested `block_on` would panic).
    fn run<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(Arc<Session>, Arc<Statements>) -> Job<T>,
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

/// Retries `f` on transient backend errors (timeouts, a node going away): every write is
/// idempotent and a commit re-run after a partial one converges, so retrying is safe.
/// Conflicts, corruption and the crash-test hook are not retried.
fn with_retries<T>(op: &str, mut f: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
    let mut backoff = Backoff::for_service().attempts(COMMAND_ATTEMPTS);
    loop {
        match f() {
            Err(e) if e.is_transient() => {
                let Some(wait) = backoff.next_delay() else {
                    return Err(e);
                };
                if let StoreError::Backend { op: o, detail } = &e {
                    let attempt = backoff.failures();
                    tracing::warn!(attempt, "ScyllaDB {op} failed ({o}: {detail}); retrying in {wait:?}");
                }
                std::thread::sleep(wait);
            }
            other => return other,
        }
    }
}

impl Store for ScyllaStore {
    fn wants_snapshots(&self) -> bool {
        true
    }

    fn keep_status_blocks(&self) -> Option<u64> {
        Some(self.keep_status_blocks)
    }

    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        let writes = self.crash.begin();
        let result = with_retries("commit", || {
            let (batch, writes) = (batch.clone(), writes.clone());
            let (superseded, meter) = (self.superseded.clone(), self.meter.clone());
            let (keep_snapshots, keep_status_blocks) = (self.keep_snapshots, self.keep_status_blocks);
            self.run("commit", move |s, st| {
                Box::pin(async move {
                    let cx = CommitContext {
                        writer: Writer {
                            s: &s,
                            writes: &writes,
                            meter: &meter,
                        },
                        superseded: &superseded,
                        keep_snapshots,
                        keep_status_blocks,
                    };
                    commit::commit(&st, &batch, &cx).await
                })
            })
        });
        self.crash.end(&writes);
        result
    }

    fn load_module(&self, module: &str) -> Result<LoadedModule, StoreError> {
        with_retries("load", || {
            let module = module.to_string();
            self.run("load module", move |s, st| {
                Box::pin(async move { load::load(&s, &st, &module).await })
            })
        })
    }

    fn progress(&self, module: &str) -> Result<Option<Progress>, StoreError> {
        Ok(self.progress_row(module)?.map(|p| Progress {
            block: p.block,
            next_offset: p.next_offset,
        }))
    }

    /// At the committed progress: a commit in flight is invisible.
    fn get(&self, module: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let (module, key) = (module.to_string(), key.to_vec());
        with_retries("read state", || {
            let (module, key) = (module.clone(), key.clone());
            self.run("read state", move |s, st| {
                Box::pin(async move { projection::get(&s, &st, &module, &key).await })
            })
        })
    }

    /// At the committed progress: a commit in flight is invisible.
    fn scan_prefix(&self, module: &str, prefix: &[u8], limit: usize) -> Result<Vec<Pair>, StoreError> {
        let (module, prefix) = (module.to_string(), prefix.to_vec());
        with_retries("scan state", || {
            let (module, prefix) = (module.clone(), prefix.clone());
            self.run("scan state", move |s, st| {
                Box::pin(async move { projection::scan(&s, &st, &module, &prefix, limit).await })
            })
        })
    }

    /// Up to each module's committed progress: a commit in flight is invisible. (Rows of
    /// a module that has no progress row at all are shown as written: only batches built
    /// by hand carry those; a processor commits its modules' progress with them.) From the
    /// oldest block of the kept window on: expired rows not deleted yet are not shown.
    fn statuses(&self, txid: &str) -> Result<Vec<OpStatus>, StoreError> {
        let txid = txid.to_string();
        let keep = self.keep_status_blocks;
        self.run("read statuses", move |s, st| {
            Box::pin(async move {
                let mut rows: Vec<(i64, i64, i64, String, Vec<u8>)> =
                    rows_of(&s, &st.status_get, (txid.clone(),), "read statuses").await?;
                let mut committed: BTreeMap<String, Option<u64>> = BTreeMap::new();
                for module in rows.iter().map(|r| r.3.clone()).collect::<BTreeSet<_>>() {
                    let at = read_progress(&s, &st, &module).await?.map(|p| p.block);
                    committed.insert(module, at);
                }
                rows.retain(|r| committed.get(&r.3).is_some_and(|at| statuses::visible(r.0, *at, keep)));
                rows.sort_by(|a, b| (a.0, a.1, a.2, &a.3).cmp(&(b.0, b.1, b.2, &b.3)));
                rows.into_iter()
                    .map(|r| decode_op_status(&r.4).map_err(|e| corrupt(format!("status of transaction {txid}"), e)))
                    .collect()
            })
        })
    }

    /// Up to the committed progress: a commit in flight is invisible (see `statuses` for a
    /// module without a progress row).
    fn events(&self, module: &str, from_block: u64, limit: usize) -> Result<Vec<EventRecord>, StoreError> {
        let module = module.to_string();
        self.run("read events", move |s, st| {
            Box::pin(async move {
                let at = read_progress(&s, &st, &module).await?.map_or(u64::MAX, |p| p.block);
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
                    for r in rows
                        .into_iter()
                        .filter(|r| r.0 >= 0 && r.0 as u64 >= from_block && r.0 as u64 <= at)
                    {
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
