//! A local Hive node simulator: JSON-RPC on 127.0.0.1 serving a chain it produces.
//!
//! It stands in for a Hive API node in tests and in `make run` (there is no Hive network
//! here). The chain is deterministic: block N depends only on (seed, N), on the accounts'
//! state after block N - 1 (generated transfers must be affordable: [`crate::ledger`]) and
//! on transactions broadcast to it, which go into the next produced block. Blocks are
//! produced lazily from the wall clock (`prefill` at start, then one per `block_interval`)
//! and kept, so repeated queries return identical JSON.
//!
//! Accounts hold HIVE and HBD and owner/active/posting authorities; broadcasts are checked
//! against them as a Hive node checks them (multi-signature thresholds, irrelevant and
//! duplicate signatures, funds, existing recipients), and `condenser_api.get_accounts` /
//! `database_api.find_accounts` serve them.

use crate::authority::Required;
use crate::broadcast;
use crate::dex_traffic::{dex_count, dex_transaction, DexOrders, Placement};
use crate::ledger::{Account, Budget, GenesisConfig, Ledger};
use crate::nft_traffic::{nft_count, nft_transaction, NftShadow};
use crate::pob_traffic::pob_transactions;
use crate::seal::{seal, SealedBlock};
use crate::traffic::{multisig_count, multisig_op, op, Rng, TrafficConfig};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use opentoken_core::hive_json::{decode_op, encode_tx_appbase, format_timestamp, TxEnvelope};
use opentoken_core::{Block, CustomJsonOp, HiveOp, Transaction};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    pub seed: u64,
    pub first_block: u64,
    pub block_interval: Duration,
    /// Blocks available immediately at start.
    pub prefill_blocks: u64,
    /// Blocks between the head and the last irreversible block.
    pub irreversible_lag: u64,
    pub traffic: TrafficConfig,
    /// The accounts at genesis: balances of the acting accounts, accounts that exist empty
    /// (the multi-sig account).
    pub genesis: GenesisConfig,
    /// Serve a tampered chain instead of the real one (an API node that lies), for tests
    /// of a follower's defences; `None` for an honest node.
    pub tamper: Option<Tamper>,
}

/// How a lying simulator changes what it serves: from block `from` on, every block whose
/// number is a multiple of `every` gains a transaction moving `amount` of the community
/// token from the first traffic account to `to` (a theft the chain never saw).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tamper {
    pub mode: TamperMode,
    pub from: u64,
    pub every: u64,
    pub to: String,
    pub amount: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TamperMode {
    /// Insert the transaction and list a made-up id; the header is left as it was.
    Insert,
    /// Insert it and recompute everything a block's integrity rests on (transaction id,
    /// merkle root, block id, every later `previous`): a consistent chain, only not Hive's.
    Forge,
}

/// Genesis time of every simulated chain (block `first_block`).
pub(crate) const GENESIS_TIME: u64 = 1_735_689_600; // 2025-01-01T00:00:00

/// The id the simulated chain's first block names as `previous` (a block outside it).
fn genesis_previous(seed: u64, num: u64) -> String {
    if num == 0 {
        return "0".repeat(40);
    }
    let mut h = Sha256::new();
    h.update(b"opentoken/devnet/block");
    h.update(seed.to_le_bytes());
    h.update(num.to_le_bytes());
    let d = h.finalize();
    format!("{:08x}{}", num as u32, hex::encode(&d[..16]))
}

/// The producers of simulated blocks, in turn.
const WITNESSES: [&str; 3] = ["witness-a", "witness-b", "witness-c"];

/// The accounts of the chain `cfg` describes, at genesis.
fn genesis_ledger(cfg: &SimConfig) -> Ledger {
    Ledger::genesis(&cfg.traffic, &cfg.genesis, &WITNESSES, GENESIS_TIME)
}

/// Checks a broadcast transaction's expiration and TaPoS as a Hive node would; returns
/// the head block's time.
fn check_tapos(s: &Shared, head: u64, t: &opentoken_hive_tx::Transaction) -> Result<u64, (i64, String)> {
    let head_block = s.block(head).ok_or((-32000, "no head block yet".to_string()))?;
    let exp = u64::from(t.expiration);
    if exp <= head_block.timestamp || exp > head_block.timestamp + 3600 {
        return Err((
            -32000,
            format!(
                "transaction expiration {} must be after the head block time {} and at most 3600 s after it",
                format_timestamp(exp),
                format_timestamp(head_block.timestamp)
            ),
        ));
    }
    let tapos_ok = (head.saturating_sub(65_535).max(s.cfg.first_block)..=head).any(|n| {
        (n & 0xFFFF) as u16 == t.ref_block_num
            && s.block(n).is_some_and(|b| {
                hex::decode(&b.id)
                    .ok()
                    .filter(|id| id.len() == 20)
                    .is_some_and(|id| u32::from_le_bytes([id[4], id[5], id[6], id[7]]) == t.ref_block_prefix)
            })
    });
    if !tapos_ok {
        return Err((
            -32000,
            "transaction tapos exception: ref_block_num/prefix name no recent block".into(),
        ));
    }
    Ok(head_block.timestamp)
}

/// Accepts a broadcast transaction for the next block as a Hive node would: expiration and
/// TaPoS; signatures (none twice) whose keys satisfy every authority the operations need,
/// by the accounts' current authorities (`crate::authority`), with no signature left
/// unused; not a transaction already known; operations that apply (funds for transfers,
/// existing recipients, valid authority updates) on top of the transactions already
/// pending. Returns `{id}`: its real transaction id.
fn accept_broadcast(s: &Shared, head: u64, json: &Value) -> Result<Value, (i64, String)> {
    let ops = json
        .get("operations")
        .and_then(Value::as_array)
        .ok_or((-32602, "transaction has no operations".into()))?;
    if ops.is_empty() {
        return Err((-32000, "transaction must have at least one operation".into()));
    }
    let t = broadcast::parse(json).map_err(|e| (-32602, e))?;
    let head_time = check_tapos(s, head, &t)?;
    let sigs = json
        .get("signatures")
        .and_then(Value::as_array)
        .ok_or((-32602, "transaction has no signatures list".to_string()))?
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| "signature is not a string".to_string())
                .and_then(|h| opentoken_hive_tx::Signature::from_hex(h).map_err(|e| e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (-32602, e))?;
    let size = t.to_bytes(opentoken_hive_tx::Packing::Legacy).len() + 65 * sigs.len();
    if size > broadcast::MAX_TRANSACTION_SIZE {
        return Err((
            -32000,
            format!(
                "transaction is {size} bytes, more than {}",
                broadcast::MAX_TRANSACTION_SIZE
            ),
        ));
    }
    let recovered = broadcast::recover(&t, &sigs).map_err(|e| (-32000, e))?;
    let required = Required::of(&t.operations);

    let mut chain = s.lock();
    let mut ledger = chain.pending_ledger.clone();
    ledger
        .ensure_signers(&required, head_time)
        .map_err(|e| (-32000, e.to_string()))?;
    let packing = broadcast::authorize(&ledger, &required, &recovered).map_err(|e| (-32000, e.to_string()))?;
    let txid = t.id(packing);
    let known = chain.pending.iter().any(|p| p.tx.txid == txid)
        || chain
            .blocks
            .iter()
            .rev()
            .take(1200)
            .any(|b| b.block.transactions.iter().any(|t| t.txid == txid));
    if known {
        return Err((-32000, format!("Duplicate transaction check failed: {txid}")));
    }
    ledger
        .apply_all(&t.operations, head_time)
        .map_err(|e| (-32000, e.to_string()))?;

    // What the block will hold: the operations as the node re-serializes them (sorted
    // sets), with the envelope as broadcast; checked to seal to the same id now, so a
    // transaction the sealer could not serialize is refused here rather than stop the chain.
    let canonical = opentoken_hive_tx::SignedTransaction {
        tx: t.clone(),
        signatures: sigs.clone(),
    }
    .to_condenser_json();
    let operations = canonical["operations"]
        .as_array()
        .map(|ops| ops.iter().map(decode_op).collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|| Ok(Vec::new()))
        .map_err(|e| (-32602, format!("bad operation: {e}")))?;
    let envelope = TxEnvelope {
        ref_block_num: t.ref_block_num,
        ref_block_prefix: t.ref_block_prefix,
        expiration: u64::from(t.expiration),
        signatures: sigs.iter().map(|s| hex::encode(s.as_bytes())).collect(),
    };
    let tx = Transaction {
        txid: txid.clone(),
        operations,
    };
    let serializable = opentoken_hive_tx::transaction_json_ids(&encode_tx_appbase(&tx, &envelope))
        .map_err(|e| e.to_string())
        .and_then(|(legacy, hf26)| {
            if txid == legacy || txid == hf26 {
                Ok(())
            } else {
                Err(format!("it would be sealed as {legacy}, not {txid}"))
            }
        });
    if let Err(e) = serializable {
        return Err((-32000, format!("the simulator cannot include this transaction: {e}")));
    }
    chain.pending.push(Pending {
        tx,
        envelope,
        ops: t.operations,
    });
    chain.pending_ledger = ledger;
    Ok(json!({ "id": txid }))
}

/// A broadcast transaction waiting for the next block.
struct Pending {
    tx: Transaction,
    envelope: TxEnvelope,
    /// Its operations as the ledger applies them.
    ops: Vec<opentoken_hive_tx::Operation>,
}

/// What [`produce`] made of a block before sealing.
struct Produced {
    content: Block,
    /// Each transaction's envelope (`None`: generated).
    envelopes: Vec<Option<TxEnvelope>>,
    /// The DEX orders its generated transactions place (for [`DexOrders::record`] once
    /// sealing has given the transactions their ids).
    placed: Vec<Placement>,
}

/// Block `num` before sealing, applied to `ledger` (the state after block `num - 1`):
/// the generated traffic the chain can hold (transfers it could not afford are left out),
/// then, when the traffic names a multi-sig account, deposits to it and withdrawal
/// requests (from their own random stream, affordable from `ledger` and the pending
/// transactions' needs), then, when it names a DEX too, DEX orders and cancellations of
/// the orders in `orders` (their own stream, affordable the same way), then, when it names
/// an NFT module, NFT ops valid against `nft` (their own stream; custom_json only, so the
/// ledger has nothing to cover), then the broadcast transactions `pending`. Deterministic
/// in (`cfg`, `num`, `ledger`, `orders`, `nft`, `pending`).
fn produce(
    cfg: &SimConfig,
    ledger: &mut Ledger,
    orders: &mut DexOrders,
    nft: &mut NftShadow,
    num: u64,
    pending: Vec<Pending>,
) -> Produced {
    let mut content = block_content(cfg, num);
    let now = content.timestamp;
    let needs: Vec<&[opentoken_hive_tx::Operation]> = pending.iter().map(|p| p.ops.as_slice()).collect();
    let mut budget = Budget::new(ledger, &needs, now);
    content
        .transactions
        .retain(|tx| ledger.apply_generated(tx, &mut budget));
    if let Some(ms) = cfg.traffic.msaccount.as_deref() {
        let mut rng = Rng::new(cfg.seed, num, b"multisig");
        for _ in 0..multisig_count(&mut rng) {
            let Some(op) = multisig_op(&cfg.traffic, ms, &mut rng, |a, sym| budget.available(a, sym)) else {
                continue;
            };
            let tx = Transaction {
                txid: String::new(),
                operations: vec![op],
            };
            if ledger.apply_generated(&tx, &mut budget) {
                content.transactions.push(tx);
            }
        }
    }
    let mut placed = Vec::new();
    if let (Some(ms), Some(dex)) = (cfg.traffic.msaccount.as_deref(), cfg.traffic.dex.as_ref()) {
        let mut rng = Rng::new(cfg.seed, num, b"dex");
        let count = dex.per_block.map_or_else(|| dex_count(&mut rng), u64::from);
        for _ in 0..count {
            let Some(made) = dex_transaction(&cfg.traffic, dex, ms, &mut rng, orders, |a, sym| {
                budget.available(a, sym)
            }) else {
                continue;
            };
            let tx = Transaction {
                txid: String::new(),
                operations: made.operations,
            };
            if ledger.apply_generated(&tx, &mut budget) {
                orders.forget(&made.cancels);
                let index = content.transactions.len();
                placed.extend(
                    made.placed
                        .into_iter()
                        .map(|(op, from)| Placement { tx: index, op, from }),
                );
                content.transactions.push(tx);
            }
        }
    }
    if let Some(t) = cfg.traffic.nft.as_ref() {
        let mut rng = Rng::new(cfg.seed, num, b"nft");
        nft.begin(t, num);
        let count = t.per_block.map_or_else(|| nft_count(&mut rng), u64::from);
        for _ in 0..count {
            let index = content.transactions.len();
            if let Some(made) = nft_transaction(&cfg.traffic, t, nft, &mut rng, index) {
                content.transactions.push(Transaction {
                    txid: String::new(),
                    operations: made.operations,
                });
            }
        }
    }
    if let Some(t) = cfg.traffic.pob.as_ref() {
        let mut rng = Rng::new(cfg.seed, num, b"pob");
        for operations in pob_transactions(&cfg.traffic, t, &mut rng, num) {
            content.transactions.push(Transaction {
                txid: String::new(),
                operations,
            });
        }
    }
    let mut envelopes: Vec<Option<TxEnvelope>> = vec![None; content.transactions.len()];
    for p in pending {
        match ledger.apply_signed(&p.ops, now) {
            Ok(()) => {
                content.transactions.push(p.tx);
                envelopes.push(Some(p.envelope));
            }
            // Cannot happen (generated traffic stays within the budget); a node drops such
            // a transaction rather than put a failing one in a block.
            Err(e) => {
                tracing::warn!(num, txid = %p.tx.txid, error = %e, "a pending transaction no longer applies; dropped")
            }
        }
    }
    Produced {
        content,
        envelopes,
        placed,
    }
}

/// Produces and seals block `num` after `previous`, and remembers the DEX orders its
/// generated traffic placed and what its NFT traffic did (mint requests' transaction ids,
/// and at a checkpoint block the uids drawn with its id).
fn produce_sealed(
    cfg: &SimConfig,
    ledger: &mut Ledger,
    orders: &mut DexOrders,
    nft: &mut NftShadow,
    num: u64,
    pending: Vec<Pending>,
    previous: &str,
) -> Result<SealedBlock, String> {
    let p = produce(cfg, ledger, orders, nft, num, pending);
    let sealed = seal(p.content, p.envelopes, previous)?;
    if let Some(dex) = &cfg.traffic.dex {
        orders.record(&dex.token, &sealed.block, &p.placed);
    }
    if let Some(t) = &cfg.traffic.nft {
        nft.record(t, &sealed.block);
    }
    Ok(sealed)
}

/// Blocks `range` of the chain `cfg` describes, without broadcast transactions, sealed
/// (real transaction and block ids, linked) from `cfg.first_block` on.
pub fn generate_blocks(cfg: &SimConfig, range: std::ops::RangeInclusive<u64>) -> Result<Vec<Block>, String> {
    generate_chain(cfg, range).map(|(blocks, _)| blocks)
}

/// [`generate_blocks`] and the accounts after the last block of `range`.
pub fn generate_chain(cfg: &SimConfig, range: std::ops::RangeInclusive<u64>) -> Result<(Vec<Block>, Ledger), String> {
    let mut previous = genesis_previous(cfg.seed, cfg.first_block.saturating_sub(1));
    let mut ledger = genesis_ledger(cfg);
    let mut orders = DexOrders::default();
    let mut nft = NftShadow::default();
    let mut out = Vec::new();
    for num in cfg.first_block..=*range.end() {
        let sealed = produce_sealed(cfg, &mut ledger, &mut orders, &mut nft, num, Vec::new(), &previous)?;
        previous = sealed.block.id.clone();
        if range.contains(&num) {
            out.push(sealed.block);
        }
    }
    Ok((out, ledger))
}

/// What block `num` holds before it is sealed: generated traffic, no ids yet.
fn block_content(cfg: &SimConfig, num: u64) -> Block {
    let t = &cfg.traffic;
    let mut rng = Rng::new(cfg.seed, num, b"block");
    let n_ops = rng.range(
        u64::from(t.ops_per_block.0),
        u64::from(t.ops_per_block.1.max(t.ops_per_block.0)),
    );
    let mut transactions = Vec::new();
    let mut made = 0;
    while made < n_ops && !t.accounts.is_empty() {
        let Some(actor) = rng.pick(&t.accounts).cloned() else {
            break;
        };
        let size = if rng.chance(150) { rng.range(2, 3) } else { 1 }.min(n_ops - made);
        let operations = (0..size).map(|_| op(t, &mut rng, &actor)).collect();
        transactions.push(Transaction {
            txid: String::new(),
            operations,
        });
        made += size;
    }
    Block {
        num,
        id: String::new(),
        previous: String::new(),
        timestamp: GENESIS_TIME + 3 * num.saturating_sub(cfg.first_block),
        witness: WITNESSES[(num % 3) as usize].to_string(),
        transactions,
    }
}

/// The lie `t` tells about `real` (sealed after `previous`, the id of the lie before it).
fn tampered(cfg: &SimConfig, t: &Tamper, real: &SealedBlock, previous: &str) -> Result<SealedBlock, String> {
    let num = real.block.num;
    let theft = num >= t.from && num.is_multiple_of(t.every.max(1));
    let mut block = real.block.clone();
    let mut envelopes: Vec<Option<TxEnvelope>> = real.envelope.txs.iter().cloned().map(Some).collect();
    if theft {
        let victim = cfg.traffic.accounts.first().cloned().unwrap_or_default();
        block.transactions.push(Transaction {
            txid: String::new(),
            operations: vec![HiveOp::CustomJson(CustomJsonOp {
                required_auths: vec![victim],
                required_posting_auths: vec![],
                id: format!("{}send", cfg.traffic.prefix),
                json: json!({"to": t.to, "amount": t.amount}).to_string(),
            })],
        });
        envelopes.push(None);
    }
    match t.mode {
        TamperMode::Forge => {
            // Every id recomputed, the broadcast ones too (they are re-sealed as generated).
            for tx in &mut block.transactions {
                tx.txid.clear();
            }
            seal(block, envelopes, previous)
        }
        TamperMode::Insert => {
            let mut lie = real.clone();
            if theft {
                let sealed = seal(block, envelopes, &real.block.previous)?;
                lie.block.transactions = sealed.block.transactions;
                lie.envelope.txs = sealed.envelope.txs;
                if let Some(tx) = lie.block.transactions.last_mut() {
                    // Listed under an id that is not the hash of its bytes.
                    tx.txid = format!("{num:08x}{}", "ab".repeat(16));
                }
            }
            Ok(lie)
        }
    }
}

struct Chain {
    blocks: Vec<SealedBlock>,
    /// What a lying simulator serves instead of `blocks` (same length).
    served: Vec<SealedBlock>,
    /// Broadcast transactions for the next block, with their envelopes as broadcast.
    pending: Vec<Pending>,
    /// The accounts after the last produced block.
    ledger: Ledger,
    /// `ledger` with the pending transactions applied: what broadcasts are checked against
    /// and what the account APIs serve (a Hive node's state includes its pending
    /// transactions too).
    pending_ledger: Ledger,
    /// The DEX orders generated traffic placed (what it may cancel).
    dex_orders: DexOrders,
    /// What generated NFT traffic made (what it may trade).
    nft: NftShadow,
    /// Sealing failed (a bug): the chain stops here rather than serve an unsealed block.
    stuck: bool,
}

struct Shared {
    cfg: SimConfig,
    started: Instant,
    chain: Mutex<Chain>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Produces blocks up to what the clock says the head is; returns the head.
    fn advance(&self) -> u64 {
        let interval = self.cfg.block_interval.as_millis().max(1);
        let due = self.cfg.prefill_blocks + (self.started.elapsed().as_millis() / interval) as u64;
        let mut guard = self.lock();
        let chain = &mut *guard;
        let mut produced = false;
        while (chain.blocks.len() as u64) < due && !chain.stuck {
            let num = self.cfg.first_block + chain.blocks.len() as u64;
            let pending = std::mem::take(&mut chain.pending);
            produced = true;
            let previous = match chain.blocks.last() {
                Some(b) => b.block.id.clone(),
                None => genesis_previous(self.cfg.seed, num - 1),
            };
            let sealed = match produce_sealed(
                &self.cfg,
                &mut chain.ledger,
                &mut chain.dex_orders,
                &mut chain.nft,
                num,
                pending,
                &previous,
            ) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(num, error = %e, "the simulator cannot seal a block; it stops producing");
                    chain.stuck = true;
                    break;
                }
            };
            if let Some(t) = &self.cfg.tamper {
                let served_previous = chain.served.last().map(|b| b.block.id.clone()).unwrap_or(previous);
                match tampered(&self.cfg, t, &sealed, &served_previous) {
                    Ok(lie) => chain.served.push(lie),
                    Err(e) => {
                        tracing::error!(num, error = %e, "the simulator cannot tamper with a block; it stops producing");
                        chain.stuck = true;
                        break;
                    }
                }
            }
            chain.blocks.push(sealed);
        }
        if produced {
            chain.pending_ledger = chain.ledger.clone();
        }
        self.cfg.first_block + chain.blocks.len() as u64 - 1
    }

    /// `name` as of the head block.
    fn account(&self, name: &str) -> Option<Account> {
        self.lock().ledger.account(name).cloned()
    }

    /// Block `num` of the real chain.
    fn block(&self, num: u64) -> Option<Block> {
        let chain = self.lock();
        num.checked_sub(self.cfg.first_block)
            .and_then(|i| chain.blocks.get(i as usize))
            .map(|b| b.block.clone())
    }

    /// Block `num` as this node serves it (tampered when it lies).
    fn served(&self, num: u64) -> Option<SealedBlock> {
        let chain = self.lock();
        let i = num.checked_sub(self.cfg.first_block)? as usize;
        if self.cfg.tamper.is_some() {
            chain.served.get(i).cloned()
        } else {
            chain.blocks.get(i).cloned()
        }
    }
}

#[derive(Debug)]
pub struct Simulator;

pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

/// Where it listens, what it simulates and whether it still runs (not the chain itself).
impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .field("cfg", &self.shared.cfg)
            .field("running", &(self.stop.is_some() && !self.task.is_finished()))
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// The current head block number.
    pub fn head(&self) -> u64 {
        self.shared.advance()
    }
    /// Account `name` as of the current head block (broadcast transactions not yet in a
    /// block are not counted).
    pub fn account(&self, name: &str) -> Option<Account> {
        self.shared.advance();
        self.shared.account(name)
    }
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Simulator {
    pub async fn start(cfg: SimConfig, bind: SocketAddr) -> std::io::Result<SimHandle> {
        if cfg.first_block == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "first_block must be at least 1",
            ));
        }
        let ledger = genesis_ledger(&cfg);
        let shared = Arc::new(Shared {
            cfg,
            started: Instant::now(),
            chain: Mutex::new(Chain {
                blocks: Vec::new(),
                served: Vec::new(),
                pending: Vec::new(),
                pending_ledger: ledger.clone(),
                ledger,
                dex_orders: DexOrders::default(),
                nft: NftShadow::default(),
                stuck: false,
            }),
        });
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().route("/", post(rpc)).with_state(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        tracing::info!(%addr, "Hive simulator listening");
        Ok(SimHandle {
            addr,
            shared,
            stop: Some(tx),
            task,
        })
    }
}

/// Names one account query may ask for (`DATABASE_API_SINGLE_QUERY_LIMIT`).
const MAX_ACCOUNTS_QUERY: usize = 1000;

fn rpc_error(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "error": {"code": code, "message": message.into()}, "id": id})
}

async fn rpc(State(s): State<Arc<Shared>>, body: String) -> Json<Value> {
    let req: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => return Json(rpc_error(Value::Null, -32700, format!("Parse error: {e}"))),
    };
    match req {
        Value::Array(reqs) => Json(Value::Array(reqs.iter().map(|r| handle(&s, r)).collect())),
        r => Json(handle(&s, &r)),
    }
}

fn handle(s: &Shared, req: &Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return rpc_error(id, -32600, "Invalid Request: no method");
    };
    let params = req.get("params").cloned().unwrap_or(Value::Null);
    match call(s, method, &params) {
        Ok(result) => json!({"jsonrpc": "2.0", "result": result, "id": id}),
        Err((code, msg)) => rpc_error(id, code, msg),
    }
}

fn call(s: &Shared, method: &str, params: &Value) -> Result<Value, (i64, String)> {
    let head = s.advance();
    let lib = head
        .saturating_sub(s.cfg.irreversible_lag)
        .max(s.cfg.first_block.saturating_sub(1));
    let u64_param = |name: &str, pos: usize| -> Result<u64, (i64, String)> {
        params
            .get(name)
            .or_else(|| params.get(pos))
            .and_then(Value::as_u64)
            .ok_or((
                -32602,
                format!("Invalid params: `{name}` must be a non-negative integer"),
            ))
    };
    match method {
        "condenser_api.get_dynamic_global_properties" | "database_api.get_dynamic_global_properties" => {
            let head_block = s.served(head).map(|b| b.block);
            Ok(json!({
                "head_block_number": head,
                "head_block_id": head_block.as_ref().map(|b| b.id.clone()).unwrap_or_else(|| "0".repeat(40)),
                "time": format_timestamp(head_block.map(|b| b.timestamp).unwrap_or(GENESIS_TIME)),
                "last_irreversible_block_num": lib,
                "current_witness": "witness-a",
            }))
        }
        "block_api.get_block_range" => {
            let start = u64_param("starting_block_num", 0)?;
            let count = u64_param("count", 1)?;
            if start == 0 {
                return Err((
                    -32003,
                    "Assert Exception:starting_block_num > 0: Invalid starting block number".into(),
                ));
            }
            if count > 1000 {
                return Err((
                    -32003,
                    "Assert Exception:count <= 1000: You can only ask for 1000 blocks at a time".into(),
                ));
            }
            let blocks: Vec<Value> = (start..start.saturating_add(count))
                .take_while(|n| *n <= head)
                .filter_map(|n| s.served(n))
                .map(|b| b.appbase())
                .collect();
            Ok(json!({ "blocks": blocks }))
        }
        "block_api.get_block" => {
            let num = u64_param("block_num", 0)?;
            Ok(match s.served(num) {
                Some(b) if num <= head => json!({ "block": b.appbase() }),
                _ => json!({}),
            })
        }
        "condenser_api.get_block" => {
            let num = u64_param("block_num", 0)?;
            Ok(s.served(num)
                .filter(|_| num <= head)
                .map(|b| b.legacy())
                .unwrap_or(Value::Null))
        }
        "condenser_api.broadcast_transaction" | "network_broadcast_api.broadcast_transaction" => {
            let tx = params
                .get(0)
                .or_else(|| params.get("trx"))
                .ok_or((-32602, "Invalid params: expected [transaction]".into()))?;
            accept_broadcast(s, head, tx)
        }
        "condenser_api.get_accounts" | "database_api.find_accounts" => {
            let condenser = method.starts_with("condenser_api");
            let names = if condenser {
                params.get(0)
            } else {
                params.get("accounts")
            }
            .and_then(Value::as_array)
            .ok_or((
                -32602,
                if condenser {
                    "Invalid params: expected [[account names]]"
                } else {
                    "Invalid params: expected {\"accounts\": [account names]}"
                }
                .to_string(),
            ))?;
            if names.len() > MAX_ACCOUNTS_QUERY {
                return Err((
                    -32003,
                    format!("Assert Exception:args.accounts.size() <= {MAX_ACCOUNTS_QUERY}: list of accounts too long"),
                ));
            }
            let names = names
                .iter()
                .map(|n| {
                    n.as_str()
                        .ok_or((-32602, "Invalid params: account names are strings".to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let chain = s.lock();
            let found: Vec<Value> = names
                .iter()
                .filter_map(|n| chain.pending_ledger.account(n))
                .map(|a| a.to_json(!condenser))
                .collect();
            Ok(if condenser {
                Value::Array(found)
            } else {
                json!({ "accounts": found })
            })
        }
        other => Err((-32601, format!("Method not found: {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dex_traffic::judge::{kind, Kind};
    use crate::dex_traffic::DexTraffic;
    use crate::nft_traffic::NftTraffic;
    use opentoken_core::{Asset, AssetSymbol};
    use std::collections::BTreeMap;

    fn cfg() -> SimConfig {
        SimConfig {
            seed: 3,
            first_block: 1,
            block_interval: Duration::from_millis(1),
            prefill_blocks: 0,
            irreversible_lag: 0,
            traffic: TrafficConfig {
                prefix: "dlux_".into(),
                accounts: ["alice", "bob"].iter().map(|s| s.to_string()).collect(),
                nodes: vec![],
                delegation_account: "dlux-io".into(),
                ops_per_block: (10, 12),
                invalid_per_mille: 0,
                msaccount: Some("dlux-cc".into()),
                dex: None,
                nft: None,
                pob: None,
            },
            genesis: GenesisConfig {
                hive: 30_000,
                hbd: 4_000,
                extra_accounts: vec![],
                active_authorities: Default::default(),
            },
            tamper: None,
        }
    }

    /// A broadcast spending all of alice's money (and receiving some first): whatever the
    /// block's generated traffic, it applies, and generated transfers never overdraw.
    #[test]
    fn generated_traffic_never_takes_what_a_pending_transaction_needs() {
        pending_needs_everything(&cfg());
    }

    /// The same with DEX traffic: its buys by transfer stay within the budget too.
    #[test]
    fn generated_dex_traffic_never_takes_what_a_pending_transaction_needs() {
        let mut cfg = cfg();
        cfg.traffic.dex = Some(DexTraffic::new("DLUX"));
        pending_needs_everything(&cfg);
    }

    fn pending_needs_everything(cfg: &SimConfig) {
        let mut ledger = genesis_ledger(cfg);
        let mut orders = DexOrders::default();
        let mut nft = NftShadow::default();
        let mut generated_from_alice = 0;
        for num in 1..=300 {
            let hive = ledger.balance("alice", AssetSymbol::Hive).unwrap_or(0);
            let hbd = ledger.balance("alice", AssetSymbol::Hbd).unwrap_or(0);
            let pay = |from: &str, to: &str, n: i64, sym| opentoken_hive_tx::Operation::Transfer {
                from: from.into(),
                to: to.into(),
                amount: Asset::new(n, sym),
                memo: String::new(),
            };
            // What the node would accept: bob pays alice 0.001 if he can, then alice pays
            // out everything she then has.
            let bob = ledger.balance("bob", AssetSymbol::Hive).unwrap_or(0).min(1);
            let mut ops: Vec<_> = (bob > 0)
                .then(|| pay("bob", "alice", bob, AssetSymbol::Hive))
                .into_iter()
                .collect();
            ops.extend((hive + bob > 0).then(|| pay("alice", "dlux-io", hive + bob, AssetSymbol::Hive)));
            ops.extend((hbd > 0).then(|| pay("alice", "dlux-io", hbd, AssetSymbol::Hbd)));
            let pending = Pending {
                tx: Transaction {
                    txid: format!("{num:040x}"),
                    operations: vec![],
                },
                envelope: TxEnvelope {
                    ref_block_num: 0,
                    ref_block_prefix: 0,
                    expiration: 0,
                    signatures: vec![],
                },
                ops,
            };
            let Produced {
                content: block,
                envelopes,
                ..
            } = produce(cfg, &mut ledger, &mut orders, &mut nft, num, vec![pending]);
            assert_eq!(block.transactions.len(), envelopes.len());
            assert_eq!(
                block.transactions.last().map(|t| t.txid.clone()),
                Some(format!("{num:040x}")),
                "block {num}: the pending transaction is in it"
            );
            generated_from_alice += block
                .transactions
                .iter()
                .flat_map(|t| &t.operations)
                .filter(|o| matches!(o, HiveOp::Transfer(t) if t.from == "alice"))
                .count();
            for a in ledger.accounts() {
                assert!(a.hive >= 0 && a.hbd >= 0, "block {num}: {a:?}");
            }
            // Refill alice for the next block, as a deposit from outside would.
            ledger
                .transfer("dlux-io", "alice", &Asset::new(5_000, AssetSymbol::Hive), "")
                .unwrap();
            ledger
                .transfer("dlux-io", "alice", &Asset::new(500, AssetSymbol::Hbd), "")
                .unwrap();
        }
        // The budget let generated traffic spend alice's money only when it could: never,
        // since the pending transaction needed all of it.
        assert_eq!(generated_from_alice, 0);
    }

    /// A market of four traders, rich enough that no budget binds.
    fn dex_cfg() -> SimConfig {
        let mut cfg = cfg();
        cfg.seed = 11;
        cfg.traffic.accounts = ["alice", "bob", "carol", "dave"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        cfg.traffic.ops_per_block = (2, 4);
        cfg.traffic.invalid_per_mille = 100;
        cfg.traffic.dex = Some(DexTraffic::new("DLUX"));
        cfg.genesis = GenesisConfig::default();
        cfg
    }

    fn ops(b: &Block) -> Vec<Vec<HiveOp>> {
        b.transactions.iter().map(|t| t.operations.clone()).collect()
    }

    fn is_dex(op: &HiveOp) -> bool {
        kind(&DexTraffic::new("DLUX"), "dlux_", "dlux-cc", op, "00", 1, 0) != Kind::Other
    }

    /// Same seed, same chain; the DEX traffic comes after everything else from its own
    /// stream, so the rest of each block is what it is without a DEX.
    #[test]
    fn dex_traffic_is_deterministic_and_leaves_the_rest_of_the_chain_alone() {
        let cfg = dex_cfg();
        let a = generate_blocks(&cfg, 1..=150).unwrap();
        assert_eq!(a, generate_blocks(&cfg, 1..=150).unwrap());
        let other_seed = SimConfig {
            seed: 12,
            ..cfg.clone()
        };
        assert_ne!(a, generate_blocks(&other_seed, 1..=150).unwrap());
        let plain = generate_blocks(
            &SimConfig {
                traffic: TrafficConfig {
                    dex: None,
                    ..cfg.traffic.clone()
                },
                ..cfg.clone()
            },
            1..=150,
        )
        .unwrap();
        let (mut with_dex, mut dex_txs) = (0, 0);
        for (d, p) in a.iter().zip(&plain) {
            let (d, p) = (ops(d), ops(p));
            assert!(d.len() >= p.len());
            assert_eq!(d[..p.len()], p[..], "the non-DEX traffic is unchanged");
            assert!(d[p.len()..].iter().flatten().all(is_dex), "{:?}", &d[p.len()..]);
            assert!(p.iter().flatten().all(|o| !is_dex(o)), "no DEX op without a DEX");
            with_dex += usize::from(d.len() > p.len());
            dex_txs += d.len() - p.len();
        }
        assert!(with_dex > 100, "{with_dex} of 150 blocks trade");
        assert!(
            (150..=300).contains(&dex_txs),
            "{dex_txs} DEX transactions in 150 blocks"
        );
        // Without a multi-sig account there is no DEX traffic either.
        let no_ms = SimConfig {
            traffic: TrafficConfig {
                msaccount: None,
                ..cfg.traffic.clone()
            },
            ..cfg.clone()
        };
        let blocks = generate_blocks(&no_ms, 1..=50).unwrap();
        assert!(blocks.iter().flat_map(ops).flatten().all(|o| !is_dex(&o)));
    }

    /// Over a few hundred blocks: sells at a limit and at market in both pairs, buys by
    /// transfer and by `dex_buy`, one-hour orders, orders placed by a transaction's second
    /// operation, cancellations of earlier generated orders by their owners, and invalid
    /// operations (including cancellations of someone else's or of unknown orders). Every
    /// id a cancellation names was placed by an earlier block.
    #[test]
    fn dex_blocks_carry_every_kind_and_cancel_earlier_orders() {
        let cfg = dex_cfg();
        let dex = DexTraffic::new("DLUX");
        let blocks = generate_blocks(&cfg, 1..=400).unwrap();
        let mut placed: BTreeMap<String, (String, u64)> = BTreeMap::new();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let (mut best_bid, mut best_ask) = (0u64, u64::MAX);
        let mut dex_ops = 0;
        for b in &blocks {
            let mut this_block = Vec::new();
            for tx in &b.transactions {
                for (i, op) in tx.operations.iter().enumerate() {
                    let mut count = |what: &'static str| *seen.entry(what).or_default() += 1;
                    let k = kind(&dex, "dlux_", "dlux-cc", op, &tx.txid, b.num, i as u32);
                    if k != Kind::Other {
                        dex_ops += 1;
                    }
                    let order = match &k {
                        Kind::Sell(o) => {
                            count(if o.price == 0 { "market sell" } else { "limit sell" });
                            if o.pair == opentoken_dex::Pair::Hbd {
                                count("hbd sell");
                            } else if o.price > 0 {
                                best_ask = best_ask.min(o.price);
                            }
                            Some(o)
                        }
                        Kind::TransferBuy(o) => {
                            count(if o.price == 0 {
                                "market transfer buy"
                            } else {
                                "limit transfer buy"
                            });
                            if o.pair == opentoken_dex::Pair::Hive {
                                best_bid = best_bid.max(o.price);
                            }
                            Some(o)
                        }
                        Kind::L2Buy(o) => {
                            count("dex_buy");
                            Some(o)
                        }
                        Kind::Clear { by, id } => {
                            match placed.get(id) {
                                Some((owner, at)) if owner == by => {
                                    assert!(*at < b.num, "cancels an order of an earlier block");
                                    count("cancel");
                                }
                                Some(_) => count("cancel of someone else's"),
                                None => count("cancel of an unknown order"),
                            }
                            None
                        }
                        Kind::Invalid => {
                            count("invalid");
                            None
                        }
                        Kind::Other => None,
                    };
                    if let Some(o) = order {
                        if o.expires == b.num + 1200 {
                            count("one hour");
                        }
                        if i > 0 {
                            count("second op");
                        }
                        this_block.push((o.id.clone(), (o.from.clone(), b.num)));
                    }
                }
            }
            placed.extend(this_block);
        }
        for what in [
            "limit sell",
            "market sell",
            "hbd sell",
            "limit transfer buy",
            "market transfer buy",
            "dex_buy",
            "cancel",
            "cancel of someone else's",
            "cancel of an unknown order",
            "invalid",
            "one hour",
            "second op",
        ] {
            assert!(
                seen.get(what).copied().unwrap_or(0) > 0,
                "no {what} in 400 blocks: {seen:?}"
            );
        }
        assert!(seen["cancel"] >= 20, "{seen:?}");
        let invalid = seen["invalid"] + seen["cancel of someone else's"] + seen["cancel of an unknown order"];
        assert!(
            invalid * 100 / dex_ops >= 5 && invalid * 100 / dex_ops <= 16,
            "{invalid} of {dex_ops}"
        );
        assert!((400..=900).contains(&dex_ops), "{dex_ops} DEX ops in 400 blocks");
        assert!(
            best_bid >= best_ask,
            "some HIVE orders cross: bid {best_bid}, ask {best_ask}"
        );
    }

    /// A chain of NFT traffic alone: checkpoints every 50 blocks (mints drawn there),
    /// auctions of one 40-block day.
    fn nft_spec() -> opentoken_core::ChainSpec {
        serde_json::from_value(json!({
            "name": "nftsim", "prefix": "dlux_", "token": "DLUX", "precision": 3,
            "starting_block": 1, "leader": "dlux-io", "msaccount": "dlux-cc",
            "delegation_account": "dlux-io", "checkpoint_interval": 50,
            "modules": {
                "token": {
                    "power_down_installments": 4, "power_down_interval": 30,
                    "gov_down_installments": 4, "gov_down_interval": 40,
                    "genesis": {"balances": {
                    "dlux-io": 5_000_000, "alice": 1_000_000, "bob": 1_000_000,
                    "carol": 800_000, "dave": 600_000, "erin": 300_000
                }}
                },
                "nft": {"blocks_per_day": 40}
            }
        }))
        .unwrap()
    }

    fn nft_cfg(spec: &opentoken_core::ChainSpec, seed: u64) -> SimConfig {
        let mut cfg = cfg();
        cfg.seed = seed;
        cfg.traffic.accounts = NftTraffic::from_spec(spec).unwrap().budgets.keys().cloned().collect();
        cfg.traffic.ops_per_block = (0, 0);
        cfg.traffic.msaccount = None;
        cfg.traffic.nft = NftTraffic::from_spec(spec);
        cfg.genesis = GenesisConfig::default();
        cfg
    }

    fn is_nft(op: &HiveOp) -> bool {
        matches!(op, HiveOp::CustomJson(c) if c.id.starts_with("dlux_nft_") || c.id.starts_with("dlux_ft_"))
    }

    #[test]
    fn nft_traffic_is_from_the_spec_with_a_share_of_each_genesis_balance() {
        let spec = nft_spec();
        let t = NftTraffic::from_spec(&spec).unwrap();
        assert_eq!(t.budgets["dlux-io"], 1_250_000);
        assert_eq!(t.budgets["erin"], 75_000);
        assert_eq!(
            (t.cfg.blocks_per_day, t.checkpoint_interval, t.per_block),
            (40, 50, None)
        );
        let mut plain = spec.clone();
        plain.modules.remove("nft");
        assert_eq!(NftTraffic::from_spec(&plain), None);
        plain.modules.insert("nft".into(), json!({"blocks_per_day": 0}));
        assert_eq!(
            NftTraffic::from_spec(&plain),
            None,
            "an invalid section runs no traffic"
        );
    }

    /// Same seed, same chain; the NFT traffic comes after everything else from its own
    /// stream, so the rest of each block is what it is without it (with multi-sig traffic;
    /// DEX cancellations name ids made of earlier transactions' ids, which change).
    #[test]
    fn nft_traffic_is_deterministic_and_leaves_the_rest_of_the_chain_alone() {
        let spec = nft_spec();
        let mut cfg = nft_cfg(&spec, 21);
        cfg.traffic.ops_per_block = (2, 4);
        cfg.traffic.msaccount = Some("dlux-cc".into());
        let a = generate_blocks(&cfg, 1..=200).unwrap();
        assert_eq!(a, generate_blocks(&cfg, 1..=200).unwrap());
        assert_ne!(
            a,
            generate_blocks(
                &SimConfig {
                    seed: 22,
                    ..cfg.clone()
                },
                1..=200
            )
            .unwrap()
        );
        let plain = generate_blocks(
            &SimConfig {
                traffic: TrafficConfig {
                    nft: None,
                    pob: None,
                    ..cfg.traffic.clone()
                },
                ..cfg.clone()
            },
            1..=200,
        )
        .unwrap();
        let mut nft_txs = 0;
        for (n, p) in a.iter().zip(&plain) {
            let (n, p) = (ops(n), ops(p));
            assert_eq!(n[..p.len()], p[..], "the other traffic is unchanged");
            assert!(n[p.len()..].iter().flatten().all(is_nft), "{:?}", &n[p.len()..]);
            assert!(p.iter().flatten().all(|o| !is_nft(o)), "no NFT op without the module");
            nft_txs += n.len() - p.len();
        }
        assert!(
            (200..=400).contains(&nft_txs),
            "{nft_txs} NFT transactions in 200 blocks"
        );
    }

    /// The same with NFT traffic: it spends no HIVE or HBD, so a pending transaction that
    /// needs everything still applies.
    #[test]
    fn generated_nft_traffic_never_takes_what_a_pending_transaction_needs() {
        let mut cfg = cfg();
        cfg.traffic.nft = NftTraffic::from_spec(&nft_spec());
        pending_needs_everything(&cfg);
    }

    /// The generated NFT chain through the real token and NFT modules (the engine a
    /// processor runs, fed the sealed blocks and their checkpoint headers): every op the
    /// generator marks valid applies and is not refunded, every invalid one is rejected or
    /// refunded in full; sets are defined, NFTs minted, sold, auctioned, reserved and
    /// melted; and at the end the shadow is the modules' state: who holds which NFT and
    /// mint token, which offers are open, and every account's token balance.
    #[test]
    fn generated_nft_traffic_is_what_the_modules_apply() {
        use opentoken_core::engine::{Engine, ErasedModule, Slot};
        use opentoken_core::router::{RouteTable, Router};
        use opentoken_core::{ChainPos, ModuleEvent, ModuleState, Outcome, RoutedOp, StateRead};
        use opentoken_nft::NftEvent;
        use std::sync::Arc;

        let spec = Arc::new(nft_spec());
        let cfg = nft_cfg(&spec, 5);
        let t = cfg.traffic.nft.clone().unwrap();
        let modules: Vec<Arc<dyn ErasedModule>> = vec![
            Arc::new(opentoken_token::TokenModule::from_spec(&spec).unwrap()),
            Arc::new(opentoken_nft::NftModule::from_spec(&spec).unwrap()),
        ];
        let tables: Vec<&dyn RouteTable> = modules.iter().map(|m| -> &dyn RouteTable { m.as_ref() }).collect();
        let router = Router::new(&spec, tables);
        let slots = modules
            .iter()
            .map(|m| Slot {
                module: m.clone(),
                state: ModuleState::new(),
                last_block: None,
            })
            .collect();
        let mut engine = Engine::new(spec.clone(), slots, vec![]);
        engine.genesis().unwrap();

        let mut ledger = genesis_ledger(&cfg);
        let (mut orders, mut shadow) = (DexOrders::default(), NftShadow::default());
        let mut previous = genesis_previous(cfg.seed, 0);
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let (mut valid, mut valid_failed, mut invalid, mut invalid_kept) = (0, 0, 0, 0);
        // Invalid ops of the previous block that the token module escrowed for: their
        // refunds come in this block.
        let mut refunds_due = 0usize;
        const LAST: u64 = 446;
        // Three blocks without traffic at the end (no checkpoint among them), so that
        // everything in flight settles.
        let quiet = SimConfig {
            traffic: TrafficConfig {
                nft: None,
                pob: None,
                ..cfg.traffic.clone()
            },
            ..cfg.clone()
        };
        for num in 1..=LAST + 3 {
            let tail = num > LAST;
            let p = produce(
                if tail { &quiet } else { &cfg },
                &mut ledger,
                &mut orders,
                &mut shadow,
                num,
                vec![],
            );
            let made = if tail { vec![] } else { shadow.made().to_vec() };
            let envelopes = vec![None; p.content.transactions.len()];
            let block = seal(p.content, envelopes, &previous).unwrap().block;
            if !tail {
                shadow.record(&t, &block);
            }
            previous = block.id.clone();

            let mut routed: BTreeMap<&str, Vec<RoutedOp>> = BTreeMap::new();
            for (ti, tx) in block.transactions.iter().enumerate() {
                for (oi, op) in tx.operations.iter().enumerate() {
                    let module = router.route(op).unwrap_or("token");
                    routed.entry(module).or_default().push(RoutedOp {
                        pos: ChainPos::new(num, ti as u32, oi as u32),
                        txid: tx.txid.clone(),
                        op: op.clone(),
                    });
                }
            }
            let map: BTreeMap<&str, &[RoutedOp]> = routed.iter().map(|(m, r)| (*m, r.as_slice())).collect();
            engine.note_checkpoint_header(num, &block.id, block.timestamp);
            let out = engine.process_block(num, block.timestamp, &map).unwrap();

            let mut refunds = 0usize;
            for e in out.events.iter().filter(|e| e.module == "nft") {
                let ev = NftEvent::decode(&e.data).unwrap();
                let what = match &ev {
                    NftEvent::Refunded { .. } => {
                        refunds += 1;
                        continue;
                    }
                    NftEvent::SetDefined { .. } => "set defined".to_string(),
                    NftEvent::Minted { .. } => "minted".to_string(),
                    NftEvent::Melted { .. } => "melted".to_string(),
                    NftEvent::BidPlaced { prev_amount, .. } if *prev_amount > 0 => "outbid".to_string(),
                    NftEvent::Sold { offer, .. } => format!("sold {}", offer.kind.as_str()),
                    NftEvent::Closed { offer, why, .. } => format!("closed {} {why:?}", offer.kind.as_str()),
                    _ => continue,
                };
                *seen.entry(what).or_default() += 1;
            }
            valid_failed += refunds.saturating_sub(refunds_due);
            invalid_kept += refunds_due.saturating_sub(refunds);
            refunds_due = 0;
            for (index, is_valid) in made {
                let tx = &block.transactions[index];
                let status = out
                    .statuses
                    .iter()
                    .find(|s| s.txid == tx.txid)
                    .unwrap_or_else(|| panic!("block {num}: no status for {tx:?}"));
                let applied = matches!(status.outcome, Outcome::Applied { .. });
                if is_valid {
                    valid += 1;
                    if !applied {
                        valid_failed += 1;
                        eprintln!("block {num}: valid but {:?}: {:?}", status.outcome, tx.operations);
                    }
                } else {
                    invalid += 1;
                    if applied && status.module == "token" {
                        refunds_due += 1;
                    } else if applied {
                        invalid_kept += 1;
                        eprintln!("block {num}: invalid but applied: {:?}", tx.operations);
                    }
                }
            }
        }
        shadow.begin(&t, LAST + 4);

        assert!(valid > 400, "{valid} valid NFT ops");
        assert!(
            valid_failed * 100 <= valid * 10,
            "{valid_failed} of {valid} valid ops failed"
        );
        assert_eq!(valid_failed, 0, "the shadow foresees every valid op");
        assert_eq!(invalid_kept, 0, "every invalid op is rejected or refunded");
        assert!(
            invalid * 100 >= (valid + invalid) * 5,
            "{invalid} invalid of {}",
            valid + invalid
        );
        for (what, least) in [
            ("set defined", 3),
            ("minted", 60),
            ("melted", 10),
            ("outbid", 5),
            ("sold ls", 10),
            ("sold ah", 10),
            ("sold t", 5),
            ("sold lt", 10),
            ("sold am", 5),
            ("sold fts", 5),
            ("closed ah NoBids", 5),
            ("closed ls Cancelled", 5),
            ("closed t Cancelled", 3),
        ] {
            let n = seen.get(what).copied().unwrap_or(0);
            assert!(n >= least, "{n} {what} (want {least}) in {LAST} blocks: {seen:?}");
        }

        let state = |m: &str| -> &ModuleState {
            &engine
                .slots()
                .iter()
                .find(|s| s.module.module_name() == m)
                .unwrap()
                .state
        };
        let nft = state("nft");
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        let mut real_nfts: BTreeMap<(String, String), String> = BTreeMap::new();
        for (k, v) in nft.scan_prefix(b"nft/") {
            let key = text(&k[4..]);
            let (set, uid) = key.split_once('/').unwrap();
            let held: opentoken_nft::keys::Nft = serde_json::from_slice(v).unwrap();
            real_nfts.insert((set.into(), uid.into()), held.owner);
        }
        let mut shadow_nfts: BTreeMap<(String, String), String> = shadow
            .nfts()
            .map(|(s, u, o)| ((s.into(), u.into()), o.into()))
            .collect();
        for o in shadow.offers().filter(|o| o.kind.is_nft()) {
            shadow_nfts.insert((o.set.clone(), o.id.clone()), o.kind.as_str().into());
        }
        assert!(real_nfts.len() >= 20, "{} NFTs", real_nfts.len());
        assert_eq!(shadow_nfts, real_nfts, "the shadow's NFTs are the module's");

        let real_ft: BTreeMap<(String, String), u64> = nft
            .scan_prefix(b"ft/")
            .map(|(k, v)| {
                let key = text(&k[3..]);
                let (a, s) = key.split_once('/').unwrap();
                ((a.into(), s.into()), u64::from_be_bytes(v.try_into().unwrap()))
            })
            .collect();
        let shadow_ft: BTreeMap<(String, String), u64> = shadow
            .mint_tokens()
            .map(|(a, s, n)| ((a.into(), s.into()), n))
            .collect();
        assert_eq!(shadow_ft, real_ft, "the shadow's mint tokens are the module's");

        let real_offers: Vec<String> = nft.scan_prefix(b"off/").map(|(k, _)| text(&k[4..])).collect();
        let mut shadow_offers: Vec<String> = shadow
            .offers()
            .map(|o| format!("{}/{}:{}", o.kind.as_str(), o.set, o.id))
            .collect();
        shadow_offers.sort();
        assert_eq!(shadow_offers, real_offers, "the shadow's open offers are the module's");
        assert!(!real_offers.is_empty(), "some offers are open at the end");

        // No other traffic moves tokens: what the shadow lets an account spend is its
        // balance less the three quarters of its genesis balance kept for other traffic.
        let token = state("token");
        for (account, genesis) in [("dlux-io", 5_000_000u64), ("alice", 1_000_000), ("erin", 300_000)] {
            let bal = token
                .get(format!("bal/{account}").as_bytes())
                .map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()));
            assert_eq!(
                bal,
                shadow.budget(account) + genesis - genesis / 4,
                "@{account}'s balance"
            );
        }
    }

    /// The simulator serving the chain produces it block by block with the same DEX traffic
    /// (the orders it remembers across blocks included) as `generate_blocks`.
    #[tokio::test]
    async fn the_served_chain_is_the_generated_one() {
        let mut cfg = dex_cfg();
        cfg.prefill_blocks = 120;
        cfg.block_interval = Duration::from_secs(3600);
        let sim = Simulator::start(cfg.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(sim.head(), 120);
        let served: Vec<Block> = (1..=120).map(|n| sim.shared.block(n).unwrap()).collect();
        assert_eq!(served, generate_blocks(&cfg, 1..=120).unwrap());
        sim.shutdown().await;
    }
}
