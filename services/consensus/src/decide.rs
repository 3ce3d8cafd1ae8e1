//! The agent's decisions, apart from its I/O: which reports are due, which broadcasts are
//! in flight and when one has expired, whether the node must (re-)register, whether it is
//! in consensus, and which final checkpoint to recover to.
//!
//! [`AgentState`] reads no clock, log, store or network and never awaits: the shell in
//! [`crate::agent`] feeds it what it observed (the head block and its time, the transaction
//! ids of blocks, the node's own reports, the nodes module's state) and carries out what it
//! returns (broadcast this, log that, fetch a snapshot of that checkpoint). That is what
//! lets every decision below be unit-tested without a Hive node (see `decide/tests.rs`).

use crate::broadcast::Sent;
use opentoken_nodes::NodeRecord;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

/// Why a transaction of the node's was broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `<prefix>node_add`.
    Register,
    /// `<prefix>report` for checkpoint N.
    Report(u64),
}

/// A broadcast the shell should make now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broadcast {
    /// Register the node, with a proof of possession made at `pop_block` (the head).
    Register { pop_block: u64 },
    /// Report this node's consensus hash of checkpoint `checkpoint`.
    Report { checkpoint: u64, hash: [u8; 32] },
}

/// An in-flight transaction found in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    pub purpose: Purpose,
    pub txid: String,
    pub block: u64,
}

/// An in-flight transaction Hive will no longer include: its expiration passed and every
/// block up to the head was looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub purpose: Purpose,
    pub txid: String,
}

/// This node's hash against the final one, at the newest final checkpoint it has a hash
/// for: what `/consensus` and `/readyz` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub checkpoint: u64,
    pub own_hash: [u8; 32],
    pub final_hash: [u8; 32],
    /// The newest final checkpoint (a recovery restores this one).
    pub latest_final: u64,
    /// The final checkpoint a recovery was started for when the verdict was reached.
    pub recovering_to: Option<u64>,
}

impl Verdict {
    pub fn in_consensus(&self) -> bool {
        self.own_hash == self.final_hash
    }
}

/// What follows from a [`Verdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalityAction {
    /// In consensus: the node is ready.
    Agree,
    /// Out of consensus, and already acted on for the newest final checkpoint (a restore of
    /// it is pending, or there is nothing to restore into): not ready, nothing new to do.
    Known,
    /// Newly out of consensus. With `recover`, the shell fetches a verified snapshot of that
    /// final checkpoint and calls [`AgentState::recovery_started`] once it has one.
    Diverged { recover: Option<RecoveryTarget> },
}

/// The final checkpoint to restore, and the hash its snapshot must verify against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryTarget {
    pub block: u64,
    pub final_hash: [u8; 32],
}

/// What the chain must know of this node for its reports to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The API URL registered on chain.
    pub domain: String,
    /// The ed25519 report key, as the nodes module stores it (lowercase hex).
    pub report_key: String,
    /// The multi-sig public key (`STM...`, as the nodes module stores it), `None` when the
    /// node has none. Compared both ways: a node that gains a key registers it, and one run
    /// without its key takes it off the chain's signer list rather than stay listed as a
    /// signer that never signs.
    pub mskey: Option<String>,
}

impl Identity {
    /// Whether `record` (the chain's record of this node) is active with this domain and
    /// these keys.
    pub fn is_current(&self, record: Option<&NodeRecord>) -> bool {
        record.is_some_and(|n| {
            n.active && n.domain == self.domain && n.report_key == self.report_key && n.mskey == self.mskey
        })
    }
}

/// The consensus agent's memory and decisions (see the module docs).
#[derive(Debug, Clone)]
pub struct AgentState {
    identity: Identity,
    /// The nodes module's report window: reports are broadcast only while it is open.
    report_window: u64,
    /// Whether a verified snapshot can be restored in place (`opentoken run`); otherwise a
    /// divergence is only reported.
    can_restore: bool,
    /// Where the next read of the reports topic starts.
    reports_offset: u64,
    /// This node's consensus hash per checkpoint (its latest report for the block).
    own: BTreeMap<u64, [u8; 32]>,
    /// Checkpoints whose report is in flight or was included.
    sent: BTreeSet<u64>,
    in_flight: Vec<(Purpose, Sent)>,
    /// Block that included our registration, until the nodes module has processed it.
    registration_included: Option<u64>,
    /// The next block to look for in-flight transactions in.
    watch_from: Option<u64>,
    head: u64,
    /// Unix seconds of the head block.
    now: u64,
    /// The final checkpoint (and hash) a recovery was started for.
    recovering_to: Option<(u64, [u8; 32])>,
}

impl AgentState {
    pub fn new(identity: Identity, report_window: u64, can_restore: bool) -> Self {
        Self {
            identity,
            report_window,
            can_restore,
            reports_offset: 0,
            own: BTreeMap::new(),
            sent: BTreeSet::new(),
            in_flight: Vec::new(),
            registration_included: None,
            watch_from: None,
            head: 0,
            now: 0,
            recovering_to: None,
        }
    }

    pub fn can_restore(&self) -> bool {
        self.can_restore
    }

    /// The head block last observed.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// The offset of the reports topic to read from next.
    pub fn reports_offset(&self) -> u64 {
        self.reports_offset
    }

    /// Records that the reports topic was read up to (not including) `next`.
    pub fn reports_read_to(&mut self, next: u64) {
        self.reports_offset = next;
    }

    /// One of this node's reports, read back from its reports topic. A new (or re-made)
    /// hash for a checkpoint makes its report due again.
    pub fn own_report(&mut self, block: u64, hash: [u8; 32]) {
        if self.own.insert(block, hash) != Some(hash) {
            self.sent.remove(&block);
        }
    }

    /// The worker restored the final checkpoint `block`; `reports_end` is the reports topic's
    /// end offset at that moment. Reports after `block`, and those before `reports_end`, were
    /// made from the state thrown away.
    pub fn restored(&mut self, block: u64, reports_end: u64) {
        self.own.retain(|b, _| *b < block);
        if let Some((b, h)) = self.recovering_to {
            if b == block {
                self.own.insert(block, h);
            }
        }
        self.sent.retain(|b| *b <= block);
        self.reports_offset = self.reports_offset.max(reports_end);
    }

    /// Observes the head block (number and time); returns the blocks to look for in-flight
    /// transactions in, in order (empty when nothing is in flight). The shell fetches them
    /// one by one, passing each to [`AgentState::block_seen`], stops at the first it cannot
    /// get, and then calls [`AgentState::expire`].
    pub fn observe_head(&mut self, head: u64, now: u64) -> RangeInclusive<u64> {
        self.head = head;
        self.now = now;
        if self.in_flight.is_empty() {
            self.watch_from = None;
            return RangeInclusive::new(1, 0); // empty
        }
        self.watch_from.unwrap_or(head + 1)..=head
    }

    /// Block `block` holds the transactions `txids`: the in-flight ones among them are
    /// confirmed.
    pub fn block_seen<'a>(&mut self, block: u64, txids: impl IntoIterator<Item = &'a str>) -> Vec<Confirmed> {
        let mut confirmed = Vec::new();
        for txid in txids {
            if let Some(i) = self.in_flight.iter().position(|(_, s)| s.txid == txid) {
                let (purpose, sent) = self.in_flight.remove(i);
                if purpose == Purpose::Register {
                    self.registration_included = Some(block);
                }
                confirmed.push(Confirmed {
                    purpose,
                    txid: sent.txid,
                    block,
                });
            }
        }
        self.watch_from = Some(block + 1);
        confirmed
    }

    /// Drops the in-flight transactions that expired with every block up to the head looked
    /// at; an expired report becomes due again (if its window is still open).
    pub fn expire(&mut self) -> Vec<Expired> {
        let watched = self.watch_from.unwrap_or(0).saturating_sub(1);
        let (now, head) = (self.now, self.head);
        let mut expired = Vec::new();
        self.in_flight.retain(|(purpose, s)| {
            let gone = s.expiration < now && watched >= head;
            if gone {
                expired.push(Expired {
                    purpose: *purpose,
                    txid: s.txid.clone(),
                });
            }
            !gone
        });
        for e in &expired {
            if let Purpose::Report(n) = e.purpose {
                self.sent.remove(&n);
            }
        }
        expired
    }

    /// What to broadcast, given the chain's record of this node and the block the nodes
    /// module has processed: the registration when the chain does not know the node as it
    /// is (and none is in flight or waiting to be processed), else nothing until it does,
    /// else every report not yet sent whose window is still open.
    pub fn broadcasts(&mut self, record: Option<&NodeRecord>, processed: u64) -> Vec<Broadcast> {
        if self.identity.is_current(record) {
            self.registration_included = None;
            return self.due_reports();
        }
        let waiting = self.in_flight.iter().any(|(p, _)| *p == Purpose::Register)
            || self.registration_included.is_some_and(|b| processed < b);
        if waiting {
            return Vec::new();
        }
        vec![Broadcast::Register { pop_block: self.head }]
    }

    fn due_reports(&self) -> Vec<Broadcast> {
        self.own
            .iter()
            .filter(|(n, _)| !self.sent.contains(n) && self.head < **n + self.report_window)
            .map(|(n, h)| Broadcast::Report {
                checkpoint: *n,
                hash: *h,
            })
            .collect()
    }

    /// A broadcast went out: watch for it from the block after the head it was sent at.
    pub fn broadcast_sent(&mut self, purpose: Purpose, sent: Sent) {
        match purpose {
            Purpose::Register => self.registration_included = None,
            Purpose::Report(n) => {
                self.sent.insert(n);
            }
        }
        let from = sent.head + 1;
        self.watch_from = Some(self.watch_from.map_or(from, |w| w.min(from)));
        self.in_flight.push((purpose, sent));
    }

    /// Compares this node's hashes with the final ones (`finals`, newest first). `None` while
    /// nothing is final, or nothing final that this node has a hash for.
    pub fn finality(&mut self, finals: &[(u64, [u8; 32])]) -> Option<(Verdict, FinalityAction)> {
        let &(latest, latest_hash) = finals.first()?;
        // The newest final checkpoint this node has its own hash for decides.
        let (checkpoint, final_hash, own_hash) =
            finals.iter().find_map(|(b, h)| self.own.get(b).map(|o| (*b, *h, *o)))?;
        let verdict = Verdict {
            checkpoint,
            own_hash,
            final_hash,
            latest_final: latest,
            recovering_to: self.recovering_to.map(|r| r.0),
        };
        if verdict.in_consensus() {
            self.recovering_to = None;
            return Some((verdict, FinalityAction::Agree));
        }
        if verdict.recovering_to == Some(latest) {
            return Some((verdict, FinalityAction::Known));
        }
        let target = RecoveryTarget {
            block: latest,
            final_hash: latest_hash,
        };
        if !self.can_restore {
            // Nothing to restore into: say it once per final checkpoint.
            self.recovery_started(target);
            return Some((verdict, FinalityAction::Diverged { recover: None }));
        }
        Some((verdict, FinalityAction::Diverged { recover: Some(target) }))
    }

    /// A verified snapshot of `target` was handed to the worker.
    pub fn recovery_started(&mut self, target: RecoveryTarget) {
        self.recovering_to = Some((target.block, target.final_hash));
    }

    /// The final checkpoint a recovery was started for.
    pub fn recovering_to(&self) -> Option<u64> {
        self.recovering_to.map(|r| r.0)
    }

    /// The transactions broadcast and not yet confirmed or expired.
    pub fn in_flight(&self) -> impl Iterator<Item = &(Purpose, Sent)> {
        self.in_flight.iter()
    }
}

#[cfg(test)]
mod tests;
