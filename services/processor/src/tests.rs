//! The processor over an embedded log and store: restarts, duplicates, ranges, gaps and
//! undecodable records, with the shared [`CounterModule`] as the module.

use super::*;
use opentoken_core::test_utils::CounterModule;
use opentoken_core::{BlockRecord, ChainPos, CustomJsonOp, HiveOp};
use opentoken_log::EmbeddedLog;
use opentoken_store::EmbeddedStore;

fn spec() -> Arc<ChainSpec> {
    Arc::new(
        ChainSpec::from_json(
            r#"{"name":"t","prefix":"x_","token":"T","precision":3,"starting_block":1,"leader":"lead",
                "msaccount":"msig","delegation_account":"lead","checkpoint_interval":10}"#,
        )
        .unwrap(),
    )
}

fn rec(block: u64, last: u64, who: &[&str]) -> BlockRecord {
    BlockRecord {
        block_num: block,
        last_block: last,
        block_id: format!("{last:08x}"),
        timestamp: last * 3,
        ops: who
            .iter()
            .enumerate()
            .map(|(i, w)| RoutedOp {
                pos: ChainPos::new(block, i as u32, 0),
                txid: format!("t{block}-{i}"),
                op: HiveOp::CustomJson(CustomJsonOp {
                    required_auths: vec![],
                    required_posting_auths: vec![w.to_string()],
                    id: "x_count".into(),
                    json: "{}".into(),
                }),
            })
            .collect(),
    }
}

struct Env {
    _dir: tempfile::TempDir,
    log: Arc<dyn Log>,
    store: Arc<dyn Store>,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db = opentoken_log::embedded::open_database(&dir.path().join("db.redb")).unwrap();
    Env {
        log: Arc::new(EmbeddedLog::new(db.clone()).unwrap()),
        store: Arc::new(EmbeddedStore::new(db).unwrap()),
        _dir: dir,
    }
}

fn append(e: &Env, recs: &[BlockRecord]) {
    let batch = vec![(
        "t.ops.counter".to_string(),
        recs.iter()
            .map(|r| (vec![], opentoken_codec::encode_block_record(r)))
            .collect(),
    )];
    e.log.append(&batch).unwrap();
}

fn open(e: &Env, every: u64, until: Option<u64>) -> Processor {
    let cfg = ProcessorConfig {
        commit_every_blocks: every,
        until_block: until,
        read_batch: 4,
        ..Default::default()
    };
    Processor::open(
        spec(),
        vec![Arc::new(CounterModule)],
        e.log.clone(),
        e.store.clone(),
        cfg,
        Arc::new(Telemetry::new()),
    )
    .unwrap()
}

fn drain(p: &mut Processor) -> Step {
    loop {
        match p.step().unwrap() {
            Step::Advanced(_) => continue,
            other => return other,
        }
    }
}

fn count(e: &Env, who: &str) -> usize {
    e.store
        .get("counter", &CounterModule::key(who))
        .unwrap()
        .map(|v| v.len())
        .unwrap_or(0)
}

#[test]
fn resumes_after_restart_and_skips_duplicates() {
    let e = env();
    append(&e, &[rec(1, 1, &["a"]), rec(2, 5, &[]), rec(6, 6, &["a", "b"])]);
    let mut p = open(&e, 2, None);
    assert_eq!(drain(&mut p), Step::Idle);
    assert_eq!(p.last_block(), Some(6));
    drop(p);
    // A second ingester republishes blocks 5..6 and then continues.
    append(
        &e,
        &[
            rec(2, 5, &[]),
            rec(6, 6, &["a", "b"]),
            rec(7, 12, &[]),
            rec(13, 13, &["b"]),
        ],
    );
    let mut p = open(&e, 100, None);
    assert_eq!(drain(&mut p), Step::Idle);
    assert_eq!(p.last_block(), Some(13));
    assert_eq!(count(&e, "a"), 2, "duplicate block 6 applied once");
    assert_eq!(count(&e, "b"), 2);
    assert_eq!(
        e.store.progress("counter").unwrap(),
        Some(Progress {
            block: 13,
            next_offset: 7
        })
    );
    assert_eq!(
        e.store
            .checkpoints("counter")
            .unwrap()
            .iter()
            .map(|c| c.block)
            .collect::<Vec<_>>(),
        vec![10]
    );
    assert_eq!(e.store.statuses("t6-1").unwrap().len(), 1);
}

#[test]
fn stops_inside_a_range_and_resumes_there() {
    let e = env();
    append(&e, &[rec(1, 30, &[]), rec(31, 31, &["a"])]);
    let mut p = open(&e, 1000, Some(15));
    assert_eq!(drain(&mut p), Step::Done);
    assert_eq!(
        e.store.progress("counter").unwrap(),
        Some(Progress {
            block: 15,
            next_offset: 0
        })
    );
    drop(p);
    let mut p = open(&e, 1000, None);
    assert_eq!(drain(&mut p), Step::Idle);
    assert_eq!(p.last_block(), Some(31));
    assert_eq!(count(&e, "a"), 1);
    assert_eq!(e.store.checkpoints("counter").unwrap().len(), 3);
}

#[test]
fn a_gap_in_the_topic_is_an_error_naming_the_block() {
    let e = env();
    append(&e, &[rec(1, 3, &[]), rec(5, 5, &["a"])]);
    let mut p = open(&e, 10, None);
    let err = loop {
        match p.step() {
            Ok(Step::Advanced(_)) => continue,
            Ok(other) => panic!("expected an error, got {other:?}"),
            Err(err) => break err,
        }
    };
    assert!(
        matches!(
            err,
            ProcessorError::Gap {
                expected: 4,
                got: 5,
                ..
            }
        ),
        "{err}"
    );
    // The ingester publishes a lost block again: the gap is waited out, not fatal.
    assert!(opentoken_lifecycle::Transient::is_transient(&err));
}

#[test]
fn records_stranded_past_a_lost_block_are_dropped_once_it_is_published_again() {
    let e = env();
    // Block 4 was lost by a failed append that landed 5 and 6; the ingester then
    // published again from 4.
    append(&e, &[rec(1, 3, &[]), rec(5, 5, &["a"]), rec(6, 6, &["b"])]);
    let mut p = open(&e, 10, None);
    assert!(matches!(
        p.step(),
        Err(ProcessorError::Gap {
            expected: 4,
            got: 5,
            ..
        })
    ));
    append(
        &e,
        &[
            rec(4, 4, &["a"]),
            rec(5, 5, &["a"]),
            rec(6, 6, &["b"]),
            rec(7, 7, &["b"]),
        ],
    );
    assert_eq!(drain(&mut p), Step::Idle);
    assert_eq!(p.last_block(), Some(7));
    assert_eq!((count(&e, "a"), count(&e, "b")), (2, 2), "every block once");
}

#[test]
fn an_undecodable_record_is_an_error_not_a_panic() {
    let e = env();
    e.log
        .append(&[("t.ops.counter".to_string(), vec![(vec![], vec![1, 2, 3])])])
        .unwrap();
    let mut p = open(&e, 10, None);
    assert!(matches!(p.step(), Err(ProcessorError::Decode { offset: 0, .. })));
}
