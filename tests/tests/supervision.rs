//! `opentoken run` never goes on answering "ready" over state that no longer moves: a role
//! that ends stops the node (the supervisor's own tests, `services/opentoken/src/supervise.rs`),
//! and an ingester served blocks it must refuse holds and says so (here; before, an
//! ingester that gave up left the API answering "ready").

use opentoken_e2e::*;

#[test]
fn a_node_served_another_chain_holds_and_says_so() {
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
    // ...then point the same data directory at another chain: its blocks do not link to
    // what the topics hold, so the ingester refuses them. It must neither apply them nor
    // go on answering "ready": it holds, says why on /readyz, and keeps asking.
    let (_devnet, url) = start_devnet(10, 10, 50, 2);
    let port = free_port();
    let mut node = Role::new("run")
        .data(&work, "node")
        .log_as("node-other-chain")
        .args(["--hive-api", &url, "--listen", &format!("127.0.0.1:{port}")])
        .spawn();
    let readyz = format!("http://127.0.0.1:{port}/readyz");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let reason = loop {
        assert!(!node.exited(), "the node stopped instead of holding");
        if let Some((503, body)) = http_get_json(&readyz) {
            if body.to_string().contains("verification") {
                break body.to_string();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/readyz never said the node holds"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    node.kill();
    let (_, store) = open(&work.dir("node"));
    let progress = fingerprint(&store).progress_block.unwrap_or(0);
    assert!(
        progress <= 60,
        "blocks of the other chain were applied (progress {progress}); /readyz said {reason}"
    );
    let log = work.read_log("node-other-chain");
    assert!(
        log.contains("names previous"),
        "the log says which link failed; it was:\n{log}"
    );
}
