//! Module messages between processes: the token and nodes modules message each other
//! (governance stake one way, registrations the other). Run co-located in one engine and as
//! two processors that only share the log (`<community>.messages.<module>`), stepped in
//! different interleavings, with different commit sizes and restarts, they must end with
//! identical state and checkpoint hashes, and neither may wait on the other forever.

use opentoken_core::{CustomJsonOp, HiveOp, Transaction};
use opentoken_e2e::*;
use opentoken_processor::{Processor, ProcessorConfig, Step};
use opentoken_telemetry::Telemetry;
use std::sync::Arc;

const BLOCKS: u64 = 900;

/// Generated traffic plus node registrations (valid proofs of possession), so that
/// messages flow both ways.
fn chain(spec: &opentoken_core::ChainSpec) -> Vec<opentoken_core::Block> {
    let mut blocks = generate(spec, 7, BLOCKS);
    for (i, (account, at)) in [("carol", 40u64), ("erin", 333), ("judy", 612)].into_iter().enumerate() {
        let key = opentoken_checkpointer::NodeKey::from_seed([i as u8 + 1; 32]);
        let pk = key.public().to_bytes();
        let domain = format!("https://{account}.example");
        let pop_block = at - 1;
        let bytes = opentoken_nodes::node_add_signing_bytes(
            &spec.hive_chain_id(),
            &spec.prefix,
            account,
            &domain,
            &pk,
            "",
            pop_block,
        );
        let json = opentoken_nodes::node_add_json(&domain, &pk, pop_block, &key.sign(&bytes), None);
        let b = blocks.iter_mut().find(|b| b.num == at).expect("block");
        b.transactions.push(Transaction {
            txid: format!("{:040x}", at),
            operations: vec![HiveOp::CustomJson(CustomJsonOp {
                required_auths: vec![account.to_string()],
                required_posting_auths: vec![],
                id: format!("{}node_add", spec.prefix),
                json,
            })],
        });
    }
    blocks
}

fn open_one(
    spec: &Arc<opentoken_core::ChainSpec>,
    module: &str,
    log: &Arc<dyn opentoken_log::Log>,
    store: &Arc<dyn opentoken_store::Store>,
    commit_every: u64,
    until: u64,
) -> Processor {
    let all = opentoken_registry::modules(spec).expect("modules");
    let local = vec![module.to_string()];
    let m = opentoken_registry::find(&all, module).expect("module");
    let cfg = ProcessorConfig {
        commit_every_blocks: commit_every,
        until_block: Some(until),
        links: opentoken_registry::message_links(&all, &local),
        ..Default::default()
    };
    Processor::open(
        spec.clone(),
        vec![m],
        log.clone(),
        store.clone(),
        cfg,
        Arc::new(Telemetry::new()),
    )
    .expect("processor")
}

#[test]
fn separate_processors_equal_one_engine() {
    let spec = devnet_spec();
    let blocks = chain(&spec);
    let last = blocks.last().expect("blocks").num;

    let reference = tempfile::tempdir().expect("tmp");
    let (ref_log, ref_store) = open(reference.path());
    publish(&spec, &ref_log, &blocks, 100);
    process(&spec, &ref_log, &ref_store, 50, last);
    let want_token = fingerprint_of(&ref_store, "token");
    let want_nodes = fingerprint_of(&ref_store, "nodes");
    // The exchange really happened both ways.
    assert!(
        want_nodes.state.keys().any(|k| k.starts_with(b"gov/")),
        "gov reached nodes"
    );
    assert!(
        want_nodes.state.keys().any(|k| k.starts_with(b"node/carol")),
        "carol registered"
    );

    // (token commit size, nodes commit size, fetch chunk, restart every n steps, token first)
    for (ct, cn, chunk, restart, token_first) in [
        (1u64, 1000u64, 1000usize, 0usize, true),
        (37, 5, 13, 0, false),
        (1000, 1, 1, 7, true),
        (100, 100, 250, 3, false),
    ] {
        let dirs = [tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp")];
        let (log, _) = open(dirs[0].path());
        publish(&spec, &log, &blocks, chunk);
        let token_store = open(&dirs[0].path().join("token")).1;
        let nodes_store = open(&dirs[1].path().join("nodes")).1;
        let mut t = open_one(&spec, "token", &log, &token_store, ct, last);
        let mut n = open_one(&spec, "nodes", &log, &nodes_store, cn, last);
        let (mut t_done, mut n_done) = (false, false);
        let mut idle_rounds = 0;
        let mut steps = 0usize;
        while !(t_done && n_done) {
            let mut progressed = false;
            for which in if token_first { [0, 1] } else { [1, 0] } {
                let (p, done) = if which == 0 {
                    (&mut t, &mut t_done)
                } else {
                    (&mut n, &mut n_done)
                };
                if *done {
                    continue;
                }
                match p.step().expect("step") {
                    Step::Done => *done = true,
                    Step::Advanced(_) => progressed = true,
                    Step::Idle => {}
                }
            }
            steps += 1;
            idle_rounds = if progressed { 0 } else { idle_rounds + 1 };
            assert!(
                idle_rounds < 3,
                "deadlock: token at {:?}, nodes at {:?} ({ct}/{cn}/{chunk})",
                t.last_block(),
                n.last_block()
            );
            if restart > 0 && steps.is_multiple_of(restart) {
                // A fresh process: everything comes back from the store and the log.
                t = open_one(&spec, "token", &log, &token_store, ct, last);
                n = open_one(&spec, "nodes", &log, &nodes_store, cn, last);
                // And a sender that crashed between publishing and committing publishes its
                // last batches again: receivers must not deliver them twice.
                for to in ["token", "nodes"] {
                    let topic = format!("{}.messages.{to}", spec.name);
                    let end = log.end_offset(&topic).expect("end");
                    let again: Vec<_> = log
                        .read(&topic, end.saturating_sub(3), 3)
                        .expect("read")
                        .into_iter()
                        .map(|r| (r.key, r.value))
                        .collect();
                    log.append(&[(topic, again)]).expect("append");
                }
            }
        }
        let cfg = format!("commits {ct}/{cn}, fetch {chunk}, restart every {restart}");
        assert_eq!(
            fingerprint_of(&token_store, "token"),
            want_token,
            "token differs: {cfg}"
        );
        assert_eq!(
            fingerprint_of(&nodes_store, "nodes"),
            want_nodes,
            "nodes differs: {cfg}"
        );
    }
}

/// The DEX chain as five processors that share only the log (token, nodes, multisig, the
/// DEX and the NFT module each alone, as `opentoken process --module M` runs them), stepped
/// in different orders with different commit sizes and restarts: every module ends with
/// the state and checkpoints of the co-located engine, and none waits on another forever.
/// The DEX and the NFT module send in reaction to messages, so they and their senders
/// advance in step.
#[test]
fn the_dex_as_its_own_processor_equals_one_engine() {
    let spec = devnet_dex_spec();
    let blocks = generate(&spec, 44, 260);
    let last = blocks.last().expect("blocks").num;
    let names = ["token", "nodes", "multisig", "dex", "nft"];

    let reference = tempfile::tempdir().expect("tmp");
    let (ref_log, ref_store) = open(reference.path());
    publish(&spec, &ref_log, &blocks, 100);
    process(&spec, &ref_log, &ref_store, 50, last);
    let want: Vec<_> = names.iter().map(|m| fingerprint_of(&ref_store, m)).collect();
    assert!(want[3].state.keys().any(|k| k.starts_with(b"trade/")), "the DEX traded");
    assert!(want[4].state.keys().any(|k| k.starts_with(b"nft/")), "NFTs were minted");

    // (commit sizes per module, fetch chunk, restart every n rounds, stepping order)
    for (commits, chunk, restart, order) in [
        ([1u64, 1000, 7, 1, 13], 1000usize, 0usize, [0usize, 1, 2, 3, 4]),
        ([1000, 3, 100, 37, 1], 13, 9, [4, 3, 2, 1, 0]),
        ([50, 50, 1, 1000, 29], 250, 23, [2, 4, 0, 3, 1]),
    ] {
        let root = tempfile::tempdir().expect("tmp");
        let (log, _) = open(&root.path().join("log"));
        publish(&spec, &log, &blocks, chunk);
        let stores: Vec<_> = names.iter().map(|m| open(&root.path().join(m)).1).collect();
        let open_all = || -> Vec<Processor> {
            names
                .iter()
                .enumerate()
                .map(|(i, m)| open_one(&spec, m, &log, &stores[i], commits[i], last))
                .collect()
        };
        let mut procs = open_all();
        let mut done = [false; 5];
        let (mut idle_rounds, mut rounds) = (0, 0usize);
        while done.iter().any(|d| !d) {
            let mut progressed = false;
            for &i in &order {
                if done[i] {
                    continue;
                }
                match procs[i].step().expect("step") {
                    Step::Done => done[i] = true,
                    Step::Advanced(_) => progressed = true,
                    Step::Idle => {}
                }
            }
            rounds += 1;
            idle_rounds = if progressed { 0 } else { idle_rounds + 1 };
            let at: Vec<_> = procs.iter().map(|p| p.last_block()).collect();
            assert!(idle_rounds < 3, "deadlock at {at:?} ({commits:?}/{chunk}/{order:?})");
            if restart > 0 && rounds.is_multiple_of(restart) {
                procs = open_all();
            }
        }
        for (i, m) in names.iter().enumerate() {
            assert_eq!(
                fingerprint_of(&stores[i], m),
                want[i],
                "{m} differs: commits {commits:?}, fetch {chunk}, restart {restart}, order {order:?}"
            );
        }
    }
}
