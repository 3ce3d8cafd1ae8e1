//! The guestbook: the smallest real module, and the one to copy when adding a module
//! (`docs/architecture.md`, "Adding a module"). It is opentoken's equivalent of the
//! reference node's `processor.on('customFunction', fn)`.
//!
//! One route: `<prefix>sign` with posting authority and `{"message": "..."}` stores the
//! signer's entry (replacing an earlier one). A message that is missing, not a string,
//! empty, longer than [`MAX_MESSAGE_CHARS`] or holding control characters is rejected with
//! a reason, and changes nothing.
//!
//! The layout is the one every module has: this file (routes and the `Module` impl), one
//! file per operation ([`sign`]: decide), [`events`] (the events, their `apply`, and their
//! Avro schema `schemas/guestbook_event.avsc`) and [`views`] (typed reads for queries).
//! It is not in `services/registry`, so no node runs it: it exists to be read, copied and
//! tested (`tests/guestbook.rs` runs it through the real engine).

pub mod events;
pub mod sign;
pub mod views;

pub use events::GuestbookEvent;
pub use sign::MAX_MESSAGE_CHARS;

use opentoken_core::module::{GenesisError, InvariantError};
use opentoken_core::{
    Auth, BlockContext, ChainSpec, Input, Module, OpContext, Reject, RejectCode, Route, StateRead, StateWrite,
};

/// The module's name: its state, its topic (`<community>.ops.guestbook`), its messages.
pub const NAME: &str = "guestbook";

/// The custom_json names it owns (without the community prefix) and the authority each
/// needs; the engine checks the authority before `handle` runs.
const ROUTES: &[Route] = &[Route {
    name: "sign",
    auth: Auth::Posting,
}];

/// The module. It holds no state itself (state lives in the engine's `ModuleState`), only
/// its configuration; the guestbook has none.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuestbookModule;

impl Module for GuestbookModule {
    type Event = GuestbookEvent;

    fn name(&self) -> &'static str {
        NAME
    }

    fn routes(&self) -> &[Route] {
        ROUTES
    }

    /// An empty guestbook (a module with genesis state reads `spec.module_config(NAME)`).
    fn genesis(&self, _: &ChainSpec) -> Result<Vec<GuestbookEvent>, GenesisError> {
        Ok(vec![])
    }

    /// Decide: validate and return events, or a rejection; never write state here.
    fn handle(&self, _: &OpContext<'_>, input: Input<'_>, _: &dyn StateRead) -> Result<Vec<GuestbookEvent>, Reject> {
        match input {
            Input::CustomJson {
                name: "sign",
                from,
                payload,
                ..
            } => sign::decide(from, payload),
            Input::CustomJson { name, .. } => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("the guestbook has no `{name}`"),
            )),
            Input::Hive(op) => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("the guestbook takes no {}", op.name()),
            )),
            Input::Message(m) => Err(Reject::new(
                RejectCode::BadMessage,
                format!("the guestbook takes no messages ({} from {})", m.kind, m.from),
            )),
        }
    }

    /// No chron work.
    fn on_block(&self, _: &BlockContext<'_>, _: &dyn StateRead) -> Result<Vec<GuestbookEvent>, InvariantError> {
        Ok(vec![])
    }

    /// Nothing is ever scheduled, so the engine skips idle blocks at no cost.
    fn next_due_block(&self, _: &dyn StateRead, _: u64) -> Option<u64> {
        None
    }

    /// Evolve: total over what `handle` decided.
    fn apply(&self, event: &GuestbookEvent, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        event.apply(state);
        Ok(())
    }

    fn describe(&self, event: &GuestbookEvent) -> String {
        match event {
            GuestbookEvent::Signed { account, message } => format!("@{account} signed the guestbook: {message}"),
        }
    }
}
