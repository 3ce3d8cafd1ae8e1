//! Identifiers over real HTTP (a server on 127.0.0.1:0): an op status carries the id derived
//! from its chain position, and every answer, errors and refusals included, carries an
//! `X-Request-Id`: the client's when it is a safe token, a fresh random UUID otherwise.

mod tcp;

use opentoken_api::{ApiLimits, ApiState};
use opentoken_core::{ChainPos, OpStatus, Outcome, RejectCode};
use opentoken_store::{CommitBatch, EmbeddedStore, ModuleCommit, Progress, Store};
use opentoken_telemetry::Telemetry;
use reqwest::header::HeaderValue;
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

const TXID: &str = "6c3b2b4e0f1a2d3c4b5a69788796a5b4c3d2e1f0";

struct Server {
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn status(pos: ChainPos, outcome: Outcome) -> OpStatus {
    OpStatus {
        txid: TXID.into(),
        pos,
        module: "token".into(),
        op: "send".into(),
        from: "alice".into(),
        outcome,
    }
}

/// The two ops of [`TXID`]: one applied, one rejected.
fn statuses() -> Vec<OpStatus> {
    vec![
        status(
            ChainPos::new(5, 1, 0),
            Outcome::Applied {
                summary: "sent 2 to bob".into(),
            },
        ),
        status(
            ChainPos::new(5, 1, 1),
            Outcome::Rejected {
                code: RejectCode::InsufficientFunds,
                reason: "alice has 0 liquid, needs 2".into(),
            },
        ),
    ]
}

impl Server {
    async fn start(limits: ApiLimits) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = opentoken_log::embedded::open_database(&dir.path().join("db.redb")).expect("db");
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::new(db.clone()).expect("store"));
        store
            .commit(&CommitBatch {
                modules: vec![ModuleCommit {
                    module: "token".into(),
                    changes: Vec::new(),
                    lattice: Vec::new(),
                    progress: Progress {
                        block: 5,
                        next_offset: 5,
                    },
                    snapshot: None,
                }],
                statuses: statuses(),
                ..Default::default()
            })
            .expect("commit");
        let state = ApiState {
            spec: Arc::new(opentoken_core::test_utils::test_spec()),
            store,
            log: Arc::new(opentoken_log::EmbeddedLog::new(db).expect("log")),
            telemetry: Arc::new(Telemetry::new()),
            node: "dlux-io".into(),
            version: "test".into(),
            modules: vec!["token".into()],
        };
        let base = tcp::listen(state, &limits).await;
        Self {
            base,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }
}

async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.expect("the server answers")
}

/// The answer's `X-Request-Id`, as text.
fn request_id(r: &reqwest::Response) -> String {
    let value = r
        .headers()
        .get("x-request-id")
        .expect("every answer has an X-Request-Id");
    value.to_str().expect("an ASCII request id").to_string()
}

/// The answer's `X-Request-Id`, which must be a fresh random (v4) UUID.
fn fresh_id(r: &reqwest::Response) -> Uuid {
    let text = request_id(r);
    let id = Uuid::parse_str(&text).unwrap_or_else(|e| panic!("{text:?} is not a UUID: {e}"));
    assert_eq!(id.get_version_num(), 4, "{text}");
    id
}

/// Every op of `/api/status/:txid` carries the id derived from its community, module, txid
/// and chain position (recomputed here through `opentoken_core::id`), next to the
/// reference's fields.
#[tokio::test]
async fn a_status_carries_the_id_of_its_chain_position() {
    let server = Server::start(ApiLimits::default()).await;
    let r = send(server.get(&format!("/api/status/{TXID}"))).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("JSON");
    let ops = body["ops"].as_array().expect("ops");
    let community = opentoken_core::test_utils::test_spec().name;
    assert_eq!(ops.len(), 2, "{body}");
    for (op, st) in ops.iter().zip(statuses()) {
        let want = opentoken_core::id::op_status(&community, "token", TXID, st.pos);
        assert_eq!(op["id"], want.to_string(), "{body}");
        assert_eq!(
            Uuid::parse_str(op["id"].as_str().expect("id")).map(|u| u.get_version_num()),
            Ok(5)
        );
        for field in ["op", "from", "block", "trx_in_block", "op_in_trx", "ok", "message"] {
            assert!(op.get(field).is_some(), "{field} is still there: {body}");
        }
    }
    assert_ne!(ops[0]["id"], ops[1]["id"]);
    assert_eq!(body["txid"], TXID);
    assert_eq!(body["status"], ops[1]["message"]);
}

#[tokio::test]
async fn a_safe_client_request_id_is_echoed() {
    let server = Server::start(ApiLimits::default()).await;
    for id in [
        "3f2b8c1e-0d4a-4e0b-9d3c-6a1f2e3d4c5b",
        "3F2B8C1E0D4A4E0B9D3C6A1F2E3D4C5B",
        "req_42-a",
        &"x".repeat(64),
    ] {
        let r = send(server.get("/stats").header("x-request-id", id)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(request_id(&r), id);
        // Also on an error answer.
        let r = send(server.get("/nonsense").header("x-request-id", id)).await;
        assert_eq!(r.status(), 404);
        assert_eq!(request_id(&r), id);
    }
}

/// An id that is too long, holds quotes, spaces, tabs, markup or non-ASCII bytes is never
/// echoed: the answer carries a fresh UUID instead. (CR and LF cannot reach the node inside
/// a header value: they end a header line in HTTP/1, and `HeaderValue` refuses them; the
/// unit tests in `request_id.rs` cover the rule itself.)
#[tokio::test]
async fn an_unsafe_client_request_id_is_replaced_by_a_fresh_uuid() {
    let server = Server::start(ApiLimits::default()).await;
    let too_long = "x".repeat(65);
    let unsafe_ids: Vec<HeaderValue> = vec![
        HeaderValue::from_str(&too_long).expect("value"),
        HeaderValue::from_static("a\"b"),
        HeaderValue::from_static("a'b"),
        HeaderValue::from_static("a b"),
        HeaderValue::from_static("a\tb"),
        HeaderValue::from_static("<script>alert(1)</script>"),
        HeaderValue::from_static("{3f2b8c1e-0d4a-4e0b-9d3c-6a1f2e3d4c5b}"),
        HeaderValue::from_bytes("café".as_bytes()).expect("obs-text is a header value"),
        HeaderValue::from_bytes(b"\xff\xfe").expect("obs-text is a header value"),
    ];
    let mut seen = std::collections::HashSet::new();
    for sent in unsafe_ids {
        let r = send(server.get("/stats").header("x-request-id", sent.clone())).await;
        assert_eq!(r.status(), 200, "a bad id is replaced, not refused");
        let got = fresh_id(&r);
        assert_ne!(got.to_string().as_bytes(), sent.as_bytes());
        assert!(seen.insert(got), "a fresh id each time");
    }
}

#[tokio::test]
async fn a_request_without_an_id_gets_a_fresh_v4_uuid() {
    let server = Server::start(ApiLimits::default()).await;
    let a = fresh_id(&send(server.get("/stats")).await);
    let b = fresh_id(&send(server.get("/stats")).await);
    assert_ne!(a, b, "two requests never share an id");
}

/// Answers that never reach a handler carry an id too: an unknown route (the router's
/// fallback and `/{user}`'s own 404), a bad account, a body over the limit (413), a
/// transaction id that is too long, an unknown status, a CORS preflight, and a probe.
#[tokio::test]
async fn errors_refusals_preflights_and_probes_carry_an_id() {
    let server = Server::start(ApiLimits {
        max_body_bytes: 64,
        ..ApiLimits::default()
    })
    .await;
    for (path, want) in [
        ("/no/such/route", 404),
        ("/nonsense", 404),
        ("/@Not_An_Account", 400),
        ("/api/status/unknown", 404),
        (&format!("/api/status/{}", "a".repeat(200)), 400),
        ("/healthz", 200),
        ("/metrics", 200),
    ] {
        let r = send(server.get(path)).await;
        assert_eq!(r.status(), want, "{path}");
        fresh_id(&r);
    }
    let r = send(server.get("/stats").body(vec![b'x'; 4096])).await;
    assert_eq!(r.status(), 413);
    fresh_id(&r);

    let preflight = send(
        server
            .http
            .request(reqwest::Method::OPTIONS, format!("{}/stats", server.base))
            .header("origin", "https://wallet.example")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "x-request-id"),
    )
    .await;
    assert!(preflight.status().is_success(), "{}", preflight.status());
    fresh_id(&preflight);
    let allowed = header_lowercase(&preflight, "access-control-allow-headers");
    assert!(
        allowed == "*" || allowed.contains("x-request-id"),
        "a browser may send X-Request-Id: {allowed:?}"
    );
}

/// A browser page may read the answer's `X-Request-Id` (CORS hides other headers).
#[tokio::test]
async fn browsers_may_read_the_request_id() {
    let server = Server::start(ApiLimits::default()).await;
    let r = send(
        server
            .get("/stats")
            .header("origin", "https://wallet.example")
            .header("x-request-id", "from-the-wallet"),
    )
    .await;
    assert_eq!(request_id(&r), "from-the-wallet");
    let exposed = header_lowercase(&r, "access-control-expose-headers");
    assert!(exposed.contains("x-request-id"), "{exposed:?}");
}

/// A header of `r` in lower case ("" when it is absent or not text).
fn header_lowercase(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}
