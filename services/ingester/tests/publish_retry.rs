//! A failed append (broker outage) must not move the publisher's heads: the retry publishes
//! the same blocks again, so the topics may hold duplicates but never a gap.

use opentoken_core::router::RouteTable;
use opentoken_core::{Auth, Block, ChainSpec, CustomJsonOp, HiveOp, Route, Transaction};
use opentoken_ingester::{IngestError, Publisher};
use opentoken_log::{EmbeddedLog, Log, LogError, LogRecord, TopicBatch};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

struct Table(&'static str, &'static [Route]);
impl RouteTable for Table {
    fn module_name(&self) -> &'static str {
        self.0
    }
    fn route_list(&self) -> &[Route] {
        self.1
    }
    fn wants_hive_op(&self, _: &HiveOp, _: &ChainSpec) -> bool {
        false
    }
}

/// Appends only the first topic of a batch and then fails, `fail` times.
struct Flaky {
    inner: EmbeddedLog,
    fail: AtomicUsize,
}

impl Log for Flaky {
    fn append(&self, batch: &[TopicBatch]) -> Result<(), LogError> {
        if self.fail.load(Ordering::SeqCst) > 0 && batch.len() > 1 {
            self.fail.fetch_sub(1, Ordering::SeqCst);
            self.inner.append(&batch[..1])?;
            return Err(LogError::Unavailable("broker went away mid-batch".into()));
        }
        self.inner.append(batch)
    }
    fn read(&self, topic: &str, from: u64, max: usize) -> Result<Vec<LogRecord>, LogError> {
        self.inner.read(topic, from, max)
    }
    fn end_offset(&self, topic: &str) -> Result<u64, LogError> {
        self.inner.end_offset(topic)
    }
}

fn spec() -> Arc<ChainSpec> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/chains/devnet.json"))
        .expect("devnet spec");
    Arc::new(ChainSpec::from_json(&text).expect("spec"))
}

fn block(num: u64) -> Block {
    let op = |name: &str| {
        HiveOp::CustomJson(CustomJsonOp {
            required_auths: vec!["alice".into()],
            required_posting_auths: vec![],
            id: format!("dlux_{name}"),
            json: "{}".into(),
        })
    };
    Block {
        num,
        id: format!("{num:08x}{}", "0".repeat(32)),
        previous: format!("{:08x}{}", num - 1, "0".repeat(32)),
        timestamp: 1_700_000_000 + num * 3,
        witness: "w".into(),
        transactions: vec![Transaction {
            txid: format!("{num:040x}"),
            operations: if num.is_multiple_of(3) {
                vec![op("a"), op("b")]
            } else {
                vec![]
            },
        }],
    }
}

/// Every block from `first` to `last` is covered, in order; duplicates allowed.
fn covered(log: &dyn Log, topic: &str, first: u64, last: u64) -> usize {
    let mut next = first;
    let mut dups = 0;
    for r in log.read(topic, 0, 10_000).expect("read") {
        let rec = opentoken_codec::decode_block_record(&r.value).expect("decode");
        if rec.last_block < next {
            dups += 1;
            continue;
        }
        assert!(
            rec.block_num <= next,
            "{topic}: gap before block {} (expected {next})",
            rec.block_num
        );
        next = rec.last_block + 1;
    }
    assert_eq!(next, last + 1, "{topic} ends at block {}", next - 1);
    dups
}

#[test]
fn a_failed_append_is_retried_from_the_same_blocks() {
    const A: &[Route] = &[Route {
        name: "a",
        auth: Auth::Active,
    }];
    const B: &[Route] = &[Route {
        name: "b",
        auth: Auth::Active,
    }];
    let spec = spec();
    let dir = tempfile::tempdir().expect("tmp");
    let db = opentoken_log::embedded::open_database(&dir.path().join("log.redb")).expect("db");
    let log = Arc::new(Flaky {
        inner: EmbeddedLog::new(db).expect("log"),
        fail: AtomicUsize::new(2),
    });
    let tables: Vec<Arc<dyn RouteTable>> = vec![Arc::new(Table("ma", A)), Arc::new(Table("mb", B))];
    let mut p = Publisher::open(spec.clone(), tables, log.clone()).expect("publisher");
    let blocks: Vec<Block> = (1..=40).map(block).collect();
    let mut failures = 0;
    for chunk in blocks.chunks(10) {
        loop {
            match p.publish(chunk) {
                Ok(_) => break,
                Err(IngestError::Log(LogError::Unavailable(_))) => failures += 1,
                Err(e) => panic!("unexpected error {e}"),
            }
        }
    }
    assert_eq!(failures, 2);
    let dups = covered(log.as_ref(), &spec.ops_topic("ma"), 1, 40);
    covered(log.as_ref(), &spec.ops_topic("mb"), 1, 40);
    assert!(dups > 0, "the partial appends left no duplicate to skip");
    assert_eq!(p.next_block(), 41);
}

/// A run of empty blocks never continues past a checkpoint block, whatever the fetch size:
/// the record of every checkpoint block carries its id and time (chron work that builds
/// Hive transactions reads them, so they must be the same on every node).
#[test]
fn every_checkpoint_block_ends_a_record_whatever_the_fetch_size() {
    const A: &[Route] = &[Route {
        name: "a",
        auth: Auth::Active,
    }];
    let spec = spec();
    let interval = spec.checkpoint_interval;
    let last = 3 * interval + 17;
    for chunk in [1usize, 7, 64, 1000] {
        let dir = tempfile::tempdir().expect("tmp");
        let db = opentoken_log::embedded::open_database(&dir.path().join("log.redb")).expect("db");
        let log: Arc<dyn Log> = Arc::new(EmbeddedLog::new(db).expect("log"));
        let mut p = Publisher::open(spec.clone(), vec![Arc::new(Table("ma", A))], log.clone()).expect("publisher");
        // Ops only every third block, so most blocks are coalesced.
        let blocks: Vec<Block> = (1..=last).map(block).collect();
        for c in blocks.chunks(chunk) {
            p.publish(c).expect("publish");
        }
        let mut ends = std::collections::BTreeMap::new();
        for r in log.read(&spec.ops_topic("ma"), 0, 100_000).expect("read") {
            let rec = opentoken_codec::decode_block_record(&r.value).expect("decode");
            for cp in (interval..=last).step_by(interval as usize) {
                if rec.block_num <= cp && cp <= rec.last_block {
                    assert_eq!(
                        rec.last_block, cp,
                        "fetch size {chunk}: a record runs past checkpoint {cp}"
                    );
                    ends.insert(cp, (rec.block_id.clone(), rec.timestamp));
                }
            }
        }
        for cp in (interval..=last).step_by(interval as usize) {
            let b = block(cp);
            assert_eq!(
                ends.get(&cp),
                Some(&(b.id, b.timestamp)),
                "fetch size {chunk}: checkpoint {cp}"
            );
        }
    }
}
