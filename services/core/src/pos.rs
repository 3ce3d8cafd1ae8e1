//! Chain position: the total order of everything opentoken does.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an operation sits on the chain. It orders every op and is the idempotency key
/// of every write, so it must be identical on every node for the same op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct ChainPos {
    pub block: u64,
    pub trx_in_block: u32,
    pub op_in_trx: u32,
}

impl ChainPos {
    pub fn new(block: u64, trx_in_block: u32, op_in_trx: u32) -> Self {
        Self {
            block,
            trx_in_block,
            op_in_trx,
        }
    }

    /// Position used for work that belongs to a block but to no transaction (chron work,
    /// delivered messages): after every real op of the block.
    pub fn block_end(block: u64) -> Self {
        Self {
            block,
            trx_in_block: u32::MAX,
            op_in_trx: 0,
        }
    }

    /// Big-endian bytes, so that byte order equals chain order in ordered stores.
    pub fn to_key(&self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.block.to_be_bytes());
        k[8..12].copy_from_slice(&self.trx_in_block.to_be_bytes());
        k[12..].copy_from_slice(&self.op_in_trx.to_be_bytes());
        k
    }
}

impl fmt::Display for ChainPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.block, self.trx_in_block, self.op_in_trx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_is_chain_order() {
        let a = ChainPos::new(1, 5, 9);
        let b = ChainPos::new(2, 0, 0);
        let c = ChainPos::new(2, 0, 1);
        assert!(a.to_key() < b.to_key() && b.to_key() < c.to_key());
        assert!(a < b && b < c);
        assert!(ChainPos::block_end(2) > c);
    }
}
