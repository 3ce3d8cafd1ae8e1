//! The embedded log against the `Log` contract: dense offsets, range reads, atomic
//! multi-topic appends, persistence across reopen and kill, and the single-process lock.

use opentoken_log::embedded::{open_database, OpenDatabaseError};
use opentoken_log::{EmbeddedLog, Log, LogRecord, RecordTraces, TraceContext};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

fn open(path: &Path) -> EmbeddedLog {
    EmbeddedLog::new(open_database(path).unwrap()).unwrap()
}

fn recs(prefix: &str, n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}-k{i}").into_bytes(),
                format!("{prefix}-v{i}").into_bytes(),
            )
        })
        .collect()
}

#[test]
fn unknown_topics_are_empty() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(&dir.path().join("db.redb"));
    assert_eq!(log.end_offset("nope").unwrap(), 0);
    assert!(log.read("nope", 0, 10).unwrap().is_empty());
    assert_eq!(log.last("nope").unwrap(), None);
}

#[test]
fn offsets_are_dense_from_zero_and_reads_are_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(&dir.path().join("db.redb"));
    log.append(&[("t".into(), recs("a", 3))]).unwrap();
    log.append(&[("t".into(), recs("b", 4))]).unwrap();
    assert_eq!(log.end_offset("t").unwrap(), 7);
    let all = log.read("t", 0, 100).unwrap();
    assert_eq!(
        all.iter().map(|r| r.offset).collect::<Vec<_>>(),
        (0..7).collect::<Vec<_>>()
    );
    assert_eq!(all[3].key, b"b-k0");
    assert_eq!(all[3].value, b"b-v0");
    let mid = log.read("t", 2, 3).unwrap();
    assert_eq!(mid.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![2, 3, 4]);
    assert_eq!(mid[0].value, b"a-v2");
    assert!(log.read("t", 7, 10).unwrap().is_empty());
    assert!(log.read("t", 2, 0).unwrap().is_empty());
    assert_eq!(log.read("t", 5, usize::MAX).unwrap().len(), 2);
    assert_eq!(
        log.last("t").unwrap(),
        Some(LogRecord {
            offset: 6,
            key: b"b-k3".to_vec(),
            value: b"b-v3".to_vec(),
            trace: None,
        })
    );
}

#[test]
fn topics_do_not_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(&dir.path().join("db.redb"));
    // "t" is a prefix of "t2" and "t\0": the (topic, offset) key must still keep them apart.
    log.append(&[
        ("t".into(), recs("t", 2)),
        ("t2".into(), recs("t2", 3)),
        ("t\0".into(), recs("z", 1)),
    ])
    .unwrap();
    assert_eq!(log.read("t", 0, 100).unwrap().len(), 2);
    assert_eq!(log.read("t2", 0, 100).unwrap().len(), 3);
    assert_eq!(log.read("t\0", 0, 100).unwrap()[0].key, b"z-k0");
    assert_eq!(
        log.topics().unwrap(),
        vec![("t".to_string(), 2), ("t\0".to_string(), 1), ("t2".to_string(), 3)]
    );
}

#[test]
fn one_batch_may_name_a_topic_twice() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(&dir.path().join("db.redb"));
    log.append(&[
        ("t".into(), recs("a", 2)),
        ("u".into(), vec![]),
        ("t".into(), recs("b", 1)),
    ])
    .unwrap();
    let got = log.read("t", 0, 10).unwrap();
    assert_eq!(
        got.iter().map(|r| r.value.clone()).collect::<Vec<_>>(),
        vec![b"a-v0".to_vec(), b"a-v1".to_vec(), b"b-v0".to_vec()]
    );
    assert_eq!(log.end_offset("u").unwrap(), 0);
    log.append(&[]).unwrap();
}

#[test]
fn concurrent_appenders_get_dense_distinct_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(open(&dir.path().join("db.redb")));
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    log.append(&[("t".into(), vec![(vec![w], vec![i])])]).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let all = log.read("t", 0, 1000).unwrap();
    assert_eq!(all.len(), 100);
    assert!(all.iter().enumerate().all(|(i, r)| r.offset == i as u64));
    for w in 0..4u8 {
        // Each writer's records keep its own order.
        let mine: Vec<u8> = all.iter().filter(|r| r.key == [w]).map(|r| r.value[0]).collect();
        assert_eq!(mine, (0..25).collect::<Vec<u8>>());
    }
}

#[test]
fn data_survives_reopen_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/db.redb");
    {
        let log = open(&path);
        log.append(&[("a".into(), recs("x", 3)), ("b".into(), recs("y", 1))])
            .unwrap();
    }
    let log = open(&path);
    assert_eq!(log.end_offset("a").unwrap(), 3);
    assert_eq!(log.end_offset("b").unwrap(), 1);
    log.append(&[("a".into(), recs("z", 1))]).unwrap();
    assert_eq!(log.read("a", 3, 1).unwrap()[0].value, b"z-v0");
}

#[test]
fn a_second_open_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let _first = open_database(&path).unwrap();
    let err = open_database(&path).unwrap_err();
    assert!(matches!(err, OpenDatabaseError::InUse { .. }));
    let msg = err.to_string();
    assert!(msg.contains("another opentoken process is using"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("--data-dir"), "{msg}");
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    std::fs::write(&path, b"this is not a redb file, just some text that is long enough").unwrap();
    let err = open_database(&path).unwrap_err();
    assert!(matches!(err, OpenDatabaseError::Open { .. }), "{err}");
}

// ---- Child-process tests: the test binary runs itself with an environment variable. ----

const CHILD_DB: &str = "OPENTOKEN_LOG_TEST_CHILD_DB";
const CHILD_MODE: &str = "OPENTOKEN_LOG_TEST_CHILD_MODE";

/// Child side (does nothing in a normal test run). Mode "lock": try to open the database and
/// exit 17 when refused as in use. Mode "append": append batches of one record to each of
/// three topics until killed.
#[test]
fn child_process_entry() {
    let (Ok(path), Ok(mode)) = (std::env::var(CHILD_DB), std::env::var(CHILD_MODE)) else {
        return;
    };
    match mode.as_str() {
        "lock" => match open_database(Path::new(&path)) {
            Err(OpenDatabaseError::InUse { .. }) => std::process::exit(17),
            other => {
                eprintln!("unexpected: {:?}", other.map(|_| ()));
                std::process::exit(1)
            }
        },
        "append" => {
            let log = open(Path::new(&path));
            for i in 0u64.. {
                let v = i.to_be_bytes().to_vec();
                let batch: Vec<opentoken_log::TopicBatch> = ["a", "b", "c"]
                    .iter()
                    .map(|t| (t.to_string(), vec![(vec![], v.clone())]))
                    .collect();
                log.append(&batch).unwrap();
                if i == 20 {
                    std::fs::write(Path::new(&path).with_extension("ready"), b"").unwrap();
                }
            }
        }
        _ => std::process::exit(2),
    }
}

fn child(path: &Path, mode: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "child_process_entry", "--test-threads=1"])
        .env(CHILD_DB, path)
        .env(CHILD_MODE, mode)
        .stdout(std::process::Stdio::null());
    c
}

#[test]
fn another_process_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let _held = open_database(&path).unwrap();
    let status = child(&path, "lock").status().unwrap();
    assert_eq!(status.code(), Some(17), "child was not refused");
}

#[test]
fn a_killed_writer_leaves_whole_batches_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    open(&path)
        .append(&[
            ("a".into(), recs("x", 1)),
            ("b".into(), recs("x", 1)),
            ("c".into(), recs("x", 1)),
        ])
        .unwrap();
    let mut c = child(&path, "append").spawn().unwrap();
    // Wait until it has committed some batches, then kill it mid-stream (SIGKILL: no
    // destructors, no clean shutdown).
    let ready = path.with_extension("ready");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !ready.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ready.exists(), "child did not start appending");
    std::thread::sleep(Duration::from_millis(150));
    c.kill().unwrap();
    c.wait().unwrap();
    let log = open(&path);
    let ends: Vec<u64> = ["a", "b", "c"].iter().map(|t| log.end_offset(t).unwrap()).collect();
    assert!(ends[0] > 21, "the child committed too little: {ends:?}");
    assert!(
        ends.iter().all(|e| *e == ends[0]),
        "a batch was split by the kill: {ends:?}"
    );
    for t in ["a", "b", "c"] {
        let all = log.read(t, 1, usize::MAX).unwrap();
        assert_eq!(all.len() as u64, ends[0] - 1);
        for (i, r) in all.iter().enumerate() {
            assert_eq!(r.value, (i as u64).to_be_bytes(), "topic {t} offset {}", r.offset);
        }
    }
}

/// The trace context of an append reaches the readers of the same process (it is kept in
/// memory, never in the database): records appended without one, and records read after a
/// reopen, have none.
#[test]
fn trace_contexts_pass_in_process_and_never_reach_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let log = open(&path);
    log.append(&[("t".into(), recs("plain", 2))]).unwrap();
    let t = TraceContext::parse(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    let per = vec![vec![Some(t), None], vec![Some(t)]];
    log.append_traced(
        &[("t".into(), recs("traced", 2)), ("u".into(), recs("u", 1))],
        RecordTraces::PerRecord(&per),
    )
    .unwrap();
    let read = log.read("t", 0, 10).unwrap();
    let traces: Vec<Option<TraceContext>> = read.iter().map(|r| r.trace).collect();
    assert_eq!(traces, vec![None, None, Some(t), None]);
    assert_eq!(log.read("u", 0, 10).unwrap()[0].trace, Some(t));
    assert_eq!(log.last("u").unwrap().and_then(|r| r.trace), Some(t));
    assert_eq!(read[2].value, b"traced-v0", "the value is the one appended, untouched");
    drop(log);
    let reopened = open(&path);
    assert!(reopened.read("t", 0, 10).unwrap().iter().all(|r| r.trace.is_none()));
}
