//! The module model: deterministic state machines in the decide/evolve style.
//!
//! `handle` decides (reads state, returns events or a rejection), `apply` evolves (writes
//! state). Keeping the two apart means a rejected op provably changes nothing, and replaying
//! events rebuilds state without re-deciding.

use crate::hive::{Auth, HiveOp};
use crate::pos::ChainPos;
use crate::spec::ChainSpec;
use crate::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use thiserror::Error;

/// A custom_json name (id without the prefix) a module owns, with the authority it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub name: &'static str,
    pub auth: Auth,
}

/// Why an op was refused. Recorded per op (the status the API serves); never a panic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Error)]
#[error("{code}: {reason}")]
pub struct Reject {
    pub code: RejectCode,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectCode {
    /// The `json` string is not valid JSON.
    MalformedJson,
    /// The payload parsed but is not a JSON object.
    NotAnObject,
    /// The `json` string exceeds the chain spec's limit.
    TooLarge,
    /// The op was signed with posting authority where active is required.
    WrongAuthority,
    /// The custom_json names no signing account.
    NoSigner,
    /// The id has the community prefix but no module owns the name.
    UnknownOperation,
    /// A field is missing, of the wrong type or out of range.
    InvalidField,
    /// A named account is not a valid Hive account name or is not allowed here.
    InvalidAccount,
    /// The account does not hold enough.
    InsufficientFunds,
    /// An amount would overflow the ledger's integer range.
    Overflow,
    /// The operation needs a registered node.
    NotANode,
    /// Nothing to do (e.g. nothing to claim).
    NothingToDo,
    /// A message from another module that the target does not accept.
    BadMessage,
}

impl RejectCode {
    /// Every code, in the order of the `op_status.avsc` enum (the codec and its tests
    /// iterate this list, so a new code cannot be missed by either).
    pub const ALL: [RejectCode; 13] = [
        RejectCode::MalformedJson,
        RejectCode::NotAnObject,
        RejectCode::TooLarge,
        RejectCode::WrongAuthority,
        RejectCode::NoSigner,
        RejectCode::UnknownOperation,
        RejectCode::InvalidField,
        RejectCode::InvalidAccount,
        RejectCode::InsufficientFunds,
        RejectCode::Overflow,
        RejectCode::NotANode,
        RejectCode::NothingToDo,
        RejectCode::BadMessage,
    ];

    /// The code's position in [`RejectCode::ALL`] and in the `op_status.avsc` enum.
    /// Exhaustive on purpose: a new variant does not compile until it has its place here,
    /// in `ALL` and in the schema (appending is a compatible schema change; reordering or
    /// removing is not).
    pub const fn index(self) -> usize {
        match self {
            RejectCode::MalformedJson => 0,
            RejectCode::NotAnObject => 1,
            RejectCode::TooLarge => 2,
            RejectCode::WrongAuthority => 3,
            RejectCode::NoSigner => 4,
            RejectCode::UnknownOperation => 5,
            RejectCode::InvalidField => 6,
            RejectCode::InvalidAccount => 7,
            RejectCode::InsufficientFunds => 8,
            RejectCode::Overflow => 9,
            RejectCode::NotANode => 10,
            RejectCode::NothingToDo => 11,
            RejectCode::BadMessage => 12,
        }
    }
}

#[cfg(test)]
mod reject_code_tests {
    use super::RejectCode;

    #[test]
    fn all_is_in_index_order_and_complete() {
        for (i, code) in RejectCode::ALL.iter().enumerate() {
            assert_eq!(code.index(), i, "{code} is out of place in RejectCode::ALL");
        }
        let names: std::collections::BTreeSet<String> = RejectCode::ALL.iter().map(|c| c.to_string()).collect();
        assert_eq!(names.len(), RejectCode::ALL.len(), "no code twice");
    }
}

impl std::fmt::Display for RejectCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            RejectCode::MalformedJson => "malformed_json",
            RejectCode::NotAnObject => "not_an_object",
            RejectCode::TooLarge => "too_large",
            RejectCode::WrongAuthority => "wrong_authority",
            RejectCode::NoSigner => "no_signer",
            RejectCode::UnknownOperation => "unknown_operation",
            RejectCode::InvalidField => "invalid_field",
            RejectCode::InvalidAccount => "invalid_account",
            RejectCode::InsufficientFunds => "insufficient_funds",
            RejectCode::Overflow => "overflow",
            RejectCode::NotANode => "not_a_node",
            RejectCode::NothingToDo => "nothing_to_do",
            RejectCode::BadMessage => "bad_message",
        };
        f.write_str(s)
    }
}

impl Reject {
    pub fn new(code: RejectCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
    pub fn field(reason: impl Into<String>) -> Self {
        Self::new(RejectCode::InvalidField, reason)
    }
}

/// A module-to-module message. Emitted while processing block N, delivered to `to` at the
/// start of block N+1, in (source module, emission order) order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub from: String,
    pub to: String,
    /// Position of the op (or block end) that emitted it.
    pub pos: ChainPos,
    /// Emission order within the source module's block.
    pub seq: u32,
    pub kind: String,
    /// Module-defined payload (canonical JSON text).
    pub payload: String,
}

/// A message a module wants sent; the engine stamps source, position and order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub to: String,
    pub kind: String,
    pub payload: String,
}

/// Context of one op.
#[derive(Debug, Clone, Copy)]
pub struct OpContext<'a> {
    pub pos: ChainPos,
    pub txid: &'a str,
    /// Block time, seconds since the Unix epoch. Exact for Hive ops; 0 for delivered module
    /// messages (the delivery block may be an empty one whose time no record carries).
    pub timestamp: u64,
    pub spec: &'a ChainSpec,
}

/// Context of a block's end-of-block (chron) work. Runs of empty blocks reach a processor
/// coalesced into one record whose boundaries depend on when the ingester fetched them, so
/// a block's id and time are not known at every block; they are at checkpoint blocks,
/// which the ingester always ends a record with (`header`). A module that builds Hive
/// transactions from chain data (the multi-sig account's TaPoS) does it there.
#[derive(Debug, Clone, Copy)]
pub struct BlockContext<'a> {
    pub block: u64,
    pub spec: &'a ChainSpec,
    /// The block's id and time at checkpoint blocks; `None` at every other block, even
    /// where a record would carry them (a module's processor alone sees fewer records than
    /// a co-located engine, so anything else would differ between deployments).
    pub header: Option<BlockHeader<'a>>,
}

/// A block's identity as the ingester verified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader<'a> {
    /// 40-hex block id.
    pub id: &'a str,
    /// Seconds since the Unix epoch.
    pub timestamp: u64,
}

/// What reaches `handle`: the engine has already checked the signer's authority against
/// the route and decoded the payload, so every module sees only well-formed objects.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    CustomJson {
        name: &'a str,
        from: &'a str,
        auth: Auth,
        payload: &'a serde_json::Map<String, serde_json::Value>,
    },
    Hive(&'a HiveOp),
    Message(&'a Message),
}

/// A module's own invariant is broken (never caused by input); the processor stops.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("module {module} invariant broken: {what}")]
pub struct InvariantError {
    pub module: String,
    pub what: String,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("genesis of module {module} is invalid: {why}")]
pub struct GenesisError {
    pub module: String,
    pub why: String,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("cannot decode {module} event: {why}")]
pub struct EventDecodeError {
    pub module: String,
    pub why: String,
}

/// A module's state-change events: what the store persists and replay re-applies. The
/// encoding is the module's own Avro schema (single-object), so any Avro reader can decode
/// the events table without opentoken's code.
pub trait ModuleEvent: Clone + Debug + Send + Sync + Sized {
    /// Why an event could not be encoded or decoded.
    type CodecError: std::fmt::Display;
    /// Stable event type name, e.g. `Transferred`.
    fn kind(&self) -> &'static str;
    fn encode(&self) -> Result<Vec<u8>, Self::CodecError>;
    fn decode(bytes: &[u8]) -> Result<Self, Self::CodecError>;
}

/// A deterministic state machine. Eight methods are required (who it is, the custom_json
/// names it owns, genesis, decide, chron work and when it is next due, evolve, the event
/// line); the Hive-op filter, the event codec and the message hooks have defaults.
pub trait Module: Send + Sync {
    type Event: ModuleEvent;

    fn name(&self) -> &'static str;
    /// custom_json names (without prefix) this module owns.
    fn routes(&self) -> &[Route];
    /// Non-custom_json Hive ops this module wants (e.g. transfers to the multi-sig account).
    /// Default: none (custom_json routes only).
    fn accepts_hive_op(&self, _op: &HiveOp, _spec: &ChainSpec) -> bool {
        false
    }
    /// Whether a routed Hive op concerns this module's *state*. The router decides from the
    /// op alone, and some ops concern a module only when its state says so: a Hive vote
    /// counts only on a post the module registered, and mainnet carries hundreds of votes a
    /// block. An op that does not concern the module is dropped like one the router never
    /// sent (no status, no events), so the status store holds what was addressed to the
    /// community. Default: every routed op concerns the module.
    fn concerns_hive_op(&self, _ctx: &OpContext<'_>, _op: &HiveOp, _state: &dyn StateRead) -> bool {
        true
    }
    /// Events that initialise an empty state from the chain spec.
    fn genesis(&self, spec: &ChainSpec) -> Result<Vec<Self::Event>, GenesisError>;
    /// Decide.
    fn handle(&self, ctx: &OpContext<'_>, input: Input<'_>, state: &dyn StateRead) -> Result<Vec<Self::Event>, Reject>;
    /// Chron work due at `ctx.block`, after the block's ops.
    fn on_block(&self, ctx: &BlockContext<'_>, state: &dyn StateRead) -> Result<Vec<Self::Event>, InvariantError>;
    /// A lower bound on the next block > `after` at which `on_block` has work; `None` if
    /// nothing is scheduled. Lets the engine skip idle ranges.
    fn next_due_block(&self, state: &dyn StateRead, after: u64) -> Option<u64>;
    /// Evolve. Must be total: an event that `handle` produced always applies.
    fn apply(&self, event: &Self::Event, state: &mut dyn StateWrite) -> Result<(), InvariantError>;
    /// Messages to other modules implied by an event (none for most).
    fn messages(&self, _event: &Self::Event) -> Vec<Outgoing> {
        Vec::new()
    }
    /// The modules this one may send messages to. Processors in other processes learn from
    /// it whom to wait for (DESIGN.md: a module starts block N+1 only when every module that
    /// can send to it has committed block N).
    fn sends_to(&self) -> &[&'static str] {
        &[]
    }
    /// Whether handling a message can make this module send one, directly or through chron
    /// work the message schedules. `false` lets its processor
    /// promise quiet ranges from its own ops and chron work alone, so that two modules that
    /// message each other do not advance in lock step; the engine checks the promise and
    /// stops on a module that breaks it.
    fn sends_on_messages(&self) -> bool {
        true
    }
    /// Stable event type name, e.g. `Transferred`.
    fn event_kind(&self, event: &Self::Event) -> &'static str {
        event.kind()
    }
    /// Avro single-object encoding of the event. An error is a bug (the event does not fit
    /// the module's own schema) and stops the processor.
    fn encode_event(&self, event: &Self::Event) -> Result<Vec<u8>, InvariantError> {
        event.encode().map_err(|e| InvariantError {
            module: self.name().to_string(),
            what: format!("encoding {}: {e}", event.kind()),
        })
    }
    fn decode_event(&self, bytes: &[u8]) -> Result<Self::Event, EventDecodeError> {
        Self::Event::decode(bytes).map_err(|e| EventDecodeError {
            module: self.name().to_string(),
            why: e.to_string(),
        })
    }
    /// One human-readable line, like the reference node's feed.
    fn describe(&self, event: &Self::Event) -> String;
}
