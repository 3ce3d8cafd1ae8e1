//! Read models for the HTTP API and tests, over any backend (`KvSource`): an account's
//! balances, the outflow queue, the paid history, anomalies, the account's books, the
//! signers, the open multi-sig transaction and its signatures, and [`assemble`], which
//! makes the signed transaction a node broadcasts.

use crate::keys::{
    self, decode_u64, Anomaly, AuthorityAnomaly, Coin, OpenTx, Outflow, OutflowState, PaidOutflow, Signers,
};
use opentoken_core::{ChainPos, KvSource};
use opentoken_hive_tx::{Packing, PublicKey, Signature, SignedTransaction, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ViewError {
    #[error("reading multi-sig state: {0}")]
    Read(String),
    #[error("multi-sig state is malformed at {0}")]
    Malformed(String),
}

fn show(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

fn get_u64(src: &dyn KvSource, key: &[u8]) -> Result<u64, ViewError> {
    match src.kv_get(key).map_err(ViewError::Read)? {
        None => Ok(0),
        Some(v) => decode_u64(&v).ok_or_else(|| ViewError::Malformed(show(key))),
    }
}

fn json<T: DeserializeOwned>(key: &[u8], v: &[u8]) -> Result<T, ViewError> {
    serde_json::from_slice(v).map_err(|e| ViewError::Malformed(format!("{}: {e}", show(key))))
}

/// An account's Layer-2 HIVE and HBD, in milli-units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Balances {
    pub account: String,
    pub hive: u64,
    pub hbd: u64,
}

pub fn balances(src: &dyn KvSource, account: &str) -> Result<Balances, ViewError> {
    Ok(Balances {
        account: account.to_string(),
        hive: get_u64(src, &keys::balance(Coin::Hive, account))?,
        hbd: get_u64(src, &keys::balance(Coin::Hbd, account))?,
    })
}

/// An unpaid outflow and its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingView {
    pub seq: u64,
    #[serde(flatten)]
    pub outflow: Outflow,
}

/// A paid outflow and its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaidView {
    pub seq: u64,
    #[serde(flatten)]
    pub paid: PaidOutflow,
}

/// A recorded anomaly and where it was on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnomalyView {
    pub block: u64,
    pub trx_in_block: u32,
    pub op_in_trx: u32,
    #[serde(flatten)]
    pub anomaly: Anomaly,
}

fn numbered<T: DeserializeOwned>(src: &dyn KvSource, prefix: &[u8], limit: usize) -> Result<Vec<(u64, T)>, ViewError> {
    let mut out = Vec::new();
    for (k, v) in src.kv_scan(prefix, limit).map_err(ViewError::Read)? {
        let seq = keys::seq_of(&k, prefix).ok_or_else(|| ViewError::Malformed(show(&k)))?;
        out.push((seq, json(&k, &v)?));
    }
    Ok(out)
}

/// The first `limit` unpaid outflows, oldest first (the order they are paid in).
pub fn pending_outflows(src: &dyn KvSource, limit: usize) -> Result<Vec<PendingView>, ViewError> {
    Ok(numbered(src, keys::OUT_PREFIX, limit)?
        .into_iter()
        .map(|(seq, outflow)| PendingView { seq, outflow })
        .collect())
}

/// One unpaid outflow.
pub fn pending_outflow(src: &dyn KvSource, seq: u64) -> Result<Option<Outflow>, ViewError> {
    let key = keys::outflow(seq);
    src.kv_get(&key)
        .map_err(ViewError::Read)?
        .map(|v| json(&key, &v))
        .transpose()
}

/// The first `limit` kept paid outflows, lowest number first (at most `keep_paid` exist).
pub fn paid_history(src: &dyn KvSource, limit: usize) -> Result<Vec<PaidView>, ViewError> {
    Ok(numbered(src, keys::PAID_PREFIX, limit)?
        .into_iter()
        .map(|(seq, paid)| PaidView { seq, paid })
        .collect())
}

/// The first `limit` kept anomalies, in chain order (at most `keep_anomalies` exist).
pub fn anomalies(src: &dyn KvSource, limit: usize) -> Result<Vec<AnomalyView>, ViewError> {
    let mut out = Vec::new();
    for (k, v) in src.kv_scan(keys::ANOMALY_PREFIX, limit).map_err(ViewError::Read)? {
        let ChainPos {
            block,
            trx_in_block,
            op_in_trx,
        } = keys::pos_of(&k).ok_or_else(|| ViewError::Malformed(show(&k)))?;
        out.push(AnomalyView {
            block,
            trx_in_block,
            op_in_trx,
            anomaly: json(&k, &v)?,
        });
    }
    Ok(out)
}

/// One coin's books, as maintained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoinBooks {
    pub asset: Coin,
    /// What the multi-sig account is expected to hold: deposits in − confirmed outflows out.
    pub held: u64,
    /// The sum of the users' Layer-2 balances.
    pub balances: u64,
    /// The sum of the unpaid outflows.
    pub pending: u64,
    /// What the DEX holds in escrow (buy orders' coin not yet paid back); always 0 on a
    /// chain without a DEX.
    pub dex_held: u64,
    /// What the NFT module holds in escrow (HIVE/HBD auctions' high bids, payments not
    /// yet settled); always 0 on a chain without it. `held = balances + pending +
    /// dex_held + nft_held`.
    pub nft_held: u64,
    /// Everything that ever left the account without paying an outflow. The account's
    /// real Hive balance should be `held - unexplained_out` (plus whatever reached it by
    /// operations other than `transfer`).
    pub unexplained_out: u64,
}

/// Both coins' books.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holdings {
    pub hive: CoinBooks,
    pub hbd: CoinBooks,
    /// Outflows ever queued (the next outflow's number).
    pub outflows_queued: u64,
}

fn coin_books(src: &dyn KvSource, coin: Coin) -> Result<CoinBooks, ViewError> {
    Ok(CoinBooks {
        asset: coin,
        held: get_u64(src, &keys::held(coin))?,
        balances: get_u64(src, &keys::total_balances(coin))?,
        pending: get_u64(src, &keys::total_pending(coin))?,
        dex_held: get_u64(src, &keys::total_dex(coin))?,
        nft_held: get_u64(src, &keys::total_escrow("nft", coin))?,
        unexplained_out: get_u64(src, &keys::total_anomalies(coin))?,
    })
}

pub fn holdings(src: &dyn KvSource) -> Result<Holdings, ViewError> {
    Ok(Holdings {
        hive: coin_books(src, Coin::Hive)?,
        hbd: coin_books(src, Coin::Hbd)?,
        outflows_queued: get_u64(src, keys::SEQ)?,
    })
}

/// The books recounted from the accounts and outflows themselves, compared with the
/// maintained totals (the multi-sig's version of the reference's `/coin` audit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BooksCheck {
    pub ok: bool,
    /// What was wrong, one line each; empty when `ok`.
    pub problems: Vec<String>,
    pub maintained: Holdings,
    /// Per coin: (sum of balances, sum of unpaid outflows) counted key by key.
    pub counted_hive: (u64, u64),
    pub counted_hbd: (u64, u64),
}

/// Counts at most this many keys per prefix; more are reported as a problem.
const SCAN_LIMIT: usize = 1_000_000;

pub fn books_check(src: &dyn KvSource) -> Result<BooksCheck, ViewError> {
    let maintained = holdings(src)?;
    let mut problems = Vec::new();
    let mut counted = [(0u64, 0u64); 2];
    for (i, coin) in Coin::ALL.iter().enumerate() {
        let pairs = src
            .kv_scan(&keys::balances_of(*coin), SCAN_LIMIT)
            .map_err(ViewError::Read)?;
        if pairs.len() == SCAN_LIMIT {
            problems.push(format!("more than {SCAN_LIMIT} {coin} balances: not all counted"));
        }
        for (k, v) in pairs {
            let n = decode_u64(&v).ok_or_else(|| ViewError::Malformed(show(&k)))?;
            counted[i].0 = counted[i].0.saturating_add(n);
        }
    }
    let pending = src.kv_scan(keys::OUT_PREFIX, SCAN_LIMIT).map_err(ViewError::Read)?;
    if pending.len() == SCAN_LIMIT {
        problems.push(format!("more than {SCAN_LIMIT} outflows pending: not all counted"));
    }
    for (k, v) in pending {
        let out: Outflow = json(&k, &v)?;
        let i = usize::from(out.asset == Coin::Hbd);
        counted[i].1 = counted[i].1.saturating_add(out.amount);
    }
    for (books, (bal, out)) in [(&maintained.hive, counted[0]), (&maintained.hbd, counted[1])] {
        let coin = books.asset;
        if bal != books.balances {
            problems.push(format!(
                "{coin}: balances count {bal}, the total says {}",
                books.balances
            ));
        }
        if out != books.pending {
            problems.push(format!(
                "{coin}: outflows count {out}, the total says {}",
                books.pending
            ));
        }
        // The modules' escrows are counted by the modules (the DEX's orders, the NFT
        // module's bids), not here: the maintained totals.
        let (dex, nft) = (books.dex_held, books.nft_held);
        if bal
            .checked_add(out)
            .and_then(|n| n.checked_add(dex))
            .and_then(|n| n.checked_add(nft))
            != Some(books.held)
        {
            problems.push(format!(
                "{coin}: held {} != balances {bal} + pending {out} + DEX escrow {dex} + NFT escrow {nft}",
                books.held
            ));
        }
    }
    Ok(BooksCheck {
        ok: problems.is_empty(),
        problems,
        maintained,
        counted_hive: counted[0],
        counted_hbd: counted[1],
    })
}

/// The signers and the signatures a transaction needs, once the nodes module named them.
pub fn signers(src: &dyn KvSource) -> Result<Option<Signers>, ViewError> {
    src.kv_get(keys::SIGNERS)
        .map_err(ViewError::Read)?
        .map(|v| json(keys::SIGNERS, &v))
        .transpose()
}

/// The keys a signer's agent reads ([`signers`], [`wanted_signers`], [`open_transaction`]):
/// the signer lists, the open transaction, its signatures and its outflows. Bounded (at most
/// `max_outflows_per_tx` outflows and 40 signatures), so a node can serve them to its
/// distributed agent (`GET /v1/state/multisig`) instead of the whole state, which holds
/// every user's balance.
pub fn duty_pairs(src: &dyn KvSource) -> Result<opentoken_core::state::KvPairs, ViewError> {
    let mut out = Vec::new();
    for key in [keys::SIGNERS, keys::WANTED] {
        if let Some(v) = src.kv_get(key).map_err(ViewError::Read)? {
            out.push((key.to_vec(), v));
        }
    }
    let open = src.kv_scan(keys::TX_PREFIX, 1).map_err(ViewError::Read)?;
    for (k, v) in open {
        let tx: OpenTx = json(&k, &v)?;
        out.extend(
            src.kv_scan(&keys::sigs_of(tx.checkpoint), crate::signers::MAX_SIGNERS + 1)
                .map_err(ViewError::Read)?,
        );
        for seq in &tx.seqs {
            let key = keys::outflow(*seq);
            if let Some(v) = src.kv_get(&key).map_err(ViewError::Read)? {
                out.push((key, v));
            }
        }
        out.push((k, v));
    }
    out.sort();
    Ok(out)
}

/// The safety limit as the module applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SafetyView {
    /// The stake of the cheapest coalition of signers able to sign (token base units);
    /// `None` before the nodes module said it.
    pub collateral: Option<u64>,
    /// Per coin, the most the account may hold (milli-units); `None` without a
    /// `safety_price` in the chain spec (no limit).
    pub limit_hive: Option<u64>,
    pub limit_hbd: Option<u64>,
}

/// The safety limit of a module configured with `cfg`, whose token has `scale` base units
/// per whole token.
pub fn safety(src: &dyn KvSource, cfg: &crate::MultisigConfig, scale: u64) -> Result<SafetyView, ViewError> {
    let collateral = match src.kv_get(keys::COLLATERAL).map_err(ViewError::Read)? {
        None => None,
        Some(v) => Some(decode_u64(&v).ok_or_else(|| ViewError::Malformed(show(keys::COLLATERAL)))?),
    };
    let stake = collateral.unwrap_or(0);
    Ok(SafetyView {
        collateral,
        limit_hive: cfg.safety_price.map(|p| crate::safety::limit(stake, p.hive, scale)),
        limit_hbd: cfg.safety_price.map(|p| crate::safety::limit(stake, p.hbd, scale)),
    })
}

/// The signers the account's authority is to rotate to, when the runner set changed and
/// the rotation is not on chain yet.
pub fn wanted_signers(src: &dyn KvSource) -> Result<Option<Signers>, ViewError> {
    src.kv_get(keys::WANTED)
        .map_err(ViewError::Read)?
        .map(|v| json(keys::WANTED, &v))
        .transpose()
}

/// A recorded change of the account's authority that the module did not build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorityAnomalyView {
    pub block: u64,
    pub trx_in_block: u32,
    pub op_in_trx: u32,
    #[serde(flatten)]
    pub anomaly: AuthorityAnomaly,
}

/// The first `limit` kept authority anomalies, in chain order.
pub fn authority_anomalies(src: &dyn KvSource, limit: usize) -> Result<Vec<AuthorityAnomalyView>, ViewError> {
    let mut out = Vec::new();
    for (k, v) in src.kv_scan(keys::AUTH_ANOMALY_PREFIX, limit).map_err(ViewError::Read)? {
        let ChainPos {
            block,
            trx_in_block,
            op_in_trx,
        } = keys::pos_of(&k).ok_or_else(|| ViewError::Malformed(show(&k)))?;
        out.push(AuthorityAnomalyView {
            block,
            trx_in_block,
            op_in_trx,
            anomaly: json(&k, &v)?,
        });
    }
    Ok(out)
}

/// An accepted signature of the open transaction, with the key it recovers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureView {
    pub account: String,
    pub key: String,
    /// 65 bytes, lower-case hex.
    pub sig: String,
}

/// The open multi-sig transaction: what it is, what it pays, who signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenTxView {
    /// The multi-sig account: every transfer's `from`.
    pub account: String,
    #[serde(flatten)]
    pub tx: OpenTx,
    /// Its outflows still unpaid, in the transaction's order.
    pub outflows: Vec<PendingView>,
    /// Its outflows already paid by another transfer (someone paid one by hand). While any
    /// is, broadcasting the transaction would pay it twice: it is not `ready` and
    /// [`assemble`] refuses it; it expires and the rest go into a new one.
    pub paid: Vec<u64>,
    /// The accepted signatures, in signer (account) order.
    pub signatures: Vec<SignatureView>,
    pub threshold: u32,
    /// Whether [`assemble`] can make it: at least `threshold` signatures and nothing of it
    /// paid elsewhere.
    pub ready: bool,
}

/// The open transaction of `account` (the module's multi-sig account), if one is open.
pub fn open_transaction(src: &dyn KvSource, account: &str) -> Result<Option<OpenTxView>, ViewError> {
    let Some((k, v)) = src
        .kv_scan(keys::TX_PREFIX, 1)
        .map_err(ViewError::Read)?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let tx: OpenTx = json(&k, &v)?;
    let (mut outflows, mut paid) = (Vec::new(), Vec::new());
    for seq in &tx.seqs {
        match pending_outflow(src, *seq)? {
            Some(outflow) if outflow.state == OutflowState::InTx(tx.checkpoint) => {
                outflows.push(PendingView { seq: *seq, outflow })
            }
            Some(_) => {
                return Err(ViewError::Malformed(format!(
                    "out/{seq} is not in the open transaction"
                )))
            }
            None => paid.push(*seq),
        }
    }
    let list = signers(src)?.ok_or_else(|| ViewError::Malformed("a transaction is open without signers".into()))?;
    let mut signatures = Vec::new();
    for (k, v) in src
        .kv_scan(&keys::sigs_of(tx.checkpoint), list.signers.len() + 1)
        .map_err(ViewError::Read)?
    {
        let (_, who) = keys::sig_of(&k).ok_or_else(|| ViewError::Malformed(show(&k)))?;
        let signer = list
            .signers
            .iter()
            .find(|s| s.account == who)
            .ok_or_else(|| ViewError::Malformed(format!("a signature by @{who}, who is not a signer")))?;
        signatures.push(SignatureView {
            account: who.to_string(),
            key: signer.key.clone(),
            sig: String::from_utf8(v).map_err(|_| ViewError::Malformed(show(&k)))?,
        });
    }
    let ready = paid.is_empty() && signatures.len() >= list.threshold as usize;
    Ok(Some(OpenTxView {
        account: account.to_string(),
        tx,
        outflows,
        paid,
        signatures,
        threshold: list.threshold,
        ready,
    }))
}

/// The signed transaction in Hive's condenser (legacy) JSON, as
/// `condenser_api.broadcast_transaction` takes it, with exactly `threshold` signatures:
/// the first ones in signer order that recover to their signer's key over the digest.
/// Every node that holds the same view makes the same JSON, so their broadcasts are one
/// transaction. `None` when it cannot be made safely: too few signatures, an outflow of
/// it already paid elsewhere, or a view whose outflows do not give the transaction's id.
pub fn assemble(view: &OpenTxView) -> Option<serde_json::Value> {
    if !view.paid.is_empty() || view.threshold == 0 {
        return None;
    }
    let operations = match &view.tx.rotate {
        Some(to) => vec![crate::rotate::rotation_op(&view.account, to).ok()?],
        None => view
            .outflows
            .iter()
            .map(|p| crate::build::transfer_op(&view.account, &p.outflow).ok())
            .collect::<Option<Vec<_>>>()?,
    };
    let tx = Transaction {
        ref_block_num: view.tx.ref_block_num,
        ref_block_prefix: view.tx.ref_block_prefix,
        expiration: u32::try_from(view.tx.expiration).ok()?,
        operations,
    };
    if tx.id(Packing::Legacy) != view.tx.txid {
        return None;
    }
    let digest: [u8; 32] = crate::state::from_lower_hex(&view.tx.digest)?.try_into().ok()?;
    let signatures: Vec<Signature> = view
        .signatures
        .iter()
        .filter_map(|s| {
            let key = PublicKey::from_string(&s.key).ok()?;
            let sig = Signature::from_hex(&s.sig).ok()?;
            (sig.is_low_s() && key.verify(&digest, &sig)).then_some(sig)
        })
        .take(view.threshold as usize)
        .collect();
    if signatures.len() < view.threshold as usize {
        return None;
    }
    Some(SignedTransaction { tx, signatures }.to_condenser_json())
}
