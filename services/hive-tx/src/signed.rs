//! Signing a transaction, and the signed transaction's serialization.

use crate::keys::{PrivateKey, Signature};
use crate::transaction::Transaction;
use crate::write::Writer;
use crate::Packing;

impl Transaction {
    /// Signs with each key (legacy packing, which every node accepts).
    pub fn sign(&self, chain_id: &[u8; 32], keys: &[&PrivateKey]) -> SignedTransaction {
        let digest = self.sig_digest(chain_id, Packing::Legacy);
        SignedTransaction {
            tx: self.clone(),
            signatures: keys.iter().map(|k| k.sign(&digest)).collect(),
        }
    }
}

/// A transaction with its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransaction {
    pub tx: Transaction,
    pub signatures: Vec<Signature>,
}

impl SignedTransaction {
    pub fn to_bytes(&self, packing: Packing) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(&self.tx.to_bytes(packing));
        w.varint(self.signatures.len() as u32);
        for s in &self.signatures {
            w.bytes(s.as_bytes());
        }
        w.into_bytes()
    }
}
