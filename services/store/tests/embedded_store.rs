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
    const EVENTS: TableDefinition<(&str, u64, u32, u32, u32), &[u8]> = TableDefinition::new("opentoken_events");
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
