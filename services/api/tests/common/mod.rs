//! What the API tests share: a module's state committed to a fresh store as a processor
//! commits it, an API on that store, and one request through the real router.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use opentoken_api::{router_with, ApiLimits, ApiState};
use opentoken_core::{ChainSpec, ModuleState};
use opentoken_store::{CommitBatch, EmbeddedStore, ModuleCommit, Progress, Store};
use opentoken_telemetry::Telemetry;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

/// `state` of `module` committed to a fresh store at `block`, and an API on it.
pub(crate) fn serve(module: &str, state: &ModuleState, block: u64, spec: ChainSpec) -> (tempfile::TempDir, ApiState) {
    serve_batch(
        CommitBatch {
            modules: vec![ModuleCommit {
                module: module.into(),
                changes: state
                    .to_map()
                    .iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect(),
                lattice: Vec::new(),
                progress: Progress {
                    block,
                    next_offset: block,
                },
                snapshot: None,
            }],
            ..Default::default()
        },
        spec,
    )
}

/// `batch` committed to a fresh store, and an API on it serving the batch's modules.
pub(crate) fn serve_batch(batch: CommitBatch, spec: ChainSpec) -> (tempfile::TempDir, ApiState) {
    let dir = tempfile::tempdir().unwrap();
    let db = opentoken_log::embedded::open_database(&dir.path().join("db.redb")).unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::new(db.clone()).unwrap());
    store.commit(&batch).unwrap();
    let api = ApiState {
        spec: Arc::new(spec),
        store,
        log: Arc::new(opentoken_log::EmbeddedLog::new(db).unwrap()),
        telemetry: Arc::new(Telemetry::new()),
        node: "node1".into(),
        version: "test".into(),
        modules: batch.modules.iter().map(|m| m.module.clone()).collect(),
    };
    (dir, api)
}

/// `GET uri` through the router, with limits no test reaches: the status and the JSON body.
pub(crate) async fn get(api: &ApiState, uri: &str) -> (StatusCode, Value) {
    let limits = ApiLimits {
        heavy_per_minute: 100_000,
        heavy_burst: 10_000,
        ..ApiLimits::default()
    };
    let response = router_with(api.clone(), &limits)
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let code = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("{uri}: not JSON: {bytes:?}"));
    (code, body)
}
