//! What the DLUX web wallet (public repository `dluxio/dlux-iov`, its `/user/` and `/dex/`
//! pages) reads and broadcasts, against a token state built by the token module's own ops
//! and served through the router:
//! - `/@:account` in the shapes the wallet walks: `power_downs`/`gov_downs` as objects of
//!   `{amount, block}`, `granting`/`granted` as `{t, <account>: amount}`, integers where it
//!   adds, `head_block` (its action buttons show only when it is set), `contracts`, `tick`;
//! - `/api/protocol`'s bootstrap fields and `features`, then every feature's op built as
//!   the wallet's form builds it (`${prefix}${id}`, `amount` in base units, the other
//!   fields as typed) and the fixed-shape ops it sends (`{"amount": "0"}` to stop a power
//!   down, `{"gov": false}` claims, a send with a memo): each one is accepted by the token
//!   module on that state.
//!
//! The wallet's pages themselves are not run here (see docs/compatibility.md).

use axum::http::StatusCode;
use opentoken_core::test_utils::{test_spec, ModuleHarness};
use opentoken_core::ChainSpec;
use opentoken_token::TokenModule;
use serde_json::{json, Map, Value};

mod common;
use common::{get, serve};

fn spec() -> ChainSpec {
    test_spec()
        .with_module(
            "token",
            json!({
                "power_down_interval": 10, "gov_down_interval": 10,
                "genesis": {"balances": {"whale": 1_000_000_000}},
            }),
        )
        .with_module("nodes", json!({}))
}

/// alice: 100,000 liquid received, 40,000 powered up, a power-down of 8,000 under way, 5,000
/// granted to bob, a registered node with 10,000 in gov and a gov-down of 4,000 under way.
fn wallet_state() -> ModuleHarness<TokenModule> {
    let mut h = ModuleHarness::new(TokenModule::from_spec(&spec()).expect("spec"), spec());
    h.run(2, "whale", "send", json!({"to": "alice", "amount": 100_000}));
    h.run(3, "alice", "power_up", json!({"amount": 40_000}));
    h.run(4, "alice", "power_down", json!({"amount": 8_000}));
    h.run(5, "alice", "power_grant", json!({"to": "bob", "amount": 5_000}));
    h.message("nodes", "node_registered", r#"{"account":"alice"}"#)
        .expect("registered");
    h.run(6, "alice", "gov_up", json!({"amount": 10_000}));
    h.run(7, "alice", "gov_down", json!({"amount": 4_000}));
    // Rewards to claim (on a chain without the economy no op mints them): 600 moved from
    // the whale's balance, so the supply still sums.
    use opentoken_core::StateWrite;
    use opentoken_token::keys::{account, encode_u64};
    use opentoken_token::Bucket;
    let whale = opentoken_token::account_view(&h.state, "whale").expect("whale").balance;
    h.state.put(account(Bucket::Liquid, "whale"), encode_u64(whale - 600));
    h.state.put(account(Bucket::Claimable, "alice"), encode_u64(600));
    h.state.put(Bucket::Claimable.total_key().to_vec(), encode_u64(600));
    let liquid = opentoken_token::stats_view(&h.state).expect("stats").liquid;
    h.state
        .put(Bucket::Liquid.total_key().to_vec(), encode_u64(liquid - 600));
    h
}

#[tokio::test]
async fn the_account_route_has_the_shapes_the_wallet_reads() {
    let h = wallet_state();
    let (_dir, api) = serve("token", &h.state, 9, spec());
    let (code, a) = get(&api, "/@alice").await;
    assert_eq!(code, StatusCode::OK, "{a}");
    for field in ["balance", "poweredUp", "gov", "claim", "head_block"] {
        assert!(a[field].is_u64(), "{field} is an integer the wallet adds: {a}");
    }
    assert_eq!(a["balance"], 100_000 - 40_000 - 10_000);
    assert_eq!(a["claim"], 600);
    assert_eq!(a["head_block"], 9);
    let power_downs = a["power_downs"].as_object().expect("power_downs is an object");
    assert!(!power_downs.is_empty(), "{a}");
    let mut sum = 0;
    for (key, i) in power_downs {
        assert_eq!(key, &i["block"].to_string(), "keyed by block");
        assert!(i["block"].as_u64().unwrap() > 4, "{i}");
        sum += i["amount"].as_u64().expect("amount");
    }
    assert_eq!(sum, 8_000, "the installments sum to the power-down");
    let gov_sum: u64 = a["gov_downs"]
        .as_object()
        .expect("gov_downs is an object")
        .values()
        .map(|i| i["amount"].as_u64().unwrap())
        .sum();
    assert_eq!(gov_sum, 4_000);
    assert_eq!(a["granting"], json!({"t": 5_000, "bob": 5_000}));
    assert_eq!(a["granted"], json!({"t": 0}));
    let (_, b) = get(&api, "/@bob").await;
    assert_eq!(b["granted"], json!({"t": 5_000}));
    assert_eq!(b["power_downs"], json!({}), "an object even when empty");
    assert_eq!(b["granting"], json!({"t": 0}));

    let (code, coins) = get(&api, "/api/coin_detail").await;
    assert_eq!(code, StatusCode::OK, "{coins}");
    let (_, stats) = get(&api, "/stats").await;
    assert_eq!(coins["coins"][0]["supply"], stats["result"]["tokenSupply"]);
    assert_eq!(coins["coins"][0]["incirc"], stats["result"]["liquid"]);
    assert_eq!(
        coins["coins"].as_array().unwrap().len(),
        1,
        "no multisig module: no HIVE/HBD"
    );

    // opentoken's own view keeps lists and totals.
    let (code, v1) = get(&api, "/v1/accounts/alice").await;
    assert_eq!(code, StatusCode::OK, "{v1}");
    assert!(v1["power_downs"].is_array() && v1["granting"] == 5_000, "{v1}");
    assert_eq!(get(&api, "/v1/accounts/NO..").await.0, StatusCode::BAD_REQUEST);
}

/// The op the wallet's form builder makes from one `features` entry: every field of `json`
/// filled in, `amount` as an integer of base units, the rest as entered.
fn form_op(feature: &Value, precision: u32) -> (String, Value) {
    let mut op = Map::new();
    for (field, spec) in feature["json"].as_object().expect("json fields") {
        let value = match (field.as_str(), spec["type"].as_str()) {
            ("amount", _) => json!((1.5 * 10f64.powi(precision as i32)) as u64),
            (_, Some("I")) => json!(1),
            ("to", _) => json!("bob"),
            _ => json!("from the wallet"),
        };
        op.insert(field.clone(), value);
    }
    (feature["id"].as_str().expect("id").to_string(), Value::Object(op))
}

#[tokio::test]
async fn every_wallet_action_is_an_op_the_node_accepts() {
    let h = wallet_state();
    let (_dir, api) = serve("token", &h.state, 9, spec());
    let (code, p) = get(&api, "/api/protocol").await;
    assert_eq!(code, StatusCode::OK, "{p}");
    assert_eq!(p["jsontoken"], "dlux", "the wallet keys everything by it: {p}");
    assert_eq!(p["prefix"], "dlux_");
    assert!(p["multisig"].is_string() && p["token"].is_string(), "{p}");
    assert_eq!(p["precision"], 3);
    assert_eq!(p["head_block"], 9);
    let features = p["features"].as_object().expect("features");
    for func in ["send", "powup", "powdn", "powdel", "govup", "govdn", "claim"] {
        assert!(features.contains_key(func), "the wallet's {func}: {p}");
    }
    let precision = p["precision"].as_u64().unwrap() as u32;
    let prefix = p["prefix"].as_str().unwrap();
    for (func, feature) in features {
        let (id, op) = form_op(feature, precision);
        let custom_json_id = format!("{prefix}{id}");
        let name = custom_json_id
            .strip_prefix(&api.spec.prefix)
            .expect("the chain's prefix");
        if let Err(r) = h.handle(9, "alice", name, op.clone()) {
            panic!("{func}: {custom_json_id} {op} rejected: {r}");
        }
    }
    // The fixed-shape ops of the user page: stop a power-down / gov-down, remove a grant
    // (every value a string), claim, a send with a memo.
    for (name, op) in [
        ("power_down", json!({"amount": "0"})),
        ("gov_down", json!({"amount": "0"})),
        ("power_grant", json!({"amount": "0", "to": "bob"})),
        ("claim", json!({"gov": false})),
        ("send", json!({"to": "bob", "amount": 1_500, "memo": "for the pizza"})),
    ] {
        if let Err(r) = h.handle(9, "alice", name, op.clone()) {
            panic!("{name} {op} rejected: {r}");
        }
    }
}
