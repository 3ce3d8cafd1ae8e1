//! Evolve: how each event changes the state. Total by contract: an event `handle` or
//! `on_block` produced always applies, so every failure here is a broken invariant.
//!
//! What each event costs in writes is bounded by what it names: a report writes its vote
//! and (for a runner) one stake sum; a final rewrites the tally head (the runner set, at
//! most `max_runners`) and deletes the finals beyond `keep_finals`; a close writes the
//! records of the reporters it lists and deletes the tally's votes and sums.

use crate::keys::{self, Tally};
use crate::state::{broken, delete_prefix, open_tally_at, prune_finals, put_json, put_runners, update_node, Read};
use crate::NodesEvent;
use opentoken_core::module::InvariantError;
use opentoken_core::StateWrite;

pub(crate) fn apply(event: &NodesEvent, state: &mut dyn StateWrite, keep_finals: u64) -> Result<(), InvariantError> {
    match event {
        NodesEvent::RunnersInitialised { runners } => put_runners(state, runners),
        NodesEvent::NodeAdded { account, record, .. } => put_json(state, keys::node(account), record),
        NodesEvent::NodeDeleted { account } => update_node(state, account, |n| n.active = false),
        NodesEvent::ReportAccepted {
            account,
            block,
            hash,
            weight,
            ..
        } => {
            // Existence only: decoding the head would cost as much as the runner set.
            if state.get(&keys::tally(*block)).is_none() {
                return Err(broken(format!(
                    "report for checkpoint {block}, whose tally is not open"
                )));
            }
            state.put(keys::vote(*block, account), hash.to_vec());
            if *weight > 0 {
                let sum = Read(&*state)
                    .hash_stake(*block, hash)?
                    .checked_add(*weight)
                    .ok_or_else(|| broken(format!("the stake behind a hash of checkpoint {block} overflows u64")))?;
                state.put(keys::hash_stake(*block, hash), sum.to_be_bytes().to_vec());
            }
            Ok(())
        }
        NodesEvent::CheckpointFinal { block, hash, at, .. } => {
            let mut t = open_tally_at(&*state, *block)?;
            t.final_hash = Some(hex::encode(hash));
            t.final_block = Some(*at);
            put_json(state, keys::tally(*block), &t)?;
            state.put(keys::final_hash(*block), hash.to_vec());
            prune_finals(state, keep_finals);
            let mut stats = Read(&*state).stats()?;
            stats.last_final = Some(*block);
            put_json(state, keys::STATS.to_vec(), &stats)
        }
        NodesEvent::GovChanged { account, gov } => {
            if *gov == 0 {
                state.delete(&keys::gov(account));
            } else {
                state.put(keys::gov(account), gov.to_be_bytes().to_vec());
            }
            Ok(())
        }
        NodesEvent::TallyOpened { block, runners, total } => {
            let t = Tally {
                block: *block,
                runners: runners.clone(),
                total: *total,
                votes: Default::default(),
                final_hash: None,
                final_block: None,
            };
            put_json(state, keys::tally(*block), &t)
        }
        NodesEvent::TallyClosed(c) => {
            state.delete(&keys::tally(c.block));
            delete_prefix(state, &keys::votes_of(c.block));
            delete_prefix(state, &keys::stakes_of(c.block));
            for a in &c.reported {
                update_node(state, a, |n| n.attempts = n.attempts.saturating_add(1))?;
            }
            for a in &c.agreed {
                update_node(state, a, |n| {
                    n.yays = n.yays.saturating_add(1);
                    n.last_good = c.block;
                })?;
            }
            for a in &c.runners_after {
                update_node(state, a, |n| n.wins = n.wins.saturating_add(1))?;
            }
            if c.final_hash.is_some() {
                // Accounts without a record (genesis runners that never registered)
                // leave the set without a strike.
                for a in &c.dropped {
                    if Read(&*state).node(a)?.is_some() {
                        update_node(state, a, |n| n.strikes = n.strikes.saturating_add(1))?;
                    }
                }
            }
            put_runners(state, &c.runners)?;
            let mut stats = Read(&*state).stats()?;
            stats.chaos = c.chaos;
            put_json(state, keys::STATS.to_vec(), &stats)
        }
        NodesEvent::SignersSent { signers } => put_json(state, keys::MS_SIGNERS.to_vec(), signers),
        NodesEvent::CollateralSent { stake } => {
            state.put(keys::MS_COLLATERAL.to_vec(), stake.to_be_bytes().to_vec());
            Ok(())
        }
        NodesEvent::DexParamsSent { params } => put_json(state, keys::DEX_PARAMS.to_vec(), params),
        // The wins are counted in the node records by the close (`wins`); this event only
        // carries them to the token module.
        NodesEvent::WinsSent { .. } => Ok(()),
    }
}
