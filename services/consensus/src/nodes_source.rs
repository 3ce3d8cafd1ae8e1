//! Reading the nodes module's committed state, from the store or from the node's API.

use crate::error::AgentError;
use opentoken_core::ModuleState;
use opentoken_store::Store;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where the agent reads the nodes module's committed state.
pub enum NodesSource {
    /// The store the nodes module commits to (`opentoken run`).
    Store(Arc<dyn Store>),
    /// The node's own API (`opentoken serve`, `GET /v1/state/nodes`): the distributed
    /// checkpointer has no store of its own.
    Api(String),
}

/// The API's URL; the store is a trait object and shows as a name.
impl std::fmt::Debug for NodesSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodesSource::Store(_) => f.write_str("NodesSource::Store"),
            NodesSource::Api(url) => f.debug_tuple("NodesSource::Api").field(url).finish(),
        }
    }
}

impl NodesSource {
    /// The store, where there is one (it also holds this node's own snapshots).
    pub fn store(&self) -> Option<&Arc<dyn Store>> {
        match self {
            NodesSource::Store(s) => Some(s),
            NodesSource::Api(_) => None,
        }
    }

    /// The nodes module's state and the block it has processed.
    pub async fn read(&self, http: &reqwest::Client) -> Result<(ModuleState, u64), AgentError> {
        match self {
            // Store reads block (redb, ScyllaDB): off the async workers.
            NodesSource::Store(store) => tokio::task::block_in_place(|| {
                let processed = store.progress("nodes")?.map(|p| p.block).unwrap_or(0);
                Ok((ModuleState::from_pairs(store.load_module("nodes")?.pairs), processed))
            }),
            NodesSource::Api(base) => {
                let url = format!("{}/v1/state/nodes", base.trim_end_matches('/'));
                let fail = |detail: String| AgentError::StateApi {
                    url: url.clone(),
                    detail,
                };
                let doc: opentoken_store::ModuleStateDoc = http
                    .get(&url)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .map_err(|e| fail(e.to_string()))?
                    .json()
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                let mut pairs = BTreeMap::new();
                for (k, v) in doc.pairs {
                    let k = hex::decode(&k).map_err(|e| fail(format!("key {k:?}: {e}")))?;
                    let v = hex::decode(&v).map_err(|e| fail(format!("value: {e}")))?;
                    pairs.insert(k, v);
                }
                Ok((ModuleState::from_pairs(pairs), doc.processed_block.unwrap_or(0)))
            }
        }
    }
}
