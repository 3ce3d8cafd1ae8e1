//! The event feed: one human-readable line per event, like the reference node's feed.

use crate::{DexSetup, TokenEvent};

/// `amount` base units as a decimal of the chain's precision with its symbol ("3.000 DLUX");
/// raw base units for a module built without the chain spec.
fn tokens(amount: u64, dex: Option<&DexSetup>) -> String {
    let Some(d) = dex else {
        return format!("{amount} base units");
    };
    match 10u64.checked_pow(u32::from(d.precision)) {
        Some(scale) if d.precision > 0 => format!(
            "{}.{:0width$} {}",
            amount / scale,
            amount % scale,
            d.token,
            width = usize::from(d.precision)
        ),
        _ => format!("{amount} {}", d.token),
    }
}

pub(crate) fn describe(event: &TokenEvent, dex: Option<&DexSetup>) -> String {
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
        TokenEvent::DexEscrowed { account, amount, order } => {
            let pair = order.pair.symbol();
            let price = match order.price {
                0 => "at the market price".to_string(),
                p => format!("at {} {pair} each", opentoken_dex::price::format_rate(p)),
            };
            format!(
                "@{account} is selling {} on the {pair} market {price} (order {})",
                tokens(*amount, dex),
                order.id
            )
        }
        TokenEvent::DexCredited {
            account,
            amount,
            order,
            why,
        } => format!(
            "@{account} received {} from the DEX ({why} of {order})",
            tokens(*amount, dex)
        ),
        TokenEvent::NftEscrowed { account, amount, paid } => {
            format!("@{account} pays {} for {}", tokens(*amount, dex), paid.op)
        }
        TokenEvent::NftCredited {
            account,
            amount,
            why,
            item,
        } => format!(
            "@{account} received {} from the NFT module ({why}: {item})",
            tokens(*amount, dex)
        ),
        TokenEvent::NftBurned { amount, item } => format!("{} burned ({item})", tokens(*amount, dex)),
        TokenEvent::NftPriced { item, price } => match price {
            0 => format!("{item} is no longer offered"),
            p => format!("{item} costs {}", tokens(*p, dex)),
        },
        TokenEvent::Inflated { block, amount } => {
            format!("{} minted by inflation at block {block}", tokens(*amount, dex))
        }
        TokenEvent::WinsCounted { accounts, node_rate } => {
            format!("a win each for @{} (node rate {node_rate} bp)", accounts.join(", @"))
        }
        TokenEvent::DaoDay(d) => format!(
            "DAO day {}: {} split: nodes {}, marketing {} ({} over the cap to content), delegators {}, content {}",
            d.block,
            tokens(d.minted, dex),
            tokens(d.to_nodes, dex),
            tokens(d.to_marketing, dex),
            tokens(d.overflow, dex),
            tokens(d.to_delegators, dex),
            tokens(d.to_content, dex)
        ),
        TokenEvent::PoolPaid { pool, account, amount } => format!(
            "@{account} earned {} from the {} pool (claimable)",
            tokens(*amount, dex),
            match pool {
                crate::keys::Pool::Nodes => "node operators'",
                crate::keys::Pool::Delegators => "delegators'",
                crate::keys::Pool::Marketing => "marketing",
                crate::keys::Pool::Content => "content",
                crate::keys::Pool::Minted => "inflation",
            }
        ),
        TokenEvent::PoolSeeded { pool, amount } => {
            format!("genesis: {} in the pool {}", tokens(*amount, dex), pool.name())
        }
        TokenEvent::ManaSeeded { account, .. } => format!("genesis: @{account}'s vote meters"),
        TokenEvent::DaySeeded(d) => format!("genesis: the last DAO day was {}", d.block),
        TokenEvent::PaidSeeded { author, permlink, .. } => format!("genesis: @{author}/{permlink} was paid"),
        TokenEvent::NftEscrowSeeded { amount } => format!("genesis: the NFT module holds {amount} base units"),
        TokenEvent::LeaderVoteQueued { author, permlink, sum } => {
            format!("@{author}/{permlink}'s votes sum to {sum}: queued for the leader's next voter round")
        }
        TokenEvent::LeaderVotesDue { block, expires, votes } => format!(
            "voter round at {block}: the leader owes {} Hive votes until block {expires}",
            votes.iter().filter(|v| v.weight > 0).count()
        ),
        TokenEvent::LeaderVoted { author, permlink, block } => {
            format!("the leader voted on @{author}/{permlink} in block {block}")
        }
        TokenEvent::PaidPruned { block, posts } => {
            format!("DAO day {block}: {} paid posts' records dropped", posts.len())
        }
        TokenEvent::LeaderVoteExpired { author, permlink } => {
            format!("the leader's vote on @{author}/{permlink} was not seen in time: no longer listed")
        }
        TokenEvent::PostPending {
            author,
            permlink,
            expires,
            ..
        } => format!("@{author}/{permlink} qualifies for Proof of Brain; its options must name the beneficiary by block {expires}"),
        TokenEvent::PostExpired { author, permlink, .. } => {
            format!("@{author}/{permlink} never named the beneficiary and is forgotten")
        }
        TokenEvent::PostRegistered {
            author,
            permlink,
            closes,
            ..
        } => format!("@{author}|{permlink} added to rewardable content; votes count until block {closes}"),
        TokenEvent::VoteCast {
            voter,
            author,
            permlink,
            value,
            ..
        } => match value {
            0 => format!("@{voter} removed its vote on @{author}/{permlink}"),
            v => format!("@{voter} voted {v} on @{author}/{permlink}"),
        },
        TokenEvent::PobTally {
            block,
            weights,
            payout,
            ..
        } => format!(
            "Proof of Brain tally {block}: {} for posts of weight {weights}",
            tokens(*payout, dex)
        ),
        TokenEvent::PostPaid { payout, .. } => format!(
            "@{}|Post:{} paid: {} to the author, {} to {} curators (claimable)",
            payout.author,
            payout.permlink,
            tokens(payout.author_share, dex),
            tokens(payout.curators.iter().map(|(_, a)| *a).sum(), dex),
            payout.curators.len()
        ),
    }
}
