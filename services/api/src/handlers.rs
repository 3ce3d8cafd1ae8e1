//! The cheap routes: point reads of the store or the log (an account, the totals, a
//! transaction's status, the latest report) and the probes. Their reads run on the blocking
//! pool; they are bounded by the API-wide limits only.

use crate::reply::{blocking, fail, unavailable};
use crate::App;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use opentoken_core::{OpStatus, Outcome};
use opentoken_telemetry::Telemetry;
use serde_json::{json, Value};
use std::sync::Arc;

/// Longest transaction id looked up (Hive's are 40 hex characters).
const MAX_TXID_LEN: usize = 128;

pub(crate) async fn user(State(app): State<Arc<App>>, Path(user): Path<String>) -> Response {
    let Some(account) = user.strip_prefix('@').map(str::to_string) else {
        return fail(
            StatusCode::NOT_FOUND,
            format!("no route /{user}; accounts are at /@<account>"),
        );
    };
    if !opentoken_core::account::is_valid_account_name(&account) {
        return fail(
            StatusCode::BAD_REQUEST,
            format!("{account:?} is not a valid Hive account name"),
        );
    }
    blocking(move || {
        let s = &app.api;
        match opentoken_token::account_view(&s.token_kv(), &account) {
            Ok(view) => match serde_json::to_value(view) {
                Ok(Value::Object(m)) => s.envelope(m).into_response(),
                Ok(_) | Err(_) => fail(StatusCode::INTERNAL_SERVER_ERROR, "account view is not an object"),
            },
            Err(e) => unavailable(format!("reading account {account}"), e),
        }
    })
    .await
}

pub(crate) async fn stats(State(app): State<Arc<App>>) -> Response {
    blocking(move || {
        let s = &app.api;
        match opentoken_token::stats_view(&s.token_kv()) {
            Ok(view) => {
                let mut result = match serde_json::to_value(view) {
                    Ok(Value::Object(m)) => m,
                    _ => serde_json::Map::new(),
                };
                result.insert("token".into(), json!(s.spec.token));
                result.insert("precision".into(), json!(s.spec.precision));
                result.insert("lastBlock".into(), json!(s.processed_block()));
                let mut body = serde_json::Map::new();
                body.insert("result".into(), Value::Object(result));
                s.envelope(body).into_response()
            }
            Err(e) => unavailable("reading stats", e),
        }
    })
    .await
}

pub(crate) async fn protocol(State(app): State<Arc<App>>) -> Response {
    blocking(move || {
        let s = &app.api;
        let mut m = serde_json::Map::new();
        m.insert("prefix".into(), json!(s.spec.prefix));
        m.insert("multisig".into(), json!(s.spec.msaccount));
        m.insert("jsontoken".into(), json!(s.spec.token.to_lowercase()));
        m.insert("token".into(), json!(s.spec.token));
        m.insert("precision".into(), json!(s.spec.precision));
        m.insert("leader".into(), json!(s.spec.leader));
        m.insert("delegation".into(), json!(s.spec.delegation_account));
        m.insert("checkpoint_interval".into(), json!(s.spec.checkpoint_interval));
        s.envelope(m).into_response()
    })
    .await
}

fn status_text(st: &OpStatus) -> Value {
    match &st.outcome {
        Outcome::Applied { summary } => json!({
            "op": st.op, "from": st.from, "block": st.pos.block, "trx_in_block": st.pos.trx_in_block,
            "op_in_trx": st.pos.op_in_trx, "ok": true, "message": format!("@{}| {}", st.from, summary),
        }),
        Outcome::Rejected { code, reason } => json!({
            "op": st.op, "from": st.from, "block": st.pos.block, "trx_in_block": st.pos.trx_in_block,
            "op_in_trx": st.pos.op_in_trx, "ok": false, "code": code.to_string(),
            "message": format!("@{}| Invalid {}: {}", st.from, st.op, reason),
        }),
    }
}

pub(crate) async fn status(State(app): State<Arc<App>>, Path(txid): Path<String>) -> Response {
    if txid.len() > MAX_TXID_LEN {
        return fail(StatusCode::BAD_REQUEST, "transaction id is too long");
    }
    blocking(move || match app.api.store.statuses(&txid) {
        Ok(list) if list.is_empty() => Json(json!({
            "txid": txid,
            "status": "This TransactionID either has not yet been processed, or was not a community operation.",
        }))
        .into_response(),
        Ok(list) => {
            let ops: Vec<Value> = list.iter().map(status_text).collect();
            let summary = ops
                .last()
                .and_then(|o| o.get("message"))
                .cloned()
                .unwrap_or(Value::Null);
            Json(json!({ "txid": txid, "status": summary, "ops": ops })).into_response()
        }
        Err(e) => unavailable(format!("reading status of {txid}"), e),
    })
    .await
}

pub(crate) async fn latest_report(State(app): State<Arc<App>>) -> Response {
    blocking(move || {
        let topic = app.api.spec.reports_topic();
        match app.api.log.last(&topic) {
            Ok(None) => fail(StatusCode::NOT_FOUND, "no consensus report yet"),
            Ok(Some(rec)) => match opentoken_codec::decode_report(&rec.value) {
                Ok(r) => Json(json!({
                    "community": r.community,
                    "block": r.block,
                    "hash": hex::encode(r.consensus_hash),
                    "modules": r.module_hashes.iter().map(|m| json!({"module": m.module, "hash": hex::encode(m.hash)})).collect::<Vec<_>>(),
                    "node": r.node,
                    "version": r.version,
                    "public_key": hex::encode(r.public_key),
                    "signature": hex::encode(r.signature),
                }))
                .into_response(),
                Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, format!("latest report cannot be decoded: {e}")),
            },
            Err(e) => unavailable(format!("reading {topic}"), e),
        }
    })
    .await
}

/// `/readyz`: 200 when every component is ready, else 503 with each one's public reason
/// (the detail behind it is in the node's log, never here: see `opentoken_telemetry`).
pub(crate) fn ready_response(telemetry: &Telemetry) -> Response {
    match telemetry.readiness() {
        Ok(()) => (StatusCode::OK, Json(json!({"ready": true}))).into_response(),
        Err(why) => {
            let reasons: serde_json::Map<String, Value> = why.into_iter().map(|(c, w)| (c, json!(w))).collect();
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"ready": false, "not_ready": reasons})),
            )
                .into_response()
        }
    }
}

pub(crate) fn metrics_response(telemetry: &Telemetry) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        telemetry.render(),
    )
        .into_response()
}
