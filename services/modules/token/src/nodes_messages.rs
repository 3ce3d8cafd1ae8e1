//! Messages from the nodes module: `node_registered` and `node_removed` keep the node flag
//! that `gov_up` and `claim` into gov check, and `node_reward` mints a runner's reward into
//! its claimable balance; `runner_wins` counts the wins the economy's
//! DAO day pays by (chains with an economy). Anything else is refused, never guessed.

use crate::keys::{self, amount, Bucket};
use crate::{TokenEvent, TokenModule, NODES};
use opentoken_core::{Message, Reject, RejectCode, StateRead};

impl TokenModule {
    pub(crate) fn nodes_message(&self, m: &Message, state: &dyn StateRead) -> Result<Vec<TokenEvent>, Reject> {
        let account = serde_json::from_str::<serde_json::Value>(&m.payload)
            .ok()
            .and_then(|v| v.get("account").and_then(|a| a.as_str()).map(str::to_string))
            .filter(|a| opentoken_core::account::is_valid_account_name(a));
        if (m.from.as_str(), m.kind.as_str()) == (NODES, "runner_wins") {
            return self.runner_wins(m);
        }
        match (m.from.as_str(), m.kind.as_str(), account) {
            (NODES, "node_registered", Some(account)) => Ok(vec![TokenEvent::NodeRegistered { account }]),
            (NODES, "node_removed", Some(account)) => Ok(vec![TokenEvent::NodeRemoved { account }]),
            (NODES, "node_reward", Some(account)) => {
                let reward = serde_json::from_str::<serde_json::Value>(&m.payload)
                    .ok()
                    .and_then(|v| v.get("amount").and_then(|a| a.as_u64()))
                    .filter(|a| *a > 0)
                    .ok_or_else(|| {
                        Reject::new(RejectCode::BadMessage, "node_reward needs a positive integer amount")
                    })?;
                let supply = amount(state, keys::SUPPLY);
                let held = amount(state, &keys::account(Bucket::Claimable, &account));
                if supply.checked_add(reward).is_none() || held.checked_add(reward).is_none() {
                    return Err(Reject::new(
                        RejectCode::Overflow,
                        format!("rewarding {reward} to @{account} would overflow the supply"),
                    ));
                }
                Ok(vec![TokenEvent::Minted {
                    account,
                    bucket: Bucket::Claimable,
                    amount: reward,
                }])
            }
            (from, kind, _) => Err(Reject::new(
                RejectCode::BadMessage,
                format!(
                    "token accepts node_registered/node_removed/node_reward {{account}} and runner_wins from nodes, not {kind} from {from}"
                ),
            )),
        }
    }
}
