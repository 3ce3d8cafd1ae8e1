//! Cases about module state, progress and the commit as a whole: atomicity, idempotence,
//! isolation between modules, persistence across reopening and concurrent committers.

use super::{commit, event, full_batch, lattice_for, module, msg, pairs, pos, snapshot, status, StoreHarness};
use crate::{CommitBatch, LoadedModule, Progress, Store};
use opentoken_core::ModuleCheckpoint;

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
