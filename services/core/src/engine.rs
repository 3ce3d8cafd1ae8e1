//! The deterministic engine: runs co-located modules over blocks, in memory, with no I/O.
//!
//! Everything that touches consensus happens here, so the processor (I/O, batching,
//! commits) cannot influence results: batch sizes, restarts and backends only decide *when*
//! the engine's output is persisted, never *what* it is.

use crate::checkpoint_hash::module_checkpoint_hash;
use crate::hive::HiveOp;
use crate::module::{
    BlockContext, BlockHeader, GenesisError, Input, InvariantError, Message, OpContext, Outgoing, Reject, RejectCode,
};
use crate::pos::ChainPos;
use crate::record::{EventRecord, ModuleCheckpoint, OpStatus, Outcome, RoutedOp};
use crate::spec::ChainSpec;
use crate::state::ModuleState;
use std::collections::BTreeMap;
use std::sync::Arc;
use thiserror::Error;

pub use crate::erased::{ErasedModule, Sink};

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EngineError {
    #[error(transparent)]
    Invariant(#[from] InvariantError),
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    #[error("block {got} is not the next block for module {module} (expected {expected})")]
    OutOfOrder { module: String, expected: u64, got: u64 },
}

/// One module with its in-memory state and the last block it has processed.
pub struct Slot {
    pub module: Arc<dyn ErasedModule>,
    pub state: ModuleState,
    pub last_block: Option<u64>,
}

/// The module by name and the state by size: a whole state is too long to read in a log.
impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("module", &self.module.module_name())
            .field("state_keys", &self.state.len())
            .field("last_block", &self.last_block)
            .finish_non_exhaustive()
    }
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
    /// The id and time of the next checkpoint block, once a record ending there was read
    /// (see [`Engine::note_checkpoint_header`]).
    header: Option<(u64, String, u64)>,
}

/// The chain by name, its slots and how many messages wait (not the spec's genesis).
impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("chain", &self.spec.name)
            .field("slots", &self.slots)
            .field("pending_messages", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// `pending` may come from a store in any order; it is put back into delivery order so a
    /// restart delivers exactly as an uninterrupted run would.
    pub fn new(spec: Arc<ChainSpec>, slots: Vec<Slot>, mut pending: Vec<Message>) -> Self {
        delivery_order(&mut pending);
        Self {
            spec,
            slots,
            pending,
            header: None,
        }
    }

    /// Tells the engine the id and time of block `block` (from a record that ends there);
    /// kept only for a checkpoint block, where chron work sees it as
    /// [`BlockContext::header`](crate::BlockContext). The ingester ends a record at every
    /// checkpoint block, so every processor learns the same header for it.
    pub fn note_checkpoint_header(&mut self, block: u64, id: &str, timestamp: u64) {
        if self.spec.is_checkpoint(block) && block >= self.next_block() {
            self.header = Some((block, id.to_string(), timestamp));
        }
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
        let header = self.header.take_if(|h| h.0 <= block).filter(|h| h.0 == block);
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
                if !matches!(rop.op, HiveOp::CustomJson(_)) && !slot.module.concerns(&ctx, &rop.op, &slot.state) {
                    continue;
                }
                let (op_name, from, res) = run_op(slot.module.as_ref(), &ctx, &rop.op, &mut slot.state, &mut sink)?;
                out.statuses
                    .push(status(&rop.txid, rop.pos, name, &op_name, &from, res));
            }
            // 3. Chron work.
            let bctx = BlockContext {
                block,
                spec: &spec,
                header: header.as_ref().map(|(_, id, timestamp)| BlockHeader {
                    id,
                    timestamp: *timestamp,
                }),
            };
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
    ctx: &OpContext<'_>,
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
            let value = match crate::custom_json::parse(&cj.json) {
                Ok(v) => v,
                Err(e) => return reject(Reject::new(RejectCode::MalformedJson, e.to_string())),
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
            let from = other.acting_account();
            let res = m.run_input(ctx, Input::Hive(other), state, sink)?;
            Ok((other.name().to_string(), from, res))
        }
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
