//! Embedded-backend specifics: sharing the database with the log, the single-process lock,
//! corrupt records, and consistency after the committing process is killed.

use opentoken_core::{ChainPos, EventRecord};
use opentoken_log::embedded::open_database;
use opentoken_log::{EmbeddedLog, Log};
use opentoken_store::{CommitBatch, EmbeddedStore, ModuleCommit, Progress, Store, StoreError};
use redb::TableDefinition;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn batch(i: u64) -> CommitBatch {
    CommitBatch {
        modules: vec![ModuleCommit {
            module: "m".into(),
            changes: vec![
                (b"counter".to_vec(), Some(i.to_be_bytes().to_vec())),
                (format!("k{i}").into_bytes(), Some(vec![1; 64])),
            ],
            lattice: i.to_be_bytes().to_vec(),
            progress: Progress {
                block: i,
                next_offset: i,
            },
            snapshot: None,
        }],
        events: vec![EventRecord {
            module: "m".into(),
            pos: ChainPos::new(i, 0, 0),
            seq: 0,
            kind: "Counted".into(),
            data: i.to_be_bytes().to_vec(),
        }],
        ..Default::default()
    }
}

#[test]
fn log_and_store_share_one_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opentoken.redb");
    {
        let db = open_database(&path).unwrap();
        let log = EmbeddedLog::new(db.clone()).unwrap();
        let store = EmbeddedStore::new(db).unwrap();
        log.append(&[("t".into(), vec![(vec![], b"rec".to_vec())])]).unwrap();
        store.commit(&batch(1)).unwrap();
    }
    let db = open_database(&path).unwrap();
    let log = EmbeddedLog::new(db.clone()).unwrap();
    let store = EmbeddedStore::new(db).unwrap();
    assert_eq!(log.end_offset("t").unwrap(), 1);
    assert_eq!(store.progress("m").unwrap().map(|p| p.block), Some(1));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "one file in the data directory"
    );
}

#[test]
fn a_held_database_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opentoken.redb");
    let _held = EmbeddedStore::open(&path).unwrap();
    let Err(e) = EmbeddedStore::open(&path) else {
        panic!("second open succeeded")
    };
    let msg = e.to_string();
    assert!(msg.contains("another opentoken process is using"), "{msg}");
    assert!(msg.contains("--data-dir"), "{msg}");
}

#[test]
fn corrupt_records_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("db.redb")).unwrap();
    store.commit(&batch(1)).unwrap();
    // Overwrite the stored event with garbage through the raw table.
    const EVENTS: TableDefinition<'_, (&str, u64, u32, u32, u32), &[u8]> = TableDefinition::new("opentoken_events");
    let tx = store.database().begin_write().unwrap();
    tx.open_table(EVENTS)
        .unwrap()
        .insert(("m", 1, 0, 0, 0), &b"\xc3\x01garbage!"[..])
        .unwrap();
    tx.commit().unwrap();
    match store.events("m", 0, 10) {
        Err(StoreError::Corrupt { what, detail }) => {
            assert!(what.contains("event of module m at 1:0:0/0"), "{what}");
            assert!(detail.contains("replay"), "{detail}");
        }
        other => panic!("expected a corrupt-data error, got {other:?}"),
    }
}

const CHILD_DB: &str = "OPENTOKEN_STORE_TEST_CHILD_DB";

/// Child side (a no-op in a normal run): commits batches 1, 2, 3, ... until killed.
#[test]
fn child_process_entry() {
    let Ok(path) = std::env::var(CHILD_DB) else { return };
    let store = EmbeddedStore::open(Path::new(&path)).unwrap();
    for i in 1u64.. {
        store.commit(&batch(i)).unwrap();
        if i == 20 {
            std::fs::write(Path::new(&path).with_extension("ready"), b"").unwrap();
        }
    }
}

#[test]
fn a_killed_committer_leaves_state_and_progress_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_entry", "--test-threads=1"])
        .env(CHILD_DB, &path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ready = path.with_extension("ready");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ready.exists(), "child did not start committing");
    std::thread::sleep(Duration::from_millis(150));
    child.kill().unwrap(); // SIGKILL, mid-commit as likely as not
    child.wait().unwrap();

    let store = EmbeddedStore::open(&path).unwrap();
    let loaded = store.load_module("m").unwrap();
    let p = loaded.progress.unwrap();
    assert!(p.block >= 20, "{p:?}");
    // Invariant 2: the consumed position is exactly the state it produced.
    assert_eq!(loaded.pairs.get(&b"counter"[..]), Some(&p.block.to_be_bytes().to_vec()));
    assert_eq!(loaded.pairs.len() as u64, p.block + 1);
    assert_eq!(loaded.lattice, Some(p.block.to_be_bytes().to_vec()));
    let events = store.events("m", 0, usize::MAX).unwrap();
    assert_eq!(events.len() as u64, p.block);
    assert_eq!(events.last().unwrap().pos.block, p.block);
    // And the node resumes from there.
    store.commit(&batch(p.block + 1)).unwrap();
}

/// Snapshots of the last N checkpoints are kept with each module's outbox, older ones
/// pruned; a restore puts state, position, checkpoints and in-flight messages back to the
/// checkpoint and forgets what came after it.
#[test]
fn checkpoint_snapshots_are_kept_pruned_and_restored() {
    use opentoken_core::{Message, ModuleCheckpoint};
    use opentoken_store::{ModuleSnapshot, Restore, RestoredModule};
    use std::collections::BTreeMap;

    let dir = tempfile::tempdir().expect("tmp");
    let store = EmbeddedStore::open(&dir.path().join("db.redb"))
        .expect("store")
        .keep_snapshots(2);
    assert!(store.wants_snapshots());
    let msg = |block: u64, to: &str| Message {
        from: "m".into(),
        to: to.into(),
        pos: ChainPos::new(block, 1, 0),
        seq: 0,
        kind: "k".into(),
        payload: "{}".into(),
    };
    for block in [10u64, 20, 30] {
        let mut state = BTreeMap::new();
        state.insert(b"counter".to_vec(), block.to_be_bytes().to_vec());
        store
            .commit(&CommitBatch {
                modules: vec![ModuleCommit {
                    module: "m".into(),
                    changes: vec![(b"counter".to_vec(), Some(block.to_be_bytes().to_vec()))],
                    lattice: vec![block as u8],
                    progress: Progress {
                        block,
                        next_offset: block,
                    },
                    snapshot: Some(state),
                }],
                checkpoints: vec![ModuleCheckpoint {
                    module: "m".into(),
                    block,
                    hash: [block as u8; 32],
                }],
                pending_messages: vec![msg(block, "m")],
                ..Default::default()
            })
            .expect("commit");
    }
    assert_eq!(
        store.snapshot_blocks().expect("blocks"),
        vec![20, 30],
        "the oldest is pruned"
    );
    let snap = store.snapshot("m", 30).expect("read").expect("kept");
    assert_eq!(
        snap.pairs.get(b"counter".as_slice()),
        Some(&30u64.to_be_bytes().to_vec())
    );
    assert_eq!(snap.outbox, vec![msg(30, "m")]);
    assert_eq!(store.snapshot("m", 10).expect("read"), None);

    let mut pairs = BTreeMap::new();
    pairs.insert(b"restored".to_vec(), vec![7]);
    store
        .restore(&Restore {
            block: 20,
            modules: vec![RestoredModule {
                module: "m".into(),
                snapshot: ModuleSnapshot {
                    pairs: pairs.clone(),
                    outbox: vec![msg(20, "m"), msg(20, "elsewhere")],
                },
                lattice: vec![42],
                next_offset: 17,
                checkpoint: [99; 32],
            }],
        })
        .expect("restore");
    let loaded = store.load_module("m").expect("load");
    assert_eq!(loaded.pairs, pairs, "state replaced, stale keys gone");
    assert_eq!(loaded.lattice, Some(vec![42]));
    assert_eq!(
        loaded.progress,
        Some(Progress {
            block: 20,
            next_offset: 17
        })
    );
    let cps: Vec<(u64, [u8; 32])> = store
        .checkpoints("m")
        .expect("checkpoints")
        .into_iter()
        .map(|c| (c.block, c.hash))
        .collect();
    assert_eq!(
        cps,
        vec![(10, [10; 32]), (20, [99; 32])],
        "checkpoints after 20 forgotten"
    );
    assert_eq!(
        store.pending_messages().expect("pending"),
        vec![msg(20, "m")],
        "in-flight messages to restored modules only"
    );
    assert_eq!(store.snapshot_blocks().expect("blocks"), vec![20]);
    // Progress may go on from the restored block (it went back, which a commit refuses).
    assert!(store
        .commit(&CommitBatch {
            modules: vec![ModuleCommit {
                module: "m".into(),
                changes: vec![],
                lattice: vec![43],
                progress: Progress {
                    block: 21,
                    next_offset: 18
                },
                snapshot: None,
            }],
            ..Default::default()
        })
        .is_ok());
}

const BLOCK_STATUSES: TableDefinition<'_, (&str, u64), &[u8]> = TableDefinition::new("opentoken_block_statuses");
const TXID_BLOCKS: TableDefinition<'_, (u64, u64, &str), ()> = TableDefinition::new("opentoken_txid_blocks");

/// Rows of the per-block statuses table and of its transaction-id index.
fn status_rows(store: &EmbeddedStore) -> (u64, u64) {
    use redb::ReadableTableMetadata;
    let tx = store.database().begin_read().unwrap();
    let blocks = tx.open_table(BLOCK_STATUSES).unwrap().len().unwrap();
    let index = tx.open_table(TXID_BLOCKS).unwrap().len().unwrap();
    (blocks, index)
}

fn statuses_at(block: u64, n: u32) -> Vec<opentoken_core::OpStatus> {
    (0..n)
        .map(|i| opentoken_core::OpStatus {
            txid: format!("t{block}-{i}"),
            pos: ChainPos::new(block, i, 0),
            module: "m".into(),
            op: "send".into(),
            from: "alice".into(),
            outcome: opentoken_core::Outcome::Applied { summary: "ok".into() },
        })
        .collect()
}

/// Statuses expire as progress advances: over 1,000 blocks with 3 statuses each and a
/// window of 50 blocks, the per-block table never holds more than the window's 50 blocks and
/// its index more than their 150 transactions (counted in the tables), and the window's
/// statuses read back.
#[test]
fn status_rows_stay_bounded_by_the_window() {
    const KEEP: u64 = 50;
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("db.redb"))
        .unwrap()
        .keep_status_blocks(KEEP);
    for block in 1..=1000u64 {
        let mut b = batch(block);
        b.statuses = statuses_at(block, 3);
        store.commit(&b).unwrap();
        let kept = block.min(KEEP);
        assert_eq!(status_rows(&store), (kept, kept * 3), "at block {block}");
    }
    assert_eq!(store.statuses("t951-0").unwrap().len(), 1, "the oldest kept block");
    assert!(store.statuses("t950-0").unwrap().is_empty(), "expired");
}

const OLD_STATUSES: TableDefinition<'_, (&str, u64, u32, u32, &str), &[u8]> =
    TableDefinition::new("opentoken_statuses");
const OLD_STATUS_INDEX: TableDefinition<'_, (&str, u64, u32, u32, &str), ()> =
    TableDefinition::new("opentoken_status_index");

/// A database written with statuses stored one row per transaction id (and, older still,
/// without their block index) gets them moved into the per-block layout when opened: every
/// status reads back whole, the old tables are gone, and the moved statuses expire like new
/// ones.
#[test]
fn statuses_of_an_older_database_move_to_the_per_block_layout() {
    for with_index in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let written: Vec<_> = (1..=20u64).flat_map(|b| statuses_at(b, 2)).collect();
        {
            let store = EmbeddedStore::open(&path).unwrap();
            store.commit(&batch(20)).unwrap();
            // What an older build left.
            let tx = store.database().begin_write().unwrap();
            {
                let mut old = tx.open_table(OLD_STATUSES).unwrap();
                let mut index = tx.open_table(OLD_STATUS_INDEX).unwrap();
                for s in &written {
                    let p = s.pos;
                    let bytes = opentoken_codec::encode_op_status(s);
                    old.insert(
                        (s.txid.as_str(), p.block, p.trx_in_block, p.op_in_trx, s.module.as_str()),
                        bytes.as_slice(),
                    )
                    .unwrap();
                    if with_index {
                        index
                            .insert(
                                (s.module.as_str(), p.block, p.trx_in_block, p.op_in_trx, s.txid.as_str()),
                                (),
                            )
                            .unwrap();
                    }
                }
            }
            tx.commit().unwrap();
        }
        let store = EmbeddedStore::open(&path).unwrap().keep_status_blocks(5);
        assert_eq!(status_rows(&store), (20, 40), "moved at open (index: {with_index})");
        for s in &written {
            assert_eq!(store.statuses(&s.txid).unwrap(), vec![s.clone()]);
        }
        {
            let tx = store.database().begin_read().unwrap();
            use redb::TableHandle;
            let names: Vec<String> = redb::ReadTransaction::list_tables(&tx)
                .unwrap()
                .map(|t| t.name().to_string())
                .collect();
            assert!(
                !names
                    .iter()
                    .any(|n| n == "opentoken_statuses" || n == "opentoken_status_index"),
                "{names:?}"
            );
        }
        store.commit(&batch(21)).unwrap();
        assert_eq!(status_rows(&store), (4, 8), "blocks 17..=20 kept at progress 21");
        assert!(store.statuses("t16-0").unwrap().is_empty());
        assert_eq!(store.statuses("t17-1").unwrap().len(), 1);
        drop(store);
        let again = EmbeddedStore::open(&path).unwrap();
        assert_eq!(status_rows(&again), (4, 8), "a second open moves nothing");
    }
}

/// A store with relaxed durability (a rebuild) commits atomically as always, and after
/// `sync` everything it committed is in the file: a reopened store reads the last batch's
/// progress, state and statuses.
#[test]
fn relaxed_commits_are_durable_after_sync() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    {
        let store = EmbeddedStore::open(&path)
            .unwrap()
            .relaxed_durability(std::time::Duration::from_secs(3600));
        for block in 1..=30u64 {
            let mut b = batch(block);
            b.statuses = statuses_at(block, 2);
            store.commit(&b).unwrap();
        }
        assert_eq!(
            store.progress("m").unwrap().map(|p| p.block),
            Some(30),
            "visible before sync"
        );
        store.sync().unwrap();
    }
    let store = EmbeddedStore::open(&path).unwrap();
    assert_eq!(store.progress("m").unwrap().map(|p| p.block), Some(30));
    assert_eq!(store.get("m", b"k30").unwrap(), Some(vec![1; 64]));
    assert_eq!(store.statuses("t30-1").unwrap().len(), 1);
}
