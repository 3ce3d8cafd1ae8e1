//! The community's multi-sig account on a chain that runs the multisig module: `/@:account`'s
//! Layer-2 HIVE and HBD, and `/api/multisig`, what the account holds for its users, who
//! signs for it, the transaction open for signatures and the outflows it owes and paid.
//!
//! `/api/multisig` reads a few hundred keys at most (the open transaction's outflows and
//! signatures, the first [`PENDING_SHOWN`] outflows, a bounded walk for the last
//! [`PAID_SHOWN`] paid ones), so it runs as a heavy route (slots, per-client rate).

use crate::client::ClientIp;
use crate::reply::{fail, unavailable};
use crate::{ApiState, App};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use opentoken_multisig::keys::{self, decode_u64, PaidOutflow};
use opentoken_multisig::views::{self, PaidView, ViewError};
use opentoken_store::ModuleKv;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Unpaid outflows shown, oldest first (the order they are paid in).
pub(crate) const PENDING_SHOWN: usize = 50;
/// Paid outflows shown, newest first.
pub(crate) const PAID_SHOWN: usize = 20;
/// Authority anomalies shown (the oldest kept ones; the module keeps `keep_anomalies`).
pub(crate) const ANOMALIES_SHOWN: usize = 20;
/// Outflow numbers are grouped by 256 (a `paid/` key prefix without its last byte); the walk
/// for the newest paid ones reads at most this many groups, 4096 numbers back from the
/// newest outflow. Outflows are paid roughly in number order, so the newest paid ones are
/// there unless thousands are pending.
const PAID_GROUPS: u64 = 16;

impl ApiState {
    /// Whether the chain runs the multisig module: the registry runs it exactly when the
    /// spec has its section.
    pub(crate) fn has_multisig(&self) -> bool {
        self.spec.module_config(opentoken_multisig::NAME).is_some()
    }

    pub(crate) fn multisig_kv(&self) -> ModuleKv<'_> {
        ModuleKv {
            store: self.store.as_ref(),
            module: opentoken_multisig::NAME,
        }
    }

    /// `hive_l2` and `hbd_l2` of `/@:account`: the account's Layer-2 HIVE and HBD in
    /// milli-units (integers, as `balance` is in the token's base units). Absent on a chain
    /// without the multisig module, where nobody has any.
    pub(crate) fn add_l2_balances(&self, account: &str, body: &mut Map<String, Value>) -> Result<(), ViewError> {
        if !self.has_multisig() {
            return Ok(());
        }
        let b = views::balances(&self.multisig_kv(), account)?;
        body.insert("hive_l2".into(), json!(b.hive));
        body.insert("hbd_l2".into(), json!(b.hbd));
        Ok(())
    }
}

/// The last `limit` paid outflows, newest first, from the groups of 256 numbers below the
/// next outflow's number (at most [`PAID_GROUPS`] of them).
fn recent_paid(src: &ModuleKv<'_>, limit: usize) -> Result<Vec<PaidView>, ViewError> {
    use opentoken_core::KvSource;
    let next = match src.kv_get(keys::SEQ).map_err(ViewError::Read)? {
        None => return Ok(Vec::new()),
        Some(v) => decode_u64(&v).ok_or_else(|| ViewError::Malformed("seq".into()))?,
    };
    let Some(newest) = next.checked_sub(1) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut group = newest >> 8;
    for _ in 0..PAID_GROUPS {
        let mut prefix = keys::PAID_PREFIX.to_vec();
        prefix.extend_from_slice(&group.to_be_bytes()[1..]);
        for (k, v) in src.kv_scan(&prefix, 256).map_err(ViewError::Read)?.into_iter().rev() {
            if out.len() == limit {
                return Ok(out);
            }
            let seq = keys::seq_of(&k, keys::PAID_PREFIX)
                .ok_or_else(|| ViewError::Malformed(String::from_utf8_lossy(&k).into_owned()))?;
            let paid: PaidOutflow =
                serde_json::from_slice(&v).map_err(|e| ViewError::Malformed(format!("paid/{seq}: {e}")))?;
            out.push(PaidView { seq, paid });
        }
        if out.len() == limit || group == 0 {
            break;
        }
        group -= 1;
    }
    Ok(out)
}

/// An outflow as `/api/multisig` lists it: the module's view and `id`, the outflow's stable
/// id (`opentoken_core::id::outflow` of its number), the same from queued to paid and on
/// every node, by which a consumer drops an outflow it already has.
#[derive(Debug, Serialize)]
struct Identified<T> {
    id: String,
    #[serde(flatten)]
    view: T,
}

/// `views` with their ids in `community`; `seq` gives an outflow's number.
fn identified<'a, T>(community: &str, views: &'a [T], seq: impl Fn(&T) -> u64) -> Vec<Identified<&'a T>> {
    views
        .iter()
        .map(|view| Identified {
            id: opentoken_core::id::outflow(community, opentoken_multisig::NAME, seq(view)).to_string(),
            view,
        })
        .collect()
}

/// The block the multisig module's committed books are at (`None` before its first commit,
/// or when the store cannot say).
fn books_block(api: &ApiState) -> Option<u64> {
    api.store
        .progress(opentoken_multisig::NAME)
        .ok()
        .flatten()
        .map(|p| p.block)
}

fn multisig_body(api: &ApiState) -> Result<Map<String, Value>, ViewError> {
    // The block the books were committed at (read before them: a commit landing in between
    // makes the books newer, never older, than this).
    let block = books_block(api);
    let src = api.multisig_kv();
    let account = api.spec.msaccount.clone();
    let community = api.spec.name.as_str();
    let mut pending = views::pending_outflows(&src, PENDING_SHOWN + 1)?;
    let more_pending = pending.len() > PENDING_SHOWN;
    pending.truncate(PENDING_SHOWN);
    let to_json = |v: Result<Value, serde_json::Error>| v.map_err(|e| ViewError::Malformed(e.to_string()));
    let mut body = Map::new();
    body.insert("account".into(), json!(account));
    body.insert("block".into(), json!(block));
    body.insert(
        "holdings".into(),
        to_json(serde_json::to_value(views::holdings(&src)?))?,
    );
    body.insert("signers".into(), to_json(serde_json::to_value(views::signers(&src)?))?);
    if let Ok(cfg) = opentoken_multisig::MultisigConfig::from_spec(&api.spec) {
        let scale = 10u64.pow(u32::from(api.spec.precision));
        body.insert(
            "safety".into(),
            to_json(serde_json::to_value(views::safety(&src, &cfg, scale)?))?,
        );
    }
    body.insert(
        "rotating_to".into(),
        to_json(serde_json::to_value(views::wanted_signers(&src)?))?,
    );
    body.insert(
        "authority_anomalies".into(),
        to_json(serde_json::to_value(views::authority_anomalies(&src, ANOMALIES_SHOWN)?))?,
    );
    let open = match views::open_transaction(&src, &account)? {
        None => Value::Null,
        Some(tx) => {
            let mut open = to_json(serde_json::to_value(&tx))?;
            let outflows = to_json(serde_json::to_value(identified(community, &tx.outflows, |p| p.seq)))?;
            if let Value::Object(fields) = &mut open {
                fields.insert("outflows".into(), outflows);
            }
            open
        }
    };
    body.insert("open_transaction".into(), open);
    body.insert(
        "pending".into(),
        to_json(serde_json::to_value(identified(community, &pending, |p| p.seq)))?,
    );
    body.insert("pending_more".into(), json!(more_pending));
    body.insert(
        "paid".into(),
        to_json(serde_json::to_value(identified(
            community,
            &recent_paid(&src, PAID_SHOWN)?,
            |p| p.seq,
        )))?,
    );
    body.insert("limits".into(), json!({"pending": PENDING_SHOWN, "paid": PAID_SHOWN}));
    // What the node's agent last observed of the account on Hive (expected and observed
    // balances per coin, any alarm); `null` until it has checked, and on a node without an
    // agent. Not consensus state.
    let observed = api
        .telemetry
        .document("ms_reconcile")
        .and_then(|d| serde_json::from_str::<Value>(&d).ok());
    body.insert("reconciliation".into(), observed.unwrap_or(Value::Null));
    Ok(body)
}

/// `/api/multisig`: the `block` its books are at, the multi-sig account's books (`holdings`: per coin what it should hold,
/// the users' balances, the unpaid outflows and what left it unexplained), its `signers`
/// and threshold, `rotating_to` (the signers the account's authority is being rotated to
/// after the runner set changed, or `null`), the oldest `authority_anomalies` (changes of
/// the account's authority the module did not build), the `open_transaction` with its
/// accepted signatures (or `null`; a rotation carries `rotate`), the
/// first `pending` outflows (`pending_more` when there are others) and the newest `paid`
/// ones (every outflow listed with its `id`), and the `reconciliation` (the node's last
/// comparison of the books with the account's balance on Hive: expected and observed per
/// coin, or `null`). 404 on a chain without the multisig module.
pub(crate) async fn multisig(State(app): State<Arc<App>>, client: ClientIp) -> Response {
    if !app.api.has_multisig() {
        return fail(StatusCode::NOT_FOUND, "this chain runs no multi-sig module");
    }
    let work = app.clone();
    app.heavy
        .run(&app.heavy.multisig, client, move || {
            let s = &work.api;
            match multisig_body(s) {
                Ok(body) => s.envelope(body).into_response(),
                Err(e) => unavailable("reading the multisig module", e),
            }
        })
        .await
}

/// `/v1/state/multisig`: what a distributed node's agent (`opentoken checkpoint
/// --ms-key-file`) needs to sign and broadcast for the multi-sig account, as
/// `/v1/state/nodes` serves the nodes module: `{processed_block, pairs: [[key hex, value
/// hex], ...]}` of the signer lists, the open transaction, its signatures and its
/// outflows (`views::duty_pairs`; bounded, never the users' balances). 404 on a chain
/// without the multisig module.
pub(crate) async fn duty_state(State(app): State<Arc<App>>, client: ClientIp) -> Response {
    if !app.api.has_multisig() {
        return fail(StatusCode::NOT_FOUND, "this chain runs no multi-sig module");
    }
    let work = app.clone();
    app.heavy
        .run(&app.heavy.multisig, client, move || {
            let s = &work.api;
            let processed_block = books_block(s);
            match views::duty_pairs(&s.multisig_kv()) {
                Ok(pairs) => axum::Json(opentoken_store::ModuleStateDoc {
                    processed_block,
                    pairs: pairs.iter().map(|(k, v)| (hex::encode(k), hex::encode(v))).collect(),
                })
                .into_response(),
                Err(e) => unavailable("reading the multisig module", e),
            }
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::test_utils::test_spec;
    use opentoken_multisig::keys::{Coin, OutflowReason};
    use opentoken_store::{CommitBatch, EmbeddedStore, ModuleCommit, Progress, Store};

    fn paid(seq: u64) -> (Vec<u8>, Option<Vec<u8>>) {
        let p = PaidOutflow {
            to: "bob".into(),
            amount: seq + 1,
            asset: Coin::Hive,
            memo: format!("ot:{seq}"),
            reason: OutflowReason::Withdrawal,
            created_block: 1,
            paid_block: 2,
            txid: "00".repeat(20),
        };
        (keys::paid(seq), Some(serde_json::to_vec(&p).unwrap()))
    }

    fn store_with(changes: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let db = opentoken_log::embedded::open_database(&dir.path().join("db.redb")).unwrap();
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::new(db).unwrap());
        store
            .commit(&CommitBatch {
                modules: vec![ModuleCommit {
                    module: "multisig".into(),
                    changes,
                    lattice: Vec::new(),
                    progress: Progress {
                        block: 1,
                        next_offset: 1,
                    },
                    snapshot: None,
                }],
                ..Default::default()
            })
            .unwrap();
        (dir, store)
    }

    fn seqs((_, store): &(tempfile::TempDir, Arc<dyn Store>), limit: usize) -> Vec<u64> {
        let src = ModuleKv {
            store: store.as_ref(),
            module: "multisig",
        };
        recent_paid(&src, limit).unwrap().into_iter().map(|p| p.seq).collect()
    }

    /// The newest paid outflows come first, across groups of 256 numbers, and the walk stops
    /// after its groups whatever is older.
    #[test]
    fn recent_paid_walks_back_from_the_newest_outflow() {
        assert!(seqs(&store_with(vec![]), 5).is_empty(), "no outflow yet");
        let mut changes: Vec<_> = [3u64, 250, 255, 256, 257, 700].into_iter().map(paid).collect();
        changes.push((keys::SEQ.to_vec(), Some(keys::encode_u64(702))));
        let store = store_with(changes);
        assert_eq!(seqs(&store, 4), [700, 257, 256, 255]);
        assert_eq!(seqs(&store, 100), [700, 257, 256, 255, 250, 3]);
        assert_eq!(seqs(&store, 0), Vec::<u64>::new());

        let far = 10_000u64;
        let store = store_with(vec![
            paid(1),
            paid(far - 1),
            (keys::SEQ.to_vec(), Some(keys::encode_u64(far))),
        ]);
        assert_eq!(seqs(&store, 10), [far - 1], "outflow 1 is beyond the walk");
    }

    #[tokio::test]
    async fn l2_balances_and_the_route_only_where_the_module_runs() {
        let (dir, store) = store_with(vec![(keys::balance(Coin::Hbd, "alice"), Some(keys::encode_u64(1500)))]);
        let db = opentoken_log::embedded::open_database(&dir.path().join("log.redb")).unwrap();
        let mut api = ApiState {
            spec: Arc::new(test_spec()),
            store,
            log: Arc::new(opentoken_log::EmbeddedLog::new(db).unwrap()),
            telemetry: Arc::new(opentoken_telemetry::Telemetry::new()),
            node: String::new(),
            version: "test".into(),
            modules: vec![],
        };
        let mut body = Map::new();
        api.add_l2_balances("alice", &mut body).unwrap();
        assert!(body.is_empty(), "no multisig module: no fields");
        assert_eq!(route(&api).await, 404, "no multisig module: no route");
        api.spec = Arc::new(test_spec().with_module("multisig", json!({})));
        api.add_l2_balances("alice", &mut body).unwrap();
        assert_eq!(body["hive_l2"], 0);
        assert_eq!(body["hbd_l2"], 1500);
        assert_eq!(route(&api).await, 200);
    }

    async fn route(api: &ApiState) -> u16 {
        use tower::ServiceExt;
        let request = axum::http::Request::get("/api/multisig")
            .body(axum::body::Body::empty())
            .unwrap();
        crate::router(api.clone())
            .oneshot(request)
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}
