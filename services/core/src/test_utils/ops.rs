//! Ops as a Hive block carries them, and what became of them.

use super::TEST_PREFIX;
use crate::hive::{CustomJsonOp, HiveOp};
use crate::module::RejectCode;
use crate::record::Outcome;

/// A custom_json with any id and signers (none, several, or both authorities), for tests
/// of what the engine does with odd ones.
pub fn custom_json(id: &str, active: &[&str], posting: &[&str], json: &str) -> HiveOp {
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    HiveOp::CustomJson(CustomJsonOp {
        required_auths: names(active),
        required_posting_auths: names(posting),
        id: id.to_string(),
        json: json.to_string(),
    })
}

/// The custom_json `<TEST_PREFIX><name>` signed by `signer` with active authority.
pub fn op(signer: &str, name: &str, json: &str) -> HiveOp {
    custom_json(&format!("{TEST_PREFIX}{name}"), &[signer], &[], json)
}

/// The custom_json `<TEST_PREFIX><name>` signed by `signer` with posting authority.
pub fn posting_op(signer: &str, name: &str, json: &str) -> HiveOp {
    custom_json(&format!("{TEST_PREFIX}{name}"), &[], &[signer], json)
}

/// Panics unless the op applied; `what` names it in the message.
pub fn assert_applied(outcome: &Outcome, what: &str) {
    assert!(
        matches!(outcome, Outcome::Applied { .. }),
        "{what}: expected applied, got {outcome:?}"
    );
}

/// Panics unless the op was rejected with `code` and a reason; returns the reason.
pub fn assert_rejected<'a>(outcome: &'a Outcome, code: RejectCode, what: &str) -> &'a str {
    match outcome {
        Outcome::Rejected { code: got, reason } => {
            assert_eq!(*got, code, "{what}: wrong rejection {outcome:?}");
            assert!(!reason.trim().is_empty(), "{what}: rejected without a reason");
            reason
        }
        Outcome::Applied { .. } => panic!("{what}: expected {code:?}, got {outcome:?}"),
    }
}
