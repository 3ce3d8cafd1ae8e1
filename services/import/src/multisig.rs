//! The multi-sig account's queue: the transfers the reference had queued and not yet put
//! into a transaction (`msa/<key>`, each a stringified `["transfer", {from, to, amount,
//! memo}]`) become queued outflows of opentoken's multisig module, oldest key first. The
//! transactions being signed at the import (`mss`, `mso`, `msso`) are reported: they are the
//! reference's nodes' to broadcast, and if one lands after the import opentoken records its
//! transfers as anomalies of the account rather than paying them twice.

use crate::Reader;
use opentoken_core::{Asset, AssetSymbol};
use serde_json::{json, Map, Value};

/// The top-level paths this part reads.
pub(crate) const PATHS: &[&str] = &["msa", "mss", "mso", "msso"];

/// The most queued transfers carried (the reference consolidates above 80).
const MAX_OUTFLOWS: usize = 100_000;

/// Reads `msa` into `spec`'s multisig genesis `outflows`; reports the in-flight
/// transactions.
pub(crate) fn import(state: &Map<String, Value>, r: &mut Reader, spec: &mut Value) {
    for key in ["mss", "mso", "msso"] {
        if let Some(n) = state
            .get(key)
            .and_then(Value::as_object)
            .map(Map::len)
            .filter(|n| *n > 0)
        {
            r.report(
                key,
                format!("{n} multi-sig transactions being signed at the import: not carried (if the reference's nodes broadcast one later, opentoken records its transfers as anomalies of the account); import at a block where they have settled"),
            );
        }
    }
    let Some(msa) = state.get("msa") else { return };
    let Some(msa) = r.object("msa", msa) else { return };
    if msa.is_empty() {
        return;
    }
    let account = spec
        .get("msaccount")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if spec.pointer("/modules/multisig").is_none() {
        r.refuse(
            "msa",
            format!(
                "{} transfers queued from the multi-sig account, and the base chain runs no multisig module",
                msa.len()
            ),
        );
        return;
    }
    if msa.len() > MAX_OUTFLOWS {
        r.refuse("msa", format!("more than {MAX_OUTFLOWS} queued transfers"));
        return;
    }
    let mut outflows = Vec::with_capacity(msa.len());
    for (key, v) in msa {
        let path = format!("msa/{key}");
        let op: Option<Value> = v.as_str().and_then(|s| serde_json::from_str(s).ok());
        let Some((name, body)) = op.as_ref().and_then(|o| Some((o.get(0)?.as_str()?, o.get(1)?))) else {
            r.refuse(path, "is not a stringified [name, {...}] Hive operation");
            continue;
        };
        if name != "transfer" {
            r.report(path, format!("a queued `{name}`: moves no funds, not carried"));
            continue;
        }
        let text = |k: &str| body.get(k).and_then(Value::as_str);
        let amount = text("amount").and_then(|a| Asset::parse_legacy(a).ok());
        let memo = text("memo").unwrap_or_default();
        match (text("from"), text("to"), amount) {
            (Some(from), Some(to), Some(a))
                if from == account
                    && a.amount > 0
                    && matches!(a.symbol, AssetSymbol::Hive | AssetSymbol::Hbd)
                    && r.account(&format!("{path}/to"), to) =>
            {
                outflows.push(json!({"to": to, "asset": a.symbol.legacy_name(), "amount": a.amount, "memo": memo}));
            }
            _ => r.refuse(
                path,
                format!("is not a transfer of more than 0 HIVE or HBD from @{account} to a Hive account"),
            ),
        }
    }
    if !outflows.is_empty() {
        spec["modules"]["multisig"]["genesis"]["outflows"] = json!(outflows);
    }
}
