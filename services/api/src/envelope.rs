//! What every answer about the ledger carries: the node, how far behind Hive it is, the
//! version, and whether its state agrees with the network. These read the store, so they
//! are called from the blocking pool like the handlers' own reads.

use crate::ApiState;
use axum::Json;
use opentoken_store::ModuleKv;
use opentoken_telemetry::metrics::INGESTER;
use serde_json::{json, Value};

impl ApiState {
    pub(crate) fn processed_block(&self) -> Option<u64> {
        self.store.progress("token").ok().flatten().map(|p| p.block)
    }

    /// Blocks between Hive's head (as the ingester last saw it) and the committed state.
    fn behind(&self) -> Value {
        match (INGESTER.hive_head_block.get(&self.telemetry), self.processed_block()) {
            (Some(head), Some(done)) => json!((head as u64).saturating_sub(done)),
            _ => Value::Null,
        }
    }

    pub(crate) fn envelope(&self, mut body: serde_json::Map<String, Value>) -> Json<Value> {
        body.insert("node".into(), json!(self.node));
        body.insert("behind".into(), self.behind());
        body.insert("VERSION".into(), json!(self.version));
        // Every answer says whether the state it was read from agrees with the network: a
        // node out of consensus keeps serving (it is recovering) but must not be trusted.
        if let Some(v) = self.consensus_verdict() {
            body.insert("in_consensus".into(), v["in_consensus"].clone());
        }
        Json(Value::Object(body))
    }

    /// The consensus agent's last verdict (`None` without an agent).
    pub(crate) fn consensus_verdict(&self) -> Option<Value> {
        self.telemetry
            .document("consensus")
            .and_then(|d| serde_json::from_str::<Value>(&d).ok())
    }

    pub(crate) fn token_kv(&self) -> ModuleKv<'_> {
        ModuleKv {
            store: self.store.as_ref(),
            module: "token",
        }
    }
}
