//! Every metric a role exports, declared once: its Prometheus name, type and help text.
//!
//! Dashboards and tests read these names (`infra/grafana/` and its rules, whose names
//! `tests/tests/prometheus.rs` checks against a running node), so a name, type or help
//! text here changes only on purpose. A field is named after its metric without the
//! `opentoken_` prefix and the counters' `_total` suffix, so that grepping for either finds
//! the other. Call sites use the typed field: `metrics::PROCESSOR.commits.add(&telemetry, 1)`.
//!
//! Names follow Prometheus' conventions, which `promtool check metrics` lints: the unit in
//! the name (`_seconds`, `_blocks`, `_records`, `_milli` for thousandths of a coin), no
//! abbreviation it could read as a unit (hence `multisig_`, not `ms_`, which reads as
//! milliseconds). A labelled metric has one label, named after the help text.

use crate::metric::{metric_set, Descriptor};

metric_set! {
    /// The processor: blocks through the engine, commits to the store.
    pub struct ProcessorMetrics = PROCESSOR {
        blocks_processed: Counter("opentoken_blocks_processed_total", "Blocks processed by this processor"),
        ops_processed: LabelledCounter("opentoken_ops_processed_total", "Operations processed, by module", "module"),
        ops_rejected: LabelledCounter(
            "opentoken_ops_rejected_total",
            "Operations rejected (recorded with a reason), by module",
            "module"
        ),
        commits: Counter("opentoken_commits_total", "Store commits"),
        commit_seconds: Gauge("opentoken_commit_seconds", "Duration of the last commit"),
        processed_block: Gauge("opentoken_processed_block", "Last block committed by the processor"),
        blocks_per_second: Gauge("opentoken_blocks_per_second", "Blocks processed per second (last interval)"),
        log_lag_records: LabelledGauge(
            "opentoken_log_lag_records",
            "Records of the module's ops topic after the processor's committed position (the consumer lag on Kafka, on the in-process log in the embedded mode)",
            "module"
        ),
    }
}

metric_set! {
    /// The ingester: Hive's head as last seen, and what was published to the ops topics.
    pub struct IngesterMetrics = INGESTER {
        hive_head_block: Gauge("opentoken_hive_head_block", "Hive head block"),
        hive_irreversible_block: Gauge("opentoken_hive_irreversible_block", "Hive last irreversible block"),
        ingest_lag_blocks: Gauge(
            "opentoken_ingest_lag_blocks",
            "Blocks between the target (irreversible) block and the last published one"
        ),
        ingested_blocks: Counter("opentoken_ingested_blocks_total", "Blocks published to the ops topics"),
        ingested_ops: LabelledCounter(
            "opentoken_ingested_ops_total",
            "Ops the ingester routed to each module's topic (community custom_json and the Hive ops the module takes)",
            "module"
        ),
        ingested_block: Gauge("opentoken_ingested_block", "Last block published"),
        ingest_batch_blocks: Gauge(
            "opentoken_ingest_batch_blocks",
            "Blocks asked per fetch (halved after timeouts and oversized answers)"
        ),
        hive_bad_answers: Counter(
            "opentoken_hive_bad_answers_total",
            "Block ranges an API node served that failed verification (ids, merkle root, links) and were not used"
        ),
        hive_disagreements: Counter(
            "opentoken_hive_disagreements_total",
            "Times another API node named a different id for a block a verified range ended on"
        ),
        hive_accepted_by_agreement: Counter(
            "opentoken_hive_accepted_by_agreement_total",
            "Blocks this version could not verify, accepted because every API node served them identically"
        ),
    }
}

metric_set! {
    /// The checkpointer: consensus reports published.
    pub struct CheckpointerMetrics = CHECKPOINTER {
        checkpoint_block: Gauge("opentoken_checkpoint_block", "Last checkpoint reported"),
        reports: Counter("opentoken_reports_total", "Consensus reports published"),
    }
}

metric_set! {
    /// The consensus agent: its transactions on Hive and its verdicts.
    pub struct AgentMetrics = AGENT {
        consensus_errors: Counter("opentoken_consensus_errors_total", "Consensus agent errors"),
        broadcasts: Counter("opentoken_broadcasts_total", "Node transactions broadcast"),
        broadcasts_confirmed: Counter("opentoken_broadcasts_confirmed_total", "Node transactions found in a block"),
        broadcasts_expired: Counter(
            "opentoken_broadcasts_expired_total",
            "Node transactions that expired unconfirmed"
        ),
        report_included_block: Gauge("opentoken_report_included_block", "Last checkpoint whose report is on chain"),
        final_checkpoint: Gauge("opentoken_final_checkpoint", "Newest checkpoint final on chain"),
        out_of_consensus: Counter(
            "opentoken_out_of_consensus_total",
            "Times this node found itself out of consensus"
        ),
        multisig_signatures: Counter(
            "opentoken_multisig_signatures_total",
            "Multi-sig signatures of the community account's transactions broadcast (ms_sign)"
        ),
        multisig_broadcasts: Counter(
            "opentoken_multisig_broadcasts_total",
            "Assembled multi-sig transactions Hive accepted or already had"
        ),
        multisig_alarms: Counter(
            "opentoken_multisig_alarms_total",
            "Multi-sig transactions whose digest changed after this node signed them"
        ),
        multisig_expected_hive_milli: Gauge(
            "opentoken_multisig_expected_hive_milli",
            "milli-HIVE the multi-sig account must hold by its books at the last comparable reconciliation"
        ),
        multisig_expected_hbd_milli: Gauge(
            "opentoken_multisig_expected_hbd_milli",
            "milli-HBD the multi-sig account must hold by its books at the last comparable reconciliation"
        ),
        multisig_observed_hive_milli: Gauge(
            "opentoken_multisig_observed_hive_milli",
            "milli-HIVE the multi-sig account held on Hive at the last comparable reconciliation"
        ),
        multisig_observed_hbd_milli: Gauge(
            "opentoken_multisig_observed_hbd_milli",
            "milli-HBD the multi-sig account held on Hive at the last comparable reconciliation"
        ),
        multisig_reconcile_mismatches: Counter(
            "opentoken_multisig_reconcile_mismatches_total",
            "Comparable reconciliations where the multi-sig account held less on Hive than its books"
        ),
        multisig_reconcile_skipped: Counter(
            "opentoken_multisig_reconcile_skipped_total",
            "Reconciliations of the multi-sig account skipped (books behind the Hive head, head moved, API failed)"
        ),
        multisig_pending_hive_milli: Gauge(
            "opentoken_multisig_pending_hive_milli",
            "milli-HIVE of the outflows the multi-sig account owes and has not paid yet, by its books at the last reconciliation"
        ),
        multisig_pending_hbd_milli: Gauge(
            "opentoken_multisig_pending_hbd_milli",
            "milli-HBD of the outflows the multi-sig account owes and has not paid yet, by its books at the last reconciliation"
        ),
        multisig_outflows_pending: Gauge(
            "opentoken_multisig_outflows_pending",
            "Outflows queued and not yet paid (counted up to 10000), by the multisig module's books at the last reconciliation"
        ),
    }
}

metric_set! {
    /// The node binary's supervision of its roles.
    pub struct NodeMetrics = NODE {
        log_retries: Counter("opentoken_log_retries_total", "Retries while the log was unavailable"),
        component_ready: LabelledGauge(
            "opentoken_component_ready",
            "1 while the component is ready, 0 while /readyz names it not ready (the reason is on /readyz and in the log)",
            "component"
        ),
    }
}

metric_set! {
    /// The HTTP API's limits: what it refused, and the work its caches saved.
    pub struct ApiMetrics = API {
        busy: Counter(
            "opentoken_api_busy_total",
            "API requests refused with 503 because their route or the server was at its concurrency limit"
        ),
        rate_limited: Counter(
            "opentoken_api_rate_limited_total",
            "Whole-state API requests refused with 429 because their client exceeded its rate"
        ),
        timeouts: Counter("opentoken_api_timeouts_total", "API requests answered 504 after the request timeout"),
        snapshot_encodes: Counter(
            "opentoken_api_snapshot_encodes_total",
            "Checkpoint snapshots encoded for /v1/snapshots (a cached one is not encoded again)"
        ),
    }
}

/// Every declared metric of every role.
pub fn all() -> Vec<Descriptor> {
    [
        PROCESSOR.all(),
        INGESTER.all(),
        CHECKPOINTER.all(),
        AGENT.all(),
        NODE.all(),
        API.all(),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, Telemetry};
    use std::collections::BTreeSet;

    /// Prometheus: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    fn valid_name(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    /// Prometheus: `[a-zA-Z_][a-zA-Z0-9_]*`, and `__` starts the names it reserves.
    fn valid_label(label: &str) -> bool {
        valid_name(label) && !label.contains(':') && !label.starts_with("__")
    }

    #[test]
    fn names_are_unique_valid_and_conventional() {
        let all = all();
        let names: BTreeSet<_> = all.iter().map(|d| d.name).collect();
        assert_eq!(names.len(), all.len(), "a metric is declared twice");
        for d in &all {
            assert!(valid_name(d.name), "{} is not a Prometheus metric name", d.name);
            assert!(d.name.is_ascii(), "{}", d.name);
            assert!(d.name.starts_with("opentoken_"), "{}", d.name);
            assert_eq!(d.kind == Kind::Counter, d.name.ends_with("_total"), "{}", d.name);
            assert!(
                !d.help.is_empty() && !d.help.contains('\n') && d.help.is_ascii(),
                "{}",
                d.name
            );
            // promtool's lint reads `_ms_` as milliseconds, `_s_` as seconds, and so on.
            for abbreviation in ["s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "m", "h", "d"] {
                assert!(
                    !d.name.split('_').any(|part| part == abbreviation),
                    "{} holds `_{abbreviation}_`, which promtool reads as an abbreviated unit",
                    d.name
                );
            }
            if let Some(label) = d.label {
                assert!(valid_label(label), "{}: {label} is not a Prometheus label name", d.name);
            }
        }
    }

    #[test]
    fn every_declared_metric_renders_with_its_help_and_type() {
        let t = Telemetry::new();
        for d in all() {
            t.record(d, Some("token"), |v| *v = 1.0);
        }
        let text = t.render();
        for d in all() {
            let kind = match d.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            let sample = match d.label {
                Some(label) => format!("{}{{{label}=\"token\"}} 1", d.name),
                None => format!("{} 1", d.name),
            };
            let expected = format!("# HELP {0} {1}\n# TYPE {0} {kind}\n{sample}\n", d.name, d.help);
            assert!(text.contains(&expected), "{expected} missing from\n{text}");
        }
    }

    #[test]
    fn typed_fields_write_their_declared_metric() {
        let t = Telemetry::new();
        PROCESSOR.commits.add(&t, 2);
        PROCESSOR.commits.add(&t, 3);
        INGESTER.hive_head_block.set(&t, 42.0);
        INGESTER.ingested_ops.add(&t, "token", 4);
        INGESTER.ingested_ops.add(&t, "dex", 1);
        INGESTER.ingested_ops.add(&t, "token", 1);
        assert_eq!(t.get("opentoken_commits_total"), Some(5.0));
        assert_eq!(INGESTER.hive_head_block.get(&t), Some(42.0));
        assert_eq!(INGESTER.ingested_ops.get(&t, "token"), Some(5.0));
        assert_eq!(INGESTER.ingested_ops.get(&t, "nft"), None);
        let text = t.render();
        assert!(text.contains("# HELP opentoken_commits_total Store commits\n"));
        assert!(
            text.contains(
                "# TYPE opentoken_ingested_ops_total counter\n\
                 opentoken_ingested_ops_total{module=\"dex\"} 1\n\
                 opentoken_ingested_ops_total{module=\"token\"} 5\n"
            ),
            "one HELP and TYPE per family, its series together:\n{text}"
        );
    }

    /// `init` exposes a role's counters at 0 (so the first event is an increase) and
    /// invents no gauge value.
    #[test]
    fn init_exposes_counters_at_zero_and_no_gauges() {
        let t = Telemetry::new();
        AGENT.init(&t);
        assert_eq!(AGENT.out_of_consensus.get(&t), Some(0.0));
        assert_eq!(AGENT.final_checkpoint.get(&t), None);
        AGENT.out_of_consensus.add(&t, 1);
        assert_eq!(AGENT.out_of_consensus.get(&t), Some(1.0));
        assert!(t.render().contains("\nopentoken_out_of_consensus_total 1\n"));
    }

    /// `/readyz` and `opentoken_component_ready` say the same.
    #[test]
    fn readiness_is_a_labelled_gauge() {
        let t = Telemetry::new();
        t.register("processor", "loading state");
        t.set_ready("ingester");
        assert_eq!(NODE.component_ready.get(&t, "processor"), Some(0.0));
        assert_eq!(NODE.component_ready.get(&t, "ingester"), Some(1.0));
        t.set_ready("processor");
        t.set_not_ready_with_detail("ingester", "Hive API unavailable", "http://user:pass@hive.example/");
        assert_eq!(NODE.component_ready.get(&t, "processor"), Some(1.0));
        assert_eq!(NODE.component_ready.get(&t, "ingester"), Some(0.0));
        let text = t.render();
        assert!(
            text.contains("opentoken_component_ready{component=\"ingester\"} 0\n"),
            "{text}"
        );
        assert!(!text.contains("user:pass"), "{text}");
    }
}
