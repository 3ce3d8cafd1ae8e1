//! OpenTelemetry export: the roles' trace spans and this crate's metrics over OTLP
//! (HTTP/protobuf), for operators who run a collector; `/metrics` stays as it is.
//!
//! Nothing is exported, and nothing costs anything, unless an endpoint is configured with
//! the standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, or the per-signal
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`;
//! `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` name the process, `OTEL_SDK_DISABLED`
//! turns everything off). The spans are `tracing` spans of the target [`TARGET`]: disabled
//! for every layer when not exporting, and never written to the node's log.
//!
//! A collector that is away must never stop or slow the node: spans go to a bounded queue
//! (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048 by default) emptied by the SDK's own thread, which drops
//! (and logs that it dropped) what does not fit; metrics are read by another thread on its
//! own schedule. [`OtelGuard`] flushes both when the process ends, within a bounded time.
//!
//! Across processes a span's context travels in the log's records (W3C `traceparent`,
//! [`opentoken_log::trace`]): [`current_trace`] is what a writer attaches, [`follow`] makes a
//! reader's span a child of it. That context is observability only, never consensus data.

use crate::Telemetry;
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use opentoken_log::TraceContext;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use thiserror::Error;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The `tracing` target of every span (and span event) meant for OpenTelemetry. The node's
/// log filters it out; the OpenTelemetry layer takes nothing else.
pub const TARGET: &str = "opentoken::trace";

/// How long the end of the process waits for each provider's last export.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// Why the exporters could not be set up (a malformed endpoint or header variable).
#[derive(Debug, Error)]
pub enum OtelError {
    #[error("OpenTelemetry {signal} exporter: {detail}; check the OTEL_EXPORTER_OTLP_* variables")]
    Exporter { signal: &'static str, detail: String },
}

/// Set once spans are exported: [`current_trace`] and [`follow`] do nothing before.
static TRACING: AtomicBool = AtomicBool::new(false);
/// The meter provider, once metrics are exported; [`observe`] registers on it.
static METER: OnceLock<SdkMeterProvider> = OnceLock::new();
/// Set by the first [`observe`]: the process' metrics are registered once.
static OBSERVED: AtomicBool = AtomicBool::new(false);

/// What [`init`] set up; dropping it flushes and stops the exporters.
pub struct OtelGuard {
    tracer: Option<(SdkTracerProvider, SdkTracer)>,
    meter: Option<SdkMeterProvider>,
}

impl std::fmt::Debug for OtelGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelGuard")
            .field("traces", &self.tracer.is_some())
            .field("metrics", &self.meter.is_some())
            .finish()
    }
}

/// The value of an environment variable, if set and not blank.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Whether a signal is to be exported: an endpoint for it (or for all) is configured, and
/// neither the SDK nor the signal's exporter is turned off.
fn wanted(signal_endpoint: &str, exporter_var: &str) -> bool {
    if env("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return false;
    }
    if env(exporter_var).is_some_and(|v| v.eq_ignore_ascii_case("none")) {
        return false;
    }
    env("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() || env(signal_endpoint).is_some()
}

/// The process as the collector sees it: `service.name` from `OTEL_SERVICE_NAME` or
/// `OTEL_RESOURCE_ATTRIBUTES`, else `default_service` (`opentoken-<role>`, so that the
/// roles of one node are told apart), plus `OTEL_RESOURCE_ATTRIBUTES`, the role, the
/// version and the process id.
fn resource(default_service: &str, role: &str) -> Resource {
    let named = env("OTEL_SERVICE_NAME").is_some()
        || env("OTEL_RESOURCE_ATTRIBUTES")
            .is_some_and(|a| a.split(',').any(|kv| kv.trim().starts_with("service.name=")));
    let mut b = Resource::builder().with_attributes([
        KeyValue::new("opentoken.role", role.to_string()),
        KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
        KeyValue::new("process.pid", i64::from(std::process::id())),
    ]);
    if !named {
        b = b.with_service_name(default_service.to_string());
    }
    b.build()
}

/// Sets up the exporters the environment asks for; `None` when it asks for none (then
/// nothing of this module costs anything). Call before any async runtime exists: the
/// exporters' HTTP client is a blocking one that runs on the SDK's own threads.
pub fn init(role: &str) -> Result<Option<OtelGuard>, OtelError> {
    let traces = wanted("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER");
    let metrics = wanted("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_METRICS_EXPORTER");
    if !traces && !metrics {
        return Ok(None);
    }
    let resource = resource(&format!("opentoken-{role}"), role);
    let tracer = if traces {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(|e| OtelError::Exporter {
                signal: "traces",
                detail: e.to_string(),
            })?;
        // The batch processor's queue is bounded (OTEL_BSP_* variables): a span that does
        // not fit is dropped, never waited for.
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.clone())
            .build();
        let tracer = provider.tracer("opentoken");
        TRACING.store(true, Ordering::Release);
        Some((provider, tracer))
    } else {
        None
    };
    let meter = if metrics {
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .build()
            .map_err(|e| OtelError::Exporter {
                signal: "metrics",
                detail: e.to_string(),
            })?;
        // Read every OTEL_METRIC_EXPORT_INTERVAL (60 s by default) on the reader's thread.
        let provider = SdkMeterProvider::builder()
            .with_periodic_exporter(exporter)
            .with_resource(resource)
            .build();
        let _ = METER.set(provider.clone());
        Some(provider)
    } else {
        None
    };
    Ok(Some(OtelGuard { tracer, meter }))
}

impl OtelGuard {
    /// The `tracing` layer that turns the spans of [`TARGET`] into OpenTelemetry spans;
    /// `None` when traces are not exported.
    pub fn layer<S>(&self) -> Option<impl Layer<S>>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        let (_, tracer) = self.tracer.as_ref()?;
        Some(
            tracing_opentelemetry::layer()
                .with_tracer(tracer.clone())
                .with_filter(Targets::new().with_target(TARGET, tracing::Level::INFO)),
        )
    }
}

/// Flushes what is queued, both signals at once, and returns within about
/// [`SHUTDOWN_WAIT`] even when the collector does not answer (what is not exported by then
/// is lost, and said so).
impl Drop for OtelGuard {
    fn drop(&mut self) {
        TRACING.store(false, Ordering::Release);
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let mut pending = 0;
        if let Some((provider, _)) = self.tracer.take() {
            pending += 1;
            let done = done.clone();
            std::thread::spawn(move || {
                if let Err(e) = provider.shutdown_with_timeout(SHUTDOWN_WAIT) {
                    tracing::warn!(error = %e, "OpenTelemetry: the last spans were not all exported");
                }
                let _ = done.send(());
            });
        }
        if let Some(provider) = self.meter.take() {
            pending += 1;
            std::thread::spawn(move || {
                if let Err(e) = provider.shutdown_with_timeout(SHUTDOWN_WAIT) {
                    tracing::warn!(error = %e, "OpenTelemetry: the last metrics were not exported");
                }
                let _ = done.send(());
            });
        }
        let deadline = std::time::Instant::now() + SHUTDOWN_WAIT + Duration::from_millis(500);
        for _ in 0..pending {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if wait.recv_timeout(left).is_err() {
                tracing::warn!("OpenTelemetry: the exporters did not finish in time; exiting without them");
                break;
            }
        }
    }
}

/// A count or block number as a span attribute: OpenTelemetry has no unsigned integers (a
/// `u64` field would arrive as a string), and no block number or offset reaches `i64::MAX`.
pub fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Whether spans are exported (so that a caller can skip work that only feeds them).
pub fn tracing_enabled() -> bool {
    TRACING.load(Ordering::Acquire)
}

/// The trace context of the current span, to attach to records written under it; `None`
/// when spans are not exported or no exported span is current.
pub fn current_trace() -> Option<TraceContext> {
    if !tracing_enabled() {
        return None;
    }
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return None;
    }
    TraceContext::new(
        sc.trace_id().to_bytes(),
        sc.span_id().to_bytes(),
        sc.trace_flags().to_u8(),
    )
}

fn remote(parent: &TraceContext) -> SpanContext {
    SpanContext::new(
        TraceId::from_bytes(parent.trace_id()),
        SpanId::from_bytes(parent.span_id()),
        TraceFlags::new(parent.flags()),
        true,
        TraceState::default(),
    )
}

/// Makes `span` (not yet entered) a child of `parent`, a context read from a record: the
/// span joins the trace of the process that wrote the record.
pub fn follow(span: &tracing::Span, parent: &TraceContext) {
    if !tracing_enabled() || span.is_disabled() {
        return;
    }
    if let Err(e) = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote(parent))) {
        tracing::debug!(error = %e, "span not attached to its remote parent");
    }
}

/// Links `span` to another trace it also continues (a commit that covers blocks of several
/// ingested batches).
pub fn link(span: &tracing::Span, other: &TraceContext) {
    if !tracing_enabled() || span.is_disabled() {
        return;
    }
    span.add_link(remote(other));
}

/// The OTLP name of a metric: the Prometheus name without the `_total` that Prometheus
/// exporters add back to counters.
fn otlp_name(d: &crate::Descriptor) -> &'static str {
    match d.kind {
        crate::Kind::Counter => d.name.strip_suffix("_total").unwrap_or(d.name),
        crate::Kind::Gauge => d.name,
    }
}

/// Exports every declared metric ([`crate::metrics::all`]) of `telemetry` as an observable
/// instrument reading the same values `/metrics` renders (counters as cumulative sums,
/// gauges as gauges, the label as an attribute). Does nothing when metrics are not
/// exported, and registers only once per process.
pub fn observe(telemetry: &Arc<Telemetry>) {
    let Some(provider) = METER.get() else { return };
    if OBSERVED.swap(true, Ordering::AcqRel) {
        return;
    }
    register(&provider.meter("opentoken"), telemetry);
}

/// The instruments stay registered for the life of the meter provider; their handles are
/// kept here so that nothing depends on how the SDK treats a dropped one.
static INSTRUMENTS: Mutex<Vec<Box<dyn std::any::Any + Send + Sync>>> = Mutex::new(Vec::new());

fn register(meter: &Meter, telemetry: &Arc<Telemetry>) {
    let mut kept: Vec<Box<dyn std::any::Any + Send + Sync>> = Vec::new();
    for d in crate::metrics::all() {
        // A strong reference: the last export, when the process ends, reads the final values
        // after the roles have let go of theirs.
        let t = Arc::clone(telemetry);
        let read = move || -> Vec<(Vec<KeyValue>, f64)> {
            t.series(d.name)
                .into_iter()
                .map(|(label_value, v)| {
                    let attrs = match d.label {
                        Some(label) => vec![KeyValue::new(label, label_value)],
                        None => Vec::new(),
                    };
                    (attrs, v)
                })
                .collect()
        };
        match d.kind {
            crate::Kind::Counter => kept.push(Box::new(
                meter
                    .f64_observable_counter(otlp_name(&d))
                    .with_description(d.help)
                    .with_callback(move |o| {
                        for (attrs, v) in read() {
                            o.observe(v, &attrs);
                        }
                    })
                    .build(),
            )),
            crate::Kind::Gauge => kept.push(Box::new(
                meter
                    .f64_observable_gauge(otlp_name(&d))
                    .with_description(d.help)
                    .with_callback(move |o| {
                        for (attrs, v) in read() {
                            o.observe(v, &attrs);
                        }
                    })
                    .build(),
            )),
        }
    }
    if let Ok(mut instruments) = INSTRUMENTS.lock() {
        instruments.extend(kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_lose_their_prometheus_suffix_only() {
        let names: Vec<(&str, &str)> = crate::metrics::all().iter().map(|d| (d.name, otlp_name(d))).collect();
        assert!(
            names.contains(&("opentoken_commits_total", "opentoken_commits")),
            "{names:?}"
        );
        assert!(names.contains(&("opentoken_processed_block", "opentoken_processed_block")));
    }

    /// Without an exporter nothing is traced: no context to attach, nothing to follow.
    #[test]
    fn without_an_exporter_there_is_no_trace_context() {
        assert!(!tracing_enabled());
        assert_eq!(current_trace(), None);
        let parent =
            TraceContext::parse(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").expect("valid traceparent");
        follow(&tracing::Span::none(), &parent);
        link(&tracing::Span::none(), &parent);
        observe(&Arc::new(Telemetry::new()));
        assert!(
            !OBSERVED.load(Ordering::Acquire),
            "nothing registered without a meter provider"
        );
    }
}
