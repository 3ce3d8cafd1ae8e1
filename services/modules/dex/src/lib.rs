//! The DEX module: the community token against HIVE and against HBD, two order books with
//! price-time priority and partial fills, settled without a custodian of its own.
//!
//! - **Sells** (`<prefix>dex_sell`, active authority) are escrowed by the token module,
//!   **buys** (a HIVE/HBD deposit to the multi-sig account whose memo is an order, or
//!   `<prefix>dex_buy` from a Layer-2 balance) by the multisig module; each sends the
//!   escrowed order here ([`protocol`]), and it is matched at the start of the next block
//!   ([`place`](crate::place)): fills at the resting order's price with the rounding rule of
//!   [`price`], the fee taken from the buyer's tokens, what is left resting or returned.
//! - What each party is owed goes back as messages: tokens to the token module (`credit`),
//!   coin to the multisig module (`pay`: to a Layer-2 balance, or out to Hive through the
//!   account's outflows).
//! - `<prefix>dex_clear` (active) cancels a resting order; orders expire at their block
//!   (chron work); history keeps the recent trades, the last price and hourly and daily
//!   candles, all bounded.
//! - Bids are capped by the collateral the runners' governance stake provides (nodes'
//!   `collateral` message), and the fee and caps follow the runners' votes (`params`).
//!
//! The key layout is in [`keys`]; the API reads [`views`].

mod apply;
pub mod config;
mod describe;
pub mod events;
pub mod keys;
pub mod order;
mod place;
pub mod price;
pub mod protocol;
pub mod views;

pub use apply::escrow_matches_book;
pub use config::{DexConfig, LiquidityConfig};
pub use events::{DexEvent, ReturnWhy};
pub use protocol::{OrderIn, Pair, Payout, Side, NAME};

use opentoken_core::module::{GenesisError, InvariantError};
use opentoken_core::{
    Auth, BlockContext, ChainSpec, HiveOp, Input, Message, Module, OpContext, Outgoing, Reject, RejectCode, Route,
    StateRead, StateWrite,
};
use protocol::{Credit, Params, Pay, KIND_COLLATERAL, KIND_CREDIT, KIND_ORDER, KIND_PARAMS, KIND_PAY};

/// The custom_json names it owns: cancelling moves money back, so it needs active
/// authority (the engine checks it before `handle`). Placing orders belongs to the modules
/// that escrow their funds (`dex_sell`: token, `dex_buy`: multisig).
const ROUTES: &[Route] = &[Route {
    name: "dex_clear",
    auth: Auth::Active,
}];

/// The module: its validated parameters and the token's symbol (order ids, memos).
#[derive(Debug)]
pub struct DexModule {
    cfg: DexConfig,
    token: String,
}

impl DexModule {
    pub fn new(cfg: DexConfig, spec: &ChainSpec) -> Result<Self, GenesisError> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            token: spec.token.clone(),
        })
    }

    /// The module as the chain spec configures it; an error when the spec has no DEX
    /// section (the registry only builds it when there is one).
    pub fn from_spec(spec: &ChainSpec) -> Result<Self, GenesisError> {
        let cfg = DexConfig::from_spec(spec)?.ok_or_else(|| GenesisError {
            module: NAME.into(),
            why: "the chain spec has no modules.dex section".into(),
        })?;
        Self::new(cfg, spec)
    }

    pub fn config(&self) -> &DexConfig {
        &self.cfg
    }

    fn clear(
        &self,
        from: &str,
        payload: &serde_json::Map<String, serde_json::Value>,
        state: &dyn StateRead,
    ) -> Result<Vec<DexEvent>, Reject> {
        let id = match payload.get("txid") {
            Some(serde_json::Value::String(s)) if !s.is_empty() && s.len() <= 128 => s,
            Some(serde_json::Value::String(_)) => {
                return Err(Reject::field("`txid` must be an order id (1..=128 bytes)"))
            }
            Some(other) => {
                return Err(Reject::field(format!(
                    "`txid` must be an order id string, got {}",
                    opentoken_core::field::kind(other)
                )))
            }
            None => return Err(Reject::field("`txid` (the order id to cancel) is missing")),
        };
        let shown: String = id.chars().take(60).collect();
        let order = apply::load(state, id)
            .map_err(|e| Reject::new(RejectCode::InvalidField, e.what))?
            .ok_or_else(|| {
                Reject::new(
                    RejectCode::NothingToDo,
                    format!("no open order {shown:?} (filled, cancelled, expired or never placed)"),
                )
            })?;
        if order.from != from {
            return Err(Reject::new(
                RejectCode::InvalidAccount,
                format!("order {shown} belongs to @{}, not @{from}", order.from),
            ));
        }
        Ok(vec![place::returned_resting(&order, ReturnWhy::Cancelled)])
    }

    fn message(&self, ctx: &OpContext<'_>, m: &Message, state: &dyn StateRead) -> Result<Vec<DexEvent>, Reject> {
        let bad = |why: String| Reject::new(RejectCode::BadMessage, why);
        match (m.from.as_str(), m.kind.as_str()) {
            (protocol::TOKEN | protocol::MULTISIG, KIND_ORDER) => {
                let order: OrderIn = serde_json::from_str(&m.payload)
                    .map_err(|e| bad(format!("an order from {} does not decode: {e}", m.from)))?;
                let expected_side = if m.from == protocol::TOKEN {
                    Side::Ask
                } else {
                    Side::Bid
                };
                if order.side != expected_side || order.amount == 0 {
                    return Err(bad(format!(
                        "{} sent a {} order of {}: token escrows asks and multisig bids, never empty",
                        m.from,
                        order.side.as_str(),
                        order.amount
                    )));
                }
                self.place(order, ctx.pos.block, state)
            }
            (protocol::NODES, KIND_COLLATERAL) => {
                let stake = serde_json::from_str::<serde_json::Value>(&m.payload)
                    .ok()
                    .and_then(|v| v.get("stake").and_then(|s| s.as_u64()))
                    .ok_or_else(|| bad("collateral needs {\"stake\": N}".into()))?;
                Ok(vec![DexEvent::CollateralSet { stake }])
            }
            (protocol::NODES, KIND_PARAMS) => {
                let p: Params =
                    serde_json::from_str(&m.payload).map_err(|e| bad(format!("params do not decode: {e}")))?;
                if p.fee_ppm > 100_000 || p.dex_max_bp == 0 || p.dex_max_bp > 10_000 || p.dex_slope_bp > 10_000 {
                    return Err(bad(format!("params out of range: {p:?}")));
                }
                Ok(vec![DexEvent::ParamsSet(p)])
            }
            (from, kind) => Err(bad(format!(
                "dex takes order from token/multisig and collateral/params from nodes, not {kind} from {from}"
            ))),
        }
    }

    fn credit(&self, account: &str, amount: u64, order: &str, why: &str) -> Outgoing {
        let c = Credit {
            account: account.to_string(),
            amount,
            order: order.to_string(),
            why: why.to_string(),
        };
        Outgoing {
            to: protocol::TOKEN.into(),
            kind: KIND_CREDIT.into(),
            payload: serde_json::to_string(&c).unwrap_or_default(),
        }
    }

    fn pay(&self, account: &str, coin: Pair, amount: u64, via: Payout, order: &str, why: &str) -> Outgoing {
        let p = Pay {
            account: account.to_string(),
            coin,
            amount,
            via,
            order: order.to_string(),
            why: why.to_string(),
        };
        Outgoing {
            to: protocol::MULTISIG.into(),
            kind: KIND_PAY.into(),
            payload: serde_json::to_string(&p).unwrap_or_default(),
        }
    }
}

impl Module for DexModule {
    type Event = DexEvent;

    fn name(&self) -> &'static str {
        NAME
    }

    fn routes(&self) -> &[Route] {
        ROUTES
    }

    fn accepts_hive_op(&self, _op: &HiveOp, _spec: &ChainSpec) -> bool {
        false
    }

    /// The books start empty: an imported community's resting orders arrive from the
    /// modules that escrow them (token: asks, multisig: bids) as messages of genesis, and
    /// rest at the start of the first block. Its liquidity points are counted here.
    fn genesis(&self, spec: &ChainSpec) -> Result<Vec<DexEvent>, GenesisError> {
        let points = &self.cfg.genesis.liquidity;
        if points.is_empty() {
            return Ok(vec![]);
        }
        Ok(vec![DexEvent::LiquidityCounted {
            block: spec.starting_block.saturating_sub(1),
            awards: points.iter().map(|(a, p)| (a.clone(), *p)).collect(),
        }])
    }

    fn handle(&self, ctx: &OpContext<'_>, input: Input<'_>, state: &dyn StateRead) -> Result<Vec<DexEvent>, Reject> {
        match input {
            Input::CustomJson {
                name: "dex_clear",
                from,
                payload,
                ..
            } => self.clear(from, payload, state),
            Input::CustomJson { name, .. } => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("dex has no operation `{name}`"),
            )),
            Input::Hive(other) => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("dex does not handle Hive `{}`", other.name()),
            )),
            Input::Message(m) => self.message(ctx, m, state),
        }
    }

    /// Expiries due: orders whose last block has passed go back to their owners, at most
    /// `expiries_per_block` per block (the rest the next block).
    fn on_block(&self, ctx: &BlockContext<'_>, state: &dyn StateRead) -> Result<Vec<DexEvent>, InvariantError> {
        let mut events = Vec::new();
        for (k, id) in state.scan_prefix(keys::EXP_PREFIX) {
            if events.len() >= self.cfg.expiries_per_block as usize {
                break;
            }
            match keys::expiry_block(k) {
                Some(b) if b < ctx.block => {}
                _ => break,
            }
            let id = String::from_utf8_lossy(id);
            let order = apply::load(state, &id)?.ok_or_else(|| InvariantError {
                module: NAME.into(),
                what: format!("expiry names {id}, which does not rest"),
            })?;
            events.push(place::returned_resting(&order, ReturnWhy::Expired));
        }
        if let Some(l) = &self.cfg.liquidity {
            events.extend(liquidity(l, ctx.block, state)?);
        }
        Ok(events)
    }

    fn next_due_block(&self, state: &dyn StateRead, after: u64) -> Option<u64> {
        let expiry = state
            .scan_prefix(keys::EXP_PREFIX)
            .next()
            .and_then(|(k, _)| keys::expiry_block(k))
            .map(|b| b.saturating_add(1).max(after.saturating_add(1)));
        let liquidity = self.cfg.liquidity.as_ref().and_then(|l| {
            let bids = [Pair::Hive, Pair::Hbd]
                .iter()
                .any(|p| state.scan_prefix(&keys::book_side(*p, Side::Bid)).next().is_some());
            let points = state.scan_prefix(keys::LIQUIDITY_PREFIX.as_bytes()).next().is_some();
            let count = bids.then(|| LiquidityConfig::next(after, l.every, l.offset)).flatten();
            let pay = (bids || points)
                .then(|| LiquidityConfig::next(after, l.pay_every, l.pay_offset))
                .flatten();
            [count, pay].into_iter().flatten().min()
        });
        [expiry, liquidity].into_iter().flatten().min()
    }

    fn apply(&self, event: &DexEvent, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        apply::apply(&self.cfg, event, state)
    }

    /// Every fill and return sends what it owes: tokens to the token module, coin to the
    /// multisig module.
    fn messages(&self, event: &DexEvent) -> Vec<Outgoing> {
        match event {
            DexEvent::Filled(f) => {
                let mut out = Vec::with_capacity(3);
                let (buyer, buyer_order) = f.buyer();
                let (seller, seller_order) = f.seller();
                let bought = f.tokens - f.fee.min(f.tokens);
                if bought > 0 {
                    out.push(self.credit(buyer, bought, buyer_order, "fill"));
                }
                if f.fee > 0 {
                    out.push(self.credit(&self.cfg.fee_account, f.fee, buyer_order, "fee"));
                }
                out.push(self.pay(seller, f.pair, f.coin, f.seller_payout, seller_order, "fill"));
                out
            }
            DexEvent::Returned {
                id,
                from,
                pair,
                side,
                amount,
                payout,
                why,
                ..
            } if *amount > 0 => match side {
                Side::Ask => vec![self.credit(from, *amount, id, why.as_str())],
                Side::Bid => vec![self.pay(from, *pair, *amount, *payout, id, why.as_str())],
            },
            DexEvent::LiquiditySent { awards, .. } if !awards.is_empty() => {
                let l = protocol::Liquidity {
                    accounts: awards.iter().cloned().collect(),
                };
                vec![Outgoing {
                    to: protocol::TOKEN.into(),
                    kind: protocol::KIND_LIQUIDITY.into(),
                    payload: serde_json::to_string(&l).unwrap_or_default(),
                }]
            }
            _ => Vec::new(),
        }
    }

    fn sends_to(&self) -> &[&'static str] {
        &[protocol::MULTISIG, protocol::TOKEN]
    }

    /// An order arriving as a message is matched at once, and its fills send credits and
    /// payments: this module sends on messages (its processor advances in step with its
    /// senders).
    fn sends_on_messages(&self) -> bool {
        true
    }

    fn describe(&self, event: &DexEvent) -> String {
        describe::describe(&self.token, event)
    }
}

/// The liquidity reward's chron work at `block` (token-core §5.6): at a count block each of
/// the best `max_bids` resting bids per pair earns `⌊price·amount/best price⌋` points
/// (exact where the reference divides floats); at the token's DAO day every account's
/// points, this block's count included, are sent for payment and cleared. More accounts than
/// one message may name ([`protocol::MAX_LIQUIDITY_ACCOUNTS`]): this block's count is recorded,
/// the top earners (most points, then name) are sent and cleared, and the others' points wait
/// for the next day.
fn liquidity(l: &LiquidityConfig, block: u64, state: &dyn StateRead) -> Result<Vec<DexEvent>, InvariantError> {
    liquidity_capped(l, block, state, protocol::MAX_LIQUIDITY_ACCOUNTS)
}

/// [`liquidity`] with the most accounts one message names as a parameter (a test sends few).
fn liquidity_capped(
    l: &LiquidityConfig,
    block: u64,
    state: &dyn StateRead,
    cap: usize,
) -> Result<Vec<DexEvent>, InvariantError> {
    let count = if l.counts_at(block) {
        let mut awards: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
        for pair in [Pair::Hive, Pair::Hbd] {
            let mut best = None;
            for (_, id) in state
                .scan_prefix(&keys::book_side(pair, Side::Bid))
                .take(l.max_bids as usize)
            {
                let id = String::from_utf8_lossy(id);
                let order = apply::load(state, &id)?.ok_or_else(|| InvariantError {
                    module: NAME.into(),
                    what: format!("the book names {id}, which does not rest"),
                })?;
                let top = *best.get_or_insert(order.price.max(1));
                let points = u64::try_from(u128::from(order.price) * u128::from(order.amount) / u128::from(top))
                    .unwrap_or(u64::MAX);
                if points > 0 {
                    let e = awards.entry(order.from.clone()).or_default();
                    *e = e.saturating_add(points);
                }
            }
        }
        awards
    } else {
        Default::default()
    };
    if l.pays_at(block) {
        let mut all = count.clone();
        for (k, v) in state.scan_prefix(keys::LIQUIDITY_PREFIX.as_bytes()) {
            let account = String::from_utf8_lossy(&k[keys::LIQUIDITY_PREFIX.len()..]).into_owned();
            let points = <[u8; 8]>::try_from(v).map(u64::from_be_bytes).unwrap_or(0);
            let e = all.entry(account).or_default();
            *e = e.saturating_add(points);
        }
        if all.is_empty() {
            return Ok(Vec::new());
        }
        if all.len() <= cap {
            return Ok(vec![DexEvent::LiquiditySent {
                block,
                awards: all.into_iter().collect(),
            }]);
        }
        let mut top: Vec<(String, u64)> = all.into_iter().collect();
        top.sort_by(|(a, pa), (b, pb)| pb.cmp(pa).then_with(|| a.cmp(b)));
        top.truncate(cap);
        top.sort();
        let mut out = Vec::new();
        if !count.is_empty() {
            out.push(DexEvent::LiquidityCounted {
                block,
                awards: count.into_iter().collect(),
            });
        }
        out.push(DexEvent::LiquiditySent { block, awards: top });
        return Ok(out);
    }
    if count.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![DexEvent::LiquidityCounted {
        block,
        awards: count.into_iter().collect(),
    }])
}

#[cfg(test)]
mod tests;
