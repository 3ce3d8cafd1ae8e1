//! The signers: the holders of the multi-sig account's active authority, as the nodes
//! module names them in a `signers` message `{"signers": [{"account", "key"}, ...]}`.
//!
//! The list is checked as a whole, and a bad one changes nothing (`bad_message`): 1 to 40
//! entries (Hive's limit on an authority's members), valid account names, no account or
//! key twice, every key a valid `STM` secp256k1 key. It is stored sorted by account with
//! its threshold, more than two thirds: `floor(2n/3) + 1`.
//!
//! The first list becomes the signers at once (the account is created with the genesis
//! runners' keys). A later, different list is *wanted*: the account's authority must be
//! rotated to it by a transaction the current signers sign, and only when that is on chain
//! do the new signers replace them (`src/rotate.rs`).

use crate::keys::{threshold_of, Signer};
use crate::memo::cut;
use crate::state::{signers, wanted};
use crate::{MultisigEvent, MultisigModule};
use opentoken_core::account::is_valid_account_name;
use opentoken_core::{Message, Reject, RejectCode, StateRead};
use opentoken_hive_tx::PublicKey;
use serde_json::Value;
use std::collections::BTreeSet;

/// The module that names the signers, and the message kind.
pub(crate) const FROM: &str = "nodes";
pub(crate) const KIND: &str = "signers";

/// Hive's limit on the members of one authority (`HIVE_MAX_AUTHORITY_MEMBERSHIP`).
pub(crate) const MAX_SIGNERS: usize = 40;

fn bad(why: impl Into<String>) -> Reject {
    Reject::new(RejectCode::BadMessage, why)
}

impl MultisigModule {
    pub(crate) fn set_signers(&self, m: &Message, state: &dyn StateRead) -> Result<Vec<MultisigEvent>, Reject> {
        let list = parse(&m.payload)?;
        let threshold = threshold_of(list.len());
        let now = signers(state).map_err(|e| bad(format!("the stored signers are unreadable: {}", e.what)))?;
        let wanted = wanted(state).map_err(|e| bad(format!("the wanted signers are unreadable: {}", e.what)))?;
        let Some(now) = now else {
            // The first list: the account's authority is set to the genesis runners' keys
            // when the community is created (the simulator does so), so nothing rotates.
            return Ok(vec![MultisigEvent::SignersSet {
                signers: list,
                threshold,
            }]);
        };
        let unchanged = match &wanted {
            Some(w) => w.signers == list,
            None => now.signers == list,
        };
        if unchanged {
            return Err(Reject::new(
                RejectCode::NothingToDo,
                "the signers are already these; nothing changes",
            ));
        }
        // The account's authority changes only by a rotation the current signers sign
        // (`src/build.rs`); until it is on chain they stay the signers.
        Ok(vec![MultisigEvent::SignersWanted {
            signers: list,
            threshold,
        }])
    }
}

/// The payload's signers, sorted by account, or why it is refused.
fn parse(payload: &str) -> Result<Vec<Signer>, Reject> {
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(payload) else {
        return Err(bad("a signers message is a JSON object {\"signers\": [...]}"));
    };
    if let Some(k) = obj.keys().find(|k| *k != "signers") {
        return Err(bad(format!("unknown field `{}` in a signers message", cut(k, 32))));
    }
    let Some(Value::Array(items)) = obj.get("signers") else {
        return Err(bad("`signers` must be an array"));
    };
    if items.is_empty() || items.len() > MAX_SIGNERS {
        return Err(bad(format!(
            "1..={MAX_SIGNERS} signers are needed (Hive's authority limit), got {}",
            items.len()
        )));
    }
    let mut list = Vec::with_capacity(items.len());
    let (mut accounts, mut keys) = (BTreeSet::new(), BTreeSet::new());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(o) = item else {
            return Err(bad(format!("signer {i} is not an object {{account, key}}")));
        };
        if let Some(k) = o.keys().find(|k| *k != "account" && *k != "key") {
            return Err(bad(format!("signer {i}: unknown field `{}`", cut(k, 32))));
        }
        let (Some(Value::String(account)), Some(Value::String(key))) = (o.get("account"), o.get("key")) else {
            return Err(bad(format!("signer {i}: `account` and `key` must be strings")));
        };
        if !is_valid_account_name(account) {
            return Err(bad(format!(
                "signer {i}: {:?} is not a valid Hive account name",
                cut(account, 20)
            )));
        }
        let parsed = PublicKey::from_string(key)
            .map_err(|e| bad(format!("signer {i} (@{account}): the key is not a valid STM key: {e}")))?;
        if !accounts.insert(account.clone()) {
            return Err(bad(format!("@{account} is named twice")));
        }
        if !keys.insert(*parsed.as_bytes()) {
            return Err(bad(format!("signer {i} (@{account}): the key of another signer")));
        }
        list.push(Signer {
            account: account.clone(),
            key: parsed.to_string(),
        });
    }
    list.sort();
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_hive_tx::PrivateKey;
    use serde_json::json;

    fn key(i: u8) -> String {
        PrivateKey::from_secret([i; 32]).unwrap().public().to_string()
    }

    #[test]
    fn a_valid_list_is_sorted_by_account() {
        let payload = json!({"signers": [
            {"account": "carol", "key": key(3)},
            {"account": "alice", "key": key(1)},
            {"key": key(2), "account": "bob"},
        ]});
        let list = parse(&payload.to_string()).unwrap();
        let names: Vec<&str> = list.iter().map(|s| s.account.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol"]);
        assert_eq!(list[1].key, key(2));
        let forty: Vec<_> = (0..40u8)
            .map(|i| json!({"account": format!("runner{i}"), "key": key(i + 1)}))
            .collect();
        assert_eq!(parse(&json!({ "signers": forty }).to_string()).unwrap().len(), 40);
    }

    #[test]
    fn a_bad_list_is_refused_whole() {
        let a = |name: &str, k: String| json!({"account": name, "key": k});
        let forty_one: Vec<_> = (0..41u8)
            .map(|i| json!({"account": format!("runner{i}"), "key": key(i + 1)}))
            .collect();
        let mut bad_checksum = key(1);
        bad_checksum.pop();
        bad_checksum.push('1');
        let cases = [
            ("not json".to_string(), "JSON object"),
            ("[]".into(), "JSON object"),
            (json!({}).to_string(), "must be an array"),
            (json!({"signers": {}}).to_string(), "must be an array"),
            (json!({"signers": []}).to_string(), "got 0"),
            (json!({ "signers": forty_one }).to_string(), "got 41"),
            (
                json!({"signers": [a("alice", key(1))], "x": 1}).to_string(),
                "unknown field `x`",
            ),
            (json!({"signers": ["alice"]}).to_string(), "not an object"),
            (
                json!({"signers": [{"account": "alice"}]}).to_string(),
                "must be strings",
            ),
            (
                json!({"signers": [{"account": "alice", "key": 5}]}).to_string(),
                "must be strings",
            ),
            (
                json!({"signers": [{"account": "alice", "key": key(1), "weight": 1}]}).to_string(),
                "unknown field `weight`",
            ),
            (
                json!({"signers": [a("Alice", key(1))]}).to_string(),
                "not a valid Hive account",
            ),
            (
                json!({"signers": [a("alice", "STM1".into())]}).to_string(),
                "not a valid STM key",
            ),
            (
                json!({"signers": [a("alice", bad_checksum)]}).to_string(),
                "not a valid STM key",
            ),
            (
                json!({"signers": [a("alice", key(1).replacen("STM", "TST", 1))]}).to_string(),
                "not a valid STM key",
            ),
            (
                json!({"signers": [a("alice", key(1)), a("alice", key(2))]}).to_string(),
                "named twice",
            ),
            (
                json!({"signers": [a("alice", key(1)), a("bob", key(1))]}).to_string(),
                "another signer",
            ),
        ];
        for (payload, needle) in cases {
            match parse(&payload) {
                Ok(list) => panic!("{payload} was accepted: {list:?}"),
                Err(r) => {
                    assert_eq!(r.code, RejectCode::BadMessage, "{payload}");
                    assert!(
                        r.reason.contains(needle),
                        "{payload}: {:?} does not say {needle:?}",
                        r.reason
                    );
                }
            }
        }
    }
}
