//! The cheap routes: point reads of the store or the log (an account, the totals, a
//! transaction's status, the latest report) and the probes. Their reads run on the blocking
//! pool; they are bounded by the API-wide limits only.

use crate::reply::{blocking, fail, invalid_account, unavailable};
use crate::{ApiState, App};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use opentoken_core::{OpStatus, Outcome};
use opentoken_store::oldest_kept_status_block;
use opentoken_telemetry::Telemetry;
use serde_json::{json, Value};
use std::sync::Arc;

/// Longest transaction id looked up (Hive's are 40 hex characters).
const MAX_TXID_LEN: usize = 128;

/// Most grants `/@:account` lists in `granting` (the rest are in its total `t`).
const GRANTS_SHOWN: usize = 1_000;

/// `/@:account`: the account as the DLUX wallet reads it (see [`wallet_account`]).
pub(crate) async fn user(State(app): State<Arc<App>>, Path(user): Path<String>) -> Response {
    let Some(account) = user.strip_prefix('@').map(str::to_string) else {
        return fail(
            StatusCode::NOT_FOUND,
            format!("no route /{user}; accounts are at /@<account>"),
        );
    };
    account_route(app, account, true).await
}

/// `/v1/accounts/{account}`: opentoken's own account view: every unlock installment as a
/// list in block order, grants as totals, and the fields `/@:account` adds for wallets.
pub(crate) async fn account_v1(State(app): State<Arc<App>>, Path(account): Path<String>) -> Response {
    account_route(app, account, false).await
}

async fn account_route(app: Arc<App>, account: String, wallet: bool) -> Response {
    if let Some(refused) = invalid_account(&account) {
        return refused;
    }
    blocking(move || {
        let s = &app.api;
        let view = match opentoken_token::account_view(&s.token_kv(), &account) {
            Ok(view) => view,
            Err(e) => return unavailable(format!("reading account {account}"), e),
        };
        let mut m = match serde_json::to_value(&view) {
            Ok(Value::Object(m)) => m,
            Ok(_) | Err(_) => return fail(StatusCode::INTERNAL_SERVER_ERROR, "account view is not an object"),
        };
        if wallet {
            if let Err(e) = wallet_account(s, &view, &mut m) {
                return unavailable(format!("reading the grants of {account}"), e);
            }
        }
        m.insert("head_block".into(), json!(s.processed_block().unwrap_or(0)));
        if let Err(e) = s.add_l2_balances(&account, &mut m) {
            return unavailable(format!("reading the HIVE and HBD of {account}"), e);
        }
        if let Err(e) = s.add_dex(&account, &mut m) {
            return unavailable(format!("reading the DEX orders of {account}"), e);
        }
        s.envelope(m).into_response()
    })
    .await
}

/// The shapes the DLUX wallet (dluxio/dlux-iov) reads on `/@:account`: `power_downs` and
/// `gov_downs` as objects of `{amount, block}` by block (it walks them with `Object.keys`),
/// `granting` as `{t: total, <account>: amount}` and `granted` as `{t: total}` (grants
/// received have no per-grantor index in state, so only their total is listed).
fn wallet_account(
    s: &ApiState,
    view: &opentoken_token::AccountView,
    m: &mut serde_json::Map<String, Value>,
) -> Result<(), opentoken_token::ViewError> {
    let by_block = |list: &[opentoken_token::views::Installment]| -> Value {
        Value::Object(
            list.iter()
                .map(|i| (i.block.to_string(), json!({"amount": i.amount, "block": i.block})))
                .collect(),
        )
    };
    m.insert("power_downs".into(), by_block(&view.power_downs));
    m.insert("gov_downs".into(), by_block(&view.gov_downs));
    let (grants, more) = opentoken_token::grants_out(&s.token_kv(), &view.account, GRANTS_SHOWN)?;
    let mut granting = serde_json::Map::new();
    granting.insert("t".into(), json!(view.granting));
    for (to, amount) in grants {
        granting.insert(to, json!(amount));
    }
    m.insert("granting".into(), Value::Object(granting));
    if more {
        m.insert("granting_more".into(), json!(true));
    }
    m.insert("granted".into(), json!({"t": view.granted}));
    Ok(())
}

pub(crate) async fn stats(State(app): State<Arc<App>>) -> Response {
    blocking(move || {
        let s = &app.api;
        match stats_result(s) {
            Ok(result) => {
                let mut body = serde_json::Map::new();
                body.insert("result".into(), Value::Object(result));
                s.envelope(body).into_response()
            }
            Err(e) => unavailable("reading stats", e),
        }
    })
    .await
}

/// The reference's stats object (`/stats`' `result`, `/markets`' `stats`).
pub(crate) fn stats_result(s: &ApiState) -> Result<serde_json::Map<String, Value>, opentoken_token::ViewError> {
    let view = opentoken_token::stats_view(&s.token_kv())?;
    let mut result = match serde_json::to_value(view) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    result.insert("token".into(), json!(s.spec.token));
    result.insert("precision".into(), json!(s.spec.precision));
    result.insert("lastBlock".into(), json!(s.processed_block()));
    insert_economy_rates(&s.spec, &mut result);
    Ok(result)
}

/// The reference's `/stats` rate fields (`interestRate`, `marketingRate`, `delegationRate`,
/// and `nodeRate` before the runners sent one), on chains with the economy; the chain spec
/// was validated at start, and a spec without an economy adds none of them.
fn insert_economy_rates(spec: &opentoken_core::ChainSpec, result: &mut serde_json::Map<String, Value>) {
    let economy = spec
        .module_config("token")
        .and_then(|t| t.get("economy"))
        .and_then(|e| serde_json::from_value::<opentoken_token::EconomyConfig>(e.clone()).ok());
    let Some(eco) = economy else {
        return;
    };
    result.insert("interestRate".into(), json!(eco.interest_rate));
    result.insert("marketingRate".into(), json!(eco.marketing_rate));
    result.insert("delegationRate".into(), json!(eco.delegation_rate));
    if result.get("nodeRate").is_none_or(Value::is_null) {
        result.insert("nodeRate".into(), json!(eco.default_node_rate));
    }
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
        m.insert("head_block".into(), json!(s.processed_block().unwrap_or(0)));
        // The reference's memo key (of its hard-coded multi-sig memo keys): opentoken's
        // memos to the multi-sig account are plain JSON, so there is none.
        m.insert("memoKey".into(), Value::Null);
        if s.spec.modules.contains_key("nodes") {
            match crate::nodes::queue(&s.nodes_kv()) {
                Ok((queue, _)) => {
                    m.insert("consensus".into(), Value::Object(queue));
                }
                Err(e) => return unavailable("reading the consensus nodes", e),
            }
        }
        m.insert("features".into(), features(&s.spec));
        m.insert(
            "info".into(),
            json!(
                "/markets lists every node and its API; /api/mirrors the APIs of the nodes in consensus, \
                   to check this API against. `prefix` starts every custom_json id of this token; \
                   HIVE and HBD for it go to `multisig`."
            ),
        );
        s.envelope(m).into_response()
    })
    .await
}

/// One `features` entry: the custom_json id (after the prefix), its label, its form fields
/// (`I` an integer, `S` text; `check: "AC"` a Hive account; `amount` in base units), the
/// authority, a progress message, and which `/@:account` field holds what it spends.
fn feature(id: &str, label: &str, fields: Value, msg: &str, addr: &str) -> Value {
    json!({"id": id, "string": label, "json": fields, "auth": "active", "msg": msg, "addr": addr, "B": true})
}

/// `/api/protocol`'s `features`: the token actions a generic front end builds its forms
/// from, keyed as the DLUX wallet looks them up (`send`, `powup`, `powdn`, `powdel`,
/// `govup`, `govdn`, `claim`); every one is an op this node accepts in that shape (see the
/// wallet-shape tests). `govup`/`govdn` only on chains with the nodes module (only nodes
/// lock governance stake).
fn features(spec: &opentoken_core::ChainSpec) -> Value {
    let amount = json!({"string": "Amount", "type": "I", "req": true});
    let to = json!({"string": "To", "type": "S", "req": true, "check": "AC"});
    let mut f = serde_json::Map::new();
    if !spec.modules.contains_key("token") {
        return Value::Object(f);
    }
    f.insert(
        "send".into(),
        feature(
            "send",
            "Send",
            json!({"to": to, "amount": amount, "memo": {"string": "Memo", "type": "S", "req": false}}),
            "Sending...",
            "balance",
        ),
    );
    f.insert(
        "claim".into(),
        feature("claim", "Rewards", json!({}), "Claiming...", "claim"),
    );
    f.insert(
        "powup".into(),
        feature(
            "power_up",
            "Power Up",
            json!({"amount": amount}),
            "Powering up...",
            "balance",
        ),
    );
    f.insert(
        "powdn".into(),
        feature(
            "power_down",
            "Power Down",
            json!({"amount": amount}),
            "Powering down...",
            "poweredUp",
        ),
    );
    f.insert(
        "powdel".into(),
        feature(
            "power_grant",
            "Delegate",
            json!({"to": to, "amount": amount}),
            "Delegating...",
            "poweredUp",
        ),
    );
    if spec.modules.contains_key("nodes") {
        f.insert(
            "govup".into(),
            feature("gov_up", "Lock Gov", json!({"amount": amount}), "Locking...", "balance"),
        );
        f.insert(
            "govdn".into(),
            feature(
                "gov_down",
                "Unlock Gov",
                json!({"amount": amount}),
                "Unlocking...",
                "gov",
            ),
        );
    }
    Value::Object(f)
}

/// `/api/coin_detail`: the reference's coin list (`{coins: [token, HIVE, HBD]}`) from what
/// this node knows: the token's supply and liquid supply (`incirc`), and for HIVE and HBD
/// what the community's multi-sig account holds (on a chain with the multisig module). The
/// reference also copies descriptive text from its config and Hive's whole-chain supply;
/// opentoken has neither (the chain spec carries no such text, Hive's supply is not state).
pub(crate) async fn coin_detail(State(app): State<Arc<App>>) -> Response {
    blocking(move || {
        let s = &app.api;
        let stats = match opentoken_token::stats_view(&s.token_kv()) {
            Ok(stats) => stats,
            Err(e) => return unavailable("reading the token supply", e),
        };
        let mut coins = vec![json!({
            "symbol": s.spec.token,
            "name": s.spec.token,
            "precision": s.spec.precision,
            "supply": stats.tokenSupply,
            "incirc": stats.liquid,
        })];
        if s.has_multisig() {
            match opentoken_multisig::views::holdings(&s.multisig_kv()) {
                Ok(h) => {
                    for (symbol, books) in [("HIVE", &h.hive), ("HBD", &h.hbd)] {
                        coins.push(
                            json!({"symbol": symbol, "name": symbol, "precision": 3, "held_by_multisig": books.held}),
                        );
                    }
                }
                Err(e) => return unavailable("reading the multi-sig account's books", e),
            }
        }
        let mut body = serde_json::Map::new();
        body.insert("coins".into(), json!(coins));
        s.envelope(body).into_response()
    })
    .await
}

/// One op's status: the reference's fields, and `id`, the status's stable id in `community`
/// (`opentoken_core::id::op_status`), by which a consumer drops a status it already has.
fn status_text(st: &OpStatus, community: &str) -> Value {
    let id = st.id(community).to_string();
    match &st.outcome {
        Outcome::Applied { summary } => json!({
            "id": id, "op": st.op, "from": st.from, "block": st.pos.block, "trx_in_block": st.pos.trx_in_block,
            "op_in_trx": st.pos.op_in_trx, "ok": true, "message": format!("@{}| {}", st.from, summary),
        }),
        Outcome::Rejected { code, reason } => json!({
            "id": id, "op": st.op, "from": st.from, "block": st.pos.block, "trx_in_block": st.pos.trx_in_block,
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
        Ok(list) if list.is_empty() => unknown_status(&app.api, &txid),
        Ok(list) => {
            let ops: Vec<Value> = list.iter().map(|st| status_text(st, &app.api.spec.name)).collect();
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

/// 404 for a transaction with no status, saying whether it may have expired: the store
/// keeps statuses for a window of blocks only (`Store::keep_status_blocks`), and a client
/// polling an old txid must not take "expired" for "never processed" or the reverse.
/// `kept_since_block` is the oldest block whose statuses every module still holds.
/// The reference's answer for a transaction without a status.
const UNKNOWN_STATUS: &str =
    "This TransactionID either has not yet been processed, or was not an operation of this community, or its status has expired";

fn unknown_status(api: &ApiState, txid: &str) -> Response {
    // `status` starts as the reference's does: wallets poll until it no longer starts with
    // "This TransactionID e" (the DLUX wallet takes any other text for a confirmation).
    let mut body = json!({ "txid": txid, "status": UNKNOWN_STATUS, "found": false });
    let detail = match api.store.keep_status_blocks() {
        None => "no status for this transaction: it has not yet been processed, or was not a community operation"
            .to_string(),
        Some(keep) => {
            let mut since = 0;
            for m in &api.modules {
                match api.store.progress(m) {
                    Ok(p) => since = since.max(p.map_or(0, |p| oldest_kept_status_block(p.block, keep))),
                    Err(e) => return unavailable(format!("reading the progress of {m}"), e),
                }
            }
            body["kept_blocks"] = json!(keep);
            body["kept_since_block"] = json!(since);
            if since == 0 {
                format!(
                    "no status for this transaction: it has not yet been processed, or was not a community \
                     operation (statuses are kept for the last {keep} blocks; none has expired yet)"
                )
            } else {
                format!(
                    "no status for this transaction: it has not yet been processed, was not a community operation, \
                     or its status has expired (statuses are kept for the last {keep} blocks, since block {since})"
                )
            }
        }
    };
    body["detail"] = json!(detail);
    (StatusCode::NOT_FOUND, Json(body)).into_response()
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

/// The most open posts `/posts` lists (Proof of Brain's window holds a week of them).
const MAX_OPEN_POSTS: usize = 1_000;

/// The reference's `/posts`: the posts open for votes, keyed `author/permlink` (`feed`), in
/// the order their voting closes; empty on chains without Proof of Brain.
pub(crate) async fn posts(State(app): State<Arc<App>>) -> Response {
    blocking(move || {
        let s = &app.api;
        match opentoken_token::open_posts(&s.token_kv(), MAX_OPEN_POSTS) {
            Ok(list) => {
                let feed: serde_json::Map<String, Value> = list
                    .into_iter()
                    .map(|(author, permlink, block, closes)| {
                        (
                            format!("{author}/{permlink}"),
                            json!({"author": author, "permlink": permlink, "block": block, "closes": closes}),
                        )
                    })
                    .collect();
                let mut body = serde_json::Map::new();
                body.insert("feed".into(), Value::Object(feed));
                s.envelope(body).into_response()
            }
            Err(e) => unavailable("reading the open posts", e),
        }
    })
    .await
}

/// The leader's voter routine (token-core §5.5): the Hive votes the chain's leader owes,
/// each as the `vote` operation to broadcast (the reference keeps them as
/// `escrow/<leader>/vote:<author>/<permlink>`), and the posts queued for the next round.
pub(crate) async fn leader_votes(State(app): State<Arc<App>>) -> Response {
    blocking(move || {
        let s = &app.api;
        let leader = s.spec.leader.clone();
        match opentoken_token::leader_votes(&s.token_kv(), MAX_OPEN_POSTS) {
            Ok((due, queued)) => {
                let due: Vec<Value> = due
                    .into_iter()
                    .map(|v| {
                        json!({"author": v.author, "permlink": v.permlink, "weight": v.weight, "until": v.until,
                               "op": ["vote", {"voter": leader, "author": v.author, "permlink": v.permlink,
                                               "weight": v.weight}]})
                    })
                    .collect();
                let queued: Vec<Value> = queued
                    .into_iter()
                    .map(|(author, permlink, sum)| json!({"author": author, "permlink": permlink, "sum": sum}))
                    .collect();
                let mut body = serde_json::Map::new();
                body.insert("leader".into(), json!(leader));
                body.insert("due".into(), Value::Array(due));
                body.insert("queued".into(), Value::Array(queued));
                s.envelope(body).into_response()
            }
            Err(e) => unavailable("reading the leader's votes", e),
        }
    })
    .await
}

/// The reference's `/posts/:author/:permlink` (`now`): a post waiting for its options, open
/// for votes (with them), or paid (with what it earned); 404 for a post Proof of Brain does
/// not know.
pub(crate) async fn post(State(app): State<Arc<App>>, Path((author, permlink)): Path<(String, String)>) -> Response {
    if let Some(refused) = invalid_account(&author) {
        return refused;
    }
    if !opentoken_token::pob::valid_permlink(&permlink) {
        return fail(StatusCode::BAD_REQUEST, "a permlink is 1 to 256 of [a-z0-9-]");
    }
    blocking(move || {
        let s = &app.api;
        match opentoken_token::post_view(&s.token_kv(), &author, &permlink) {
            Ok(Some(view)) => {
                let mut body = serde_json::Map::new();
                body.insert("now".into(), json!(view));
                s.envelope(body).into_response()
            }
            Ok(None) => fail(
                StatusCode::NOT_FOUND,
                format!("@{author}/{permlink} is not a post Proof of Brain knows"),
            ),
            Err(e) => unavailable(format!("reading the post @{author}/{permlink}"), e),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::insert_economy_rates;
    use crate::{router, ApiState};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use opentoken_core::{ChainPos, OpStatus, Outcome, RejectCode};
    use opentoken_store::{CommitBatch, EmbeddedStore, ModuleCommit, Progress, Store};
    use opentoken_telemetry::Telemetry;
    use serde_json::json;
    use serde_json::Value;
    use std::sync::Arc;
    use tower::ServiceExt;

    fn status(txid: &str, block: u64, rejected: bool) -> OpStatus {
        OpStatus {
            txid: txid.into(),
            pos: ChainPos::new(block, 0, 0),
            module: "token".into(),
            op: "send".into(),
            from: "alice".into(),
            outcome: if rejected {
                Outcome::Rejected {
                    code: RejectCode::InsufficientFunds,
                    reason: "alice has 1 liquid, needs 2".into(),
                }
            } else {
                Outcome::Applied {
                    summary: "sent 2 to bob".into(),
                }
            },
        }
    }

    fn commit(store: &dyn Store, block: u64, statuses: Vec<OpStatus>) {
        let module = |name: &str| ModuleCommit {
            module: name.into(),
            changes: Vec::new(),
            lattice: Vec::new(),
            progress: Progress {
                block,
                next_offset: block,
            },
            snapshot: None,
        };
        store
            .commit(&CommitBatch {
                modules: vec![module("token"), module("nodes")],
                statuses,
                ..Default::default()
            })
            .expect("commit");
    }

    async fn get(state: &ApiState, txid: &str) -> (StatusCode, Value) {
        let response = router(state.clone())
            .oneshot(
                Request::get(format!("/api/status/{txid}"))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("answer");
        let code = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (code, serde_json::from_slice(&bytes).expect("JSON"))
    }

    /// A status in the window is served as before (200, the reference's fields); an
    /// expired one, or one never seen, is 404 with the reference's text, saying how many blocks are kept and
    /// since which block, so a client can tell that it may have expired.
    #[tokio::test]
    async fn an_expired_status_is_answered_as_unknown_naming_the_window() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = opentoken_log::embedded::open_database(&dir.path().join("db.redb")).expect("db");
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::new(db.clone()).expect("store").keep_status_blocks(10));
        let state = ApiState {
            spec: Arc::new(opentoken_core::test_utils::test_spec()),
            store: store.clone(),
            log: Arc::new(opentoken_log::EmbeddedLog::new(db).expect("log")),
            telemetry: Arc::new(Telemetry::new()),
            node: String::new(),
            version: "test".into(),
            modules: vec!["token".into(), "nodes".into()],
        };

        commit(store.as_ref(), 5, vec![status("old", 5, false), status("bad", 5, true)]);
        let (code, body) = get(&state, "never").await;
        assert_eq!(code, StatusCode::NOT_FOUND);
        assert!(
            body["status"].as_str().unwrap().starts_with("This TransactionID e"),
            "{body}"
        );
        assert_eq!(body["found"], false);
        assert_eq!(
            (body["kept_blocks"].as_u64(), body["kept_since_block"].as_u64()),
            (Some(10), Some(0))
        );
        let detail = body["detail"].as_str().expect("detail");
        assert!(detail.contains("none has expired yet"), "{detail}");

        let (code, body) = get(&state, "old").await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body["txid"], "old");
        assert_eq!(body["status"], "@alice| sent 2 to bob");
        assert_eq!(body["ops"][0]["ok"], true);
        assert_eq!(body["ops"][0]["block"], 5);
        let (_, body) = get(&state, "bad").await;
        assert_eq!(body["ops"][0]["ok"], false);
        assert_eq!(body["ops"][0]["code"], "insufficient_funds");

        commit(store.as_ref(), 20, vec![status("new", 20, false)]);
        let (code, body) = get(&state, "old").await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["txid"], "old");
        assert!(
            body["status"].as_str().unwrap().starts_with("This TransactionID e"),
            "{body}"
        );
        assert_eq!(body["found"], false);
        assert_eq!(
            (body["kept_blocks"].as_u64(), body["kept_since_block"].as_u64()),
            (Some(10), Some(11))
        );
        let detail = body["detail"].as_str().expect("detail");
        assert!(detail.contains("expired"), "{detail}");
        assert!(detail.contains("last 10 blocks, since block 11"), "{detail}");
        assert!(detail.contains("not yet been processed"), "{detail}");
        assert_eq!(get(&state, "new").await.0, StatusCode::OK);
    }

    #[test]
    fn stats_show_the_economy_rates_of_the_chain_spec() {
        let plain = opentoken_core::test_utils::test_spec();
        let mut none = serde_json::Map::new();
        insert_economy_rates(&plain, &mut none);
        assert!(none.is_empty(), "no economy, no rates: {none:?}");
        let spec = plain.with_module(
            "token",
            json!({"power_down_interval": 1, "gov_down_interval": 1, "economy": {"interest_rate": 2_100_000}}),
        );
        let mut fresh = serde_json::Map::new();
        fresh.insert("nodeRate".into(), Value::Null);
        insert_economy_rates(&spec, &mut fresh);
        assert_eq!(
            Value::Object(fresh),
            json!({"interestRate": 2_100_000, "marketingRate": 2_500, "delegationRate": 2_000, "nodeRate": 2_500})
        );
        let mut sent = serde_json::Map::new();
        sent.insert("nodeRate".into(), json!(833));
        insert_economy_rates(&spec, &mut sent);
        assert_eq!(sent.get("nodeRate"), Some(&json!(833)), "the runners' rate wins");
    }
}
