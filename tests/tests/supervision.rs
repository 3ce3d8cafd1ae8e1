//! `opentoken run` supervises its roles: when one of them ends while the node is running,
//! the node stops with an error naming it instead of going on serving state that no longer
//! moves (before, an ingester that gave up left the API answering "ready").

use opentoken_e2e::*;

#[test]
fn a_node_whose_ingester_stops_exits_naming_it() {
    let work = Work::new();
    // Follow one chain for a while...
    {
        let (_devnet, url) = start_devnet(9, 10, 50, 2);
        Role::new("run")
            .data(&work, "node")
            .args(["--hive-api", &url, "--listen", "127.0.0.1:0"])
            .until(60)
            .spawn()
            .wait_ok("the node following chain 9 to block 60", 120);
    }
    // ...then point the same data directory at another chain: the ingester refuses the
    // blocks (they do not extend what the topics hold) and ends; the node must follow it.
    let (_devnet, url) = start_devnet(10, 10, 50, 2);
    let mut node = Role::new("run")
        .data(&work, "node")
        .log_as("node-other-chain")
        .args(["--hive-api", &url, "--listen", "127.0.0.1:0"])
        .spawn();
    let status = node
        .wait_exit(120)
        .expect("the node kept running after its ingester stopped");
    assert!(!status.success(), "a node whose ingester failed exited with {status}");
    let log = work.read_log("node-other-chain");
    assert!(
        log.contains("the ingester failed"),
        "the error names the role that ended; the log was:\n{log}"
    );
}
