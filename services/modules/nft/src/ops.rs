//! The ops this module owns (no token moves at the op): redeeming, giving and melting
//! NFTs, giving and airdropping mint tokens, opening and cancelling offers, the royalty
//! split and the profile picture. Each decides from the op and the state alone and
//! rejects with the reason; `apply` writes what it decided.

use crate::events::{CloseWhy, NftEvent};
use crate::keys::{self, Nft, Offer, Set};
use crate::protocol::{item_id, set_name, text_field, Currency, OfferKind};
use crate::NftModule;
use opentoken_core::account::is_valid_account_name;
use opentoken_core::{field, OpContext, Reject, RejectCode, StateRead};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub(crate) type Payload = Map<String, Value>;

fn broken(e: String) -> Reject {
    Reject::new(RejectCode::InvalidField, format!("stored state does not decode: {e}"))
}

/// The set `name`, or a rejection naming it.
pub(crate) fn set_of(state: &dyn StateRead, name: &str) -> Result<Set, Reject> {
    keys::load_set(state, name)
        .ok_or_else(|| Reject::field(format!("no NFT set {name:?}")))?
        .map_err(broken)
}

/// The NFT `set:uid`, which `from` must hold.
pub(crate) fn owned_nft(state: &dyn StateRead, set: &str, uid: &str, from: &str) -> Result<Nft, Reject> {
    let nft = keys::load_nft(state, set, uid)
        .ok_or_else(|| Reject::field(format!("no NFT {set}:{uid} (never minted, or melted)")))?
        .map_err(broken)?;
    if nft.owner != from {
        let held = if OfferKind::parse(&nft.owner).is_some() {
            format!("is held by an open offer ({})", nft.owner)
        } else {
            format!("belongs to @{}", nft.owner)
        };
        return Err(Reject::new(
            RejectCode::InvalidAccount,
            format!("NFT {set}:{uid} {held}, not @{from}"),
        ));
    }
    Ok(nft)
}

/// The open offer `kind` of `set:id`.
pub(crate) fn offer_of(state: &dyn StateRead, kind: OfferKind, set: &str, id: &str) -> Result<Offer, Reject> {
    keys::load_offer(state, kind, set, id)
        .ok_or_else(|| {
            Reject::new(
                RejectCode::NothingToDo,
                format!("no open {} offer {set}:{id}", kind.as_str()),
            )
        })?
        .map_err(broken)
}

fn recipient<'a>(payload: &'a Payload, from: &str) -> Result<&'a str, Reject> {
    let to = text_field(payload, "to", 16)?;
    if !is_valid_account_name(to) {
        return Err(Reject::new(
            RejectCode::InvalidAccount,
            format!("`to` {to:?} is not a valid Hive account name"),
        ));
    }
    if to == from {
        return Err(Reject::new(
            RejectCode::InvalidAccount,
            format!("`to` is @{from} itself"),
        ));
    }
    Ok(to)
}

fn positive(payload: &Payload, name: &str, default: Option<u64>) -> Result<u64, Reject> {
    let v = match (payload.get(name), default) {
        (None | Some(Value::Null), Some(d)) => d,
        _ => field::amount(payload, name, "base units")?,
    };
    if v == 0 {
        return Err(Reject::field(format!("`{name}` must be at least 1")));
    }
    Ok(v)
}

fn ft_held(state: &dyn StateRead, account: &str, set: &str) -> u64 {
    keys::num(state, &keys::ft(account, set))
}

fn need_ft(state: &dyn StateRead, account: &str, set: &str, qty: u64) -> Result<(), Reject> {
    let held = ft_held(state, account, set);
    if held < qty {
        return Err(Reject::new(
            RejectCode::InsufficientFunds,
            format!("@{account} holds {held} {set} mint token(s), needs {qty}"),
        ));
    }
    Ok(())
}

/// A mint-token offer's id: `Qm` + base58 of a hash of who, which set and where in the
/// chain, so two offers of one account in one block never collide (the reference hashes
/// `from:set:block` and overwrites the first).
pub fn offer_id(from: &str, set: &str, ctx: &OpContext<'_>) -> String {
    let mut h = Sha256::new();
    h.update(
        format!(
            "{from}:{set}:{}:{}:{}",
            ctx.pos.block, ctx.pos.trx_in_block, ctx.pos.op_in_trx
        )
        .as_bytes(),
    );
    let mut id = String::from("Qm");
    id.push_str(&bs58::encode(h.finalize()).into_string());
    id
}

impl NftModule {
    pub(crate) fn mint(
        &self,
        ctx: &OpContext<'_>,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<NftEvent>, Reject> {
        let set = set_name(payload)?;
        set_of(state, set)?;
        need_ft(state, from, set, 1)?;
        let seq = keys::num(state, keys::SEQ);
        Ok(vec![NftEvent::MintRequested {
            set: set.into(),
            owner: from.into(),
            seq,
            txid: ctx.txid.into(),
            block: ctx.pos.block,
        }])
    }

    pub(crate) fn transfer(
        &self,
        ctx: &OpContext<'_>,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<NftEvent>, Reject> {
        let set = set_name(payload)?;
        let uid = item_id(payload)?;
        let to = recipient(payload, from)?;
        owned_nft(state, set, uid, from)?;
        Ok(vec![NftEvent::NftMoved {
            set: set.into(),
            uid: uid.into(),
            from: from.into(),
            to: to.into(),
            block: ctx.pos.block,
        }])
    }

    pub(crate) fn melt(&self, from: &str, payload: &Payload, state: &dyn StateRead) -> Result<Vec<NftEvent>, Reject> {
        let set = set_name(payload)?;
        let uid = item_id(payload)?;
        let s = set_of(state, set)?;
        owned_nft(state, set, uid, from)?;
        Ok(vec![NftEvent::Melted {
            set: set.into(),
            uid: uid.into(),
            owner: from.into(),
            bond: s.bond,
        }])
    }

    pub(crate) fn pfp(&self, from: &str, payload: &Payload, state: &dyn StateRead) -> Result<Vec<NftEvent>, Reject> {
        let set = set_name(payload)?;
        let uid = item_id(payload)?;
        owned_nft(state, set, uid, from)?;
        Ok(vec![NftEvent::PfpSet {
            account: from.into(),
            set: set.into(),
            uid: uid.into(),
        }])
    }

    /// `nft_add_roy {set, distro: "acct_bps,…"}`: the author splits the royalty, once (the
    /// reference's only working path). Shares total 10000, accounts are valid and
    /// distinct; the reference's dividend pool `d` does not exist here.
    pub(crate) fn add_royalty(
        &self,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<NftEvent>, Reject> {
        let set = set_name(payload)?;
        let s = set_of(state, set)?;
        if s.author != from {
            return Err(Reject::new(
                RejectCode::InvalidAccount,
                format!("only the author @{} splits the royalty of {set}", s.author),
            ));
        }
        if s.distro.is_some() {
            return Err(Reject::new(
                RejectCode::NothingToDo,
                format!("the royalty of {set} is already split"),
            ));
        }
        let text = text_field(payload, "distro", 400)?;
        let distro = parse_distro(text)?;
        Ok(vec![NftEvent::RoyaltySplit {
            set: set.into(),
            distro,
        }])
    }

    pub(crate) fn ft_transfer(
        &self,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<NftEvent>, Reject> {
        let set = set_name(payload)?;
        set_of(state, set)?;
        let to = recipient(payload, from)?;
        let qty = positive(payload, "qty", Some(1))?;
        need_ft(state, from, set, qty)?;
        Ok(vec![NftEvent::FtMoved {
            set: set.into(),
            from: from.into(),
            to: to.into(),
            qty,
        }])
    }

    pub(crate) fn ft_airdrop(
        &self,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<NftEvent>, Reject> {
        let set = set_name(payload)?;
        set_of(state, set)?;
        let list = match payload.get("to") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            Some(Value::Array(_)) => return Err(Reject::field("`to` is an empty list")),
            Some(other) => {
                return Err(Reject::field(format!(
                    "`to` must be a list of accounts, got {}",
                    field::kind(other)
                )))
            }
            None => return Err(Reject::field("`to` is missing")),
        };
        if list.len() as u64 > self.cfg.max_airdrop {
            return Err(Reject::field(format!(
                "`to` names {} accounts; an airdrop reaches at most {}",
                list.len(),
                self.cfg.max_airdrop
            )));
        }
        let mut to: Vec<&str> = Vec::with_capacity(list.len());
        for v in list {
            let Value::String(a) = v else {
                return Err(Reject::field(format!("`to` holds {}, not an account", field::kind(v))));
            };
            if !is_valid_account_name(a) {
                return Err(Reject::new(
                    RejectCode::InvalidAccount,
                    format!(
                        "`to` holds {:?}, not a valid Hive account name",
                        a.chars().take(20).collect::<String>()
                    ),
                ));
            }
            if a == from {
                return Err(Reject::new(
                    RejectCode::InvalidAccount,
                    format!("`to` names @{from} itself"),
                ));
            }
            if !to.contains(&a.as_str()) {
                to.push(a);
            }
        }
        need_ft(state, from, set, to.len() as u64)?;
        Ok(to
            .into_iter()
            .map(|t| NftEvent::FtMoved {
                set: set.into(),
                from: from.into(),
                to: t.into(),
                qty: 1,
            })
            .collect())
    }

    /// `nft_sell`, `nft_auction`, `nft_hauction`, `nft_reserve_transfer`: the NFT leaves
    /// its owner for the offer. What it is priced in (`type`): `nft_sell` takes any
    /// (default the token), `nft_reserve_transfer` needs one (as the reference),
    /// `nft_auction` is in the token and `nft_hauction` in HIVE or HBD. HIVE/HBD needs a
    /// chain that runs the multi-sig account.
    pub(crate) fn offer_nft(
        &self,
        ctx: &OpContext<'_>,
        op: &str,
        kind: OfferKind,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<NftEvent>, Reject> {
        let set = set_name(payload)?;
        let uid = item_id(payload)?;
        let asked = currency_field(payload)?;
        let currency = match (op, asked) {
            ("nft_hauction", Some(c)) if c.is_coin() => c,
            ("nft_hauction", _) => return Err(Reject::field("`nft_hauction` needs `type` \"HIVE\" or \"HBD\"")),
            ("nft_auction", None | Some(Currency::Token)) => Currency::Token,
            ("nft_auction", Some(_)) => {
                return Err(Reject::field(
                    "`nft_auction` is in the token; HIVE/HBD auctions are `nft_hauction`",
                ))
            }
            ("nft_reserve_transfer", None) => {
                return Err(Reject::field("`type` (\"TOKEN\", \"HIVE\" or \"HBD\") is missing"))
            }
            (_, c) => c.unwrap_or(Currency::Token),
        };
        if currency.is_coin() && !self.coin {
            return Err(Reject::field(format!(
                "this chain runs no multi-sig account: offers are in the token, not {}",
                currency.as_str()
            )));
        }
        owned_nft(state, set, uid, from)?;
        self.offer(ctx, kind, currency, set, uid, from, payload)
    }

    /// `ft_sell`, `ft_auction`, `ft_escrow`: one mint token leaves its holder for the offer.
    pub(crate) fn offer_ft(
        &self,
        ctx: &OpContext<'_>,
        kind: OfferKind,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<NftEvent>, Reject> {
        let set = set_name(payload)?;
        set_of(state, set)?;
        if let Some(c) = currency_field(payload)?.filter(|c| c.is_coin()) {
            return Err(Reject::field(format!(
                "mint-token offers are in the token, not {}",
                c.as_str()
            )));
        }
        need_ft(state, from, set, 1)?;
        let id = offer_id(from, set, ctx);
        self.offer(ctx, kind, Currency::Token, set, &id, from, payload)
    }

    #[allow(clippy::too_many_arguments)]
    fn offer(
        &self,
        ctx: &OpContext<'_>,
        kind: OfferKind,
        currency: Currency,
        set: &str,
        id: &str,
        from: &str,
        payload: &Payload,
    ) -> Result<Vec<NftEvent>, Reject> {
        let block = ctx.pos.block;
        let mut offer = Offer::new(kind, set, id, from, currency, block);
        match kind {
            OfferKind::NftSale | OfferKind::FtSale => {
                offer.price = positive(payload, "price", Some(self.cfg.default_price))?;
            }
            OfferKind::NftReserve | OfferKind::FtReserve => {
                offer.to = recipient(payload, from)?.into();
                offer.price = positive(payload, "price", None)?;
            }
            OfferKind::NftAuction | OfferKind::FtAuction => {
                offer.price = positive(payload, "price", Some(self.cfg.default_price))?;
                let max = if currency.is_coin() {
                    self.cfg.max_coin_auction_days
                } else {
                    self.cfg.max_auction_days
                };
                let days = positive(payload, "time", Some(max.min(7)))?;
                if days > max {
                    return Err(Reject::field(format!(
                        "`time` {days} days is longer than a {} auction may run ({max} days)",
                        currency.as_str()
                    )));
                }
                offer.days = days;
                offer.expires = block.saturating_add(days.saturating_mul(self.cfg.blocks_per_day));
                if payload.get("now").is_some_and(|v| !v.is_null()) {
                    let n = field::amount(payload, "now", "base units")?;
                    if n <= offer.price {
                        return Err(Reject::field(format!(
                            "`now` {n} must be above the starting price {}",
                            offer.price
                        )));
                    }
                    offer.buy_now = n;
                }
            }
        }
        Ok(vec![NftEvent::Offered(Box::new(offer))])
    }

    /// Cancels: a sale by its seller, a reserved transfer by either party. Auctions run to
    /// their end, as the reference's do (no op cancels one).
    pub(crate) fn cancel(
        &self,
        ctx: &OpContext<'_>,
        kind: OfferKind,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<NftEvent>, Reject> {
        let set = set_name(payload)?;
        let id = item_id(payload)?;
        let offer = offer_of(state, kind, set, id)?;
        let allowed = offer.seller == from || (offer.to == from && !offer.to.is_empty());
        if !allowed {
            return Err(Reject::new(
                RejectCode::InvalidAccount,
                format!(
                    "offer {} is @{}'s; @{from} may not cancel it",
                    offer.item(),
                    offer.seller
                ),
            ));
        }
        Ok(vec![NftEvent::Closed {
            offer: Box::new(offer),
            why: CloseWhy::Cancelled,
            block: ctx.pos.block,
        }])
    }
}

/// The `type` field of an offer op: what it is priced in.
fn currency_field(payload: &Payload) -> Result<Option<Currency>, Reject> {
    match payload.get("type") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(t)) => Currency::parse(t).map(Some).ok_or_else(|| {
            Reject::field(format!(
                "`type` must be \"TOKEN\", \"HIVE\" or \"HBD\", got {:?}",
                t.chars().take(20).collect::<String>()
            ))
        }),
        Some(other) => Err(Reject::field(format!(
            "`type` must be a string, got {}",
            field::kind(other)
        ))),
    }
}

/// A royalty split `acct_bps,acct_bps,…`: 1..=10 distinct valid accounts, shares of at
/// least 1 basis point that total 10000.
pub fn parse_distro(text: &str) -> Result<Vec<(String, u64)>, Reject> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (account, bp) = part
            .rsplit_once('_')
            .ok_or_else(|| Reject::field(format!("`distro` entry {part:?} is not account_bps")))?;
        if !is_valid_account_name(account) {
            return Err(Reject::new(
                RejectCode::InvalidAccount,
                format!("`distro` names {account:?}, not a valid Hive account"),
            ));
        }
        let bp: u64 = Some(bp)
            .filter(|b| !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|b| b.parse().ok())
            .filter(|b| (1..=10_000).contains(b))
            .ok_or_else(|| Reject::field(format!("`distro` share {bp:?} is not 1..=10000 basis points")))?;
        if out.iter().any(|(a, _)| a == account) {
            return Err(Reject::field(format!("`distro` names @{account} twice")));
        }
        out.push((account.to_string(), bp));
        if out.len() > 10 {
            return Err(Reject::field("`distro` has more than 10 shares"));
        }
    }
    let total: u64 = out.iter().map(|(_, b)| b).sum();
    if total != 10_000 {
        return Err(Reject::field(format!("`distro` shares total {total}, not 10000")));
    }
    Ok(out)
}
