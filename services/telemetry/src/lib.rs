//! Process-local metrics (Prometheus text format) and readiness.
//!
//! Every role in a process reports into one `Telemetry`; the API renders it on `/metrics`
//! and answers `/readyz` from it. Nothing here reaches consensus state. Which metrics exist,
//! with their names and help texts, is declared once per role in [`metrics`].
//!
//! `/readyz` is public (load balancers, monitors, anyone), so a readiness reason is split
//! in two: what anyone may read, and the detail (an error naming a broker, a Hive API URL
//! that may embed credentials, a ScyllaDB URI) that only goes to the node's log.

mod metric;
pub mod metrics;
pub mod otel;
mod readiness;

pub use metric::{Counter, Descriptor, Gauge, LabelledCounter, LabelledGauge};
use readiness::Reason;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// The Prometheus type of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// One metric family: its help and type once, and its series.
#[derive(Debug, Clone)]
struct Family {
    help: &'static str,
    kind: Kind,
    /// The label telling the series apart; `None` for a family of one series.
    label: Option<&'static str>,
    /// Each series' value by label value (the one series of an unlabelled family under "").
    series: BTreeMap<String, f64>,
}

#[derive(Debug, Default)]
pub struct Telemetry {
    metrics: Mutex<BTreeMap<&'static str, Family>>,
    /// Why each registered component is not ready, or `None` when it is.
    readiness: Mutex<BTreeMap<String, Option<Reason>>>,
    /// Small JSON documents a role publishes for the API (e.g. the consensus status).
    documents: Mutex<BTreeMap<String, String>>,
    /// The trace context of the span that processed each recent checkpoint block, for a
    /// checkpointer in the same process ([`otel`]); empty unless spans are exported.
    checkpoint_traces: Mutex<BTreeMap<u64, opentoken_log::TraceContext>>,
}

/// How many checkpoint blocks' trace contexts a process remembers.
const CHECKPOINT_TRACES: usize = 256;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere must not take observability down with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Telemetry {
    pub fn new() -> Self {
        Self::default()
    }

    /// The untyped primitive behind [`Counter::add`]; call sites use the declarations in
    /// [`metrics`], which keep each name and help text in one place.
    pub fn counter_add(&self, name: &'static str, help: &'static str, by: u64) {
        let d = Descriptor {
            name,
            help,
            kind: Kind::Counter,
            label: None,
        };
        self.record(d, None, |v| *v += by as f64);
    }

    /// The untyped primitive behind [`Gauge::set`] (see [`Telemetry::counter_add`]).
    pub fn gauge_set(&self, name: &'static str, help: &'static str, value: f64) {
        let d = Descriptor {
            name,
            help,
            kind: Kind::Gauge,
            label: None,
        };
        self.record(d, None, |v| *v = value);
    }

    /// Applies `update` to one series of the family `d` (created at 0 if new): the one
    /// series of an unlabelled family, or the one labelled `label_value`. A family first
    /// recorded with another shape (type or label) is started over in the new one, so the
    /// exposition never mixes them.
    pub(crate) fn record(&self, d: Descriptor, label_value: Option<&str>, update: impl FnOnce(&mut f64)) {
        let mut m = lock(&self.metrics);
        let family = m.entry(d.name).or_insert_with(|| Family {
            help: d.help,
            kind: d.kind,
            label: d.label,
            series: BTreeMap::new(),
        });
        if family.kind != d.kind || family.label != d.label {
            *family = Family {
                help: d.help,
                kind: d.kind,
                label: d.label,
                series: BTreeMap::new(),
            };
        }
        let key = match d.label {
            Some(_) => label_value.unwrap_or_default(),
            None => "",
        };
        // No allocation on the hot path: the series exists after its first update.
        match family.series.get_mut(key) {
            Some(v) => update(v),
            None => {
                let mut v = 0.0;
                update(&mut v);
                family.series.insert(key.to_string(), v);
            }
        }
    }

    /// Every series of the metric `name`, by label value ("" for an unlabelled metric): what
    /// `/metrics` renders, for the OpenTelemetry export ([`otel::observe`]).
    pub fn series(&self, name: &str) -> Vec<(String, f64)> {
        lock(&self.metrics)
            .get(name)
            .map(|f| f.series.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }

    /// The value of the unlabelled metric `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        lock(&self.metrics)
            .get(name)
            .filter(|f| f.label.is_none())
            .and_then(|f| f.series.get("").copied())
    }

    /// The value of the series of the labelled metric `name` whose label is `value`.
    pub fn get_labelled(&self, name: &str, value: &str) -> Option<f64> {
        lock(&self.metrics)
            .get(name)
            .filter(|f| f.label.is_some())
            .and_then(|f| f.series.get(value).copied())
    }

    /// Keeps `opentoken_component_ready{component}` in step with readiness, so that an
    /// alert sees what `/readyz` answers (and for how long). Called with the readiness lock
    /// held, so two threads changing one component leave the gauge as the last one left
    /// `/readyz` (the lock order is readiness, then metrics; nothing takes them the other
    /// way round).
    fn note_readiness(&self, component: &str, ready: bool) {
        metrics::NODE
            .component_ready
            .set(self, component, if ready { 1.0 } else { 0.0 });
    }

    /// Registers a component as not ready until it reports otherwise.
    pub fn register(&self, component: &str, why: &str) {
        let mut readiness = lock(&self.readiness);
        readiness.insert(component.to_string(), Some(Reason::public(why.to_string())));
        self.note_readiness(component, false);
    }

    pub fn set_ready(&self, component: &str) {
        let mut readiness = lock(&self.readiness);
        readiness.insert(component.to_string(), None);
        self.note_readiness(component, true);
    }

    /// Marks `component` not ready with a reason `/readyz` shows to anyone: text the node
    /// composed itself (block numbers, hashes, what to do), never an error's text, which
    /// can name a broker, a URL with credentials or a key. For an error, use
    /// [`Telemetry::set_not_ready_with_detail`].
    pub fn set_not_ready(&self, component: &str, why: impl Into<String>) {
        let mut readiness = lock(&self.readiness);
        readiness.insert(component.to_string(), Some(Reason::public(why.into())));
        self.note_readiness(component, false);
    }

    /// Marks `component` not ready: `/readyz` shows only `public` (the kind of problem and
    /// what to do), while `detail` (the error itself) is logged, once per change, where
    /// only the operator reads it.
    pub fn set_not_ready_with_detail(
        &self,
        component: &str,
        public: impl Into<String>,
        detail: impl std::fmt::Display,
    ) {
        let reason = Reason::with_detail(public.into(), detail.to_string());
        let mut readiness = lock(&self.readiness);
        let changed = readiness.get(component).is_none_or(|old| old.as_ref() != Some(&reason));
        if changed {
            reason.log(component);
        }
        readiness.insert(component.to_string(), Some(reason));
        self.note_readiness(component, false);
    }

    /// Notes which span processed checkpoint block `block`, so that a checkpointer in this
    /// process continues its trace (observability only; the oldest are forgotten).
    pub fn note_checkpoint_trace(&self, block: u64, trace: opentoken_log::TraceContext) {
        let mut traces = lock(&self.checkpoint_traces);
        traces.insert(block, trace);
        while traces.len() > CHECKPOINT_TRACES {
            traces.pop_first();
        }
    }

    /// The trace context noted for checkpoint block `block`, if any.
    pub fn checkpoint_trace(&self, block: u64) -> Option<opentoken_log::TraceContext> {
        lock(&self.checkpoint_traces).get(&block).copied()
    }

    /// Publishes a JSON document under `name` (replacing the previous one).
    pub fn set_document(&self, name: &str, json: String) {
        lock(&self.documents).insert(name.to_string(), json);
    }

    pub fn document(&self, name: &str) -> Option<String> {
        lock(&self.documents).get(name).cloned()
    }

    /// Ready when every registered component is; otherwise the public reasons, by
    /// component (the details stay in the log).
    pub fn readiness(&self) -> Result<(), Vec<(String, String)>> {
        let r = lock(&self.readiness);
        let not: Vec<_> = r
            .iter()
            .filter_map(|(c, w)| w.as_ref().map(|w| (c.clone(), w.public_text().to_string())))
            .collect();
        if not.is_empty() {
            Ok(())
        } else {
            Err(not)
        }
    }

    /// Prometheus text exposition format (version 0.0.4): per family one `# HELP` and one
    /// `# TYPE` line, then its series, with help texts and label values escaped as the
    /// format says; a family with no series yet is left out.
    pub fn render(&self) -> String {
        let m = lock(&self.metrics);
        let mut out = String::new();
        for (name, family) in m.iter().filter(|(_, f)| !f.series.is_empty()) {
            let kind = match family.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            // Writing to a String cannot fail.
            let _ = writeln!(out, "# HELP {name} {}", escape_help(family.help));
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (label_value, value) in &family.series {
                let value = sample_value(*value);
                let _ = match family.label {
                    Some(label) => writeln!(out, "{name}{{{label}=\"{}\"}} {value}", escape_label_value(label_value)),
                    None => writeln!(out, "{name} {value}"),
                };
            }
        }
        out
    }
}

/// A `# HELP` text: backslash and line feed escaped.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A label value: backslash, double quote and line feed escaped.
fn escape_label_value(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A sample value as the format spells it (Rust writes infinity as `inf`).
fn sample_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_gauges_render() {
        let t = Telemetry::new();
        t.counter_add("opentoken_ops_total", "ops", 2);
        t.counter_add("opentoken_ops_total", "ops", 3);
        t.gauge_set("opentoken_last_block", "block", 42.0);
        let text = t.render();
        assert!(
            text.contains("# TYPE opentoken_ops_total counter\nopentoken_ops_total 5\n"),
            "{text}"
        );
        assert!(text.contains("opentoken_last_block 42\n"), "{text}");
    }

    /// Label values and help texts are escaped as the exposition format says; special
    /// values are spelled as Prometheus parses them.
    #[test]
    fn labelled_series_escape_their_values() {
        let t = Telemetry::new();
        let d = Descriptor {
            name: "opentoken_things_total",
            help: "Things \\ with a backslash",
            kind: Kind::Counter,
            label: Some("module"),
        };
        t.record(d, Some("a\"b\\c\nd"), |v| *v += 2.0);
        t.gauge_set("opentoken_ratio", "A ratio", f64::INFINITY);
        let text = t.render();
        assert!(
            text.contains(
                "# HELP opentoken_things_total Things \\\\ with a backslash\n\
                 # TYPE opentoken_things_total counter\n\
                 opentoken_things_total{module=\"a\\\"b\\\\c\\nd\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains("opentoken_ratio +Inf\n"), "{text}");
        assert_eq!(t.get_labelled("opentoken_things_total", "a\"b\\c\nd"), Some(2.0));
        assert_eq!(
            t.get("opentoken_things_total"),
            None,
            "a labelled family has no unlabelled value"
        );
    }

    #[test]
    fn readiness_tracks_components() {
        let t = Telemetry::new();
        assert!(t.readiness().is_ok());
        t.register("processor", "loading state");
        assert_eq!(
            t.readiness(),
            Err(vec![("processor".to_string(), "loading state".to_string())])
        );
        t.set_ready("processor");
        assert!(t.readiness().is_ok());
    }

    /// A Hive API URL with credentials in an error reaches the log, never `/readyz`.
    #[test]
    fn the_detail_of_a_reason_stays_out_of_the_public_readiness() {
        let t = Telemetry::new();
        let error = "error sending request for url (http://user:pass@hive.example:8091/)";
        t.set_not_ready_with_detail(
            "ingester",
            "Hive API unavailable; retrying (see the log, check --hive-api)",
            error,
        );
        let reasons = t.readiness().expect_err("not ready");
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].0, "ingester");
        assert!(reasons[0].1.contains("Hive API unavailable"), "{reasons:?}");
        assert!(!reasons[0].1.contains("user:pass"), "{reasons:?}");
        assert!(!reasons[0].1.contains("hive.example"), "{reasons:?}");
        assert!(!format!("{t:?}").contains("user:pass"), "not in Debug either");
    }
}
