//! The operations opentoken signs or needs ids of, and their fc::raw serialization.

use crate::keys::PublicKey;
use crate::write::Writer;
use crate::Packing;
use opentoken_core::{Asset, AssetSymbol};
use std::collections::BTreeMap;

/// An authority: threshold, accounts and keys with weights (written sorted).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authority {
    pub weight_threshold: u32,
    pub account_auths: BTreeMap<String, u16>,
    pub key_auths: BTreeMap<PublicKey, u16>,
}

/// The operations opentoken signs or needs ids of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    Vote {
        voter: String,
        author: String,
        permlink: String,
        weight: i16,
    },
    Transfer {
        from: String,
        to: String,
        amount: Asset,
        memo: String,
    },
    AccountUpdate {
        account: String,
        owner: Option<Authority>,
        active: Option<Authority>,
        posting: Option<Authority>,
        memo_key: PublicKey,
        json_metadata: String,
    },
    CustomJson {
        required_auths: Vec<String>,
        required_posting_auths: Vec<String>,
        id: String,
        json: String,
    },
    AccountUpdate2 {
        account: String,
        owner: Option<Authority>,
        active: Option<Authority>,
        posting: Option<Authority>,
        memo_key: Option<PublicKey>,
        json_metadata: String,
        posting_json_metadata: String,
    },
}

impl Operation {
    /// The static_variant tag (`operations.hpp` order).
    pub fn type_id(&self) -> u32 {
        match self {
            Operation::Vote { .. } => 0,
            Operation::Transfer { .. } => 2,
            Operation::AccountUpdate { .. } => 10,
            Operation::CustomJson { .. } => 18,
            Operation::AccountUpdate2 { .. } => 43,
        }
    }

    pub(crate) fn write(&self, w: &mut Writer, packing: Packing) {
        w.varint(self.type_id());
        match self {
            Operation::Vote {
                voter,
                author,
                permlink,
                weight,
            } => {
                w.string(voter);
                w.string(author);
                w.string(permlink);
                w.bytes(&weight.to_le_bytes());
            }
            Operation::Transfer { from, to, amount, memo } => {
                w.string(from);
                w.string(to);
                write_asset(w, amount, packing);
                w.string(memo);
            }
            Operation::AccountUpdate {
                account,
                owner,
                active,
                posting,
                memo_key,
                json_metadata,
            } => {
                w.string(account);
                for a in [owner, active, posting] {
                    write_optional_authority(w, a.as_ref());
                }
                w.bytes(memo_key.as_bytes());
                w.string(json_metadata);
            }
            Operation::CustomJson {
                required_auths,
                required_posting_auths,
                id,
                json,
            } => {
                write_name_set(w, required_auths);
                write_name_set(w, required_posting_auths);
                w.string(id);
                w.string(json);
            }
            Operation::AccountUpdate2 {
                account,
                owner,
                active,
                posting,
                memo_key,
                json_metadata,
                posting_json_metadata,
            } => {
                w.string(account);
                for a in [owner, active, posting] {
                    write_optional_authority(w, a.as_ref());
                }
                match memo_key {
                    Some(k) => {
                        w.u8(1);
                        w.bytes(k.as_bytes());
                    }
                    None => w.u8(0),
                }
                w.string(json_metadata);
                w.string(posting_json_metadata);
                w.varint(0); // extensions
            }
        }
    }
}

/// A `flat_set<account_name_type>`: sorted, without duplicates, as the node rebuilds it.
fn write_name_set(w: &mut Writer, names: &[String]) {
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort();
    sorted.dedup();
    w.varint(sorted.len() as u32);
    for n in sorted {
        w.string(n);
    }
}

fn write_optional_authority(w: &mut Writer, a: Option<&Authority>) {
    match a {
        None => w.u8(0),
        Some(a) => {
            w.u8(1);
            w.bytes(&a.weight_threshold.to_le_bytes());
            w.varint(a.account_auths.len() as u32);
            for (name, weight) in &a.account_auths {
                w.string(name);
                w.bytes(&weight.to_le_bytes());
            }
            w.varint(a.key_auths.len() as u32);
            for (key, weight) in &a.key_auths {
                w.bytes(key.as_bytes());
                w.bytes(&weight.to_le_bytes());
            }
        }
    }
}

pub(crate) fn write_asset(w: &mut Writer, a: &Asset, packing: Packing) {
    w.bytes(&a.amount.to_le_bytes());
    match packing {
        Packing::Legacy => {
            let (precision, name): (u8, &[u8]) = match a.symbol {
                AssetSymbol::Hive => (3, b"STEEM"),
                AssetSymbol::Hbd => (3, b"SBD"),
                AssetSymbol::Vests => (6, b"VESTS"),
            };
            let mut sym = [0u8; 8];
            sym[0] = precision;
            sym[1..1 + name.len()].copy_from_slice(name);
            w.bytes(&sym);
        }
        Packing::Hf26 => {
            // ((NAI without its check digit) << 5) | precision.
            let num: u32 = match a.symbol {
                AssetSymbol::Hbd => (99_999_999 + 1) << 5 | 3,
                AssetSymbol::Hive => (99_999_999 + 2) << 5 | 3,
                AssetSymbol::Vests => (99_999_999 + 3) << 5 | 6,
            };
            w.bytes(&num.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Packing, Transaction};

    #[test]
    fn name_sets_are_written_sorted_and_deduplicated() {
        let op = |auths: &[&str]| Transaction {
            ref_block_num: 1,
            ref_block_prefix: 2,
            expiration: 3,
            operations: vec![Operation::CustomJson {
                required_auths: auths.iter().map(|s| s.to_string()).collect(),
                required_posting_auths: vec![],
                id: "x".into(),
                json: "{}".into(),
            }],
        };
        assert_eq!(
            op(&["bob", "alice"]).id(Packing::Legacy),
            op(&["alice", "bob"]).id(Packing::Legacy)
        );
        assert_eq!(
            op(&["alice", "alice"]).id(Packing::Legacy),
            op(&["alice"]).id(Packing::Legacy)
        );
        assert_ne!(op(&["alice"]).id(Packing::Legacy), op(&["bob"]).id(Packing::Legacy));
    }
}
