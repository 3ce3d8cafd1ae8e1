//! The HTTP API. Routes follow the reference node where it has them (`/@:account`,
//! `/stats`, `/api/status/:txid`, `/api/protocol`, `/coin`), with the same field names, so
//! existing wallets keep working; `/healthz`, `/readyz` and `/metrics` are for operators.
//!
//! Every handler reads committed state from the store, never in-flight engine state, so
//! what the API shows is always something the node has durably agreed with itself.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use opentoken_core::{ChainSpec, OpStatus, Outcome};
use opentoken_log::Log;
use opentoken_store::{ModuleKv, Store};
use opentoken_telemetry::metrics::INGESTER;
use opentoken_telemetry::Telemetry;
use serde_json::{json, Value};
use std::sync::Arc;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub spec: Arc<ChainSpec>,
    pub store: Arc<dyn Store>,
    pub log: Arc<dyn Log>,
    pub telemetry: Arc<Telemetry>,
    /// This node's Hive account ("" if it has none).
    pub node: String,
    pub version: String,
    /// The modules whose checkpoints form the consensus hash (snapshots are served for them).
    pub modules: Vec<String>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(stats))
        .route("/stats", get(stats))
        .route("/coin", get(coin))
        .route("/api/protocol", get(protocol))
        .route("/api/status/{txid}", get(status))
        .route("/report/latest", get(latest_report))
        .route("/consensus", get(consensus))
        .route("/v1/snapshots/{block}", get(snapshot))
        .route("/v1/state/nodes", get(nodes_state))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/{user}", get(user))
        .with_state(state)
}

/// An error body that says what failed.
fn fail(code: StatusCode, what: impl std::fmt::Display) -> Response {
    (code, Json(json!({ "error": what.to_string() }))).into_response()
}

impl ApiState {
    fn processed_block(&self) -> Option<u64> {
        self.store.progress("token").ok().flatten().map(|p| p.block)
    }

    /// Blocks between Hive's head (as the ingester last saw it) and the committed state.
    fn behind(&self) -> Value {
        match (INGESTER.hive_head_block.get(&self.telemetry), self.processed_block()) {
            (Some(head), Some(done)) => json!((head as u64).saturating_sub(done)),
            _ => Value::Null,
        }
    }

    fn envelope(&self, mut body: serde_json::Map<String, Value>) -> Json<Value> {
        body.insert("node".into(), json!(self.node));
        body.insert("behind".into(), self.behind());
        body.insert("VERSION".into(), json!(self.version));
        // Every answer says whether the state it was read from agrees with the network: a
        // node out of consensus keeps serving (it is recovering) but must not be trusted.
        if let Some(v) = self
            .telemetry
            .document("consensus")
            .and_then(|d| serde_json::from_str::<Value>(&d).ok())
        {
            body.insert("in_consensus".into(), v["in_consensus"].clone());
        }
        Json(Value::Object(body))
    }

    fn token_kv(&self) -> ModuleKv<'_> {
        ModuleKv {
            store: self.store.as_ref(),
            module: "token",
        }
    }
}

async fn user(State(s): State<ApiState>, Path(user): Path<String>) -> Response {
    let Some(account) = user.strip_prefix('@') else {
        return fail(
            StatusCode::NOT_FOUND,
            format!("no route /{user}; accounts are at /@<account>"),
        );
    };
    if !opentoken_core::account::is_valid_account_name(account) {
        return fail(
            StatusCode::BAD_REQUEST,
            format!("{account:?} is not a valid Hive account name"),
        );
    }
    let kv = s.token_kv();
    match tokio::task::block_in_place(|| opentoken_token::account_view(&kv, account)) {
        Ok(view) => match serde_json::to_value(view) {
            Ok(Value::Object(m)) => s.envelope(m).into_response(),
            Ok(_) | Err(_) => fail(StatusCode::INTERNAL_SERVER_ERROR, "account view is not an object"),
        },
        Err(e) => fail(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("reading account {account}: {e}"),
        ),
    }
}

async fn stats(State(s): State<ApiState>) -> Response {
    let kv = s.token_kv();
    match tokio::task::block_in_place(|| opentoken_token::stats_view(&kv)) {
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
        Err(e) => fail(StatusCode::SERVICE_UNAVAILABLE, format!("reading stats: {e}")),
    }
}

async fn coin(State(s): State<ApiState>) -> Response {
    let kv = s.token_kv();
    match tokio::task::block_in_place(|| opentoken_token::supply_check(&kv)) {
        Ok(check) => match serde_json::to_value(check) {
            Ok(Value::Object(m)) => s.envelope(m).into_response(),
            _ => fail(StatusCode::INTERNAL_SERVER_ERROR, "supply check is not an object"),
        },
        Err(e) => fail(StatusCode::SERVICE_UNAVAILABLE, format!("checking supply: {e}")),
    }
}

async fn protocol(State(s): State<ApiState>) -> Json<Value> {
    let mut m = serde_json::Map::new();
    m.insert("prefix".into(), json!(s.spec.prefix));
    m.insert("multisig".into(), json!(s.spec.msaccount));
    m.insert("jsontoken".into(), json!(s.spec.token.to_lowercase()));
    m.insert("token".into(), json!(s.spec.token));
    m.insert("precision".into(), json!(s.spec.precision));
    m.insert("leader".into(), json!(s.spec.leader));
    m.insert("delegation".into(), json!(s.spec.delegation_account));
    m.insert("checkpoint_interval".into(), json!(s.spec.checkpoint_interval));
    s.envelope(m)
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

async fn status(State(s): State<ApiState>, Path(txid): Path<String>) -> Response {
    if txid.len() > 128 {
        return fail(StatusCode::BAD_REQUEST, "transaction id is too long");
    }
    match tokio::task::block_in_place(|| s.store.statuses(&txid)) {
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
        Err(e) => fail(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("reading status of {txid}: {e}"),
        ),
    }
}

async fn latest_report(State(s): State<ApiState>) -> Response {
    let topic = s.spec.reports_topic();
    match tokio::task::block_in_place(|| s.log.last(&topic)) {
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
        Err(e) => fail(StatusCode::SERVICE_UNAVAILABLE, format!("reading {topic}: {e}")),
    }
}

/// Where this node stands in the consensus network: the nodes module's view (runners, the
/// open tally, recent final checkpoints) and the node's own verdict (in or out of consensus).
async fn consensus(State(s): State<ApiState>) -> Response {
    let state = match s.store.load_module("nodes") {
        Ok(m) => opentoken_core::ModuleState::from_pairs(m.pairs),
        Err(e) => {
            return fail(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("reading the nodes module: {e}"),
            )
        }
    };
    let own: Value = s
        .telemetry
        .document("consensus")
        .and_then(|d| serde_json::from_str(&d).ok())
        .unwrap_or(Value::Null);
    let finals: Vec<Value> = opentoken_nodes::views::finals(&state, 20)
        .into_iter()
        .map(|(b, h)| json!({"block": b, "hash": hex::encode(h)}))
        .collect();
    let mut body = serde_json::Map::new();
    body.insert("verdict".into(), own);
    body.insert(
        "runners".into(),
        json!(opentoken_nodes::views::runners(&state)
            .into_iter()
            .map(|(a, g)| json!({"account": a, "gov": g}))
            .collect::<Vec<_>>()),
    );
    body.insert("nodes".into(), json!(opentoken_nodes::views::nodes(&state)));
    body.insert("open_tally".into(), json!(opentoken_nodes::views::open_tally(&state)));
    body.insert("finals".into(), json!(finals));
    s.envelope(body).into_response()
}

/// The nodes module's whole committed state (small: node records, the open tally, final
/// hashes): what this node's own distributed checkpointer reads to follow consensus.
async fn nodes_state(State(s): State<ApiState>) -> Response {
    match opentoken_store::ModuleStateDoc::from_store(s.store.as_ref(), "nodes") {
        Ok(doc) => Json(doc).into_response(),
        Err(e) => fail(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("reading the nodes module: {e}"),
        ),
    }
}

/// The whole state of every module at a recent checkpoint, for peers that are out of
/// consensus; they verify it against the final hash before using it.
async fn snapshot(State(s): State<ApiState>, Path(block): Path<u64>) -> Response {
    match opentoken_store::SnapshotDoc::from_store(s.store.as_ref(), &s.spec.name, &s.modules, block) {
        Ok(Some(doc)) => Json(doc).into_response(),
        Ok(None) => fail(
            StatusCode::NOT_FOUND,
            format!("no snapshot of checkpoint {block} kept here (see --keep-snapshots)"),
        ),
        Err(e) => fail(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("reading the snapshot of {block}: {e}"),
        ),
    }
}

async fn readyz(State(s): State<ApiState>) -> Response {
    ready_response(&s.telemetry)
}

fn ready_response(telemetry: &Telemetry) -> Response {
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

fn metrics_response(telemetry: &Telemetry) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        telemetry.render(),
    )
        .into_response()
}

/// Health, readiness and metrics alone: what the roles that serve no API (ingester,
/// processor, checkpointer) expose for their probes and for Prometheus.
pub fn probes_router(telemetry: Arc<Telemetry>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(t): State<Arc<Telemetry>>| async move { ready_response(&t) }),
        )
        .route(
            "/metrics",
            get(|State(t): State<Arc<Telemetry>>| async move { metrics_response(&t) }),
        )
        .with_state(telemetry)
}

async fn metrics(State(s): State<ApiState>) -> Response {
    metrics_response(&s.telemetry)
}
