//! Every metric a role exports, declared once: its Prometheus name, type and help text.
//!
//! Dashboards and tests read these names, so a name, type or help text here changes only
//! on purpose. A field is named after its metric without the `opentoken_` prefix and the
//! counters' `_total` suffix, so that grepping for either finds the other. Call sites use
//! the typed field: `metrics::PROCESSOR.commits.add(&telemetry, 1)`.

use crate::metric::{metric_set, Descriptor};

metric_set! {
    /// The processor: blocks through the engine, commits to the store.
    pub struct ProcessorMetrics = PROCESSOR {
        blocks_processed: Counter("opentoken_blocks_processed_total", "Blocks processed by this processor"),
        ops_processed: Counter("opentoken_ops_processed_total", "Operations processed"),
        ops_rejected: Counter("opentoken_ops_rejected_total", "Operations rejected (recorded with a reason)"),
        commits: Counter("opentoken_commits_total", "Store commits"),
        commit_seconds: Gauge("opentoken_commit_seconds", "Duration of the last commit"),
        processed_block: Gauge("opentoken_processed_block", "Last block committed by the processor"),
        blocks_per_second: Gauge("opentoken_blocks_per_second", "Blocks processed per second (last interval)"),
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
        ingested_ops: Counter("opentoken_ingested_ops_total", "Community ops routed to modules"),
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
        ms_signatures: Counter(
            "opentoken_ms_signatures_total",
            "Multi-sig signatures of the community account's transactions broadcast (ms_sign)"
        ),
        ms_broadcasts: Counter(
            "opentoken_ms_broadcasts_total",
            "Assembled multi-sig transactions Hive accepted or already had"
        ),
        ms_alarms: Counter(
            "opentoken_ms_alarms_total",
            "Multi-sig transactions whose digest changed after this node signed them"
        ),
        ms_expected_hive_milli: Gauge(
            "opentoken_ms_expected_hive_milli",
            "milli-HIVE the multi-sig account must hold by its books at the last comparable reconciliation"
        ),
        ms_expected_hbd_milli: Gauge(
            "opentoken_ms_expected_hbd_milli",
            "milli-HBD the multi-sig account must hold by its books at the last comparable reconciliation"
        ),
        ms_observed_hive_milli: Gauge(
            "opentoken_ms_observed_hive_milli",
            "milli-HIVE the multi-sig account held on Hive at the last comparable reconciliation"
        ),
        ms_observed_hbd_milli: Gauge(
            "opentoken_ms_observed_hbd_milli",
            "milli-HBD the multi-sig account held on Hive at the last comparable reconciliation"
        ),
        ms_reconcile_mismatches: Counter(
            "opentoken_ms_reconcile_mismatches_total",
            "Comparable reconciliations where the multi-sig account held less on Hive than its books"
        ),
        ms_reconcile_skipped: Counter(
            "opentoken_ms_reconcile_skipped_total",
            "Reconciliations of the multi-sig account skipped (books behind the Hive head, head moved, API failed)"
        ),
    }
}

metric_set! {
    /// The node binary's supervision of its roles.
    pub struct NodeMetrics = NODE {
        log_retries: Counter("opentoken_log_retries_total", "Retries while the log was unavailable"),
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

    #[test]
    fn names_are_unique_valid_and_conventional() {
        let all = all();
        let names: BTreeSet<_> = all.iter().map(|d| d.name).collect();
        assert_eq!(names.len(), all.len(), "a metric is declared twice");
        for d in &all {
            assert!(valid_name(d.name), "{} is not a Prometheus metric name", d.name);
            assert!(d.name.starts_with("opentoken_"), "{}", d.name);
            assert_eq!(d.kind == Kind::Counter, d.name.ends_with("_total"), "{}", d.name);
            assert!(!d.help.is_empty() && !d.help.contains('\n'), "{}", d.name);
        }
    }

    #[test]
    fn every_declared_metric_renders_with_its_help_and_type() {
        let t = Telemetry::new();
        for d in all() {
            match d.kind {
                Kind::Counter => t.counter_add(d.name, d.help, 1),
                Kind::Gauge => t.gauge_set(d.name, d.help, 1.0),
            }
        }
        let text = t.render();
        for d in all() {
            let kind = match d.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            let expected = format!("# HELP {0} {1}\n# TYPE {0} {kind}\n{0} 1\n", d.name, d.help);
            assert!(text.contains(&expected), "{expected} missing from\n{text}");
        }
    }

    #[test]
    fn typed_fields_write_their_declared_metric() {
        let t = Telemetry::new();
        PROCESSOR.commits.add(&t, 2);
        PROCESSOR.commits.add(&t, 3);
        INGESTER.hive_head_block.set(&t, 42.0);
        assert_eq!(t.get("opentoken_commits_total"), Some(5.0));
        assert_eq!(INGESTER.hive_head_block.get(&t), Some(42.0));
        assert!(t.render().contains("# HELP opentoken_commits_total Store commits\n"));
    }
}
