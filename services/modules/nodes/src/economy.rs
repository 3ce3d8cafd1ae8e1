//! The token economy's wins: on a chain whose token module runs the economy
//! (`modules.token.economy`), each final tally tells it which runners agreed (a win each;
//! the DAO day pays the node pool by wins) and the runner set's node rate.
//!
//! The node rate is the reference's `stats.nodeRate` (dao.js): the plain, floored average
//! of the runners' `bidRate` (basis points of each day's inflation for node operators),
//! counting runners with an active node record; with none, the `node_add` default 500.
//! Unlike the DEX parameters it is not stake-weighted: the reference averages per runner.

use crate::events::TallyClose;
use crate::keys::Corrupt;
use crate::state::Read;
use crate::{NodesEvent, NodesModule};
use opentoken_core::StateRead;

/// `node_add`'s default `bidRate`, the rate of a runner set without records.
const DEFAULT_NODE_RATE: u64 = 500;

impl NodesModule {
    /// The `WinsSent` event of a tally close: only final tallies with runners that agreed,
    /// and only on chains with the economy.
    pub(crate) fn wins_update<S: StateRead + ?Sized>(
        &self,
        read: &Read<'_, S>,
        close: &TallyClose,
    ) -> Result<Option<NodesEvent>, Corrupt> {
        if !self.economy || close.final_hash.is_none() || close.runners_after.is_empty() {
            return Ok(None);
        }
        let mut rates = Vec::new();
        for r in &close.runners {
            if let Some(node) = read.node(r)?.filter(|n| n.active) {
                rates.push(node.bid_rate);
            }
        }
        let node_rate = match u64::try_from(rates.len()) {
            Ok(n) if n > 0 => rates.iter().sum::<u64>() / n,
            _ => DEFAULT_NODE_RATE,
        };
        Ok(Some(NodesEvent::WinsSent {
            accounts: close.runners_after.clone(),
            node_rate,
        }))
    }
}
