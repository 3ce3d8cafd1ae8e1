//! Same chain => same checkpoint hashes, whatever the commit batch size, the ingester's
//! fetch size (which decides how empty blocks are coalesced), or restarts in between.

use opentoken_core::commitment::LtHash;
use opentoken_e2e::*;

const BLOCKS: u64 = 1250;

#[test]
fn batch_sizes_fetch_sizes_and_restarts_give_identical_hashes() {
    let spec = devnet_spec();
    let blocks = generate(&spec, 42, BLOCKS);
    let last = blocks.last().expect("blocks").num;
    let mut prints = Vec::new();
    for (commit_every, fetch_chunk) in [(1u64, 1000usize), (7, 13), (1000, 1), (1000, 1000)] {
        let dir = tempfile::tempdir().unwrap();
        let (log, store) = open(dir.path());
        publish(&spec, &log, &blocks, fetch_chunk);
        process(&spec, &log, &store, commit_every, last);
        prints.push(((commit_every, fetch_chunk), fingerprint(&store)));
    }
    // A run that stops and restarts (fresh Processor = fresh process state) every 333 blocks.
    {
        let dir = tempfile::tempdir().unwrap();
        let (log, store) = open(dir.path());
        publish(&spec, &log, &blocks, 250);
        let mut until = spec.starting_block + 333;
        while until < last {
            process(&spec, &log, &store, 50, until);
            until += 333;
        }
        process(&spec, &log, &store, 50, last);
        prints.push(((50, 250), fingerprint(&store)));
    }
    let (first_cfg, reference) = &prints[0];
    assert_eq!(reference.progress_block, Some(last));
    assert_eq!(
        reference.checkpoints.len() as u64,
        last / spec.checkpoint_interval,
        "a checkpoint every interval"
    );
    let distinct: std::collections::BTreeSet<_> = reference.checkpoints.iter().map(|c| c.hash).collect();
    assert_eq!(
        distinct.len(),
        reference.checkpoints.len(),
        "state changes between checkpoints"
    );
    for (cfg, fp) in &prints[1..] {
        assert_eq!(
            fp.checkpoints, reference.checkpoints,
            "checkpoints differ: {cfg:?} vs {first_cfg:?}"
        );
        assert_eq!(fp.state, reference.state, "state differs: {cfg:?} vs {first_cfg:?}");
    }
    // The last checkpoint's hash equals the commitment recomputed from a full state dump when
    // the state has not changed since (process to exactly that block).
    let cp = reference.checkpoints.last().expect("a checkpoint");
    let dir = tempfile::tempdir().unwrap();
    let (log, store) = open(dir.path());
    publish(&spec, &log, &blocks, 1000);
    process(&spec, &log, &store, 100, cp.block);
    let dump = store.load_module("token").unwrap().pairs;
    let recomputed = LtHash::from_pairs(dump.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).digest();
    // The checkpoint binds the messages the module sent in that block (still pending).
    let pending = store.pending_messages().unwrap();
    let outbox: Vec<&opentoken_core::Message> = pending.iter().filter(|m| m.from == "token").collect();
    assert_eq!(
        opentoken_core::module_checkpoint_hash(recomputed, &outbox),
        cp.hash,
        "full-dump commitment equals the incremental one"
    );
}

#[test]
fn different_chains_give_different_hashes() {
    let spec = devnet_spec();
    let mut hashes = Vec::new();
    for seed in [1u64, 2] {
        let blocks = generate(&spec, seed, 200);
        let dir = tempfile::tempdir().unwrap();
        let (log, store) = open(dir.path());
        publish(&spec, &log, &blocks, 1000);
        process(&spec, &log, &store, 100, blocks.last().unwrap().num);
        hashes.push(fingerprint(&store).checkpoints);
    }
    assert_ne!(hashes[0], hashes[1]);
}

/// The DEX chain (token, nodes, multisig, dex, nft, with generated DEX and NFT traffic): the same
/// checkpoint hashes and states of every module whatever the commit size, the fetch size or
/// restarts in between.
#[test]
fn the_dex_chain_gives_identical_hashes_across_batch_sizes_and_restarts() {
    let spec = devnet_dex_spec();
    let blocks = generate(&spec, 43, 500);
    let last = blocks.last().expect("blocks").num;
    let modules = ["token", "nodes", "multisig", "dex", "nft"];
    let prints = runs(&spec, &blocks, &modules);
    let (first, reference) = &prints[0];
    // The DEX really traded.
    let dex = &reference[3];
    assert!(
        dex.state.keys().any(|k| k.starts_with(b"trade/")),
        "no trade in 500 blocks"
    );
    assert!(dex.state.keys().any(|k| k.starts_with(b"ord/")), "no resting order");
    assert_eq!(dex.checkpoints.len() as u64, last / spec.checkpoint_interval);
    // And NFTs were minted from the generated NFT traffic.
    assert!(
        reference[4].state.keys().any(|k| k.starts_with(b"nft/")),
        "no NFT in 500 blocks"
    );
    for (cfg, fp) in &prints[1..] {
        for (i, m) in modules.iter().enumerate() {
            assert_eq!(
                fp[i].checkpoints, reference[i].checkpoints,
                "{m} checkpoints differ: {cfg:?} vs {first:?}"
            );
            assert_eq!(
                fp[i].state, reference[i].state,
                "{m} state differs: {cfg:?} vs {first:?}"
            );
        }
    }
}

/// The devnet with the token economy (a mint every 100 blocks, a DAO day every 300) and
/// Proof of Brain (generated posts and votes, paid 200 blocks after registration): the
/// same checkpoints and states whatever the commit size, the fetch size or restarts, every
/// mint, DAO day, payout, paid-record pruning and leader-vote round run (also across idle
/// ranges the processor skips), and every
/// token the economy created accounted for by the supply audit.
#[test]
fn the_economy_gives_identical_hashes_across_batch_sizes_and_restarts() {
    let mut spec = (*devnet_spec()).clone();
    let token = spec.modules.get_mut("token").expect("devnet has a token section");
    token["economy"] = serde_json::json!({"interest_rate": 20_000, "mint_every": 100, "dao_every": 300, "dao_offset": 5,
        "proof_of_brain": {"beneficiary": "dlux-io", "pending_blocks": 30, "reward_blocks": 200, "mana_regen_blocks": 2_000,
            "daily_pool_until": 0, "paid_keep_blocks": 250,
            "leader_votes": {"check_after": 50, "every": 60, "offset": 2, "keep_blocks": 100}}});
    let spec = std::sync::Arc::new(spec);
    let blocks = generate(&spec, 44, 700);
    let prints: Vec<_> = runs(&spec, &blocks, &["token"])
        .into_iter()
        .map(|(cfg, mut fp)| (cfg, fp.remove(0)))
        .collect();
    let (first, reference) = &prints[0];
    let state = opentoken_core::ModuleState::from_pairs(reference.state.clone());
    let stats = opentoken_token::stats_view(&state).expect("stats");
    let day = stats.last_dao.expect("a DAO day ran");
    assert_eq!(day.block % 300, 5);
    assert!(day.minted > 0 && day.to_delegators > 0, "{day:?}");
    // The delegators (the devnet's frank and whoever the traffic adds) were paid: what
    // stays in the pool is the floors' dust, less than the day's cut.
    assert!(
        stats.pools.get("rd").copied().unwrap_or(0) < day.to_delegators,
        "the delegators were paid: {stats:?}"
    );
    let audit = opentoken_token::supply_check(&state).expect("audit");
    assert!(audit.ok, "{}", audit.check);
    assert!(audit.in_pools > 0);
    // Proof of Brain ran on the generated posts and votes: posts were paid, others are
    // open with votes, some never named the beneficiary and were forgotten.
    let count = |p: &[u8]| reference.state.keys().filter(|k| k.starts_with(p)).count();
    assert!(count(b"paid/") > 0, "no post was paid in 700 blocks");
    assert!(count(b"pst/") > 0 && count(b"vot/") > 0, "no open post with votes");
    assert!(count(b"mana/") > 0, "no vote spent mana");
    assert!(count(b"lvd/") > 0, "no leader vote due at the end");
    assert!(stats.movingWeight.running > 0);
    for (cfg, fp) in &prints[1..] {
        assert_eq!(
            fp.checkpoints, reference.checkpoints,
            "checkpoints differ: {cfg:?} vs {first:?}"
        );
        assert_eq!(fp.state, reference.state, "state differs: {cfg:?} vs {first:?}");
    }
}

/// The settings each determinism run varies: (commit size, fetch size, restart every N
/// blocks; 0 = never).
type RunConfig = (u64, usize, u64);

/// `blocks` processed once per [`RunConfig`] (each in a fresh data directory), with the
/// fingerprints of `modules` after the last block.
fn runs(
    spec: &std::sync::Arc<opentoken_core::ChainSpec>,
    blocks: &[opentoken_core::Block],
    modules: &[&str],
) -> Vec<(RunConfig, Vec<Fingerprint>)> {
    let last = blocks.last().expect("blocks").num;
    let mut prints = Vec::new();
    for (commit_every, fetch_chunk, restart_every) in
        [(1u64, 1000usize, 0u64), (7, 13, 0), (1000, 1, 0), (50, 250, 233)]
    {
        let dir = tempfile::tempdir().unwrap();
        let (log, store) = open(dir.path());
        publish(spec, &log, blocks, fetch_chunk);
        if restart_every > 0 {
            let mut until = spec.starting_block + restart_every;
            while until < last {
                process(spec, &log, &store, commit_every, until);
                until += restart_every;
            }
        }
        process(spec, &log, &store, commit_every, last);
        let fp: Vec<Fingerprint> = modules.iter().map(|m| fingerprint_of(&store, m)).collect();
        prints.push(((commit_every, fetch_chunk, restart_every), fp));
    }
    prints
}
