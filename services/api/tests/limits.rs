//! The API's bounds, played by an attacker over real HTTP (a server on 127.0.0.1:0): a
//! flood of whole-state requests, a client over its rate, requests slower than the
//! timeout, oversized bodies, browsers from other origins, repeated snapshot downloads,
//! and readiness reasons and errors that must not show a backend's credentials.

mod tcp;

use opentoken_api::{ApiLimits, ApiState, CorsOrigins};
use opentoken_core::{EventRecord, Message, ModuleCheckpoint, OpStatus};
use opentoken_store::{CommitBatch, LoadedModule, ModuleSnapshot, Pair, Progress, SnapshotDoc, Store, StoreError};
use opentoken_telemetry::Telemetry;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The checkpoint whose snapshot the store keeps.
const SNAPSHOT_BLOCK: u64 = 100;
/// A backend error that names a host and credentials, as a ScyllaDB driver's might.
const BACKEND_SECRET: &str = "scylla://admin:hunter2@db.internal:9042";

/// A store whose whole-state reads take `delay_ms` (a large state on a slow disk), holding
/// one snapshot, counting snapshot reads, and failing point reads on demand.
#[derive(Default)]
struct SlowStore {
    delay_ms: AtomicU64,
    snapshot_reads: AtomicU64,
    failing: AtomicBool,
}

impl SlowStore {
    fn slow(&self) {
        std::thread::sleep(Duration::from_millis(self.delay_ms.load(Ordering::SeqCst)));
    }
}

impl Store for SlowStore {
    fn commit(&self, _batch: &CommitBatch) -> Result<(), StoreError> {
        Ok(())
    }
    fn load_module(&self, _module: &str) -> Result<LoadedModule, StoreError> {
        self.slow();
        Ok(LoadedModule::default())
    }
    fn progress(&self, _module: &str) -> Result<Option<Progress>, StoreError> {
        Ok(Some(Progress {
            block: SNAPSHOT_BLOCK,
            next_offset: 0,
        }))
    }
    fn get(&self, _module: &str, _key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::backend(
                "get",
                format!("connection to {BACKEND_SECRET} refused"),
            ));
        }
        Ok(None)
    }
    fn scan_prefix(&self, _module: &str, _prefix: &[u8], _limit: usize) -> Result<Vec<Pair>, StoreError> {
        self.slow();
        Ok(Vec::new())
    }
    fn statuses(&self, _txid: &str) -> Result<Vec<OpStatus>, StoreError> {
        Ok(Vec::new())
    }
    fn events(&self, _module: &str, _from: u64, _limit: usize) -> Result<Vec<EventRecord>, StoreError> {
        Ok(Vec::new())
    }
    fn checkpoint(&self, _module: &str, block: u64) -> Result<Option<[u8; 32]>, StoreError> {
        Ok((block == SNAPSHOT_BLOCK).then_some([7; 32]))
    }
    fn checkpoints(&self, _module: &str) -> Result<Vec<ModuleCheckpoint>, StoreError> {
        Ok(Vec::new())
    }
    fn pending_messages(&self) -> Result<Vec<Message>, StoreError> {
        Ok(Vec::new())
    }
    fn put_meta(&self, _key: &str, _value: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }
    fn get_meta(&self, _key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }
    fn snapshot(&self, module: &str, block: u64) -> Result<Option<ModuleSnapshot>, StoreError> {
        self.snapshot_reads.fetch_add(1, Ordering::SeqCst);
        Ok((block == SNAPSHOT_BLOCK).then(|| ModuleSnapshot {
            pairs: [(module.as_bytes().to_vec(), b"v".to_vec())].into_iter().collect(),
            outbox: Vec::new(),
        }))
    }
}

struct Server {
    base: String,
    store: Arc<SlowStore>,
    telemetry: Arc<Telemetry>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(limits: ApiLimits) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = opentoken_log::embedded::open_database(&dir.path().join("log.redb")).expect("log db");
        let log = Arc::new(opentoken_log::EmbeddedLog::new(db).expect("log"));
        let store = Arc::new(SlowStore::default());
        let telemetry = Arc::new(Telemetry::new());
        let state = ApiState {
            spec: Arc::new(opentoken_core::test_utils::test_spec()),
            store: store.clone(),
            log,
            telemetry: telemetry.clone(),
            node: "dlux-io".into(),
            version: "test".into(),
            modules: vec!["token".into(), "nodes".into()],
        };
        let base = tcp::listen(state, &limits).await;
        Self {
            base,
            store,
            telemetry,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    fn delay(&self, ms: u64) {
        self.store.delay_ms.store(ms, Ordering::SeqCst);
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the server answers")
    }

    fn metric(&self, name: &str) -> f64 {
        self.telemetry.get(name).unwrap_or(0.0)
    }
}

fn no_rate_limit() -> ApiLimits {
    ApiLimits {
        heavy_per_minute: 0,
        ..ApiLimits::default()
    }
}

fn retry_after(r: &reqwest::Response) -> Option<u64> {
    r.headers().get("retry-after")?.to_str().ok()?.parse().ok()
}

/// Whether the answer carries a fresh request id (a refusal is an answer an operator may
/// have to find in the log too).
fn has_request_id(r: &reqwest::Response) -> bool {
    r.headers()
        .get("x-request-id")
        .and_then(|v| uuid::Uuid::parse_str(v.to_str().ok()?).ok())
        .is_some_and(|id| id.get_version_num() == 4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_requests_beyond_their_slots_get_503_while_probes_cheap_routes_and_tasks_go_on() {
    let server = Arc::new(
        Server::start(ApiLimits {
            heavy_concurrency: 2,
            ..no_rate_limit()
        })
        .await,
    );
    server.delay(1500);
    // Stands for the ingester and the agent sharing the runtime: it must keep its pace.
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            let mut every = tokio::time::interval(Duration::from_millis(10));
            loop {
                every.tick().await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let server = server.clone();
        flood.spawn(async move {
            let r = server.get("/consensus").await;
            (r.status().as_u16(), retry_after(&r))
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // An unknown transaction's status is a 404 with its explanation: an answer too.
    for (path, want) in [
        ("/healthz", 200),
        ("/readyz", 200),
        ("/api/protocol", 200),
        ("/api/status/abc", 404),
    ] {
        let started = Instant::now();
        let status = server.get(path).await.status();
        assert_eq!(status.as_u16(), want, "{path} answers during the flood: {status}");
        assert!(
            started.elapsed() < Duration::from_millis(700),
            "{path} took {:?}",
            started.elapsed()
        );
    }
    let mut answered = Vec::new();
    while let Some(joined) = flood.join_next().await {
        answered.push(joined.expect("request task"));
    }
    ticker.abort();
    let ok = answered.iter().filter(|(code, _)| *code == 200).count();
    let busy: Vec<_> = answered.iter().filter(|(code, _)| *code == 503).collect();
    assert!((1..=2).contains(&ok), "at most the two slots are served: {answered:?}");
    assert_eq!(ok + busy.len(), 8, "{answered:?}");
    assert!(
        busy.iter().all(|(_, after)| *after == Some(1)),
        "503s say when to retry: {answered:?}"
    );
    assert_eq!(server.metric("opentoken_api_busy_total"), busy.len() as f64);
    let ticked = ticks.load(Ordering::SeqCst);
    assert!(
        ticked >= 60,
        "the async workers stayed free for other tasks: {ticked} ticks of 10 ms in ~1.5 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_whole_state_rate_gets_429_with_retry_after() {
    let server = Server::start(ApiLimits {
        heavy_per_minute: 60,
        heavy_burst: 2,
        ..ApiLimits::default()
    })
    .await;
    assert_eq!(server.get("/consensus").await.status(), 200);
    assert_eq!(server.get("/coin").await.status(), 200);
    for path in ["/consensus", "/v1/state/nodes", "/v1/snapshots/100"] {
        let r = server.get(path).await;
        assert_eq!(
            r.status(),
            429,
            "{path}: the burst is spent across the whole-state routes"
        );
        assert_eq!(retry_after(&r), Some(1), "{path}: one token a second");
        assert!(has_request_id(&r), "{path}: a 429 has a request id");
    }
    assert_eq!(
        server.get("/stats").await.status(),
        200,
        "cheap routes are not rate limited"
    );
    assert_eq!(server.metric("opentoken_api_rate_limited_total"), 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_slower_than_the_timeout_gets_504_and_the_node_still_answers() {
    let server = Server::start(ApiLimits {
        timeout: Duration::from_millis(300),
        ..no_rate_limit()
    })
    .await;
    server.delay(2000);
    let started = Instant::now();
    let r = server.get("/v1/state/nodes").await;
    assert_eq!(r.status(), 504);
    assert!(has_request_id(&r), "a 504 has a request id");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    let body = r.text().await.expect("body");
    assert!(body.contains("--api-timeout-secs"), "{body}");
    assert_eq!(server.get("/healthz").await.status(), 200);
    assert_eq!(server.metric("opentoken_api_timeouts_total"), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_on_requests_in_flight_refuses_beyond_it_but_never_the_probes() {
    let server = Arc::new(
        Server::start(ApiLimits {
            max_in_flight: 2,
            heavy_concurrency: 8,
            ..no_rate_limit()
        })
        .await,
    );
    server.delay(1500);
    let mut slow = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let server = server.clone();
        slow.spawn(async move { server.get("/consensus").await.status().as_u16() });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = server.get("/stats").await;
    assert_eq!(r.status(), 503, "the third request in flight is refused");
    assert_eq!(retry_after(&r), Some(1));
    assert!(has_request_id(&r), "a 503 has a request id");
    assert_eq!(server.get("/healthz").await.status(), 200, "probes are exempt");
    assert_eq!(server.get("/metrics").await.status(), 200, "probes are exempt");
    while let Some(code) = slow.join_next().await {
        assert_eq!(code.expect("task"), 200);
    }
    assert_eq!(
        server.get("/stats").await.status(),
        200,
        "served again once they are done"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_above_the_limit_are_refused() {
    let server = Server::start(ApiLimits {
        max_body_bytes: 64,
        ..ApiLimits::default()
    })
    .await;
    let r = server
        .http
        .get(format!("{}/stats", server.base))
        .body(vec![b'x'; 4096])
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 413);
    assert!(has_request_id(&r), "a 413 has a request id");
}

async fn cors_answer(server: &Server, origin: &str) -> (Option<String>, Option<String>) {
    let header =
        |r: &reqwest::Response, name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let get = server
        .http
        .get(format!("{}/stats", server.base))
        .header("origin", origin)
        .send()
        .await
        .expect("answer");
    let preflight = server
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/@alice", server.base))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("answer");
    let allowed = header(&get, "access-control-allow-origin");
    assert_eq!(
        allowed,
        header(&preflight, "access-control-allow-origin"),
        "a preflight and a GET agree"
    );
    (allowed, header(&preflight, "access-control-allow-methods"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_headers_follow_the_configured_origins() {
    let any = Server::start(ApiLimits::default()).await;
    let (origin, methods) = cors_answer(&any, "https://wallet.example").await;
    assert_eq!(
        origin.as_deref(),
        Some("*"),
        "the default lets any page read public data"
    );
    let methods = methods.expect("preflight lists methods");
    assert!(methods.contains("GET") && !methods.contains("POST"), "{methods}");

    let only = Server::start(ApiLimits {
        cors: "https://wallet.example".parse().expect("origin"),
        ..ApiLimits::default()
    })
    .await;
    let (origin, _) = cors_answer(&only, "https://wallet.example").await;
    assert_eq!(origin.as_deref(), Some("https://wallet.example"));
    let (origin, _) = cors_answer(&only, "https://evil.example").await;
    assert_eq!(origin, None, "an unlisted origin gets no CORS headers");

    let none = Server::start(ApiLimits {
        cors: CorsOrigins::None,
        ..ApiLimits::default()
    })
    .await;
    let (origin, _) = cors_answer(&none, "https://wallet.example").await;
    assert_eq!(origin, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_snapshot_is_encoded_once_and_then_served_from_the_cache() {
    let server = Server::start(no_rate_limit()).await;
    let first = server.get("/v1/snapshots/100").await;
    assert_eq!(first.status(), 200);
    assert_eq!(
        first.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let first = first.text().await.expect("body");
    let reads_after_first = server.store.snapshot_reads.load(Ordering::SeqCst);
    assert_eq!(reads_after_first, 2, "one read per module");
    let second = server.get("/v1/snapshots/100").await.text().await.expect("body");
    assert_eq!(first, second);
    assert_eq!(
        server.metric("opentoken_api_snapshot_encodes_total"),
        1.0,
        "encoded once"
    );
    assert_eq!(
        server.store.snapshot_reads.load(Ordering::SeqCst),
        reads_after_first,
        "the second request read nothing from the store"
    );
    let doc: SnapshotDoc = serde_json::from_str(&first).expect("a snapshot document");
    assert_eq!((doc.block, doc.modules.len()), (100, 2));
    let token = hex::decode(&doc.modules[0].snapshot).expect("hex");
    let token = opentoken_store::decode_snapshot(&token).expect("a snapshot");
    assert_eq!(token.pairs.get(b"token".as_slice()), Some(&b"v".to_vec()));

    assert_eq!(server.get("/v1/snapshots/7").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_and_errors_never_show_a_backends_url_or_credentials() {
    let server = Server::start(ApiLimits::default()).await;
    server.telemetry.set_not_ready_with_detail(
        "ingester",
        "Hive API unavailable; retrying (the error is in the node's log; check --hive-api)",
        "error sending request for url (http://user:pass@hive.example:8091/)",
    );
    let r = server.get("/readyz").await;
    assert_eq!(r.status(), 503);
    let body = r.text().await.expect("body");
    assert!(body.contains("Hive API unavailable"), "{body}");
    assert!(!body.contains("user:pass") && !body.contains("hive.example"), "{body}");

    server.store.failing.store(true, Ordering::SeqCst);
    let r = server.get("/@alice").await;
    assert_eq!(r.status(), 503);
    let body = r.text().await.expect("body");
    assert!(body.contains("reading account alice"), "says what failed: {body}");
    assert!(!body.contains("hunter2") && !body.contains("db.internal"), "{body}");
}
