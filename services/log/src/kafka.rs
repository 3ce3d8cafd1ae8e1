//! The Kafka backend of the `Log` trait (rdkafka, vendored librdkafka).
//!
//! Every topic has one partition: a module's blocks must be read in order, and dense
//! offsets from 0 are what processors commit with their state. The producer is idempotent
//! with `acks=all`, so a retried send never duplicates or reorders a record within a
//! session; a record published twice by two ingesters (or by one restarted mid-batch) is a
//! real duplicate, which processors drop by block number.
//!
//! Offsets are managed by the caller: `read` seeks to the offset the caller asks for. The
//! consumer group offsets this backend commits (`commit_hint`) only tell operators how far
//! a role has come (`kafka-consumer-groups --describe`); nothing reads them back.

use crate::trace::{self, HEADER_TRACEPARENT};
use crate::{KeyValue, Log, LogError, LogRecord, RecordTraces, TopicBatch};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Header names every record carries, so that a third party can route and decode records
/// without knowing opentoken: the Avro schema (by name and by the Rabin fingerprint that
/// the single-object encoding also carries), the encoding, and the writer.
pub const HEADER_CONTENT_TYPE: &str = "content-type";
pub const HEADER_SCHEMA: &str = "opentoken.schema";
pub const HEADER_FINGERPRINT: &str = "opentoken.schema-fingerprint";
pub const CONTENT_TYPE: &str = "application/vnd.apache.avro+binary; encoding=single-object";

/// How to reach the broker, and how long to wait for it per call.
#[derive(Clone)]
pub struct KafkaConfig {
    /// `host:port[,host:port]`.
    pub brokers: String,
    /// A name for this client in broker logs and consumer groups (`<community>.<role>`).
    pub client_id: String,
    /// How long one append may wait for the broker before it fails (the caller retries).
    pub request_timeout: Duration,
    /// Extra librdkafka properties (`security.protocol`, `sasl.*`, ...).
    pub extra: Vec<(String, String)>,
}

/// The extra properties by name only: their values may be credentials (`sasl.password`).
impl std::fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let extra: Vec<&str> = self.extra.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("KafkaConfig")
            .field("brokers", &self.brokers)
            .field("client_id", &self.client_id)
            .field("request_timeout", &self.request_timeout)
            .field("extra", &extra)
            .finish()
    }
}

impl KafkaConfig {
    pub fn new(brokers: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            client_id: client_id.into(),
            request_timeout: Duration::from_secs(15),
            extra: Vec::new(),
        }
    }

    fn base(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("socket.keepalive.enable", "true")
            .set("reconnect.backoff.ms", "100")
            .set("reconnect.backoff.max.ms", "5000");
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        c
    }
}

/// A topic definition from `infra/kafka/topics.json`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TopicSpec {
    /// The name with `{community}` and `{module}` placeholders.
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    #[serde(default)]
    pub config: std::collections::BTreeMap<String, String>,
}

/// The topic definitions file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TopicDefinitions {
    pub topics: Vec<TopicSpec>,
}

impl TopicDefinitions {
    pub fn parse(text: &str) -> Result<Self, LogError> {
        let defs: TopicDefinitions = serde_json::from_str(text).map_err(|e| LogError::Backend {
            op: "parse topic definitions",
            topic: String::new(),
            detail: e.to_string(),
        })?;
        for t in &defs.topics {
            if t.partitions != 1 {
                return Err(LogError::Backend {
                    op: "parse topic definitions",
                    topic: t.name.clone(),
                    detail: "opentoken topics must have exactly 1 partition (records are read in order by offset)"
                        .into(),
                });
            }
        }
        Ok(defs)
    }

    /// The concrete topics for a community and its modules.
    pub fn expand(&self, community: &str, modules: &[&str]) -> Vec<TopicSpec> {
        let mut out = Vec::new();
        for t in &self.topics {
            let named = t.name.replace("{community}", community);
            if named.contains("{module}") {
                for m in modules {
                    out.push(TopicSpec {
                        name: named.replace("{module}", m),
                        ..t.clone()
                    });
                }
            } else {
                out.push(TopicSpec {
                    name: named,
                    ..t.clone()
                });
            }
        }
        out
    }
}

/// The topic definitions shipped in `infra/kafka/topics.json`.
pub const DEFAULT_TOPICS: &str = include_str!("../../../infra/kafka/topics.json");

/// Routes librdkafka's logs and errors to `tracing` at levels that mean something here:
/// reaching the end of a partition is how every read ends (debug), a broker that is away
/// is an outage the roles wait out (warn).
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl ClientContext for Quiet {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::warn!(target: "librdkafka", "{fac}: {msg}")
            }
            RDKafkaLogLevel::Warning | RDKafkaLogLevel::Notice => tracing::info!(target: "librdkafka", "{fac}: {msg}"),
            _ => tracing::debug!(target: "librdkafka", "{fac}: {msg}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match error {
            // librdkafka also reports the end of a partition as a global "error".
            KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF) => {
                tracing::debug!(target: "librdkafka", "{reason}")
            }
            KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure)
            | KafkaError::Global(RDKafkaErrorCode::AllBrokersDown) => {
                tracing::warn!(target: "librdkafka", "broker unreachable: {reason}")
            }
            e => tracing::error!(target: "librdkafka", "{e}: {reason}"),
        }
    }
}

impl ConsumerContext for Quiet {}

type Consumer_ = BaseConsumer<Quiet>;
type Producer_ = FutureProducer<Quiet>;

struct Reader {
    consumer: Consumer_,
    /// The offset the next polled message will have.
    next: Option<u64>,
    /// The last poll reached the end of the partition: an empty poll now means "nothing new".
    at_end: bool,
    /// Since when the broker holds records past `next` that have not arrived: a slow broker
    /// (tansu on sqlite takes seconds for a large fetch) is given the request timeout before
    /// the reader seeks again, because a seek drops the fetch in flight and starts it over.
    waiting_since: Option<Instant>,
}

pub struct KafkaLog {
    cfg: KafkaConfig,
    /// Replaced when librdkafka reports a fatal idempotence error (e.g. a broker that lost
    /// its producer state in a restart): a new producer gets a new producer id.
    producer: Mutex<Producer_>,
    /// One consumer per topic read, positioned where the last read ended.
    readers: Mutex<HashMap<String, Reader>>,
    /// One consumer per group whose offsets are committed as hints.
    hints: Mutex<HashMap<String, Consumer_>>,
    /// Maps a single-object Avro record to its schema name, for the headers.
    schema_names: fn(&[u8]) -> Option<&'static str>,
}

/// The config (credentials hidden by its Debug) and the topics being read, when that lock is
/// free (never waits: a read may be logging while it holds it); not the clients.
impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reading: Option<BTreeSet<String>> = self.readers.try_lock().ok().map(|r| r.keys().cloned().collect());
        f.debug_struct("KafkaLog")
            .field("cfg", &self.cfg)
            .field("reading", &reading)
            .finish_non_exhaustive()
    }
}

fn unavailable(op: &'static str, topic: &str, e: impl std::fmt::Display) -> LogError {
    LogError::Unavailable(format!(
        "Kafka {op} on topic {topic} failed: {e}; is the broker reachable (--kafka-brokers)?"
    ))
}

impl KafkaLog {
    /// Connects lazily (librdkafka connects in the background). `schema_names` maps a
    /// record's single-object header to its Avro schema name for the headers.
    pub fn new(cfg: KafkaConfig, schema_names: fn(&[u8]) -> Option<&'static str>) -> Result<Self, LogError> {
        let producer = Self::producer(&cfg)?;
        Ok(Self {
            cfg,
            producer: Mutex::new(producer),
            readers: Mutex::new(HashMap::new()),
            hints: Mutex::new(HashMap::new()),
            schema_names,
        })
    }

    fn producer(cfg: &KafkaConfig) -> Result<Producer_, LogError> {
        let timeout_ms = cfg.request_timeout.as_millis().to_string();
        cfg.base()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("max.in.flight.requests.per.connection", "5")
            .set("linger.ms", "5")
            .set("message.timeout.ms", &timeout_ms)
            .create_with_context(Quiet)
            .map_err(|e| unavailable("producer setup", "-", e))
    }

    fn consumer(&self, group: &str) -> Result<Consumer_, LogError> {
        self.cfg
            .base()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true")
            // Never jump silently: reading below the first retained record is an error.
            .set("auto.offset.reset", "error")
            .set("fetch.wait.max.ms", "50")
            .set("session.timeout.ms", "10000")
            .create_with_context(Quiet)
            .map_err(|e| unavailable("consumer setup", group, e))
    }

    /// Creates the topics that do not exist yet; existing ones are left as they are.
    pub fn ensure_topics(&self, topics: &[TopicSpec]) -> Result<Vec<String>, LogError> {
        let admin: AdminClient<DefaultClientContext> = self
            .cfg
            .base()
            .create()
            .map_err(|e| unavailable("admin setup", "-", e))?;
        let new: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|t| {
                let mut n = NewTopic::new(&t.name, t.partitions, TopicReplication::Fixed(t.replication_factor));
                for (k, v) in &t.config {
                    n = n.set(k, v);
                }
                n
            })
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(self.cfg.request_timeout));
        let results =
            block_on(admin.create_topics(new.iter(), &opts)).map_err(|e| unavailable("create topics", "-", e))?;
        let mut created = Vec::new();
        for r in results {
            match r {
                Ok(name) => created.push(name),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => return Err(unavailable("create topic", &name, code)),
            }
        }
        Ok(created)
    }

    fn headers(&self, value: &[u8], trace: Option<&crate::TraceContext>) -> OwnedHeaders {
        let mut h = OwnedHeaders::new().insert(Header {
            key: HEADER_CONTENT_TYPE,
            value: Some(CONTENT_TYPE),
        });
        if let Some(t) = trace {
            h = h.insert(Header {
                key: HEADER_TRACEPARENT,
                value: Some(&t.traceparent()),
            });
        }
        if value.len() >= 10 && value[0] == 0xC3 && value[1] == 0x01 {
            h = h.insert(Header {
                key: HEADER_FINGERPRINT,
                value: Some(&hex::encode(&value[2..10])),
            });
            if let Some(name) = (self.schema_names)(value) {
                h = h.insert(Header {
                    key: HEADER_SCHEMA,
                    value: Some(name),
                });
            }
        }
        h
    }

    /// The record headers of one record, for tests and tools.
    pub fn read_headers(&self, topic: &str, offset: u64) -> Result<Vec<(String, String)>, LogError> {
        let consumer = self.consumer(&format!("{}.headers", self.cfg.client_id))?;
        assign(&consumer, topic, offset)?;
        let deadline = Instant::now() + self.cfg.request_timeout;
        while Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) if m.offset() as u64 == offset => {
                    let mut out = Vec::new();
                    if let Some(h) = m.headers() {
                        for hd in h.iter() {
                            out.push((
                                hd.key.to_string(),
                                String::from_utf8_lossy(hd.value.unwrap_or_default()).into_owned(),
                            ));
                        }
                    }
                    return Ok(out);
                }
                Some(Err(KafkaError::PartitionEOF(_))) => break,
                _ => {}
            }
        }
        Err(unavailable(
            "read headers",
            topic,
            format!("no record at offset {offset}"),
        ))
    }
}

fn assign(consumer: &Consumer_, topic: &str, offset: u64) -> Result<(), LogError> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(offset as i64))
        .map_err(|e| unavailable("assign", topic, e))?;
    consumer.assign(&tpl).map_err(|e| unavailable("assign", topic, e))
}

/// Runs a future to completion on this thread; rdkafka's futures are completed by its own
/// background threads, so this needs no runtime.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

impl Log for KafkaLog {
    fn append(&self, batch: &[TopicBatch]) -> Result<(), LogError> {
        self.append_traced(batch, RecordTraces::None)
    }

    fn append_traced(&self, batch: &[TopicBatch], traces: RecordTraces<'_>) -> Result<(), LogError> {
        let producer = self
            .producer
            .lock()
            .map_err(|_| unavailable("produce", "-", "producer lock poisoned"))?
            .clone();
        let result = self.append_with(&producer, batch, traces);
        if result.is_err() {
            if let Some((code, why)) = producer.client().fatal_error() {
                tracing::warn!(?code, why, "Kafka producer hit a fatal error; replacing it");
                let fresh = Self::producer(&self.cfg)?;
                if let Ok(mut p) = self.producer.lock() {
                    *p = fresh;
                }
            }
        }
        result
    }
    fn read(&self, topic: &str, from: u64, max: usize) -> Result<Vec<LogRecord>, LogError> {
        let mut readers = self
            .readers
            .lock()
            .map_err(|_| unavailable("read", topic, "reader lock poisoned"))?;
        if !readers.contains_key(topic) {
            let consumer = self.consumer(&format!("{}.reader", self.cfg.client_id))?;
            readers.insert(
                topic.to_string(),
                Reader {
                    consumer,
                    next: None,
                    at_end: false,
                    waiting_since: None,
                },
            );
        }
        let reader = readers
            .get_mut(topic)
            .ok_or_else(|| unavailable("read", topic, "reader missing"))?;
        if reader.next != Some(from) {
            assign(&reader.consumer, topic, from)?;
            reader.next = Some(from);
            reader.at_end = false;
            reader.waiting_since = None;
        }
        let mut out = Vec::new();
        let started = Instant::now();
        // Messages arrive in fetch batches; stop at the end of the partition, at `max`, or
        // when the broker has been silent for a while (then ask it where the end is).
        while out.len() < max {
            match reader.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    let offset = m.offset() as u64;
                    if offset < from {
                        continue;
                    }
                    out.push(LogRecord {
                        offset,
                        key: m.key().unwrap_or_default().to_vec(),
                        value: m.payload().unwrap_or_default().to_vec(),
                        trace: m
                            .headers()
                            .and_then(|h| trace::from_headers(h.iter().map(|h| (h.key, h.value)))),
                    });
                    reader.next = Some(offset + 1);
                    reader.at_end = false;
                    reader.waiting_since = None;
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    reader.at_end = true;
                    break;
                }
                Some(Err(e)) => {
                    reader.next = None;
                    if matches!(
                        e,
                        KafkaError::MessageConsumption(RDKafkaErrorCode::OffsetOutOfRange)
                            | KafkaError::MessageConsumption(RDKafkaErrorCode::AutoOffsetReset)
                    ) {
                        return Err(LogError::Backend {
                            op: "fetch",
                            topic: topic.to_string(),
                            detail: format!(
                                "offset {from} is no longer on the broker ({e}); the topic lost records (check its retention): rebuild from a complete copy of the log"
                            ),
                        });
                    }
                    return Err(unavailable("fetch", topic, e));
                }
                None if out.is_empty() && started.elapsed() > Duration::from_millis(1500) => {
                    // Nothing and no end-of-partition: either the topic is empty/unknown or
                    // the broker is away. The watermarks tell which.
                    let end = watermark(&reader.consumer, topic, self.cfg.request_timeout)?;
                    if end > from {
                        // Records exist but did not arrive yet. Seeking again at once would
                        // cancel a slow fetch and start it over, forever (the Kafka bench's
                        // stall): keep the fetch going, and reposition only when nothing has
                        // come for the request timeout (a consumer stuck after a broker restart).
                        let since = *reader.waiting_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= self.cfg.request_timeout {
                            tracing::warn!(
                                topic,
                                from,
                                end,
                                waited_s = since.elapsed().as_secs(),
                                "the broker holds records the consumer has not received: seeking again"
                            );
                            reader.next = None;
                            reader.waiting_since = None;
                        }
                    }
                    break;
                }
                None if !out.is_empty() || reader.at_end => break,
                None => {}
            }
        }
        Ok(out)
    }

    fn commit_hint(&self, group: &str, topic: &str, next_offset: u64) -> Result<(), LogError> {
        let mut hints = self
            .hints
            .lock()
            .map_err(|_| unavailable("commit offset", topic, "lock poisoned"))?;
        if !hints.contains_key(group) {
            hints.insert(group.to_string(), self.consumer(group)?);
        }
        let consumer = hints
            .get(group)
            .ok_or_else(|| unavailable("commit offset", topic, "consumer missing"))?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Offset(next_offset as i64))
            .map_err(|e| unavailable("commit offset", topic, e))?;
        consumer
            .commit(&tpl, CommitMode::Async)
            .map_err(|e| unavailable("commit offset", topic, e))
    }

    fn end_offset(&self, topic: &str) -> Result<u64, LogError> {
        {
            let readers = self
                .readers
                .lock()
                .map_err(|_| unavailable("watermarks", topic, "reader lock poisoned"))?;
            if let Some(r) = readers.get(topic) {
                return watermark(&r.consumer, topic, self.cfg.request_timeout);
            }
        }
        let consumer = self.consumer(&format!("{}.reader", self.cfg.client_id))?;
        watermark(&consumer, topic, self.cfg.request_timeout)
    }
}

/// The offset the next record of `topic` will get (0 for a topic that does not exist).
fn watermark(consumer: &Consumer_, topic: &str, timeout: Duration) -> Result<u64, LogError> {
    match consumer.fetch_watermarks(topic, 0, timeout) {
        Ok((_, high)) => Ok(high.max(0) as u64),
        Err(KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopicOrPartition))
        | Err(KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownPartition)) => Ok(0),
        Err(e) => Err(unavailable("watermarks", topic, e)),
    }
}

impl KafkaLog {
    fn append_with(
        &self,
        producer: &Producer_,
        batch: &[TopicBatch],
        traces: RecordTraces<'_>,
    ) -> Result<(), LogError> {
        let mut pending = Vec::new();
        for (t, (topic, records)) in batch.iter().enumerate() {
            for (r, (key, value)) in records.iter().map(|(k, v): &KeyValue| (k, v)).enumerate() {
                let mut record = FutureRecord::to(topic)
                    .key(key.as_slice())
                    .payload(value.as_slice())
                    .partition(0)
                    .headers(self.headers(value, traces.get(t, r)));
                loop {
                    match producer.send_result(record) {
                        Ok(delivery) => {
                            pending.push((topic, delivery));
                            break;
                        }
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                            record = r;
                            producer.poll(Duration::from_millis(10));
                        }
                        Err((e, _)) => return Err(unavailable("produce", topic, e)),
                    }
                }
            }
        }
        // Wait for every acknowledgement: append returns only when all are durable (acks=all).
        let mut first_error = None;
        // Where each traced topic's records landed, as an event of the writer's span.
        let mut landed: Vec<(&String, i64, i64)> = Vec::new();
        for (topic, delivery) in pending {
            match block_on(delivery) {
                Ok(Ok(d)) if !traces.is_none() => match landed.last_mut() {
                    Some((t, _, last)) if *t == topic => *last = d.offset,
                    _ => landed.push((topic, d.offset, d.offset)),
                },
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => {
                    first_error.get_or_insert_with(|| unavailable("produce", topic, e));
                }
                Err(_) => {
                    first_error.get_or_insert_with(|| unavailable("produce", topic, "delivery cancelled"));
                }
            }
        }
        for (topic, first, last) in landed {
            tracing::info!(target: "opentoken::trace", topic = %topic, offset.first = first, offset.last = last, "appended");
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for KafkaLog {
    fn drop(&mut self) {
        if let Ok(p) = self.producer.lock() {
            let _ = p.flush(Duration::from_secs(5));
        }
    }
}
