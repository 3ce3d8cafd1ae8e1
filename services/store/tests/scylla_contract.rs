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
    connect_keeping(name, opentoken_store::scylla::DEFAULT_KEEP_SNAPSHOTS)
}

fn connect_keeping(name: &str, keep_snapshots: usize) -> ScyllaStore {
    connect_with(name, keep_snapshots, opentoken_store::DEFAULT_KEEP_STATUS_BLOCKS)
}

fn connect_with(name: &str, keep_snapshots: usize, keep_status_blocks: u64) -> ScyllaStore {
    let mut cfg = match std::env::var("OPENTOKEN_SCYLLA_URI") {
        Ok(uri) => ScyllaConfig::from_uri(&uri).expect("OPENTOKEN_SCYLLA_URI"),
        Err(_) => ScyllaConfig::from_uri(&format!("scylla://{}", kassandra())).expect("uri"),
    };
    cfg.keyspace = keyspace(name);
    cfg.keep_snapshots = keep_snapshots;
    cfg.keep_status_blocks = keep_status_blocks;
    ScyllaStore::connect(&cfg).expect("connect")
}

struct Scylla;

impl StoreHarness for Scylla {
    fn open(&self, name: &str) -> Box<dyn Store> {
        Box::new(connect(name))
    }

    fn open_keeping_statuses(&self, name: &str, blocks: u64) -> Box<dyn Store> {
        Box::new(connect_with(
            name,
            opentoken_store::scylla::DEFAULT_KEEP_SNAPSHOTS,
            blocks,
        ))
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

/// Everything an API-style reader sees of the token module: every key it could ask for,
/// one by one, and a scan of the whole module.
type State = BTreeMap<Vec<u8>, Vec<u8>>;

fn api_view(s: &ScyllaStore, keys: &[&str]) -> (State, State) {
    let mut got = BTreeMap::new();
    for k in keys {
        if let Some(v) = s.get("token", k.as_bytes()).expect("get") {
            got.insert(k.as_bytes().to_vec(), v);
        }
    }
    let scanned = s
        .scan_prefix("token", b"", usize::MAX)
        .expect("scan")
        .into_iter()
        .collect();
    (got, scanned)
}

/// A commit killed after each possible number of writes (every write of the commit, the
/// deletes after its progress row included) leaves the committed state exactly as before
/// or, once the progress row is written, exactly the new one: for a load and for the API's
/// reads (never rows written ahead of progress, never a mix). The retried commit then lands.
#[test]
fn a_crash_anywhere_in_a_commit_leaves_the_previous_state() {
    // Before: 50 -> snapshot at 100 -> 150. The crashing commit: 150 -> 200 (a checkpoint,
    // with a snapshot; one snapshot kept, so after its progress row it deletes snapshot
    // 100 and the links before 200: crash points too).
    let at_100 = kv(&[("a", "1"), ("b", "2"), ("c", "3")]);
    let after_150 = kv(&[("a", "1"), ("b", "5"), ("c", "3"), ("d", "4")]);
    let after_200 = kv(&[("b", "6"), ("c", "3"), ("d", "4"), ("e", "7")]);
    let keys = ["a", "b", "c", "d", "e"];
    let mut crash_after = 0;
    loop {
        let name = format!("crash{crash_after}");
        let connect = |name: &str| connect_keeping(name, 1);
        let landed = {
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
            s.commit(&crashing).is_ok()
        };
        if landed {
            // The hook did not fire: every write of the commit has been a crash point
            // (link index and chunk, snapshot chunk and manifest, projection, checkpoint,
            // progress, then 2 deletes for snapshot 100 and 2 for the link from block 100).
            assert!(crash_after >= 11, "only {crash_after} writes");
            break;
        }
        // A new process: it sees exactly the state of block 150, or of block 200 once the
        // progress row was written (the crash hit the deletes after it).
        let s = connect(&name);
        let loaded = s.load_module("token").expect("load");
        let block = loaded.progress.map(|p| p.block);
        let expected = match block {
            Some(150) => &after_150,
            Some(200) => &after_200,
            other => panic!("crash after {crash_after}: progress {other:?}"),
        };
        assert_eq!(
            &loaded.pairs, expected,
            "crash after {crash_after}: load saw rows ahead"
        );
        let (got, scanned) = api_view(&s, &keys);
        assert_eq!(&got, expected, "crash after {crash_after}: get saw a mix");
        assert_eq!(&scanned, expected, "crash after {crash_after}: scan saw a mix");
        assert_eq!(
            s.events("token", 0, usize::MAX).expect("events").len(),
            0,
            "no events were committed"
        );
        // The retry commits in two steps this time (different boundaries than the crashed
        // commit), and the state is right at each.
        if block == Some(150) {
            s.commit(&batch(180, &[("a", None), ("b", Some("6"))], None))
                .expect("180");
            let at_180 = kv(&[("b", "6"), ("c", "3"), ("d", "4")]);
            assert_eq!(api_view(&s, &keys), (at_180.clone(), at_180), "at 180");
            s.commit(&batch(200, &[("e", Some("7"))], Some(&after_200)))
                .expect("200");
        }
        let s = connect(&name);
        let loaded = s.load_module("token").expect("load");
        assert_eq!(loaded.progress.map(|p| p.block), Some(200));
        assert_eq!(loaded.pairs, after_200, "crash after {crash_after}: retried state");
        assert_eq!(
            api_view(&s, &keys),
            (after_200.clone(), after_200.clone()),
            "crash after {crash_after}: retried reads"
        );
        crash_after += 1;
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
        // A well-formed but wrong state ("b" = "X") in place of snapshot 200's one chunk.
        let rotten = vec![
            1u8, 0, 0, 0, 1, b'a', 1, 0, 0, 0, 1, b'1', 0, 0, 0, 1, b'b', 1, 0, 0, 0, 1, b'X',
        ];
        let insert = session
            .prepare(format!(
                "INSERT INTO {ks}.snapshot_chunks (part, chunk, data) VALUES (?, ?, ?)"
            ))
            .await
            .expect("prepare");
        session
            .execute_unpaged(&insert, ("token/200", 0i32, rotten))
            .await
            .expect("insert");
    });
    let s = connect(name);
    let loaded = s.load_module("token").expect("load");
    assert_eq!(loaded.pairs, at_200, "the rotten snapshot was used");
}

/// A commit retried after its progress row was written (a transient error in the deletes
/// after it: the store retries such a commit itself) is a re-commit of the committed
/// block: it lands, with one snapshot kept, whichever write the first try stopped at.
#[test]
fn a_commit_retried_after_its_progress_row_lands() {
    let s = connect_keeping("retried", 1);
    let at_100 = kv(&[("a", "1")]);
    s.commit(&batch(50, &[("a", Some("1"))], None)).expect("50");
    s.commit(&batch(100, &[], Some(&at_100))).expect("100");
    s.commit(&batch(150, &[("b", Some("2"))], None)).expect("150");
    let at_200 = kv(&[("a", "1"), ("b", "2"), ("c", "3")]);
    let crashing = batch(200, &[("c", Some("3"))], Some(&at_200));
    let mut tries = 0;
    for crash_after in 0.. {
        s.crash_next_commit_after(crash_after);
        tries += 1;
        if s.commit(&crashing).is_ok() {
            break;
        }
        assert!(crash_after < 40, "never lands");
    }
    assert!(tries > 8, "{tries} tries");
    let s = connect_keeping("retried", 1);
    let loaded = s.load_module("token").expect("load");
    assert_eq!(
        (loaded.progress.map(|p| p.block), loaded.pairs),
        (Some(200), at_200.clone())
    );
    assert_eq!(
        s.scan_prefix("token", b"", usize::MAX)
            .expect("scan")
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        at_200
    );
}

/// A keyspace an older opentoken wrote (store format 1: progress rows but no format
/// record) is refused at start with what to do, not read as an empty chain.
#[test]
fn a_keyspace_of_the_old_format_is_refused() {
    let name = "oldformat";
    drop(connect(name));
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
        for q in [
            format!("DELETE FROM {ks}.meta WHERE key = 'store/format'"),
            format!("INSERT INTO {ks}.progress (module, block, next_offset, prev) VALUES ('token', 5, 5, -1)"),
        ] {
            session.query_unpaged(q, &[]).await.expect("write");
        }
    });
    let mut cfg = ScyllaConfig::from_uri(&uri).expect("uri");
    cfg.keyspace = ks;
    let err = ScyllaStore::connect(&cfg).expect_err("an old keyspace");
    assert!(err.to_string().contains("opentoken replay"), "{err}");
}
