//! [`TestNet`]: the production engine, driven the way a processor drives it.

use super::{block_id, block_time};
use crate::engine::{Engine, EngineError, ErasedModule, Output, Slot};
use crate::hive::HiveOp;
use crate::module::Message;
use crate::pos::ChainPos;
use crate::record::{OpStatus, Outcome, RoutedOp};
use crate::spec::ChainSpec;
use crate::state::ModuleState;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The real [`Engine`] over a list of modules, at genesis, fed one block at a time.
///
/// A test goes through exactly what production runs: the engine's generic custom_json
/// checks, the module's decide/evolve, message delivery at the start of the next block,
/// chron work and checkpoints. Only the blocks are made up: op `i` of a block sits at
/// position `(block, i, 0)` with txid [`TestNet::txid`], and the block's time is
/// [`block_time`].
#[derive(Debug)]
pub struct TestNet {
    engine: Engine,
    genesis: Output,
}

impl TestNet {
    /// The modules at genesis, in this order (the registry's order, for a test that runs
    /// several). Panics when genesis fails: use [`TestNet::try_new`] to test that it does.
    pub fn new(spec: ChainSpec, modules: Vec<Arc<dyn ErasedModule>>) -> Self {
        Self::try_new(spec, modules).unwrap_or_else(|e| panic!("genesis fails: {e}"))
    }

    pub fn try_new(spec: ChainSpec, modules: Vec<Arc<dyn ErasedModule>>) -> Result<Self, EngineError> {
        let slots = modules
            .into_iter()
            .map(|module| Slot {
                module,
                state: ModuleState::new(),
                last_block: None,
            })
            .collect();
        let mut engine = Engine::new(Arc::new(spec), slots, vec![]);
        let genesis = engine.genesis()?;
        Ok(Self { engine, genesis })
    }

    pub fn spec(&self) -> &ChainSpec {
        self.engine.spec()
    }

    /// What genesis produced (its events; messages for modules not in this net).
    pub fn genesis_output(&self) -> &Output {
        &self.genesis
    }

    /// The engine itself, for what this harness does not wrap.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The block the next `run` processes.
    pub fn next_block(&self) -> u64 {
        self.engine.next_block()
    }

    /// The txid of op `index` of `block`: 40 digits, like a Hive transaction id.
    pub fn txid(block: u64, index: usize) -> String {
        format!("{block:08}{index:032}")
    }

    /// Processes the next block with `ops` for `module` (the other modules get none).
    pub fn run(&mut self, module: &str, ops: Vec<HiveOp>) -> BlockOutput {
        self.run_modules(vec![(module, ops)])
    }

    /// Processes the next block with ops for several modules; ops are numbered through the
    /// whole block in the order given.
    pub fn run_modules(&mut self, ops: Vec<(&str, Vec<HiveOp>)>) -> BlockOutput {
        let block = self.next_block();
        let mut index = 0;
        let mut routed: Vec<(&str, Vec<RoutedOp>)> = Vec::new();
        for (module, module_ops) in ops {
            let list = module_ops
                .into_iter()
                .map(|op| {
                    let r = RoutedOp {
                        pos: ChainPos::new(block, index as u32, 0),
                        txid: Self::txid(block, index),
                        op,
                    };
                    index += 1;
                    r
                })
                .collect();
            routed.push((module, list));
        }
        let map: BTreeMap<&str, &[RoutedOp]> = routed.iter().map(|(m, r)| (*m, &r[..])).collect();
        self.engine
            .note_checkpoint_header(block, &block_id(block), block_time(block));
        let out = self
            .engine
            .process_block(block, block_time(block), &map)
            .unwrap_or_else(|e| panic!("the engine fails on block {block}: {e}"));
        BlockOutput { block, out }
    }

    /// Runs the empty blocks up to and including `last`, one `process_block` each (as a
    /// processor does for blocks the ingester sent one by one).
    pub fn idle_until(&mut self, last: u64) -> Vec<BlockOutput> {
        let mut blocks = Vec::new();
        while self.next_block() <= last {
            blocks.push(self.run_modules(vec![]));
        }
        blocks
    }

    /// Runs the empty blocks up to and including `last` with one `process_idle_range` (as a
    /// processor does for a coalesced run of empty blocks).
    pub fn idle_range(&mut self, last: u64) -> Output {
        let from = self.next_block();
        // As a processor reads them: a record never spans a checkpoint block.
        let interval = self.engine.spec().checkpoint_interval.max(1);
        let mut out = Output::default();
        let mut start = from;
        while start <= last {
            let end = (start.div_ceil(interval) * interval).clamp(start, last);
            self.engine.note_checkpoint_header(end, &block_id(end), block_time(end));
            out.append(
                self.engine
                    .process_idle_range(start, end)
                    .unwrap_or_else(|e| panic!("the engine fails on blocks {start}..={end}: {e}")),
            );
            start = end + 1;
        }
        assert_eq!(
            self.next_block(),
            last.max(from.saturating_sub(1)) + 1,
            "idle range ends at {last}"
        );
        out
    }

    /// A module's state. Panics when the module is not in this net.
    pub fn state(&self, module: &str) -> &ModuleState {
        match self.engine.slots().iter().find(|s| s.module.module_name() == module) {
            Some(slot) => &slot.state,
            None => panic!("module {module} is not in this net"),
        }
    }

    pub fn state_mut(&mut self, module: &str) -> &mut ModuleState {
        match self.engine.slot_mut(module) {
            Some(slot) => &mut slot.state,
            None => panic!("module {module} is not in this net"),
        }
    }

    /// A module's state commitment (the hash its checkpoints report).
    pub fn commitment(&mut self, module: &str) -> [u8; 32] {
        self.state_mut(module).commitment()
    }

    /// Messages due at the start of the next block.
    pub fn pending_messages(&self) -> &[Message] {
        self.engine.pending_messages()
    }

    /// A message from `from`, a module not in this net, as its processor would hand it
    /// over: emitted in the previous block, after the ones `from` already sent there, and
    /// delivered at the start of the next block in the engine's delivery order.
    pub fn deliver(&mut self, from: &str, to: &str, kind: &str, payload: impl Into<String>) {
        let at = self.next_block().saturating_sub(1);
        let seq = self.pending_messages().iter().filter(|m| m.from == from).count() as u32;
        self.engine.deliver_remote(vec![Message {
            from: from.into(),
            to: to.into(),
            pos: ChainPos::new(at, 0, 0),
            seq,
            kind: kind.into(),
            payload: payload.into(),
        }]);
    }
}

/// What one block produced: a status per op and per delivered message, events,
/// checkpoints and messages for modules elsewhere.
#[derive(Debug, Clone)]
pub struct BlockOutput {
    pub block: u64,
    pub out: Output,
}

impl BlockOutput {
    /// Delivered messages first, then ops in block order, module by module.
    pub fn statuses(&self) -> &[OpStatus] {
        &self.out.statuses
    }

    pub fn outcomes(&self) -> Vec<Outcome> {
        self.out.statuses.iter().map(|s| s.outcome.clone()).collect()
    }

    /// The status of op `index` of this block. Panics when it has none.
    pub fn status(&self, index: usize) -> &OpStatus {
        let txid = TestNet::txid(self.block, index);
        match self.out.statuses.iter().find(|s| s.txid == txid) {
            Some(s) => s,
            None => panic!("no status for op {index} of block {}", self.block),
        }
    }

    /// The event kinds, in order.
    pub fn kinds(&self) -> Vec<&str> {
        self.out.events.iter().map(|e| e.kind.as_str()).collect()
    }
}
