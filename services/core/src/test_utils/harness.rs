//! [`ModuleHarness`]: one module's decide/evolve without the engine.

use crate::hive::{Auth, HiveOp};
use crate::module::{BlockContext, BlockHeader, Input, Message, Module, OpContext, Reject};
use crate::pos::ChainPos;
use crate::spec::ChainSpec;
use crate::state::ModuleState;
use serde_json::Value;

/// A module and its in-memory state at genesis, driven by direct calls of `handle`,
/// `apply` and `on_block`: any block, in any order, no generic checks, no delivery. For
/// unit tests of a module's decisions; [`TestNet`](super::TestNet) runs the engine.
pub struct ModuleHarness<M: Module> {
    pub module: M,
    pub spec: ChainSpec,
    pub state: ModuleState,
}

/// The module by name and the state by size (modules need not be Debug).
impl<M: Module> std::fmt::Debug for ModuleHarness<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleHarness")
            .field("module", &self.module.name())
            .field("chain", &self.spec.name)
            .field("state_keys", &self.state.len())
            .finish_non_exhaustive()
    }
}

impl<M: Module> ModuleHarness<M> {
    /// Applies the module's genesis for `spec`.
    pub fn new(module: M, spec: ChainSpec) -> Self {
        let genesis = module.genesis(&spec).unwrap_or_else(|e| panic!("genesis fails: {e}"));
        let mut h = Self {
            module,
            spec,
            state: ModuleState::new(),
        };
        h.apply(&genesis);
        h
    }

    /// Applies `events` (evolve); panics on a broken invariant.
    pub fn apply(&mut self, events: &[M::Event]) {
        for e in events {
            self.module
                .apply(e, &mut self.state)
                .unwrap_or_else(|err| panic!("{e:?} does not apply: {err}"));
        }
    }

    /// Decides custom_json `name` with `payload` (an object), signed by `from` with active
    /// authority at `block`; changes nothing.
    pub fn handle(&self, block: u64, from: &str, name: &str, payload: Value) -> Result<Vec<M::Event>, Reject> {
        let ctx = OpContext {
            pos: ChainPos::new(block, 0, 0),
            txid: "tx",
            timestamp: 0,
            spec: &self.spec,
        };
        let Value::Object(payload) = payload else {
            panic!("payload must be an object")
        };
        self.module.handle(
            &ctx,
            Input::CustomJson {
                name,
                from,
                auth: Auth::Active,
                payload: &payload,
            },
            &self.state,
        )
    }

    /// [`handle`](Self::handle), then applies the events; panics on a rejection.
    pub fn run(&mut self, block: u64, from: &str, name: &str, payload: Value) -> Vec<M::Event> {
        let events = self
            .handle(block, from, name, payload.clone())
            .unwrap_or_else(|r| panic!("{name} {payload} by @{from} rejected: {r}"));
        self.apply(&events);
        events
    }

    /// A Hive op (not custom_json) at `block` as the pipeline treats it: `None` when the
    /// router would not send it here or the module's state says it does not concern it
    /// (no status either way); otherwise the decision, applied when accepted.
    pub fn hive_op(&mut self, block: u64, op: &HiveOp) -> Option<Result<Vec<M::Event>, Reject>> {
        let ctx = OpContext {
            pos: ChainPos::new(block, 0, 0),
            txid: "tx",
            timestamp: 0,
            spec: &self.spec,
        };
        if !self.module.accepts_hive_op(op, &self.spec) || !self.module.concerns_hive_op(&ctx, op, &self.state) {
            return None;
        }
        let decided = self.module.handle(&ctx, Input::Hive(op), &self.state);
        if let Ok(events) = &decided {
            self.apply(events);
        }
        Some(decided)
    }

    /// Decides a message of `kind` from module `from` (delivered at block 1) and applies
    /// what it decided.
    pub fn message(&mut self, from: &str, kind: &str, payload: &str) -> Result<Vec<M::Event>, Reject> {
        let ctx = OpContext {
            pos: ChainPos::new(1, 0, 0),
            txid: "msg",
            timestamp: 0,
            spec: &self.spec,
        };
        let msg = Message {
            from: from.into(),
            to: self.module.name().into(),
            pos: ChainPos::new(0, 0, 0),
            seq: 0,
            kind: kind.into(),
            payload: payload.into(),
        };
        let decided = self.module.handle(&ctx, Input::Message(&msg), &self.state);
        if let Ok(events) = &decided {
            self.apply(events);
        }
        decided
    }

    /// The chron work of `block`, applied.
    pub fn block_end(&mut self, block: u64) -> Vec<M::Event> {
        self.block_end_at(block, None)
    }

    /// The chron work of `block` with the block's id and time, as the engine gives them at
    /// a checkpoint block, applied.
    pub fn block_end_with_header(&mut self, block: u64, id: &str, timestamp: u64) -> Vec<M::Event> {
        self.block_end_at(block, Some(BlockHeader { id, timestamp }))
    }

    fn block_end_at(&mut self, block: u64, header: Option<BlockHeader<'_>>) -> Vec<M::Event> {
        let ctx = BlockContext {
            block,
            spec: &self.spec,
            header,
        };
        let events = self
            .module
            .on_block(&ctx, &self.state)
            .unwrap_or_else(|e| panic!("chron work of block {block} fails: {e}"));
        self.apply(&events);
        events
    }
}
