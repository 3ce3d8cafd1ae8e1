//! The store contract suite, and crashes in the middle of a commit, against the ScyllaDB
//! backend: on a real ScyllaDB when `OPENTOKEN_SCYLLA_URI` is set
//! (`scylla://host:9042`), else on kassandra, an in-process CQL server that is a
//! protocol-level test double (see the README for what it cannot check).

use opentoken_store::contract::StoreHarness;
use opentoken_store::{CommitBatch, ModuleCommit, Progress, ScyllaConfig, ScyllaStore, Store};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::OnceLock;

fn kassandra() -> SocketAddr {
    opentoken_store::scylla::cql_test_server()
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
    format!("t_{run}_{}", name.replace('-', "_"))
}

fn connect(name: &str) -> ScyllaStore {
    let mut cfg = match std::env::var("OPENTOKEN_SCYLLA_URI") {
        Ok(uri) => ScyllaConfig::from_uri(&uri).expect("OPENTOKEN_SCYLLA_URI"),
        Err(_) => ScyllaConfig::from_uri(&format!("scylla://{}", kassandra())).expect("uri"),
    };
    cfg.keyspace = keyspace(name);
    ScyllaStore::connect(&cfg).expect("connect")
}

struct Scylla;

impl StoreHarness for Scylla {
    fn open(&self, name: &str) -> Box<dyn Store> {
        Box::new(connect(name))
    }
}

opentoken_store::store_contract_tests!(Scylla);

fn kv(pairs: &[(&str, &str)]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

fn batch(block: u64, changes: &[(&str, Option<&str>)], snapshot: Option<&BTreeMap<Vec<u8>, Vec<u8>>>) -> CommitBatch {
    CommitBatch {
        modules: vec![ModuleCommit {
            module: "token".into(),
            changes: changes
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
                .collect(),
            lattice: block.to_be_bytes().to_vec(),
            progress: Progress {
                block,
                next_offset: block * 2,
            },
            snapshot: snapshot.cloned(),
        }],
        checkpoints: if block.is_multiple_of(100) {
            vec![opentoken_core::ModuleCheckpoint {
                module: "token".into(),
                block,
                hash: [block as u8; 32],
            }]
        } else {
            vec![]
        },
        ..Default::default()
    }
}

/// A commit killed after each possible number of writes leaves the committed state
/// exactly as before (never the rows it wrote ahead), and the retried commit then lands.
#[test]
fn a_crash_anywhere_in_a_commit_leaves_the_previous_state() {
    // Before: 50 -> snapshot at 100 -> 150. The crashing commit: 150 -> 200 (a checkpoint,
    // with a snapshot) writes: link, snapshot, 3 projection rows, checkpoint, progress.
    let at_100 = kv(&[("a", "1"), ("b", "2"), ("c", "3")]);
    let after_150 = kv(&[("a", "1"), ("b", "5"), ("c", "3"), ("d", "4")]);
    let after_200 = kv(&[("b", "6"), ("c", "3"), ("d", "4"), ("e", "7")]);
    for crash_after in 0..7 {
        let name = format!("crash{crash_after}");
        {
            let s = connect(&name);
            s.commit(&batch(50, &[("a", Some("1")), ("b", Some("2"))], None))
                .expect("50");
            s.commit(&batch(100, &[("c", Some("3"))], Some(&at_100))).expect("100");
            s.commit(&batch(150, &[("b", Some("5")), ("d", Some("4"))], None))
                .expect("150");
            s.crash_next_commit_after(crash_after);
            let crashing = batch(
                200,
                &[("a", None), ("b", Some("6")), ("e", Some("7"))],
                Some(&after_200),
            );
            assert!(s.commit(&crashing).is_err(), "crash after {crash_after} writes");
        }
        // A new process: it sees exactly the state of block 150.
        let s = connect(&name);
        let loaded = s.load_module("token").expect("load");
        assert_eq!(loaded.progress.map(|p| p.block), Some(150), "crash after {crash_after}");
        assert_eq!(
            loaded.pairs, after_150,
            "crash after {crash_after}: rows ahead were read"
        );
        // The retry commits in two steps this time (different boundaries than the crashed
        // commit), and the state is right.
        s.commit(&batch(180, &[("a", None), ("b", Some("6"))], None))
            .expect("180");
        s.commit(&batch(200, &[("e", Some("7"))], Some(&after_200)))
            .expect("200");
        let s = connect(&name);
        let loaded = s.load_module("token").expect("load");
        assert_eq!(loaded.progress.map(|p| p.block), Some(200));
        assert_eq!(loaded.pairs, after_200, "crash after {crash_after}: retried state");
        assert_eq!(s.get("token", b"a").expect("get"), None);
        assert_eq!(s.get("token", b"e").expect("get"), Some(b"7".to_vec()));
    }
}

/// A snapshot that does not match its commitment is not used: the store falls back to an
/// older snapshot and the commit chain, which give the committed state.
#[test]
fn a_snapshot_that_fails_verification_is_skipped() {
    let name = "badsnap";
    let s = connect(name);
    let at_100 = kv(&[("a", "1")]);
    let at_200 = kv(&[("a", "1"), ("b", "2")]);
    s.commit(&batch(100, &[("a", Some("1"))], Some(&at_100))).expect("100");
    s.commit(&batch(200, &[("b", Some("2"))], Some(&at_200))).expect("200");
    drop(s);
    // Rot the newest snapshot's content below the store (its stored hash stays).
    let uri = std::env::var("OPENTOKEN_SCYLLA_URI").unwrap_or_else(|_| format!("scylla://{}", kassandra()));
    let cfg = ScyllaConfig::from_uri(&uri).expect("uri");
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
        let rows = session
            .query_unpaged(
                format!("SELECT hash FROM {ks}.snapshots WHERE module = 'token' AND block = 200"),
                &[],
            )
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows");
        let (hash,): (Vec<u8>,) = rows.first_row().expect("snapshot 200 exists");
        // A well-formed but wrong state ("b" = "X").
        let rotten = vec![
            1u8, 0, 0, 0, 1, b'a', 1, 0, 0, 0, 1, b'1', 0, 0, 0, 1, b'b', 1, 0, 0, 0, 1, b'X',
        ];
        let insert = session
            .prepare(format!(
                "INSERT INTO {ks}.snapshots (module, block, hash, pairs) VALUES (?, ?, ?, ?)"
            ))
            .await
            .expect("prepare");
        session
            .execute_unpaged(&insert, ("token", 200i64, hash, rotten))
            .await
            .expect("insert");
    });
    let s = connect(name);
    let loaded = s.load_module("token").expect("load");
    assert_eq!(loaded.pairs, at_200, "the rotten snapshot was used");
}
