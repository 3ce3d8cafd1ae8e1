//! The API's OpenAPI document (issue 16 point 2) checked by a tool nobody here wrote:
//! schemathesis (PyPI, in `tests/python/requirements.txt`) reads `/openapi.json` from a
//! running devnet node whose state the pipeline produced (every module, the simulator's
//! ops), calls every operation with the examples and values it generates, and validates
//! each answer's status code, content type and body against the document.

use opentoken_e2e::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long the node is given to process enough blocks for every module to hold state.
const DEADLINE: Duration = Duration::from_secs(90);

/// The first block the checks wait for: some checkpoints final, the simulator's ops of
/// every module processed.
const PROCESSED_BY: u64 = 60;

fn schemathesis() -> std::path::PathBuf {
    let bin = python().with_file_name("schemathesis");
    assert!(
        bin.exists(),
        "{} is missing: make test installs it (pip install -r tests/python/requirements.txt)",
        bin.display()
    );
    bin
}

#[test]
fn schemathesis_validates_every_answer_of_a_devnet_node_against_the_document() {
    let tool = schemathesis();
    let work = Work::new();
    let port = free_port();
    let chain = repo_root().join("infra/chains/devnet-multisig.json");
    let _node = Role::new("run")
        .data(&work, "node")
        .chain(&chain)
        .args(["--devnet", "--sim-block-ms", "200", "--sim-prefill", "40"])
        .args(["--node-account", "dlux-io", "--listen", &format!("127.0.0.1:{port}")])
        // The tool calls the whole-state routes many times a second: let its answers be
        // the routes' own rather than the per-client rate's 429.
        .args(["--api-heavy-per-minute", "100000", "--api-heavy-burst", "10000"])
        .spawn();
    let base = format!("http://127.0.0.1:{port}");

    let started = Instant::now();
    loop {
        let processed = http_get_json(&format!("{base}/stats"))
            .and_then(|(_, v)| v["result"]["lastBlock"].as_u64())
            .unwrap_or(0);
        if processed >= PROCESSED_BY {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the devnet node did not process {PROCESSED_BY} blocks within {DEADLINE:?} (at {processed})"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let (code, doc) = http_get_json(&format!("{base}/openapi.json")).expect("/openapi.json answers");
    assert_eq!(code, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for route in [
        "/@{account}",
        "/api/protocol",
        "/dex",
        "/api/nfts/{user}",
        "/runners",
        "/metrics",
    ] {
        assert!(paths.contains_key(route), "{route} is documented");
    }

    let out = Command::new(&tool)
        .args(["run", &format!("{base}/openapi.json"), "--url", &base])
        .args([
            "--checks",
            "status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--max-examples", "15", "--workers", "2", "--request-timeout", "10"])
        .args(["--seed", "1", "--no-color"])
        // Its example database and reports go to the test's directory, not the source tree.
        .current_dir(work.path())
        .output()
        .expect("schemathesis runs");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found answers the document does not allow:\n{report}"
    );
    // It ran the operations rather than nothing (a document it could not read fails above).
    let operations = paths.len();
    assert!(
        report.contains(&format!("{operations} selected")) || report.contains("passed"),
        "schemathesis ran the document's {operations} operations:\n{report}"
    );
}
