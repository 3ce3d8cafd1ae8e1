//! Proof of Brain's routes over a real token state: posts, options and votes decided by the
//! token module, committed to a store as a processor commits it, read through the router:
//! `/posts`, `/posts/:author/:permlink` (pending, open with votes, paid), the vote-mana
//! meters of `/@:account` and the moving weight of `/stats`, and the requests it refuses.

use axum::http::StatusCode;
use opentoken_core::test_utils::{test_spec, ModuleHarness};
use opentoken_core::{ChainSpec, HiveOp, StateRead};
use opentoken_token::TokenModule;
use serde_json::{json, Value};

mod common;
use common::{get, serve};

fn spec() -> ChainSpec {
    test_spec().with_module(
        "token",
        json!({
            "power_down_interval": 10, "gov_down_interval": 10,
            "genesis": {"balances": {"whale": 1_000_000_000}, "pow": {"bob": 4_000}},
            "economy": {"interest_rate": 10_000, "mint_every": 100, "dao_every": 1_000, "dao_offset": 150,
                        "proof_of_brain": {"beneficiary": "dlux-io", "pending_blocks": 50, "reward_blocks": 150}},
        }),
    )
}

fn other(name: &str, body: Value) -> HiveOp {
    HiveOp::Other {
        name: name.into(),
        body: body.to_string(),
    }
}

fn post(h: &mut ModuleHarness<TokenModule>, block: u64, permlink: &str, register: bool) {
    let comment = other(
        "comment",
        json!({"author": "alice", "permlink": permlink, "json_metadata": r#"{"arHash":"Qm"}"#}),
    );
    h.hive_op(block, &comment).expect("routed").expect("pending");
    if register {
        let options = other(
            "comment_options",
            json!({"author": "alice", "permlink": permlink,
                   "extensions": [[0, {"beneficiaries": [{"account": "dlux-io", "weight": 1_000}]}]]}),
        );
        h.hive_op(block, &options).expect("routed").expect("registered");
    }
}

fn vote(h: &mut ModuleHarness<TokenModule>, block: u64, permlink: &str) {
    let v = other(
        "vote",
        json!({"voter": "bob", "author": "alice", "permlink": permlink, "weight": 10_000}),
    );
    h.hive_op(block, &v).expect("routed").expect("counted");
}

#[tokio::test]
async fn posts_votes_and_meters_are_served() {
    let mut h = ModuleHarness::new(TokenModule::from_spec(&spec()).expect("spec"), spec());
    // `paid`: registered at 1, voted on, paid at the tally of 200 after the DAO day of 150
    // filled the content pool; `open`: registered at 160; `waiting`: no options yet.
    post(&mut h, 1, "paid", true);
    vote(&mut h, 1, "paid");
    for b in [100, 150, 200] {
        h.block_end(b);
    }
    post(&mut h, 160, "open", true);
    vote(&mut h, 161, "open");
    post(&mut h, 170, "waiting", false);
    assert!(
        h.state.scan_prefix(b"paid/").next().is_some(),
        "the first post was paid"
    );
    let (_dir, api) = serve("token", &h.state, 200, spec());

    let (code, body) = get(&api, "/posts").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        body["feed"],
        json!({"alice/open": {"author": "alice", "permlink": "open", "block": 160, "closes": 310}})
    );
    let (code, body) = get(&api, "/posts/alice/open").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["now"]["status"], "open");
    assert_eq!(body["now"]["votes"]["bob"]["b"], 161);
    assert!(body["now"]["votes"]["bob"]["v"].as_i64().unwrap() > 0);
    let (_, body) = get(&api, "/posts/alice/waiting").await;
    assert_eq!(
        (body["now"]["status"].clone(), body["now"]["expires"].clone()),
        (json!("pending"), json!(220))
    );
    let (_, body) = get(&api, "/posts/alice/paid").await;
    assert_eq!(body["now"]["status"], "paid");
    let paid = &body["now"]["paid"];
    assert!(
        paid["author_share"].as_u64().unwrap() > 0 && paid["curation"].as_u64().unwrap() > 0,
        "{paid}"
    );

    let (code, body) = get(&api, "/@bob").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["up"]["max"], 200_000, "50 × bob's 4,000 power");
    assert_eq!(
        body["heldCollateral"], 0,
        "the reference's field, never written there either"
    );
    assert_eq!(body["up"]["last"], 161);
    assert_eq!(
        body["down"],
        json!({"max": 200_000, "last": 1, "power": 200_000}),
        "full since the first vote"
    );
    let (_, body) = get(&api, "/@carol").await;
    assert_eq!(
        body["up"],
        json!({"max": 0, "last": 0, "power": 0}),
        "no power, no meter"
    );
    let (_, body) = get(&api, "/stats").await;
    assert!(
        body["result"]["movingWeight"]["running"].as_u64().unwrap() > 0,
        "{body}"
    );

    for (uri, code) in [
        ("/posts/alice/nothing", StatusCode::NOT_FOUND),
        ("/posts/Alice/open", StatusCode::BAD_REQUEST),
        ("/posts/alice/UPPER", StatusCode::BAD_REQUEST),
        ("/posts/alice/a%2Fb", StatusCode::BAD_REQUEST),
    ] {
        let (got, body) = get(&api, uri).await;
        assert_eq!(got, code, "{uri}: {body}");
        assert!(body["error"].is_string(), "{uri}: the reason is given: {body}");
    }
    let long = format!("/posts/alice/{}", "a".repeat(257));
    assert_eq!(get(&api, &long).await.0, StatusCode::BAD_REQUEST);
}

/// `/api/leader_votes` lists the Hive votes the leader owes, each as the `vote` operation to
/// broadcast, and the posts queued for the next round; a settled vote leaves the list.
#[tokio::test]
async fn leader_votes_are_served_as_ops_to_broadcast() {
    let mut spec = spec();
    spec.modules.get_mut("token").expect("token")["economy"]["proof_of_brain"]["leader_votes"] =
        json!({"check_after": 20, "every": 30, "offset": 2, "keep_blocks": 40});
    let leader = spec.leader.clone();
    let mut h = ModuleHarness::new(TokenModule::from_spec(&spec).expect("spec"), spec.clone());
    post(&mut h, 1, "first", true);
    vote(&mut h, 1, "first");
    post(&mut h, 25, "second", true);
    vote(&mut h, 25, "second");
    for b in 1..=45 {
        h.block_end(b);
    }
    // `first` was checked at 21 and voted on in the round at 32; `second` waits (checked at 45).
    let (_dir, api) = serve("token", &h.state, 45, spec.clone());
    let (code, body) = get(&api, "/api/leader_votes").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["leader"], json!(leader));
    assert_eq!(
        body["due"],
        json!([{"author": "alice", "permlink": "first", "weight": 10_000, "until": 72,
                "op": ["vote", {"voter": leader, "author": "alice", "permlink": "first", "weight": 10_000}]}])
    );
    assert_eq!(body["queued"][0]["permlink"], "second");
    assert!(body["queued"][0]["sum"].as_u64().unwrap() > 0, "{body}");

    let seen = other(
        "vote",
        json!({"voter": leader, "author": "alice", "permlink": "first", "weight": 10_000}),
    );
    h.hive_op(46, &seen).expect("routed").expect("settled");
    let (_dir, api) = serve("token", &h.state, 46, spec);
    let (_, body) = get(&api, "/api/leader_votes").await;
    assert_eq!(body["due"], json!([]), "{body}");
}
