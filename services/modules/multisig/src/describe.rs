//! The event feed: one human-readable line per event, like the reference node's feed.

use crate::MultisigEvent;

pub(crate) fn describe(event: &MultisigEvent) -> String {
    match event {
        MultisigEvent::Deposited { account, asset, amount } => {
            format!("@{account} deposited {}", asset.format(*amount))
        }
        MultisigEvent::Refunded {
            seq,
            to,
            asset,
            amount,
            why,
            ..
        } => format!("Refunding {} to @{to} (ot:{seq}): {why}", asset.format(*amount)),
        MultisigEvent::WithdrawalQueued {
            seq,
            account,
            to,
            asset,
            amount,
            ..
        } => {
            if account == to {
                format!("@{account} withdraws {} (ot:{seq})", asset.format(*amount))
            } else {
                format!("@{account} withdraws {} to @{to} (ot:{seq})", asset.format(*amount))
            }
        }
        MultisigEvent::OutflowPaid {
            seq, to, asset, amount, ..
        } => format!("Paid {} to @{to} (ot:{seq})", asset.format(*amount)),
        MultisigEvent::OutflowAnomaly {
            to, asset, amount, why, ..
        } => format!("Unmatched transfer of {} to @{to}: {why}", asset.format(*amount)),
    }
}
