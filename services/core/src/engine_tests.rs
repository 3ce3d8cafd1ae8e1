//! Engine tests: message delivery, rejections, ordering, idle ranges and the consensus hash.

use crate::hive::Auth;
use crate::module::{
    BlockContext, GenesisError, Input, InvariantError, Message, Module, OpContext, Outgoing, Reject, RejectCode, Route,
};
use crate::pos::ChainPos;
use crate::record::Outcome;
use crate::spec::ChainSpec;
use crate::state::{ModuleState, StateRead, StateWrite};
use crate::test_utils::{custom_json, op, posting_op, test_spec, TestNet};
use crate::{consensus_hash, Engine, EngineError, ErasedModule, Output, Slot};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Counts `ping` ops; every ping sends a message to `echo`, which counts deliveries and
/// records the block they arrived in. Chron work: a tick every 7 blocks.
struct Ping;
struct Echo;

#[derive(Debug, Clone)]
enum Ev {
    Pinged,
    Got(u64),
    Tick(u64),
    /// Chron work saw a block header: block, id, time.
    Saw(u64, String, u64),
}

impl crate::ModuleEvent for Ev {
    type CodecError = &'static str;
    fn kind(&self) -> &'static str {
        "Ev"
    }
    fn encode(&self) -> Result<Vec<u8>, &'static str> {
        Ok(format!("{self:?}").into_bytes())
    }
    fn decode(_: &[u8]) -> Result<Self, &'static str> {
        Err("test module")
    }
}

fn count(state: &dyn StateRead, key: &[u8]) -> u64 {
    state
        .get(key)
        .map(|v| u64::from_be_bytes(v.try_into().unwrap_or([0; 8])))
        .unwrap_or(0)
}

const PING_ROUTES: &[Route] = &[Route {
    name: "ping",
    auth: Auth::Active,
}];

impl Module for Ping {
    type Event = Ev;
    fn name(&self) -> &'static str {
        "ping"
    }
    fn routes(&self) -> &[Route] {
        PING_ROUTES
    }
    fn genesis(&self, _: &ChainSpec) -> Result<Vec<Ev>, GenesisError> {
        Ok(vec![])
    }
    fn handle(&self, _: &OpContext<'_>, input: Input<'_>, _: &dyn StateRead) -> Result<Vec<Ev>, Reject> {
        match input {
            Input::CustomJson { payload, .. } if payload.contains_key("bad") => Err(Reject::field("bad")),
            Input::CustomJson { .. } => Ok(vec![Ev::Pinged]),
            _ => Err(Reject::new(RejectCode::BadMessage, "no")),
        }
    }
    fn on_block(&self, ctx: &BlockContext<'_>, _: &dyn StateRead) -> Result<Vec<Ev>, InvariantError> {
        Ok(if ctx.block.is_multiple_of(7) {
            vec![Ev::Tick(ctx.block)]
        } else {
            vec![]
        })
    }
    fn next_due_block(&self, _: &dyn StateRead, after: u64) -> Option<u64> {
        Some((after / 7 + 1) * 7)
    }
    fn apply(&self, e: &Ev, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        let key: &[u8] = match e {
            Ev::Pinged => b"pings",
            Ev::Tick(b) => {
                state.put(b"last_tick".to_vec(), b.to_be_bytes().to_vec());
                b"ticks"
            }
            Ev::Got(_) | Ev::Saw(..) => {
                return Err(InvariantError {
                    module: "ping".into(),
                    what: "foreign event".into(),
                })
            }
        };
        let n = count(state, key) + 1;
        state.put(key.to_vec(), n.to_be_bytes().to_vec());
        Ok(())
    }
    fn messages(&self, e: &Ev) -> Vec<Outgoing> {
        match e {
            Ev::Pinged => vec![Outgoing {
                to: "echo".into(),
                kind: "pinged".into(),
                payload: "{}".into(),
            }],
            _ => vec![],
        }
    }
    fn describe(&self, e: &Ev) -> String {
        format!("{e:?}")
    }
}

impl Module for Echo {
    type Event = Ev;
    fn name(&self) -> &'static str {
        "echo"
    }
    fn routes(&self) -> &[Route] {
        &[]
    }
    fn genesis(&self, _: &ChainSpec) -> Result<Vec<Ev>, GenesisError> {
        Ok(vec![])
    }
    fn handle(&self, ctx: &OpContext<'_>, input: Input<'_>, _: &dyn StateRead) -> Result<Vec<Ev>, Reject> {
        match input {
            Input::Message(m) if m.from == "ping" => Ok(vec![Ev::Got(ctx.pos.block)]),
            _ => Err(Reject::new(RejectCode::BadMessage, "unexpected")),
        }
    }
    fn on_block(&self, _: &BlockContext<'_>, _: &dyn StateRead) -> Result<Vec<Ev>, InvariantError> {
        Ok(vec![])
    }
    fn next_due_block(&self, _: &dyn StateRead, _: u64) -> Option<u64> {
        None
    }
    fn apply(&self, e: &Ev, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        if let Ev::Got(b) = e {
            state.put(format!("got/{b:08}/{}", count(state, b"n")).into_bytes(), vec![1]);
            let n = count(state, b"n") + 1;
            state.put(b"n".to_vec(), n.to_be_bytes().to_vec());
        }
        Ok(())
    }
    fn describe(&self, e: &Ev) -> String {
        format!("{e:?}")
    }
}

fn net() -> TestNet {
    TestNet::new(test_spec(), vec![Arc::new(Ping), Arc::new(Echo)])
}

#[test]
fn messages_arrive_next_block_and_rejections_are_recorded() {
    let mut net = net();
    let b = net.run(
        "ping",
        vec![
            op("alice", "ping", "{}"),
            op("alice", "ping", "{\"bad\":1}"),
            posting_op("alice", "ping", "{}"),
            op("alice", "ping", "[1]"),
        ],
    );
    let codes: Vec<_> = b
        .outcomes()
        .into_iter()
        .map(|o| match o {
            Outcome::Applied { .. } => None,
            Outcome::Rejected { code, .. } => Some(code),
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            None,
            Some(RejectCode::InvalidField),
            Some(RejectCode::WrongAuthority),
            Some(RejectCode::NotAnObject)
        ]
    );
    assert_eq!(net.pending_messages().len(), 1);
    assert!(net.state("echo").get(b"n").is_none(), "not delivered in the same block");
    let b2 = net.run("ping", vec![]);
    assert_eq!(b2.statuses().len(), 1);
    assert!(
        net.state("echo").get(b"got/00000002/0").is_some(),
        "delivered at the start of block 2"
    );
}

#[test]
fn the_generic_checks_reject_before_the_module_decides() {
    let mut net = net();
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(8200));
    let b = net.run(
        "ping",
        vec![
            custom_json("dlux_ping", &[], &[], "{}"),
            op("alice", "pong", "{}"),
            op("alice", "ping", &big),
            op("alice", "ping", "{\"a\":"),
        ],
    );
    let codes: Vec<_> = b
        .outcomes()
        .into_iter()
        .map(|o| match o {
            Outcome::Rejected { code, .. } => code,
            other => panic!("applied: {other:?}"),
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            RejectCode::NoSigner,
            RejectCode::UnknownOperation,
            RejectCode::TooLarge,
            RejectCode::MalformedJson
        ]
    );
    assert!(net.state("ping").get(b"pings").is_none());
}

#[test]
fn pending_messages_from_a_store_are_put_back_in_delivery_order() {
    let msg = |from: &str, seq: u32| Message {
        from: from.into(),
        to: "echo".into(),
        pos: ChainPos::new(1, seq, 0),
        seq,
        kind: "k".into(),
        payload: "{}".into(),
    };
    // Any stored order comes back as (source name, pos, seq), whichever modules share the
    // engine: the same messages delivered to an engine that runs only the target (as
    // from another process) are in the same order.
    let stored = vec![msg("ping", 1), msg("echo", 0), msg("ping", 0)];
    let spec = Arc::new(test_spec());
    let slot = |m: Arc<dyn ErasedModule>| Slot {
        module: m,
        state: ModuleState::new(),
        last_block: None,
    };
    let both = Engine::new(
        spec.clone(),
        vec![slot(Arc::new(Ping)), slot(Arc::new(Echo))],
        stored.clone(),
    );
    let order =
        |e: &Engine| -> Vec<(String, u32)> { e.pending_messages().iter().map(|m| (m.from.clone(), m.seq)).collect() };
    let want = vec![
        ("echo".to_string(), 0),
        ("ping".to_string(), 0),
        ("ping".to_string(), 1),
    ];
    assert_eq!(order(&both), want);
    let mut alone = Engine::new(spec, vec![slot(Arc::new(Echo))], vec![]);
    alone.deliver_remote(stored);
    assert_eq!(order(&alone), want);
}

#[test]
fn out_of_order_blocks_are_refused() {
    let mut net = net();
    assert!(matches!(
        net.engine_mut().process_block(5, 0, &BTreeMap::new()),
        Err(EngineError::OutOfOrder { .. })
    ));
}

#[test]
fn idle_range_equals_block_by_block() {
    let mut a = net();
    let mut b = net();
    let oa = a.run("ping", vec![op("alice", "ping", "{}")]);
    let ob = b.run("ping", vec![op("alice", "ping", "{}")]);
    assert_eq!(oa.out, ob.out);
    let mut ca = a.idle_range(95);
    let mut cb = Output::default();
    for block in b.idle_until(95) {
        cb.append(block.out);
    }
    ca.statuses.clear();
    cb.statuses.clear();
    assert_eq!(ca.checkpoints, cb.checkpoints);
    assert_eq!(ca.checkpoints.len(), 9 * 2);
    assert_eq!(ca.events, cb.events);
    for module in ["ping", "echo"] {
        assert_eq!(
            a.engine()
                .slots()
                .iter()
                .find(|s| s.module.module_name() == module)
                .and_then(|s| s.last_block),
            Some(95)
        );
        assert_eq!(a.commitment(module), b.commitment(module));
    }
    assert_eq!(a.next_block(), 96);
}

#[test]
fn consensus_hash_binds_block_and_modules() {
    let mut m = BTreeMap::new();
    m.insert("token".to_string(), [1u8; 32]);
    let h = consensus_hash("dlux", 100, &m);
    assert_ne!(h, consensus_hash("dlux", 200, &m));
    assert_ne!(h, consensus_hash("other", 100, &m));
    m.insert("token".to_string(), [2u8; 32]);
    assert_ne!(h, consensus_hash("dlux", 100, &m));
}

/// Records the block header its chron work is given, at every block.
struct Clock;

impl Module for Clock {
    type Event = Ev;
    fn name(&self) -> &'static str {
        "clock"
    }
    fn routes(&self) -> &[Route] {
        &[]
    }
    fn genesis(&self, _: &ChainSpec) -> Result<Vec<Ev>, GenesisError> {
        Ok(vec![])
    }
    fn handle(&self, _: &OpContext<'_>, _: Input<'_>, _: &dyn StateRead) -> Result<Vec<Ev>, Reject> {
        Err(Reject::new(RejectCode::BadMessage, "no"))
    }
    fn on_block(&self, ctx: &BlockContext<'_>, _: &dyn StateRead) -> Result<Vec<Ev>, InvariantError> {
        Ok(ctx
            .header
            .map(|h| vec![Ev::Saw(ctx.block, h.id.to_string(), h.timestamp)])
            .unwrap_or_default())
    }
    fn next_due_block(&self, _: &dyn StateRead, after: u64) -> Option<u64> {
        Some(after + 1)
    }
    fn apply(&self, e: &Ev, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        if let Ev::Saw(b, id, t) = e {
            state.put(format!("saw/{b:08}").into_bytes(), format!("{id}@{t}").into_bytes());
        }
        Ok(())
    }
    fn describe(&self, e: &Ev) -> String {
        format!("{e:?}")
    }
}

#[test]
fn chron_work_sees_the_block_header_at_checkpoints_only_however_blocks_are_grouped() {
    let seen = |net: &TestNet| -> Vec<(Vec<u8>, Vec<u8>)> {
        let slot = net
            .engine()
            .slots()
            .iter()
            .find(|s| s.module.module_name() == "clock")
            .unwrap();
        slot.state
            .scan_prefix(b"saw/")
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()
    };
    let modules = || -> Vec<Arc<dyn ErasedModule>> { vec![Arc::new(Clock)] };
    // Block by block, one idle range, and a header noted for a block that is not a
    // checkpoint (ignored): the same headers, at the checkpoints 10, 20 and 30 only.
    let mut one = TestNet::new(test_spec(), modules());
    one.idle_until(35);
    let mut range = TestNet::new(test_spec(), modules());
    range.engine_mut().note_checkpoint_header(12, "000000c0ffee", 1);
    range.idle_range(35);
    assert_eq!(seen(&one), seen(&range));
    let keys: Vec<String> = seen(&one)
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert_eq!(keys, ["saw/00000010", "saw/00000020", "saw/00000030"]);
    let (_, v) = &seen(&one)[0];
    assert_eq!(
        String::from_utf8_lossy(v),
        format!(
            "{}@{}",
            crate::test_utils::block_id(10),
            crate::test_utils::block_time(10)
        )
    );
    // Without a noted header (an old topic whose record spans the checkpoint): none.
    let spec = Arc::new(test_spec());
    let slots = vec![Slot {
        module: Arc::new(Clock),
        state: ModuleState::default(),
        last_block: None,
    }];
    let mut bare = Engine::new(spec, slots, vec![]);
    bare.process_idle_range(1, 35).unwrap();
    assert_eq!(bare.slots()[0].state.scan_prefix(b"saw/").count(), 0);
}
