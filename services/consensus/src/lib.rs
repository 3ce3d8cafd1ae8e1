//! The node's part in the consensus network, around the deterministic pipeline:
//!
//! - it registers the node (`<prefix>node_add` with its ed25519 report key and a proof of
//!   possession) when the chain does not know it or knows it with other data;
//! - it broadcasts every report the checkpointer makes as a signed `<prefix>report`
//!   custom_json, and confirms it by finding the transaction in a block (re-broadcasting an
//!   expired one while the report window is open);
//! - it compares the checkpoints the nodes module finalised with the node's own, says so on
//!   `/readyz` and `/consensus` when they differ, and hands the processor a snapshot of the
//!   final checkpoint, fetched from a peer or its own store and verified against the final
//!   hash, to resume from.
//!
//! Nothing here changes consensus state: that only happens when the broadcast operations
//! come back through the ingester like anyone else's.
//!
//! The decisions live in [`decide::AgentState`], a state machine without I/O that the
//! [`Agent`] shell feeds with what it reads and obeys; the rest are the shell's rooms.
//! [`ms_duty::MsDuty`] decides the same way what the node does for the community multi-sig
//! account (sign the open transaction, broadcast the assembled one); the agent runs it
//! when given the node's multi-sig key on a chain with the multisig module.
//! [`reconcile::Reconciler`] judges, again without I/O, whether that account really holds
//! on Hive what the module's books say; every agent with a store runs it on such a chain.

pub mod agent;
pub mod broadcast;
pub mod decide;
pub mod error;
mod fetch;
pub mod ms_duty;
pub mod nodes_source;
pub mod offsets;
pub mod peer_fetch;
pub mod peer_order;
mod peer_target;
pub mod reconcile;
pub mod recovery;
pub mod snapshot;
pub mod status;

pub use agent::{Agent, AgentConfig, AgentParts};
pub use broadcast::{BroadcastError, Broadcaster, Sent};
pub use decide::AgentState;
pub use error::AgentError;
pub use ms_duty::{MsAction, MsDuty, MsDutyConfig, MsView};
pub use nodes_source::{NodesKv, NodesSource, NodesView};
pub use opentoken_store::SnapshotDoc;
pub use peer_fetch::{PeerFetch, PeerFetchPolicy, PeerFetcher, PeerSkip};
pub use peer_order::{peer_order, Peer};
pub use reconcile::{ReconcileConfig, Reconciler};
pub use recovery::{Recovery, RecoverySlot};
pub use snapshot::{verify_snapshot, SnapshotError};
