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
mod readiness;

pub use metric::{Counter, Descriptor, Gauge};
use readiness::Reason;

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The Prometheus type of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

#[derive(Debug, Clone)]
struct Metric {
    help: &'static str,
    kind: Kind,
    value: f64,
}

#[derive(Debug, Default)]
pub struct Telemetry {
    metrics: Mutex<BTreeMap<String, Metric>>,
    /// Why each registered component is not ready, or `None` when it is.
    readiness: Mutex<BTreeMap<String, Option<Reason>>>,
    /// Small JSON documents a role publishes for the API (e.g. the consensus status).
    documents: Mutex<BTreeMap<String, String>>,
}

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
    pub fn counter_add(&self, name: &str, help: &'static str, by: u64) {
        let mut m = lock(&self.metrics);
        let e = m.entry(name.to_string()).or_insert(Metric {
            help,
            kind: Kind::Counter,
            value: 0.0,
        });
        e.value += by as f64;
    }

    /// The untyped primitive behind [`Gauge::set`] (see [`Telemetry::counter_add`]).
    pub fn gauge_set(&self, name: &str, help: &'static str, value: f64) {
        let mut m = lock(&self.metrics);
        m.insert(
            name.to_string(),
            Metric {
                help,
                kind: Kind::Gauge,
                value,
            },
        );
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        lock(&self.metrics).get(name).map(|m| m.value)
    }

    /// Registers a component as not ready until it reports otherwise.
    pub fn register(&self, component: &str, why: &str) {
        lock(&self.readiness).insert(component.to_string(), Some(Reason::public(why.to_string())));
    }

    pub fn set_ready(&self, component: &str) {
        lock(&self.readiness).insert(component.to_string(), None);
    }

    /// Marks `component` not ready with a reason `/readyz` shows to anyone: text the node
    /// composed itself (block numbers, hashes, what to do), never an error's text, which
    /// can name a broker, a URL with credentials or a key. For an error, use
    /// [`Telemetry::set_not_ready_with_detail`].
    pub fn set_not_ready(&self, component: &str, why: impl Into<String>) {
        lock(&self.readiness).insert(component.to_string(), Some(Reason::public(why.into())));
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

    /// Prometheus text exposition format.
    pub fn render(&self) -> String {
        let m = lock(&self.metrics);
        let mut out = String::new();
        for (name, metric) in m.iter() {
            let kind = match metric.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            out.push_str(&format!(
                "# HELP {name} {}\n# TYPE {name} {kind}\n{name} {}\n",
                metric.help, metric.value
            ));
        }
        out
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
