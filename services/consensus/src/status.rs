//! How a [`Verdict`] is shown: the `/consensus` document and the reason `/readyz` gives
//! when the node is out of consensus (operators and the e2e tests read both).

use crate::decide::Verdict;
use serde_json::json;

/// The `/consensus` document.
pub fn consensus_document(v: &Verdict) -> String {
    json!({
        "in_consensus": v.in_consensus(),
        "checkpoint": v.checkpoint,
        "final_hash": hex::encode(v.final_hash),
        "own_hash": hex::encode(v.own_hash),
        "latest_final": v.latest_final,
        "recovering_to": v.recovering_to,
    })
    .to_string()
}

/// Why the node is not ready when out of consensus, and what happens (or must be done)
/// about it: a restore in place where one is possible, else the operator's rebuild.
pub fn divergence(v: &Verdict, can_restore: bool) -> String {
    let action = if can_restore {
        format!("recovering from a verified snapshot of checkpoint {}", v.latest_final)
    } else {
        "stop this node's processors and rebuild them (`opentoken replay`, or a backup of a store that \
         agreed), then restart them"
            .to_string()
    };
    format!(
        "out of consensus at checkpoint {}: this node computed {}, the runners finalised {}; {action}",
        v.checkpoint,
        hex::encode(v.own_hash),
        hex::encode(v.final_hash)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(own: u8) -> Verdict {
        Verdict {
            checkpoint: 100,
            own_hash: [own; 32],
            final_hash: [1; 32],
            latest_final: 200,
            recovering_to: None,
        }
    }

    #[test]
    fn the_document_carries_both_hashes() {
        let doc: serde_json::Value = serde_json::from_str(&consensus_document(&verdict(2))).expect("json");
        assert_eq!(doc["in_consensus"], false);
        assert_eq!(doc["checkpoint"], 100);
        assert_eq!(doc["latest_final"], 200);
        assert_eq!(doc["own_hash"], hex::encode([2u8; 32]));
        assert_eq!(doc["final_hash"], hex::encode([1u8; 32]));
        assert!(doc["recovering_to"].is_null());
        let doc: serde_json::Value = serde_json::from_str(&consensus_document(&verdict(1))).expect("json");
        assert_eq!(doc["in_consensus"], true);
    }

    #[test]
    fn the_reason_says_what_happens_next() {
        let why = divergence(&verdict(2), true);
        assert!(why.starts_with("out of consensus at checkpoint 100"), "{why}");
        assert!(
            why.ends_with("recovering from a verified snapshot of checkpoint 200"),
            "{why}"
        );
        assert!(divergence(&verdict(2), false).contains("opentoken replay"));
    }
}
