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
    let applied = applied.expect("an applied op");
    let (code, body) = get(&format!("/api/status/{applied}")).await;
    assert_eq!(code, 200);
    let s: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(s["ops"][0]["ok"], true, "{body}");
    // Each op's stable id, derived from the community, module, txid and chain position.
    let ids: Vec<String> = store
        .statuses(&applied)
        .unwrap()
        .iter()
        .map(|st| opentoken_core::id::op_status(&spec.name, &st.module, &st.txid, st.pos).to_string())
        .collect();
    let served: Vec<&str> = s["ops"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert_eq!(served, ids, "{body}");
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
    assert_eq!(get("/v1/report/latest").await.0, 404);
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
    let (code, body) = get("/v1/report/latest").await;
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

/// The module's outflow views as `/api/multisig` lists them: each with its stable id, derived
/// from the community and the outflow's number.
fn with_outflow_ids(community: &str, mut views: Value) -> Value {
    for view in views.as_array_mut().into_iter().flatten() {
        let seq = view["seq"].as_u64().expect("an outflow number");
        view["id"] = serde_json::json!(opentoken_core::id::outflow(community, "multisig", seq).to_string());
    }
    views
}

/// On the devnet chain (which runs the multisig module): `/@:account` carries the Layer-2
/// HIVE and HBD, `/api/multisig` the account's books, signers, open transaction and
/// outflows as the module's own views read them, and `/api/status/:txid` answers for
/// deposits, withdrawals and signatures like for any other operation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_serves_the_multisig_account_and_its_statuses() {
    use opentoken_core::{CustomJsonOp, Transaction};
    use opentoken_multisig::views;
    let spec = devnet_multisig_spec();
    assert!(
        spec.module_config("multisig").is_some(),
        "the devnet-multisig chain runs the multisig module"
    );
    let mut blocks = generate(&spec, 5, 300);
    // A signature when no transaction is open: rejected, and its status says so.
    let sign_txid = "ab".repeat(20);
    blocks[149].transactions.push(Transaction {
        txid: sign_txid.clone(),
        operations: vec![HiveOp::CustomJson(CustomJsonOp {
            required_auths: vec!["alice".into()],
            required_posting_auths: vec![],
            id: "dlux_ms_sign".into(),
            json: r#"{"checkpoint": 100, "sig": "00"}"#.into(),
        })],
    });
    let dir = tempfile::tempdir().unwrap();
    let (log, store) = open(dir.path());
    publish(&spec, &log, &blocks, 1000);
    let last = blocks.last().unwrap().num;
    process(&spec, &log, &store, 100, last);

    let state = opentoken_api::ApiState {
        spec: spec.clone(),
        store: store.clone(),
        log: log.clone(),
        telemetry: Arc::new(Telemetry::new()),
        node: "dlux-io".into(),
        version: "test".into(),
        modules: vec!["token".into(), "nodes".into(), "multisig".into()],
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            opentoken_api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let get = |path: &str| {
        let url = format!("{base}{path}");
        async move {
            let r = reqwest::get(&url).await.unwrap();
            let status = r.status().as_u16();
            (status, serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap())
        }
    };
    let ms = opentoken_core::ModuleState::from_pairs(store.load_module("multisig").unwrap().pairs);

    // Deposits and withdrawals of the generated traffic, and their statuses.
    let (mut deposit, mut withdrawal) = (None, None);
    for b in &blocks {
        for tx in &b.transactions {
            for op in &tx.operations {
                match op {
                    HiveOp::Transfer(t) if t.to == spec.msaccount && deposit.is_none() => {
                        deposit = Some((tx.txid.clone(), t.from.clone()))
                    }
                    HiveOp::CustomJson(c) if c.id == "dlux_ms_withdraw" && withdrawal.is_none() => {
                        withdrawal = Some(tx.txid.clone())
                    }
                    _ => {}
                }
            }
        }
    }
    let (deposit, depositor) = deposit.expect("the devnet traffic deposits");
    let (code, body) = get(&format!("/api/status/{deposit}")).await;
    assert_eq!(code, 200, "{body}");
    let op = body["ops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["op"] == "transfer")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(op["from"], depositor.as_str(), "{body}");
    assert!(op["ok"].is_boolean() && op["message"].is_string(), "{body}");
    let (code, body) = get(&format!(
        "/api/status/{}",
        withdrawal.expect("the devnet traffic withdraws")
    ))
    .await;
    assert_eq!(code, 200, "{body}");
    assert!(
        body["ops"].as_array().unwrap().iter().any(|o| o["op"] == "ms_withdraw"),
        "{body}"
    );
    let (code, body) = get(&format!("/api/status/{sign_txid}")).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["ops"][0]["op"], "ms_sign", "{body}");
    assert_eq!(body["ops"][0]["ok"], false, "{body}");
    assert!(body["ops"][0]["code"].is_string(), "{body}");

    // Layer-2 balances on /@:account, as the module's view reads them.
    let (code, body) = get(&format!("/@{depositor}")).await;
    assert_eq!(code, 200, "{body}");
    let expected = views::balances(&ms, &depositor).unwrap();
    assert_eq!(body["hive_l2"], serde_json::json!(expected.hive), "{body}");
    assert_eq!(body["hbd_l2"], serde_json::json!(expected.hbd), "{body}");
    assert!(body["balance"].is_u64(), "the token's fields are still there: {body}");

    // The account's books and queues.
    let (code, body) = get("/api/multisig").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["account"], "dlux-cc");
    assert_eq!(body["node"], "dlux-io", "the envelope");
    let holdings = views::holdings(&ms).unwrap();
    assert_eq!(body["holdings"], serde_json::to_value(&holdings).unwrap());
    assert!(
        holdings.hive.held + holdings.hbd.held > 0,
        "the generated deposits reached the books: {body}"
    );
    assert_eq!(
        body["signers"],
        serde_json::to_value(views::signers(&ms).unwrap()).unwrap()
    );
    let mut open = serde_json::to_value(views::open_transaction(&ms, "dlux-cc").unwrap()).unwrap();
    if !open.is_null() {
        open["outflows"] = with_outflow_ids(&spec.name, open["outflows"].take());
    }
    assert_eq!(body["open_transaction"], open);
    let pending = views::pending_outflows(&ms, 51).unwrap();
    assert_eq!(body["pending_more"], pending.len() > 50);
    let shown = &pending[..pending.len().min(50)];
    assert!(!shown.is_empty(), "the generated withdrawals queued outflows: {body}");
    assert_eq!(
        body["pending"],
        with_outflow_ids(&spec.name, serde_json::to_value(shown).unwrap())
    );
    let paid = views::paid_history(&ms, 100_000).unwrap();
    let newest: Vec<_> = paid.iter().rev().take(20).cloned().collect();
    assert_eq!(
        body["paid"],
        with_outflow_ids(&spec.name, serde_json::to_value(&newest).unwrap())
    );
    assert_eq!(body["limits"], serde_json::json!({"pending": 50, "paid": 20}));

    // What a distributed agent reads to sign: the duty's keys only, as the view lists them.
    let (code, body) = get("/v1/state/multisig").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["processed_block"], serde_json::json!(last), "{body}");
    let served: Vec<(String, String)> = serde_json::from_value(body["pairs"].clone()).unwrap();
    let want: Vec<(String, String)> = views::duty_pairs(&ms)
        .unwrap()
        .iter()
        .map(|(k, v)| (hex::encode(k), hex::encode(v)))
        .collect();
    assert_eq!(served, want);
    assert!(
        served.iter().all(|(k, _)| !k.starts_with(&hex::encode("bal/"))),
        "no user balances are served"
    );
}
