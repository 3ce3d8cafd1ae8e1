//! API nodes that lie (issue 10, finding 3). A simulator started with `--sim-tamper`
//! serves the same chain as an honest one, except that every few blocks it slips in a
//! token transfer from a genesis account to `mallory`: either under a made-up
//! transaction id (`insert`), or with every id, merkle root and link recomputed so the
//! chain it serves is consistent, only not the real one (`forge`). A node following it
//! must never credit mallory: among honest nodes it ends up with exactly the state of a
//! node that followed an honest one alone; with only liars it stops before the first lie
//! and says so on `/readyz`.

use opentoken_e2e::*;

const SEED: &str = "31";
const UNTIL: u64 = 140;

fn devnet(extra: &[&str]) -> (Proc, String) {
    let mut args = vec![
        "--sim-seed",
        SEED,
        "--sim-block-ms",
        "20",
        "--sim-prefill",
        "200",
        "--sim-lag",
        "2",
        "--sim-ops",
        "0,8",
    ];
    args.extend_from_slice(extra);
    start_devnet_with(&devnet_spec_path(), &args)
}

fn liar(mode: &str) -> (Proc, String) {
    devnet(&[
        "--sim-tamper",
        mode,
        "--sim-tamper-from",
        "20",
        "--sim-tamper-every",
        "7",
        "--sim-tamper-to",
        "mallory",
        "--sim-tamper-amount",
        "1",
    ])
}

/// Follows `apis` to block `UNTIL` in `<work>/<name>` and returns the token module's state
/// and checkpoint hashes.
fn follow(work: &Work, name: &str, apis: &[&str]) -> Fingerprint {
    Role::new("run")
        .data(work, name)
        .args(["--hive-api", &apis.join(","), "--listen", "127.0.0.1:0"])
        .until(UNTIL)
        .spawn()
        .wait_ok(&format!("{name} following {apis:?} to block {UNTIL}"), 180);
    let (_, store) = open(&work.dir(name));
    fingerprint(&store)
}

fn credits_mallory(print: &Fingerprint) -> bool {
    print
        .state
        .keys()
        .any(|k| String::from_utf8_lossy(k).contains("mallory"))
}

#[test]
fn liars_among_honest_api_nodes_change_nothing() {
    let work = Work::new();
    let (_a, honest_a) = devnet(&[]);
    let (_b, honest_b) = devnet(&[]);
    let (_f, forger) = liar("forge");
    let (_i, inserter) = liar("insert");

    let reference = follow(&work, "reference", &[&honest_a]);
    assert!(!credits_mallory(&reference), "the honest chain never credits mallory");
    assert!(!reference.checkpoints.is_empty(), "the reference node made checkpoints");

    // The liars first in the list: each is asked before the honest nodes.
    let print = follow(&work, "among-liars", &[&forger, &inserter, &honest_a, &honest_b]);
    assert!(!credits_mallory(&print), "a lying API node's transfer was applied");
    assert_eq!(
        print, reference,
        "the node among liars differs from the one that followed an honest node"
    );
    let log = work.read_log("among-liars");
    assert!(
        log.contains("refused an API node's answer"),
        "the liars were never noticed (so never tested); the log was:\n{log}"
    );
}

#[test]
fn a_node_served_only_lies_applies_none_of_them_and_is_not_ready() {
    let work = Work::new();
    for mode in ["insert", "forge"] {
        let (_liar, url) = liar(mode);
        // With one node, a forged consistent chain is indistinguishable from Hive's; the
        // insert kind is not. With two (one honest), neither may be applied: the forger's
        // chain has no majority, so the node holds rather than guess.
        let (_honest, honest) = devnet(&[]);
        let apis: Vec<&str> = if mode == "insert" {
            vec![url.as_str()]
        } else {
            vec![url.as_str(), honest.as_str()]
        };
        let port = free_port();
        let name = format!("only-{mode}");
        let mut node = Role::new("run")
            .data(&work, &name)
            .args(["--hive-api", &apis.join(","), "--listen", &format!("127.0.0.1:{port}")])
            .until(UNTIL)
            .spawn();
        let readyz = format!("http://127.0.0.1:{port}/readyz");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        let mut seen = None;
        while std::time::Instant::now() < deadline {
            if let Some((status, body)) = http_get_json(&readyz) {
                let text = body.to_string();
                if status == 503 && text.contains("verification") {
                    seen = Some(text);
                    break;
                }
            }
            assert!(!node.exited(), "the node stopped instead of holding ({mode})");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let text = seen.unwrap_or_else(|| panic!("/readyz never said why the node holds ({mode})"));
        // Give it time to (wrongly) move on, then look at what it applied.
        std::thread::sleep(std::time::Duration::from_secs(3));
        assert!(!node.exited(), "the node stopped instead of holding ({mode})");
        node.kill();
        let (_, store) = open(&work.dir(&name));
        let print = fingerprint(&store);
        assert!(!credits_mallory(&print), "{mode}: a lie was applied");
        assert!(
            print.progress_block.unwrap_or(0) < UNTIL,
            "{mode}: the node got to the end through a lying node; /readyz said {text}"
        );
    }
}
