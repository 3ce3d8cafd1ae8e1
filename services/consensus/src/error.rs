//! What can go wrong in one tick of the agent. The agent retries every error (a Hive node
//! or peer being down must not stop the node); [`Transient`] says which ones can clear up
//! by themselves.

use crate::broadcast::BroadcastError;
use opentoken_hive::HiveError;
use opentoken_lifecycle::Transient;
use opentoken_log::LogError;
use opentoken_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AgentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Broadcast(#[from] BroadcastError),
    #[error(transparent)]
    Hive(#[from] HiveError),
    #[error(transparent)]
    Config(#[from] opentoken_core::module::GenesisError),
    #[error("record of {topic} cannot be decoded: {detail}")]
    Decode { topic: String, detail: String },
    #[error(
        "reading the nodes module's state from {url}: {detail}; is `opentoken serve` running there (--state-api)?"
    )]
    StateApi { url: String, detail: String },
    #[error(transparent)]
    NodesState(#[from] opentoken_nodes::views::ViewError),
}

/// Every Hive API node failing a call is the one transient Hive error: a missing node list,
/// an unbuildable client or a JSON-RPC rejection come back the same on retry.
fn hive_transient(e: &HiveError) -> bool {
    matches!(e, HiveError::Exhausted { .. })
}

impl Transient for BroadcastError {
    fn is_transient(&self) -> bool {
        match self {
            BroadcastError::Hive(e) => hive_transient(e),
            BroadcastError::Head(_) | BroadcastError::Tx(_) => false,
        }
    }
}

impl Transient for AgentError {
    fn is_transient(&self) -> bool {
        match self {
            AgentError::Store(e) => e.is_transient(),
            AgentError::Log(e) => e.is_transient(),
            AgentError::Broadcast(e) => e.is_transient(),
            AgentError::Hive(e) => hive_transient(e),
            // `opentoken serve` not (yet) answering.
            AgentError::StateApi { .. } => true,
            // A store read failing may clear up; a malformed value will not.
            AgentError::NodesState(e) => matches!(e, opentoken_nodes::views::ViewError::Read(_)),
            AgentError::Config(_) | AgentError::Decode { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_services_are_transient_and_bad_data_is_not() {
        let exhausted = HiveError::Exhausted {
            method: "m".into(),
            attempts: 3,
            node: "n".into(),
            last: "timeout".into(),
            heavy: true,
        };
        assert!(AgentError::Hive(exhausted).is_transient());
        assert!(AgentError::Log(LogError::Unavailable("broker down".into())).is_transient());
        assert!(AgentError::StateApi {
            url: "u".into(),
            detail: "refused".into()
        }
        .is_transient());
        assert!(!AgentError::Hive(HiveError::NoNodes).is_transient());
        assert!(!AgentError::Decode {
            topic: "t".into(),
            detail: "garbage".into()
        }
        .is_transient());
        assert!(!AgentError::Store(StoreError::Conflict { detail: "d".into() }).is_transient());
        assert!(!AgentError::Broadcast(BroadcastError::Head("time".into())).is_transient());
    }
}
