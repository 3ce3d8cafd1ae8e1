//! What a running node tells its operator: a progress line in the log, the processor's lag
//! behind its log as a metric, and on a terminal the balances of a few watched accounts.

use opentoken_core::engine::ErasedModule;
use opentoken_core::ChainSpec;
use opentoken_lifecycle::{sleep_or_cancelled, CancellationToken};
use opentoken_log::Log;
use opentoken_store::Store;
use opentoken_telemetry::metrics::{INGESTER, PROCESSOR};
use opentoken_telemetry::Telemetry;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One line of progress every few seconds (a log line: the node runs as a service).
pub(crate) struct ProgressLine {
    last: Instant,
    last_block: u64,
}

impl ProgressLine {
    /// Starts counting from `block` (the last block already processed).
    pub(crate) fn from(block: Option<u64>) -> Self {
        Self {
            last: Instant::now(),
            last_block: block.unwrap_or(0),
        }
    }

    pub(crate) fn tick(&mut self, block: u64, telemetry: &Telemetry) {
        if self.last.elapsed() < Duration::from_secs(5) {
            return;
        }
        let secs = self.last.elapsed().as_secs_f64();
        let rate = (block.saturating_sub(self.last_block)) as f64 / secs;
        let head = INGESTER.hive_head_block.get(telemetry).unwrap_or(0.0) as u64;
        tracing::info!(
            block,
            behind = head.saturating_sub(block),
            blocks_per_sec = format!("{rate:.1}"),
            "processing"
        );
        PROCESSOR.blocks_per_second.set(telemetry, rate);
        self.last = Instant::now();
        self.last_block = block;
    }
}

/// How often [`LogLag`] measures: the metric is scraped every few seconds, and on Kafka each
/// measurement asks the broker for every topic's end.
const LAG_EVERY: Duration = Duration::from_secs(1);

/// The processor's lag behind its log, per module (`opentoken_log_lag_records`): the
/// records of the module's ops topic after the position the store committed. On Kafka
/// this is the consumer lag an operator watches on the broker; embedded, the same count
/// on the in-process log. Measured from the committed state, not the processor's cursors,
/// because that is what a restart resumes from.
pub(crate) struct LogLag {
    /// (module, its ops topic).
    topics: Vec<(&'static str, String)>,
    last: Option<Instant>,
}

impl LogLag {
    pub(crate) fn new(spec: &ChainSpec, modules: &[Arc<dyn ErasedModule>]) -> Self {
        let topics = modules
            .iter()
            .map(|m| (m.module_name(), spec.ops_topic(m.module_name())))
            .collect();
        Self { topics, last: None }
    }

    /// Measures when [`LAG_EVERY`] has passed since the last time. A failed read (the
    /// broker away) leaves the last value: the outage shows on `/readyz` and in
    /// `opentoken_component_ready`, not as a made-up lag.
    pub(crate) fn tick(&mut self, log: &dyn Log, store: &dyn Store, telemetry: &Telemetry) {
        if self.last.is_some_and(|t| t.elapsed() < LAG_EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        for (module, topic) in &self.topics {
            let (Ok(end), Ok(progress)) = (log.end_offset(topic), store.progress(module)) else {
                continue;
            };
            let next = progress.map_or(0, |p| p.next_offset);
            PROCESSOR
                .log_lag_records
                .set(telemetry, module, end.saturating_sub(next) as f64);
        }
    }
}

/// On a chain that runs the DEX: per market the last price, the best bid and ask and how
/// many trades there were (read from the committed state: a few keys).
fn market_line(store: &dyn Store) -> String {
    use opentoken_core::KvSource;
    use opentoken_dex::keys::{self, Order};
    use opentoken_dex::price::format_rate;
    use opentoken_dex::{Pair, Side};
    let kv = opentoken_store::ModuleKv {
        store,
        module: opentoken_dex::NAME,
    };
    if store.progress(opentoken_dex::NAME).ok().flatten().is_none() {
        return String::new();
    }
    let num = |key: &[u8]| -> u64 {
        kv.kv_get(key)
            .ok()
            .flatten()
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0)
    };
    let best = |pair: Pair, side: Side| -> String {
        kv.kv_scan(&keys::book_side(pair, side), 1)
            .ok()
            .and_then(|pairs| pairs.into_iter().next())
            .and_then(|(_, id)| kv.kv_get(&keys::order(std::str::from_utf8(&id).ok()?)).ok().flatten())
            .and_then(|v| serde_json::from_slice::<Order>(&v).ok())
            .map(|o| format_rate(o.price))
            .unwrap_or_else(|| "-".into())
    };
    let mut line = String::new();
    for pair in Pair::ALL {
        let last = match num(&keys::tick(pair)) {
            0 => "-".to_string(),
            t => format_rate(t),
        };
        line.push_str(&format!(
            "  {}: last {last} bid {} ask {} ({} trades)",
            pair.symbol(),
            best(pair, Side::Bid),
            best(pair, Side::Ask),
            num(&keys::trade_seq(pair))
        ));
    }
    line
}

/// On a chain that runs the NFT module: how many sets there are, how many NFTs were minted
/// (and how many are left unmelted), and how many offers are open (read from the committed
/// state; each count stops at [`WATCH_COUNT_LIMIT`] and shows as "10000+" beyond it, so the
/// line costs the same on a devnet and on a large community).
fn nft_line(store: &dyn Store) -> String {
    use opentoken_core::KvSource;
    use opentoken_nft::keys::{self, Set};
    if store.progress(opentoken_nft::NAME).ok().flatten().is_none() {
        return String::new();
    }
    let kv = opentoken_store::ModuleKv {
        store,
        module: opentoken_nft::NAME,
    };
    let scan = |prefix: &[u8]| kv.kv_scan(prefix, WATCH_COUNT_LIMIT + 1).unwrap_or_default();
    let sets = scan(keys::SET_PREFIX);
    let minted: u64 = sets
        .iter()
        .take(WATCH_COUNT_LIMIT)
        .filter_map(|(_, v)| serde_json::from_slice::<Set>(v).ok())
        .map(|s| s.minted)
        .sum();
    format!(
        "  NFT: {} sets, {minted} minted ({} held), {} offers open",
        count(sets.len()),
        count(scan(b"nft/").len()),
        count(scan(b"off/").len())
    )
}

/// How many records the watch line counts of a kind before it stops counting.
const WATCH_COUNT_LIMIT: usize = 10_000;

/// A count read with at most `WATCH_COUNT_LIMIT + 1` records.
fn count(n: usize) -> String {
    if n > WATCH_COUNT_LIMIT {
        format!("{WATCH_COUNT_LIMIT}+")
    } else {
        n.to_string()
    }
}

/// The token economy's part of the watch line (chains whose token runs it): the tokens in
/// the pools (inflation not yet paid out) and the last DAO day; empty without one.
fn economy_line(store: &dyn Store) -> String {
    let kv = opentoken_store::ModuleKv { store, module: "token" };
    let Ok(stats) = opentoken_token::stats_view(&kv) else {
        return String::new();
    };
    if stats.pools.is_empty() && stats.last_dao.is_none() {
        return String::new();
    }
    let pooled: u64 = stats.pools.values().sum();
    let posts = match opentoken_token::open_posts(&kv, 1_001) {
        Ok(open) if open.len() > 1_000 => ", 1000+ posts open for votes".to_string(),
        Ok(open) if !open.is_empty() => format!(", {} posts open for votes", open.len()),
        _ => String::new(),
    };
    match stats.last_dao {
        Some(d) => format!(
            "  economy: {pooled} in pools, DAO day {} split {} ({} to delegators, {} to nodes){posts}",
            d.block, d.minted, d.to_delegators, d.to_nodes
        ),
        None => format!("  economy: {pooled} in pools{posts}"),
    }
}

/// Prints the watched accounts' balances whenever they change, until `stop`: the quickest
/// way to see the node doing its job on a terminal.
pub(crate) async fn watch_balances(store: Arc<dyn Store>, accounts: Vec<String>, stop: CancellationToken) {
    let mut last = String::new();
    let mut last_block = None;
    while !stop.is_cancelled() {
        let Some(block) = store.progress("token").ok().flatten().map(|p| p.block) else {
            sleep_or_cancelled(&stop, Duration::from_millis(500)).await;
            continue;
        };
        // Nothing committed since the last line: nothing to read again.
        if last_block == Some(block) {
            sleep_or_cancelled(&stop, Duration::from_secs(3)).await;
            continue;
        }
        last_block = Some(block);
        let mut line = String::new();
        for account in &accounts {
            let kv = opentoken_store::ModuleKv {
                store: store.as_ref(),
                module: "token",
            };
            if let Ok(view) = opentoken_token::account_view(&kv, account) {
                line.push_str(&format!(
                    "  @{account}: {} liquid / {} power / {} gov",
                    view.balance, view.poweredUp, view.gov
                ));
            }
        }
        line.push_str(&market_line(store.as_ref()));
        line.push_str(&nft_line(store.as_ref()));
        line.push_str(&economy_line(store.as_ref()));
        if line != last {
            println!("block {block}:{line}");
            last = line;
        }
        sleep_or_cancelled(&stop, Duration::from_secs(3)).await;
    }
}
