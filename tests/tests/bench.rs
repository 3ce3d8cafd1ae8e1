//! `opentoken bench` as a smoke inside `make test`: short runs of the realistic stream
//! (thousands of funded accounts, dense and sparse) whose JSON report must be complete and
//! consistent. The full runs that give the README's figures are `make bench` and
//! `make bench-kafka`; the Kafka smoke is in `kafka.rs` (it needs the broker).

use opentoken_e2e::*;
use serde_json::Value;
use std::process::Command;

/// Runs `opentoken bench <args> --json <file>` and returns the report.
fn bench_report(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("bench.json");
    let out = Command::new(bin())
        .arg("bench")
        .arg("--chain")
        .arg(devnet_spec_path())
        .args(args)
        .arg("--json")
        .arg(&json)
        .env("OPENTOKEN_LOG", "warn")
        .output()
        .expect("run opentoken bench");
    assert!(
        out.status.success(),
        "opentoken bench {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&json).expect("the bench wrote its JSON report");
    serde_json::from_str(&text).expect("the report is JSON")
}

fn u(v: &Value, field: &str) -> u64 {
    v[field].as_u64().unwrap_or_else(|| panic!("{field} in {v}"))
}

/// Every phase measured, with positive times and consistent rates.
fn check_phases(report: &Value, names: &[&str]) {
    let phases = report["phases"].as_array().expect("phases");
    for name in names {
        let p = phases
            .iter()
            .find(|p| p["name"].as_str().is_some_and(|n| n.starts_with(name)))
            .unwrap_or_else(|| panic!("no phase {name:?} in {report}"));
        let secs = p["seconds"].as_f64().expect("seconds");
        assert!(secs > 0.0, "{name}: {secs} s");
        let ops = p["ops_per_sec"].as_f64().expect("ops/s");
        let accepted = p["accepted_ops_per_sec"].as_f64().expect("accepted/s");
        assert!(
            (ops * secs - u(report, "ops") as f64).abs() < 1.0,
            "{name}: ops/s × s = ops"
        );
        assert!(accepted <= ops, "{name}: accepted/s ≤ ops/s");
        if cfg!(target_os = "linux") {
            assert!(u(p, "peak_rss_bytes") > 1 << 20, "{name}: peak RSS measured: {p}");
        }
    }
}

#[test]
fn the_realistic_bench_reports_accepted_and_rejected_ops_per_phase() {
    let r = bench_report(&[
        "--blocks",
        "200",
        "--ops-per-block",
        "10",
        "--accounts",
        "3000",
        "--invalid-per-mille",
        "100",
    ]);
    assert_eq!(u(&r, "accounts"), 3000);
    let (ops, accepted, rejected) = (u(&r, "ops"), u(&r, "accepted"), u(&r, "rejected"));
    assert_eq!(accepted + rejected, ops);
    // 2,000 generated ops less the non-community noise the router drops.
    assert!((1_400..=2_000).contains(&ops), "{ops} token ops from 2,000 generated");
    // Funded accounts: what is rejected is about the 10% made invalid on purpose plus the
    // ops that need state the stream does not track (a power-down bigger than the power).
    assert!(accepted * 10 >= ops * 7, "{accepted} of {ops} accepted");
    assert!(
        rejected * 100 >= ops * 5,
        "{rejected} of {ops} rejected: the invalid share is there"
    );
    check_phases(
        &r,
        &[
            "state machine",
            "embedded: publish",
            "embedded: process",
            "embedded end to end (publish",
            "embedded end to end, publish and process overlapped",
            "replay",
        ],
    );
    assert!(r["kafka_ratio"].is_null());
    // Genesis (3,000 accounts funded) is measured, apart from the phases.
    assert!(r["genesis_seconds"].as_f64().is_some_and(|s| s > 0.0), "{r}");
    assert!(r["genesis_store_seconds"].as_f64().is_some_and(|s| s > 0.0), "{r}");
}

#[test]
fn the_sparse_bench_has_mostly_empty_blocks() {
    let r = bench_report(&[
        "--blocks",
        "3000",
        "--ops-per-block",
        "1",
        "--accounts",
        "1000",
        "--busy-blocks-per-mille",
        "100",
    ]);
    // About one generated op per 10 blocks (a fifth of them are not community ops).
    let ops = u(&r, "ops");
    assert!((150..=380).contains(&ops), "{ops} token ops in 3,000 sparse blocks");
    assert_eq!(u(&r, "busy_blocks_per_mille"), 100);
    check_phases(&r, &["state machine", "replay"]);
}

#[test]
fn the_bench_refuses_what_it_cannot_measure() {
    let out = Command::new(bin())
        .args(["bench", "--chain"])
        .arg(devnet_spec_path())
        .args(["--mix", "dex", "--blocks", "10"])
        .output()
        .expect("run opentoken bench");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--mix dex needs a chain that runs the DEX"));
}
