//! `opentoken import-state`: a state dump in the reference's `/state` shapes, built from a
//! generated devnet run at block N, imported into a chain that starts at N+1, gives a token
//! ledger equal to the run's key for key (balances, grants, schedules, delegations, nodes),
//! and the imported node then produces the token's checkpoints of the node that ran from
//! genesis; a dump with unknown or malformed paths is refused with the list of them.

use opentoken_core::engine::ErasedModule;
use opentoken_core::router::{RouteTable, Router};
use opentoken_core::test_utils::{devnet_spec, TestNet};
use opentoken_core::{Block, ChainSpec, ModuleState, StateRead};
use opentoken_e2e::pipeline::generate;
use opentoken_token::keys::{self, Bucket, Unlock};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Runs `blocks` on `net`, each op routed as the ingester routes it; returns the token's
/// checkpoint hashes.
fn feed(
    net: &mut TestNet,
    spec: &ChainSpec,
    modules: &[Arc<dyn ErasedModule>],
    blocks: &[Block],
) -> Vec<(u64, [u8; 32])> {
    let tables: Vec<&dyn RouteTable> = modules.iter().map(|m| m.as_ref() as &dyn RouteTable).collect();
    let router = Router::new(spec, tables);
    let mut checkpoints = Vec::new();
    for b in blocks {
        assert_eq!(net.next_block(), b.num, "blocks in order");
        let mut by_module: Vec<(&str, Vec<opentoken_core::HiveOp>)> = Vec::new();
        for op in b.transactions.iter().flat_map(|t| t.operations.iter()) {
            if let Some(m) = router.route(op) {
                match by_module.iter_mut().find(|(n, _)| *n == m) {
                    Some((_, ops)) => ops.push(op.clone()),
                    None => by_module.push((m, vec![op.clone()])),
                }
            }
        }
        let out = net.run_modules(by_module);
        checkpoints.extend(
            out.out
                .checkpoints
                .iter()
                .filter(|c| c.module == "token")
                .map(|c| (c.block, c.hash)),
        );
    }
    checkpoints
}

fn account_of(key: &[u8], prefix: &str) -> Option<String> {
    std::str::from_utf8(key.strip_prefix(prefix.as_bytes())?)
        .ok()
        .map(str::to_string)
}

/// The token (and runner) state as the reference's `/state` answer holds it: `balances`
/// (with the pools), `cbalances`, `pow` and `gov` with their `t`, `granting`/`granted`,
/// `powd`/`govd` keys into `chrono` entries, `delegations`, `markets.node`, `runners`,
/// `stats.tokenSupply`, and a feed the importer reports but does not import.
fn reference_dump(token: &ModuleState, runners: &[String]) -> Value {
    let mut s: Map<String, Value> = Map::new();
    let mut put = |path: &[&str], v: Value| {
        let mut node = &mut s;
        for p in &path[..path.len() - 1] {
            node = node
                .entry(p.to_string())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("an object");
        }
        node.insert(path[path.len() - 1].to_string(), v);
    };
    for (bucket, root) in [
        (Bucket::Liquid, "balances"),
        (Bucket::Claimable, "cbalances"),
        (Bucket::Power, "pow"),
        (Bucket::Gov, "gov"),
    ] {
        put(&[root, "dlux-io"], json!(0));
        for (k, v) in token.scan_prefix(bucket.prefix().as_bytes()) {
            let a = account_of(k, bucket.prefix()).expect("an account key");
            put(&[root, &a], json!(keys::decode_u64(v)));
        }
    }
    put(&["pow", "t"], json!(keys::amount(token, Bucket::Power.total_key())));
    put(&["gov", "t"], json!(keys::amount(token, Bucket::Gov.total_key())));
    for (k, v) in token.scan_prefix(b"gra/") {
        let (from, to) = account_of(k, "gra/")
            .and_then(|p| p.split_once('/').map(|(a, b)| (a.to_string(), b.to_string())))
            .expect("a grant key");
        put(&["granting", &from, &to], json!(keys::decode_u64(v)));
        put(
            &["granting", &from, "t"],
            json!(keys::amount(token, &keys::granting(&from))),
        );
        put(&["granted", &to, &from], json!(keys::decode_u64(v)));
        put(&["granted", &to, "t"], json!(keys::amount(token, &keys::granted(&to))));
    }
    for (k, v) in token.scan_prefix(keys::SCHEDULE_PREFIX) {
        let (block, unlock, account) = keys::parse_schedule(k).expect("a schedule key");
        let (root, op) = match unlock {
            Unlock::Power => ("powd", "power_down"),
            Unlock::Gov => ("govd", "gov_down"),
        };
        let chrono = format!("{block}:Qm{op}{account}");
        put(&[root, &account, &chrono], json!(chrono));
        put(
            &["chrono", &chrono],
            json!({"op": op, "by": account, "amount": keys::decode_u64(v), "block": block}),
        );
    }
    for (k, v) in token.scan_prefix(keys::DELEGATION_PREFIX.as_bytes()) {
        put(
            &["delegations", &account_of(k, keys::DELEGATION_PREFIX).expect("account")],
            json!(keys::decode_u64(v)),
        );
    }
    for (k, _) in token.scan_prefix(b"node/") {
        let a = account_of(k, "node/").expect("account");
        put(
            &["markets", "node", &a],
            json!({"domain": "", "self": a, "bidRate": 2000, "wins": 0}),
        );
    }
    for r in runners {
        put(&["runners", r], json!({"g": 1}));
    }
    put(&["stats", "tokenSupply"], json!(keys::amount(token, keys::SUPPLY)));
    put(&["feed", "1:abc"], json!("@alice| Sent @bob 1.000 DLUX"));
    json!({ "state": s })
}

#[test]
fn an_imported_state_equals_the_run_and_continues_with_its_checkpoints() {
    const N: u64 = 400;
    const M: u64 = 700;
    let spec = devnet_spec();
    let blocks = generate(&spec, 61, M);
    let modules = opentoken_registry::modules(&spec).expect("modules");
    let mut original = TestNet::new(spec.clone(), modules.clone());
    feed(&mut original, &spec, &modules, &blocks[..N as usize]);
    let token = original.state("token").clone();
    let runners: Vec<String> = opentoken_nodes::views::runners(original.state("nodes"))
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    let dump = reference_dump(&token, &runners);
    assert!(
        token.scan_prefix(b"sch/").next().is_some(),
        "the run left schedules under way"
    );
    assert!(token.scan_prefix(b"gra/").next().is_some(), "the run left grants");

    let base: Value = serde_json::from_str(
        &std::fs::read_to_string(opentoken_e2e::paths::repo_root().join("infra/chains/devnet.json")).expect("spec"),
    )
    .expect("json");
    let imported = opentoken_import::import_state(&dump, N, &base).expect("the dump imports");
    assert_eq!(imported.supply, keys::amount(&token, keys::SUPPLY));
    let reported: Vec<&str> = imported.not_imported.iter().map(|f| f.path.as_str()).collect();
    assert!(
        reported.contains(&"feed"),
        "the feed is reported, not dropped: {reported:?}"
    );
    let spec_n = ChainSpec::from_json(&imported.spec.to_string()).expect("a valid spec");
    assert_eq!(spec_n.starting_block, N + 1);
    let modules_n = opentoken_registry::modules(&spec_n).expect("the imported genesis is accepted");
    let mut resumed = TestNet::new(spec_n.clone(), modules_n.clone());
    assert!(
        resumed.state("token").pairs() == token.pairs(),
        "the imported ledger differs from the run's"
    );

    let want = feed(&mut original, &spec, &modules, &blocks[N as usize..]);
    let got = feed(&mut resumed, &spec_n, &modules_n, &blocks[N as usize..]);
    assert!(!want.is_empty());
    assert_eq!(
        got, want,
        "the imported node's token checkpoints differ from the node that ran from genesis"
    );
}

#[test]
fn a_dump_with_unknown_or_malformed_paths_is_refused_with_the_list() {
    let base: Value = serde_json::from_str(
        &std::fs::read_to_string(opentoken_e2e::paths::repo_root().join("infra/chains/devnet.json")).expect("spec"),
    )
    .expect("json");
    let dump = json!({"state": {
        "balances": {"alice": 5, "bob": 1.5, "Not-An-Account": 3},
        "pow": {"carol": -2, "t": 0},
        "powd": {"alice": {"500:Qmx": "500:Qmx"}},
        "granting": {"alice": {"bob": 4, "t": 4}},
        "granted": {"bob": {"alice": 3, "t": 3}},
        "wat": {"x": 1},
    }});
    let err = opentoken_import::import_state(&dump, 100, &base).expect_err("refused");
    let opentoken_import::ImportError::Refused(findings) = &err else {
        panic!("{err}")
    };
    let paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
    for want in [
        "balances/bob",
        "balances/Not-An-Account",
        "pow/carol",
        "powd/alice/500:Qmx",
        "granted/bob/alice",
        "wat",
    ] {
        assert!(paths.contains(&want), "{want} is not listed: {err}");
    }
    assert!(err.to_string().contains("nothing was imported"), "{err}");
    assert!(opentoken_import::import_state(&json!([1]), 1, &base).is_err());
}
