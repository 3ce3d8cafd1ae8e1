//! `opentoken replay`: rebuild a module from its topic into a fresh store and check every
//! checkpoint hash the node recorded. A first-class command: it is how an operator proves
//! the log reproduces the state, and how a damaged store is rebuilt.

use crate::Common;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use opentoken_processor::{Processor, ProcessorConfig, Step};
use opentoken_telemetry::Telemetry;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Clone, Debug)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub common: Common,
    /// The module to rebuild.
    #[arg(long, default_value = "token")]
    pub module: String,
    /// Directory for the rebuilt store (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub into: Option<PathBuf>,
    /// Blocks per commit while rebuilding.
    #[arg(long, default_value_t = 5000)]
    pub commit_every: u64,
    /// Continue a rebuild from this topic offset: `--into` must hold a store (e.g. a restored
    /// backup) whose committed position is exactly this offset. A fresh store starts at 0.
    #[arg(long)]
    pub from_offset: Option<u64>,
    /// Stop at this block (default: the last block the source store processed).
    #[arg(long)]
    pub until_block: Option<u64>,
}

pub async fn replay(a: ReplayArgs) -> Result<()> {
    tokio::task::spawn_blocking(move || replay_blocking(a)).await?
}

fn replay_blocking(a: ReplayArgs) -> Result<()> {
    let spec = crate::node::load_spec(&a.common.chain)?;
    let never = std::sync::atomic::AtomicBool::new(false);
    let src = crate::node::open_backends(&a.common, "replay", &spec, true, &Telemetry::new(), &never)?;
    let (src_log, src_store) = (src.log.clone(), src.store.clone().context("source store")?);
    let all = crate::node::modules(&spec)?;
    let module = all
        .iter()
        .find(|m| m.module_name() == a.module)
        .cloned()
        .ok_or_else(|| anyhow!("no module named {:?} in this build", a.module))?;
    // An embedded node runs every module in one engine (messages never leave memory), so the
    // rebuild does too. A distributed module is rebuilt alone, reading what the modules it
    // hears from published on the log, and publishing nothing itself.
    let (replayed, links) = if src.distributed {
        let links = crate::node::message_links(&all, std::slice::from_ref(&a.module)).map(|mut l| {
            l.downstreams.clear();
            l
        });
        (vec![module], links)
    } else {
        (all.clone(), None)
    };
    let Some(progress) = src_store.progress(&a.module)? else {
        bail!(
            "module {} has processed nothing in {}; nothing to replay",
            a.module,
            a.common.data_dir.display()
        );
    };
    let until = a.until_block.unwrap_or(progress.block).min(progress.block);

    let tmp;
    let into = match &a.into {
        Some(p) => {
            if p.join("opentoken.redb").exists() && a.from_offset.is_none() {
                bail!(
                    "{} already holds a store; replay needs a fresh directory, or --from-offset to continue that store",
                    p.display()
                );
            }
            p.clone()
        }
        None => {
            tmp = tempfile::tempdir().context("creating a temporary directory for the rebuilt store")?;
            tmp.path().to_path_buf()
        }
    };
    let (_dst_log, dst_store) = crate::node::open_embedded(&into)?;
    let base = dst_store.progress(&a.module)?;
    let base_offset = base.map_or(0, |p| p.next_offset);
    if let Some(n) = a.from_offset {
        if n != base_offset {
            bail!(
                "--from-offset {n} does not match the store in {}: its committed position is offset {base_offset}{}; restore a store (backup) taken at offset {n} there first",
                into.display(),
                base.map_or(String::new(), |p| format!(" (block {})", p.block))
            );
        }
    }
    let after_block = base.map_or(0, |p| p.block);
    let recorded: Vec<_> = src_store
        .checkpoints(&a.module)?
        .into_iter()
        .filter(|c| c.block > after_block && c.block <= until)
        .collect();
    let telemetry = Arc::new(Telemetry::new());
    let cfg = ProcessorConfig {
        commit_every_blocks: a.commit_every.max(1),
        until_block: Some(until),
        read_batch: 2000,
        links,
        ..Default::default()
    };
    let mut p = Processor::open(spec.clone(), replayed, src_log, dst_store.clone(), cfg, telemetry)?;

    let start_block = if base.is_some() {
        after_block + 1
    } else {
        spec.starting_block
    };
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(until.saturating_sub(start_block) + 1);
        b.set_style(
            ProgressStyle::with_template("{spinner} replay {msg} [{bar:40}] {pos}/{len} blocks ({per_sec}, eta {eta})")
                .map_err(|e| anyhow!("progress bar template: {e}"))?
                .progress_chars("=> "),
        );
        b.set_message(a.module.clone());
        b
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut last_log = Instant::now();
    loop {
        match p.step()? {
            Step::Done => break,
            Step::Advanced(b) => {
                bar.set_position(b.saturating_sub(start_block) + 1);
                if bar.is_hidden() && last_log.elapsed() > Duration::from_secs(5) {
                    tracing::info!(block = b, until, "replaying");
                    last_log = Instant::now();
                }
            }
            Step::Idle => {
                bail!(
                    "the log ends before block {until}, which the store says was processed: the module's topic (or, \
                     for a distributed module, the messages of the modules it hears from) is incomplete"
                )
            }
        }
    }
    p.flush()?;
    bar.finish_and_clear();

    let mut matched = 0;
    for cp in &recorded {
        let rebuilt = dst_store.checkpoint(&a.module, cp.block)?;
        match rebuilt {
            Some(h) if h == cp.hash => matched += 1,
            Some(h) => bail!(
                "checkpoint {} of module {} differs: recorded {}, replay gives {}; the store does not match its log — rebuild it from the log (`opentoken replay --into DIR`) and compare with peers",
                cp.block,
                a.module,
                hex::encode(cp.hash),
                hex::encode(h)
            ),
            None => bail!("replay produced no checkpoint {} for module {}", cp.block, a.module),
        }
    }
    let slot = p
        .engine_mut()
        .slots_mut()
        .iter_mut()
        .find(|s| s.module.module_name() == a.module);
    if let Some(slot) = slot {
        let incremental = slot.state.commitment();
        if incremental != slot.state.recompute_commitment() {
            bail!("rebuilt state's incremental commitment differs from its full recomputation");
        }
    }
    println!(
        "replayed {} from offset {base_offset} to block {until} in {:.1}s: {matched}/{} recorded checkpoints reproduced",
        a.module,
        started.elapsed().as_secs_f64(),
        recorded.len()
    );
    Ok(())
}
