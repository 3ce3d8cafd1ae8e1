//! The route table the router is built from, and the OpenAPI 3.1 document generated from
//! it (`/openapi.json`). A route cannot be served without its entry here, and its entry
//! says what it answers: so the document covers every route by construction, and CI checks
//! every answer of a running node against it with a third-party tool (schemathesis,
//! `tests/tests/openapi.rs`).
//!
//! Schemas are JSON Schema (OpenAPI 3.1 uses it as is), written with the small builders
//! below: each names the fields an answer always has (`required`) with their types, and
//! lets answers carry more (opentoken adds fields beside the reference's).

use crate::{dex, events, handlers, multisig, nft, nodes, whole_state, App};
use axum::routing::{get, MethodRouter};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// One public route: the path axum matches, the path the document shows (the same, but for
/// `/@{account}`, which axum matches as `/{user}`), and what it is.
pub(crate) struct Route {
    pub(crate) axum: &'static str,
    pub(crate) doc: &'static str,
    pub(crate) handler: fn() -> MethodRouter<Arc<App>>,
    pub(crate) tag: &'static str,
    pub(crate) summary: &'static str,
    /// A whole-state route: may answer 429 (the client's rate) and 503 (no free slot).
    pub(crate) heavy: bool,
    /// What a 200 carries.
    pub(crate) ok: fn() -> Value,
    /// A 404 other than "no such route": the module is not run, or the thing is unknown.
    pub(crate) not_found: Option<fn() -> Value>,
    /// Query parameters: name and meaning (all optional).
    pub(crate) query: &'static [(&'static str, &'static str)],
}

// --- schema builders ---------------------------------------------------------------

fn string() -> Value {
    json!({"type": "string"})
}
fn int() -> Value {
    json!({"type": "integer", "minimum": 0})
}
fn boolean() -> Value {
    json!({"type": "boolean"})
}
fn any() -> Value {
    json!({})
}
fn object() -> Value {
    json!({"type": "object"})
}
fn nullable(v: Value) -> Value {
    json!({"anyOf": [v, {"type": "null"}]})
}
fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}
fn map_of(values: Value) -> Value {
    json!({"type": "object", "additionalProperties": values})
}
/// An object with these fields always present (more are allowed).
fn obj(required: &[(&str, Value)]) -> Value {
    let props: Map<String, Value> = required.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let names: Vec<&str> = required.iter().map(|(k, _)| *k).collect();
    json!({"type": "object", "properties": props, "required": names})
}
/// An answer about the ledger: its fields and the envelope every such answer carries.
fn envelope(fields: &[(&str, Value)]) -> Value {
    let mut all: Vec<(&str, Value)> = fields.to_vec();
    all.push(("node", string()));
    all.push(("behind", nullable(int())));
    all.push(("VERSION", string()));
    let mut schema = obj(&all);
    schema["properties"]["in_consensus"] = boolean();
    schema
}
/// The reference's amount with its precision and symbol.
fn nai() -> Value {
    obj(&[("amount", int()), ("precision", int()), ("token", string())])
}
/// An error answer: an object that says what failed (most as `error`; the reference's
/// shapes kept for wallets use their own field names).
fn error() -> Value {
    json!({"type": "object", "properties": {"error": {"type": "string"}}, "minProperties": 1})
}

// --- the answers ---------------------------------------------------------------------

fn stats() -> Value {
    envelope(&[(
        "result",
        obj(&[
            ("tokenSupply", int()),
            ("liquid", int()),
            ("powered", int()),
            ("gov", int()),
            ("claimable", int()),
            ("granted", int()),
            ("token", string()),
            ("precision", int()),
            ("lastBlock", nullable(int())),
        ]),
    )])
}
fn coin() -> Value {
    envelope(&[
        ("check", string()),
        ("ok", boolean()),
        ("supply", int()),
        ("counted", int()),
        ("liquid_supply", int()),
        ("block", int()),
    ])
}
fn feature() -> Value {
    obj(&[
        ("id", string()),
        ("string", string()),
        (
            "json",
            map_of(obj(&[("string", string()), ("type", string()), ("req", boolean())])),
        ),
        ("auth", string()),
        ("msg", string()),
        ("addr", string()),
    ])
}
fn api_g_l() -> Value {
    obj(&[("api", string()), ("g", int()), ("l", int())])
}
fn protocol() -> Value {
    let mut s = envelope(&[
        ("prefix", string()),
        ("multisig", string()),
        ("jsontoken", string()),
        ("token", string()),
        ("precision", int()),
        ("head_block", int()),
        ("checkpoint_interval", int()),
        ("memoKey", nullable(string())),
        ("features", map_of(feature())),
        ("info", string()),
    ]);
    s["properties"]["consensus"] = map_of(api_g_l());
    s
}
fn coin_detail() -> Value {
    envelope(&[(
        "coins",
        array(obj(&[("symbol", string()), ("name", string()), ("precision", int())])),
    )])
}
fn op_status() -> Value {
    obj(&[
        ("id", string()),
        ("op", string()),
        ("from", string()),
        ("block", int()),
        ("trx_in_block", int()),
        ("op_in_trx", int()),
        ("ok", boolean()),
        ("message", string()),
    ])
}
fn status() -> Value {
    obj(&[("txid", string()), ("status", string()), ("ops", array(op_status()))])
}
fn status_unknown() -> Value {
    obj(&[
        ("txid", string()),
        ("status", string()),
        ("found", boolean()),
        ("detail", string()),
    ])
}
fn latest_report() -> Value {
    obj(&[
        ("community", string()),
        ("block", int()),
        ("hash", string()),
        ("modules", array(obj(&[("module", string()), ("hash", string())]))),
        ("node", string()),
        ("version", string()),
        ("public_key", string()),
        ("signature", string()),
    ])
}
fn consensus() -> Value {
    envelope(&[
        ("verdict", any()),
        ("runners", array(obj(&[("account", string()), ("gov", int())]))),
        ("nodes", array(any())),
        ("open_tally", nullable(object())),
        ("finals", array(obj(&[("block", int()), ("hash", string())]))),
    ])
}
fn account() -> Value {
    envelope(&[
        ("account", string()),
        ("balance", int()),
        ("claim", int()),
        ("poweredUp", int()),
        ("gov", int()),
        ("head_block", int()),
        ("heldCollateral", int()),
        ("up", obj(&[("max", int()), ("last", int()), ("power", int())])),
        ("down", obj(&[("max", int()), ("last", int()), ("power", int())])),
        ("power_downs", map_of(obj(&[("amount", int()), ("block", int())]))),
        ("gov_downs", map_of(obj(&[("amount", int()), ("block", int())]))),
        ("granting", map_of(int())),
        ("granted", map_of(int())),
    ])
}
fn account_v1() -> Value {
    let installments = array(obj(&[("block", int()), ("amount", int())]));
    envelope(&[
        ("account", string()),
        ("balance", int()),
        ("claim", int()),
        ("poweredUp", int()),
        ("gov", int()),
        ("granted", int()),
        ("granting", int()),
        ("head_block", int()),
        ("power_downs", installments.clone()),
        ("gov_downs", installments),
        ("delegation_vests", int()),
        ("is_node", boolean()),
    ])
}
fn runners() -> Value {
    let runner = obj(&[("account", string()), ("api", string()), ("g", int()), ("l", int())]);
    envelope(&[
        ("result", array(runner.clone())),
        ("runners", map_of(runner)),
        ("latest", array(obj(&[("api", string())]))),
    ])
}
fn queue() -> Value {
    envelope(&[("queue", map_of(api_g_l()))])
}
fn mirrors() -> Value {
    envelope(&[("apis", array(obj(&[("api_url", string()), ("node", string())])))])
}
fn markets() -> Value {
    let node = obj(&[
        ("domain", string()),
        ("self", string()),
        ("bidRate", int()),
        ("dm", int()),
        ("ds", int()),
        ("dv", int()),
        ("liquidity", int()),
        ("g", int()),
        ("lastGood", int()),
        ("report", object()),
        ("active", boolean()),
    ]);
    envelope(&[("markets", obj(&[("node", map_of(node))])), ("stats", object())])
}
fn report() -> Value {
    envelope(&[])
}
fn multisig() -> Value {
    envelope(&[("account", string()), ("block", int()), ("signers", any())])
}
fn whole_module() -> Value {
    object()
}
fn snapshot() -> Value {
    object()
}
fn dex_market() -> Value {
    obj(&[
        ("tick", string()),
        ("sells", array(object())),
        ("buys", array(object())),
        ("his", any()),
        ("days", object()),
    ])
}
fn dex() -> Value {
    envelope(&[
        ("markets", obj(&[("hive", dex_market()), ("hbd", dex_market())])),
        ("stats", object()),
    ])
}
fn pairs() -> Value {
    array(obj(&[
        ("ticker_id", string()),
        ("base", string()),
        ("target", string()),
    ]))
}
fn tickers() -> Value {
    array(obj(&[
        ("ticker_id", string()),
        ("base_currency", string()),
        ("target_currency", string()),
        ("last_price", string()),
    ]))
}
fn orderbook() -> Value {
    let level = array(any());
    envelope(&[
        ("asks", array(level.clone())),
        ("bids", array(level)),
        ("timestamp", int()),
        ("ticker_id", string()),
    ])
}
fn trade() -> Value {
    obj(&[
        ("trade_id", any()),
        ("price", string()),
        ("base_volume", string()),
        ("target_volume", string()),
        ("trade_timestamp", int()),
        ("type", string()),
    ])
}
fn recent() -> Value {
    envelope(&[("recent_trades", array(trade()))])
}
fn historical() -> Value {
    envelope(&[("sell", array(trade())), ("buy", array(trade()))])
}
fn nfts() -> Value {
    envelope(&[
        ("result", array(object())),
        ("result_more", boolean()),
        ("mint_tokens", array(object())),
        ("mint_tokens_more", boolean()),
        ("user", string()),
    ])
}
fn nft_item() -> Value {
    envelope(&[("item", any()), ("set", object())])
}
fn nft_list() -> Value {
    envelope(&[("result", array(object())), ("result_more", boolean())])
}
fn nft_set() -> Value {
    envelope(&[
        (
            "result",
            array(obj(&[("uid", string()), ("set", string()), ("owner", string())])),
        ),
        ("result_more", boolean()),
        ("set", object()),
    ])
}
fn offers() -> Value {
    let offer = obj(&[("uid", string()), ("set", string()), ("price", nai())]);
    envelope(&[("result", array(offer)), ("result_more", boolean())])
}
fn pfp() -> Value {
    envelope(&[(
        "result",
        array(obj(&[("pfp", string()), ("nft", any()), ("set", object())])),
    )])
}
fn trades() -> Value {
    envelope(&[
        ("result", array(object())),
        ("result_more", boolean()),
        ("kind", string()),
    ])
}
fn leader_votes() -> Value {
    envelope(&[("due", array(object())), ("queued", array(object()))])
}
fn posts() -> Value {
    envelope(&[(
        "feed",
        map_of(obj(&[("author", string()), ("permlink", string()), ("block", int())])),
    )])
}
fn post() -> Value {
    envelope(&[("now", object())])
}
fn events() -> Value {
    let event = obj(&[
        ("id", string()),
        ("module", string()),
        ("block", int()),
        ("trx_in_block", int()),
        ("op_in_trx", int()),
        ("seq", int()),
        ("kind", string()),
        ("data", string()),
    ]);
    envelope(&[
        ("events", array(event)),
        ("more", boolean()),
        ("next_from_block", int()),
    ])
}
fn ready() -> Value {
    obj(&[("ready", boolean())])
}

macro_rules! route {
    ($axum:expr, $doc:expr, $handler:path, $tag:expr, $summary:expr, $heavy:expr, $ok:expr, $nf:expr) => {
        route!($axum, $doc, $handler, $tag, $summary, $heavy, $ok, $nf, &[])
    };
    ($axum:expr, $doc:expr, $handler:path, $tag:expr, $summary:expr, $heavy:expr, $ok:expr, $nf:expr, $query:expr) => {
        Route {
            axum: $axum,
            doc: $doc,
            handler: || get($handler),
            tag: $tag,
            summary: $summary,
            heavy: $heavy,
            ok: $ok,
            not_found: $nf,
            query: $query,
        }
    };
}

const TICKER: (&str, &str) = ("ticker_id", "The market: `HIVE_<TOKEN>` or `HBD_<TOKEN>`.");
const DEPTH: (&str, &str) = ("depth", "Most orders per side (default 50).");
const LIMIT: (&str, &str) = ("limit", "Most trades (per kind), a whole number from 1.");
const KIND: (&str, &str) = ("type", "`buy`, or `sell` (`ask`): one kind only.");
const FROM_BLOCK: (&str, &str) = ("from_block", "The first block (default 0).");
const EVENT_LIMIT: (&str, &str) = (
    "limit",
    "Most events (default 100, at most 1,000); a page ends at a block boundary.",
);

const NF: Option<fn() -> Value> = Some(error);

/// Every public route, in the order the router adds them (the catch-all `/{user}` last).
pub(crate) fn routes() -> Vec<Route> {
    vec![
        route!("/", "/", handlers::stats, "token", "The token's stats (as /stats).", false, stats, None),
        route!("/stats", "/stats", handlers::stats, "token", "The token's supply, totals and rates.", false, stats, None),
        route!("/coin", "/coin", whole_state::coin, "token", "The supply audit: every holding summed and compared with the supply.", true, coin, None),
        route!("/api/protocol", "/api/protocol", handlers::protocol, "wallet", "What a wallet bootstraps from: ids, accounts, precision, the consensus nodes and the actions it can offer.", false, protocol, None),
        route!("/api/coin_detail", "/api/coin_detail", handlers::coin_detail, "wallet", "The token's supply and circulation, and what the multi-sig account holds.", false, coin_detail, None),
        route!("/api/status/{txid}", "/api/status/{txid}", handlers::status, "wallet", "What became of each community op of a Hive transaction. 404 (the reference's text) while it has none.", false, status, Some(status_unknown)),
        route!("/api/multisig", "/api/multisig", multisig::multisig, "multisig", "The community's multi-sig account: books, signers, outflows, reconciliation.", true, multisig, NF),
        route!("/v1/report/latest", "/v1/report/latest", handlers::latest_report, "consensus", "This node's latest signed consensus report.", false, latest_report, NF),
        route!("/report/{account}", "/report/{account}", nodes::report, "consensus", "A node's latest report this node knows of, `{<account>: report}`.", false, report, NF),
        route!("/runners", "/runners", nodes::runners, "consensus", "The runner set.", false, runners, NF),
        route!("/queue", "/queue", nodes::queue_route, "consensus", "Every active node that agreed with the latest final checkpoint.", false, queue, NF),
        route!("/markets", "/markets", nodes::markets, "consensus", "Every node record, and the stats.", false, markets, NF),
        route!("/api/mirrors", "/api/mirrors", nodes::mirrors, "consensus", "The APIs of the nodes in consensus.", false, mirrors, NF),
        route!("/consensus", "/consensus", whole_state::consensus, "consensus", "Runners, nodes, the open tally, recent final checkpoints, and this node's verdict.", true, consensus, None),
        route!("/v1/snapshots/{block}", "/v1/snapshots/{block}", whole_state::snapshot, "consensus", "A snapshot of every consensus module's state at a checkpoint (for recovering nodes).", true, snapshot, NF),
        route!("/v1/state/nodes", "/v1/state/nodes", whole_state::nodes_state, "consensus", "The nodes module's whole committed state.", true, whole_module, NF),
        route!("/v1/state/multisig", "/v1/state/multisig", multisig::duty_state, "multisig", "The multi-sig module's signing duties.", true, whole_module, NF),
        route!("/dex", "/dex", dex::dex, "dex", "Both DEX markets: books, trades, daily candles, stats.", true, dex, NF),
        route!("/api/pairs", "/api/pairs", dex::pairs, "dex", "The DEX pairs (CoinGecko style).", false, pairs, NF),
        route!("/api/tickers", "/api/tickers", dex::tickers, "dex", "One ticker per market (CoinGecko style).", false, tickers, NF),
        route!("/api/orderbook", "/api/orderbook", dex::orderbook, "dex", "A market's order book (`?ticker_id=&depth=`).", true, orderbook, NF, &[TICKER, DEPTH]),
        route!("/api/orderbook/{ticker_id}", "/api/orderbook/{ticker_id}", dex::orderbook_of, "dex", "A market's order book (`?depth=`).", true, orderbook, NF, &[DEPTH]),
        route!("/api/recent/{ticker_id}", "/api/recent/{ticker_id}", dex::recent, "dex", "A market's newest trades (`?limit=`).", true, recent, NF, &[LIMIT]),
        route!("/api/historical", "/api/historical", dex::historical, "dex", "A market's trades by kind (`?ticker_id=&type=&limit=`).", true, historical, NF, &[TICKER, KIND, LIMIT]),
        route!("/api/historical/{ticker_id}", "/api/historical/{ticker_id}", dex::historical_of, "dex", "A market's trades by kind (`?type=&limit=`).", true, historical, NF, &[KIND, LIMIT]),
        route!("/api/nfts/{user}", "/api/nfts/{user}", nft::nfts, "nft", "The NFTs and mint tokens an account holds.", true, nfts, NF),
        route!("/api/nft/{set}/{uid}", "/api/nft/{set}/{uid}", nft::item, "nft", "One NFT and its set.", false, nft_item, NF),
        route!("/api/sets", "/api/sets", nft::sets, "nft", "Every NFT set.", true, nft_list, NF),
        route!("/api/set/{set}", "/api/set/{set}", nft::set, "nft", "A set and its NFTs.", true, nft_set, NF),
        route!("/api/auctions", "/api/auctions", nft::auctions, "nft", "Open NFT auctions.", true, offers, NF),
        route!("/api/auctions/{set}", "/api/auctions/{set}", nft::auctions_of, "nft", "Open NFT auctions of a set.", true, offers, NF),
        route!("/api/mintauctions", "/api/mintauctions", nft::mint_auctions, "nft", "Open mint-token auctions.", true, offers, NF),
        route!("/api/mintauctions/{set}", "/api/mintauctions/{set}", nft::mint_auctions_of, "nft", "Open mint-token auctions of a set.", true, offers, NF),
        route!("/api/sales", "/api/sales", nft::sales, "nft", "NFTs for sale.", true, offers, NF),
        route!("/api/sales/{set}", "/api/sales/{set}", nft::sales_of, "nft", "NFTs of a set for sale.", true, offers, NF),
        route!("/api/mintsales", "/api/mintsales", nft::mint_sales, "nft", "Mint tokens for sale.", true, offers, NF),
        route!("/api/mintsales/{set}", "/api/mintsales/{set}", nft::mint_sales_of, "nft", "Mint tokens of a set for sale.", true, offers, NF),
        route!("/api/mintsupply", "/api/mintsupply", nft::mint_supply_all, "nft", "Mint-token auctions and sales by set.", true, nft_list, NF),
        route!("/api/mintsupply/{set}", "/api/mintsupply/{set}", nft::mint_supply_of, "nft", "Mint-token auctions and sales of a set.", true, nft_list, NF),
        route!("/api/pfp/{user}", "/api/pfp/{user}", nft::pfp, "nft", "An account's profile-picture NFT, while it holds it.", false, pfp, NF),
        route!("/api/trades/{kind}/{user}", "/api/trades/{kind}/{user}", nft::trades, "nft", "Open reserved transfers (`nfts`) or mint-token escrows (`fts`) of an account.", true, trades, NF),
        route!("/api/leader_votes", "/api/leader_votes", handlers::leader_votes, "token", "The leader's Hive votes the chain decided, due and queued.", false, leader_votes, None),
        route!("/posts", "/posts", handlers::posts, "token", "Posts open for Proof of Brain votes.", false, posts, None),
        route!("/posts/{author}/{permlink}", "/posts/{author}/{permlink}", handlers::post, "token", "One Proof of Brain post.", false, post, NF),
        route!("/v1/events/{module}", "/v1/events/{module}", events::events, "operator", "A module's state events from a block on, each with its stable id; `data` is the module's Avro event (schemas/<module>_event.avsc).", true, events, NF, &[FROM_BLOCK, EVENT_LIMIT]),
        route!("/v1/accounts/{account}", "/v1/accounts/{account}", handlers::account_v1, "token", "opentoken's account view: installment lists and grant totals.", false, account_v1, None),
        route!("/{user}", "/@{account}", handlers::user, "wallet", "An account as wallets read it: balances, power, gov, claimable, power-downs and gov-downs by block, grants, open DEX orders.", false, account, None),
    ]
}

fn path_params(path: &str) -> Vec<Value> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .map(|name| {
            let schema = match name {
                "block" => json!({"type": "integer", "minimum": 0}),
                _ => json!({"type": "string"}),
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect()
}

fn query_params(query: &[(&str, &str)]) -> Vec<Value> {
    query
        .iter()
        .map(|(name, description)| {
            json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}})
        })
        .collect()
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn operation(r: &Route) -> Value {
    let mut responses = Map::new();
    responses.insert("200".into(), json_response("OK", (r.ok)()));
    let mut params = path_params(r.doc);
    params.extend(query_params(r.query));
    if !params.is_empty() {
        responses.insert(
            "400".into(),
            json_response("A parameter is malformed or unknown.", error()),
        );
    }
    if let Some(nf) = r.not_found {
        responses.insert(
            "404".into(),
            json_response(
                "The module is not run on this chain, or the thing asked for is unknown.",
                nf(),
            ),
        );
    }
    if r.heavy {
        responses.insert(
            "429".into(),
            json_response(
                "Too many whole-state requests from this address (see Retry-After).",
                error(),
            ),
        );
    }
    responses.insert(
        "503".into(),
        json_response(
            "The store did not answer, or every slot of the route is taken (see Retry-After).",
            error(),
        ),
    );
    responses.insert(
        "504".into(),
        json_response("The request took longer than the API's timeout.", error()),
    );
    let id = r.doc.trim_matches('/').replace(['/', '@'], "_").replace(['{', '}'], "");
    json!({
        "tags": [r.tag],
        "summary": r.summary,
        "operationId": if id.is_empty() { "root".to_string() } else { id },
        "parameters": params,
        "responses": responses,
    })
}

/// The OpenAPI 3.1 document of every route (`version` is the node's).
pub(crate) fn document(version: &str) -> Value {
    let mut paths = Map::new();
    for r in routes() {
        paths.insert(r.doc.to_string(), json!({"get": operation(&r)}));
    }
    let text = |description: &str| json!({"description": description, "content": {"text/plain": {"schema": string()}}});
    paths.insert(
        "/healthz".into(),
        json!({"get": {"tags": ["operator"], "summary": "Liveness: the process answers.", "operationId": "healthz",
                        "responses": {"200": text("ok")}}}),
    );
    paths.insert(
        "/readyz".into(),
        json!({"get": {"tags": ["operator"], "summary": "Readiness: every component is ready (503 with the reasons otherwise).",
                        "operationId": "readyz",
                        "responses": {"200": json_response("Ready.", ready()),
                                      "503": json_response("Not ready, with each component's reason.", ready())}}}),
    );
    paths.insert(
        "/metrics".into(),
        json!({"get": {"tags": ["operator"], "summary": "Prometheus metrics (text exposition format).", "operationId": "metrics",
                        "responses": {"200": text("The metrics.")}}}),
    );
    paths.insert(
        "/openapi.json".into(),
        json!({"get": {"tags": ["operator"], "summary": "This document.", "operationId": "openapi",
                        "responses": {"200": json_response("The OpenAPI document.", object())}}}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "opentoken",
            "version": version,
            "description": "The HTTP API of an opentoken node: a Layer-2 token on Hive. Routes follow the reference node (HoneyComb) where wallets read them; opentoken's own answers are under /v1/. Every answer about the ledger carries node, behind and VERSION, and in_consensus when the node runs a consensus agent. Amounts are integers in the asset's smallest unit.",
        },
        "tags": [
            {"name": "wallet", "description": "What wallets bootstrap from and read after broadcasting."},
            {"name": "token", "description": "The token ledger."},
            {"name": "consensus", "description": "The consensus network: nodes, reports, checkpoints."},
            {"name": "multisig", "description": "The community's multi-sig Hive account."},
            {"name": "dex", "description": "The HIVE/HBD to token DEX."},
            {"name": "nft", "description": "NFTs and mint tokens."},
            {"name": "operator", "description": "Probes, metrics and this document."},
        ],
        "paths": paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_document_once_with_its_parameters() {
        let doc = document("test");
        let paths = doc["paths"].as_object().expect("paths");
        let routes = routes();
        assert_eq!(
            paths.len(),
            routes.len() + 4,
            "every route, the probes and the document"
        );
        for r in &routes {
            let op = &paths[r.doc]["get"];
            assert_eq!(
                op["parameters"].as_array().map(Vec::len),
                Some(r.axum.matches('{').count() + r.query.len()),
                "{}",
                r.doc
            );
            assert!(op["responses"]["200"]["content"]["application/json"]["schema"].is_object());
        }
        let mut ids: Vec<&str> = paths
            .values()
            .filter_map(|p| p["get"]["operationId"].as_str())
            .collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "operation ids are unique");
    }
}
