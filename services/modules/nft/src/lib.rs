//! The NFT module: sets, their mint tokens, NFTs, and the markets for both in the
//! community token, with royalties to set authors.
//!
//! - **Sets** (`nft_define`): a definer pays a fee (per byte per mint token, a flat part,
//!   and an optional bond per NFT) and receives the set's `total` mint tokens.
//! - **Mint tokens** (`ft_*`): fungible, per set and account; given, airdropped, sold,
//!   auctioned or reserved for one buyer. `nft_mint` redeems one: it is gone at once, and
//!   its NFT is drawn at the next checkpoint block ([`chron`]).
//! - **NFTs** (`nft_*`): given, melted (the bond back), sold, auctioned, reserved; one
//!   owner (an account or the offer holding it) at every block.
//! - **Payments** in the token are escrowed by the token module, which sends the op here
//!   ([`protocol`]); each settles or is refunded in full, and what anyone is owed goes
//!   back as a message. Royalties ([`royalty`]) are paid on every sale, once.
//!
//! The key layout is in [`keys`]; the API reads [`views`].

mod apply;
pub mod b64;
pub mod chron;
mod coin;
pub mod config;
pub mod define;
mod describe;
pub mod events;
pub mod genesis;
pub mod keys;
mod ops;
mod paid;
pub mod protocol;
pub mod royalty;
pub mod views;

pub use apply::{coin_held_matches, held_matches};
pub use config::NftConfig;
pub use events::{CloseWhy, NftEvent, Share};
pub use ops::{offer_id, parse_distro};
pub use protocol::{OfferKind, NAME};

use opentoken_core::module::{GenesisError, InvariantError};
use opentoken_core::{
    Auth, BlockContext, ChainSpec, HiveOp, Input, Message, Module, OpContext, Outgoing, Reject, RejectCode, Route,
    StateRead, StateWrite,
};
use opentoken_dex::protocol::Pay;
use opentoken_dex::{Pair, Payout};
use protocol::{
    Burn, CoinIn, Credit, Currency, Paid, Price, KIND_BURN, KIND_COIN, KIND_CREDIT, KIND_PAID, KIND_PAY, KIND_PRICE,
    MULTISIG, TOKEN,
};

const fn active(name: &'static str) -> Route {
    Route {
        name,
        auth: Auth::Active,
    }
}

/// The ops it owns (the reference's ids and authorities; `nft_pfp` takes any key). The
/// ops that pay in the token are the token module's routes ([`protocol::PAID_OPS`]).
const ROUTES: &[Route] = &[
    active("nft_mint"),
    active("nft_transfer"),
    active("nft_reserve_transfer"),
    active("nft_transfer_cancel"),
    active("nft_melt"),
    active("nft_auction"),
    active("nft_hauction"),
    active("nft_sell"),
    active("nft_sell_cancel"),
    active("nft_add_roy"),
    Route {
        name: "nft_pfp",
        auth: Auth::Posting,
    },
    active("ft_transfer"),
    active("ft_airdrop"),
    active("ft_escrow"),
    active("ft_escrow_cancel"),
    active("ft_sell"),
    active("ft_sell_cancel"),
    active("ft_auction"),
];

/// The module: its validated parameters, the token's symbol (the feed) and the chain's
/// checkpoint interval (mints wait for the next checkpoint).
#[derive(Debug)]
pub struct NftModule {
    cfg: NftConfig,
    token: String,
    checkpoint_interval: u64,
    /// Whether the chain runs the multisig module: only then can offers be priced in
    /// HIVE/HBD.
    coin: bool,
}

impl NftModule {
    pub fn new(cfg: NftConfig, spec: &ChainSpec) -> Result<Self, GenesisError> {
        cfg.validate()?;
        let coin = spec.module_config(MULTISIG).is_some();
        cfg.genesis.validate(&cfg, coin)?;
        Ok(Self {
            cfg,
            token: spec.token.clone(),
            checkpoint_interval: spec.checkpoint_interval,
            coin,
        })
    }

    /// The module as the chain spec configures it; an error when the spec has no NFT
    /// section (the registry only builds it when there is one).
    pub fn from_spec(spec: &ChainSpec) -> Result<Self, GenesisError> {
        let cfg = NftConfig::from_spec(spec)?.ok_or_else(|| GenesisError {
            module: NAME.into(),
            why: "the chain spec has no modules.nft section".into(),
        })?;
        Self::new(cfg, spec)
    }

    pub fn config(&self) -> &NftConfig {
        &self.cfg
    }

    fn message(&self, m: &Message, state: &dyn StateRead) -> Result<Vec<NftEvent>, Reject> {
        if self.coin && m.from == MULTISIG && m.kind == KIND_COIN {
            let c: CoinIn = serde_json::from_str(&m.payload)
                .map_err(|e| Reject::new(RejectCode::BadMessage, format!("a coin payment does not decode: {e}")))?;
            if c.amount == 0 {
                return Err(Reject::new(
                    RejectCode::BadMessage,
                    "multisig sent a payment of nothing",
                ));
            }
            return self.settle_coin(&c, state);
        }
        if m.from != TOKEN || m.kind != KIND_PAID {
            return Err(Reject::new(
                RejectCode::BadMessage,
                format!("nft takes `{KIND_PAID}` from token, not {} from {}", m.kind, m.from),
            ));
        }
        let paid: Paid = serde_json::from_str(&m.payload)
            .map_err(|e| Reject::new(RejectCode::BadMessage, format!("a paid op does not decode: {e}")))?;
        if paid.amount == 0 {
            return Err(Reject::new(
                RejectCode::BadMessage,
                format!("token sent `{}` with nothing escrowed", paid.op),
            ));
        }
        Ok(self.settle(&paid, state))
    }
}

fn credit(account: &str, amount: u64, why: &str, item: String) -> Outgoing {
    let c = Credit {
        account: account.to_string(),
        amount,
        why: why.to_string(),
        item,
    };
    Outgoing {
        to: TOKEN.into(),
        kind: KIND_CREDIT.into(),
        payload: serde_json::to_string(&c).unwrap_or_default(),
    }
}

/// Coin out of the multisig module's escrow for this module: `via` Hive (an outflow) or
/// to a Layer-2 balance.
fn pay(account: &str, currency: Currency, amount: u64, via: Payout, why: &str, item: String) -> Option<Outgoing> {
    let coin = match currency {
        Currency::Hive => Pair::Hive,
        Currency::Hbd => Pair::Hbd,
        Currency::Token => return None,
    };
    let p = Pay {
        account: account.to_string(),
        coin,
        amount,
        via,
        order: item,
        why: why.to_string(),
    };
    Some(Outgoing {
        to: MULTISIG.into(),
        kind: KIND_PAY.into(),
        payload: serde_json::to_string(&p).unwrap_or_default(),
    })
}

/// What `currency` an account is owed: tokens by a credit, coin by a payment (`via`).
fn owe(account: &str, currency: Currency, amount: u64, via: Payout, why: &str, item: String) -> Option<Outgoing> {
    match currency {
        Currency::Token => Some(credit(account, amount, why, item)),
        c => pay(account, c, amount, via, why, item),
    }
}

fn price(item: String, price: u64) -> Outgoing {
    Outgoing {
        to: TOKEN.into(),
        kind: KIND_PRICE.into(),
        payload: serde_json::to_string(&Price { item, price }).unwrap_or_default(),
    }
}

impl Module for NftModule {
    type Event = NftEvent;

    fn name(&self) -> &'static str {
        NAME
    }

    fn routes(&self) -> &[Route] {
        ROUTES
    }

    fn accepts_hive_op(&self, _op: &HiveOp, _spec: &ChainSpec) -> bool {
        false
    }

    /// The state a running community brings (`modules.nft.genesis`, validated when the
    /// module was built; [`genesis`]); nothing on a new chain. The tokens it holds are
    /// seeded on the token module's side by its `genesis.nft.escrow` (the registry checks
    /// that the two agree).
    fn genesis(&self, _: &ChainSpec) -> Result<Vec<NftEvent>, GenesisError> {
        Ok(self.cfg.genesis.events())
    }

    fn handle(&self, ctx: &OpContext<'_>, input: Input<'_>, state: &dyn StateRead) -> Result<Vec<NftEvent>, Reject> {
        match input {
            Input::CustomJson {
                name, from, payload, ..
            } => match name {
                "nft_mint" => self.mint(ctx, from, payload, state),
                "nft_transfer" => self.transfer(ctx, from, payload, state),
                "nft_reserve_transfer" => self.offer_nft(ctx, name, OfferKind::NftReserve, from, payload, state),
                "nft_transfer_cancel" => self.cancel(ctx, OfferKind::NftReserve, from, payload, state),
                "nft_melt" => self.melt(from, payload, state),
                "nft_auction" | "nft_hauction" => {
                    self.offer_nft(ctx, name, OfferKind::NftAuction, from, payload, state)
                }
                "nft_sell" => self.offer_nft(ctx, name, OfferKind::NftSale, from, payload, state),
                "nft_sell_cancel" => self.cancel(ctx, OfferKind::NftSale, from, payload, state),
                "nft_add_roy" => self.add_royalty(from, payload, state),
                "nft_pfp" => self.pfp(from, payload, state),
                "ft_transfer" => self.ft_transfer(from, payload, state),
                "ft_airdrop" => self.ft_airdrop(from, payload, state),
                "ft_escrow" => self.offer_ft(ctx, OfferKind::FtReserve, from, payload, state),
                "ft_escrow_cancel" => self.cancel(ctx, OfferKind::FtReserve, from, payload, state),
                "ft_sell" => self.offer_ft(ctx, OfferKind::FtSale, from, payload, state),
                "ft_sell_cancel" => self.cancel(ctx, OfferKind::FtSale, from, payload, state),
                "ft_auction" => self.offer_ft(ctx, OfferKind::FtAuction, from, payload, state),
                other => Err(Reject::new(
                    RejectCode::UnknownOperation,
                    format!("nft has no operation `{other}`"),
                )),
            },
            Input::Hive(other) => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("nft does not handle Hive `{}`", other.name()),
            )),
            Input::Message(m) => self.message(m, state),
        }
    }

    /// Mints at checkpoint blocks, auction ends at their block (both bounded per block).
    fn on_block(&self, ctx: &BlockContext<'_>, state: &dyn StateRead) -> Result<Vec<NftEvent>, InvariantError> {
        self.chron(ctx, state)
    }

    fn next_due_block(&self, state: &dyn StateRead, after: u64) -> Option<u64> {
        self.next_due(self.checkpoint_interval, state, after)
    }

    fn apply(&self, event: &NftEvent, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        apply::apply(event, state)
    }

    /// What each event owes in the token, and the prices the token module mirrors.
    fn messages(&self, event: &NftEvent) -> Vec<Outgoing> {
        match event {
            NftEvent::SetDefined {
                set,
                definer,
                paid,
                fee,
            } if paid > fee => vec![credit(definer, paid - fee, "refund", format!("set/{}", set.name))],
            NftEvent::Refunded {
                account,
                amount,
                currency,
                op,
                ..
            } => owe(account, *currency, *amount, Payout::Hive, "refund", op.clone())
                .into_iter()
                .collect(),
            NftEvent::Minted {
                set,
                fee_paid,
                fee_burned,
                ..
            } => {
                let mut out = Vec::new();
                if *fee_paid > 0 {
                    out.push(credit(&self.cfg.fee_account, *fee_paid, "fee", format!("set/{set}")));
                }
                if *fee_burned > 0 {
                    out.push(Outgoing {
                        to: TOKEN.into(),
                        kind: KIND_BURN.into(),
                        payload: serde_json::to_string(&Burn {
                            amount: *fee_burned,
                            item: format!("set/{set}"),
                        })
                        .unwrap_or_default(),
                    });
                }
                out
            }
            NftEvent::Melted {
                set, uid, owner, bond, ..
            } if *bond > 0 => vec![credit(owner, *bond, "bond", format!("{set}:{uid}"))],
            NftEvent::Offered(o) if o.kind.is_priced() && o.currency == Currency::Token => {
                vec![price(o.item(), o.price)]
            }
            NftEvent::Closed { offer, .. } if offer.kind.is_priced() && offer.currency == Currency::Token => {
                vec![price(offer.item(), 0)]
            }
            NftEvent::Sold {
                offer,
                price: p,
                fee,
                royalties,
                ..
            } => {
                let cur = offer.currency;
                let mut out = Vec::with_capacity(royalties.len() + 3);
                let seller = NftEvent::seller_gets(*p, *fee, royalties);
                if seller > 0 {
                    out.extend(owe(&offer.seller, cur, seller, Payout::Hive, "sale", offer.item()));
                }
                for r in royalties {
                    out.extend(owe(&r.account, cur, r.amount, Payout::L2, "royalty", offer.item()));
                }
                if *fee > 0 {
                    out.extend(owe(
                        &self.cfg.coin_fee_account,
                        cur,
                        *fee,
                        Payout::L2,
                        "fee",
                        offer.item(),
                    ));
                }
                if offer.kind.is_priced() && cur == Currency::Token {
                    out.push(price(offer.item(), 0));
                }
                out
            }
            NftEvent::BidPlaced {
                kind,
                set,
                id,
                currency,
                prev_bidder,
                prev_amount,
                ..
            } if *prev_amount > 0 => owe(
                prev_bidder,
                *currency,
                *prev_amount,
                Payout::Hive,
                "outbid",
                protocol::item_key(*kind, set, id),
            )
            .into_iter()
            .collect(),
            _ => Vec::new(),
        }
    }

    fn sends_to(&self) -> &[&'static str] {
        if self.coin {
            &[MULTISIG, TOKEN]
        } else {
            &[TOKEN]
        }
    }

    /// A paid op arriving as a message settles at once and sends credits: this module
    /// sends on messages (the token module does not, so the two never step in lock).
    fn sends_on_messages(&self) -> bool {
        true
    }

    fn describe(&self, event: &NftEvent) -> String {
        describe::describe(&self.token, event)
    }
}

#[cfg(test)]
mod tests;
