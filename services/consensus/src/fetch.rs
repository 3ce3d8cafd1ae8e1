//! Fetching a verified snapshot of a final checkpoint: from a peer's API, or else from this
//! node's own store. Nothing is handed on that does not hash to the final consensus hash
//! ([`verify_snapshot`]).

use crate::decide::RecoveryTarget;
use crate::error::AgentError;
use crate::offsets::first_offset_after;
use crate::peer_fetch::PeerFetcher;
use crate::peer_order::peer_order;
use crate::snapshot::verify_snapshot;
use opentoken_core::KvSource;
use opentoken_log::Log;
use opentoken_store::{Restore, SnapshotDoc, Store};
use std::sync::Arc;

/// What fetching and verifying a snapshot needs.
pub(crate) struct SnapshotFetcher {
    /// Asks the peers, within its policy.
    pub peers: PeerFetcher,
    /// This node's account (it is not its own peer).
    pub account: String,
    /// Where the restored modules resume reading.
    pub log: Arc<dyn Log>,
}

impl SnapshotFetcher {
    /// A verified snapshot of the final checkpoint `target`: from a peer's API (runners by
    /// stake first, see [`peer_order`]; a peer that serves nothing usable is logged and
    /// skipped), or else `store`'s own snapshot of the newest final checkpoint it agrees
    /// with. `None` when there is none yet (the agent retries on its next tick).
    pub(crate) async fn fetch_verified(
        &self,
        state: &(dyn KvSource + Sync),
        store: Option<&Arc<dyn Store>>,
        target: RecoveryTarget,
    ) -> Result<Option<Restore>, AgentError> {
        let block = target.block;
        // The state may be the store's: its reads block.
        let peers = tokio::task::block_in_place(|| peer_order(state, &self.account));
        if let Some((peer, r)) = self.peers.fetch(&peers, target).await.restored {
            let peer = &peer.account;
            tracing::info!(%peer, block, "snapshot fetched from a peer and verified against the final hash");
            return Ok(Some(tokio::task::block_in_place(|| self.with_offsets(r))?));
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
    fn own_verified(&self, store: &dyn Store, state: &dyn KvSource) -> Result<Option<Restore>, AgentError> {
        for b in store.snapshot_blocks()?.into_iter().rev() {
            let Some(fh) = opentoken_nodes::views::try_final_hash(state, b)? else {
                continue;
            };
            let Some(doc) = SnapshotDoc::from_store(store, &self.peers.spec.name, &self.peers.modules, b)? else {
                continue;
            };
            match verify_snapshot(&self.peers.spec, &self.peers.modules, &doc, b, &fh) {
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
            m.next_offset = first_offset_after(self.log.as_ref(), &self.peers.spec.ops_topic(&m.module), r.block)?;
        }
        Ok(r)
    }
}
