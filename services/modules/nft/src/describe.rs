//! One human-readable line per event, like the reference node's feed.

use crate::events::NftEvent;
use crate::protocol::Currency;

fn unit(token: &str, c: Currency) -> &str {
    match c {
        Currency::Token => token,
        c => c.as_str(),
    }
}

fn milli(v: u64) -> String {
    format!("{}.{:03}", v / 1000, v % 1000)
}

pub(crate) fn describe(token: &str, event: &NftEvent) -> String {
    match event {
        NftEvent::SetDefined { set, definer, fee, .. } => format!(
            "@{definer} defined the {} NFT set ({} mint tokens). {} {token} paid",
            set.name,
            set.total,
            milli(*fee)
        ),
        NftEvent::Refunded {
            account,
            amount,
            currency,
            op,
            why,
        } => format!(
            "@{account}'s {op} refunded {} {}: {why}",
            milli(*amount),
            unit(token, *currency)
        ),
        NftEvent::FtMoved { set, from, to, qty } => format!("@{from} gave {qty} {set} mint token(s) to @{to}"),
        NftEvent::MintRequested { set, owner, .. } => format!("@{owner} redeemed a {set} mint token"),
        NftEvent::Minted { set, uid, owner, .. } => format!("@{owner} minted {uid} from the {set} set"),
        NftEvent::NftMoved { set, uid, from, to, .. } => format!("@{from} sent {set}:{uid} to @{to}"),
        NftEvent::Melted { set, uid, owner, bond } => {
            format!("@{owner} melted {set}:{uid}, received {} {token}", milli(*bond))
        }
        NftEvent::Offered(o) => {
            let what = if o.kind.is_nft() {
                format!("{}:{}", o.set, o.id)
            } else {
                format!("a {} mint token ({})", o.set, o.id)
            };
            match o.kind {
                k if k.is_auction() => format!(
                    "@{} auctions {what} from {} {} until block {}",
                    o.seller,
                    milli(o.price),
                    unit(token, o.currency),
                    o.expires
                ),
                k if k.is_priced() && !o.to.is_empty() => format!(
                    "@{} reserved {what} for @{} at {} {}",
                    o.seller,
                    o.to,
                    milli(o.price),
                    unit(token, o.currency)
                ),
                _ => format!(
                    "@{} lists {what} for {} {}",
                    o.seller,
                    milli(o.price),
                    unit(token, o.currency)
                ),
            }
        }
        NftEvent::Closed { offer, why, .. } => {
            format!("{} {}: back to @{}", offer.item(), why.as_str(), offer.seller)
        }
        NftEvent::Sold {
            offer,
            buyer,
            price,
            royalties,
            ..
        } => format!(
            "@{buyer} bought {} from @{} for {} {} (royalty {})",
            offer.item(),
            offer.seller,
            milli(*price),
            unit(token, offer.currency),
            milli(royalties.iter().map(|r| r.amount).sum())
        ),
        NftEvent::BidPlaced {
            kind,
            set,
            id,
            currency,
            bidder,
            amount,
            ..
        } => format!(
            "@{bidder} bid {} {} on {}",
            milli(*amount),
            unit(token, *currency),
            crate::protocol::item_key(*kind, set, id)
        ),
        NftEvent::RoyaltySplit { set, distro } => format!(
            "the royalty of {set} is split: {}",
            distro
                .iter()
                .map(|(a, bp)| format!("@{a} {}.{:02}%", bp / 100, bp % 100))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        NftEvent::PfpSet { account, set, uid } => format!("@{account}'s profile picture is {set}:{uid}"),
        NftEvent::SetSeeded { set, .. } => format!(
            "genesis: set {} of @{} ({} of {} minted, {} melted)",
            set.name, set.author, set.minted, set.total, set.melted
        ),
        NftEvent::NftSeeded { set, uid, owner, .. } => format!("genesis: @{owner} holds {set}:{uid}"),
        NftEvent::FtSeeded { set, account, qty } => format!("genesis: @{account} holds {qty} {set} mint token(s)"),
        NftEvent::OfferSeeded(o) => format!("genesis: @{} offers {}", o.seller, o.item()),
    }
}
