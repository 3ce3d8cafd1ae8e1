//! The typed model of Hive blocks and operations that every role shares.
//!
//! API nodes return two JSON encodings (appbase `{type, value}` with NAI assets, legacy
//! `["name", {...}]` with `"1.000 HIVE"` strings); `hive_json` decodes both into this one
//! model so that no module ever sees the difference.

use crate::asset::Asset;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub num: u64,
    /// 40-hex block id.
    pub id: String,
    pub previous: String,
    /// Block time as seconds since the Unix epoch (UTC); the only clock state may use.
    pub timestamp: u64,
    pub witness: String,
    pub transactions: Vec<Transaction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// 40-hex transaction id.
    pub txid: String,
    pub operations: Vec<HiveOp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomJsonOp {
    pub required_auths: Vec<String>,
    pub required_posting_auths: Vec<String>,
    pub id: String,
    /// The raw `json` string exactly as on chain; decoded once, by the engine.
    pub json: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferOp {
    pub from: String,
    pub to: String,
    pub amount: Asset,
    pub memo: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegateVestingSharesOp {
    pub delegator: String,
    pub delegatee: String,
    pub vesting_shares: Asset,
}

/// Operations opentoken acts on are typed; every other operation is kept by name with its
/// JSON body so that nothing is lost and later modules can type more of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HiveOp {
    CustomJson(CustomJsonOp),
    Transfer(TransferOp),
    DelegateVestingShares(DelegateVestingSharesOp),
    /// Any other operation: its legacy name (no `_operation` suffix) and body.
    Other {
        name: String,
        body: String,
    },
}

impl HiveOp {
    /// The legacy operation name (`custom_json`, `transfer`, ...).
    pub fn name(&self) -> &str {
        match self {
            HiveOp::CustomJson(_) => "custom_json",
            HiveOp::Transfer(_) => "transfer",
            HiveOp::DelegateVestingShares(_) => "delegate_vesting_shares",
            HiveOp::Other { name, .. } => name,
        }
    }

    /// The account that acts in an op other than custom_json (what an op status names as
    /// `from`): the sender, the delegator, the voter, the author, the updated account.
    /// Empty for ops whose body does not say.
    pub fn acting_account(&self) -> String {
        match self {
            HiveOp::CustomJson(_) => String::new(),
            HiveOp::Transfer(t) => t.from.clone(),
            HiveOp::DelegateVestingShares(d) => d.delegator.clone(),
            HiveOp::Other { name, body } => {
                let field = match name.as_str() {
                    "vote" => "voter",
                    "comment" | "comment_options" => "author",
                    "account_update" | "account_update2" => "account",
                    _ => return String::new(),
                };
                serde_json::from_str::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get(field).and_then(serde_json::Value::as_str).map(str::to_string))
                    .unwrap_or_default()
            }
        }
    }
}

/// Which key signed a custom_json, as the reference derives it: the first posting
/// authority if there is one (posting), else the first active authority (active).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Auth {
    Posting,
    Active,
}

impl Auth {
    /// Whether a signature with `self` satisfies a route that requires `needed`.
    pub fn satisfies(self, needed: Auth) -> bool {
        match needed {
            Auth::Posting => true,
            Auth::Active => self == Auth::Active,
        }
    }
}

impl CustomJsonOp {
    /// `(from, auth)` per the reference's rule; `None` when the op names no account.
    pub fn signer(&self) -> Option<(&str, Auth)> {
        if let Some(p) = self.required_posting_auths.first() {
            Some((p.as_str(), Auth::Posting))
        } else {
            self.required_auths.first().map(|a| (a.as_str(), Auth::Active))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cj(active: &[&str], posting: &[&str]) -> CustomJsonOp {
        CustomJsonOp {
            required_auths: active.iter().map(|s| s.to_string()).collect(),
            required_posting_auths: posting.iter().map(|s| s.to_string()).collect(),
            id: "dlux_send".into(),
            json: "{}".into(),
        }
    }

    #[test]
    fn signer_rule() {
        assert_eq!(cj(&["a"], &[]).signer(), Some(("a", Auth::Active)));
        assert_eq!(cj(&["a"], &["b"]).signer(), Some(("b", Auth::Posting)));
        assert_eq!(cj(&[], &[]).signer(), None);
        assert!(Auth::Active.satisfies(Auth::Posting));
        assert!(!Auth::Posting.satisfies(Auth::Active));
    }
}
