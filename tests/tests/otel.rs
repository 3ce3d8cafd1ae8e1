//! OpenTelemetry across processes: `opentoken ingest | process | process | checkpoint` as
//! separate processes on the local Kafka-compatible broker (tansu, see tests/tests/kafka.rs),
//! exporting to an OTLP/HTTP receiver in this test that decodes what it gets with the
//! official protobuf definitions (`opentelemetry-proto`).
//!
//! - one checkpoint block is followed as ONE trace: the ingester's batch, each module's
//!   processing and commit in its own processor, and the checkpointer's report, each from a
//!   process of its own (service.name, process.pid), linked parent to child through the
//!   `traceparent` header of the records, with block, module and offset attributes;
//! - the node's metrics arrive over OTLP;
//! - the trace context is no consensus data: the traced distributed run reports the hashes
//!   of an untraced embedded run;
//! - records with hostile headers (garbage, oversized, buried under many headers) are read
//!   without a trace context and without harm.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use opentoken_e2e::*;
use opentoken_log::kafka::TopicSpec;
use opentoken_log::{KafkaConfig, KafkaLog, Log};
use prost::Message;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the receiver was sent, decoded.
#[derive(Default)]
struct Received {
    traces: Mutex<Vec<ExportTraceServiceRequest>>,
    metrics: Mutex<Vec<ExportMetricsServiceRequest>>,
    /// Requests refused (wrong content type, undecodable body): the exporters must send none.
    refused: Mutex<Vec<String>>,
}

/// An OTLP/HTTP receiver (`POST /v1/traces`, `POST /v1/metrics`, `application/x-protobuf`)
/// on a random port, served by its own runtime thread for the life of the test.
struct Receiver {
    url: String,
    got: Arc<Received>,
}

fn protobuf(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-protobuf"))
}

fn answer(body: Vec<u8>) -> Answer {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/x-protobuf")], body)
}

type Answer = (StatusCode, [(header::HeaderName, &'static str); 1], Vec<u8>);

/// One export request of `what` (traces or metrics): decoded into `into`, or recorded as
/// refused (the exporters must send none such) and answered as OTLP/HTTP says.
fn receive<T: Message + Default>(
    refused: &Mutex<Vec<String>>,
    into: &Mutex<Vec<T>>,
    what: &str,
    headers: &HeaderMap,
    body: Bytes,
    ok: Vec<u8>,
) -> Answer {
    if !protobuf(headers) {
        refused
            .lock()
            .unwrap()
            .push(format!("{what} as {:?}", headers.get(header::CONTENT_TYPE)));
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            [(header::CONTENT_TYPE, "text/plain")],
            Vec::new(),
        );
    }
    match T::decode(body) {
        Ok(req) => {
            into.lock().unwrap().push(req);
            answer(ok)
        }
        Err(e) => {
            refused.lock().unwrap().push(format!("{what}: {e}"));
            (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "text/plain")],
                Vec::new(),
            )
        }
    }
}

async fn traces(State(got): State<Arc<Received>>, headers: HeaderMap, body: Bytes) -> Answer {
    let ok = ExportTraceServiceResponse::default().encode_to_vec();
    receive(&got.refused, &got.traces, "traces", &headers, body, ok)
}

async fn metrics(State(got): State<Arc<Received>>, headers: HeaderMap, body: Bytes) -> Answer {
    let ok = ExportMetricsServiceResponse::default().encode_to_vec();
    receive(&got.refused, &got.metrics, "metrics", &headers, body, ok)
}

impl Receiver {
    fn start() -> Self {
        let got = Arc::new(Received::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let url = format!("http://{}", listener.local_addr().expect("receiver address"));
        let app = axum::Router::new()
            .route("/v1/traces", post(traces))
            .route("/v1/metrics", post(metrics))
            .with_state(got.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("receiver runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                axum::serve(listener, app).await.expect("serve the receiver");
            });
        });
        Receiver { url, got }
    }
}

/// A span as received, with its resource's identity.
#[derive(Debug, Clone)]
struct Got {
    service: String,
    pid: i64,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent: Vec<u8>,
    /// The trace ids of the span's links.
    links: Vec<Vec<u8>>,
    attrs: BTreeMap<String, Value>,
}

impl Got {
    fn int(&self, key: &str) -> Option<i64> {
        match self.attrs.get(key) {
            Some(Value::IntValue(i)) => Some(*i),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> Option<&str> {
        match self.attrs.get(key) {
            Some(Value::StringValue(s)) => Some(s),
            _ => None,
        }
    }

    /// Whether the span is about block `b` (a range `block.first..=block.last`).
    fn covers(&self, b: i64) -> bool {
        matches!((self.int("block.first"), self.int("block.last")), (Some(f), Some(l)) if f <= b && b <= l)
    }
}

fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, Value> {
    kvs.iter()
        .filter_map(|kv| Some((kv.key.clone(), kv.value.as_ref()?.value.clone()?)))
        .collect()
}

fn spans(got: &Received) -> Vec<Got> {
    let mut out = Vec::new();
    for req in got.traces.lock().unwrap().iter() {
        for rs in &req.resource_spans {
            let res = attrs(
                rs.resource
                    .as_ref()
                    .map(|r| r.attributes.as_slice())
                    .unwrap_or_default(),
            );
            let service = match res.get("service.name") {
                Some(Value::StringValue(s)) => s.clone(),
                _ => String::new(),
            };
            let pid = match res.get("process.pid") {
                Some(Value::IntValue(i)) => *i,
                _ => 0,
            };
            for ss in &rs.scope_spans {
                for s in &ss.spans {
                    out.push(Got {
                        service: service.clone(),
                        pid,
                        name: s.name.clone(),
                        trace_id: s.trace_id.clone(),
                        span_id: s.span_id.clone(),
                        parent: s.parent_span_id.clone(),
                        links: s.links.iter().map(|l| l.trace_id.clone()).collect(),
                        attrs: attrs(&s.attributes),
                    });
                }
            }
        }
    }
    out
}

/// `(service.name, metric name)` -> the largest value any data point reported.
fn metric_values(got: &Received) -> BTreeMap<(String, String), f64> {
    let mut out: BTreeMap<(String, String), f64> = BTreeMap::new();
    for req in got.metrics.lock().unwrap().iter() {
        for rm in &req.resource_metrics {
            let res = attrs(
                rm.resource
                    .as_ref()
                    .map(|r| r.attributes.as_slice())
                    .unwrap_or_default(),
            );
            let Some(Value::StringValue(service)) = res.get("service.name") else {
                continue;
            };
            for sm in &rm.scope_metrics {
                for m in &sm.metrics {
                    let points = match &m.data {
                        Some(Data::Sum(s)) => &s.data_points,
                        Some(Data::Gauge(g)) => &g.data_points,
                        _ => continue,
                    };
                    for p in points {
                        let v = match p.value {
                            Some(number_data_point::Value::AsDouble(v)) => v,
                            Some(number_data_point::Value::AsInt(v)) => v as f64,
                            None => continue,
                        };
                        let e = out.entry((service.clone(), m.name.clone())).or_insert(f64::MIN);
                        *e = e.max(v);
                    }
                }
            }
        }
    }
    out
}

fn kafka(broker: &str) -> KafkaLog {
    KafkaLog::new(KafkaConfig::new(broker, "e2e-otel"), opentoken_codec::schema_name_of).expect("kafka client")
}

/// `(block, consensus hash)` of the reports on a log's reports topic (a repeat listed once).
fn reports(log: &dyn Log) -> Vec<(u64, [u8; 32])> {
    let recs = log
        .read(&devnet_spec().reports_topic(), 0, 10_000)
        .expect("read reports");
    let mut out: Vec<(u64, [u8; 32])> = Vec::new();
    for r in &recs {
        let rep = opentoken_codec::decode_report(&r.value).expect("report decodes");
        if !out.iter().any(|(b, _)| *b == rep.block) {
            out.push((rep.block, rep.consensus_hash));
        }
    }
    out
}

#[test]
fn one_checkpoint_block_is_one_trace_across_separate_processes() {
    const UNTIL: u64 = 300;
    // The block followed: a checkpoint, so every stage down to the report has a span for it.
    const BLOCK: i64 = 200;
    let receiver = Receiver::start();
    let work = Work::new();
    let (_devnet, url) = start_devnet(33, 5, 400, 0);
    // The untraced reference: what the traced run must report.
    Role::new("run")
        .data(&work, "reference")
        .args(["--hive-api", &url, "--listen", "127.0.0.1:0", "--commit-every", "50"])
        .until(UNTIL)
        .spawn()
        .wait_ok("embedded reference run", 300);

    let broker = Broker::start(&work);
    let b = broker.addr();
    let role = |subcommand, name: &str| {
        Role::new(subcommand)
            .data(&work, name)
            .kafka(&b)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url)
            // Export often, so that the test does not wait on the defaults (5 s, 60 s); the
            // roles also flush at exit.
            .env("OTEL_BSP_SCHEDULE_DELAY", "200")
            .env("OTEL_METRIC_EXPORT_INTERVAL", "500")
    };
    let mut ingest = role("ingest", "ingest")
        .args(["--hive-api", &url, "--fetch-batch", "50"])
        .until(UNTIL)
        .spawn();
    let mut process = role("process", "process")
        .args(["--module", "token", "--commit-every", "37"])
        .until(UNTIL)
        .spawn();
    let mut process_nodes = role("process", "process-nodes")
        .args(["--module", "nodes", "--commit-every", "53"])
        .until(UNTIL)
        .spawn();
    let mut checkpoint = role("checkpoint", "checkpoint").until(UNTIL).spawn();
    ingest.wait_ok("ingester", 300);
    process.wait_ok("token processor", 300);
    process_nodes.wait_ok("nodes processor", 300);
    checkpoint.wait_ok("checkpointer", 300);

    // Consensus data is untouched by the trace context the records carried.
    let log = kafka(&b);
    let (ref_log, _) = open(&work.dir("reference"));
    let want = reports(ref_log.as_ref());
    assert_eq!(want.len() as u64, UNTIL / 100);
    assert_eq!(reports(&log), want, "the traced distributed run reports other hashes");
    let ops = devnet_spec().ops_topic("token");
    let headers = log.read_headers(&ops, 0).expect("headers");
    let traceparent = headers
        .iter()
        .find(|(k, _)| k == "traceparent")
        .unwrap_or_else(|| panic!("no traceparent header on {ops}: {headers:?}"));
    assert!(
        opentoken_log::TraceContext::parse(traceparent.1.as_bytes()).is_some(),
        "{traceparent:?}"
    );
    assert!(
        log.read(&ops, 0, 10)
            .expect("read ops")
            .iter()
            .all(|r| r.trace.is_some()),
        "records read back carry their trace context"
    );

    let got = &receiver.got;
    assert!(
        got.refused.lock().unwrap().is_empty(),
        "{:?}",
        got.refused.lock().unwrap()
    );
    let all = spans(got);
    let services: BTreeSet<&str> = all.iter().map(|s| s.service.as_str()).collect();
    for s in ["opentoken-ingest", "opentoken-process", "opentoken-checkpoint"] {
        assert!(services.contains(s), "no span from {s}: {services:?}");
    }

    // The report of BLOCK, and everything in its trace.
    let report = all
        .iter()
        .find(|s| s.name == "checkpoint.report" && s.int("checkpoint.block") == Some(BLOCK))
        .unwrap_or_else(|| {
            let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for s in &all {
                *seen.entry((s.service.as_str(), s.name.as_str())).or_default() += 1;
            }
            let reports: Vec<&Got> = all.iter().filter(|s| s.name == "checkpoint.report").collect();
            panic!("no checkpoint.report span for {BLOCK}: spans by service and name {seen:?}; reports {reports:?}")
        });
    assert_eq!(report.service, "opentoken-checkpoint");
    assert!(report.int("offset").is_some(), "{report:?}");
    let modules = report.str("module").unwrap_or_default();
    assert!(modules.contains("token") && modules.contains("nodes"), "{report:?}");
    let trace: Vec<&Got> = all.iter().filter(|s| s.trace_id == report.trace_id).collect();
    let names: Vec<(&str, &str)> = trace.iter().map(|s| (s.service.as_str(), s.name.as_str())).collect();
    let by_id = |id: &[u8]| trace.iter().find(|s| s.span_id == id).copied();

    let batch = trace
        .iter()
        .find(|s| s.name == "ingest.batch" && s.covers(BLOCK))
        .unwrap_or_else(|| panic!("no ingest.batch of block {BLOCK} in the report's trace: {names:?}"));
    assert_eq!(batch.service, "opentoken-ingest");
    assert!(
        batch.parent.is_empty(),
        "the ingested batch starts the trace: {batch:?}"
    );
    assert!(batch.int("records").is_some_and(|r| r > 0), "{batch:?}");

    // Each module's processor, a process of its own, continued the batch's trace.
    let mut processors = BTreeSet::new();
    for module in ["token", "nodes"] {
        let p = trace
            .iter()
            .find(|s| s.name == "process.block" && s.covers(BLOCK) && s.str("module") == Some(module))
            .unwrap_or_else(|| panic!("no process.block of {module} at {BLOCK} in the trace: {names:?}"));
        assert_eq!(p.service, "opentoken-process");
        assert_eq!(p.parent, batch.span_id, "{module}'s processing is a child of the batch");
        assert!(p.int("offset").is_some(), "{p:?}");
        assert_eq!(p.str("topic"), Some(devnet_spec().ops_topic(module).as_str()));
        // The commit that made BLOCK durable (group commits: the first at or after it)
        // continues the trace, or links it when it began with an earlier batch's blocks.
        let commit = all
            .iter()
            .filter(|s| s.name == "process.commit" && s.pid == p.pid)
            .filter(|s| s.int("block").is_some_and(|b| b >= BLOCK))
            .min_by_key(|s| s.int("block"))
            .unwrap_or_else(|| panic!("no process.commit of {module} at or after {BLOCK}"));
        assert!(commit.int("offset.next").is_some(), "{commit:?}");
        assert_eq!(commit.str("module"), Some(module), "{commit:?}");
        if commit.trace_id == report.trace_id {
            assert_eq!(commit.parent, batch.span_id, "{commit:?}");
        } else {
            assert!(
                commit.links.contains(&report.trace_id),
                "the commit of {module} covering {BLOCK} neither continues nor links its trace: {commit:?}"
            );
        }
        processors.insert(p.pid);
    }
    assert_eq!(processors.len(), 2, "the two modules ran in two processes");
    let parent = by_id(&report.parent).unwrap_or_else(|| panic!("the report's parent is not in the trace: {report:?}"));
    assert_eq!(
        parent.name, "process.block",
        "the report continues a module's processing of {BLOCK}"
    );
    let pids: BTreeSet<i64> = trace.iter().map(|s| s.pid).collect();
    assert!(
        pids.len() >= 4,
        "ingester, two processors and the checkpointer: {pids:?}"
    );

    // The existing metrics, over OTLP (counters without Prometheus' `_total`).
    let values = metric_values(got);
    let value = |service: &str, metric: &str| values.get(&(service.to_string(), metric.to_string())).copied();
    assert_eq!(
        value("opentoken-ingest", "opentoken_ingested_block"),
        Some(UNTIL as f64),
        "{values:?}"
    );
    assert!(
        value("opentoken-ingest", "opentoken_ingested_blocks").is_some_and(|v| v > 0.0),
        "{values:?}"
    );
    assert!(
        value("opentoken-process", "opentoken_blocks_processed").is_some_and(|v| v > 0.0),
        "{values:?}"
    );
    assert_eq!(
        value("opentoken-process", "opentoken_processed_block"),
        Some(UNTIL as f64),
        "{values:?}"
    );
    assert_eq!(
        value("opentoken-checkpoint", "opentoken_checkpoint_block"),
        Some(UNTIL as f64),
        "{values:?}"
    );
}

/// `opentoken run` (every role in one process, the embedded log): the trace context goes
/// from the ingester to the processor through the embedded log (in memory) and from the
/// processor to the checkpointer in process, so one checkpoint is one trace there too.
#[test]
fn one_checkpoint_block_is_one_trace_in_the_embedded_mode() {
    const BLOCK: i64 = 200;
    let receiver = Receiver::start();
    let work = Work::new();
    let (_devnet, url) = start_devnet(34, 5, 300, 0);
    Role::new("run")
        .data(&work, "run")
        .args(["--hive-api", &url, "--listen", "127.0.0.1:0", "--commit-every", "50"])
        .env(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{}/v1/traces", receiver.url),
        )
        .env("OTEL_SERVICE_NAME", "node-under-test")
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .until(BLOCK as u64)
        .spawn()
        .wait_ok("opentoken run", 300);
    let got = &receiver.got;
    assert!(
        got.refused.lock().unwrap().is_empty(),
        "{:?}",
        got.refused.lock().unwrap()
    );
    assert!(
        got.metrics.lock().unwrap().is_empty(),
        "only traces were configured (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)"
    );
    let all = spans(got);
    assert!(
        all.iter().all(|s| s.service == "node-under-test"),
        "OTEL_SERVICE_NAME names the process"
    );
    let report = all
        .iter()
        .find(|s| s.name == "checkpoint.report" && s.int("checkpoint.block") == Some(BLOCK))
        .unwrap_or_else(|| panic!("no checkpoint.report span for {BLOCK} among {} spans", all.len()));
    let trace: Vec<&Got> = all.iter().filter(|s| s.trace_id == report.trace_id).collect();
    let names: Vec<&str> = trace.iter().map(|s| s.name.as_str()).collect();
    let batch = trace
        .iter()
        .find(|s| s.name == "ingest.batch" && s.covers(BLOCK))
        .unwrap_or_else(|| panic!("no ingest.batch of {BLOCK} in the report's trace: {names:?}"));
    let processing = trace
        .iter()
        .find(|s| s.name == "process.block" && s.covers(BLOCK))
        .unwrap_or_else(|| panic!("no process.block of {BLOCK} in the report's trace: {names:?}"));
    assert_eq!(processing.parent, batch.span_id);
    assert_eq!(
        report.parent, processing.span_id,
        "the report continues the processing of {BLOCK}"
    );
}

/// Whatever a producer puts in the headers (the topic is writable by whoever can reach the
/// broker), a read yields the record without a trace context and without harm.
#[test]
fn hostile_trace_headers_are_ignored_when_read_from_the_broker() {
    let work = Work::new();
    let broker = Broker::start(&work);
    let log = kafka(&broker.addr());
    let topic = "e2e.hostile-headers";
    log.ensure_topics(&[TopicSpec {
        name: topic.to_string(),
        partitions: 1,
        replication_factor: 1,
        config: BTreeMap::new(),
    }])
    .expect("create topic");
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.addr())
        .set("message.max.bytes", "2000000")
        .create()
        .expect("producer");
    let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let oversized = format!("{valid}{}", "x".repeat(512 * 1024));
    let binary = [0xffu8; 55];
    let mut buried = OwnedHeaders::new();
    for _ in 0..200 {
        buried = buried.insert(Header {
            key: "x",
            value: Some("y"),
        });
    }
    buried = buried.insert(Header {
        key: "traceparent",
        value: Some(valid),
    });
    let cases: Vec<(&str, Option<OwnedHeaders>)> = vec![
        ("none", None),
        (
            "garbage",
            Some(OwnedHeaders::new().insert(Header {
                key: "traceparent",
                value: Some("garbage"),
            })),
        ),
        (
            "oversized",
            Some(OwnedHeaders::new().insert(Header {
                key: "traceparent",
                value: Some(&oversized),
            })),
        ),
        (
            "binary",
            Some(OwnedHeaders::new().insert(Header {
                key: "traceparent",
                value: Some(&binary[..]),
            })),
        ),
        (
            "null",
            Some(OwnedHeaders::new().insert(Header::<&str> {
                key: "traceparent",
                value: None,
            })),
        ),
        ("buried", Some(buried)),
    ];
    let n = cases.len();
    for (name, headers) in cases {
        let mut record = FutureRecord::to(topic).key(name).payload(name).partition(0);
        if let Some(h) = headers {
            record = record.headers(h);
        }
        futures_block_on(producer.send(record, Duration::from_secs(15)))
            .unwrap_or_else(|(e, _)| panic!("produce {name}: {e}"));
    }
    // And one well-formed one, so that a reader that never parses anything fails here.
    futures_block_on(
        producer.send(
            FutureRecord::to(topic)
                .key("valid")
                .payload("valid")
                .partition(0)
                .headers(OwnedHeaders::new().insert(Header {
                    key: "traceparent",
                    value: Some(valid),
                })),
            Duration::from_secs(15),
        ),
    )
    .unwrap_or_else(|(e, _)| panic!("produce valid: {e}"));
    let recs = log.read(topic, 0, 100).expect("read");
    assert_eq!(recs.len(), n + 1);
    for r in &recs[..n] {
        assert_eq!(r.trace, None, "record {:?}", String::from_utf8_lossy(&r.key));
        assert_eq!(r.key, r.value, "the record itself is intact");
    }
    assert_eq!(recs[n].trace.map(|t| t.traceparent()), Some(valid.to_string()));
}

/// rdkafka's delivery futures are completed by its own threads: no runtime needed.
fn futures_block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}
