//! The reference's node routes, which wallets and other nodes read to find the consensus
//! network: `/runners` (the runner set), `/queue` (every node in consensus), `/markets`
//! (every node record and the stats), `/api/mirrors` (the consensus nodes' APIs) and
//! `/report/{account}` (a node's latest report this node knows of). Shapes follow the
//! reference (HoneyComb v1.4.5's API guide): `{api, g, l}` per node, where `g` is the
//! node's governance stake and `l` its liquidity vote.
//!
//! Anyone can register a node, so every list stops at [`MAX_LISTED_NODES`] records and says
//! so (`<list>_more: true`); the runner set is small by construction.

use crate::handlers::stats_result;
use crate::reply::{blocking, fail, invalid_account, unavailable};
use crate::{ApiState, App};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use opentoken_nodes::views::{self, ViewError};
use opentoken_nodes::NodeRecord;
use opentoken_store::ModuleKv;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Most node records one answer lists (a community has tens; more is a registration flood).
pub(crate) const MAX_LISTED_NODES: usize = 1_000;

impl ApiState {
    pub(crate) fn nodes_kv(&self) -> ModuleKv<'_> {
        ModuleKv {
            store: self.store.as_ref(),
            module: "nodes",
        }
    }

    fn has_nodes(&self) -> bool {
        self.spec.modules.contains_key("nodes")
    }
}

/// One node as the reference's `runners` and `queue` show it.
fn api_g_l(record: Option<&NodeRecord>, gov: u64) -> Value {
    json!({
        "api": record.map(|r| r.domain.as_str()).unwrap_or(""),
        "g": gov,
        "l": record.map(|r| r.liquidity).unwrap_or(100),
    })
}

/// The queue: every active node that agreed with the latest final checkpoint (the
/// reference's "nodes whose report matched the last consensus hash"), by account, and
/// whether more node records were left unread.
pub(crate) fn queue(src: &ModuleKv<'_>) -> Result<(Map<String, Value>, bool), ViewError> {
    let Some(last_final) = views::try_stats(src)?.last_final else {
        return Ok((Map::new(), false));
    };
    let (nodes, more) = views::try_nodes_up_to(src, MAX_LISTED_NODES)?;
    let mut out = Map::new();
    for (account, record) in nodes {
        if record.active && record.last_good == last_final {
            let gov = views::try_gov(src, &account)?;
            out.insert(account, api_g_l(Some(&record), gov));
        }
    }
    Ok((out, more))
}

fn no_nodes_module() -> Response {
    fail(
        StatusCode::NOT_FOUND,
        "this chain runs no nodes module: there is no consensus network",
    )
}

/// `/runners`: the runner set as a list and as a map, and `latest`, the runners' APIs.
pub(crate) async fn runners(State(app): State<Arc<App>>) -> Response {
    if !app.api.has_nodes() {
        return no_nodes_module();
    }
    blocking(move || {
        let s = &app.api;
        let kv = s.nodes_kv();
        let read = || -> Result<Map<String, Value>, ViewError> {
            let mut result = Vec::new();
            let mut by_account = Map::new();
            for (account, gov) in views::try_runners(&kv)? {
                let record = views::try_node(&kv, &account)?;
                let mut entry = api_g_l(record.as_ref(), gov);
                entry["account"] = json!(account);
                result.push(entry.clone());
                by_account.insert(account, entry);
            }
            let latest: Vec<Value> = result.iter().map(|r| json!({"api": r["api"]})).collect();
            let mut body = Map::new();
            body.insert("result".into(), json!(result));
            body.insert("runners".into(), Value::Object(by_account));
            body.insert("latest".into(), json!(latest));
            Ok(body)
        };
        match read() {
            Ok(body) => s.envelope(body).into_response(),
            Err(e) => unavailable("reading the runners", e),
        }
    })
    .await
}

/// `/queue`: every node in consensus, `{account: {api, g, l}}`.
pub(crate) async fn queue_route(State(app): State<Arc<App>>) -> Response {
    queue_answer(app, "queue", Value::Object).await
}

/// `/api/mirrors`: the APIs of the nodes in consensus, `{apis: [{api_url, node}]}`.
pub(crate) async fn mirrors(State(app): State<Arc<App>>) -> Response {
    queue_answer(app, "apis", |queue| {
        queue
            .iter()
            .map(|(node, v)| json!({"api_url": v["api"], "node": node}))
            .collect()
    })
    .await
}

/// The queue as `field` (shaped by `shape`), and `<field>_more` when node records were left
/// unread.
async fn queue_answer(app: Arc<App>, field: &'static str, shape: fn(Map<String, Value>) -> Value) -> Response {
    if !app.api.has_nodes() {
        return no_nodes_module();
    }
    blocking(move || {
        let s = &app.api;
        match queue(&s.nodes_kv()) {
            Ok((queue, more)) => {
                let mut body = Map::new();
                body.insert(field.into(), shape(queue));
                if more {
                    body.insert(format!("{field}_more"), json!(true));
                }
                s.envelope(body).into_response()
            }
            Err(e) => unavailable("reading the consensus nodes", e),
        }
    })
    .await
}

/// A node record in the reference's `markets.node` shape: its field names, `self`, `g` (the
/// governance stake), `tw`/`ty` (total wins and agreeing reports; opentoken keeps totals, so
/// `wins`/`yays` are the same totals), `report` (the latest report known, see
/// [`latest_report_of`]), and opentoken's own `active`, `report_key`, `mskey`,
/// `registered_at`, `strikes`.
fn market_node(account: &str, r: &NodeRecord, gov: u64, report: Value) -> Value {
    json!({
        "domain": r.domain,
        "self": account,
        "bidRate": r.bid_rate,
        "dm": r.dm,
        "ds": r.ds,
        "dv": r.dv,
        "liquidity": r.liquidity,
        "g": gov,
        "attempts": r.attempts,
        "yays": r.yays,
        "wins": r.wins,
        "ty": r.yays,
        "tw": r.wins,
        "strikes": r.strikes,
        "lastGood": r.last_good,
        "report": report,
        "active": r.active,
        "report_key": r.report_key,
        "mskey": r.mskey,
        "registered_at": r.registered_at,
    })
}

/// The latest report of `account` this node's state holds: its vote in the open tally
/// (`{block, hash}`), else the last checkpoint it agreed on with that checkpoint's final
/// hash (`{block, hash, final: true}`), else `{}`.
fn latest_report_of(
    src: &ModuleKv<'_>,
    open: Option<&opentoken_nodes::Tally>,
    account: &str,
    record: &NodeRecord,
) -> Result<Value, ViewError> {
    if let Some(open) = open {
        if let Some(hash) = open.votes.get(account) {
            return Ok(json!({"block": open.block, "hash": hash}));
        }
    }
    if record.last_good > 0 {
        if let Some(hash) = views::try_final_hash(src, record.last_good)? {
            return Ok(json!({"block": record.last_good, "hash": hex::encode(hash), "final": true}));
        }
    }
    Ok(json!({}))
}

/// `/markets`: every node record (`{markets: {node: {account: record}}}`) and the stats.
pub(crate) async fn markets(State(app): State<Arc<App>>) -> Response {
    if !app.api.has_nodes() {
        return no_nodes_module();
    }
    blocking(move || {
        let s = &app.api;
        let kv = s.nodes_kv();
        let read = || -> Result<(Map<String, Value>, bool), ViewError> {
            let open = views::try_open_tally(&kv)?;
            let (nodes, more) = views::try_nodes_up_to(&kv, MAX_LISTED_NODES)?;
            let mut out = Map::new();
            for (account, record) in nodes {
                let gov = views::try_gov(&kv, &account)?;
                let report = latest_report_of(&kv, open.as_ref(), &account, &record)?;
                out.insert(account.clone(), market_node(&account, &record, gov, report));
            }
            Ok((out, more))
        };
        let (nodes, more) = match read() {
            Ok(read) => read,
            Err(e) => return unavailable("reading the node records", e),
        };
        let stats = match stats_result(s) {
            Ok(stats) => stats,
            Err(e) => return unavailable("reading stats", e),
        };
        let mut markets = Map::new();
        markets.insert("node".into(), Value::Object(nodes));
        if more {
            markets.insert("node_more".into(), json!(true));
        }
        let mut body = Map::new();
        body.insert("markets".into(), Value::Object(markets));
        body.insert("stats".into(), Value::Object(stats));
        s.envelope(body).into_response()
    })
    .await
}

/// `/report/{account}`: `{<account>: <its latest report>}` (see [`latest_report_of`]); 404
/// for an account that never registered a node.
pub(crate) async fn report(State(app): State<Arc<App>>, Path(account): Path<String>) -> Response {
    if !app.api.has_nodes() {
        return no_nodes_module();
    }
    if let Some(refused) = invalid_account(&account) {
        return refused;
    }
    blocking(move || {
        let s = &app.api;
        let kv = s.nodes_kv();
        let read = || -> Result<Option<Value>, ViewError> {
            let Some(record) = views::try_node(&kv, &account)? else {
                return Ok(None);
            };
            let open = views::try_open_tally(&kv)?;
            latest_report_of(&kv, open.as_ref(), &account, &record).map(Some)
        };
        match read() {
            Ok(Some(report)) => {
                let mut body = Map::new();
                body.insert(account, report);
                s.envelope(body).into_response()
            }
            Ok(None) => fail(StatusCode::NOT_FOUND, format!("@{account} has not registered a node")),
            Err(e) => unavailable(format!("reading the node record of {account}"), e),
        }
    })
    .await
}
