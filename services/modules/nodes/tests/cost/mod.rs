//! The cost of reports at scale: N registered nodes, each reporting every checkpoint,
//! driven through the module harness with every state write counted. Shared by the
//! regression test (`tests/report_cost.rs`) and the bench (`benches/report_cost.rs`).
#![allow(dead_code)]

use ed25519_dalek::{Signer, SigningKey};
use opentoken_core::test_utils::{test_spec, ModuleHarness};
use opentoken_core::{Auth, BlockContext, ChainPos, Input, Module, ModuleState, OpContext, StateRead, StateWrite};
use opentoken_nodes::{report_json, report_signing_bytes, NodeRecord, NodesEvent, NodesModule};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// The runner set of every run (the default `max_runners`).
pub(crate) const RUNNERS: usize = 25;
/// Checkpoints every 10 blocks (the test spec), reports accepted for 5 blocks after each.
const INTERVAL: u64 = 10;
const WINDOW: u64 = 5;
/// The hash everyone reports (an honest network).
const HASH: [u8; 32] = [0x11; 32];

/// Writes to the state, as the store would persist them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Writes {
    pub(crate) puts: u64,
    pub(crate) deletes: u64,
    /// Key and value bytes of the puts, key bytes of the deletes.
    pub(crate) bytes: u64,
}

/// What `checkpoints` checkpoints with `nodes` registered nodes cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cost {
    pub(crate) nodes: usize,
    pub(crate) checkpoints: u64,
    /// Reports counted (accepted) and refused.
    pub(crate) accepted: u64,
    pub(crate) refused: u64,
    /// Writes of the reports, and of the tally opens and closes.
    pub(crate) report_writes: Writes,
    pub(crate) tally_writes: Writes,
    /// Deciding and applying the reports (not the signing, done in setup).
    pub(crate) report_time: Duration,
    /// Deciding and applying the opens and closes.
    pub(crate) tally_time: Duration,
}

impl Cost {
    pub(crate) fn reports(&self) -> u64 {
        self.accepted + self.refused
    }

    /// State bytes written per checkpoint, reports and tally together.
    pub(crate) fn bytes_per_checkpoint(&self) -> u64 {
        (self.report_writes.bytes + self.tally_writes.bytes) / self.checkpoints
    }

    /// Puts and deletes per checkpoint.
    pub(crate) fn writes_per_checkpoint(&self) -> u64 {
        let w = |x: &Writes| x.puts + x.deletes;
        (w(&self.report_writes) + w(&self.tally_writes)) / self.checkpoints
    }
}

/// A state that counts what is written to it.
struct Counting<'a> {
    state: &'a mut ModuleState,
    writes: &'a mut Writes,
}

impl StateRead for Counting<'_> {
    fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.state.get(key)
    }
    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> Box<dyn Iterator<Item = (&'a [u8], &'a [u8])> + 'a> {
        self.state.scan_prefix(prefix)
    }
}

impl StateWrite for Counting<'_> {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.puts += 1;
        self.writes.bytes += (key.len() + value.len()) as u64;
        self.state.put(key, value);
    }
    fn delete(&mut self, key: &[u8]) {
        self.writes.deletes += 1;
        self.writes.bytes += key.len() as u64;
        self.state.delete(key);
    }
}

fn apply(h: &mut ModuleHarness<NodesModule>, events: &[NodesEvent], writes: &mut Writes) {
    let mut counting = Counting {
        state: &mut h.state,
        writes,
    };
    for e in events {
        h.module.apply(e, &mut counting).expect("the module's own events apply");
    }
}

fn name(i: usize) -> String {
    format!("node{i:04}")
}

fn signing_key(i: usize) -> SigningKey {
    let mut seed = [0x5a; 32];
    seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
    SigningKey::from_bytes(&seed)
}

/// `nodes` registered nodes, the first [`RUNNERS`] the runner set; with `staked`, every
/// node holds governance stake (each report is a counted candidacy, the worst case), else
/// only the runners do (the others are a free crowd of registrations).
fn setup(nodes: usize, staked: bool) -> (ModuleHarness<NodesModule>, Vec<SigningKey>) {
    let runners: Vec<String> = (0..RUNNERS.min(nodes)).map(name).collect();
    let spec = test_spec().with_module(
        "nodes",
        json!({"report_window": WINDOW, "max_runners": RUNNERS, "genesis": {"runners": runners}}),
    );
    let module = NodesModule::from_spec(&spec).expect("valid nodes config");
    let mut h = ModuleHarness::new(module, spec);
    let keys: Vec<SigningKey> = (0..nodes).map(signing_key).collect();
    let mut events = Vec::with_capacity(2 * nodes);
    for (i, k) in keys.iter().enumerate() {
        events.push(NodesEvent::NodeAdded {
            account: name(i),
            registered: true,
            record: NodeRecord {
                domain: format!("https://{}.example", name(i)),
                bid_rate: 500,
                dm: 10000,
                ds: 0,
                dv: 1500,
                liquidity: 100,
                report_key: hex::encode(k.verifying_key().as_bytes()),
                mskey: None,
                active: true,
                attempts: 0,
                yays: 0,
                wins: 0,
                strikes: 0,
                last_good: 0,
                registered_at: 1,
            },
        });
        if staked || i < RUNNERS {
            events.push(NodesEvent::GovChanged {
                account: name(i),
                gov: 1_000 + i as u64,
            });
        }
    }
    h.apply(&events);
    settle(&mut h);
    (h, keys)
}

/// Runs `checkpoints` checkpoints in which every one of `nodes` nodes reports.
pub(crate) fn run(nodes: usize, checkpoints: u64, staked: bool) -> Cost {
    let (mut h, keys) = setup(nodes, staked);
    let chain_id = h.spec.hive_chain_id();
    let prefix = h.spec.prefix.clone();
    let mut cost = Cost {
        nodes,
        checkpoints,
        accepted: 0,
        refused: 0,
        report_writes: Writes::default(),
        tally_writes: Writes::default(),
        report_time: Duration::ZERO,
        tally_time: Duration::ZERO,
    };
    for c in 1..=checkpoints {
        let cp = c * INTERVAL;
        // Signed in setup: the bench times the module, not the reporters.
        let payloads: Vec<Map<String, Value>> = keys
            .iter()
            .map(|k| {
                let sig = k.sign(&report_signing_bytes(&chain_id, &prefix, cp, &HASH)).to_bytes();
                match serde_json::from_str(&report_json(cp, &HASH, "opentoken/bench", &sig)) {
                    Ok(Value::Object(m)) => m,
                    other => panic!("report_json is an object: {other:?}"),
                }
            })
            .collect();
        let started = Instant::now();
        block_end(&mut h, cp, &mut cost.tally_writes);
        cost.tally_time += started.elapsed();

        let started = Instant::now();
        for (i, payload) in payloads.iter().enumerate() {
            let from = name(i);
            let ctx = OpContext {
                pos: ChainPos::new(cp + 1, i as u32, 0),
                txid: "tx",
                timestamp: 0,
                spec: &h.spec,
            };
            let input = Input::CustomJson {
                name: "report",
                from: &from,
                auth: Auth::Active,
                payload,
            };
            match h.module.handle(&ctx, input, &h.state) {
                Ok(events) => {
                    cost.accepted += 1;
                    apply(&mut h, &events, &mut cost.report_writes);
                }
                Err(_) => cost.refused += 1,
            }
        }
        cost.report_time += started.elapsed();

        let started = Instant::now();
        let closed = block_end(&mut h, cp + WINDOW, &mut cost.tally_writes);
        cost.tally_time += started.elapsed();
        assert!(
            matches!(&closed[..], [NodesEvent::TallyClosed(c)] if c.final_hash == Some(HASH)),
            "checkpoint {cp} closes final: {closed:?}"
        );
        settle(&mut h);
    }
    cost
}

/// What a commit does (untimed: its cost follows the writes counted): folds the writes
/// into the commitment and hands them over.
fn settle(h: &mut ModuleHarness<NodesModule>) {
    h.state.fold();
    h.state.take_changes();
}

fn block_end(h: &mut ModuleHarness<NodesModule>, block: u64, writes: &mut Writes) -> Vec<NodesEvent> {
    let ctx = BlockContext {
        block,
        spec: &h.spec,
        header: None,
    };
    let events = h.module.on_block(&ctx, &h.state).expect("chron work");
    apply(h, &events, writes);
    events
}
