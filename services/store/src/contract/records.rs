//! Cases about what a commit records besides state: events and statuses in chain order,
//! checkpoints by block, pending messages in delivery order, and meta values.

use super::{commit, event, module, msg, pos, status, StoreHarness};
use crate::CommitBatch;
use opentoken_core::{ChainPos, ModuleCheckpoint};

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
        // Another transaction's status at a position "abc" has: both are kept.
        status("twin", pos(5, 2, 1), "token", false),
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
    assert_eq!(s.statuses("twin").unwrap(), vec![st[4].clone()]);
}

/// Statuses are kept for the last `keep_status_blocks` blocks behind their module's
/// progress: over commits spanning many windows (and several thousand blocks), after every
/// commit exactly the statuses of the window read back, to the block at its edge, and every
/// older one is gone; a transaction with ops on both sides of the edge keeps the newer op;
/// a module that never committed progress keeps its own.
pub fn statuses_expire_after_the_window(h: &dyn StoreHarness) {
    const KEEP: u64 = 10;
    let s = h.open_keeping_statuses("status-window", KEEP);
    assert_eq!(s.keep_status_blocks(), Some(KEEP));
    commit(
        s.as_ref(),
        &CommitBatch {
            statuses: vec![status("no-progress", pos(1, 0, 0), "dex", false)],
            ..Default::default()
        },
    );
    let mut written: Vec<(String, u64)> = Vec::new();
    for (i, block) in (250..=3250u64).step_by(250).enumerate() {
        // One op long expired, one at the edge of the window (expired at once), the oldest
        // kept one, and one at the committed block.
        let at = [block - 100, block - KEEP, block - KEEP + 1, block];
        let mut statuses: Vec<_> = at
            .iter()
            .map(|b| status(&format!("c{i}-{b}"), pos(*b, 0, 0), "token", i % 2 == 0))
            .collect();
        statuses.push(status("split", pos(block - KEEP, 1, 0), "token", false));
        statuses.push(status("split", pos(block, 1, 0), "token", true));
        written.extend(at.iter().map(|b| (format!("c{i}-{b}"), *b)));
        commit(
            s.as_ref(),
            &CommitBatch {
                modules: vec![module("token", block, i as u64 + 1, vec![])],
                statuses,
                ..Default::default()
            },
        );
        for (txid, b) in &written {
            let got = s.statuses(txid).unwrap();
            if *b + KEEP > block {
                assert_eq!(got.len(), 1, "{txid} (block {b}) is in the window at progress {block}");
                assert_eq!(got[0].pos, pos(*b, 0, 0));
            } else {
                assert!(
                    got.is_empty(),
                    "{txid} (block {b}) expired at progress {block}: {got:?}"
                );
            }
        }
        let split: Vec<ChainPos> = s.statuses("split").unwrap().iter().map(|s| s.pos).collect();
        assert_eq!(split, vec![pos(block, 1, 0)], "at progress {block}");
    }
    assert_eq!(s.statuses("no-progress").unwrap().len(), 1);
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
