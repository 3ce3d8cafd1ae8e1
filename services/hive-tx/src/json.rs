//! The JSON forms of transactions: reading the appbase and legacy forms block APIs return,
//! and writing the legacy form `condenser_api.broadcast_transaction` takes.

use crate::operation::{Authority, Operation};
use crate::signed::SignedTransaction;
use crate::transaction::Transaction;
use crate::TxError;

impl Transaction {
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

impl SignedTransaction {
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
    use crate::{Packing, PrivateKey, MAINNET_CHAIN_ID};
    use opentoken_core::{Asset, AssetSymbol};

    fn ts(s: &str) -> u32 {
        opentoken_core::hive_json::parse_timestamp(s).expect("time") as u32
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
}
