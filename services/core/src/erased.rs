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
}

impl Sink {
    /// The seq of the next event of `module` at `pos`: events at one position are pushed
    /// together and numbered 0, 1, 2, ..., so the last one pushed tells it, without walking
    /// back over them (a genesis of a million accounts is a million events at one position).
    fn next_seq(&self, pos: ChainPos, module: &str) -> u32 {
        match self.events.last() {
            Some(e) if e.pos == pos && e.module == module => e.seq + 1,
            _ => 0,
        }
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
        let seq = sink.next_seq(pos, m.name());
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers events as a walk back over the pushed ones would: 0, 1, 2 per (position,
    /// module) run, from 0 again at a new position or module.
    #[test]
    fn events_are_numbered_per_position_and_module() {
        let mut sink = Sink::default();
        let (a, b) = (ChainPos::new(5, 0, 0), ChainPos::new(5, 1, 0));
        let push = |sink: &mut Sink, pos: ChainPos, module: &str| {
            let seq = sink.next_seq(pos, module);
            let walked = sink
                .events
                .iter()
                .rev()
                .take_while(|e| e.pos == pos && e.module == module)
                .count();
            assert_eq!(seq as usize, walked);
            sink.events.push(EventRecord {
                module: module.to_string(),
                pos,
                seq,
                kind: "K".into(),
                data: vec![],
            });
            seq
        };
        let seqs: Vec<u32> = [
            (a, "token"),
            (a, "token"),
            (a, "token"),
            (a, "nodes"),
            (b, "nodes"),
            (b, "nodes"),
        ]
        .into_iter()
        .map(|(pos, m)| push(&mut sink, pos, m))
        .collect();
        assert_eq!(seqs, [0, 1, 2, 0, 0, 1]);
    }
}
