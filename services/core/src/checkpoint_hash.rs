//! What a checkpoint commits to: each module's hash (its state commitment, see
//! [`crate::commitment`], bound to its outbox) and the consensus hash over all modules that
//! nodes sign and report. Both are part of consensus: any change forks the chain.

use crate::module::Message;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A module's hash at a checkpoint block: its state commitment, bound to the messages it
/// emitted in that block (in flight to the next block, so not yet in any state). Without
/// them a snapshot at the checkpoint could not be verified completely; with an empty outbox
/// it is the commitment itself.
pub fn module_checkpoint_hash(commitment: [u8; 32], outbox: &[&Message]) -> [u8; 32] {
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
