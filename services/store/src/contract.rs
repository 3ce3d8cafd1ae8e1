//! The backend-independent contract of [`Store`], as executable tests.
//!
//! Every backend (embedded redb, ScyllaDB) runs this same suite, so "the code paths above the
//! trait are the same" (DESIGN.md) is backed by the same guarantees below it: atomic and
//! idempotent commits, monotonic progress, chain-ordered events and statuses, pending
//! messages in delivery order, and persistence across reopening.
//!
//! Use it from a backend's tests with [`store_contract_tests!`](crate::store_contract_tests)
//! (one `#[test]` per case, so a failure names its case) or [`run_all`].

use crate::{CommitBatch, LoadedModule, ModuleCommit, Progress, Store};
use opentoken_core::{ChainPos, EventRecord, Message, ModuleCheckpoint, OpStatus, Outcome, RejectCode};

/// How the suite gets stores from a backend.
pub trait StoreHarness: Sync {
    /// Opens the store called `name`, empty the first time the name is used. Opening a name
    /// again after every earlier handle to it was dropped must see everything committed to
    /// it (that is what the reopen case checks). Names are unique per case.
    fn open(&self, name: &str) -> Box<dyn Store>;
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
            checkpoints_by_block, pending_messages_replace_per_module,
            pending_messages_in_delivery_order, meta_values, reopen_keeps_everything,
            concurrent_commits_of_different_modules);
    };
    (@cases $harness:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let h = $harness;
                $crate::embedded::contract::$case(&h);
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

// ---- cases ----

pub fn empty_store_reads_nothing(h: &dyn StoreHarness) {
    let s = h.open("empty");
    assert_eq!(s.progress("token").unwrap(), None);
    assert_eq!(s.get("token", b"k").unwrap(), None);
    assert!(s.scan_prefix("token", b"", 100).unwrap().is_empty());
    assert!(s.statuses("tx").unwrap().is_empty());
    assert!(s.events("token", 0, 100).unwrap().is_empty());
    assert_eq!(s.checkpoint("token", 100).unwrap(), None);
    assert!(s.checkpoints("token").unwrap().is_empty());
    assert!(s.pending_messages().unwrap().is_empty());
    assert_eq!(s.get_meta("k").unwrap(), None);
    assert_eq!(s.load_module("token").unwrap(), LoadedModule::default());
    // An empty batch is a valid no-op.
    commit(s.as_ref(), &CommitBatch::default());
    assert_eq!(s.load_module("token").unwrap(), LoadedModule::default());
}

pub fn state_writes_and_deletes(h: &dyn StoreHarness) {
    let s = h.open("state");
    commit(
        s.as_ref(),
        &CommitBatch {
            modules: vec![module(
                "token",
                1,
                1,
                vec![
                    (b"a", Some(b"1")),
                    (b"b", Some(b"2")),
                    (b"", Some(b"empty key")),
                    (b"e", Some(b"")),
                ],
            )],
            ..Default::default()
        },
    );
    assert_eq!(s.get("token", b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(s.get("token", b"").unwrap(), Some(b"empty key".to_vec()));
    assert_eq!(
        s.get("token", b"e").unwrap(),
        Some(Vec::new()),
        "an empty value is a value, not a delete"
    );
    let big = vec![0xABu8; 1 << 20];
    commit(
        s.as_ref(),
        &CommitBatch {
            modules: vec![module(
                "token",
                2,
                2,
                vec![
                    (b"a", None),
                    (b"b", Some(b"22")),
                    (b"big", Some(&big)),
                    (b"never", None),
                ],
            )],
            ..Default::default()
        },
    );
    assert_eq!(s.get("token", b"a").unwrap(), None);
    assert_eq!(s.get("token", b"big").unwrap().map(|v| v.len()), Some(1 << 20));
    let loaded = s.load_module("token").unwrap();
    let want: Vec<(Vec<u8>, Vec<u8>)> = pairs(&[(b"", b"empty key"), (b"b", b"22"), (b"big", &big), (b"e", b"")]);
    assert_eq!(loaded.pairs.into_iter().collect::<Vec<_>>(), want);
    assert_eq!(loaded.lattice, Some(lattice_for("token", 2)));
    assert_eq!(
        loaded.progress,
        Some(Progress {
            block: 2,
            next_offset: 2
        })
    );
    assert_eq!(s.progress("token").unwrap(), loaded.progress);
}

pub fn modules_are_isolated(h: &dyn StoreHarness) {
    let s = h.open("isolated");
    // "tok" is a prefix of "token": module boundaries must not be prefix matches.
    commit(
        s.as_ref(),
        &CommitBatch {
            modules: vec![
                module("tok", 1, 1, vec![(b"k", Some(b"tok")), (b"\xff", Some(b"tok-ff"))]),
                module(
                    "token",
                    1,
                    1,
                    vec![(b"k", Some(b"token")), (b"\x00", Some(b"token-00"))],
                ),
            ],
            ..Default::default()
        },
    );
    assert_eq!(s.get("tok", b"k").unwrap(), Some(b"tok".to_vec()));
    assert_eq!(s.get("token", b"k").unwrap(), Some(b"token".to_vec()));
    assert_eq!(s.get("to", b"k").unwrap(), None);
    assert_eq!(
        s.scan_prefix("tok", b"", 10).unwrap(),
        pairs(&[(b"k", b"tok"), (b"\xff", b"tok-ff")])
    );
    assert_eq!(
        s.scan_prefix("token", b"", 10).unwrap(),
        pairs(&[(b"\x00", b"token-00"), (b"k", b"token")])
    );
    assert_eq!(s.load_module("tok").unwrap().pairs.len(), 2);
    assert_eq!(s.load_module("to").unwrap(), LoadedModule::default());
    // Progress, lattices and deletes are per module too.
    commit(
        s.as_ref(),
        &CommitBatch {
            modules: vec![module("tok", 2, 2, vec![(b"k", None)])],
            ..Default::default()
        },
    );
    assert_eq!(s.get("token", b"k").unwrap(), Some(b"token".to_vec()));
    assert_eq!(s.progress("token").unwrap().map(|p| p.block), Some(1));
    assert_eq!(s.load_module("token").unwrap().lattice, Some(lattice_for("token", 1)));
}

pub fn scan_prefix_order_and_limit(h: &dyn StoreHarness) {
    let s = h.open("scan");
    let keys: Vec<&[u8]> = vec![
        b"b/2",
        b"a/1",
        b"b/10",
        b"b/1",
        b"b",
        b"b\xff",
        b"c",
        b"b/\xff\xff",
        b"ba",
    ];
    commit(
        s.as_ref(),
        &CommitBatch {
            modules: vec![module("m", 1, 1, keys.iter().map(|k| (*k, Some(*k))).collect())],
            ..Default::default()
        },
    );
    let scan = |p: &[u8], n: usize| -> Vec<Vec<u8>> {
        s.scan_prefix("m", p, n)
            .unwrap()
            .into_iter()
            .map(|(k, v)| {
                assert_eq!(k, v);
                k
            })
            .collect()
    };
    let want: Vec<Vec<u8>> = [&b"b/1"[..], b"b/10", b"b/2", b"b/\xff\xff"]
        .iter()
        .map(|k| k.to_vec())
        .collect();
    assert_eq!(scan(b"b/", 100), want, "byte order, prefix only");
    assert_eq!(scan(b"b/", 2), want[..2].to_vec(), "limit");
    assert!(scan(b"b/", 0).is_empty());
    assert_eq!(scan(b"", 100).len(), keys.len());
    assert_eq!(scan(b"b\xff", 100), vec![b"b\xff".to_vec()]);
    assert!(scan(b"d", 100).is_empty());
    assert!(scan(b"b/3", 100).is_empty());
}

pub fn progress_is_monotonic(h: &dyn StoreHarness) {
    let s = h.open("progress");
    let at = |b, o| CommitBatch {
        modules: vec![module("m", b, o, vec![(b"k", Some(format!("{b}/{o}").as_bytes()))])],
        ..Default::default()
    };
    commit(s.as_ref(), &at(10, 5));
    commit(s.as_ref(), &at(10, 5)); // the same position again (a retried commit)
    commit(s.as_ref(), &at(12, 5)); // a coalesced range record: block moves, offset does not
    assert!(s.commit(&at(11, 6)).is_err(), "block went back");
    assert!(s.commit(&at(12, 4)).is_err(), "offset went back");
    assert_eq!(
        s.progress("m").unwrap(),
        Some(Progress {
            block: 12,
            next_offset: 5
        })
    );
    assert_eq!(s.get("m", b"k").unwrap(), Some(b"12/5".to_vec()));
    commit(s.as_ref(), &at(13, 7));
    assert_eq!(
        s.progress("m").unwrap().map(|p| (p.block, p.next_offset)),
        Some((13, 7))
    );
}

pub fn failed_commit_leaves_nothing(h: &dyn StoreHarness) {
    let s = h.open("atomic");
    commit(s.as_ref(), &full_batch(10));
    commit(
        s.as_ref(),
        &CommitBatch {
            modules: vec![module("late", 50, 50, vec![])],
            ..Default::default()
        },
    );
    let before = snapshot(s.as_ref(), &["token", "dex", "late"], &["tx1", "tx2"]);
    // A batch that touches every table, with one module whose progress goes back: the
    // whole batch must be refused and none of it may be visible.
    let mut bad = full_batch(11);
    bad.modules.push(module("late", 40, 40, vec![(b"x", Some(b"y"))]));
    bad.statuses.push(status("tx2", pos(11, 3, 0), "token", false));
    bad.pending_messages = vec![msg("token", "dex", pos(11, 0, 0), 0)];
    assert!(s.commit(&bad).is_err());
    assert_eq!(snapshot(s.as_ref(), &["token", "dex", "late"], &["tx1", "tx2"]), before);
    // A checkpoint that contradicts a recorded one is refused the same way.
    let mut diverged = full_batch(11);
    diverged.checkpoints.push(ModuleCheckpoint {
        module: "token".into(),
        block: 10,
        hash: [0xEE; 32],
    });
    assert!(s.commit(&diverged).is_err());
    assert_eq!(snapshot(s.as_ref(), &["token", "dex", "late"], &["tx1", "tx2"]), before);
    // The store still works after refusing.
    commit(s.as_ref(), &full_batch(11));
    assert_eq!(s.progress("token").unwrap().map(|p| p.block), Some(11));
}

pub fn recommit_is_idempotent(h: &dyn StoreHarness) {
    let s = h.open("idempotent");
    commit(s.as_ref(), &full_batch(10));
    let once = snapshot(s.as_ref(), &["token", "dex"], &["tx1"]);
    assert_eq!(once.modules[0].1.len(), 2);
    assert_eq!(once.statuses[0].len(), 2);
    commit(s.as_ref(), &full_batch(10));
    assert_eq!(
        snapshot(s.as_ref(), &["token", "dex"], &["tx1"]),
        once,
        "a retried batch changes nothing"
    );
}

pub fn events_in_chain_order(h: &dyn StoreHarness) {
    let s = h.open("events");
    // Committed out of order, across batches and modules.
    let batches = [
        vec![
            event("m", pos(20, 0, 0), 1, "b"),
            event("m", ChainPos::block_end(10), 0, "chron"),
            event("other", pos(10, 0, 0), 0, "x"),
        ],
        vec![
            event("m", pos(20, 0, 0), 0, "a"),
            event("m", pos(10, 2, 0), 0, "c"),
            event("m", pos(10, 1, 5), 0, "d"),
            event("m", pos(256, 0, 0), 0, "e"),
            event("mm", pos(1, 0, 0), 0, "prefix module"),
        ],
    ];
    for (i, evs) in batches.into_iter().enumerate() {
        commit(
            s.as_ref(),
            &CommitBatch {
                modules: vec![module("m", 300 + i as u64, i as u64, vec![])],
                events: evs,
                ..Default::default()
            },
        );
    }
    let kinds = |from, limit| -> Vec<String> {
        s.events("m", from, limit)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    };
    assert_eq!(kinds(0, 100), ["d", "c", "chron", "a", "b", "e"]);
    assert_eq!(kinds(11, 100), ["a", "b", "e"]);
    assert_eq!(kinds(20, 1), ["a"]);
    assert_eq!(kinds(21, 100), ["e"]);
    assert!(kinds(257, 100).is_empty());
    assert!(kinds(0, 0).is_empty());
    let e = &s.events("m", 0, 1).unwrap()[0];
    assert_eq!(e, &event("m", pos(10, 1, 5), 0, "d"), "records round-trip whole");
    assert_eq!(s.events("other", 0, 100).unwrap().len(), 1);
}

pub fn statuses_in_chain_order(h: &dyn StoreHarness) {
    let s = h.open("statuses");
    let st = vec![
        status("abc", pos(5, 2, 1), "token", true),
        status("ab", pos(9, 0, 0), "token", false),
        status("abc", pos(5, 2, 0), "token", false),
        status("abc", pos(5, 10, 0), "dex", false),
    ];
    commit(
        s.as_ref(),
        &CommitBatch {
            statuses: st.clone(),
            ..Default::default()
        },
    );
    // A later op of the same transaction in a later batch (e.g. a message it caused).
    commit(
        s.as_ref(),
        &CommitBatch {
            statuses: vec![status("abc", pos(6, 0, 0), "token", false)],
            ..Default::default()
        },
    );
    let got = s.statuses("abc").unwrap();
    let order: Vec<ChainPos> = got.iter().map(|s| s.pos).collect();
    assert_eq!(order, vec![pos(5, 2, 0), pos(5, 2, 1), pos(5, 10, 0), pos(6, 0, 0)]);
    assert_eq!(got[1], st[0], "records round-trip whole");
    assert_eq!(s.statuses("ab").unwrap(), vec![st[1].clone()]);
    assert!(s.statuses("a").unwrap().is_empty());
}

pub fn checkpoints_by_block(h: &dyn StoreHarness) {
    let s = h.open("checkpoints");
    let cp = |m: &str, block: u64, x: u8| ModuleCheckpoint {
        module: m.into(),
        block,
        hash: [x; 32],
    };
    commit(
        s.as_ref(),
        &CommitBatch {
            checkpoints: vec![cp("m", 1000, 3), cp("m", 200, 2), cp("m", 30, 1), cp("mm", 30, 9)],
            ..Default::default()
        },
    );
    commit(
        s.as_ref(),
        &CommitBatch {
            checkpoints: vec![cp("m", 200, 2)], // the same checkpoint again is fine
            ..Default::default()
        },
    );
    assert_eq!(
        s.checkpoints("m").unwrap(),
        vec![cp("m", 30, 1), cp("m", 200, 2), cp("m", 1000, 3)]
    );
    assert_eq!(s.checkpoint("m", 200).unwrap(), Some([2; 32]));
    assert_eq!(s.checkpoint("m", 201).unwrap(), None);
    assert_eq!(s.checkpoint("mm", 30).unwrap(), Some([9; 32]));
    assert!(s
        .commit(&CommitBatch {
            checkpoints: vec![cp("m", 200, 7)],
            ..Default::default()
        })
        .is_err());
    assert_eq!(s.checkpoint("m", 200).unwrap(), Some([2; 32]));
}

pub fn pending_messages_replace_per_module(h: &dyn StoreHarness) {
    let s = h.open("pending");
    let to_token = msg("dex", "token", pos(5, 1, 0), 0);
    let to_dex = msg("token", "dex", pos(5, 2, 0), 0);
    commit(
        s.as_ref(),
        &CommitBatch {
            modules: vec![module("token", 5, 1, vec![]), module("dex", 5, 1, vec![])],
            pending_messages: vec![to_token.clone(), to_dex.clone()],
            ..Default::default()
        },
    );
    assert_eq!(s.pending_messages().unwrap(), vec![to_token.clone(), to_dex.clone()]);
    // A batch for dex alone ("dex" sorts before "token") replaces the messages to dex only.
    commit(
        s.as_ref(),
        &CommitBatch {
            modules: vec![module("dex", 5, 1, vec![])],
            pending_messages: vec![to_dex.clone()],
            ..Default::default()
        },
    );
    assert_eq!(s.pending_messages().unwrap(), vec![to_token.clone(), to_dex.clone()]);
    // A batch for token alone replaces the messages addressed to token only.
    commit(
        s.as_ref(),
        &CommitBatch {
            modules: vec![module("token", 6, 2, vec![])],
            ..Default::default()
        },
    );
    assert_eq!(s.pending_messages().unwrap(), vec![to_dex.clone()]);
    // A batch for both replaces the whole set.
    let next = msg("dex", "token", pos(7, 0, 0), 0);
    commit(
        s.as_ref(),
        &CommitBatch {
            modules: vec![module("dex", 7, 3, vec![]), module("token", 7, 3, vec![])],
            pending_messages: vec![next.clone()],
            ..Default::default()
        },
    );
    assert_eq!(s.pending_messages().unwrap(), vec![next]);
    commit(
        s.as_ref(),
        &CommitBatch {
            modules: vec![module("dex", 8, 3, vec![]), module("token", 8, 3, vec![])],
            ..Default::default()
        },
    );
    assert!(s.pending_messages().unwrap().is_empty());
}

pub fn pending_messages_in_delivery_order(h: &dyn StoreHarness) {
    let s = h.open("pending-order");
    let want = vec![
        msg("alpha", "token", pos(9, 0, 0), 0),
        msg("alpha", "dex", pos(9, 0, 0), 1),
        msg("alpha", "token", pos(9, 3, 0), 2),
        msg("alpha", "token", ChainPos::block_end(9), 3),
        msg("zeta", "dex", pos(9, 1, 0), 0),
        msg("zeta", "token", pos(9, 1, 0), 1),
    ];
    let mut shuffled = want.clone();
    shuffled.reverse();
    shuffled.swap(0, 3);
    commit(
        s.as_ref(),
        &CommitBatch {
            modules: vec![module("token", 9, 1, vec![]), module("dex", 9, 1, vec![])],
            pending_messages: shuffled,
            ..Default::default()
        },
    );
    assert_eq!(
        s.pending_messages().unwrap(),
        want,
        "(source module, position, seq) order"
    );
}

pub fn meta_values(h: &dyn StoreHarness) {
    let s = h.open("meta");
    s.put_meta("checkpointer/last", b"100").unwrap();
    s.put_meta("", b"").unwrap();
    assert_eq!(s.get_meta("checkpointer/last").unwrap(), Some(b"100".to_vec()));
    assert_eq!(s.get_meta("").unwrap(), Some(Vec::new()));
    s.put_meta("checkpointer/last", b"200").unwrap();
    assert_eq!(s.get_meta("checkpointer/last").unwrap(), Some(b"200".to_vec()));
    assert_eq!(s.get_meta("checkpointer").unwrap(), None);
    // Meta is not module state.
    assert_eq!(s.get("checkpointer", b"last").unwrap(), None);
}

pub fn reopen_keeps_everything(h: &dyn StoreHarness) {
    let before = {
        let s = h.open("reopen");
        commit(s.as_ref(), &full_batch(10));
        commit(
            s.as_ref(),
            &CommitBatch {
                modules: vec![module(
                    "token",
                    11,
                    22,
                    vec![(b"bal/bob", None), (b"bal/carol", Some(b"7"))],
                )],
                ..Default::default()
            },
        );
        s.put_meta("k", b"v").unwrap();
        snapshot(s.as_ref(), &["token", "dex"], &["tx1"])
    };
    let s = h.open("reopen");
    assert_eq!(snapshot(s.as_ref(), &["token", "dex"], &["tx1"]), before);
    assert_eq!(s.get_meta("k").unwrap(), Some(b"v".to_vec()));
    assert_eq!(s.get("token", b"bal/carol").unwrap(), Some(b"7".to_vec()));
    assert_eq!(s.checkpoint("token", 10).unwrap(), Some([10; 32]));
    // And it keeps enforcing what it persisted.
    assert!(s.commit(&full_batch(9)).is_err());
}

pub fn concurrent_commits_of_different_modules(h: &dyn StoreHarness) {
    let s = h.open("concurrent");
    let store: &dyn Store = s.as_ref();
    std::thread::scope(|scope| {
        for w in 0..4u64 {
            scope.spawn(move || {
                let name = format!("m{w}");
                for b in 1..=20u64 {
                    let key = b.to_be_bytes();
                    let batch = CommitBatch {
                        modules: vec![module(&name, b, b, vec![(&key[..], Some(&key[..]))])],
                        events: vec![event(&name, pos(b, 0, 0), 0, "e")],
                        ..Default::default()
                    };
                    commit(store, &batch);
                }
            });
        }
    });
    for w in 0..4 {
        let name = format!("m{w}");
        assert_eq!(store.progress(&name).unwrap().map(|p| p.block), Some(20));
        assert_eq!(store.load_module(&name).unwrap().pairs.len(), 20);
        assert_eq!(store.events(&name, 0, 100).unwrap().len(), 20);
    }
}
