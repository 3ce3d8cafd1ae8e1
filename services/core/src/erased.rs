//! Type erasure: modules with different event types run side by side in one engine as
//! `dyn ErasedModule`. The blanket impl runs a typed [`Module`] and records what each of its
//! events does (state applied, event encoded and described, messages queued) into a [`Sink`].

use crate::engine::EngineError;
use crate::hive::HiveOp;
use crate::module::{BlockContext, Input, InvariantError, Module, OpContext, Outgoing, Reject};
use crate::pos::ChainPos;
use crate::record::EventRecord;
use crate::router::RouteTable;
use crate::spec::ChainSpec;
use crate::state::ModuleState;

/// Type-erased module, so modules with different event types run side by side.
pub trait ErasedModule: RouteTable + Send + Sync {
    fn genesis_into(&self, spec: &ChainSpec, state: &mut ModuleState, sink: &mut Sink) -> Result<(), EngineError>;
    fn run_input(
        &self,
        ctx: &OpContext<'_>,
        input: Input<'_>,
        state: &mut ModuleState,
        sink: &mut Sink,
    ) -> Result<Result<String, Reject>, InvariantError>;
    fn run_block_end(
        &self,
        ctx: &BlockContext<'_>,
        state: &mut ModuleState,
        sink: &mut Sink,
    ) -> Result<(), InvariantError>;
    fn next_due(&self, state: &ModuleState, after: u64) -> Option<u64>;
    fn concerns(&self, ctx: &OpContext<'_>, op: &HiveOp, state: &ModuleState) -> bool;
    fn targets(&self) -> &[&'static str];
    fn sends_on_messages(&self) -> bool;
}

/// Where a module's effects go while a block runs.
#[derive(Debug, Default)]
pub struct Sink {
    pub events: Vec<EventRecord>,
    pub outgoing: Vec<(ChainPos, Outgoing)>,
    /// The position and module of the last event pushed and the seq the next one there
    /// gets: events at one position are numbered 0, 1, 2, ... without walking back over
    /// the ones already pushed (a genesis of a million accounts is a million events at
    /// one position).
    next_seq: Option<(ChainPos, &'static str, u32)>,
}

impl Sink {
    fn seq(&mut self, pos: ChainPos, module: &'static str) -> u32 {
        let seq = match self.next_seq {
            Some((p, m, seq)) if p == pos && m == module => seq,
            _ => 0,
        };
        self.next_seq = Some((pos, module, seq + 1));
        seq
    }
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
        let seq = sink.seq(pos, m.name());
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

    fn concerns(&self, ctx: &OpContext<'_>, op: &HiveOp, state: &ModuleState) -> bool {
        self.concerns_hive_op(ctx, op, state)
    }

    fn run_input(
        &self,
        ctx: &OpContext<'_>,
        input: Input<'_>,
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
        ctx: &BlockContext<'_>,
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
