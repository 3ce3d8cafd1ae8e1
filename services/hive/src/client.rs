//! A JSON-RPC client for Hive API nodes.
//!
//! Public API nodes sit behind proxies that answer 429/5xx, time out, or return HTML; any
//! single node can be down. Every call therefore has a timeout, is retried on the next node
//! of the list (failover) with capped exponential backoff between rounds, and remembers the
//! node that last answered well. Errors name the node and method and say what to do.

use opentoken_core::hive_json::{decode_asset, decode_get_block, decode_get_block_range};
use opentoken_core::{AssetSymbol, Block};
use opentoken_lifecycle::Backoff;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HiveError {
    #[error("no Hive API node configured; pass at least one --hive-api URL")]
    NoNodes,
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("{method} failed on every Hive API node after {attempts} attempts; last error from {node}: {last}. Check the nodes' health or add more with --hive-api")]
    Exhausted {
        method: String,
        attempts: u32,
        node: String,
        last: String,
        /// Some attempt timed out or was over the body limit: ask for less.
        heavy: bool,
    },
    #[error("no Hive API node served blocks from {start} that pass verification: {detail}. A node that serves blocks whose ids, merkle root or links do not hold is faulty or lying; check --hive-api (with several nodes, the honest ones are used)")]
    Unverified { start: u64, detail: String, heavy: bool },
    #[error("{node} rejected {method}: JSON-RPC error {code}: {message}")]
    Rpc {
        node: String,
        method: String,
        code: i64,
        message: String,
    },
}

/// Retry and timeout policy.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub timeout: Duration,
    /// Attempts per call, spread over the nodes in order.
    pub attempts: u32,
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Largest answer read from a node (a range of 1000 full blocks stays well below it);
    /// a larger one is dropped unread and the ingester asks for fewer blocks.
    pub max_body: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            attempts: 6,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_body: 128 << 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicGlobalProperties {
    pub head_block_number: u64,
    pub last_irreversible_block_num: u64,
    /// Head block time as the node prints it (UTC, no zone).
    pub time: String,
    /// Head block id (40 hex), the TaPoS reference for transactions this node signs.
    pub head_block_id: String,
}

/// An account's liquid HIVE and HBD in milli-units: what the community's multi-sig account
/// is reconciled against (`opentoken_consensus::reconcile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiquidBalances {
    pub hive: u64,
    pub hbd: u64,
}

/// `condenser_api.get_accounts`' answer for `[account]`: its `balance` and `hbd_balance`
/// (legacy strings or NAI objects), `None` when the node knows no such account.
fn decode_liquid_balances(v: &Value, account: &str) -> Result<Option<LiquidBalances>, String> {
    let list = v.as_array().ok_or("get_accounts did not answer a list")?;
    let Some(a) = list
        .iter()
        .find(|a| a.get("name").and_then(Value::as_str) == Some(account))
    else {
        return Ok(None);
    };
    let milli = |field: &str, symbol: AssetSymbol| -> Result<u64, String> {
        let asset = decode_asset(a.get(field).ok_or_else(|| format!("`{field}` missing"))?)?;
        if asset.symbol != symbol {
            return Err(format!("`{field}` is not in {symbol:?}"));
        }
        u64::try_from(asset.amount).map_err(|_| format!("`{field}` is negative"))
    };
    Ok(Some(LiquidBalances {
        hive: milli("balance", AssetSymbol::Hive)?,
        hbd: milli("hbd_balance", AssetSymbol::Hbd)?,
    }))
}

pub struct HiveClient {
    http: reqwest::Client,
    pub(crate) nodes: Vec<String>,
    pub(crate) preferred: AtomicUsize,
    cfg: ClientConfig,
}

/// The nodes, the one tried first and the policy (not the HTTP client's internals).
impl std::fmt::Debug for HiveClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HiveClient")
            .field("nodes", &self.nodes)
            .field("preferred", &self.preferred)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// How one attempt failed.
pub(crate) enum Failure {
    /// Try the next node.
    Retry(String),
    /// A timeout or an answer over the body limit: try the next node, and ask for less.
    Heavy(String),
    /// The request itself is wrong; another node will say the same.
    Fatal(HiveError),
}

impl HiveError {
    /// Whether asking for fewer blocks may help (timeouts, oversized answers).
    pub fn is_heavy(&self) -> bool {
        matches!(
            self,
            HiveError::Exhausted { heavy: true, .. } | HiveError::Unverified { heavy: true, .. }
        )
    }
}

/// JSON-RPC codes that mean "this node cannot serve this" rather than "your request is wrong".
/// Errors that say the node is in trouble (retry elsewhere). A broadcast's -32000 is the
/// chain refusing the transaction (an assertion), which another node would refuse too.
fn node_side(code: i64, method: &str) -> bool {
    match code {
        -32000 => !method.ends_with("broadcast_transaction"),
        -32601 | -32603 => true,
        _ => false,
    }
}

impl HiveClient {
    pub fn new(nodes: Vec<String>) -> Result<Self, HiveError> {
        Self::with_config(nodes, ClientConfig::default())
    }

    pub fn with_config(nodes: Vec<String>, cfg: ClientConfig) -> Result<Self, HiveError> {
        if nodes.is_empty() {
            return Err(HiveError::NoNodes);
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .map_err(|e| HiveError::Client(e.to_string()))?;
        Ok(Self {
            http,
            nodes,
            preferred: AtomicUsize::new(0),
            cfg,
        })
    }

    /// Moves the next call to the node after the one that answered last (it served
    /// something the caller refused).
    pub fn skip_preferred(&self) {
        let n = self.nodes.len().max(1);
        let next = (self.preferred.load(Ordering::Relaxed) + 1) % n;
        self.preferred.store(next, Ordering::Relaxed);
    }

    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    pub(crate) async fn attempt(&self, node: &str, method: &str, params: &Value) -> Result<Value, Failure> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let failed = |what: &str, e: reqwest::Error| {
            if e.is_timeout() {
                Failure::Heavy(format!("{what}: timed out after {:?}", self.cfg.timeout))
            } else {
                Failure::Retry(format!("{what}: {e}"))
            }
        };
        let mut resp = self
            .http
            .post(node)
            .json(&body)
            .send()
            .await
            .map_err(|e| failed("transport", e))?;
        let status = resp.status();
        let max = self.cfg.max_body;
        let too_big = || Failure::Heavy(format!("answer larger than {max} bytes; not read"));
        if resp.content_length().is_some_and(|n| n > max as u64) {
            return Err(too_big());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| failed("reading body", e))? {
            if bytes.len() + chunk.len() > max {
                return Err(too_big());
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&bytes);
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(Failure::Retry(format!("HTTP {status}")));
        }
        let v: Value = serde_json::from_str(&text).map_err(|_| {
            let head: String = text.chars().take(80).collect();
            Failure::Retry(format!("HTTP {status} with a non-JSON body starting {head:?}"))
        })?;
        if let Some(e) = v.get("error") {
            let code = e.get("code").and_then(Value::as_i64).unwrap_or(0);
            let message = e.get("message").and_then(Value::as_str).unwrap_or("").to_string();
            if node_side(code, method) {
                return Err(Failure::Retry(format!("JSON-RPC error {code}: {message}")));
            }
            return Err(Failure::Fatal(HiveError::Rpc {
                node: node.into(),
                method: method.into(),
                code,
                message,
            }));
        }
        if !status.is_success() {
            return Err(Failure::Retry(format!("HTTP {status}")));
        }
        v.get("result")
            .cloned()
            .ok_or_else(|| Failure::Retry("response has neither result nor error".into()))
    }

    /// Calls `method`, failing over across nodes; `decode` turning a result into a value is
    /// part of the attempt, so a node that serves garbage is skipped like a dead one.
    async fn call<T>(
        &self,
        method: &str,
        params: Value,
        decode: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<T, HiveError> {
        let n = self.nodes.len();
        let start = self.preferred.load(Ordering::Relaxed) % n;
        // Between rounds over the whole node list, not between nodes: failing over is free.
        let mut backoff = Backoff::new(self.cfg.backoff, self.cfg.max_backoff);
        let mut last = (String::new(), String::new());
        let mut heavy = false;
        for attempt in 0..self.cfg.attempts.max(1) {
            let idx = (start + attempt as usize) % n;
            let node = &self.nodes[idx];
            if attempt > 0 && (attempt as usize).is_multiple_of(n) {
                tokio::time::sleep(backoff.next_delay().unwrap_or(self.cfg.max_backoff)).await;
            }
            let outcome = match self.attempt(node, method, &params).await {
                Ok(v) => decode(&v).map_err(|e| Failure::Retry(format!("undecodable result: {e}"))),
                Err(f) => Err(f),
            };
            match outcome {
                Ok(t) => {
                    self.preferred.store(idx, Ordering::Relaxed);
                    return Ok(t);
                }
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(why)) => {
                    tracing::warn!(node = %node, method, error = %why, "Hive API call failed; trying the next node");
                    last = (node.clone(), why);
                }
                Err(Failure::Heavy(why)) => {
                    tracing::warn!(node = %node, method, error = %why, "Hive API call failed; trying the next node");
                    heavy = true;
                    last = (node.clone(), why);
                }
            }
        }
        Err(HiveError::Exhausted {
            method: method.into(),
            attempts: self.cfg.attempts.max(1),
            node: last.0,
            last: last.1,
            heavy,
        })
    }

    pub async fn dynamic_global_properties(&self) -> Result<DynamicGlobalProperties, HiveError> {
        self.call("condenser_api.get_dynamic_global_properties", json!([]), |v| {
            let num = |k: &str| v.get(k).and_then(Value::as_u64).ok_or_else(|| format!("`{k}` missing"));
            Ok(DynamicGlobalProperties {
                head_block_number: num("head_block_number")?,
                last_irreversible_block_num: num("last_irreversible_block_num")?,
                time: v.get("time").and_then(Value::as_str).unwrap_or("").to_string(),
                head_block_id: v.get("head_block_id").and_then(Value::as_str).unwrap_or("").to_string(),
            })
        })
        .await
    }

    /// Blocks `start..start+count` (count is clamped to Hive's limit of 1000); fewer when the
    /// range runs past the head.
    pub async fn get_block_range(&self, start: u64, count: u32) -> Result<Vec<Block>, HiveError> {
        let count = count.clamp(1, 1000);
        self.call(
            "block_api.get_block_range",
            json!({"starting_block_num": start, "count": count}),
            |v| decode_get_block_range(v).map_err(|e| e.to_string()),
        )
        .await
    }

    /// One block, or `None` when it is not produced yet.
    pub async fn get_block(&self, num: u64) -> Result<Option<Block>, HiveError> {
        self.call("block_api.get_block", json!({"block_num": num}), |v| {
            decode_get_block(v, num).map_err(|e| e.to_string())
        })
        .await
    }

    /// `account`'s liquid HIVE and HBD as the node's state has them (its head block, and the
    /// transactions it holds pending), or `None` when the node knows no such account.
    pub async fn liquid_balances(&self, account: &str) -> Result<Option<LiquidBalances>, HiveError> {
        self.call("condenser_api.get_accounts", json!([[account]]), |v| {
            decode_liquid_balances(v, account)
        })
        .await
    }

    /// Broadcasts a signed transaction (legacy JSON form).
    pub async fn broadcast_transaction(&self, tx: &Value) -> Result<Value, HiveError> {
        self.call("condenser_api.broadcast_transaction", json!([tx]), |v| Ok(v.clone()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liquid_balances_read_legacy_and_nai_assets() {
        let legacy = json!([{"name": "dlux-cc", "balance": "12.345 HIVE", "hbd_balance": "0.001 HBD"}]);
        assert_eq!(
            decode_liquid_balances(&legacy, "dlux-cc"),
            Ok(Some(LiquidBalances { hive: 12_345, hbd: 1 }))
        );
        let nai = json!([{"name": "dlux-cc",
            "balance": {"amount": "7", "precision": 3, "nai": "@@000000021"},
            "hbd_balance": {"amount": "9", "precision": 3, "nai": "@@000000013"}}]);
        assert_eq!(
            decode_liquid_balances(&nai, "dlux-cc"),
            Ok(Some(LiquidBalances { hive: 7, hbd: 9 }))
        );
        assert_eq!(decode_liquid_balances(&json!([]), "dlux-cc"), Ok(None));
        assert_eq!(decode_liquid_balances(&legacy, "someone-else"), Ok(None));
        let swapped = json!([{"name": "dlux-cc", "balance": "1.000 HBD", "hbd_balance": "1.000 HBD"}]);
        assert!(decode_liquid_balances(&swapped, "dlux-cc").is_err());
        let negative = json!([{"name": "dlux-cc", "balance": "-1.000 HIVE", "hbd_balance": "1.000 HBD"}]);
        assert!(decode_liquid_balances(&negative, "dlux-cc").is_err());
        assert!(decode_liquid_balances(&json!({}), "dlux-cc").is_err());
    }
}
