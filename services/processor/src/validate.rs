//! What a record must mean before anything of it is applied.
//!
//! The topics are written by the ingester (ops) and by processors elsewhere (messages), but
//! anyone with write access to the broker can append to them, and a record that decodes is
//! not yet one of ours. These checks pin down the facts the processor relies on when it
//! applies a record; a record that breaks one is refused (`ProcessorError::Refused`, naming
//! topic and offset), never applied and never skipped.
//!
//! Block records ([`block_record`]):
//! - `block_num <= last_block`;
//! - only a single block carries ops (`last_block == block_num`): the processor applies a
//!   record's ops at `block_num` and keeps a range at the front of its queue until
//!   `last_block`, so ops on a range would be applied again at every later block of it;
//! - every op sits in `block_num`, at a transaction position (not the block-end position
//!   reserved for chron work and messages), in strictly increasing chain order (each
//!   position once: positions key every write);
//! - every op is one this topic's module owns: a community custom_json (the prefix) whose
//!   name no other co-located module owns, or a Hive operation the module accepts.
//!
//! Message batches ([`message_batch`]):
//! - addressed to the module whose topic holds it, from a module registered as sending to
//!   it (a module elsewhere, [`crate::MessageLinks`]);
//! - every message is from the batch's sender to the batch's receiver (a `node_reward`
//!   claiming to be from `nodes` inside a batch from anyone else is forged), emitted at or
//!   before the batch's `through_block`, in emission order (block, then sequence);
//! - `quiet_through >= through_block` (the promise extends what was processed).

use opentoken_codec::MessageBatch;
use opentoken_core::engine::ErasedModule;
use opentoken_core::{BlockRecord, ChainPos, ChainSpec, HiveOp};

/// Why a block record read from the topic of `modules[index]` cannot be ours, if it cannot.
pub(crate) fn block_record(
    rec: &BlockRecord,
    index: usize,
    modules: &[&dyn ErasedModule],
    spec: &ChainSpec,
) -> Result<(), String> {
    let (b, l) = (rec.block_num, rec.last_block);
    if l < b {
        return Err(format!("its last_block {l} is before its block_num {b}"));
    }
    if !rec.ops.is_empty() && l != b {
        return Err(format!(
            "the range {b}..={l} carries {} ops; only a single block carries ops (they would be applied again at every block of the range)",
            rec.ops.len()
        ));
    }
    let mut previous: Option<ChainPos> = None;
    for (i, op) in rec.ops.iter().enumerate() {
        let pos = op.pos;
        if pos.block != b {
            return Err(format!(
                "op {i} ({}) claims position {pos}, outside its block {b}",
                op.txid
            ));
        }
        if pos.trx_in_block == u32::MAX {
            return Err(format!(
                "op {i} ({}) claims position {pos}, the block-end position reserved for chron work",
                op.txid
            ));
        }
        if let Some(prev) = previous.filter(|p| pos <= *p) {
            return Err(format!(
                "op {i} ({}) at {pos} does not follow op {} at {prev}; ops come in chain order, each position once",
                op.txid,
                i - 1
            ));
        }
        previous = Some(pos);
        owned(&op.op, index, modules, spec).map_err(|why| format!("op {i} ({}) at {pos} {why}", op.txid))?;
    }
    Ok(())
}

/// Whether `op` can be on the topic of `modules[index]`.
fn owned(op: &HiveOp, index: usize, modules: &[&dyn ErasedModule], spec: &ChainSpec) -> Result<(), String> {
    let me = modules[index];
    match op {
        HiveOp::CustomJson(cj) => {
            let Some(name) = cj.id.strip_prefix(spec.prefix.as_str()) else {
                return Err(format!(
                    "is custom_json `{}`, not the community's (prefix `{}`)",
                    cj.id, spec.prefix
                ));
            };
            if me.route_list().iter().any(|r| r.name == name) {
                return Ok(());
            }
            // A name no module owns goes to the first module; only a name another module
            // here owns is known to be misrouted.
            match modules.iter().find(|m| m.route_list().iter().any(|r| r.name == name)) {
                Some(owner) => Err(format!(
                    "is `{}`, owned by module {}, not by {}",
                    cj.id,
                    owner.module_name(),
                    me.module_name()
                )),
                None => Ok(()),
            }
        }
        other if me.wants_hive_op(other, spec) => Ok(()),
        other => Err(format!(
            "is a {} operation, which module {} does not accept",
            other.name(),
            me.module_name()
        )),
    }
}

/// Why a message batch read from the messages topic of module `to` cannot be ours, when
/// `senders` are the `(module elsewhere, module here)` pairs that exchange messages.
pub(crate) fn message_batch(b: &MessageBatch, to: &str, senders: &[(String, String)]) -> Result<(), String> {
    if b.to != to {
        return Err(format!("it is addressed to {}, but sits on the topic of {to}", b.to));
    }
    if !senders.iter().any(|(f, t)| *f == b.from && t == to) {
        let known: Vec<&str> = senders
            .iter()
            .filter(|(_, t)| t == to)
            .map(|(f, _)| f.as_str())
            .collect();
        return Err(format!(
            "it is from {}, which does not send to {to} from another process (senders: {known:?})",
            b.from
        ));
    }
    if b.quiet_through < b.through_block {
        return Err(format!(
            "its quiet_through {} is before its through_block {}",
            b.quiet_through, b.through_block
        ));
    }
    let mut previous: Option<(u64, u32)> = None;
    for (i, m) in b.messages.iter().enumerate() {
        if m.from != b.from || m.to != b.to {
            return Err(format!(
                "message {i} (`{}`) claims to go from {} to {} inside a batch from {} to {}",
                m.kind, m.from, m.to, b.from, b.to
            ));
        }
        if m.pos.block > b.through_block {
            return Err(format!(
                "message {i} (`{}`) was emitted at block {}, after the batch's through_block {}",
                m.kind, m.pos.block, b.through_block
            ));
        }
        let order = (m.pos.block, m.seq);
        if previous.is_some_and(|p| order <= p) {
            return Err(format!(
                "message {i} (`{}`, block {} seq {}) does not follow the one before it in emission order",
                m.kind, m.pos.block, m.seq
            ));
        }
        previous = Some(order);
    }
    Ok(())
}
