//! The autonomous multi-sig module: the community's multi-signature Hive account (the chain
//! spec's `msaccount`, e.g. `dlux-cc`) holds HIVE and HBD for its users, and every node
//! keeps the same books of it.
//!
//! - A Hive `transfer` **to** the account is a deposit: it credits the sender's Layer-2
//!   balance, or is refunded through the outflow queue when it cannot be accepted
//!   (`src/transfer.rs` says which, and why nothing that arrived is ever kept).
//! - `<prefix>ms_withdraw` (active authority) debits a balance and queues an outflow.
//! - The **outflow queue** holds the transfers the account owes (`out/<seq>`); each memo
//!   ends with the outflow's id `ot:<seq>`. A Hive `transfer` **from** the account that
//!   matches an unpaid outflow exactly (id, recipient, amount, coin, memo) pays it; any
//!   other is recorded as an anomaly and pays nothing.
//! - The books: per coin, `held` (deposits in − confirmed outflows out) always equals the
//!   users' balances plus the unpaid outflows; `apply` checks it after every event.
//! - The **signers** (the holders of the account's active authority) come from the nodes
//!   module as a `signers` message (`src/signers.rs`); a transaction needs more than two
//!   thirds of them.
//! - At **checkpoint blocks** every node builds the same Hive transaction paying the oldest
//!   pending outflows, from the block's id and time (`src/build.rs`); one is open at a
//!   time. It is settled when all its outflows are paid, or expires and its outflows go
//!   back to pending when Hive can no longer include it.
//! - `<prefix>ms_sign` (active authority) carries a signer's signature of the open
//!   transaction; only verified ones are kept (`src/sign.rs`), and
//!   [`views::assemble`] turns the view of the transaction into the signed transaction a
//!   node broadcasts, the same bytes on every node.
//!
//! - When the runner set changes, the account's active authority is **rotated** to the new
//!   runners' keys by a transaction the current signers sign (`src/rotate.rs`); outflows
//!   wait for it.
//! - On a chain that runs the **DEX** (`modules.dex`), the account also holds the coin of
//!   buy orders in the DEX's escrow: a deposit whose memo is an order, or `<prefix>dex_buy`
//!   (active authority) from a Layer-2 balance, is escrowed and sent to the DEX as an
//!   `order` message; the DEX's `pay` messages release it to a balance or to Hive
//!   (`src/dex.rs`). The books then read `held = balances + unpaid outflows + escrow`.
//!
//! The node's agent signs and broadcasts (`opentoken-consensus`'s `MsDuty`). The key layout
//! is in [`keys`].

mod apply;
mod build;
pub mod config;
mod describe;
mod dex;
pub mod events;
pub mod keys;
pub mod memo;
mod nft;
mod parse;
mod rotate;
pub mod safety;
mod sign;
mod signers;
mod state;
mod transfer;
pub mod views;
mod withdraw;

pub use config::MultisigConfig;
pub use events::MultisigEvent;
pub use keys::{Coin, OpenTx, Outflow, OutflowReason, OutflowState, Signer, Signers};

use opentoken_core::module::{GenesisError, InvariantError};
use opentoken_core::{
    Auth, BlockContext, ChainSpec, HiveOp, Input, Module, OpContext, Outgoing, Reject, RejectCode, Route, StateRead,
    StateWrite,
};
use opentoken_dex::DexConfig;

/// The module's name: its state, its topic (`<community>.ops.multisig`), its messages.
pub const NAME: &str = "multisig";

/// The custom_json names it owns (without the community prefix); moving money and signing
/// for the account need active authority, which the engine checks before `handle` runs.
/// `dex_buy` (last) moves Layer-2 coin into the DEX's escrow: only a chain that runs the
/// DEX owns it ([`ROUTES`] is the rest).
const ROUTES_WITH_DEX: &[Route] = &[
    Route {
        name: "ms_withdraw",
        auth: Auth::Active,
    },
    Route {
        name: "ms_sign",
        auth: Auth::Active,
    },
    Route {
        name: "dex_buy",
        auth: Auth::Active,
    },
];

/// The routes of a chain without a DEX.
const ROUTES: &[Route] = ROUTES_WITH_DEX.split_at(ROUTES_WITH_DEX.len() - 1).0;

/// Whom it sends messages to: the modules it escrows coin for (the DEX's orders, the NFT
/// module's payments) on chains that run them.
const TO_DEX: &[&str] = &[dex::DEX];
const TO_NFT: &[&str] = &[nft::NFT];
const TO_BOTH: &[&str] = &[dex::DEX, nft::NFT];
const TO_NOBODY: &[&str] = &[];

/// The module. Stateless itself: all it needs besides the state is its validated config and
/// when checkpoints are (the blocks its chron work runs at).
#[derive(Debug)]
pub struct MultisigModule {
    cfg: MultisigConfig,
    checkpoint_interval: u64,
    /// Base units per whole token (`10^precision`), for the safety limit.
    token_scale: u64,
    /// The chain's DEX parameters, when it runs one: its orders are escrowed here.
    dex: Option<DexConfig>,
    /// The token's symbol: the DEX's order ids and payment memos start with it.
    token: String,
    /// Whether the chain runs the NFT module: its HIVE/HBD payments are escrowed here.
    nft: bool,
}

impl MultisigModule {
    pub fn new(cfg: MultisigConfig, spec: &ChainSpec) -> Result<Self, GenesisError> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            checkpoint_interval: spec.checkpoint_interval,
            token_scale: 10u64.pow(u32::from(spec.precision)),
            dex: DexConfig::from_spec(spec)?,
            token: spec.token.clone(),
            nft: spec.module_config(nft::NFT).is_some(),
        })
    }

    pub fn from_spec(spec: &ChainSpec) -> Result<Self, GenesisError> {
        Self::new(MultisigConfig::from_spec(spec)?, spec)
    }

    pub fn config(&self) -> &MultisigConfig {
        &self.cfg
    }

    /// Base units per whole token.
    pub fn token_scale(&self) -> u64 {
        self.token_scale
    }

    /// The chain's DEX parameters; `None` on a chain without a DEX.
    pub fn dex_config(&self) -> Option<&DexConfig> {
        self.dex.as_ref()
    }
}

impl Module for MultisigModule {
    type Event = MultisigEvent;

    fn name(&self) -> &'static str {
        NAME
    }

    fn routes(&self) -> &[Route] {
        if self.dex.is_some() {
            ROUTES_WITH_DEX
        } else {
            ROUTES
        }
    }

    /// Every `transfer` to or from the account: deposits, and the confirmations of
    /// outflows (and anything else that leaves the account by `transfer`); and every
    /// `account_update(2)` of the account, to follow its authority.
    fn accepts_hive_op(&self, op: &HiveOp, _spec: &ChainSpec) -> bool {
        match op {
            HiveOp::Transfer(t) => t.to == self.cfg.account || t.from == self.cfg.account,
            HiveOp::Other { name, body } => rotate::updates_account(name, body, &self.cfg.account),
            _ => false,
        }
    }

    /// The books start empty, or with what an imported community's account owes: resting
    /// DEX bids (escrowed as a deposit whose memo was the order would be, and sent to the
    /// DEX) and queued outflows (credited to their recipient and withdrawn to them, so
    /// that every outflow has its usual history).
    fn genesis(&self, spec: &ChainSpec) -> Result<Vec<MultisigEvent>, GenesisError> {
        let g = &self.cfg.genesis;
        if !g.dex_orders.is_empty() && self.dex.is_none() {
            return Err(GenesisError {
                module: NAME.into(),
                why: "genesis.dex_orders needs a DEX (modules.dex)".into(),
            });
        }
        let mut out = Vec::with_capacity(g.dex_orders.len() + 2 * g.outflows.len());
        for order in &g.dex_orders {
            let payload = serde_json::to_string(order).map_err(|e| GenesisError {
                module: NAME.into(),
                why: format!("genesis.dex_orders: order {} does not encode: {e}", order.id),
            })?;
            out.push(MultisigEvent::Escrowed {
                module: dex::DEX.into(),
                account: order.from.clone(),
                asset: dex::coin_of(order.pair),
                amount: order.amount,
                order: payload,
                from_l2: false,
            });
        }
        let before = spec.starting_block.saturating_sub(1);
        for (seq, o) in (0u64..).zip(&g.outflows) {
            out.push(MultisigEvent::Deposited {
                account: o.to.clone(),
                asset: o.asset,
                amount: o.amount,
            });
            out.push(MultisigEvent::WithdrawalQueued {
                seq,
                account: o.to.clone(),
                to: o.to.clone(),
                asset: o.asset,
                amount: o.amount,
                memo: o.memo.clone(),
                block: before,
            });
        }
        Ok(out)
    }

    fn handle(
        &self,
        ctx: &OpContext<'_>,
        input: Input<'_>,
        state: &dyn StateRead,
    ) -> Result<Vec<MultisigEvent>, Reject> {
        match input {
            Input::CustomJson {
                name: "ms_withdraw",
                from,
                payload,
                ..
            } => self.withdraw(ctx, from, payload, state),
            Input::CustomJson {
                name: "ms_sign",
                from,
                payload,
                ..
            } => self.sign(from, payload, state),
            Input::CustomJson {
                name: "dex_buy",
                from,
                payload,
                ..
            } => match &self.dex {
                Some(cfg) => self.dex_buy(cfg, ctx, from, payload, state),
                // Not a route here: the engine refuses it before `handle`.
                None => Err(Reject::new(
                    RejectCode::UnknownOperation,
                    "multisig has no operation `dex_buy`",
                )),
            },
            Input::CustomJson { name, .. } => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("multisig has no operation `{name}`"),
            )),
            Input::Hive(HiveOp::Transfer(t)) => self.transfer(ctx, t, state),
            Input::Hive(HiveOp::Other { name, body }) if rotate::updates_account(name, body, &self.cfg.account) => {
                self.authority_update(ctx, name, body, state)
            }
            Input::Hive(other) => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("multisig does not handle Hive `{}`", other.name()),
            )),
            Input::Message(m) if m.from == signers::FROM && m.kind == signers::KIND => self.set_signers(m, state),
            Input::Message(m) if m.from == signers::FROM && m.kind == safety::KIND => self.set_collateral(m, state),
            Input::Message(m) if self.dex.is_some() && m.from == dex::DEX && m.kind == dex::PAY => {
                self.module_pay(ctx, dex::DEX, m, state)
            }
            Input::Message(m) if self.nft && m.from == nft::NFT && m.kind == opentoken_nft::protocol::KIND_PAY => {
                self.module_pay(ctx, nft::NFT, m, state)
            }
            Input::Message(m) if self.dex.is_some() || self.nft => Err(Reject::new(
                RejectCode::BadMessage,
                format!(
                    "multisig takes no message {} from {} (only {} and {} from {}, {} from the modules it escrows for)",
                    m.kind,
                    m.from,
                    signers::KIND,
                    safety::KIND,
                    signers::FROM,
                    dex::PAY,
                ),
            )),
            Input::Message(m) => Err(Reject::new(
                RejectCode::BadMessage,
                format!(
                    "multisig takes no message {} from {} (only {} and {} from {})",
                    m.kind,
                    m.from,
                    signers::KIND,
                    safety::KIND,
                    signers::FROM
                ),
            )),
        }
    }

    /// At checkpoint blocks: settle or expire the open transaction, build the next one.
    fn on_block(&self, ctx: &BlockContext<'_>, state: &dyn StateRead) -> Result<Vec<MultisigEvent>, InvariantError> {
        self.chron(ctx, state)
    }

    fn next_due_block(&self, state: &dyn StateRead, after: u64) -> Option<u64> {
        self.next_due(state, after)
    }

    fn apply(&self, event: &MultisigEvent, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        apply::apply(&self.cfg, event, state)
    }

    /// An escrowed buy order goes to the DEX, an escrowed NFT payment to the NFT module,
    /// as escrowed.
    fn messages(&self, event: &MultisigEvent) -> Vec<Outgoing> {
        match event {
            MultisigEvent::Escrowed { module, order, .. } => vec![Outgoing {
                to: module.clone(),
                kind: if module == dex::DEX {
                    opentoken_dex::protocol::KIND_ORDER.into()
                } else {
                    opentoken_nft::protocol::KIND_COIN.into()
                },
                payload: order.clone(),
            }],
            _ => Vec::new(),
        }
    }

    /// The modules it escrows coin for, on a chain that runs them.
    fn sends_to(&self) -> &[&'static str] {
        match (self.dex.is_some(), self.nft) {
            (true, true) => TO_BOTH,
            (true, false) => TO_DEX,
            (false, true) => TO_NFT,
            (false, false) => TO_NOBODY,
        }
    }

    /// Only ops send (a deposit or `dex_buy` that escrows an order). The messages it takes
    /// change the signer list, the collateral or the DEX's escrow and send nothing, and the
    /// chron work they can lead to sends nothing either.
    fn sends_on_messages(&self) -> bool {
        false
    }

    fn describe(&self, event: &MultisigEvent) -> String {
        describe::describe(event)
    }
}

#[cfg(test)]
mod tests;
