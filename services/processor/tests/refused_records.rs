//! Forged and malformed records, each written into an embedded log topic after some honest
//! blocks were committed: the processor stops with an error naming the topic and the
//! record's offset, applies nothing of it (the committed state and position are those
//! before it), and stops again at the same record after a restart (never skips it).

use opentoken_codec::MessageBatch;
use opentoken_core::test_utils::CounterModule;
use opentoken_core::{
    Asset, AssetSymbol, BlockRecord, ChainPos, ChainSpec, CustomJsonOp, HiveOp, Message, RoutedOp, TransferOp,
};
use opentoken_log::{EmbeddedLog, Log};
use opentoken_processor::{MessageLinks, Processor, ProcessorConfig, ProcessorError, Step};
use opentoken_store::{EmbeddedStore, Progress, Store};
use opentoken_telemetry::Telemetry;
use std::sync::Arc;

const OPS: &str = "t.ops.counter";
const MESSAGES: &str = "t.messages.counter";

fn spec() -> Arc<ChainSpec> {
    Arc::new(
        ChainSpec::from_json(
            r#"{"name":"t","prefix":"x_","token":"T","precision":3,"starting_block":1,"leader":"lead",
                "msaccount":"msig","delegation_account":"lead","checkpoint_interval":10}"#,
        )
        .expect("spec"),
    )
}

fn count(id: &str, who: &str) -> HiveOp {
    HiveOp::CustomJson(CustomJsonOp {
        required_auths: vec![],
        required_posting_auths: vec![who.to_string()],
        id: id.into(),
        json: "{}".into(),
    })
}

fn op(pos: ChainPos, op: HiveOp) -> RoutedOp {
    RoutedOp {
        pos,
        txid: format!("{:040x}", pos.block * 1000 + u64::from(pos.trx_in_block)),
        op,
    }
}

fn block(num: u64, last: u64, ops: Vec<RoutedOp>) -> BlockRecord {
    BlockRecord {
        block_num: num,
        last_block: last,
        block_id: format!("{last:08x}"),
        timestamp: last * 3,
        ops,
    }
}

fn at(block: u64, trx: u32) -> ChainPos {
    ChainPos::new(block, trx, 0)
}

fn message(from: &str, to: &str, block: u64, seq: u32, kind: &str) -> Message {
    Message {
        from: from.into(),
        to: to.into(),
        pos: ChainPos::block_end(block),
        seq,
        kind: kind.into(),
        payload: r#"{"account":"mallory","amount":1000000}"#.into(),
    }
}

fn batch(from: &str, to: &str, through: u64, quiet: u64, messages: Vec<Message>) -> MessageBatch {
    MessageBatch {
        from: from.into(),
        to: to.into(),
        through_block: through,
        quiet_through: quiet,
        messages,
    }
}

struct Node {
    _dir: tempfile::TempDir,
    log: Arc<dyn Log>,
    store: Arc<dyn Store>,
}

impl Node {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let db = opentoken_log::embedded::open_database(&dir.path().join("db.redb")).expect("db");
        Self {
            log: Arc::new(EmbeddedLog::new(db.clone()).expect("log")),
            store: Arc::new(EmbeddedStore::new(db).expect("store")),
            _dir: dir,
        }
    }

    fn append(&self, topic: &str, values: Vec<Vec<u8>>) {
        let records = values.into_iter().map(|v| (vec![], v)).collect();
        self.log.append(&[(topic.to_string(), records)]).expect("append");
    }

    fn blocks(&self, recs: &[BlockRecord]) {
        self.append(OPS, recs.iter().map(opentoken_codec::encode_block_record).collect());
    }

    fn batches(&self, batches: &[MessageBatch]) {
        self.append(
            MESSAGES,
            batches.iter().map(opentoken_codec::encode_message_batch).collect(),
        );
    }

    /// The processor, receiving messages from `nodes` and `token` in other processes when
    /// `linked`.
    fn processor(&self, linked: bool) -> Processor {
        let links = linked.then(|| MessageLinks {
            upstreams: vec!["nodes".into(), "token".into()],
            downstreams: vec![],
            senders: vec![("nodes".into(), "counter".into()), ("token".into(), "counter".into())],
        });
        let cfg = ProcessorConfig {
            commit_every_blocks: 1,
            read_batch: 4,
            links,
            ..Default::default()
        };
        Processor::open(
            spec(),
            vec![Arc::new(CounterModule)],
            self.log.clone(),
            self.store.clone(),
            cfg,
            Arc::new(Telemetry::new()),
        )
        .expect("open")
    }

    /// What is committed: the position, and every counted signer's count.
    fn committed(&self) -> (Option<Progress>, Vec<usize>) {
        let counts = ["genesis", "alice", "bob", "mallory"]
            .iter()
            .map(|who| {
                self.store
                    .get("counter", &CounterModule::key(who))
                    .expect("get")
                    .map_or(0, |v| v.len())
            })
            .collect();
        (self.store.progress("counter").expect("progress"), counts)
    }
}

/// Steps until the processor stops advancing; its error, if it stopped on one.
fn run(p: &mut Processor) -> Option<ProcessorError> {
    loop {
        match p.step() {
            Ok(Step::Advanced(_)) => continue,
            Ok(_) => return None,
            Err(e) => return Some(e),
        }
    }
}

/// Honest blocks 1..=4 (alice counts at 1 and 3), committed.
fn honest(node: &Node, linked: bool) {
    node.blocks(&[
        block(1, 1, vec![op(at(1, 0), count("x_count", "alice"))]),
        block(2, 2, vec![]),
        block(3, 3, vec![op(at(3, 0), count("x_count", "alice"))]),
        block(4, 4, vec![]),
    ]);
    if linked {
        node.batches(&[
            batch("nodes", "counter", 4, 4, vec![]),
            batch("token", "counter", 4, 4, vec![]),
        ]);
    }
    let mut p = node.processor(linked);
    assert!(run(&mut p).is_none());
    assert_eq!(p.last_block(), Some(4));
}

/// Writes `forge` after the honest blocks, followed by an honest block 6 that a skipping
/// reader would apply; the processor must stop on the forged record at `offset` of `topic`.
fn assert_refused(case: &str, linked: bool, topic: &str, forge: impl Fn(&Node), expect_decode: bool) {
    let node = Node::new();
    honest(&node, linked);
    let before = node.committed();
    let offset = node.log.end_offset(topic).expect("end");
    forge(&node);
    if topic == OPS {
        node.blocks(&[block(6, 6, vec![op(at(6, 0), count("x_count", "bob"))])]);
    } else {
        node.blocks(&[block(5, 6, vec![])]);
    }
    for attempt in ["first run", "after a restart"] {
        let mut p = node.processor(linked);
        let err = run(&mut p).unwrap_or_else(|| panic!("{case} ({attempt}): the forged record was accepted"));
        match (&err, expect_decode) {
            (
                ProcessorError::Refused {
                    topic: t, offset: o, ..
                },
                false,
            )
            | (
                ProcessorError::Decode {
                    topic: t, offset: o, ..
                },
                true,
            ) => {
                assert_eq!((t.as_str(), *o), (topic, offset), "{case} ({attempt}): {err}");
            }
            _ => panic!("{case} ({attempt}): wrong error {err}"),
        }
        assert!(!opentoken_lifecycle::Transient::is_transient(&err), "{case}: {err}");
        let text = err.to_string();
        assert!(
            text.contains(topic) && text.contains(&format!("offset {offset}")),
            "{case}: {text}"
        );
        drop(p);
        assert_eq!(node.committed(), before, "{case} ({attempt}): something was applied");
    }
}

#[test]
fn forged_block_records_are_refused_naming_topic_and_offset() {
    let transfer = HiveOp::Transfer(TransferOp {
        from: "mallory".into(),
        to: "msig".into(),
        amount: Asset {
            amount: 1_000,
            symbol: AssetSymbol::Hive,
        },
        memo: String::new(),
    });
    let cases: Vec<(&str, BlockRecord)> = vec![
        ("last_block before block_num", block(5, 4, vec![])),
        (
            "a range carrying ops (re-applied at every block of it)",
            block(5, 9, vec![op(at(5, 0), count("x_count", "mallory"))]),
        ),
        (
            "an op outside its block",
            block(5, 5, vec![op(at(7, 0), count("x_count", "mallory"))]),
        ),
        (
            "ops out of chain order",
            block(
                5,
                5,
                vec![
                    op(at(5, 2), count("x_count", "mallory")),
                    op(at(5, 1), count("x_count", "mallory")),
                ],
            ),
        ),
        (
            "a duplicate position",
            block(
                5,
                5,
                vec![
                    op(at(5, 1), count("x_count", "mallory")),
                    op(at(5, 1), count("x_count", "mallory")),
                ],
            ),
        ),
        (
            "the block-end position",
            block(5, 5, vec![op(at(5, u32::MAX), count("x_count", "mallory"))]),
        ),
        (
            "another community's custom_json",
            block(5, 5, vec![op(at(5, 0), count("y_count", "mallory"))]),
        ),
        (
            "a Hive operation the module does not accept",
            block(5, 5, vec![op(at(5, 0), transfer)]),
        ),
    ];
    for (case, rec) in cases {
        assert_refused(case, false, OPS, |n| n.blocks(std::slice::from_ref(&rec)), false);
    }
}

#[test]
fn malformed_block_records_are_refused_naming_topic_and_offset() {
    // 20 bytes claiming 60 million ops: refused by the decoder before it allocates.
    let mut huge = vec![0xC3, 0x01];
    huge.extend_from_slice(&opentoken_codec::block_record_codec().fingerprint().to_le_bytes());
    huge.extend_from_slice(&[10, 0, 2, 0x80, 0x9c, 0x9c, 0x39]);
    huge.resize(20, 0);
    let mut trailing = opentoken_codec::encode_block_record(&block(5, 5, vec![]));
    trailing.push(0);
    for (case, bytes) in [
        ("a huge array claim", huge),
        ("trailing bytes", trailing),
        ("not Avro", b"block 5".to_vec()),
    ] {
        assert_refused(case, false, OPS, |n| n.append(OPS, vec![bytes.clone()]), true);
    }
}

#[test]
fn forged_message_batches_are_refused_naming_topic_and_offset() {
    let reward = |from: &str, to: &str, block: u64| message(from, to, block, 0, "node_reward");
    let cases: Vec<(&str, MessageBatch)> = vec![
        (
            "a node_reward from nodes inside a batch from token",
            batch("token", "counter", 5, 5, vec![reward("nodes", "counter", 5)]),
        ),
        (
            "a batch from a module that does not send here",
            batch("mallory", "counter", 5, 5, vec![reward("mallory", "counter", 5)]),
        ),
        (
            "a batch from this module itself",
            batch("counter", "counter", 5, 5, vec![]),
        ),
        (
            "a batch addressed to another module",
            batch("nodes", "token", 5, 5, vec![reward("nodes", "token", 5)]),
        ),
        (
            "a message to another module inside the batch",
            batch("nodes", "counter", 5, 5, vec![reward("nodes", "token", 5)]),
        ),
        (
            "a message emitted after the batch's through_block",
            batch("nodes", "counter", 5, 9, vec![reward("nodes", "counter", 7)]),
        ),
        (
            "quiet_through before through_block",
            batch("nodes", "counter", 5, 3, vec![]),
        ),
        (
            "messages out of emission order",
            batch(
                "nodes",
                "counter",
                5,
                5,
                vec![
                    message("nodes", "counter", 5, 1, "node_reward"),
                    message("nodes", "counter", 5, 0, "node_reward"),
                ],
            ),
        ),
    ];
    for (case, b) in cases {
        assert_refused(case, true, MESSAGES, |n| n.batches(std::slice::from_ref(&b)), false);
    }
}

#[test]
fn honest_batches_still_pass() {
    let node = Node::new();
    honest(&node, true);
    node.batches(&[
        batch(
            "nodes",
            "counter",
            6,
            8,
            vec![
                message("nodes", "counter", 5, 0, "node_reward"),
                message("nodes", "counter", 5, 1, "node_reward"),
                message("nodes", "counter", 6, 0, "node_reward"),
            ],
        ),
        batch("token", "counter", 9, 9, vec![]),
    ]);
    node.blocks(&[block(5, 9, vec![])]);
    let mut p = node.processor(true);
    assert!(run(&mut p).is_none());
    assert_eq!(p.last_block(), Some(9));
}
