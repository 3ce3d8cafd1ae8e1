//! `opentoken import-state`: a state dump in the reference's `/state` shapes, built from a
//! generated devnet run at block N, imported into a chain that starts at N+1, gives a token
//! ledger equal to the run's key for key (balances, grants, schedules, delegations, nodes),
//! and the imported node then produces the token's checkpoints of the node that ran from
//! genesis; a dump with unknown or malformed paths is refused with the list of them.

use opentoken_core::engine::ErasedModule;
use opentoken_core::router::{RouteTable, Router};
use opentoken_core::test_utils::{devnet_spec, TestNet};
use opentoken_core::{Block, ChainSpec, ModuleState, StateRead};
use opentoken_dex::{Pair, Side};
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
    let mut put = |path: &[&str], v: Value| opentoken_e2e::put_path(&mut s, path, v);
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
        resumed.state("token").to_map() == token.to_map(),
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

fn cj(from: &str, name: &str, json: Value) -> opentoken_core::HiveOp {
    opentoken_core::test_utils::custom_json(&format!("dlux_{name}"), &[from], &[], &json.to_string())
}

fn deposit(from: &str, milli: i64, symbol: opentoken_core::AssetSymbol, memo: &str) -> opentoken_core::HiveOp {
    opentoken_core::HiveOp::Transfer(opentoken_core::TransferOp {
        from: from.into(),
        to: "dlux-cc".into(),
        amount: opentoken_core::Asset::new(milli, symbol),
        memo: memo.into(),
    })
}

fn dex_route(op: &opentoken_core::HiveOp) -> &'static str {
    match op {
        opentoken_core::HiveOp::Transfer(_) => "multisig",
        opentoken_core::HiveOp::CustomJson(c) if c.id.ends_with("dex_sell") => "token",
        _ => "dex",
    }
}

/// What identifies a resting order across the import: everything but its sequence number,
/// its fill counters and its time (the reference's dump has none of them).
fn resting(net: &TestNet) -> Vec<(Pair, Side, String, String, u64, u64, u64)> {
    let mut out = Vec::new();
    for pair in [Pair::Hive, Pair::Hbd] {
        for side in [Side::Ask, Side::Bid] {
            for o in opentoken_dex::views::book(net.state("dex"), pair, side, usize::MAX) {
                out.push((pair, side, o.id, o.from, o.price, o.amount, o.expires));
            }
        }
    }
    out
}

/// The DEX's books as the reference's `/state` holds them: `dex/<pair>/{sellOrders,
/// buyOrders}` keyed `<rate>:<txid>`, the book strings in price-time priority, the ticks,
/// and each order's mirror under `contracts/`.
fn reference_dex(net: &TestNet, dump: &mut Value) {
    use opentoken_dex::price::format_rate;
    let dex_cfg = opentoken_dex::DexConfig::from_spec(net.spec())
        .expect("dex")
        .expect("a dex section");
    let s = dump["state"].as_object_mut().expect("state");
    for pair in [Pair::Hive, Pair::Hbd] {
        let p = pair.lower();
        let mut entry = json!({"tick": format_rate(opentoken_dex::views::tick(&dex_cfg, net.state("dex"), pair))});
        for side in [Side::Ask, Side::Bid] {
            let (orders_key, book_key, kind) = match side {
                Side::Ask => ("sellOrders", "sellBook", "sell"),
                Side::Bid => ("buyOrders", "buyBook", "buy"),
            };
            let mut levels: Vec<(String, Vec<String>)> = Vec::new();
            let mut orders = Map::new();
            for o in opentoken_dex::views::book(net.state("dex"), pair, side, usize::MAX) {
                let rate = format_rate(o.price);
                match levels.last_mut() {
                    Some((r, ids)) if *r == rate => ids.push(o.id.clone()),
                    _ => levels.push((rate.clone(), vec![o.id.clone()])),
                }
                let (tokens, coin) = match side {
                    Side::Ask => (o.amount, 0),
                    Side::Bid => (0, o.amount),
                };
                let contract = json!({
                    "txid": o.id, "from": o.from, "amount": tokens, "fee": 0,
                    "hive": if pair == Pair::Hive { coin } else { 0 },
                    "hbd": if pair == Pair::Hbd { coin } else { 0 },
                    "rate": rate, "block": o.block, "type": format!("{p}:{kind}"),
                    "hive_id": o.txid, "expire_path": format!("{}:QmExpire{}", o.expires, o.id),
                });
                s.entry("contracts")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .expect("contracts")
                    .entry(o.from.clone())
                    .or_insert_with(|| json!({}))[&o.id] = contract.clone();
                orders.insert(format!("{rate}:{}", o.id), contract);
            }
            let book: Vec<String> = levels
                .into_iter()
                .map(|(r, ids)| format!("{r}_{}", ids.join("_")))
                .collect();
            entry[orders_key] = Value::Object(orders);
            entry[book_key] = json!(book.join(","));
        }
        s.entry("dex").or_insert_with(|| json!({}))[p] = entry;
    }
}

#[test]
fn resting_dex_orders_are_carried_in_their_priority_and_trade_alike() {
    use opentoken_core::AssetSymbol::{Hbd, Hive};
    let mut base: Value = serde_json::from_str(
        &std::fs::read_to_string(opentoken_e2e::paths::repo_root().join("infra/chains/devnet-multisig.json"))
            .expect("spec"),
    )
    .expect("json");
    // No safety limit: the deposits here are not capped (the limit has its own tests).
    base["modules"]["multisig"] = json!({});
    let spec = ChainSpec::from_json(&base.to_string()).expect("spec");
    let modules = opentoken_registry::modules(&spec).expect("modules");
    let mut original = TestNet::new(spec.clone(), modules);
    let run = |net: &mut TestNet, ops| opentoken_e2e::routed::run_routed(net, ops, dex_route);
    // Two ask levels on HIVE with two orders at one price (time priority), an HBD ask,
    // bids on both pairs with a shared level, then a partial fill of the best ask.
    run(
        &mut original,
        vec![
            cj("alice", "dex_sell", json!({"dlux": 10_000, "hive": 2_000})),
            cj("bob", "dex_sell", json!({"dlux": 5_000, "hive": 1_000})),
            cj("carol", "dex_sell", json!({"dlux": 4_000, "hive": 1_000})),
            cj("dave", "dex_sell", json!({"dlux": 8_000, "hbd": 160})),
        ],
    );
    run(
        &mut original,
        vec![
            deposit("erin", 30_000, Hive, "{\"rate\":\"0.100000\"}"),
            deposit("frank", 5_000, Hive, "{\"rate\":\"0.100000\"}"),
            deposit("grace", 2_000, Hive, "{\"rate\":\"0.090000\"}"),
            deposit("heidi", 3_000, Hbd, "{\"rate\":\"0.010000\"}"),
        ],
    );
    run(&mut original, vec![deposit("ivan", 500, Hive, "{\"dex\":{}}")]);
    // The DEX matches at the next block's start and its credits reach the token the block
    // after: the dump is taken with nothing in flight, as the reference's always is.
    for _ in 0..3 {
        original.run_modules(vec![]);
    }
    assert!(original.pending_messages().is_empty());
    let n = original.next_block() - 1;
    let before = resting(&original);
    assert_eq!(before.len(), 8, "{before:#?}");
    assert!(
        before
            .iter()
            .any(|o| o.1 == Side::Ask && o.3 == "alice" && o.5 < 10_000),
        "the market buy filled part of the best ask: {before:#?}"
    );

    let mut dump = reference_dump(original.state("token"), &[]);
    reference_dex(&original, &mut dump);
    let imported = opentoken_import::import_state(&dump, n, &base).expect("the dump imports");
    let escrowed = keys::amount(original.state("token"), keys::DEX_ESCROW);
    assert!(escrowed > 0);
    assert_eq!(
        imported.spec["modules"]["token"]["genesis"]["dex_orders"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    let spec_n = ChainSpec::from_json(&imported.spec.to_string()).expect("a valid spec");
    let modules_n = opentoken_registry::modules(&spec_n).expect("the imported genesis is accepted");
    let mut resumed = TestNet::new(spec_n, modules_n);
    assert_eq!(keys::amount(resumed.state("token"), keys::DEX_ESCROW), escrowed);
    for coin in [
        opentoken_multisig::keys::Coin::Hive,
        opentoken_multisig::keys::Coin::Hbd,
    ] {
        let key = opentoken_multisig::keys::total_escrow("dex", coin);
        assert_eq!(
            keys::amount(resumed.state("multisig"), &key),
            keys::amount(original.state("multisig"), &key),
            "the coin the DEX holds"
        );
    }
    resumed.run_modules(vec![]);
    original.run_modules(vec![]);
    assert_eq!(resting(&resumed), before, "the books rest in the same priority");
    for pair in [Pair::Hive, Pair::Hbd] {
        let cfg = |net: &TestNet| {
            opentoken_dex::DexConfig::from_spec(net.spec())
                .expect("dex")
                .expect("dex")
        };
        assert_eq!(
            opentoken_dex::views::tick(&cfg(&resumed), resumed.state("dex"), pair),
            opentoken_dex::views::tick(&cfg(&original), original.state("dex"), pair),
            "the last price"
        );
    }

    // Takers that sweep every book: the same fills, to the same accounts, on both.
    let dave = before.iter().find(|o| o.3 == "dave").map(|o| o.2.clone());
    let sweep = vec![
        cj("dave", "dex_clear", json!({ "txid": dave })),
        cj("judy", "dex_sell", json!({"dlux": 20_000, "pair": "HIVE"})),
        cj("judy", "dex_sell", json!({"dlux": 20_000, "pair": "HBD"})),
        deposit("dlux-io", 20_000, Hive, "{\"dex\":{}}"),
        deposit("dlux-io", 5_000, Hbd, "{\"dex\":{}}"),
    ];
    let (_, got) = run(&mut resumed, sweep.clone());
    let (_, want) = run(&mut original, sweep);
    assert_eq!(got, want, "the sweeping ops' outcomes");
    for _ in 0..3 {
        resumed.run_modules(vec![]);
        original.run_modules(vec![]);
    }
    assert_eq!(resting(&resumed), resting(&original));
    let trades = |net: &TestNet| {
        [Pair::Hive, Pair::Hbd]
            .into_iter()
            .flat_map(|p| opentoken_dex::views::trades(net.state("dex"), p, 100))
            .filter(|t| t.block > n + 1)
            .map(|t| {
                // Trade numbers count the pair's trades since each chain's start.
                let mut v = serde_json::to_value(t).expect("json");
                v.as_object_mut().expect("trade").remove("seq");
                v
            })
            .collect::<Vec<_>>()
    };
    let got = trades(&resumed);
    assert!(got.len() >= 5, "the sweep traded with every resting order: {got:#?}");
    assert_eq!(got, trades(&original), "the trades after the import");
    for account in ["alice", "bob", "carol", "dave", "judy", "dlux-io"] {
        assert_eq!(
            keys::amount(resumed.state("token"), format!("bal/{account}").as_bytes()),
            keys::amount(original.state("token"), format!("bal/{account}").as_bytes()),
            "@{account}'s liquid tokens"
        );
    }
    let outflows = |net: &TestNet| {
        let mut v: Vec<Value> = net
            .state("multisig")
            .scan_prefix(b"out/")
            .map(|(_, o)| serde_json::from_slice::<Value>(o).expect("an outflow"))
            .filter(|o| o["created_block"].as_u64() > Some(n + 1))
            .map(|mut o| {
                let o_ = o.as_object_mut().expect("outflow");
                o_.remove("state");
                // The memo ends with the outflow's number, which counts since each
                // chain's start.
                let memo = o_["memo"]
                    .as_str()
                    .and_then(|m| m.rsplit_once(" ot:"))
                    .map(|(m, _)| m.to_string());
                o_.insert("memo".into(), json!(memo));
                o
            })
            .collect();
        v.sort_by_key(|o| o.to_string());
        v
    };
    let got = outflows(&resumed);
    assert!(!got.is_empty(), "sellers' proceeds and unspent coin go out to Hive");
    assert_eq!(got, outflows(&original), "the payments after the import");
}

/// The reference's node records carry their API URL, votes (clamped as `node_add` clamps)
/// and counters into the nodes module; the keys are opentoken's, so an imported node's
/// report is refused, telling it to register one, until it does.
#[test]
fn node_records_carry_their_votes_and_counters() {
    let base: Value = serde_json::from_str(
        &std::fs::read_to_string(opentoken_e2e::paths::repo_root().join("infra/chains/devnet.json")).expect("spec"),
    )
    .expect("json");
    let dump = json!({"state": {
        "gov": {"alice": 5_000, "bob": 4_000, "t": 9_000},
        "markets": {"node": {
            "alice": {"domain": "https://alice.example", "self": "alice", "bidRate": 2000, "dm": 9000, "ds": 30,
                      "dv": 1200, "attempts": 77, "yays": 70, "wins": 12, "strikes": 1, "lastGood": 5_000,
                      "burned": 0, "moved": 0, "contracts": 0, "escrows": 0, "report": {}, "mskey": "STM5abc"},
            "bob": {"domain": "not a url", "self": "bob", "bidRate": "400", "attempts": 3},
        }},
        "runners": {"alice": {"g": 5_000}},
    }});
    let imported = opentoken_import::import_state(&dump, 6_000, &base).expect("imports");
    let reported: Vec<&str> = imported.not_imported.iter().map(|f| f.path.as_str()).collect();
    for p in ["markets/node", "markets/node/alice/bidRate", "markets/node/bob/domain"] {
        assert!(reported.contains(&p), "{p} is not reported: {reported:?}");
    }
    let spec = ChainSpec::from_json(&imported.spec.to_string()).expect("a valid spec");
    let modules = opentoken_registry::modules(&spec).expect("the imported genesis is accepted");
    let mut net = TestNet::new(spec, modules);
    let record = |net: &TestNet, a: &str| -> opentoken_nodes::NodeRecord {
        serde_json::from_slice(
            net.state("nodes")
                .get(&opentoken_nodes::keys::node(a))
                .expect("a record"),
        )
        .expect("json")
    };
    let alice = record(&net, "alice");
    assert_eq!(
        (
            alice.domain.as_str(),
            alice.bid_rate,
            alice.dm,
            alice.ds,
            alice.dv,
            alice.liquidity
        ),
        ("https://alice.example", 1000, 9000, 30, 1200, 100)
    );
    assert_eq!(
        (
            alice.attempts,
            alice.yays,
            alice.wins,
            alice.strikes,
            alice.last_good,
            alice.active
        ),
        (77, 70, 12, 1, 5_000, true)
    );
    assert_eq!((alice.report_key.as_str(), alice.mskey.clone()), ("", None));
    let bob = record(&net, "bob");
    assert_eq!((bob.domain.as_str(), bob.bid_rate, bob.attempts), ("", 400, 3));

    let report = cj(
        "alice",
        "report",
        json!({"block": 6_000, "hash": "00".repeat(32), "sig": "00".repeat(64)}),
    );
    let out = net.run("nodes", vec![report]);
    match &out.status(0).outcome {
        opentoken_core::Outcome::Rejected { reason, .. } => {
            assert!(reason.contains("register one with node_add"), "{reason}")
        }
        other => panic!("an imported node's report counted: {other:?}"),
    }
}

/// The economy's and Proof of Brain's state as the reference's `/state` holds it, added to
/// [`reference_dump`]'s: the pools as `balances/ra|rn|rm|rd|rc`, each runner's `wins` in
/// `markets.node`, `stats.nodeRate` and `stats.movingWeight {running, dailyPool}` (the last
/// DAO day's content share), `pend/<author/permlink>` with its `block_num`, `posts/<a>/<p>`
/// with `block` and `votes {voter: {b, v}}`, the `up`/`down` meters `{max, last, power}`, and
/// `paid/<tally>/<a>/<p>` with `t.totalWeight`, `author_payout` and the curation as votes' `p`;
/// a post whose voting closed by `at` is in `pendingpayment`, as the reference's `post_reward`
/// moves it.
fn reference_economy(token: &ModuleState, dump: &mut Value, pending_blocks: u64, at: u64) {
    use opentoken_token::keys::pob as k;
    let s = dump["state"].as_object_mut().expect("a state");
    let mut put = |path: &[&str], v: Value| opentoken_e2e::put_path(s, path, v);
    for pool in keys::Pool::ALL {
        put(&["balances", pool.name()], json!(keys::amount(token, &pool.key())));
    }
    for (key, v) in token.scan_prefix(keys::WINS_PREFIX.as_bytes()) {
        let a = account_of(key, keys::WINS_PREFIX).expect("a wins key");
        put(&["markets", "node", &a, "wins"], json!(keys::decode_u64(v)));
    }
    if let Some(rate) = token.get(keys::NODE_RATE) {
        put(&["stats", "nodeRate"], json!(keys::decode_u64(rate)));
    }
    put(
        &["stats", "movingWeight", "running"],
        json!(keys::amount(token, k::MOVING_WEIGHT)),
    );
    if let Some(day) = token.get(keys::LAST_DAY) {
        let day: Value = serde_json::from_slice(day).expect("the DAO day");
        put(&["stats", "movingWeight", "dailyPool"], day["to_content"].clone());
    }
    for (key, v) in token.scan_prefix(k::PENDING_PREFIX.as_bytes()) {
        let post = account_of(key, k::PENDING_PREFIX).expect("a pending post");
        let expires = keys::decode_u64(v).expect("an expiry");
        put(&["pend", &post], json!({"block_num": expires - pending_blocks}));
    }
    for (key, v) in token.scan_prefix(k::POST_PREFIX.as_bytes()) {
        let post = account_of(key, k::POST_PREFIX).expect("a post");
        let (author, permlink) = post.split_once('/').expect("author/permlink");
        let registered = keys::decode_u64(&v[..8]).expect("a block");
        let closes = keys::decode_u64(&v[8..16]).expect("a block");
        // The reference moves a post whose voting closed to `pendingpayment` until its tally.
        let root = if closes <= at { "pendingpayment" } else { "posts" };
        let mut votes = Map::new();
        for (vk, vv) in token.scan_prefix(k::votes_of(author, permlink).as_bytes()) {
            let voter = std::str::from_utf8(&vk[k::votes_of(author, permlink).len()..]).expect("utf-8");
            let b = u64::from_be_bytes(vv[..8].try_into().expect("8 bytes"));
            let value = i64::from_be_bytes(vv[8..16].try_into().expect("8 bytes"));
            votes.insert(voter.to_string(), json!({"b": b, "v": value}));
        }
        put(
            &[root, author, permlink],
            json!({"author": author, "permlink": permlink, "block": registered, "votes": votes}),
        );
    }
    let max_of = |acct: &str| {
        let power =
            keys::amount(token, &keys::account(Bucket::Power, acct)) + keys::amount(token, &keys::granted(acct));
        power.min(opentoken_token::pob::MAX_VOTING_POWER) * 50
    };
    for (key, v) in token.scan_prefix(b"mana/") {
        let acct = account_of(key, "mana/").expect("a meter");
        let m = opentoken_token::pob::Mana::decode(v).expect("a meter");
        let max = max_of(&acct);
        put(
            &["up", &acct],
            json!({"max": max, "last": m.up_last, "power": m.up_power}),
        );
        put(
            &["down", &acct],
            json!({"max": max, "last": m.down_last, "power": m.down_power}),
        );
    }
    for (key, v) in token.scan_prefix(k::PAID_PREFIX.as_bytes()) {
        let post = account_of(key, k::PAID_PREFIX).expect("a paid post");
        let (author, permlink) = post.split_once('/').expect("author/permlink");
        let paid: Value = serde_json::from_slice(v).expect("a paid record");
        let tally = paid["block"].to_string();
        put(
            &["paid", &tally, author, permlink],
            json!({"author": author, "permlink": permlink, "t": {"totalWeight": paid["weight"]},
                   "author_payout": paid["author_share"], "votes": {"curators": {"p": paid["curation"]}}}),
        );
    }
}

/// The economy and Proof of Brain imported mid-run: the devnet with the economy of
/// `devnet-multisig.json` (a DAO day every 600 blocks, tallies every 100, posts and votes
/// from the simulator) dumped at 1,450, after a DAO day and two tallies that paid posts,
/// with posts pending, open with votes, closed and waiting for their tally (the reference's
/// `pendingpayment`), and paid. The imported ledger equals the run's key
/// for key but for the last DAO day's record (`eco/day`), of which the reference keeps only
/// the content share; the next DAO day (1,805) rewrites it, and from there the imported
/// node's token checkpoints are the run's.
#[test]
fn an_imported_economy_equals_the_run_and_its_checkpoints_from_the_next_dao_day() {
    const N: u64 = 1_450;
    const M: u64 = 2_000;
    let root = opentoken_e2e::paths::repo_root();
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(root.join("infra/chains").join(name)).expect("spec"))
            .expect("json")
    };
    let mut base = read("devnet.json");
    let economy = read("devnet-multisig.json")["modules"]["token"]["economy"].clone();
    let pending_blocks = economy["proof_of_brain"]["pending_blocks"]
        .as_u64()
        .expect("pending_blocks");
    base["modules"]["token"]["economy"] = economy;
    let spec = ChainSpec::from_json(&base.to_string()).expect("a spec with the economy");
    let blocks = generate(&spec, 62, M);
    let modules = opentoken_registry::modules(&spec).expect("modules");
    let mut original = TestNet::new(spec.clone(), modules.clone());
    feed(&mut original, &spec, &modules, &blocks[..N as usize]);
    let token = original.state("token").clone();
    for (prefix, what) in [
        ("pnd/", "posts waiting for options"),
        ("pst/", "posts open for votes"),
        ("vot/", "votes"),
        ("paid/", "paid posts"),
        ("mana/", "meters"),
    ] {
        assert!(
            token.scan_prefix(prefix.as_bytes()).next().is_some(),
            "the run left no {what}"
        );
    }
    let runners: Vec<String> = opentoken_nodes::views::runners(original.state("nodes"))
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    let mut dump = reference_dump(&token, &runners);
    reference_economy(&token, &mut dump, pending_blocks, N);
    assert!(
        dump["state"]["pendingpayment"]
            .as_object()
            .is_some_and(|m| !m.is_empty()),
        "posts whose voting closed wait for their tally at N"
    );

    let imported = opentoken_import::import_state(&dump, N, &base).expect("the dump imports");
    let spec_n = ChainSpec::from_json(&imported.spec.to_string()).expect("a valid spec");
    let modules_n = opentoken_registry::modules(&spec_n).expect("the imported genesis is accepted");
    let mut resumed = TestNet::new(spec_n.clone(), modules_n.clone());
    let differing: Vec<String> = {
        let (a, b) = (token.to_map(), resumed.state("token").to_map());
        a.keys()
            .chain(b.keys())
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    assert_eq!(
        differing,
        vec!["eco/day".to_string()],
        "only the last DAO day's record may differ"
    );

    let want = feed(&mut original, &spec, &modules, &blocks[N as usize..]);
    let got = feed(&mut resumed, &spec_n, &modules_n, &blocks[N as usize..]);
    let next_day = 1_805;
    let after = |c: &[(u64, [u8; 32])]| c.iter().filter(|(b, _)| *b > next_day).cloned().collect::<Vec<_>>();
    assert!(!after(&want).is_empty(), "checkpoints after the next DAO day");
    assert_eq!(
        after(&got),
        after(&want),
        "after the next DAO day the imported node's token checkpoints are the run's"
    );
    assert!(
        resumed.state("token").to_map() == original.state("token").to_map(),
        "the two ledgers are equal at the end"
    );
}
