//! `/v1/events/{module}`: a module's state events from a block on, each with its stable id
//! (`opentoken_core::id::event`: the same on every node, so a consumer that reads the same
//! event twice, from here or from the log, drops the copy). `data` is the event as the
//! module encodes it: the Avro single-object encoding of `schemas/<module>_event.avsc`.
//!
//! A page ends at a block boundary, so `next_from_block` loses nothing: only a block with
//! more events of the module than [`MAX_EVENTS`] (a large genesis) is cut, and says so
//! (`block_cut`); the log's events topic has them all.

use crate::dex::count_param;
use crate::reply::{fail, unavailable};
use crate::{client::ClientIp, App};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Events one answer lists by default, and at most.
const DEFAULT_EVENTS: usize = 100;
pub(crate) const MAX_EVENTS: usize = 1_000;

type QueryList = Vec<(String, String)>;

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `GET /v1/events/{module}?from_block=&limit=`.
pub(crate) async fn events(
    State(app): State<Arc<App>>,
    client: ClientIp,
    Path(module): Path<String>,
    query: Result<Query<QueryList>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return fail(StatusCode::BAD_REQUEST, "the query does not parse");
    };
    if !app.api.modules.contains(&module) {
        return fail(
            StatusCode::NOT_FOUND,
            format!(
                "no module {:?} on this node (it runs: {})",
                module.chars().take(32).collect::<String>(),
                app.api.modules.join(", ")
            ),
        );
    }
    let from_block = match param(&query, "from_block") {
        None => 0,
        Some(v) => match v.parse::<u64>() {
            Ok(b) if v.bytes().all(|c| c.is_ascii_digit()) => b,
            _ => {
                return fail(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "`from_block` must be a block number, got {:?}",
                        v.chars().take(24).collect::<String>()
                    ),
                )
            }
        },
    };
    let limit = match count_param("limit", param(&query, "limit"), DEFAULT_EVENTS, MAX_EVENTS, false) {
        Ok(n) => n,
        Err(why) => return fail(StatusCode::BAD_REQUEST, why),
    };
    let work = app.clone();
    app.heavy
        .run(&app.heavy.events, client, move || {
            page(&work, &module, from_block, limit)
        })
        .await
}

fn page(app: &App, module: &str, from_block: u64, limit: usize) -> Response {
    let s = &app.api;
    let mut events = match s.store.events(module, from_block, limit + 1) {
        Ok(events) => events,
        Err(e) => return unavailable(format!("reading the events of {module}"), e),
    };
    let more = events.len() > limit;
    let mut block_cut = false;
    if more {
        // End the page at a block boundary: the events of the block the next page starts
        // at are all on the next page, unless that block is all this page holds.
        let next_block = events[limit].pos.block;
        let whole: usize = events.iter().take(limit).filter(|e| e.pos.block < next_block).count();
        if whole > 0 {
            events.truncate(whole);
        } else {
            events.truncate(limit);
            block_cut = true;
        }
    }
    let next_from_block = match (more, events.last()) {
        (true, Some(last)) => last.pos.block.saturating_add(1),
        _ => match s.store.progress(module) {
            Ok(p) => p.map_or(from_block, |p| p.block.saturating_add(1)).max(from_block),
            Err(e) => return unavailable(format!("reading the progress of {module}"), e),
        },
    };
    let list: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "id": e.id(&s.spec.name).to_string(),
                "module": e.module,
                "block": e.pos.block,
                "trx_in_block": e.pos.trx_in_block,
                "op_in_trx": e.pos.op_in_trx,
                "seq": e.seq,
                "kind": e.kind,
                "data": hex::encode(&e.data),
            })
        })
        .collect();
    let mut body = Map::new();
    body.insert("events".into(), Value::Array(list));
    body.insert("more".into(), json!(more));
    body.insert("next_from_block".into(), json!(next_from_block));
    if block_cut {
        body.insert("block_cut".into(), json!(true));
    }
    s.envelope(body).into_response()
}
