//! `/v1/events/{module}`: a module's committed events with their stable ids, paged at block
//! boundaries so that following `next_from_block` reads every event once; a block with more
//! events than a page holds is cut and says so; bad parameters are 400, unknown modules 404.

use axum::http::StatusCode;
use opentoken_core::test_utils::test_spec;
use opentoken_core::{ChainPos, EventRecord, ModuleState};
use opentoken_store::{CommitBatch, ModuleCommit, Progress};
use serde_json::json;
use std::collections::BTreeSet;

mod common;
use common::{get, serve, serve_batch};

fn event(block: u64, trx: u32, seq: u32) -> EventRecord {
    EventRecord {
        module: "token".into(),
        pos: ChainPos::new(block, trx, 0),
        seq,
        kind: "Transferred".into(),
        data: vec![block as u8, seq as u8],
    }
}

/// Blocks 10 (3 events), 11 (2), 13 (1) and 20 (1,500: more than a page) committed, progress
/// at block 30.
fn api() -> (tempfile::TempDir, opentoken_api::ApiState) {
    let mut events = vec![
        event(10, 0, 0),
        event(10, 0, 1),
        event(10, 1, 0),
        event(11, 0, 0),
        event(11, 2, 0),
    ];
    events.push(event(13, 0, 0));
    events.extend((0..1_500).map(|i| event(20, i, 0)));
    serve_batch(
        CommitBatch {
            modules: vec![ModuleCommit {
                module: "token".into(),
                changes: Default::default(),
                lattice: Vec::new(),
                progress: Progress {
                    block: 30,
                    next_offset: 30,
                },
                snapshot: None,
            }],
            events,
            ..Default::default()
        },
        test_spec(),
    )
}

#[tokio::test]
async fn pages_end_at_block_boundaries_and_ids_are_the_events() {
    let (_dir, api) = api();
    // A page of 4 would end inside block 11: it ends after block 10 instead.
    let (code, body) = get(&api, "/v1/events/token?limit=4").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{body}");
    assert_eq!(
        (body["more"].clone(), body["next_from_block"].clone()),
        (json!(true), json!(11))
    );
    let first = &events[0];
    let want = event(10, 0, 0).id(&api.spec.name).to_string();
    assert_eq!(first["id"], want, "the event's name-based id");
    assert_eq!(first["data"], "0a00");
    assert_eq!((first["block"].clone(), first["seq"].clone()), (json!(10), json!(0)));

    // Following next_from_block reads every event once; block 20 (1,500 events) is cut at
    // the largest page and says so.
    let mut seen = BTreeSet::new();
    let mut from = 0;
    let mut cut = false;
    for _ in 0..20 {
        let (_, body) = get(&api, &format!("/v1/events/token?from_block={from}&limit=1000")).await;
        for e in body["events"].as_array().unwrap() {
            assert!(seen.insert(e["id"].as_str().unwrap().to_string()), "read twice: {e}");
        }
        cut |= body["block_cut"] == true;
        from = body["next_from_block"].as_u64().unwrap();
        if body["more"] == false {
            break;
        }
    }
    assert_eq!(from, 31, "the end: the block after the committed one");
    assert!(cut, "block 20 is more than a page");
    assert_eq!(seen.len(), 6 + 1_000, "every event once, block 20's first 1,000");
}

#[tokio::test]
async fn bad_parameters_and_unknown_modules_are_refused() {
    let (_dir, api) = api();
    for uri in [
        "/v1/events/token?limit=0",
        "/v1/events/token?limit=x",
        "/v1/events/token?from_block=-1",
        "/v1/events/token?from_block=1e3",
    ] {
        let (code, body) = get(&api, uri).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(body["error"].is_string(), "{uri}: {body}");
    }
    let (code, body) = get(&api, "/v1/events/nosuch").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert!(
        body["error"].as_str().unwrap().contains("token"),
        "names what runs: {body}"
    );
    // A module that runs but committed no event yet: an empty page from its next block.
    let (_dir2, nodes) = serve("nodes", &ModuleState::new(), 7, test_spec());
    let (code, body) = get(&nodes, "/v1/events/nodes").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        (body["events"].clone(), body["next_from_block"].clone()),
        (json!([]), json!(8))
    );
    let (code, body) = get(&api, "/v1/events/token?limit=5000").await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        body["events"].as_array().unwrap().len() <= 1_000,
        "a larger limit is served as the largest"
    );
}
