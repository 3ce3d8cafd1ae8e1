//! Unsigned transactions: TaPoS reference, serialization, id and signing digest.

use crate::operation::Operation;
use crate::write::Writer;
use crate::{Packing, TxError};
use sha2::{Digest, Sha256};

/// An unsigned transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub ref_block_num: u16,
    pub ref_block_prefix: u32,
    /// Unix seconds.
    pub expiration: u32,
    pub operations: Vec<Operation>,
}

impl Transaction {
    /// TaPoS from a reference block (its number and 40-hex id), as every cosigner of a
    /// multi-sig transaction can derive it identically from an agreed block.
    pub fn with_reference(
        block_num: u64,
        block_id: &str,
        expiration: u32,
        operations: Vec<Operation>,
    ) -> Result<Self, TxError> {
        let id = hex::decode(block_id).map_err(|e| TxError::Json(format!("block id {block_id:?}: {e}")))?;
        if id.len() != 20 {
            return Err(TxError::Json(format!("block id {block_id:?} is not 20 bytes")));
        }
        Ok(Self {
            ref_block_num: (block_num & 0xFFFF) as u16,
            ref_block_prefix: u32::from_le_bytes([id[4], id[5], id[6], id[7]]),
            expiration,
            operations,
        })
    }

    /// The serialized transaction without signatures.
    pub fn to_bytes(&self, packing: Packing) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(&self.ref_block_num.to_le_bytes());
        w.bytes(&self.ref_block_prefix.to_le_bytes());
        w.bytes(&self.expiration.to_le_bytes());
        w.varint(self.operations.len() as u32);
        for op in &self.operations {
            op.write(&mut w, packing);
        }
        w.varint(0); // extensions
        w.into_bytes()
    }

    /// The transaction id: the first 20 bytes of SHA-256 of the serialization, as hex.
    pub fn id(&self, packing: Packing) -> String {
        hex::encode(&Sha256::digest(self.to_bytes(packing))[..20])
    }

    /// What signatures sign: SHA-256 of chain id and serialization.
    pub fn sig_digest(&self, chain_id: &[u8; 32], packing: Packing) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(chain_id);
        h.update(self.to_bytes(packing));
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SignedTransaction, MAINNET_CHAIN_ID};
    use opentoken_core::{Asset, AssetSymbol};

    fn ts(s: &str) -> u32 {
        opentoken_core::hive_json::parse_timestamp(s).expect("time") as u32
    }

    /// hive-protocol.md §2.9 vector 1.
    #[test]
    fn vote_vector() {
        let tx = Transaction {
            ref_block_num: 34559,
            ref_block_prefix: 1271006404,
            expiration: ts("2021-12-13T11:31:33"),
            operations: vec![Operation::Vote {
                voter: "otom".into(),
                author: "c0ff33a".into(),
                permlink: "ewxhnjbj".into(),
                weight: 2200,
            }],
        };
        let signed = SignedTransaction {
            tx: tx.clone(),
            signatures: vec![],
        };
        assert_eq!(
            hex::encode(signed.to_bytes(Packing::Legacy)),
            "ff86c404c24b152fb7610100046f746f6d076330666633336108657778686e6a626a98080000"
        );
        assert_eq!(tx.id(Packing::Legacy), "da8ca54c9c3acad06915ae9d93988c367f5cd164");
        assert_eq!(
            hex::encode(tx.sig_digest(&MAINNET_CHAIN_ID, Packing::Legacy)),
            "1394412814ea3e444f65c46f075e15b9b82e6bea9241319b02743a8e593219e1"
        );
    }

    /// hive-protocol.md §2.9 vector 2: both asset packings.
    #[test]
    fn transfer_vector_both_packings() {
        let tx = Transaction {
            ref_block_num: 1959,
            ref_block_prefix: 3625727107,
            expiration: ts("2023-11-09T22:01:24"),
            operations: vec![Operation::Transfer {
                from: "oneplus7".into(),
                to: "kryptogames".into(),
                amount: Asset::new(300_000, AssetSymbol::Hive),
                memo: "Roll under 50 4d434bd943616".into(),
            }],
        };
        assert_eq!(tx.id(Packing::Legacy), "7f34699e9eea49d1bcc10c88f96e38897839ece3");
        assert_eq!(
            hex::encode(tx.sig_digest(&MAINNET_CHAIN_ID, Packing::Legacy)),
            "7fbd09ff2c3a90acfc59adce5abffdaa3fc95e33160c5ac237f0f4366f90e2fe"
        );
        assert_eq!(tx.id(Packing::Hf26), "3725c81634f152011e2043eb7119911b953d4267");
        assert_eq!(
            hex::encode(tx.sig_digest(&MAINNET_CHAIN_ID, Packing::Hf26)),
            "8758db23c6aea40564697620ff61625b45c3b538cda21ded9fd6ec229caa1ee9"
        );
    }

    #[test]
    fn reference_block_tapos() {
        let tx = Transaction::with_reference(97477292, "05cf62ac1a9fc9b50087e9f65e3f970eb09b72ce", 0, vec![])
            .expect("valid id");
        assert_eq!(tx.ref_block_num, (97477292u64 & 0xFFFF) as u16);
        assert_eq!(tx.ref_block_prefix, u32::from_le_bytes([0x1a, 0x9f, 0xc9, 0xb5]));
        assert!(Transaction::with_reference(1, "zz", 0, vec![]).is_err());
        assert!(Transaction::with_reference(1, "00", 0, vec![]).is_err());
    }
}
