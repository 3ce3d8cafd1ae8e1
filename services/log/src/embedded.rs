//! The embedded log: topics as tables in the node's one redb database.
//!
//! Why redb (docs/storage-engine.md): one file, pure Rust, ACID write transactions with
//! fsync on commit, and a file lock that keeps a second process off the data directory. The
//! log shares the database with the embedded store, so a node's whole durable state is one
//! file that is copied, backed up and locked as a unit.
//!
//! Layout: `opentoken_log_records` maps `(topic, offset)` to `(key, value)`; offsets are dense
//! from 0 per topic. `opentoken_log_ends` maps `topic` to the next offset, so appending and
//! `end_offset` never scan. Reads are one B-tree range scan in offset order.

use crate::{Log, LogError, LogRecord, RecordTraces, TraceContext};
use redb::{Database, DatabaseError, ReadableTable, TableDefinition};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// `(topic, offset)`.
type RecordKey<'a> = (&'a str, u64);
/// `(record key, record value)`.
type RecordValue<'a> = (&'a [u8], &'a [u8]);
const RECORDS: TableDefinition<'_, RecordKey<'_>, RecordValue<'_>> = TableDefinition::new("opentoken_log_records");
const ENDS: TableDefinition<'_, &str, u64> = TableDefinition::new("opentoken_log_ends");

/// Why the node's database could not be opened.
#[derive(Debug, Error)]
pub enum OpenDatabaseError {
    #[error("another opentoken process is using {}; stop it or use another --data-dir", path.display())]
    InUse { path: PathBuf },
    #[error("cannot create the directory {} for the database: {detail}; check the path and its permissions", path.display())]
    CreateDir { path: PathBuf, detail: String },
    #[error("cannot open the database {}: {detail}; check the path, its permissions and free disk space (a file that is not an opentoken database cannot be used as one)", path.display())]
    Open { path: PathBuf, detail: String },
}

impl From<OpenDatabaseError> for LogError {
    fn from(e: OpenDatabaseError) -> Self {
        LogError::Unavailable(e.to_string())
    }
}

/// Opens (creating if needed) the node's redb database file, shared by the embedded log and
/// the embedded store. redb locks the file for the lifetime of the returned handle, so a
/// second opentoken on the same data directory fails here with [`OpenDatabaseError::InUse`]
/// instead of corrupting the first one's data.
pub fn open_database(path: &Path) -> Result<Arc<Database>, OpenDatabaseError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| OpenDatabaseError::CreateDir {
            path: parent.to_path_buf(),
            detail: e.to_string(),
        })?;
    }
    if !path.exists() {
        create_atomically(path)?;
    }
    match Database::create(path) {
        Ok(db) => Ok(Arc::new(db)),
        Err(DatabaseError::DatabaseAlreadyOpen) => Err(OpenDatabaseError::InUse {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(OpenDatabaseError::Open {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }),
    }
}

/// Creates a new database under a temporary name and renames it into place, so `path`
/// only ever holds a complete database. redb writes a new file's header in several steps; a
/// process killed in between (a SIGKILL while a freshly started node initialises) would
/// otherwise leave a file that no later start can open ("invalid data"). A leftover of an
/// interrupted creation is discarded.
fn create_atomically(path: &Path) -> Result<(), OpenDatabaseError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".creating");
    let tmp = path.with_file_name(name);
    let fail = |what: &str, e: &dyn std::fmt::Display| OpenDatabaseError::Open {
        path: path.to_path_buf(),
        detail: format!("{what} {}: {e}", tmp.display()),
    };
    match std::fs::remove_file(&tmp) {
        Ok(()) => tracing::warn!(path = %tmp.display(), "discarded a database whose creation was interrupted"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail("removing the interrupted creation", &e)),
    }
    let db = Database::create(&tmp).map_err(|e| fail("creating", &e))?;
    drop(db);
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| fail("syncing", &e))?;
    std::fs::rename(&tmp, path).map_err(|e| fail("renaming", &e))?;
    // The rename is durable once the directory is.
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// How many records' trace contexts the embedded log remembers: the roles of one process
/// read what was appended moments ago, and an older record is read without one.
const RECENT_TRACES: usize = 4096;

/// The trace contexts of the last [`RECENT_TRACES`] traced records, in memory only: they are
/// observability, not data, so they never enter the database (nor its backups).
#[derive(Default)]
struct RecentTraces {
    by_record: HashMap<(String, u64), TraceContext>,
    order: VecDeque<(String, u64)>,
}

impl RecentTraces {
    fn insert(&mut self, topic: &str, offset: u64, trace: TraceContext) {
        let key = (topic.to_string(), offset);
        if self.by_record.insert(key.clone(), trace).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > RECENT_TRACES {
            if let Some(old) = self.order.pop_front() {
                self.by_record.remove(&old);
            }
        }
    }
}

/// [`Log`] on a redb database. Cheap to clone the database handle into; every call is its
/// own transaction, and `append` is one write transaction across all its topics.
pub struct EmbeddedLog {
    db: Arc<Database>,
    traces: Mutex<RecentTraces>,
}

impl std::fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedLog").finish_non_exhaustive()
    }
}

fn backend(op: &'static str, topic: &str, e: impl std::fmt::Display) -> LogError {
    LogError::Backend {
        op,
        topic: topic.to_string(),
        detail: e.to_string(),
    }
}

impl EmbeddedLog {
    /// Creates the log's tables if they do not exist yet, so that readers never meet a
    /// missing table.
    pub fn new(db: Arc<Database>) -> Result<Self, LogError> {
        let tx = db.begin_write().map_err(|e| backend("open", "*", e))?;
        tx.open_table(RECORDS).map_err(|e| backend("open", "*", e))?;
        tx.open_table(ENDS).map_err(|e| backend("open", "*", e))?;
        tx.commit().map_err(|e| backend("open", "*", e))?;
        Ok(Self {
            db,
            traces: Mutex::new(RecentTraces::default()),
        })
    }

    /// The database this log lives in (shared with the embedded store).
    pub fn database(&self) -> &Arc<Database> {
        &self.db
    }

    /// Topics with at least one record, in name order (for tools and diagnostics).
    pub fn topics(&self) -> Result<Vec<(String, u64)>, LogError> {
        let tx = self.db.begin_read().map_err(|e| backend("topics", "*", e))?;
        let ends = tx.open_table(ENDS).map_err(|e| backend("topics", "*", e))?;
        let mut out = Vec::new();
        for entry in ends.iter().map_err(|e| backend("topics", "*", e))? {
            let (k, v) = entry.map_err(|e| backend("topics", "*", e))?;
            out.push((k.value().to_string(), v.value()));
        }
        Ok(out)
    }
}

impl EmbeddedLog {
    /// Attaches the remembered trace contexts to records just read (nothing to do, and no
    /// lock taken, while nothing was appended traced).
    fn attach_traces(&self, records: &mut [LogRecord], topic: &str) {
        let Ok(traces) = self.traces.lock() else { return };
        if traces.by_record.is_empty() {
            return;
        }
        let mut key = (topic.to_string(), 0);
        for r in records {
            key.1 = r.offset;
            r.trace = traces.by_record.get(&key).copied();
        }
    }
}

impl Log for EmbeddedLog {
    fn append(&self, batch: &[(String, Vec<(Vec<u8>, Vec<u8>)>)]) -> Result<(), LogError> {
        self.append_traced(batch, RecordTraces::None)
    }

    fn append_traced(&self, batch: &[crate::TopicBatch], traces: RecordTraces<'_>) -> Result<(), LogError> {
        if batch.iter().all(|(_, recs)| recs.is_empty()) {
            return Ok(());
        }
        let mut placed: Vec<(&str, u64, TraceContext)> = Vec::new();
        let first = batch.first().map(|(t, _)| t.as_str()).unwrap_or("*");
        let tx = self.db.begin_write().map_err(|e| backend("append", first, e))?;
        {
            let mut records = tx.open_table(RECORDS).map_err(|e| backend("append", first, e))?;
            let mut ends = tx.open_table(ENDS).map_err(|e| backend("append", first, e))?;
            for (t, (topic, recs)) in batch.iter().enumerate() {
                if recs.is_empty() {
                    continue;
                }
                let mut next = ends
                    .get(topic.as_str())
                    .map_err(|e| backend("append", topic, e))?
                    .map(|v| v.value())
                    .unwrap_or(0);
                for (r, (k, v)) in recs.iter().enumerate() {
                    if let Some(trace) = traces.get(t, r) {
                        placed.push((topic, next, *trace));
                    }
                    records
                        .insert((topic.as_str(), next), (k.as_slice(), v.as_slice()))
                        .map_err(|e| backend("append", topic, e))?;
                    next = next
                        .checked_add(1)
                        .ok_or_else(|| backend("append", topic, "offset overflow"))?;
                }
                ends.insert(topic.as_str(), next)
                    .map_err(|e| backend("append", topic, e))?;
            }
        }
        // Dropping `tx` on any error above aborts it: no topic of the batch gets anything.
        tx.commit().map_err(|e| backend("append", first, e))?;
        if !placed.is_empty() {
            if let Ok(mut recent) = self.traces.lock() {
                for (topic, offset, trace) in placed {
                    recent.insert(topic, offset, trace);
                }
            }
        }
        Ok(())
    }

    fn read(&self, topic: &str, from: u64, max: usize) -> Result<Vec<LogRecord>, LogError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let tx = self.db.begin_read().map_err(|e| backend("read", topic, e))?;
        let records = tx.open_table(RECORDS).map_err(|e| backend("read", topic, e))?;
        let to = from.saturating_add(max as u64);
        let mut out = Vec::with_capacity(max.min(1024));
        for entry in records
            .range((topic, from)..(topic, to))
            .map_err(|e| backend("read", topic, e))?
        {
            let (k, v) = entry.map_err(|e| backend("read", topic, e))?;
            let (key, value) = v.value();
            out.push(LogRecord {
                offset: k.value().1,
                key: key.to_vec(),
                value: value.to_vec(),
                trace: None,
            });
        }
        self.attach_traces(&mut out, topic);
        Ok(out)
    }

    fn end_offset(&self, topic: &str) -> Result<u64, LogError> {
        let tx = self.db.begin_read().map_err(|e| backend("end_offset", topic, e))?;
        let ends = tx.open_table(ENDS).map_err(|e| backend("end_offset", topic, e))?;
        Ok(ends
            .get(topic)
            .map_err(|e| backend("end_offset", topic, e))?
            .map(|v| v.value())
            .unwrap_or(0))
    }

    /// One read transaction, so the end and the record are from the same snapshot.
    fn last(&self, topic: &str) -> Result<Option<LogRecord>, LogError> {
        let tx = self.db.begin_read().map_err(|e| backend("last", topic, e))?;
        let ends = tx.open_table(ENDS).map_err(|e| backend("last", topic, e))?;
        let end = match ends.get(topic).map_err(|e| backend("last", topic, e))? {
            Some(v) if v.value() > 0 => v.value(),
            _ => return Ok(None),
        };
        let records = tx.open_table(RECORDS).map_err(|e| backend("last", topic, e))?;
        let offset = end - 1;
        let rec = records.get((topic, offset)).map_err(|e| backend("last", topic, e))?;
        match rec {
            Some(v) => {
                let (key, value) = v.value();
                let mut rec = [LogRecord {
                    offset,
                    key: key.to_vec(),
                    value: value.to_vec(),
                    trace: None,
                }];
                self.attach_traces(&mut rec, topic);
                let [rec] = rec;
                Ok(Some(rec))
            }
            None => Err(backend(
                "last",
                topic,
                format!("end offset is {end} but record {offset} is missing; the database is corrupt"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_creation_is_discarded_and_never_seen_at_the_real_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opentoken.redb");
        let leftover = dir.path().join("opentoken.redb.creating");
        // What a process killed while redb wrote a new file's header leaves behind.
        drop(Database::create(&leftover).unwrap());
        let len = std::fs::metadata(&leftover).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&leftover)
            .unwrap()
            .set_len(len / 3)
            .unwrap();
        // (redb cannot open such a file: it fails an assertion on the file length.)
        let db = open_database(&path).unwrap();
        EmbeddedLog::new(db.clone())
            .unwrap()
            .append(&[("t".into(), vec![(b"k".to_vec(), b"v".to_vec())])])
            .unwrap();
        assert!(!leftover.exists(), "the leftover is discarded");
        drop(db);
        let log = EmbeddedLog::new(open_database(&path).unwrap()).unwrap();
        assert_eq!(log.end_offset("t").unwrap(), 1, "reopened with its data");
    }

    #[test]
    fn a_failure_in_one_topic_leaves_every_topic_of_the_batch_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_database(&dir.path().join("db.redb")).unwrap();
        let log = EmbeddedLog::new(db.clone()).unwrap();
        log.append(&[("a".into(), vec![(b"k0".to_vec(), b"v0".to_vec())])])
            .unwrap();
        // Inject a failure: topic b is at the last offset, so its second record overflows.
        let tx = db.begin_write().unwrap();
        tx.open_table(ENDS).unwrap().insert("b", u64::MAX).unwrap();
        tx.commit().unwrap();
        let batch = vec![
            ("a".to_string(), vec![(b"k1".to_vec(), b"v1".to_vec())]),
            ("c".to_string(), vec![(b"k".to_vec(), b"v".to_vec())]),
            ("b".to_string(), vec![(vec![], vec![]), (vec![], vec![])]),
        ];
        let err = log.append(&batch).unwrap_err();
        assert!(err.to_string().contains("offset overflow"), "{err}");
        assert_eq!(log.end_offset("a").unwrap(), 1);
        assert_eq!(log.read("a", 0, 10).unwrap().len(), 1);
        assert_eq!(log.end_offset("c").unwrap(), 0);
        assert!(log.read("c", 0, 10).unwrap().is_empty());
        assert_eq!(log.end_offset("b").unwrap(), u64::MAX);
        assert!(log.read("b", u64::MAX - 1, 10).unwrap().is_empty());
    }
}
