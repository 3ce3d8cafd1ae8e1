//! Fetching a verified snapshot of a final checkpoint: from a peer's API, or else from this
//! node's own store. Nothing is handed on that does not hash to the final consensus hash
//! ([`verify_snapshot`]).

use crate::decide::RecoveryTarget;
use crate::error::AgentError;
use crate::offsets::first_offset_after;
use crate::snapshot::verify_snapshot;
use opentoken_core::{ChainSpec, ModuleState};
use opentoken_log::Log;
use opentoken_store::{Restore, SnapshotDoc, Store};
use std::sync::Arc;

/// What fetching and verifying a snapshot needs.
pub(crate) struct SnapshotFetcher {
    pub spec: Arc<ChainSpec>,
    /// The modules whose checkpoints make up the consensus hash.
    pub modules: Vec<String>,
    /// This node's account (it is not its own peer).
    pub account: String,
    /// Where the restored modules resume reading.
    pub log: Arc<dyn Log>,
    pub http: reqwest::Client,
}

impl SnapshotFetcher {
    /// A verified snapshot of the final checkpoint `target`: from a peer's API, or else
    /// `store`'s own snapshot of the newest final checkpoint it agrees with. `None` when
    /// there is none yet (the agent retries on its next tick).
    pub(crate) async fn fetch_verified(
        &self,
        state: &ModuleState,
        store: Option<&Arc<dyn Store>>,
        target: RecoveryTarget,
    ) -> Result<Option<Restore>, AgentError> {
        let block = target.block;
        let peers: Vec<(String, String)> = opentoken_nodes::views::nodes(state)
            .into_iter()
            .filter(|(a, n)| n.active && *a != self.account && !n.domain.is_empty())
            .map(|(a, n)| (a, n.domain))
            .collect();
        for (peer, domain) in peers {
            let url = format!("{}/v1/snapshots/{block}", domain.trim_end_matches('/'));
            let doc: SnapshotDoc = match self.http.get(&url).send().await.and_then(|r| r.error_for_status()) {
                Ok(resp) => match resp.json().await {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(%peer, %url, error = %e, "peer snapshot unreadable");
                        continue;
                    }
                },
                Err(e) => {
                    tracing::warn!(%peer, %url, error = %e, "peer snapshot not available");
                    continue;
                }
            };
            match verify_snapshot(&self.spec, &self.modules, &doc, block, &target.final_hash) {
                Ok(r) => {
                    tracing::info!(%peer, block, "snapshot fetched from a peer and verified against the final hash");
                    return Ok(Some(tokio::task::block_in_place(|| self.with_offsets(r))?));
                }
                Err(e) => tracing::warn!(%peer, block, error = %e, "peer snapshot refused"),
            }
        }
        let Some(store) = store else {
            tracing::error!(block, "no verified snapshot available from peers; will retry");
            return Ok(None);
        };
        if let Some(r) = tokio::task::block_in_place(|| self.own_verified(store.as_ref(), state))? {
            return Ok(Some(r));
        }
        tracing::error!(
            block,
            "no verified snapshot available from peers or the store; will retry"
        );
        Ok(None)
    }

    /// This node's own snapshot of the newest final checkpoint it can verify.
    fn own_verified(&self, store: &dyn Store, state: &ModuleState) -> Result<Option<Restore>, AgentError> {
        for b in store.snapshot_blocks()?.into_iter().rev() {
            let Some(fh) = opentoken_nodes::views::final_hash(state, b) else {
                continue;
            };
            let Some(doc) = SnapshotDoc::from_store(store, &self.spec.name, &self.modules, b)? else {
                continue;
            };
            match verify_snapshot(&self.spec, &self.modules, &doc, b, &fh) {
                Ok(r) => {
                    tracing::info!(block = b, "restoring this node's own snapshot of a final checkpoint");
                    return Ok(Some(self.with_offsets(r)?));
                }
                Err(e) => tracing::warn!(block = b, error = %e, "own snapshot does not match the final hash"),
            }
        }
        Ok(None)
    }

    /// Fills in where each restored module resumes reading its operations topic.
    fn with_offsets(&self, mut r: Restore) -> Result<Restore, AgentError> {
        for m in &mut r.modules {
            m.next_offset = first_offset_after(self.log.as_ref(), &self.spec.ops_topic(&m.module), r.block)?;
        }
        Ok(r)
    }
}
