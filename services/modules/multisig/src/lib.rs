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
//!
//! Building, signing and broadcasting the multi-sig transactions that pay the queue, and
//! rotating the account's authority, are not here yet; outflows carry a state
//! (`pending` / `in_tx(<checkpoint>)`) for them. The key layout is in [`keys`].

mod apply;
pub mod config;
mod describe;
pub mod events;
pub mod keys;
pub mod memo;
mod parse;
mod state;
mod transfer;
pub mod views;
mod withdraw;

pub use config::MultisigConfig;
pub use events::MultisigEvent;
pub use keys::{Coin, Outflow, OutflowReason, OutflowState};

use opentoken_core::module::{GenesisError, InvariantError};
use opentoken_core::{
    Auth, BlockContext, ChainSpec, HiveOp, Input, Module, OpContext, Reject, RejectCode, Route, StateRead, StateWrite,
};

/// The module's name: its state, its topic (`<community>.ops.multisig`), its messages.
pub const NAME: &str = "multisig";

/// The custom_json names it owns (without the community prefix); moving money needs active
/// authority, which the engine checks before `handle` runs.
const ROUTES: &[Route] = &[Route {
    name: "ms_withdraw",
    auth: Auth::Active,
}];

/// The module. Stateless itself: all it needs besides the state is its validated config.
#[derive(Debug)]
pub struct MultisigModule {
    cfg: MultisigConfig,
}

impl MultisigModule {
    pub fn new(cfg: MultisigConfig) -> Result<Self, GenesisError> {
        cfg.validate()?;
        Ok(Self { cfg })
    }

    pub fn from_spec(spec: &ChainSpec) -> Result<Self, GenesisError> {
        Ok(Self {
            cfg: MultisigConfig::from_spec(spec)?,
        })
    }

    pub fn config(&self) -> &MultisigConfig {
        &self.cfg
    }
}

impl Module for MultisigModule {
    type Event = MultisigEvent;

    fn name(&self) -> &'static str {
        NAME
    }

    fn routes(&self) -> &[Route] {
        ROUTES
    }

    /// Every `transfer` to or from the account: deposits, and the confirmations of
    /// outflows (and anything else that leaves the account by `transfer`).
    fn accepts_hive_op(&self, op: &HiveOp, _spec: &ChainSpec) -> bool {
        matches!(op, HiveOp::Transfer(t) if t.to == self.cfg.account || t.from == self.cfg.account)
    }

    /// The books start empty.
    fn genesis(&self, _: &ChainSpec) -> Result<Vec<MultisigEvent>, GenesisError> {
        Ok(vec![])
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
            Input::CustomJson { name, .. } => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("multisig has no operation `{name}`"),
            )),
            Input::Hive(HiveOp::Transfer(t)) => self.transfer(ctx, t, state),
            Input::Hive(other) => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("multisig does not handle Hive `{}`", other.name()),
            )),
            Input::Message(m) => Err(Reject::new(
                RejectCode::BadMessage,
                format!("multisig takes no messages yet ({} from {})", m.kind, m.from),
            )),
        }
    }

    /// No chron work yet (the transaction builder will run at checkpoints).
    fn on_block(&self, _: &BlockContext<'_>, _: &dyn StateRead) -> Result<Vec<MultisigEvent>, InvariantError> {
        Ok(vec![])
    }

    fn next_due_block(&self, _: &dyn StateRead, _: u64) -> Option<u64> {
        None
    }

    fn apply(&self, event: &MultisigEvent, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        apply::apply(&self.cfg, event, state)
    }

    /// Messages are refused, so handling one never sends.
    fn sends_on_messages(&self) -> bool {
        false
    }

    fn describe(&self, event: &MultisigEvent) -> String {
        describe::describe(event)
    }
}

#[cfg(test)]
mod tests;
