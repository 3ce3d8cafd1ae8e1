//! The HTTP API over real HTTP, on state produced by the real pipeline.

use opentoken_checkpointer::{verify_report, Checkpointer, NodeKey};
use opentoken_core::{HiveOp, Outcome};
use opentoken_e2e::*;
use opentoken_telemetry::Telemetry;
use serde_json::Value;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_serves_balances_statuses_reports_and_health() {
    let spec = devnet_spec();
    let blocks = generate(&spec, 5, 300);
    let dir = tempfile::tempdir().unwrap();
    let (log, store) = open(dir.path());
    publish(&spec, &log, &blocks, 1000);
    let last = blocks.last().unwrap().num;
    process(&spec, &log, &store, 100, last);

    let telemetry = Arc::new(Telemetry::new());
    let state = opentoken_api::ApiState {
        spec: spec.clone(),
        store: store.clone(),
        log: log.clone(),
        telemetry: telemetry.clone(),
        node: "dlux-io".into(),
        version: "test".into(),
        modules: vec!["token".into(), "nodes".into()],
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, opentoken_api::router(state)).await });
    let http = reqwest::Client::new();
    let get = |path: &str| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            let r = http.get(&url).send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (status, text)
        }
    };

    // Balances agree with the token module's own view of the committed state.
    let (code, body) = get("/@alice").await;
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let loaded = store.load_module("token").unwrap();
    let state_view = opentoken_core::ModuleState::from_pairs(loaded.pairs);
    let expected = opentoken_token::account_view(&state_view, "alice").unwrap();
    assert_eq!(v["balance"], serde_json::json!(expected.balance));
    assert_eq!(v["poweredUp"], serde_json::json!(expected.poweredUp));
    assert_eq!(v["node"], "dlux-io");

    assert_eq!(get("/@Not_An_Account").await.0, 400);
    assert_eq!(get("/nonsense").await.0, 404);
    let (code, body) = get("/stats").await;
    assert_eq!(code, 200);
    let stats: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["result"]["token"], "DLUX");
    assert_eq!(stats["result"]["lastBlock"], serde_json::json!(last));

    // Per-transaction status: find an applied and a rejected op in the generated chain.
    let mut applied = None;
    let mut rejected = None;
    for b in &blocks {
        for tx in &b.transactions {
            if !tx
                .operations
                .iter()
                .any(|o| matches!(o, HiveOp::CustomJson(c) if c.id.starts_with("dlux_")))
            {
                continue;
            }
            for st in store.statuses(&tx.txid).unwrap() {
                match st.outcome {
                    Outcome::Applied { .. } if applied.is_none() => applied = Some(tx.txid.clone()),
                    Outcome::Rejected { .. } if rejected.is_none() => rejected = Some(tx.txid.clone()),
                    _ => {}
                }
            }
        }
    }
    let (code, body) = get(&format!("/api/status/{}", applied.expect("an applied op"))).await;
    assert_eq!(code, 200);
    let s: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(s["ops"][0]["ok"], true, "{body}");
    let (_, body) = get(&format!("/api/status/{}", rejected.expect("a rejected op"))).await;
    let s: Value = serde_json::from_str(&body).unwrap();
    assert!(
        s["ops"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["ok"] == false && o["code"].is_string()),
        "{body}"
    );
    let (_, body) = get("/api/status/0000000000000000000000000000000000000000").await;
    assert!(body.contains("not yet been processed"), "{body}");

    // Reports: none yet, then a signed one.
    assert_eq!(get("/report/latest").await.0, 404);
    let key = NodeKey::from_seed([7u8; 32]);
    let mut cp = Checkpointer::open(opentoken_checkpointer::CheckpointerParts {
        spec: spec.clone(),
        modules: vec!["token".into()],
        source: opentoken_checkpointer::HashSource::Store(store.clone()),
        log: log.clone(),
        key,
        node: "dlux-io".into(),
        version: "test".into(),
        telemetry: telemetry.clone(),
    })
    .unwrap();
    let made = cp.step().unwrap();
    assert_eq!(made.len(), 3, "checkpoints 100, 200, 300");
    for r in &made {
        verify_report(r).unwrap();
    }
    let mut forged = made[0].clone();
    forged.consensus_hash[0] ^= 1;
    assert!(verify_report(&forged).is_err());
    let (code, body) = get("/report/latest").await;
    assert_eq!(code, 200);
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["block"], 300);
    assert_eq!(r["hash"], hex::encode(made[2].consensus_hash));

    // Health, readiness, metrics.
    assert_eq!(get("/healthz").await.0, 200);
    assert_eq!(get("/readyz").await.0, 200);
    telemetry.set_not_ready("ingester", "Hive API unavailable");
    let (code, body) = get("/readyz").await;
    assert_eq!(code, 503);
    assert!(body.contains("Hive API unavailable"));
    let (code, body) = get("/metrics").await;
    assert_eq!(code, 200);
    assert!(body.contains("opentoken_reports_total 3"), "{body}");
}
