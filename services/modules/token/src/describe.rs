//! The event feed: one human-readable line per event, like the reference node's feed.

use crate::TokenEvent;

pub(crate) fn describe(event: &TokenEvent) -> String {
    match event {
        TokenEvent::Minted {
            account,
            bucket,
            amount,
        } => format!("genesis: {amount} to @{account} ({bucket:?})"),
        TokenEvent::Transferred { to, amount, .. } => format!("Sent @{to} {amount}"),
        TokenEvent::PoweredUp { amount, .. } => format!("Powered up {amount}"),
        TokenEvent::GovLocked { amount, .. } => format!("Locked {amount} for governance"),
        TokenEvent::Claimed {
            liquid, locked, to_gov, ..
        } => {
            format!(
                "Claimed {} ({liquid} liquid, {locked} to {})",
                liquid + locked,
                if *to_gov { "gov" } else { "power" }
            )
        }
        TokenEvent::WithdrawalScheduled {
            unlock,
            total,
            installments,
            ..
        } => {
            format!(
                "Scheduled {unlock:?} withdrawal of {total} in {} installments",
                installments.len()
            )
        }
        TokenEvent::WithdrawalCancelled { unlock, .. } => format!("Cancelled {unlock:?} withdrawal"),
        TokenEvent::WithdrawalPaid {
            account,
            unlock,
            paid,
            scheduled,
            ..
        } => {
            format!("@{account} {unlock:?} withdrawal paid {paid} of {scheduled}")
        }
        TokenEvent::PowerGranted { to, amount, .. } => format!("Has granted {amount} to @{to}"),
        TokenEvent::DelegationSet { account, vests } => format!("@{account} delegates {vests} micro-VESTS"),
        TokenEvent::DelegationRemoved { account } => format!("@{account} removed their delegation"),
        TokenEvent::NodeRegistered { account } => format!("@{account} registered as a node"),
        TokenEvent::NodeRemoved { account } => format!("@{account} is no longer a node"),
    }
}
