//! The deterministic engine: runs co-located modules over blocks, in memory, with no I/O.
//!
//! Everything that touches consensus happens here, so the processor (I/O, batching,
//! commits) cannot influence results: batch sizes, restarts and backends only decide *when*
//! the engine's output is persisted, never *what* it is.

use crate::hive::HiveOp;
use crate::module::{
    BlockContext, GenesisError, Input, InvariantError, Message, Module, OpContext, Outgoing, Reject, RejectCode,
};
use crate::pos::ChainPos;
use crate::record::{EventRecord, ModuleCheckpoint, OpStatus, Outcome, RoutedOp};
use crate::router::RouteTable;
use crate::spec::ChainSpec;
use crate::state::ModuleState;
use std::collections::BTreeMap;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EngineError {
    #[error(transparent)]
    Invariant(#[from] InvariantError),
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    #[error("block {got} is not the next block for module {module} (expected {expected})")]
    OutOfOrder { module: String, expected: u64, got: u64 },
}

/// Type-erased module, so modules with different event types run side by side.
pub trait ErasedModule: RouteTable + Send + Sync {
    fn genesis_into(&self, spec: &ChainSpec, state: &mut ModuleState, sink: &mut Sink) -> Result<(), EngineError>;
    fn run_input(
        &self,
        ctx: &OpContext,
        input: Input,
        state: &mut ModuleState,
        sink: &mut Sink,
    ) -> Result<Result<String, Reject>, InvariantError>;
    fn run_block_end(&self, ctx: &BlockContext, state: &mut ModuleState, sink: &mut Sink)
        -> Result<(), InvariantError>;
    fn next_due(&self, state: &ModuleState, after: u64) -> Option<u64>;
    fn targets(&self) -> &[&'static str];
    fn sends_on_messages(&self) -> bool;
}

/// Where a module's effects go while a block runs.
#[derive(Default)]
pub struct Sink {
    pub events: Vec<EventRecord>,
    pub outgoing: Vec<(ChainPos, Outgoing)>,
}

impl<M: Module> RouteTable for M {
    fn module_name(&self) -> &'static str {
        self.name()
    }
    fn route_list(&self) -> &[crate::module::Route] {
        self.routes()
    }
    fn wants_hive_op(&self, op: &HiveOp, spec: &ChainSpec) -> bool {
        self.accepts_hive_op(op, spec)
    }
}

fn apply_all<M: Module>(
    m: &M,
    pos: ChainPos,
    events: Vec<M::Event>,
    state: &mut ModuleState,
    sink: &mut Sink,
) -> Result<Vec<String>, InvariantError> {
    let mut lines = Vec::with_capacity(events.len());
    for ev in events {
        m.apply(&ev, state)?;
        for msg in m.messages(&ev) {
            sink.outgoing.push((pos, msg));
        }
        let seq = sink
            .events
            .iter()
            .rev()
            .take_while(|e| e.pos == pos && e.module == m.name())
            .count() as u32;
        sink.events.push(EventRecord {
            module: m.name().to_string(),
            pos,
            seq,
            kind: m.event_kind(&ev).to_string(),
            data: m.encode_event(&ev)?,
        });
        lines.push(m.describe(&ev));
    }
    Ok(lines)
}

impl<M: Module> ErasedModule for M {
    fn genesis_into(&self, spec: &ChainSpec, state: &mut ModuleState, sink: &mut Sink) -> Result<(), EngineError> {
        let events = self.genesis(spec)?;
        apply_all(
            self,
            ChainPos::new(spec.starting_block.saturating_sub(1), 0, 0),
            events,
            state,
            sink,
        )?;
        Ok(())
    }

    fn run_input(
        &self,
        ctx: &OpContext,
        input: Input,
        state: &mut ModuleState,
        sink: &mut Sink,
    ) -> Result<Result<String, Reject>, InvariantError> {
        match self.handle(ctx, input, state) {
            Err(r) => Ok(Err(r)),
            Ok(events) => {
                let lines = apply_all(self, ctx.pos, events, state, sink)?;
                Ok(Ok(lines.join("; ")))
            }
        }
    }

    fn run_block_end(
        &self,
        ctx: &BlockContext,
        state: &mut ModuleState,
        sink: &mut Sink,
    ) -> Result<(), InvariantError> {
        let events = self.on_block(ctx, state)?;
        apply_all(self, ChainPos::block_end(ctx.block), events, state, sink)?;
        Ok(())
    }

    fn next_due(&self, state: &ModuleState, after: u64) -> Option<u64> {
        self.next_due_block(state, after)
    }

    fn targets(&self) -> &[&'static str] {
        Module::sends_to(self)
    }

    fn sends_on_messages(&self) -> bool {
        Module::sends_on_messages(self)
    }
}

/// One module with its in-memory state and the last block it has processed.
pub struct Slot {
    pub module: Arc<dyn ErasedModule>,
    pub state: ModuleState,
    pub last_block: Option<u64>,
}

/// Everything the engine produced for a span of blocks, for the processor to commit.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Output {
    pub statuses: Vec<OpStatus>,
    pub events: Vec<EventRecord>,
    pub checkpoints: Vec<ModuleCheckpoint>,
    /// Messages addressed to modules that are not co-located in this engine.
    pub remote_messages: Vec<Message>,
}

impl Output {
    pub fn append(&mut self, other: Output) {
        self.statuses.extend(other.statuses);
        self.events.extend(other.events);
        self.checkpoints.extend(other.checkpoints);
        self.remote_messages.extend(other.remote_messages);
    }
    pub fn is_empty(&self) -> bool {
        self.statuses.is_empty()
            && self.events.is_empty()
            && self.checkpoints.is_empty()
            && self.remote_messages.is_empty()
    }
}

pub struct Engine {
    spec: Arc<ChainSpec>,
    slots: Vec<Slot>,
    /// Messages emitted in the last processed block, due at the start of the next one.
    pending: Vec<Message>,
}

impl Engine {
    /// `pending` may come from a store in any order; it is put back into delivery order so a
    /// restart delivers exactly as an uninterrupted run would.
    pub fn new(spec: Arc<ChainSpec>, slots: Vec<Slot>, mut pending: Vec<Message>) -> Self {
        delivery_order(&mut pending);
        Self { spec, slots, pending }
    }

    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    pub fn slots_mut(&mut self) -> &mut [Slot] {
        &mut self.slots
    }

    pub fn slot_mut(&mut self, module: &str) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.module.module_name() == module)
    }

    pub fn pending_messages(&self) -> &[Message] {
        &self.pending
    }

    /// Writes each empty module's genesis; modules with state are left as they are.
    /// Messages genesis implies (e.g. initial governance stake for the nodes module) count as
    /// emitted in block `starting_block - 1`: co-located targets get them at the start of
    /// `starting_block`, remote ones are returned for the processor to publish.
    pub fn genesis(&mut self) -> Result<Output, EngineError> {
        let mut out = Output::default();
        let mut emitted = Vec::new();
        for slot in &mut self.slots {
            if slot.state.is_empty() && slot.last_block.is_none() {
                let mut sink = Sink::default();
                slot.module.genesis_into(&self.spec, &mut slot.state, &mut sink)?;
                let name = slot.module.module_name();
                out.events.extend(sink.events);
                emitted.extend(stamp(name, sink.outgoing));
            }
        }
        let (here, remote) = self.split_local(emitted);
        self.pending.extend(here);
        delivery_order(&mut self.pending);
        out.remote_messages = remote;
        Ok(out)
    }

    fn split_local(&self, emitted: Vec<Message>) -> (Vec<Message>, Vec<Message>) {
        let local: Vec<&str> = self.slots.iter().map(|s| s.module.module_name()).collect();
        emitted.into_iter().partition(|m| local.contains(&m.to.as_str()))
    }

    /// Adds messages another process's module emitted in block `next_block() - 1` (read
    /// from the messages topic) to those due at the start of the next block, in delivery
    /// order.
    pub fn deliver_remote(&mut self, msgs: Vec<Message>) {
        self.pending.extend(msgs);
        delivery_order(&mut self.pending);
    }

    /// The next block the engine expects (all slots move in lock step).
    pub fn next_block(&self) -> u64 {
        self.slots
            .iter()
            .map(|s| s.last_block.map(|b| b + 1).unwrap_or(self.spec.starting_block))
            .min()
            .unwrap_or(self.spec.starting_block)
    }

    /// Runs block `block` with the given ops per module (modules not named get none);
    /// `timestamp` is the block's time, used only for its ops.
    pub fn process_block(
        &mut self,
        block: u64,
        timestamp: u64,
        ops: &BTreeMap<&str, &[RoutedOp]>,
    ) -> Result<Output, EngineError> {
        let mut out = Output::default();
        let incoming = std::mem::take(&mut self.pending);
        let mut emitted: Vec<Message> = Vec::new();
        let spec = self.spec.clone();
        for slot in &mut self.slots {
            let name = slot.module.module_name();
            let expected = slot.last_block.map(|b| b + 1).unwrap_or(spec.starting_block);
            if block != expected {
                return Err(EngineError::OutOfOrder {
                    module: name.to_string(),
                    expected,
                    got: block,
                });
            }
            let mut sink = Sink::default();
            // 1. Messages from block - 1, in (source module, emission) order.
            for msg in incoming.iter().filter(|m| m.to == name) {
                let txid = format!("msg:{}:{}:{}", msg.from, msg.pos, msg.seq);
                let ctx = OpContext {
                    pos: ChainPos::new(block, 0, 0),
                    txid: &txid,
                    timestamp: 0,
                    spec: &spec,
                };
                let before = sink.outgoing.len();
                let res = slot
                    .module
                    .run_input(&ctx, Input::Message(msg), &mut slot.state, &mut sink)?;
                if sink.outgoing.len() > before && !slot.module.sends_on_messages() {
                    return Err(EngineError::Invariant(InvariantError {
                        module: name.to_string(),
                        what: format!(
                            "sent a message while handling `{}` from {}, but declares that it never does \
                             (sends_on_messages); processors in other processes rely on it",
                            msg.kind, msg.from
                        ),
                    }));
                }
                out.statuses
                    .push(status(&txid, ctx.pos, name, &msg.kind, &msg.from, res));
            }
            // 2. The block's ops, in chain order.
            for rop in ops.get(name).copied().unwrap_or(&[]) {
                let ctx = OpContext {
                    pos: rop.pos,
                    txid: &rop.txid,
                    timestamp,
                    spec: &spec,
                };
                let (op_name, from, res) = run_op(slot.module.as_ref(), &ctx, &rop.op, &mut slot.state, &mut sink)?;
                out.statuses
                    .push(status(&rop.txid, rop.pos, name, &op_name, &from, res));
            }
            // 3. Chron work.
            let bctx = BlockContext { block, spec: &spec };
            slot.module.run_block_end(&bctx, &mut slot.state, &mut sink)?;
            slot.last_block = Some(block);
            emitted.extend(stamp(name, sink.outgoing));
            out.events.extend(sink.events);
        }
        if block.is_multiple_of(spec.checkpoint_interval) {
            for slot in &mut self.slots {
                let name = slot.module.module_name();
                let outbox: Vec<&Message> = emitted.iter().filter(|m| m.from == name).collect();
                out.checkpoints.push(ModuleCheckpoint {
                    module: name.to_string(),
                    block,
                    hash: module_checkpoint_hash(slot.state.commitment(), &outbox),
                });
            }
        }
        let (here, mut remote) = self.split_local(emitted);
        self.pending = here;
        delivery_order(&mut self.pending);
        delivery_order(&mut remote);
        out.remote_messages = remote;
        Ok(out)
    }

    /// Runs the blocks `from..=to`, none of which has ops for any module, skipping blocks
    /// where nothing can happen (no pending message, no chron work due, no checkpoint).
    pub fn process_idle_range(&mut self, from: u64, to: u64) -> Result<Output, EngineError> {
        let mut out = Output::default();
        let empty = BTreeMap::new();
        let mut b = from;
        while b <= to {
            let interval = self.spec.checkpoint_interval;
            let next_checkpoint = b.div_ceil(interval) * interval;
            let next_due = self
                .slots
                .iter()
                .filter_map(|s| s.module.next_due(&s.state, b.saturating_sub(1)))
                .min();
            let mut target = next_checkpoint.min(next_due.unwrap_or(u64::MAX)).max(b);
            if !self.pending.is_empty() {
                target = b;
            }
            if target > to {
                for slot in &mut self.slots {
                    slot.last_block = Some(to);
                }
                break;
            }
            if target > b {
                for slot in &mut self.slots {
                    slot.last_block = Some(target - 1);
                }
            }
            out.append(self.process_block(target, 0, &empty)?);
            b = target + 1;
        }
        Ok(out)
    }
}

/// The order messages are delivered in (DESIGN.md: source module, then emission order):
/// by source module *name*, so that it is the same whichever modules share a process.
pub fn delivery_order(msgs: &mut [Message]) {
    msgs.sort_by(|a, b| (&a.from, a.pos, a.seq, &a.to).cmp(&(&b.from, b.pos, b.seq, &b.to)));
}

fn stamp(from: &str, outgoing: Vec<(ChainPos, Outgoing)>) -> impl Iterator<Item = Message> + '_ {
    outgoing.into_iter().enumerate().map(move |(seq, (pos, o))| Message {
        from: from.to_string(),
        to: o.to,
        pos,
        seq: seq as u32,
        kind: o.kind,
        payload: o.payload,
    })
}

fn status(txid: &str, pos: ChainPos, module: &str, op: &str, from: &str, res: Result<String, Reject>) -> OpStatus {
    OpStatus {
        txid: txid.to_string(),
        pos,
        module: module.to_string(),
        op: op.to_string(),
        from: from.to_string(),
        outcome: match res {
            Ok(summary) => Outcome::Applied { summary },
            Err(r) => Outcome::Rejected {
                code: r.code,
                reason: r.reason,
            },
        },
    }
}

/// The generic checks every custom_json passes before its module sees it.
fn run_op(
    m: &dyn ErasedModule,
    ctx: &OpContext,
    op: &HiveOp,
    state: &mut ModuleState,
    sink: &mut Sink,
) -> Result<(String, String, Result<String, Reject>), InvariantError> {
    match op {
        HiveOp::CustomJson(cj) => {
            let name = cj
                .id
                .strip_prefix(ctx.spec.prefix.as_str())
                .unwrap_or(&cj.id)
                .to_string();
            let Some((from, auth)) = cj.signer() else {
                return Ok((
                    name,
                    String::new(),
                    Err(Reject::new(
                        RejectCode::NoSigner,
                        "custom_json names no signing account",
                    )),
                ));
            };
            let from = from.to_string();
            let reject = |r: Reject| Ok((name.clone(), from.clone(), Err(r)));
            let Some(route) = m.route_list().iter().find(|r| r.name == name) else {
                return reject(Reject::new(
                    RejectCode::UnknownOperation,
                    format!("no module handles `{}`", cj.id),
                ));
            };
            if cj.json.len() > ctx.spec.json_max_bytes {
                return reject(Reject::new(
                    RejectCode::TooLarge,
                    format!(
                        "json is {} bytes, the limit is {}",
                        cj.json.len(),
                        ctx.spec.json_max_bytes
                    ),
                ));
            }
            if !auth.satisfies(route.auth) {
                return reject(Reject::new(
                    RejectCode::WrongAuthority,
                    format!("`{name}` requires active authority, signed with posting"),
                ));
            }
            let value: serde_json::Value = match serde_json::from_str(&cj.json) {
                Ok(v) => v,
                Err(e) => {
                    return reject(Reject::new(
                        RejectCode::MalformedJson,
                        format!("json is not valid JSON: {e}"),
                    ))
                }
            };
            let serde_json::Value::Object(payload) = value else {
                return reject(Reject::new(
                    RejectCode::NotAnObject,
                    "json payload must be a JSON object",
                ));
            };
            let res = m.run_input(
                ctx,
                Input::CustomJson {
                    name: &name,
                    from: &from,
                    auth,
                    payload: &payload,
                },
                state,
                sink,
            )?;
            Ok((name, from, res))
        }
        other => {
            let from = match other {
                HiveOp::Transfer(t) => t.from.clone(),
                HiveOp::DelegateVestingShares(d) => d.delegator.clone(),
                _ => String::new(),
            };
            let res = m.run_input(ctx, Input::Hive(other), state, sink)?;
            Ok((other.name().to_string(), from, res))
        }
    }
}

/// A module's hash at a checkpoint block: its state commitment, bound to the messages it
/// emitted in that block (in flight to the next block, so not yet in any state). Without
/// them a snapshot at the checkpoint could not be verified completely; with an empty outbox
/// it is the commitment itself.
pub fn module_checkpoint_hash(commitment: [u8; 32], outbox: &[&Message]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    if outbox.is_empty() {
        return commitment;
    }
    let mut h = Sha256::new();
    h.update(b"opentoken/module-checkpoint/v1");
    h.update(commitment);
    h.update((outbox.len() as u64).to_le_bytes());
    for m in outbox {
        for s in [&m.from, &m.to, &m.kind, &m.payload] {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        h.update(m.pos.block.to_le_bytes());
        h.update(m.pos.trx_in_block.to_le_bytes());
        h.update(m.pos.op_in_trx.to_le_bytes());
        h.update(m.seq.to_le_bytes());
    }
    h.finalize().into()
}

/// The consensus hash of checkpoint `block`: module hashes in module-name order, bound to
/// the community and block so that a report cannot be replayed for another checkpoint.
pub fn consensus_hash(spec_name: &str, block: u64, module_hashes: &BTreeMap<String, [u8; 32]>) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"opentoken/consensus/v1");
    h.update((spec_name.len() as u64).to_le_bytes());
    h.update(spec_name.as_bytes());
    h.update(block.to_le_bytes());
    for (name, hash) in module_hashes {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(hash);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hive::{Auth, CustomJsonOp};
    use crate::module::{EventDecodeError, Route};
    use crate::state::{StateRead, StateWrite};

    /// Counts `ping` ops; every ping sends a message to `echo`, which counts deliveries and
    /// records the block they arrived in. Chron work: a tick every 7 blocks.
    struct Ping;
    struct Echo;

    #[derive(Debug, Clone)]
    enum Ev {
        Pinged,
        Got(u64),
        Tick(u64),
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
        fn accepts_hive_op(&self, _: &HiveOp, _: &ChainSpec) -> bool {
            false
        }
        fn genesis(&self, _: &ChainSpec) -> Result<Vec<Ev>, GenesisError> {
            Ok(vec![])
        }
        fn handle(&self, _: &OpContext, input: Input, _: &dyn StateRead) -> Result<Vec<Ev>, Reject> {
            match input {
                Input::CustomJson { payload, .. } if payload.contains_key("bad") => Err(Reject::field("bad")),
                Input::CustomJson { .. } => Ok(vec![Ev::Pinged]),
                _ => Err(Reject::new(RejectCode::BadMessage, "no")),
            }
        }
        fn on_block(&self, ctx: &BlockContext, _: &dyn StateRead) -> Result<Vec<Ev>, InvariantError> {
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
                Ev::Got(_) => {
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
        fn event_kind(&self, _: &Ev) -> &'static str {
            "Ev"
        }
        fn encode_event(&self, e: &Ev) -> Result<Vec<u8>, InvariantError> {
            Ok(format!("{e:?}").into_bytes())
        }
        fn decode_event(&self, _: &[u8]) -> Result<Ev, EventDecodeError> {
            Err(EventDecodeError {
                module: "ping".into(),
                why: "test module".into(),
            })
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
        fn accepts_hive_op(&self, _: &HiveOp, _: &ChainSpec) -> bool {
            false
        }
        fn genesis(&self, _: &ChainSpec) -> Result<Vec<Ev>, GenesisError> {
            Ok(vec![])
        }
        fn handle(&self, ctx: &OpContext, input: Input, _: &dyn StateRead) -> Result<Vec<Ev>, Reject> {
            match input {
                Input::Message(m) if m.from == "ping" => Ok(vec![Ev::Got(ctx.pos.block)]),
                _ => Err(Reject::new(RejectCode::BadMessage, "unexpected")),
            }
        }
        fn on_block(&self, _: &BlockContext, _: &dyn StateRead) -> Result<Vec<Ev>, InvariantError> {
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
        fn event_kind(&self, _: &Ev) -> &'static str {
            "Ev"
        }
        fn encode_event(&self, e: &Ev) -> Result<Vec<u8>, InvariantError> {
            Ok(format!("{e:?}").into_bytes())
        }
        fn decode_event(&self, _: &[u8]) -> Result<Ev, EventDecodeError> {
            Err(EventDecodeError {
                module: "echo".into(),
                why: "test module".into(),
            })
        }
        fn describe(&self, e: &Ev) -> String {
            format!("{e:?}")
        }
    }

    fn engine() -> Engine {
        let spec = Arc::new(crate::spec::test_spec());
        let slots = vec![
            Slot {
                module: Arc::new(Ping),
                state: ModuleState::new(),
                last_block: None,
            },
            Slot {
                module: Arc::new(Echo),
                state: ModuleState::new(),
                last_block: None,
            },
        ];
        Engine::new(spec, slots, vec![])
    }

    fn ping(block: u64, trx: u32, json: &str, active: bool) -> RoutedOp {
        let who = vec!["alice".to_string()];
        RoutedOp {
            pos: ChainPos::new(block, trx, 0),
            txid: format!("tx{block}-{trx}"),
            op: HiveOp::CustomJson(CustomJsonOp {
                required_auths: if active { who.clone() } else { vec![] },
                required_posting_auths: if active { vec![] } else { who },
                id: "dlux_ping".into(),
                json: json.into(),
            }),
        }
    }

    #[test]
    fn messages_arrive_next_block_and_rejections_are_recorded() {
        let mut e = engine();
        let ops = [
            ping(1, 0, "{}", true),
            ping(1, 1, "{\"bad\":1}", true),
            ping(1, 2, "{}", false),
            ping(1, 3, "[1]", true),
        ];
        let mut m = BTreeMap::new();
        m.insert("ping", &ops[..]);
        let out = e.process_block(1, 100, &m).unwrap();
        let codes: Vec<_> = out
            .statuses
            .iter()
            .map(|s| match &s.outcome {
                Outcome::Applied { .. } => None,
                Outcome::Rejected { code, .. } => Some(*code),
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
        assert_eq!(e.pending_messages().len(), 1);
        assert!(
            e.slots()[1].state.get(b"n").is_none(),
            "not delivered in the same block"
        );
        let out2 = e.process_block(2, 103, &BTreeMap::new()).unwrap();
        assert_eq!(out2.statuses.len(), 1);
        assert!(
            e.slots()[1].state.get(b"got/00000002/0").is_some(),
            "delivered at the start of block 2"
        );
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
        let spec = Arc::new(crate::spec::test_spec());
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
        let order = |e: &Engine| -> Vec<(String, u32)> {
            e.pending_messages().iter().map(|m| (m.from.clone(), m.seq)).collect()
        };
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
        let mut e = engine();
        assert!(matches!(
            e.process_block(5, 0, &BTreeMap::new()),
            Err(EngineError::OutOfOrder { .. })
        ));
    }

    #[test]
    fn idle_range_equals_block_by_block() {
        let mut a = engine();
        let mut b = engine();
        let ops = [ping(1, 0, "{}", true)];
        let mut m = BTreeMap::new();
        m.insert("ping", &ops[..]);
        let oa = a.process_block(1, 0, &m).unwrap();
        let ob = b.process_block(1, 0, &m).unwrap();
        assert_eq!(oa, ob);
        let mut ca = a.process_idle_range(2, 95).unwrap();
        let mut cb = Output::default();
        for n in 2..=95 {
            cb.append(b.process_block(n, 0, &BTreeMap::new()).unwrap());
        }
        ca.statuses.clear();
        cb.statuses.clear();
        assert_eq!(ca.checkpoints, cb.checkpoints);
        assert_eq!(ca.checkpoints.len(), 9 * 2);
        assert_eq!(ca.events, cb.events);
        for (sa, sb) in a.slots_mut().iter_mut().zip(b.slots_mut().iter_mut()) {
            assert_eq!(sa.last_block, Some(95));
            assert_eq!(sa.state.commitment(), sb.state.commitment());
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
}
