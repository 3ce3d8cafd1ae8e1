//! How the ScyllaDB backend grows and how large its writes and reads get: snapshots are
//! pruned to the newest few, reads are paged, and a large state is written in bounded
//! chunks and batches and reads back whole. On the in-process CQL double unless
//! `OPENTOKEN_SCYLLA_URI` names a real cluster (see the README for what the double cannot
//! check: it returns every read in one page).

use opentoken_core::commitment::LtHash;
use opentoken_store::scylla::MUTATION_LIMIT;
use opentoken_store::{CommitBatch, ModuleCommit, Progress, ScyllaConfig, ScyllaStore, Store};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;

fn uri() -> String {
    std::env::var("OPENTOKEN_SCYLLA_URI")
        .unwrap_or_else(|_| format!("scylla://{}", opentoken_store::scylla::cql_test_server()))
}

/// Keyspaces unique to this run, so a real cluster can be reused between runs.
fn keyspace(name: &str) -> String {
    static RUN: OnceLock<String> = OnceLock::new();
    let run = RUN.get_or_init(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        format!("{}_{}", std::process::id(), t % 1_000_000_000)
    });
    format!("g_{run}_{name}")
}

fn connect(name: &str, params: &str) -> ScyllaStore {
    let base = uri();
    let base = base.split('?').next().unwrap_or(&base).to_string();
    let mut cfg = ScyllaConfig::from_uri(&format!("{base}?{params}")).expect("uri");
    cfg.keyspace = keyspace(name);
    ScyllaStore::connect(&cfg).expect("connect")
}

/// Rows of a table of the test's keyspace (the table is small or the double is in use).
fn count_rows(name: &str, table: &str) -> usize {
    let cfg = ScyllaConfig::from_uri(&uri()).expect("uri");
    let ks = keyspace(name);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let session = scylla::client::session_builder::SessionBuilder::new()
            .known_nodes(&cfg.nodes)
            .auto_await_schema_agreement(false)
            .fetch_schema_metadata(false)
            .build()
            .await
            .expect("session");
        session
            .query_unpaged(format!("SELECT * FROM {ks}.{table}"), &[])
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows")
            .rows_num()
    })
}

fn commit_of(
    block: u64,
    changes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    snapshot: Option<&BTreeMap<Vec<u8>, Vec<u8>>>,
) -> CommitBatch {
    CommitBatch {
        modules: vec![ModuleCommit {
            module: "token".into(),
            changes,
            // Not a whole lattice: the store computes a snapshot's commitment from its pairs.
            lattice: block.to_be_bytes().to_vec(),
            progress: Progress {
                block,
                next_offset: block,
            },
            snapshot: snapshot.cloned(),
        }],
        ..Default::default()
    }
}

/// Over many checkpoints the store keeps the newest `keep_snapshots` snapshots and the
/// commit links after the oldest of them, and nothing more; the state still loads.
#[test]
fn snapshot_and_link_rows_stay_bounded_over_many_checkpoints() {
    let name = "bounded";
    let s = connect(name, "keep_snapshots=2");
    let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for checkpoint in 1..=30u64 {
        for step in [50, 100] {
            let block = (checkpoint - 1) * 100 + step;
            let key = format!("k{}", block % 7).into_bytes();
            let value = block.to_string().into_bytes();
            state.insert(key.clone(), value.clone());
            let snapshot = (step == 100).then_some(&state);
            s.commit(&commit_of(block, vec![(key, Some(value))], snapshot))
                .expect("commit");
        }
        if checkpoint >= 2 {
            assert_eq!(
                count_rows(name, "snapshot_manifests"),
                2,
                "after checkpoint {checkpoint}"
            );
            assert_eq!(count_rows(name, "snapshot_chunks"), 2, "one chunk each");
            // Links from the oldest kept snapshot on: 2 per checkpoint interval.
            assert!(count_rows(name, "link_starts") <= 4, "after checkpoint {checkpoint}");
            assert!(count_rows(name, "links") <= 4, "after checkpoint {checkpoint}");
        }
    }
    let s = connect(name, "keep_snapshots=2");
    assert_eq!(s.load_module("token").expect("load").pairs, state);
    assert_eq!(
        s.scan_prefix("token", b"", usize::MAX)
            .expect("scan")
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        state
    );
}

/// Statuses are deleted as they fall out of the kept window, a bucket of 1,000 blocks at a
/// time: over 50 commits spanning 5,000 blocks with a window of 10, the status rows, their
/// index rows and the bucket rows are exactly those of the buckets not wholly expired
/// (counted in the tables: the double does delete rows by full primary key and whole
/// partitions), and the statuses of the window still read back.
#[test]
fn status_rows_stay_bounded_over_many_windows() {
    const KEEP: u64 = 10;
    const BUCKET: u64 = 1000;
    let name = "statuses";
    let s = connect(name, &format!("keep_status_blocks={KEEP}"));
    let mut written: Vec<u64> = Vec::new();
    for block in (100..=5000u64).step_by(100) {
        let at = [block - 50, block - 1, block];
        let mut batch = commit_of(block, vec![], None);
        batch.statuses = at
            .iter()
            .map(|b| opentoken_core::OpStatus {
                txid: format!("t{b}"),
                pos: opentoken_core::ChainPos::new(*b, 0, 0),
                module: "token".into(),
                op: "send".into(),
                from: "alice".into(),
                outcome: opentoken_core::Outcome::Applied { summary: "ok".into() },
            })
            .collect();
        written.extend(at);
        s.commit(&batch).expect("commit");
        let oldest_kept = opentoken_store::oldest_kept_status_block(block, KEEP);
        let first_bucket = oldest_kept / BUCKET;
        let left: Vec<u64> = written.iter().copied().filter(|b| b / BUCKET >= first_bucket).collect();
        let buckets: std::collections::BTreeSet<u64> = left.iter().map(|b| b / BUCKET).collect();
        assert_eq!(
            count_rows(name, "statuses"),
            left.len(),
            "status rows at progress {block}"
        );
        assert_eq!(
            count_rows(name, "status_index"),
            left.len(),
            "index rows at progress {block}"
        );
        assert_eq!(
            count_rows(name, "status_buckets"),
            buckets.len(),
            "buckets at progress {block}"
        );
        assert!(
            left.len() as u64 <= 3 * ((KEEP + BUCKET) / 100 + 1),
            "bounded by the window and one bucket"
        );
        for b in &written {
            let got = s.statuses(&format!("t{b}")).expect("read");
            assert_eq!(got.len(), usize::from(*b >= oldest_kept), "t{b} at progress {block}");
        }
    }
    assert!(written.len() > 100, "more statuses were written than are kept");
}

/// Every read is paged: with pages of 50 rows, a state of 1,000 keys (and its versions)
/// reads back whole through `get`, `scan_prefix` and a load.
#[test]
fn reads_larger_than_a_page_come_back_whole() {
    let name = "paged";
    let s = connect(name, "page_rows=50");
    let changes = |round: u8| -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        (0..1000u32)
            .map(|i| {
                (
                    format!("bal/{i:05}").into_bytes(),
                    (i % 10 != round as u32).then(|| vec![round; 3]),
                )
            })
            .collect()
    };
    s.commit(&commit_of(10, changes(0), None)).expect("10");
    s.commit(&commit_of(20, changes(1), None)).expect("20");
    let expected: BTreeMap<Vec<u8>, Vec<u8>> = changes(1).into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
    assert_eq!(expected.len(), 900);
    let scanned = s.scan_prefix("token", b"bal/", usize::MAX).expect("scan");
    assert_eq!(scanned.into_iter().collect::<BTreeMap<_, _>>(), expected);
    let first = s.scan_prefix("token", b"bal/", 120).expect("scan");
    assert_eq!(
        first,
        expected
            .iter()
            .take(120)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(s.get("token", b"bal/00999").expect("get"), Some(vec![1; 3]));
    assert_eq!(s.get("token", b"bal/00001").expect("get"), None, "deleted at 20");
    assert_eq!(s.load_module("token").expect("load").pairs, expected);
}

/// `keys` generated keys with small values, committed in one commit (with a snapshot when
/// `snapshot`) and reloaded; returns the largest write and the timings.
fn large_state(name: &str, keys: u32, snapshot: bool) {
    let started = Instant::now();
    let state: BTreeMap<Vec<u8>, Vec<u8>> = (0..keys)
        .map(|i| {
            (
                format!("bal/{i:08}").into_bytes(),
                (i as u64 * 7).to_be_bytes().to_vec(),
            )
        })
        .collect();
    let changes: Vec<(Vec<u8>, Option<Vec<u8>>)> = state.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
    let s = connect(name, "");
    let mut batch = commit_of(100, changes, snapshot.then_some(&state));
    if snapshot {
        // A whole lattice, as a processor sends: the store takes the commitment from it.
        batch.modules[0].lattice =
            LtHash::from_pairs(state.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).to_bytes();
    }
    let t = Instant::now();
    s.commit(&batch).expect("commit");
    let commit_took = t.elapsed();
    let largest = s.largest_write_bytes();
    assert!(largest <= MUTATION_LIMIT, "a write of {largest} bytes");
    assert!(
        largest > MUTATION_LIMIT / 2,
        "writes are batched: the largest is {largest} bytes"
    );
    // A later commit touching a few keys, then everything back from a new process.
    s.commit(&commit_of(150, vec![(b"bal/00000001".to_vec(), None)], None))
        .expect("150");
    drop(s);
    let s = connect(name, "");
    let t = Instant::now();
    let loaded = s.load_module("token").expect("load");
    let load_took = t.elapsed();
    assert_eq!(loaded.pairs.len(), state.len() - 1);
    let mut expected = state;
    expected.remove(b"bal/00000001".as_slice());
    assert!(loaded.pairs == expected, "the reloaded state differs");
    assert_eq!(s.get("token", b"bal/00000001").expect("get"), None);
    let last = format!("bal/{:08}", keys - 1).into_bytes();
    assert_eq!(s.get("token", &last).expect("get"), expected.get(&last).cloned());
    assert_eq!(s.scan_prefix("token", b"bal/0000000", 5).expect("scan").len(), 5);
    eprintln!(
        "{keys} keys (snapshot: {snapshot}): commit {commit_took:?}, load {load_took:?}, whole test {:?}, largest \
         write {largest} bytes",
        started.elapsed()
    );
}

/// 100,000 keys through the commit chain: every write stays under the mutation limit, and
/// the state reads back whole.
#[test]
fn a_state_of_100k_keys_commits_in_bounded_writes_and_reloads() {
    large_state("large100k", 100_000, false);
}

/// A snapshot of several chunks is written and verified (5,000 keys: hashing a state for
/// its commitment is slow in a debug build, about 1 ms a key).
#[test]
fn a_snapshot_of_several_chunks_commits_and_reloads() {
    large_state("chunked", 5_000, true);
}

/// 1,000,000 keys with a snapshot (`make test-scylla-large`, in release: the commitment
/// of a million keys takes minutes in a debug build).
#[test]
#[ignore = "slow: run with `make test-scylla-large`"]
fn a_state_of_a_million_keys_commits_in_bounded_writes_and_reloads() {
    large_state("large1m", 1_000_000, true);
}
