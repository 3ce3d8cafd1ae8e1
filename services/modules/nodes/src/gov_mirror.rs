//! The mirror of governance stake: the token module's `gov_added` / `gov_removed` messages
//! keep a copy of each account's stake here, which weighs reports and elects runners.

use crate::state::{corrupt, StateReader};
use crate::{NodesEvent, NodesModule, TOKEN};
use opentoken_core::account::is_valid_account_name;
use opentoken_core::{Message, Reject, RejectCode};

impl NodesModule {
    /// The token module's governance-stake changes; anything else is refused, never guessed.
    pub(crate) fn gov_message(&self, m: &Message, read: &StateReader<'_>) -> Result<Vec<NodesEvent>, Reject> {
        let bad = |why: String| Reject::new(RejectCode::BadMessage, why);
        if m.from != TOKEN {
            return Err(bad(format!(
                "nodes accepts messages from {TOKEN} only, not {} from {}",
                m.kind, m.from
            )));
        }
        let adding = match m.kind.as_str() {
            "gov_added" => true,
            "gov_removed" => false,
            other => {
                return Err(bad(format!(
                    "nodes accepts gov_added/gov_removed from {TOKEN}, not {other}"
                )))
            }
        };
        let v: serde_json::Value =
            serde_json::from_str(&m.payload).map_err(|e| bad(format!("{} payload is not JSON: {e}", m.kind)))?;
        let account = v
            .get("account")
            .and_then(|a| a.as_str())
            .filter(|a| is_valid_account_name(a))
            .ok_or_else(|| bad(format!("{} needs `account`, a valid Hive account name", m.kind)))?;
        let amount = v
            .get("amount")
            .and_then(|a| a.as_u64())
            .filter(|a| *a > 0)
            .ok_or_else(|| bad(format!("{} needs `amount`, a positive integer", m.kind)))?;
        let now = read.gov(account).map_err(corrupt)?;
        let gov = if adding {
            now.checked_add(amount).ok_or_else(|| {
                bad(format!(
                    "gov_added of {amount} to @{account} overflows the mirror ({now})"
                ))
            })?
        } else {
            now.checked_sub(amount).ok_or_else(|| {
                bad(format!(
                    "gov_removed of {amount} from @{account} exceeds the mirrored stake {now}"
                ))
            })?
        };
        Ok(vec![NodesEvent::GovChanged {
            account: account.to_string(),
            gov,
        }])
    }
}
