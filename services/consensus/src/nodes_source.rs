//! Reading the nodes module's committed state, from the store or from the node's API.
//!
//! Each tick the agent needs three things: its own node record, the newest final
//! checkpoints and the block the module has processed. They are read as keys (a handful
//! of store reads), never by loading the whole state and recomputing its commitment,
//! which the agent has no use for. The rest (every node, for the order peers are asked in
//! when recovering) is read from the same [`NodesKv`] only when needed.

use crate::error::AgentError;
use opentoken_core::state::KvPairs;
use opentoken_core::KvSource;
use opentoken_nodes::{views, NodeRecord};
use opentoken_store::{ModuleKv, Store};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// How many final checkpoints the agent compares against. The nodes module keeps only
/// its newest `keep_finals` (16 by default), so this reads all it has.
pub const FINALS_READ: usize = 64;

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

/// What one tick reads of the nodes module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodesView {
    /// The chain's record of this node.
    pub own: Option<NodeRecord>,
    /// The newest final checkpoints, newest first.
    pub finals: Vec<(u64, [u8; 32])>,
    /// The block the nodes module has processed.
    pub processed: u64,
}

/// The nodes module's state as keys: read lazily from the store, or the pairs the API
/// served (small: node records, stake mirror, runner set, open tally, the newest finals).
pub enum NodesKv {
    Store(Arc<dyn Store>),
    Pairs(BTreeMap<Vec<u8>, Vec<u8>>),
}

impl std::fmt::Debug for NodesKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodesKv::Store(_) => f.write_str("NodesKv::Store"),
            NodesKv::Pairs(p) => write!(f, "NodesKv::Pairs({} keys)", p.len()),
        }
    }
}

impl KvSource for NodesKv {
    fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        match self {
            NodesKv::Store(store) => kv(store).kv_get(key),
            NodesKv::Pairs(pairs) => Ok(pairs.get(key).cloned()),
        }
    }

    fn kv_scan(&self, prefix: &[u8], limit: usize) -> Result<KvPairs, String> {
        match self {
            NodesKv::Store(store) => kv(store).kv_scan(prefix, limit),
            NodesKv::Pairs(pairs) => Ok(pairs
                .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
                .take_while(|(k, _)| k.starts_with(prefix))
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()),
        }
    }
}

fn kv(store: &Arc<dyn Store>) -> ModuleKv<'_> {
    ModuleKv {
        store: store.as_ref(),
        module: opentoken_nodes::NAME,
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

    /// What the agent of `account` needs this tick, and the state to read more from.
    pub async fn read(&self, http: &reqwest::Client, account: &str) -> Result<(NodesView, NodesKv), AgentError> {
        match self {
            // Store reads block (redb, ScyllaDB): off the async workers.
            NodesSource::Store(store) => tokio::task::block_in_place(|| {
                let processed = store.progress(opentoken_nodes::NAME)?.map(|p| p.block).unwrap_or(0);
                let state = NodesKv::Store(store.clone());
                Ok((view(&state, account, processed)?, state))
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
                let state = NodesKv::Pairs(pairs);
                Ok((view(&state, account, doc.processed_block.unwrap_or(0))?, state))
            }
        }
    }
}

fn view(state: &NodesKv, account: &str, processed: u64) -> Result<NodesView, AgentError> {
    Ok(NodesView {
        own: views::try_node(state, account)?,
        finals: views::try_finals(state, FINALS_READ)?,
        processed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_nodes::keys;

    #[test]
    fn pairs_scan_by_prefix_in_order_within_the_limit() {
        let mut pairs = BTreeMap::new();
        for k in ["final/2", "final/1", "finals", "node/a", "fina"] {
            pairs.insert(k.as_bytes().to_vec(), vec![1]);
        }
        let state = NodesKv::Pairs(pairs);
        let keys_of = |prefix: &str, limit| -> Vec<String> {
            state
                .kv_scan(prefix.as_bytes(), limit)
                .unwrap()
                .into_iter()
                .map(|(k, _)| String::from_utf8(k).unwrap())
                .collect()
        };
        assert_eq!(keys_of("final/", 10), vec!["final/1", "final/2"]);
        assert_eq!(keys_of("final", 2), vec!["final/1", "final/2"]);
        assert_eq!(keys_of("zzz", 10), Vec::<String>::new());
        assert_eq!(state.kv_get(b"node/a").unwrap(), Some(vec![1]));
        assert_eq!(state.kv_get(b"node/b").unwrap(), None);
    }

    #[test]
    fn a_malformed_record_is_an_error_not_an_unregistered_node() {
        let mut pairs = BTreeMap::new();
        pairs.insert(keys::node("alice"), b"{not json".to_vec());
        let err = view(&NodesKv::Pairs(pairs), "alice", 0).unwrap_err();
        assert!(err.to_string().contains("node/alice"), "{err}");
        let empty = view(&NodesKv::Pairs(BTreeMap::new()), "alice", 7).unwrap();
        assert_eq!(
            empty,
            NodesView {
                own: None,
                finals: vec![],
                processed: 7
            }
        );
    }
}
