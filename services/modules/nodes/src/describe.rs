//! The event feed: one human-readable line per event, like the reference node's feed.

use crate::NodesEvent;

pub(crate) fn describe(event: &NodesEvent) -> String {
    match event {
        NodesEvent::RunnersInitialised { runners } => format!("genesis: runners {}", runners.join(", ")),
        NodesEvent::NodeAdded {
            account,
            registered,
            record,
        } => format!(
            "@{account} {} the node {} at {}",
            if *registered { "registered" } else { "updated" },
            record.domain,
            record.bid_rate
        ),
        NodesEvent::NodeDeleted { account } => format!("@{account} deleted its node"),
        NodesEvent::ReportAccepted {
            account,
            block,
            hash,
            weight,
            ..
        } => format!(
            "@{account} reported {} for checkpoint {block} (stake {weight})",
            hash_short(hash)
        ),
        NodesEvent::CheckpointFinal {
            block,
            hash,
            stake,
            total,
            ..
        } => format!(
            "checkpoint {block} is final at {} ({stake} of {total} stake)",
            hash_short(hash)
        ),
        NodesEvent::GovChanged { account, gov } => format!("@{account} governance stake is {gov}"),
        NodesEvent::TallyOpened { block, runners, total } => {
            format!(
                "tally of checkpoint {block} opened: {} runners, {total} stake",
                runners.len()
            )
        }
        NodesEvent::TallyClosed(c) => match &c.final_hash {
            Some(h) => format!(
                "tally of checkpoint {} closed final at {}: {} runners kept, {} dropped{}",
                c.block,
                hash_short(h),
                c.runners_after.len(),
                c.dropped.len(),
                c.elected
                    .as_ref()
                    .map(|e| format!(", @{e} elected"))
                    .unwrap_or_default()
            ),
            None => format!(
                "tally of checkpoint {} closed without finality ({} in a row)",
                c.block, c.chaos
            ),
        },
        NodesEvent::CollateralSent { stake } => {
            format!("multi-sig collateral sent to multisig: the cheapest signing coalition stakes {stake}")
        }
        NodesEvent::DexParamsSent { params } => format!(
            "DEX parameters sent to dex: fee {} ppm, dex_max {} bp, dex_slope {} bp (the runners' stake-weighted votes)",
            params.fee_ppm, params.dex_max_bp, params.dex_slope_bp
        ),
        NodesEvent::WinsSent { accounts, node_rate } => format!(
            "wins sent to token for @{} (node rate {node_rate} bp)",
            accounts.join(", @")
        ),
        NodesEvent::SignersSent { signers } => format!(
            "multi-sig signers sent to multisig: {}",
            signers
                .iter()
                .map(|x| format!("@{}", x.account))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn hash_short(h: &[u8; 32]) -> String {
    hex::encode(&h[..6])
}
