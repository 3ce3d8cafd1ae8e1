//! The routes that read or hash a whole module's state, each run through
//! [`HeavyRoutes::run`](crate::heavy::HeavyRoutes::run) (slots, rate, blocking pool), and
//! the caches of what they make that never changes for a block.

use crate::client::ClientIp;
use crate::reply::{fail, json_bytes, unavailable};
use crate::App;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use opentoken_store::SnapshotDoc;
use opentoken_telemetry::metrics::API;
use serde_json::{json, Value};
use std::sync::Arc;

/// What identifies an encoded snapshot: its block and every module's checkpoint hash at it.
/// The hashes make a restore in place (which replaces the node's own checkpoints) a new
/// key, so a snapshot of state the node has since abandoned is never served from the cache.
pub(crate) type SnapshotKey = (u64, Vec<[u8; 32]>);

/// Where this node stands in the consensus network: the nodes module's view (runners, the
/// open tally, recent final checkpoints) and the node's own verdict (in or out of consensus).
pub(crate) async fn consensus(State(app): State<Arc<App>>, client: ClientIp) -> Response {
    let work = app.clone();
    app.heavy
        .run(&app.heavy.consensus, client, move || consensus_view(&work))
        .await
}

fn consensus_view(app: &App) -> Response {
    let s = &app.api;
    // Read as keys: loading the whole state would also recompute its commitment.
    let state = opentoken_store::ModuleKv {
        store: s.store.as_ref(),
        module: "nodes",
    };
    let read = || -> Result<serde_json::Map<String, Value>, opentoken_nodes::views::ViewError> {
        use opentoken_nodes::views;
        let finals: Vec<Value> = views::try_finals(&state, 20)?
            .into_iter()
            .map(|(b, h)| json!({"block": b, "hash": hex::encode(h)}))
            .collect();
        let mut body = serde_json::Map::new();
        body.insert("verdict".into(), s.consensus_verdict().unwrap_or(Value::Null));
        body.insert(
            "runners".into(),
            json!(views::try_runners(&state)?
                .into_iter()
                .map(|(a, g)| json!({"account": a, "gov": g}))
                .collect::<Vec<_>>()),
        );
        body.insert("nodes".into(), json!(views::try_nodes(&state)?));
        body.insert("open_tally".into(), json!(views::try_open_tally(&state)?));
        body.insert("finals".into(), json!(finals));
        Ok(body)
    };
    let body = match read() {
        Ok(body) => body,
        Err(e) => return unavailable("reading the nodes module", e),
    };
    s.envelope(body).into_response()
}

/// The nodes module's whole committed state (small: node records, the open tally, final
/// hashes): what this node's own distributed checkpointer reads to follow consensus.
pub(crate) async fn nodes_state(State(app): State<Arc<App>>, client: ClientIp) -> Response {
    let work = app.clone();
    app.heavy
        .run(
            &app.heavy.nodes_state,
            client,
            move || match opentoken_store::ModuleStateDoc::from_store(work.api.store.as_ref(), "nodes") {
                Ok(doc) => Json(doc).into_response(),
                Err(e) => unavailable("reading the nodes module", e),
            },
        )
        .await
}

/// The whole state of every module at a recent checkpoint, for peers that are out of
/// consensus; they verify it against the final hash before using it. Encoded once per
/// checkpoint (see [`SnapshotKey`]) and served from the cache after that.
pub(crate) async fn snapshot(State(app): State<Arc<App>>, Path(block): Path<String>, client: ClientIp) -> Response {
    // Parsed here rather than by the extractor, whose refusal is plain text: every answer
    // of the API is JSON.
    let Ok(block) = block.parse::<u64>() else {
        return crate::reply::fail(
            axum::http::StatusCode::BAD_REQUEST,
            format!("{:?} is not a block number", block.chars().take(32).collect::<String>()),
        );
    };
    let work = app.clone();
    app.heavy
        .run(&app.heavy.snapshots, client, move || snapshot_body(&work, block))
        .await
}

fn snapshot_body(app: &App, block: u64) -> Response {
    let s = &app.api;
    let key = match snapshot_key(app, block) {
        Ok(key) => key,
        Err(e) => return unavailable(format!("reading the checkpoints of {block}"), e),
    };
    if let Some(body) = key.as_ref().and_then(|k| app.snapshots.get(k)) {
        return json_bytes(body);
    }
    match SnapshotDoc::from_store(s.store.as_ref(), &s.spec.name, &s.modules, block) {
        Ok(Some(doc)) => {
            let body = match serde_json::to_vec(&doc) {
                Ok(bytes) => Bytes::from(bytes),
                Err(e) => {
                    return fail(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("encoding the snapshot of {block}: {e}"),
                    )
                }
            };
            API.snapshot_encodes.add(&s.telemetry, 1);
            if let Some(key) = key {
                app.snapshots.insert(key, body.clone());
            }
            json_bytes(body)
        }
        Ok(None) => fail(
            StatusCode::NOT_FOUND,
            format!("no snapshot of checkpoint {block} kept here (see --keep-snapshots)"),
        ),
        Err(e) => unavailable(format!("reading the snapshot of {block}"), e),
    }
}

/// `None` when a module has no checkpoint at `block` (nothing worth caching).
fn snapshot_key(app: &App, block: u64) -> Result<Option<SnapshotKey>, opentoken_store::StoreError> {
    let mut hashes = Vec::with_capacity(app.api.modules.len());
    for module in &app.api.modules {
        match app.api.store.checkpoint(module, block)? {
            Some(hash) => hashes.push(hash),
            None => return Ok(None),
        }
    }
    Ok(Some((block, hashes)))
}

/// The reference's `/coin` audit: every holding summed from the accounts, compared with the
/// supply counter. The sums are kept per committed block, so repeated requests between two
/// commits scan once.
pub(crate) async fn coin(State(app): State<Arc<App>>, client: ClientIp) -> Response {
    let work = app.clone();
    app.heavy.run(&app.heavy.coin, client, move || coin_body(&work)).await
}

fn coin_body(app: &App) -> Response {
    let s = &app.api;
    // The check reads many keys, each read on its own; a commit landing in between would
    // mix two states. So it is read optimistically: kept (and cached) only when the
    // processed block is the same before and after, retried a few times otherwise; a node
    // committing faster than the check reads answers with the newest consistent check,
    // which says its block (`block`).
    let mut attempt = 0;
    let (block, check) = loop {
        let block = s.processed_block();
        if let Some(check) = block.and_then(|b| app.supply.get(&b)) {
            break (block, check);
        }
        let made = opentoken_token::supply_check(&s.token_kv())
            .map_err(|e| e.to_string())
            .and_then(|check| serde_json::to_value(check).map_err(|e| e.to_string()));
        let check = match made {
            Ok(check) => check,
            Err(e) => return unavailable("checking supply", e),
        };
        attempt += 1;
        if s.processed_block() == block {
            if let Some(b) = block {
                app.supply.insert(b, check.clone());
            }
            break (block, check);
        }
        if attempt >= 3 {
            match app.supply.newest() {
                Some((b, check)) => break (Some(b), check),
                None => return unavailable("checking supply", "the state moved during each of 3 reads; ask again"),
            }
        }
    };
    match check {
        Value::Object(mut m) => {
            m.insert("block".into(), serde_json::json!(block));
            s.envelope(m).into_response()
        }
        _ => fail(StatusCode::INTERNAL_SERVER_ERROR, "supply check is not an object"),
    }
}
