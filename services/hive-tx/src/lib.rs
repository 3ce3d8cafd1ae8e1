//! Hive transactions in Hive's binary format (fc::raw), so opentoken can sign what it
//! broadcasts (reports, multi-sig work) and recompute the ids of what it reads.
//!
//! Consensus-critical and small, so written here rather than taken from a young crate; the
//! golden vectors of `../shared/spec/hive-protocol.md` §2.9 and every custom_json
//! transaction of the bundled mainnet blocks pin it (tests below and in `tests/`).

pub mod keys;
mod write;

pub use keys::{KeyError, PrivateKey, PublicKey, Signature};

use opentoken_core::{Asset, AssetSymbol};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use thiserror::Error;
use write::Writer;

/// Hive mainnet's chain id (since HF24).
pub const MAINNET_CHAIN_ID: [u8; 32] = {
    let mut id = [0u8; 32];
    id[0] = 0xbe;
    id[1] = 0xea;
    id[2] = 0xb0;
    id[3] = 0xde;
    id
};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TxError {
    #[error("transaction JSON: {0}")]
    Json(String),
    #[error("operation `{0}` is not supported by opentoken's serializer")]
    Unsupported(String),
}

/// How assets are packed: both are accepted by nodes since HF26; the id depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// `int64 amount` + precision + symbol name (HIVE written as STEEM, HBD as SBD).
    Legacy,
    /// `int64 amount` + `uint32` NAI number with precision.
    Hf26,
}

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

    fn write(&self, w: &mut Writer, packing: Packing) {
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

fn write_asset(w: &mut Writer, a: &Asset, packing: Packing) {
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

    /// Signs with each key (legacy packing, which every node accepts).
    pub fn sign(&self, chain_id: &[u8; 32], keys: &[&PrivateKey]) -> SignedTransaction {
        let digest = self.sig_digest(chain_id, Packing::Legacy);
        SignedTransaction {
            tx: self.clone(),
            signatures: keys.iter().map(|k| k.sign(&digest)).collect(),
        }
    }

    /// From JSON (`{ref_block_num, ref_block_prefix, expiration, operations}`) with the
    /// operations in the appbase form block APIs return or the legacy form broadcasts use.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, TxError> {
        let num = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_u64())
                .ok_or_else(|| TxError::Json(format!("`{k}` is missing or not a number")))
        };
        let expiration = v
            .get("expiration")
            .and_then(|e| e.as_str())
            .and_then(opentoken_core::hive_json::parse_timestamp)
            .ok_or_else(|| TxError::Json("`expiration` is missing or not a time".into()))?;
        let ops = v
            .get("operations")
            .and_then(|o| o.as_array())
            .ok_or_else(|| TxError::Json("`operations` is missing".into()))?;
        Ok(Self {
            ref_block_num: u16::try_from(num("ref_block_num")?).map_err(|e| TxError::Json(e.to_string()))?,
            ref_block_prefix: u32::try_from(num("ref_block_prefix")?).map_err(|e| TxError::Json(e.to_string()))?,
            expiration: u32::try_from(expiration).map_err(|e| TxError::Json(e.to_string()))?,
            operations: ops.iter().map(op_from_json).collect::<Result<_, _>>()?,
        })
    }
}

/// An operation in either JSON form: appbase `{type: "x_operation", value}` or legacy
/// `["x", {...}]` (what `condenser_api.broadcast_transaction` takes).
fn op_from_json(v: &serde_json::Value) -> Result<Operation, TxError> {
    let (name, body) = match v {
        serde_json::Value::Array(pair) if pair.len() == 2 => {
            let n = pair[0]
                .as_str()
                .ok_or_else(|| TxError::Json("operation name is not a string".into()))?;
            (format!("{n}_operation"), &pair[1])
        }
        _ => {
            let n = v
                .get("type")
                .and_then(|t| t.as_str())
                .ok_or_else(|| TxError::Json("operation without `type`".into()))?;
            let body = v
                .get("value")
                .ok_or_else(|| TxError::Json(format!("{n} without `value`")))?;
            (n.to_string(), body)
        }
    };
    let name = name.as_str();
    let s = |k: &str| {
        body.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or_else(|| TxError::Json(format!("{name}.{k} is missing or not a string")))
    };
    let names = |k: &str| -> Result<Vec<String>, TxError> {
        body.get(k)
            .and_then(|x| x.as_array())
            .ok_or_else(|| TxError::Json(format!("{name}.{k} is not a list")))?
            .iter()
            .map(|n| {
                n.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| TxError::Json(format!("{name}.{k} holds a non-string")))
            })
            .collect()
    };
    match name {
        "vote_operation" => Ok(Operation::Vote {
            voter: s("voter")?,
            author: s("author")?,
            permlink: s("permlink")?,
            weight: body
                .get("weight")
                .and_then(|w| w.as_i64())
                .and_then(|w| i16::try_from(w).ok())
                .ok_or_else(|| TxError::Json("vote weight is not an int16".into()))?,
        }),
        "transfer_operation" => Ok(Operation::Transfer {
            from: s("from")?,
            to: s("to")?,
            amount: opentoken_core::hive_json::decode_asset(
                body.get("amount")
                    .ok_or_else(|| TxError::Json("transfer without amount".into()))?,
            )
            .map_err(TxError::Json)?,
            memo: s("memo")?,
        }),
        "custom_json_operation" => Ok(Operation::CustomJson {
            required_auths: names("required_auths")?,
            required_posting_auths: names("required_posting_auths")?,
            id: s("id")?,
            json: s("json")?,
        }),
        other => Err(TxError::Unsupported(other.to_string())),
    }
}

/// Adds the authorities that are present, in the legacy JSON form
/// (`{weight_threshold, account_auths: [[name, w]], key_auths: [["STM…", w]]}`).
fn put_authorities(
    body: &mut serde_json::Value,
    owner: &Option<Authority>,
    active: &Option<Authority>,
    posting: &Option<Authority>,
) {
    for (name, a) in [("owner", owner), ("active", active), ("posting", posting)] {
        if let Some(a) = a {
            body[name] = serde_json::json!({
                "weight_threshold": a.weight_threshold,
                "account_auths": a.account_auths.iter().map(|(n, w)| serde_json::json!([n, w])).collect::<Vec<_>>(),
                "key_auths": a.key_auths.iter().map(|(k, w)| serde_json::json!([k.to_string(), w])).collect::<Vec<_>>(),
            });
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

    /// The legacy JSON `condenser_api.broadcast_transaction` takes.
    pub fn to_condenser_json(&self) -> serde_json::Value {
        let ops: Vec<serde_json::Value> = self
            .tx
            .operations
            .iter()
            .map(|op| match op {
                Operation::CustomJson {
                    required_auths,
                    required_posting_auths,
                    id,
                    json,
                } => serde_json::json!(["custom_json", {
                    "required_auths": required_auths,
                    "required_posting_auths": required_posting_auths,
                    "id": id,
                    "json": json,
                }]),
                Operation::Transfer { from, to, amount, memo } => serde_json::json!(["transfer", {
                    "from": from, "to": to, "amount": amount.to_legacy(), "memo": memo,
                }]),
                Operation::Vote {
                    voter,
                    author,
                    permlink,
                    weight,
                } => serde_json::json!(["vote", {
                    "voter": voter, "author": author, "permlink": permlink, "weight": weight,
                }]),
                Operation::AccountUpdate {
                    account,
                    owner,
                    active,
                    posting,
                    memo_key,
                    json_metadata,
                } => {
                    let mut body = serde_json::json!({
                        "account": account,
                        "memo_key": memo_key.to_string(),
                        "json_metadata": json_metadata,
                    });
                    put_authorities(&mut body, owner, active, posting);
                    serde_json::json!(["account_update", body])
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
                    let mut body = serde_json::json!({
                        "account": account,
                        "json_metadata": json_metadata,
                        "posting_json_metadata": posting_json_metadata,
                        "extensions": [],
                    });
                    if let Some(k) = memo_key {
                        body["memo_key"] = serde_json::json!(k.to_string());
                    }
                    put_authorities(&mut body, owner, active, posting);
                    serde_json::json!(["account_update2", body])
                }
            })
            .collect();
        serde_json::json!({
            "ref_block_num": self.tx.ref_block_num,
            "ref_block_prefix": self.tx.ref_block_prefix,
            "expiration": opentoken_core::hive_json::format_timestamp(u64::from(self.tx.expiration)),
            "operations": ops,
            "extensions": [],
            "signatures": self.signatures.iter().map(|s| hex::encode(s.as_bytes())).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// What the node broadcasts is what it signed: the legacy JSON reads back to the same
    /// transaction, so the id a node computes equals ours.
    #[test]
    fn condenser_json_reads_back_to_the_signed_transaction() {
        let tx = Transaction {
            ref_block_num: 7,
            ref_block_prefix: 99,
            expiration: ts("2025-07-08T23:19:25"),
            operations: vec![
                Operation::CustomJson {
                    required_auths: vec!["alice".into()],
                    required_posting_auths: vec![],
                    id: "dlux_report".into(),
                    json: "{\"block\":100}".into(),
                },
                Operation::Transfer {
                    from: "alice".into(),
                    to: "dlux-cc".into(),
                    amount: Asset::new(1234, AssetSymbol::Hbd),
                    memo: "m".into(),
                },
                Operation::Vote {
                    voter: "alice".into(),
                    author: "bob".into(),
                    permlink: "p".into(),
                    weight: -10000,
                },
            ],
        };
        let key = PrivateKey::from_secret([5u8; 32]).expect("scalar");
        let signed = tx.sign(&MAINNET_CHAIN_ID, &[&key]);
        let back = Transaction::from_json(&signed.to_condenser_json()).expect("reads back");
        assert_eq!(back, tx);
        let digest = back.sig_digest(&MAINNET_CHAIN_ID, Packing::Legacy);
        assert_eq!(signed.signatures[0].recover(&digest), Ok(key.public()));
        assert!(matches!(
            Transaction::from_json(&serde_json::json!({"ref_block_num": 1, "ref_block_prefix": 1,
                "expiration": "2025-01-01T00:00:00", "operations": [["comment", {}]]})),
            Err(TxError::Unsupported(_))
        ));
    }

    #[test]
    fn account_update_json_carries_every_field() {
        let key = PrivateKey::from_secret([3u8; 32]).expect("scalar").public();
        let mut active = Authority {
            weight_threshold: 2,
            ..Default::default()
        };
        active.account_auths.insert("dlux-io".into(), 1);
        active.key_auths.insert(key, 1);
        let tx = Transaction {
            ref_block_num: 1,
            ref_block_prefix: 2,
            expiration: 3,
            operations: vec![Operation::AccountUpdate2 {
                account: "dlux-cc".into(),
                owner: None,
                active: Some(active),
                posting: None,
                memo_key: None,
                json_metadata: "{}".into(),
                posting_json_metadata: "".into(),
            }],
        };
        let json = tx.sign(&MAINNET_CHAIN_ID, &[]).to_condenser_json();
        let body = &json["operations"][0][1];
        assert_eq!(json["operations"][0][0], "account_update2");
        assert_eq!(body["active"]["weight_threshold"], 2);
        assert_eq!(body["active"]["account_auths"], serde_json::json!([["dlux-io", 1]]));
        assert_eq!(body["active"]["key_auths"], serde_json::json!([[key.to_string(), 1]]));
        assert!(body.get("owner").is_none() && body.get("memo_key").is_none());
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
