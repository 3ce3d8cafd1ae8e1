//! Reading a broadcast transaction as a Hive node does: its operations, its signatures'
//! keys recovered over both packings' digests, and the packing whose keys satisfy the
//! authorities the operations need (the node tries HF26 first, then legacy).

use crate::authority::{self, AuthError, Required};
use crate::ledger::Ledger;
use opentoken_hive_tx::{Authority, Operation, Packing, PublicKey, Signature, Transaction, MAINNET_CHAIN_ID};
use serde_json::{json, Value};

/// The all-zero public key, which `account_update` uses to mean "memo key unchanged".
const NULL_KEY: &str = "STM1111111111111111111111111111111114T1Anm";

/// `HIVE_MAX_TRANSACTION_SIZE`.
pub const MAX_TRANSACTION_SIZE: usize = 64 * 1024;

/// The duplicate-signature refusal (`tx_duplicate_sig`).
pub const DUPLICATE_SIGNATURE: &str = "duplicate signature included:Duplicate signature detected";

/// A transaction as broadcast (legacy `condenser_api` or appbase form), with the
/// operations the simulator understands: vote, transfer, custom_json, account_update and
/// account_update2. Account sets (`required_auths`…) are sorted and deduplicated, as a
/// node rebuilds them; that does not change the signed bytes.
pub fn parse(tx: &Value) -> Result<Transaction, String> {
    if !tx.is_object() {
        return Err("transaction is not an object".into());
    }
    match tx.get("extensions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.is_empty() => {}
        Some(_) => return Err("transaction extensions are not supported".into()),
    }
    let ops = tx
        .get("operations")
        .and_then(Value::as_array)
        .ok_or("transaction has no operations")?;
    let mut head = tx.clone();
    head["operations"] = json!([]);
    let mut t = Transaction::from_json(&head).map_err(|e| e.to_string())?;
    for (i, op) in ops.iter().enumerate() {
        t.operations
            .push(parse_op(op).map_err(|e| format!("bad operation {i}: {e}"))?);
    }
    for op in &mut t.operations {
        if let Operation::CustomJson {
            required_auths,
            required_posting_auths,
            ..
        } = op
        {
            for set in [required_auths, required_posting_auths] {
                set.sort();
                set.dedup();
            }
        }
    }
    Ok(t)
}

fn parse_op(op: &Value) -> Result<Operation, String> {
    let (name, body) = match op {
        Value::Array(pair) if pair.len() == 2 => (pair[0].as_str().ok_or("operation name is not a string")?, &pair[1]),
        Value::Object(m) => {
            let ty = m
                .get("type")
                .and_then(Value::as_str)
                .ok_or("operation without `type`")?;
            (
                ty.strip_suffix("_operation").unwrap_or(ty),
                m.get("value").ok_or("operation without `value`")?,
            )
        }
        _ => return Err("operation is neither [name, body] nor {type, value}".into()),
    };
    match name {
        "account_update" | "account_update2" => parse_account_update(name, body),
        _ => {
            let one = json!({"ref_block_num": 0, "ref_block_prefix": 0,
                "expiration": "1970-01-01T00:00:00", "operations": [op]});
            Transaction::from_json(&one)
                .map_err(|e| e.to_string())?
                .operations
                .pop()
                .ok_or_else(|| "no operation".to_string())
        }
    }
}

fn parse_key(v: &Value, what: &str) -> Result<PublicKey, String> {
    let s = v.as_str().ok_or_else(|| format!("{what} is not a string"))?;
    if s == NULL_KEY {
        return Err(format!("{what}: the null key is not supported by the simulator"));
    }
    PublicKey::from_string(s).map_err(|e| format!("{what}: {e}"))
}

/// `{weight_threshold, account_auths: [[name, w]], key_auths: [["STM…", w]]}`; a repeated
/// entry keeps its first weight, as the node's `flat_map` does.
pub fn parse_authority(v: &Value) -> Result<Authority, String> {
    let m = v.as_object().ok_or("authority is not an object")?;
    let weight_threshold = m
        .get("weight_threshold")
        .and_then(Value::as_u64)
        .and_then(|t| u32::try_from(t).ok())
        .ok_or("weight_threshold is not a uint32")?;
    let pairs = |k: &str| -> Result<Vec<(&Value, u16)>, String> {
        m.get(k)
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{k} is not a list"))?
            .iter()
            .map(|p| {
                let p = p
                    .as_array()
                    .filter(|p| p.len() == 2)
                    .ok_or_else(|| format!("{k} entry is not a [member, weight] pair"))?;
                let w = p[1]
                    .as_u64()
                    .and_then(|w| u16::try_from(w).ok())
                    .ok_or_else(|| format!("{k} weight is not a uint16"))?;
                Ok((&p[0], w))
            })
            .collect()
    };
    let mut a = Authority {
        weight_threshold,
        ..Default::default()
    };
    for (name, w) in pairs("account_auths")? {
        let name = name.as_str().ok_or("account_auths name is not a string")?;
        a.account_auths.entry(name.to_string()).or_insert(w);
    }
    for (key, w) in pairs("key_auths")? {
        a.key_auths.entry(parse_key(key, "key_auths key")?).or_insert(w);
    }
    Ok(a)
}

fn parse_account_update(name: &str, body: &Value) -> Result<Operation, String> {
    let m = body.as_object().ok_or("body is not an object")?;
    let account = m
        .get("account")
        .and_then(Value::as_str)
        .ok_or("`account` is missing or not a string")?
        .to_string();
    let auth = |k: &str| -> Result<Option<Authority>, String> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => parse_authority(v).map(Some).map_err(|e| format!("{k}: {e}")),
        }
    };
    let text = |k: &str| -> Result<String, String> {
        match m.get(k) {
            None => Ok(String::new()),
            Some(v) => v
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("`{k}` is not a string")),
        }
    };
    if name == "account_update" {
        return Ok(Operation::AccountUpdate {
            account,
            owner: auth("owner")?,
            active: auth("active")?,
            posting: auth("posting")?,
            memo_key: parse_key(m.get("memo_key").ok_or("`memo_key` is missing")?, "memo_key")?,
            json_metadata: text("json_metadata")?,
        });
    }
    match m.get("extensions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.is_empty() => {}
        Some(_) => return Err("account_update2 extensions are not supported".into()),
    }
    Ok(Operation::AccountUpdate2 {
        account,
        owner: auth("owner")?,
        active: auth("active")?,
        posting: auth("posting")?,
        memo_key: match m.get("memo_key") {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_key(v, "memo_key")?),
        },
        json_metadata: text("json_metadata")?,
        posting_json_metadata: text("posting_json_metadata")?,
    })
}

/// The signing keys over each packing's digest, HF26 first (one entry when the two digests
/// are equal: no asset in the transaction). A signature that recovers no key, or the same
/// key twice, refuses the transaction whatever the packing.
pub fn recover(t: &Transaction, sigs: &[Signature]) -> Result<Vec<(Packing, Vec<PublicKey>)>, String> {
    let hf26 = t.sig_digest(&MAINNET_CHAIN_ID, Packing::Hf26);
    let legacy = t.sig_digest(&MAINNET_CHAIN_ID, Packing::Legacy);
    let mut out = Vec::with_capacity(2);
    for (packing, digest) in [(Packing::Hf26, hf26), (Packing::Legacy, legacy)] {
        if packing == Packing::Legacy && digest == hf26 {
            break;
        }
        let mut keys: Vec<PublicKey> = Vec::with_capacity(sigs.len());
        for sig in sigs {
            let k = sig.recover(&digest).map_err(|e| format!("bad signature: {e}"))?;
            if keys.contains(&k) {
                return Err(DUPLICATE_SIGNATURE.into());
            }
            keys.push(k);
        }
        out.push((packing, keys));
    }
    Ok(out)
}

/// The packing whose keys satisfy `required` against `ledger`. When none does, the
/// refusal is that of the packing whose keys the named accounts know (the one the signer
/// used), else the legacy one's.
pub fn authorize(
    ledger: &Ledger,
    required: &Required,
    recovered: &[(Packing, Vec<PublicKey>)],
) -> Result<Packing, AuthError> {
    let mut refusals = Vec::with_capacity(recovered.len());
    for (packing, keys) in recovered {
        match authority::verify(ledger, required, keys) {
            Ok(()) => return Ok(*packing),
            Err(e) => refusals.push((e, authority::any_key_relevant(ledger, required, keys))),
        }
    }
    let pick = refusals
        .iter()
        .position(|(_, relevant)| *relevant)
        .unwrap_or(refusals.len().saturating_sub(1));
    Err(refusals
        .into_iter()
        .nth(pick)
        .map(|(e, _)| e)
        .unwrap_or(AuthError::Irrelevant))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devnet_keys::{devnet_key, KeyRole};
    use opentoken_core::{Asset, AssetSymbol};

    fn update_json() -> Value {
        let k1 = devnet_key("k1", KeyRole::Active).public().to_string();
        let k2 = devnet_key("k2", KeyRole::Active).public().to_string();
        json!({"ref_block_num": 1, "ref_block_prefix": 2, "expiration": "2025-01-01T00:10:00",
            "operations": [["account_update", {"account": "dlux-cc",
                "active": {"weight_threshold": 2, "account_auths": [["bob", 1], ["alice", 1]], "key_auths": [[k2, 1], [k1, 1]]},
                "memo_key": devnet_key("dlux-cc", KeyRole::Memo).public().to_string(), "json_metadata": ""}]],
            "extensions": [], "signatures": []})
    }

    #[test]
    fn account_updates_parse_in_both_forms_and_sort_their_members() {
        let t = parse(&update_json()).unwrap();
        let Operation::AccountUpdate {
            active: Some(a),
            owner: None,
            ..
        } = &t.operations[0]
        else {
            panic!("{t:?}")
        };
        assert_eq!(a.weight_threshold, 2);
        assert_eq!(a.account_auths.keys().collect::<Vec<_>>(), ["alice", "bob"]);
        assert_eq!(a.key_auths.len(), 2);
        // Re-serialized (sorted) it reads back to the same transaction.
        let again = t.sign(&MAINNET_CHAIN_ID, &[]).to_condenser_json();
        assert_eq!(parse(&again).unwrap(), t);
        // Appbase form.
        let mut appbase = update_json();
        let body = appbase["operations"][0][1].clone();
        appbase["operations"] = json!([{"type": "account_update2_operation", "value": body}]);
        let t2 = parse(&appbase).unwrap();
        assert!(matches!(
            &t2.operations[0],
            Operation::AccountUpdate2 { memo_key: Some(_), .. }
        ));
    }

    #[test]
    fn malformed_transactions_are_refused_not_panicked_on() {
        for bad in [
            json!([]),
            json!("x"),
            json!({"operations": [["account_update", {"account": "a"}]]}),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
        let mut t = update_json();
        t["operations"][0][1]["active"]["weight_threshold"] = json!(-1);
        assert!(parse(&t).unwrap_err().contains("weight_threshold"));
        let mut t = update_json();
        t["operations"][0][1]["active"]["key_auths"] = json!([["STMnotakey", 1]]);
        assert!(parse(&t).is_err());
        let mut t = update_json();
        t["operations"][0][1]["memo_key"] = json!(NULL_KEY);
        assert!(parse(&t).unwrap_err().contains("null key"));
        let mut t = update_json();
        t["extensions"] = json!([1]);
        assert!(parse(&t).is_err());
        let mut t = update_json();
        t["operations"] = json!([["comment", {}]]);
        assert!(parse(&t).is_err());
    }

    #[test]
    fn keys_are_recovered_per_packing_and_duplicates_refused() {
        let t = Transaction {
            ref_block_num: 1,
            ref_block_prefix: 2,
            expiration: 3,
            operations: vec![Operation::Transfer {
                from: "alice".into(),
                to: "bob".into(),
                amount: Asset::new(1, AssetSymbol::Hive),
                memo: String::new(),
            }],
        };
        let k = devnet_key("alice", KeyRole::Active);
        let signed = t.sign(&MAINNET_CHAIN_ID, &[&k]);
        let r = recover(&t, &signed.signatures).unwrap();
        assert_eq!(r.len(), 2, "an asset: two digests");
        assert_eq!(r[1], (Packing::Legacy, vec![k.public()]));
        assert_ne!(r[0].1, vec![k.public()]);
        let dup = t.sign(&MAINNET_CHAIN_ID, &[&k, &k]);
        assert_eq!(recover(&t, &dup.signatures).unwrap_err(), DUPLICATE_SIGNATURE);
        let no_asset = parse(&update_json()).unwrap();
        assert_eq!(recover(&no_asset, &[]).unwrap().len(), 1);
    }
}
