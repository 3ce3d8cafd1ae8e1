//! The hand-over between the agent (which fetches and verifies a snapshot) and the worker
//! that owns the processor (which restores it between two steps).

use opentoken_store::Restore;
use std::sync::{Arc, Mutex, MutexGuard};

/// What is passed through the [`RecoverySlot`].
#[derive(Debug, Default)]
pub struct Recovery {
    /// A verified snapshot waiting to be restored.
    pub pending: Option<Restore>,
    /// Set by the worker after a restore: the checkpoint block and the reports topic's end
    /// offset at that moment (reports before it were made from the state thrown away).
    pub applied: Option<(u64, u64)>,
}

/// Shared by the agent and the worker; `None` in the agent's parts where nothing can
/// restore a snapshot in place (the distributed roles).
pub type RecoverySlot = Arc<Mutex<Recovery>>;

/// Locks the slot; a poisoned lock still holds a consistent [`Recovery`] (each field is
/// written in one assignment).
pub fn lock(slot: &RecoverySlot) -> MutexGuard<'_, Recovery> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where the hand-over stands, as the agent sees it at the start of a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handover {
    /// A snapshot waits for the worker: the agent does nothing until it is restored.
    Pending,
    /// The worker restored checkpoint `block`; the reports topic ended at `reports_end`.
    Applied {
        block: u64,
        reports_end: u64,
    },
    Idle,
}

/// Takes the worker's news from the slot.
pub(crate) fn take_handover(slot: &RecoverySlot) -> Handover {
    let mut r = lock(slot);
    if r.pending.is_some() {
        return Handover::Pending;
    }
    match r.applied.take() {
        Some((block, reports_end)) => Handover::Applied { block, reports_end },
        None => Handover::Idle,
    }
}
