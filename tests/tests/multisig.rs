//! The community's multi-sig account end to end: four `opentoken run` nodes (separate
//! processes, data directories, Hive active keys and multi-sig key files) on one simulated
//! chain whose ledger holds HIVE/HBD, checks multi-signature authorities as a Hive node
//! does, and carries random deposits and withdrawals of other users all along.
//!
//! One scenario, in order:
//! 1. Only `dlux-io` is a genesis runner, and the account's active authority is its key.
//!    `alice`, `bob` and `carol` register and are elected one per closed tally (by stake);
//!    each time
//!    the account's authority is rotated by a transaction the old signers sign, until the
//!    four hold it (3 of 4). `carol` runs with the fault hook: she signs other bytes.
//! 2. `tester` deposits 100 HIVE: every node credits it. It withdraws 40: the simulator's
//!    ledger pays it from the account within a bounded number of blocks, signed by the
//!    three honest runners; carol's signatures are refused and block nothing.
//! 3. `carol` is SIGKILLed: a withdrawal still pays (3 of 4 sign). She comes back honest
//!    and holds the authority again (re-elected and rotated back in if she was dropped).
//! 4. `bob` and `carol` are SIGKILLed: a withdrawal is not paid, and nothing is lost (it
//!    stays queued, the balances unchanged). `carol` comes back: it pays.
//! 5. Three rounds of two withdrawals, each with one node SIGKILLed at a random moment and
//!    restarted: all are paid.
//! 6. At the end: every outflow of the account was paid on chain at most once (every
//!    transfer from the account in every block is counted), each of the tester's exactly
//!    once; every node's books equal the account's transfers on chain at the block the
//!    books are at, and the simulator's own ledger equals them at its head; no two nodes
//!    disagree on a final checkpoint hash. The chain also carries the simulator's DEX
//!    traffic (sells, memo buys, cancels): every node shows the same trades, and the DEX's
//!    payouts to Hive are outflows paid once inside those books. It carries NFT traffic
//!    too: every node shows the same sets, and NFTs were minted.

use opentoken_e2e::*;
use opentoken_hive::KeyRole;
use opentoken_hive_tx::{Operation, PrivateKey, Transaction, MAINNET_CHAIN_ID};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const RUNNERS: [&str; 4] = ["dlux-io", "alice", "bob", "carol"];
const MS: &str = "dlux-cc";
/// Funded by the simulator (it is in the token genesis `nodes`), but not one of the
/// traffic's actors: its Hive balance moves only by this test's transactions.
const TESTER: &str = "tester";
const INTERVAL: u64 = 20;

fn write_spec(dir: &Path) -> PathBuf {
    let base = devnet_spec_path().with_file_name("devnet-multisig.json");
    let mut spec: Value = serde_json::from_str(&std::fs::read_to_string(base).expect("spec")).expect("json");
    spec["name"] = "multisig-e2e".into();
    spec["checkpoint_interval"] = INTERVAL.into();
    // carol (the faulty signer at first) has the least stake: she is elected last, when
    // the three honest runners already hold the authority and can rotate her in.
    let g = &mut spec["modules"]["token"]["genesis"];
    for (r, gov) in [("alice", 100_000), ("bob", 90_000), ("carol", 50_000)] {
        g["gov"][r] = gov.into();
    }
    g["nodes"].as_array_mut().expect("nodes").push(TESTER.into());
    spec["modules"]["nodes"] = json!({
        "report_window": INTERVAL,
        "allow_private_domains": true,
        "genesis": {"runners": ["dlux-io"]}
    });
    // 40 blocks of chain time: an unsigned transaction is rebuilt within seconds here.
    // A token counts as 100 HIVE of collateral: the cheapest coalition of the four (3 of 4:
    // carol, bob, alice) stakes 240 tokens at genesis, a limit of 24,000 HIVE that the
    // traffic's deposits and the tester's stay under.
    spec["modules"]["multisig"] = json!({
        "tx_expiration_secs": 120,
        "safety_price": {"HIVE": 100_000, "HBD": 100_000}
    });
    let path = dir.join("chain.json");
    std::fs::write(&path, serde_json::to_string_pretty(&spec).expect("spec")).expect("write spec");
    path
}

struct Node {
    account: &'static str,
    api: String,
    proc: Proc,
}

/// The node of `account`: its Hive active key in the environment, its multi-sig key in a
/// 0600 file, as an operator runs it; `wrong_digest` starts it with the fault hook.
fn start_node(work: &Work, spec: &Path, url: &str, account: &'static str, wrong_digest: bool) -> Node {
    let port = free_port();
    let key_file = work.path().join(format!("{account}.mskey"));
    std::fs::write(
        &key_file,
        opentoken_hive::devnet_key(account, KeyRole::Multisig).to_wif(),
    )
    .expect("key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let mut role = Role::new("run")
        .data(work, account)
        .log_as(&format!("{account}-{port}"))
        .chain(spec)
        .log_level("info")
        .args(["--hive-api", url, "--listen", &format!("127.0.0.1:{port}")])
        .args(["--node-account", account, "--fetch-batch", "50"])
        // The test reads /api/multisig (a whole-state route) several times a second.
        .args(["--api-heavy-per-minute", "100000"])
        .arg("--ms-key-file")
        .arg(key_file)
        .env(
            "OPENTOKEN_HIVE_ACTIVE_KEY",
            opentoken_hive::devnet_key(account, KeyRole::Active).to_wif(),
        );
    if wrong_digest {
        role = role.env("OPENTOKEN_FAULT_MS_SIGN_WRONG_DIGEST", "1");
    }
    Node {
        account,
        api: format!("http://127.0.0.1:{port}"),
        proc: role.spawn(),
    }
}

fn get(node: &Node, path: &str) -> Option<Value> {
    match http_get_json(&format!("{}{path}", node.api)) {
        Some((200, v)) => Some(v),
        _ => None,
    }
}

fn rpc(url: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let v: Value = reqwest::blocking::Client::new()
        .post(url)
        .json(&body)
        .timeout(Duration::from_secs(10))
        .send()
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    v
}

/// Milli-units of a `"1.000 HIVE"` string.
fn milli(text: &str) -> i64 {
    let amount = text.split(' ').next().unwrap_or_default();
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, "0"));
    whole.parse::<i64>().expect("whole") * 1000 + frac.parse::<i64>().expect("fraction")
}

/// `account`'s HIVE balance on the simulator's ledger, and the head block it is at.
fn sim_hive(url: &str, account: &str) -> (i64, u64) {
    loop {
        let before = rpc(url, "condenser_api.get_dynamic_global_properties", json!([]))["result"]["head_block_number"]
            .as_u64()
            .expect("head");
        let v = rpc(url, "condenser_api.get_accounts", json!([[account]]));
        let after = rpc(url, "condenser_api.get_dynamic_global_properties", json!([]))["result"]["head_block_number"]
            .as_u64()
            .expect("head");
        if before == after {
            return (milli(v["result"][0]["balance"].as_str().expect("balance")), after);
        }
    }
}

/// Signs `op` with `account`'s devnet active key, TaPoS from the simulator's head, and
/// broadcasts it; the transaction id.
fn broadcast(url: &str, account: &str, op: Operation) -> String {
    let props = rpc(url, "condenser_api.get_dynamic_global_properties", json!([]))["result"].clone();
    let head = props["head_block_number"].as_u64().expect("head");
    let id = props["head_block_id"].as_str().expect("id");
    let time = opentoken_core::hive_json::parse_timestamp(props["time"].as_str().expect("time")).expect("time");
    let tx = Transaction::with_reference(head, id, (time + 600) as u32, vec![op]).expect("tx");
    let key: PrivateKey = opentoken_hive::devnet_key(account, KeyRole::Active);
    let signed = tx.sign(&MAINNET_CHAIN_ID, &[&key]).to_condenser_json();
    let v = rpc(url, "condenser_api.broadcast_transaction", json!([signed]));
    assert!(v.get("error").is_none(), "broadcast by {account} refused: {v}");
    tx.id(opentoken_hive_tx::Packing::Legacy)
}

fn withdraw(url: &str, amount: u64) -> String {
    broadcast(
        url,
        TESTER,
        Operation::CustomJson {
            required_auths: vec![TESTER.into()],
            required_posting_auths: vec![],
            id: "dlux_ms_withdraw".into(),
            json: json!({"amount": amount, "asset": "HIVE"}).to_string(),
        },
    )
}

fn l2_hive(node: &Node) -> Option<u64> {
    get(node, &format!("/@{TESTER}")).and_then(|v| v["hive_l2"].as_u64())
}

/// Polls `check` every 250 ms until it holds; panics with `what` after `secs`. Every 20 s
/// it logs what `nodes` say (shown when the test fails).
fn wait_until(what: &str, secs: u64, nodes: &[Node], mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut said = start;
    while !check() {
        if said.elapsed() >= Duration::from_secs(20) || Instant::now() >= deadline {
            said = Instant::now();
            eprintln!("[{:>4} s] waiting: {what}", start.elapsed().as_secs());
            for n in nodes {
                eprintln!("    {}", summary(n));
            }
        }
        assert!(Instant::now() < deadline, "after {secs} s: {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// One line of what a node's multisig module says, for the log of a failing wait.
fn summary(node: &Node) -> String {
    let Some(v) = get(node, "/api/multisig") else {
        return format!("{}: no answer", node.account);
    };
    let names = |list: &Value| -> Vec<String> {
        list["signers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["account"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let open = &v["open_transaction"];
    format!(
        "{} at {}: signers {:?} rotating_to {:?} open {} (rotate {}, {} of {} signatures by {:?}) pending {}",
        node.account,
        v["block"],
        names(&v["signers"]),
        names(&v["rotating_to"]),
        open["checkpoint"],
        !open["rotate"].is_null(),
        open["signatures"].as_array().map_or(0, Vec::len),
        open["threshold"],
        open["signatures"]
            .as_array()
            .map(|a| a
                .iter()
                .filter_map(|s| s["account"].as_str().map(String::from))
                .collect::<Vec<_>>())
            .unwrap_or_default(),
        v["pending"].as_array().map_or(0, Vec::len),
    )
}

fn signer_names(node: &Node) -> Vec<String> {
    get(node, "/api/multisig")
        .and_then(|v| {
            v["signers"]["signers"].as_array().map(|a| {
                a.iter()
                    .filter_map(|s| s["account"].as_str().map(String::from))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// Whether every node's books are at block `at` or later and owe the tester no outflow of
/// `amount` any more: the payment Hive made by then is booked. (The paid history the API
/// shows is the newest 20 only, which the traffic's payments can push it out of.)
fn settled_everywhere(nodes: &[&Node], amount: u64, at: u64) -> bool {
    nodes.iter().all(|n| {
        get(n, "/api/multisig").is_some_and(|v| {
            v["block"].as_u64().is_some_and(|b| b >= at)
                && v["pending"]
                    .as_array()
                    .is_some_and(|p| !p.iter().any(|o| o["to"] == TESTER && o["amount"] == amount))
        })
    })
}

/// Waits until the simulator's ledger shows the tester holding `balance` (the withdrawal of
/// `amount` paid) and every node of `nodes` has booked it.
fn wait_paid(what: &str, secs: u64, all: &[Node], nodes: &[&Node], url: &str, amount: u64, balance: i64) {
    let mut paid_at = None;
    wait_until(what, secs, all, || {
        if paid_at.is_none() {
            let (held, head) = sim_hive(url, TESTER);
            if held == balance {
                paid_at = Some(head);
            }
        }
        paid_at.is_some_and(|at| settled_everywhere(nodes, amount, at))
    });
}

/// Every transfer touching the account in blocks `1..=last`, per block: (from, to, HIVE
/// milli-units, memo); and the `dlux_ms_sign` transactions by `signer`.
/// A HIVE transfer touching the account: (block, from, to, milli-units, memo).
type ChainTransfer = (u64, String, String, i64, String);

fn chain_transfers(url: &str, last: u64, signer: &str) -> (Vec<ChainTransfer>, Vec<String>) {
    let (mut transfers, mut signs) = (Vec::new(), Vec::new());
    let mut next = 1;
    while next <= last {
        let count = (last - next + 1).min(500);
        let v = rpc(
            url,
            "block_api.get_block_range",
            json!({"starting_block_num": next, "count": count}),
        );
        let blocks = opentoken_core::hive_json::decode_get_block_range(&v["result"]).expect("blocks decode");
        assert!(!blocks.is_empty(), "no blocks from {next}");
        for b in &blocks {
            for tx in &b.transactions {
                for op in &tx.operations {
                    match op {
                        opentoken_core::HiveOp::Transfer(t)
                            if (t.from == MS || t.to == MS) && t.amount.symbol == opentoken_core::AssetSymbol::Hive =>
                        {
                            transfers.push((b.num, t.from.clone(), t.to.clone(), t.amount.amount, t.memo.clone()))
                        }
                        opentoken_core::HiveOp::CustomJson(cj)
                            if cj.id == "dlux_ms_sign" && cj.required_auths.iter().any(|a| a == signer) =>
                        {
                            signs.push(tx.txid.clone())
                        }
                        _ => {}
                    }
                }
            }
            next = b.num + 1;
        }
    }
    (transfers, signs)
}

/// What the account holds in HIVE by the chain's transfers through `block`.
fn held_by_chain(transfers: &[ChainTransfer], block: u64) -> i64 {
    transfers
        .iter()
        .filter(|t| t.0 <= block)
        .map(|(_, from, to, amount, _)| match (from == MS, to == MS) {
            (false, true) => *amount,
            (true, false) => -amount,
            _ => 0,
        })
        .sum()
}

#[test]
fn four_runners_hold_the_account_rotate_it_and_pay_through_failures() {
    let work = Work::new();
    let spec = write_spec(work.path());
    let (_sim, url) = start_devnet_with(
        &spec,
        &[
            "--sim-seed",
            "11",
            "--sim-block-ms",
            "250",
            "--sim-lag",
            "1",
            "--sim-ops",
            "0,3",
        ],
    );
    let mut nodes: Vec<Node> = RUNNERS
        .iter()
        .map(|a| start_node(&work, &spec, &url, a, *a == "carol"))
        .collect();

    // 1. Elected one by one, each change rotated on chain: the four hold the account.
    wait_until(
        "the four runners hold the account's authority on every node",
        360,
        &nodes,
        || nodes.iter().all(|n| signer_names(n).len() == 4),
    );
    wait_until("every node knows the signers' collateral", 60, &nodes, || {
        nodes
            .iter()
            // The traffic's gov_up and gov_down move the stakes: known and positive.
            .all(|n| {
                get(n, "/api/multisig").is_some_and(|v| {
                    v["safety"]["collateral"].as_u64().is_some() && v["safety"]["limit_hive"].as_u64() > Some(0)
                })
            })
    });
    let acct = rpc(&url, "condenser_api.get_accounts", json!([[MS]]))["result"][0].clone();
    assert_eq!(acct["active"]["weight_threshold"], 3, "the chain's authority: {acct}");
    assert_eq!(acct["active"]["key_auths"].as_array().map(Vec::len), Some(4));
    // The genesis authority's key alone no longer spends.
    let props = rpc(&url, "condenser_api.get_dynamic_global_properties", json!([]))["result"].clone();
    let time = opentoken_core::hive_json::parse_timestamp(props["time"].as_str().expect("time")).expect("time");
    let theft = Transaction::with_reference(
        props["head_block_number"].as_u64().expect("head"),
        props["head_block_id"].as_str().expect("id"),
        (time + 600) as u32,
        vec![Operation::Transfer {
            from: MS.into(),
            to: TESTER.into(),
            amount: opentoken_core::Asset::new(1, opentoken_core::AssetSymbol::Hive),
            memo: String::new(),
        }],
    )
    .expect("tx");
    let old_key = opentoken_hive::devnet_key("dlux-io", KeyRole::Multisig);
    let refused = rpc(
        &url,
        "condenser_api.broadcast_transaction",
        json!([theft.sign(&MAINNET_CHAIN_ID, &[&old_key]).to_condenser_json()]),
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("missing required active authority")),
        "the old authority's key must not spend: {refused}"
    );

    // 2. A deposit of 100 HIVE, then a withdrawal of 40.
    let (start, _) = sim_hive(&url, TESTER);
    broadcast(
        &url,
        TESTER,
        Operation::Transfer {
            from: TESTER.into(),
            to: MS.into(),
            amount: opentoken_core::Asset::new(100_000, opentoken_core::AssetSymbol::Hive),
            memo: String::new(),
        },
    );
    wait_until("every node credits the deposit", 60, &nodes, || {
        nodes.iter().all(|n| l2_hive(n) == Some(100_000))
    });
    let asked = Instant::now();
    withdraw(&url, 40_000);
    let all: Vec<&Node> = nodes.iter().collect();
    wait_paid(
        "the withdrawal of 40 is paid",
        120,
        &nodes,
        &all,
        &url,
        40_000,
        start - 60_000,
    );
    let took = asked.elapsed();
    assert!(nodes.iter().all(|n| l2_hive(n) == Some(60_000)));

    // 3. One runner killed: 3 of 4 still sign. She returns honest.
    nodes[3].proc.kill();
    withdraw(&url, 5_000);
    let live: Vec<&Node> = [0, 1, 2].iter().map(|i| &nodes[*i]).collect();
    wait_paid(
        "a withdrawal pays with carol down",
        120,
        &nodes,
        &live,
        &url,
        5_000,
        start - 55_000,
    );
    nodes[3] = start_node(&work, &spec, &url, "carol", false);
    wait_until("the four hold the account again", 300, &nodes, || {
        nodes.iter().all(|n| signer_names(n).len() == 4)
    });

    // 4. Two killed: nothing pays, nothing is lost; one returns: it pays.
    nodes[2].proc.kill();
    nodes[3].proc.kill();
    withdraw(&url, 6_000);
    let live: Vec<&Node> = [0, 1].iter().map(|i| &nodes[*i]).collect();
    wait_until("the withdrawal is queued on the live nodes", 60, &nodes, || {
        live.iter().all(|n| l2_hive(n) == Some(49_000))
    });
    let queued_at = sim_hive(&url, TESTER).1;
    wait_until("three checkpoints pass", 120, &nodes, || {
        sim_hive(&url, TESTER).1 >= queued_at + 3 * INTERVAL
    });
    assert_eq!(
        sim_hive(&url, TESTER).0,
        start - 55_000,
        "nothing paid with two of four down"
    );
    for n in &live {
        let v = get(n, "/api/multisig").expect("multisig");
        let pending = v["pending"].as_array().cloned().unwrap_or_default();
        assert!(
            pending.iter().any(|o| o["to"] == TESTER && o["amount"] == 6_000),
            "{} still owes it: {v}",
            n.account
        );
    }
    nodes[3] = start_node(&work, &spec, &url, "carol", false);
    let back: Vec<&Node> = [0, 1, 3].iter().map(|i| &nodes[*i]).collect();
    wait_paid(
        "the withdrawal pays once carol is back",
        180,
        &nodes,
        &back,
        &url,
        6_000,
        start - 49_000,
    );
    nodes[2] = start_node(&work, &spec, &url, "bob", false);
    let at = sim_hive(&url, TESTER).1;
    wait_until("bob catches up", 120, &nodes, || {
        settled_everywhere(&[&nodes[2]], 6_000, at)
    });

    // 5. SIGKILLs at random moments while outflows are built, signed and paid: one node
    //    at a time is killed and restarted, withdrawals keep coming.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    eprintln!("random kills: seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut owed = start - 49_000;
    for round in 0..3u64 {
        for k in 0..2u64 {
            let amount = 1_000 + round * 10 + k;
            withdraw(&url, amount);
            owed += amount as i64;
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..3_000)));
        let victim = rng.gen_range(0..RUNNERS.len());
        nodes[victim].proc.kill();
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..4_000)));
        nodes[victim] = start_node(&work, &spec, &url, RUNNERS[victim], false);
    }
    let all: Vec<&Node> = nodes.iter().collect();
    wait_paid(
        "every withdrawal of the random kills is paid",
        300,
        &nodes,
        &all,
        &url,
        1_021,
        owed,
    );
    assert!(
        nodes.iter().all(|n| l2_hive(n) == Some(49_000 - 6_063)),
        "every node debited the six withdrawals once"
    );

    // 6. The ledger, the chain and every node agree; every outflow paid at most once.
    let (head_balance, head) = sim_hive(&url, MS);
    let (transfers, carol_signs) = chain_transfers(&url, head, "carol");
    assert_eq!(
        held_by_chain(&transfers, head),
        head_balance,
        "the simulator's ledger is its chain's transfers"
    );
    let mut paid: BTreeMap<String, usize> = BTreeMap::new();
    for (_, from, _, _, memo) in &transfers {
        if from == MS {
            if let Some(id) = memo.rsplit(' ').next().filter(|m| m.starts_with("ot:")) {
                *paid.entry(id.to_string()).or_default() += 1;
            }
        }
    }
    assert!(paid.values().all(|n| *n == 1), "an outflow paid twice: {paid:?}");
    let tester_paid: Vec<i64> = transfers
        .iter()
        .filter(|t| t.1 == MS && t.2 == TESTER)
        .map(|t| t.3)
        .collect();
    assert_eq!(
        {
            let mut got = tester_paid;
            got.sort_unstable();
            got
        },
        {
            let mut want: Vec<i64> = vec![40_000, 5_000, 6_000];
            want.extend((0..3).flat_map(|r| [1_000 + r * 10, 1_001 + r * 10]));
            want.sort_unstable();
            want
        },
        "each withdrawal paid exactly once"
    );
    for n in &nodes {
        // The books as of the block they are at, read twice the same.
        let (a, b) = (
            get(n, "/api/multisig").expect("books"),
            get(n, "/api/multisig").expect("books"),
        );
        let block = a["block"].as_u64().expect("block");
        if block != b["block"].as_u64().unwrap_or(0) || block > head {
            continue;
        }
        let h = &a["holdings"]["hive"];
        // Every HIVE that left the account paid an outflow the module owed (withdrawals,
        // refunds, DEX proceeds and returns), exactly: nothing unexplained.
        assert_eq!(
            h["unexplained_out"].as_i64(),
            Some(0),
            "{} paid out what it did not owe: {a}",
            n.account
        );
        let expected = h["held"].as_i64().expect("held") - h["unexplained_out"].as_i64().expect("unexplained");
        assert_eq!(
            expected,
            held_by_chain(&transfers, block),
            "{} at block {block}: {a}",
            n.account
        );
    }
    // carol's signatures were on chain and refused with the reason.
    let refused: Vec<Value> = carol_signs
        .iter()
        .filter_map(|txid| get(&nodes[0], &format!("/api/status/{txid}")))
        .filter(|s| s.to_string().contains("signs something else"))
        .collect();
    assert!(
        !refused.is_empty(),
        "carol signed {} times; none refused for its bytes",
        carol_signs.len()
    );
    // No two nodes disagree on a final checkpoint.
    let finals: Vec<BTreeMap<u64, String>> = nodes
        .iter()
        .map(|n| {
            get(n, "/consensus")
                .and_then(|v| v["finals"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|f| Some((f["block"].as_u64()?, f["hash"].as_str()?.to_string())))
                .collect()
        })
        .collect();
    for a in &finals {
        for b in &finals {
            for (block, hash) in a {
                if let Some(other) = b.get(block) {
                    assert_eq!(hash, other, "final hashes differ at {block}");
                }
            }
        }
    }
    // The DEX traded on the generated traffic: every node saw trades, and they agree on
    // every trade they both have; its payouts to Hive went out as outflows of the account,
    // each paid once (above) and inside the books that equal the chain.
    let histories: Vec<BTreeMap<String, Value>> = nodes
        .iter()
        .map(|n| {
            get(n, "/api/recent/HIVE_DLUX?limit=1000")
                .and_then(|v| v["recent_trades"].as_array().cloned())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|t| Some((t["trade_id"].as_str()?.to_string(), t)))
                .collect()
        })
        .collect();
    for (n, h) in nodes.iter().zip(&histories) {
        assert!(!h.is_empty(), "{} shows no DEX trade", n.account);
        for (id, t) in h {
            if let Some(other) = histories[0].get(id) {
                assert_eq!(t, other, "{} and {} differ on trade {id}", n.account, nodes[0].account);
            }
        }
    }
    let dex_payouts = transfers.iter().filter(|t| t.1 == MS && t.4.contains(" DEX ")).count();
    assert!(dex_payouts > 0, "no DEX proceeds or refunds paid out to Hive");
    // The NFT module ran on the generated traffic on every node (its state is part of every
    // final hash compared above): sets defined and NFTs minted, the same sets everywhere.
    let sets: Vec<BTreeMap<String, (String, String)>> = nodes
        .iter()
        .map(|n| {
            get(n, "/api/sets")
                .and_then(|v| v["result"].as_array().cloned())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|s| {
                    let name = s["set"].as_str()?.to_string();
                    Some((
                        name,
                        (s["author"].as_str()?.to_string(), s["script"].as_str()?.to_string()),
                    ))
                })
                .collect()
        })
        .collect();
    for (n, s) in nodes.iter().zip(&sets) {
        assert!(!s.is_empty(), "{} shows no NFT set", n.account);
        for (name, def) in s {
            if let Some(other) = sets[0].get(name) {
                assert_eq!(
                    def, other,
                    "{} and {} differ on set {name}",
                    n.account, nodes[0].account
                );
            }
        }
    }
    let minted = get(&nodes[0], "/api/sets")
        .and_then(|v| v["result"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter(|s| s["minted"].as_str().is_some_and(|m| m != "0"))
        .count();
    assert!(minted > 0, "no NFT minted on the generated traffic");
    // The nodes' own reconciliation (every 30 s, when a check is comparable) found the
    // account holding what the books say.
    let mut compared = 0;
    for n in &nodes {
        let text = reqwest::blocking::get(format!("{}/metrics", n.api))
            .and_then(|r| r.text())
            .unwrap_or_default();
        let gauge = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
        };
        if let (Some(e), Some(o)) = (
            gauge("opentoken_multisig_expected_hive_milli"),
            gauge("opentoken_multisig_observed_hive_milli"),
        ) {
            assert_eq!(e, o, "{}'s reconciliation: expected {e}, observed {o}", n.account);
            compared += 1;
        }
    }
    eprintln!(
        "withdrawal of 40 paid {took:?} after it was broadcast; {compared} nodes reconciled the account; {} DEX trades, {dex_payouts} DEX payouts on chain",
        histories[0].len()
    );
    for n in &mut nodes {
        n.proc.kill();
    }
}
