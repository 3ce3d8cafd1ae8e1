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
        MultisigEvent::SignersSet { signers, threshold } => {
            let names: Vec<String> = signers.iter().map(|s| format!("@{}", s.account)).collect();
            format!(
                "The multi-sig signers are now {} ({threshold} of {} sign)",
                names.join(", "),
                signers.len()
            )
        }
        MultisigEvent::TxBuilt {
            checkpoint,
            expiration,
            seqs,
            txid,
            ..
        } => format!(
            "Built the multi-sig transaction of checkpoint {checkpoint} paying {} ({}), expiring {}: {txid}",
            plural(seqs.len(), "outflow"),
            ids(seqs),
            opentoken_core::hive_json::format_timestamp(*expiration)
        ),
        MultisigEvent::SignatureAccepted {
            checkpoint, account, ..
        } => format!("@{account} signed the multi-sig transaction of checkpoint {checkpoint}"),
        MultisigEvent::TxExpired { checkpoint, seqs } => format!(
            "The multi-sig transaction of checkpoint {checkpoint} expired unpaid; {} back in the queue ({})",
            plural(seqs.len(), "outflow"),
            ids(seqs)
        ),
        MultisigEvent::TxSettled { checkpoint } => {
            format!("The multi-sig transaction of checkpoint {checkpoint} is settled: every outflow in it is paid")
        }
        MultisigEvent::SignersWanted { signers, threshold } => format!(
            "The runner set changed: the account's authority should become {} ({threshold} of {}); outflows wait for the rotation",
            names(signers),
            signers.len()
        ),
        MultisigEvent::RotationBuilt {
            checkpoint,
            signers,
            threshold,
            txid,
            ..
        } => format!(
            "At checkpoint {checkpoint} the rotation of the account's authority to {} ({threshold} of {}) was built for the current signers to sign (transaction {txid})",
            names(signers),
            signers.len()
        ),
        MultisigEvent::Rotated {
            checkpoint,
            block,
            signers,
            threshold,
            ..
        } => format!(
            "The rotation of checkpoint {checkpoint} is on chain at block {block}: {} hold the account's authority ({threshold} of {})",
            names(signers),
            signers.len()
        ),
        MultisigEvent::AuthorityAnomaly { pos, txid, why } => {
            format!("The account's authority changed at {pos} (transaction {txid}) without the module: {why}")
        }
        MultisigEvent::TxFailed {
            checkpoint,
            seqs,
            batch,
        } => format!(
            "The multi-sig transaction of checkpoint {checkpoint} expired fully signed (Hive refused it); {} outflow(s) pending again, next transactions carry at most {batch}",
            seqs.len()
        ),
        MultisigEvent::CollateralSet { stake } => {
            format!("The cheapest coalition of signers now stakes {stake} (base units): the safety limit follows")
        }
        MultisigEvent::OutflowReturned {
            seq,
            account,
            asset,
            amount,
            why,
        } => format!("ot:{seq} could not be paid ({why}): {} credited back to @{account}", asset.format(*amount)),
        MultisigEvent::Escrowed {
            module,
            account,
            asset,
            amount,
            order,
            from_l2,
        } => {
            let source = if *from_l2 { "from the Layer-2 balance" } else { "deposited" };
            if module != "dex" {
                return match serde_json::from_str::<opentoken_nft::protocol::CoinIn>(order) {
                    Ok(c) => format!(
                        "@{account} escrows {} {source} for NFT {:?} of {}:{}",
                        asset.format(*amount),
                        c.what,
                        c.set,
                        c.id
                    ),
                    Err(_) => format!("@{account} escrows {} {source} for {module}", asset.format(*amount)),
                };
            }
            match serde_json::from_str::<opentoken_dex::OrderIn>(order) {
                Ok(o) => {
                    let limit = if o.price == 0 {
                        "at market".to_string()
                    } else {
                        format!("at {}", opentoken_dex::price::format_rate(o.price))
                    };
                    format!(
                        "@{account} escrows {} {source} for DEX buy order {} {limit}",
                        asset.format(*amount),
                        o.id
                    )
                }
                Err(_) => format!("@{account} escrows {} {source} for a DEX buy order", asset.format(*amount)),
            }
        }
        MultisigEvent::EscrowPaid {
            module,
            account,
            asset,
            amount,
            order,
            why,
            fallback,
        } => match fallback {
            None => format!(
                "{} pays {} to @{account}'s Layer-2 balance ({why} of {}{order})",
                payer(module),
                asset.format(*amount),
                of(module)
            ),
            Some(reason) => format!(
                "{} pays {} to @{account}'s Layer-2 balance ({why} of {}{order}) instead of to Hive: {reason}",
                payer(module),
                asset.format(*amount),
                of(module)
            ),
        },
        MultisigEvent::EscrowPaidOut {
            module,
            seq,
            to,
            asset,
            amount,
            order,
            why,
            ..
        } => format!(
            "{} pays {} to @{to} on Hive (ot:{seq}; {why} of {}{order})",
            payer(module),
            asset.format(*amount),
            of(module)
        ),
    }
}

fn of(module: &str) -> &'static str {
    if module == "dex" {
        "order "
    } else {
        ""
    }
}

fn payer(module: &str) -> &'static str {
    match module {
        "dex" => "The DEX",
        "nft" => "The NFT module",
        _ => "A module",
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `ot:1, ot:2, ot:3`, or the first and last of a long list.
fn ids(seqs: &[u64]) -> String {
    match seqs {
        [first, .., last] if seqs.len() > 5 => format!("ot:{first} … ot:{last}"),
        _ => seqs.iter().map(|s| format!("ot:{s}")).collect::<Vec<_>>().join(", "),
    }
}

fn names(list: &[crate::keys::Signer]) -> String {
    list.iter()
        .map(|s| format!("@{}", s.account))
        .collect::<Vec<_>>()
        .join(", ")
}
