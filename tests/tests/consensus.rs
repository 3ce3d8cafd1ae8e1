//! The consensus network end to end: three opentoken nodes (embedded mode, separate data
//! directories and keys) follow one simulated Hive chain, register through `node_add`,
//! broadcast signed reports that the simulator verifies and includes, and reach finality on
//! the same checkpoint hashes. A second test corrupts one node's state on purpose and
//! checks that the others still finalise, that it notices, recovers from a verified
//! snapshot and reports the final hash again.

use opentoken_e2e::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const NODES: [(&str, u64); 3] = [("node-a", 40_000), ("node-b", 35_000), ("node-c", 25_000)];
const INTERVAL: u64 = 20;

/// The devnet chain with checkpoints every 20 blocks, a 20-block report window, local node
/// addresses allowed and the three nodes as the genesis runners, holding 40/35/25 % of the
/// governance stake: any two of the bigger ones are > 2/3, the smallest can be wrong without
/// stopping finality.
fn write_spec(dir: &Path) -> PathBuf {
    let mut spec: Value =
        serde_json::from_str(&std::fs::read_to_string(devnet_spec_path()).expect("devnet spec")).expect("json");
    spec["name"] = "consensus".into();
    spec["checkpoint_interval"] = INTERVAL.into();
    let g = &mut spec["modules"]["token"]["genesis"];
    for (node, stake) in NODES {
        g["gov"][node] = stake.into();
        g["balances"][node] = 1000.into();
    }
    spec["modules"]["nodes"] = serde_json::json!({
        "report_window": INTERVAL,
        // The nodes run on 127.0.0.1: register and fetch snapshots there (devnet only).
        "allow_private_domains": true,
        "genesis": {"runners": NODES.iter().map(|n| n.0).collect::<Vec<_>>()}
    });
    let path = dir.join("chain.json");
    std::fs::write(&path, serde_json::to_string_pretty(&spec).expect("spec")).expect("write spec");
    path
}

fn start_sim(spec: &Path) -> (Proc, String) {
    start_devnet_with(
        spec,
        &[
            "--sim-seed",
            "5",
            "--sim-block-ms",
            "250",
            "--sim-lag",
            "1",
            "--sim-ops",
            "0,4",
        ],
    )
}

struct Node {
    account: &'static str,
    api: String,
    proc: Proc,
}

/// The node of `account` in `<work>/<account>`, its log in `<work>/<account>.log`; with
/// `fault_at`, it corrupts its own token state at that block (the `fault-injection` build).
fn start_node(work: &Work, spec: &Path, url: &str, account: &'static str, fault_at: Option<u64>) -> Node {
    let port = free_port();
    let wif = opentoken_hive::devnet_key(account, opentoken_hive::KeyRole::Active).to_wif();
    let mut role = Role::new("run")
        .data(work, account)
        .chain(spec)
        .log_level("info")
        .args(["--hive-api", url, "--listen", &format!("127.0.0.1:{port}")])
        .args(["--node-account", account, "--fetch-batch", "50"])
        .env("OPENTOKEN_HIVE_ACTIVE_KEY", wif);
    if let Some(b) = fault_at {
        role = role.env("OPENTOKEN_FAULT_CORRUPT_STATE_AT", b.to_string());
    }
    Node {
        account,
        api: format!("http://127.0.0.1:{port}"),
        proc: role.spawn(),
    }
}

/// `(status, body)` of the node's API at `path`.
fn get(node: &Node, path: &str) -> Option<(u16, Value)> {
    http_get_json(&format!("{}{path}", node.api))
}

/// `(block, hash)` of the checkpoints a node's nodes module has final, oldest first.
fn finals(node: &Node) -> Vec<(u64, String)> {
    let Some((200, v)) = get(node, "/consensus") else {
        return Vec::new();
    };
    let mut out: Vec<(u64, String)> = v["finals"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| Some((f["block"].as_u64()?, f["hash"].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn verdict(node: &Node) -> Value {
    get(node, "/consensus")
        .map(|(_, v)| v["verdict"].clone())
        .unwrap_or(Value::Null)
}

fn node_record(node: &Node, account: &str) -> Value {
    let Some((_, v)) = get(node, "/consensus") else {
        return Value::Null;
    };
    v["nodes"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n[0] == account).map(|n| n[1].clone()))
        .unwrap_or(Value::Null)
}

/// Waits until every node has at least `want` final checkpoints with identical hashes;
/// returns them.
fn wait_for_finality(nodes: &[Node], want: usize, secs: u64) -> Vec<(u64, String)> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let all: Vec<Vec<(u64, String)>> = nodes.iter().map(finals).collect();
        let common: Vec<(u64, String)> = all[0]
            .iter()
            .filter(|f| all.iter().all(|o| o.contains(f)))
            .cloned()
            .collect();
        // No node may disagree with another about a final checkpoint.
        for a in &all {
            for (b, h) in a {
                for o in &all {
                    if let Some((_, h2)) = o.iter().find(|(b2, _)| b2 == b) {
                        assert_eq!(h, h2, "two nodes have different final hashes for checkpoint {b}");
                    }
                }
            }
        }
        if common.len() >= want {
            return common;
        }
        // On failure every node's log is printed (Work).
        assert!(
            Instant::now() <= deadline,
            "only {} common final checkpoints after {secs} s (per node: {:?})",
            common.len(),
            all.iter().map(Vec::len).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn three_nodes_register_report_and_finalise_the_same_checkpoints() {
    let work = Work::new();
    let spec = write_spec(work.path());
    let (_sim, url) = start_sim(&spec);
    let mut nodes: Vec<Node> = NODES
        .iter()
        .map(|(a, _)| start_node(&work, &spec, &url, a, None))
        .collect();
    let common = wait_for_finality(&nodes, 10, 300);
    // Consecutive checkpoints, every one final on every node.
    assert!(common.windows(2).all(|w| w[1].0 == w[0].0 + INTERVAL) || common.len() >= 10);
    for n in &nodes {
        let v = verdict(n);
        assert_eq!(v["in_consensus"], true, "{} says {v}", n.account);
        let rec = node_record(n, n.account);
        assert_eq!(rec["active"], true, "{} is registered: {rec}", n.account);
        assert!(
            rec["yays"].as_u64().unwrap_or(0) >= 5,
            "{} reported the final hashes: {rec}",
            n.account
        );
        let (code, _) = get(n, "/readyz").expect("readyz");
        assert_eq!(code, 200, "{} is ready", n.account);
    }
    for n in &mut nodes {
        n.proc.kill();
    }
}

#[test]
fn a_corrupted_node_detects_it_recovers_from_a_verified_snapshot_and_agrees_again() {
    let work = Work::new();
    let spec = write_spec(work.path());
    let (_sim, url) = start_sim(&spec);
    const FAULT_AT: u64 = 90;
    let mut nodes: Vec<Node> = NODES
        .iter()
        .map(|(a, _)| start_node(&work, &spec, &url, a, (*a == "node-c").then_some(FAULT_AT)))
        .collect();
    let faulty = 2;

    // The faulty node must say it is out of consensus (readiness and API), then recover.
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut saw_out = false;
    let mut recovered = false;
    while Instant::now() < deadline {
        let v = verdict(&nodes[faulty]);
        if v["in_consensus"] == false {
            saw_out = true;
            let (code, body) = get(&nodes[faulty], "/readyz").expect("readyz");
            assert_eq!(code, 503, "out of consensus must not be ready: {body}");
            let why = body["not_ready"]["consensus"].as_str().unwrap_or("");
            assert!(why.contains("out of consensus"), "readiness says why: {body}");
            // ...and every API answer carries the verdict.
            if let Some((_, stats)) = get(&nodes[faulty], "/stats") {
                assert!(
                    stats["in_consensus"] != true,
                    "/stats must not claim consensus: {stats}"
                );
            }
        }
        if saw_out && v["in_consensus"] == true && v["checkpoint"].as_u64().unwrap_or(0) > FAULT_AT + INTERVAL {
            recovered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // On failure every node's log is printed (Work).
    assert!(
        saw_out || work.read_log("node-c").contains("token state corrupted on purpose"),
        "node-c never corrupted its state: was target/debug/opentoken built with --features fault-injection? make build-debug does"
    );
    assert!(saw_out, "the corrupted node never reported being out of consensus");
    assert!(recovered, "the corrupted node did not recover");

    // The other two kept finalising throughout, and everyone agrees on every final hash.
    let common = wait_for_finality(&nodes, 10, 200);
    assert!(common.iter().any(|(b, _)| *b > FAULT_AT));
    // Its report of the final hash after recovery counted: the tally records it as good.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rec = node_record(&nodes[0], "node-c");
        if rec["last_good"].as_u64().unwrap_or(0) > FAULT_AT + INTERVAL {
            break;
        }
        assert!(
            Instant::now() <= deadline,
            "node-c never reported a final hash again: {rec}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let (code, _) = get(&nodes[faulty], "/readyz").expect("readyz");
    assert_eq!(code, 200, "the recovered node is ready again");
    // It recovered from a peer's snapshot, verified, not by chance.
    let log = work.read_log("node-c");
    assert!(
        log.contains("token state corrupted on purpose"),
        "the fault was injected"
    );
    assert!(
        log.contains("snapshot fetched from a peer and verified against the final hash"),
        "the snapshot came from a peer and was verified"
    );
    assert!(
        log.contains("restored a verified snapshot"),
        "the snapshot was restored"
    );
    for healthy in &nodes[..2] {
        let log = work.read_log(healthy.account);
        assert!(
            !log.contains("out of consensus"),
            "{} stayed in consensus",
            healthy.account
        );
    }
    for n in &mut nodes {
        n.proc.kill();
    }
}
