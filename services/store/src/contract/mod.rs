//! The backend-independent contract of [`Store`], as executable tests.
//!
//! Every backend (embedded redb, ScyllaDB) runs this same suite, so "the code paths above the
//! trait are the same" (DESIGN.md) is backed by the same guarantees below it: atomic and
//! idempotent commits, monotonic progress, chain-ordered events and statuses, statuses
//! kept for a window of blocks and then gone, pending
//! messages in delivery order, and persistence across reopening.
//!
//! Use it from a backend's tests with [`store_contract_tests!`](crate::store_contract_tests)
//! (one `#[test]` per case, so a failure names its case) or [`run_all`].

mod records;
mod state;

pub use records::*;
pub use state::*;

use crate::{CommitBatch, LoadedModule, ModuleCommit, Progress, Store};
use opentoken_core::{ChainPos, EventRecord, Message, ModuleCheckpoint, OpStatus, Outcome, RejectCode};

/// How the suite gets stores from a backend.
pub trait StoreHarness: Sync {
    /// Opens the store called `name`, empty the first time the name is used. Opening a name
    /// again after every earlier handle to it was dropped must see everything committed to
    /// it (that is what the reopen case checks). Names are unique per case.
    fn open(&self, name: &str) -> Box<dyn Store>;
    /// Opens the store called `name` as [`open`](Self::open) does, keeping the statuses of
    /// the last `blocks` blocks behind each module's progress (the backend's
    /// `keep_status_blocks` setting).
    fn open_keeping_statuses(&self, name: &str, blocks: u64) -> Box<dyn Store>;
}

/// A case of the suite.
pub type Case = fn(&dyn StoreHarness);

/// Every case, by name.
pub const CASES: &[(&str, Case)] = &[
    ("empty_store_reads_nothing", empty_store_reads_nothing),
    ("state_writes_and_deletes", state_writes_and_deletes),
    ("modules_are_isolated", modules_are_isolated),
    ("scan_prefix_order_and_limit", scan_prefix_order_and_limit),
    ("progress_is_monotonic", progress_is_monotonic),
    ("failed_commit_leaves_nothing", failed_commit_leaves_nothing),
    ("recommit_is_idempotent", recommit_is_idempotent),
    ("events_in_chain_order", events_in_chain_order),
    ("statuses_in_chain_order", statuses_in_chain_order),
    ("statuses_expire_after_the_window", statuses_expire_after_the_window),
    ("checkpoints_by_block", checkpoints_by_block),
    (
        "pending_messages_replace_per_module",
        pending_messages_replace_per_module,
    ),
    ("pending_messages_in_delivery_order", pending_messages_in_delivery_order),
    ("meta_values", meta_values),
    ("reopen_keeps_everything", reopen_keeps_everything),
    (
        "concurrent_commits_of_different_modules",
        concurrent_commits_of_different_modules,
    ),
];

/// Runs every case; panics naming the first failing one.
pub fn run_all(h: &dyn StoreHarness) {
    for (name, case) in CASES {
        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(h))) {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("store contract case {name} failed: {msg}");
        }
    }
}

/// Expands to one `#[test]` per contract case. `$harness` is an expression of a type that
/// implements [`StoreHarness`], evaluated once per case.
#[macro_export]
macro_rules! store_contract_tests {
    ($harness:expr) => {
        $crate::store_contract_tests!(@cases $harness;
            empty_store_reads_nothing, state_writes_and_deletes, modules_are_isolated,
            scan_prefix_order_and_limit, progress_is_monotonic, failed_commit_leaves_nothing,
            recommit_is_idempotent, events_in_chain_order, statuses_in_chain_order,
            statuses_expire_after_the_window, checkpoints_by_block, pending_messages_replace_per_module,
            pending_messages_in_delivery_order, meta_values, reopen_keeps_everything,
            concurrent_commits_of_different_modules);
    };
    (@cases $harness:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let h = $harness;
                $crate::contract::$case(&h);
            }
        )*
    };
}

// ---- builders ----

fn module(name: &str, block: u64, next_offset: u64, changes: Vec<(&[u8], Option<&[u8]>)>) -> ModuleCommit {
    ModuleCommit {
        module: name.to_string(),
        changes: changes
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v.map(|v| v.to_vec())))
            .collect(),
        lattice: lattice_for(name, block),
        progress: Progress { block, next_offset },
        snapshot: None,
    }
}

/// A recognisable lattice per (module, block); real lattices are 2048 bytes.
fn lattice_for(name: &str, block: u64) -> Vec<u8> {
    let mut l = vec![0u8; 2048];
    l[..8].copy_from_slice(&block.to_be_bytes());
    for (i, b) in name.bytes().enumerate().take(32) {
        l[8 + i] = b;
    }
    l
}

fn event(module: &str, pos: ChainPos, seq: u32, kind: &str) -> EventRecord {
    EventRecord {
        module: module.to_string(),
        pos,
        seq,
        kind: kind.to_string(),
        data: format!("{module}/{pos}/{seq}").into_bytes(),
    }
}

fn status(txid: &str, pos: ChainPos, module: &str, rejected: bool) -> OpStatus {
    OpStatus {
        txid: txid.to_string(),
        pos,
        module: module.to_string(),
        op: "send".to_string(),
        from: "alice".to_string(),
        outcome: if rejected {
            Outcome::Rejected {
                code: RejectCode::InsufficientFunds,
                reason: format!("at {pos}"),
            }
        } else {
            Outcome::Applied {
                summary: format!("at {pos}"),
            }
        },
    }
}

fn msg(from: &str, to: &str, pos: ChainPos, seq: u32) -> Message {
    Message {
        from: from.to_string(),
        to: to.to_string(),
        pos,
        seq,
        kind: "Credit".to_string(),
        payload: format!("{{\"seq\":{seq}}}"),
    }
}

fn pos(b: u64, t: u32, o: u32) -> ChainPos {
    ChainPos::new(b, t, o)
}

fn commit(s: &dyn Store, b: &CommitBatch) {
    if let Err(e) = s.commit(b) {
        panic!("commit failed: {e}");
    }
}

fn pairs(v: &[(&[u8], &[u8])]) -> Vec<(Vec<u8>, Vec<u8>)> {
    v.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
}

/// Everything the store can tell about the given modules and txids, for equality checks.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    modules: Vec<(LoadedModule, Vec<EventRecord>, Vec<ModuleCheckpoint>)>,
    statuses: Vec<Vec<OpStatus>>,
    pending: Vec<Message>,
}

fn snapshot(s: &dyn Store, modules: &[&str], txids: &[&str]) -> Snapshot {
    Snapshot {
        modules: modules
            .iter()
            .map(|m| {
                (
                    s.load_module(m).unwrap(),
                    s.events(m, 0, usize::MAX).unwrap(),
                    s.checkpoints(m).unwrap(),
                )
            })
            .collect(),
        statuses: txids.iter().map(|t| s.statuses(t).unwrap()).collect(),
        pending: s.pending_messages().unwrap(),
    }
}

/// A batch that touches every table.
fn full_batch(block: u64) -> CommitBatch {
    CommitBatch {
        modules: vec![
            module(
                "token",
                block,
                block * 2,
                vec![(b"bal/alice", Some(b"100")), (b"bal/bob", Some(b"5"))],
            ),
            module("dex", block, block * 2, vec![(b"book/1", Some(b"order"))]),
        ],
        events: vec![
            event("token", pos(block, 0, 0), 0, "Transferred"),
            event("token", pos(block, 0, 0), 1, "Fee"),
            event("dex", ChainPos::block_end(block), 0, "Expired"),
        ],
        statuses: vec![
            status("tx1", pos(block, 0, 0), "token", false),
            status("tx1", pos(block, 0, 1), "token", true),
        ],
        checkpoints: vec![ModuleCheckpoint {
            module: "token".into(),
            block,
            hash: [block as u8; 32],
        }],
        pending_messages: vec![msg("dex", "token", ChainPos::block_end(block), 0)],
    }
}
