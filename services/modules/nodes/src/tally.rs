//! The tally of a checkpoint: opened at each checkpoint block with the runner set's stake
//! frozen, closed after the report window with the decisions of [`TallyClose`]: who stays,
//! who is dropped, and at most one elected runner.
//!
//! A close reads the runner set (at most `max_runners`) and the counted votes of its
//! checkpoint (runners and staked candidates, one key each), and nothing else per node.

use crate::keys::hash_from_hex;
use crate::state::{broken, StateReader};
use crate::{NodesEvent, NodesModule, Stake, Tally, TallyClose};
use opentoken_core::module::InvariantError;
use std::collections::BTreeSet;

/// The median of stakes, rounded down (0 for none), in u128 so two stakes can be added.
pub(crate) fn median(mut stakes: Vec<u64>) -> u128 {
    stakes.sort_unstable();
    let n = stakes.len();
    match n {
        0 => 0,
        _ if n % 2 == 1 => u128::from(stakes[n / 2]),
        _ => (u128::from(stakes[n / 2 - 1]) + u128::from(stakes[n / 2])) / 2,
    }
}

impl NodesModule {
    /// What closing tally `t` decides (see the crate docs and `TallyClose`).
    pub(crate) fn close(&self, t: &Tally, read: &StateReader<'_>) -> Result<TallyClose, InvariantError> {
        let current = read.runners()?;
        let Some(final_hex) = &t.final_hash else {
            // No finality: nobody can be judged, only deleted nodes leave.
            let mut runners = Vec::new();
            let mut dropped = Vec::new();
            for r in current {
                let deleted = read.node(&r)?.is_some_and(|n| !n.active);
                if deleted {
                    dropped.push(r);
                } else {
                    runners.push(r);
                }
            }
            return Ok(TallyClose {
                block: t.block,
                final_hash: None,
                runners_after: Vec::new(),
                dropped,
                elected: None,
                runners,
                reported: Vec::new(),
                agreed: Vec::new(),
                chaos: read.stats()?.chaos.saturating_add(1),
                reward: 0,
            });
        };
        let final_hash =
            hash_from_hex(final_hex).ok_or_else(|| broken(format!("tally {} has a malformed final hash", t.block)))?;

        // The votes are the runners' and the staked candidates': one key each.
        let mut reported = Vec::new();
        let mut agreed = Vec::new();
        for (account, h) in read.votes(t.block)? {
            if read.is_active(&account)? {
                if h == final_hash {
                    agreed.push(account.clone());
                }
                reported.push(account);
            }
        }
        let agreeing: BTreeSet<&String> = agreed.iter().collect();
        let runners_after: Vec<String> = t
            .runners
            .iter()
            .filter(|r| agreeing.contains(&r.account))
            .map(|r| r.account.clone())
            .collect();
        // The agreeing non-runner with the most governance stake (ties: first by name).
        let mut candidate: Option<(&String, u64)> = None;
        for a in agreed.iter().filter(|a| !t.is_runner(a)) {
            let g = read.gov(a)?;
            if g > 0 && candidate.is_none_or(|(_, best)| g > best) {
                candidate = Some((a, g));
            }
        }
        let kept = runners_after.len() as u64;
        let elected = match candidate {
            Some((a, g)) if kept < self.cfg.max_runners => {
                let mut stakes = Vec::with_capacity(runners_after.len());
                for r in &runners_after {
                    stakes.push(read.gov(r)?);
                }
                (kept < self.cfg.min_runners || u128::from(g) > median(stakes)).then(|| a.clone())
            }
            _ => None,
        };
        let mut runners = runners_after.clone();
        runners.extend(elected.iter().cloned());
        runners.sort();
        // Everyone in the set or the snapshot who is not in it any more: runners that did not
        // agree or left, and runners that were not registered when the tally opened (they
        // could not be judged; an elected one among them stays).
        let dropped: Vec<String> = current
            .iter()
            .chain(t.runners.iter().map(|r| &r.account))
            .filter(|a| !runners.contains(a))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Ok(TallyClose {
            block: t.block,
            final_hash: Some(final_hash),
            runners_after,
            dropped,
            elected,
            runners,
            reported,
            agreed,
            chaos: 0,
            reward: self.cfg.reward_per_win,
        })
    }

    /// The tally of checkpoint `block`: the runner set's registered, active members with
    /// their stake now, frozen so that stake moved during the window cannot swing the vote.
    pub(crate) fn open(
        &self,
        block: u64,
        runners: &[String],
        read: &StateReader<'_>,
    ) -> Result<NodesEvent, InvariantError> {
        let mut stakes = Vec::new();
        let mut total: u64 = 0;
        for r in runners {
            if read.is_active(r)? {
                let stake = read.gov(r)?;
                total = total
                    .checked_add(stake)
                    .ok_or_else(|| broken(format!("the runner set's governance stake overflows u64 at @{r}")))?;
                stakes.push(Stake {
                    account: r.clone(),
                    stake,
                });
            }
        }
        Ok(NodesEvent::TallyOpened {
            block,
            runners: stakes,
            total,
        })
    }
}
