//! `opentoken replay`: rebuild a module from its topic into a fresh store and check every
//! checkpoint hash the node recorded. A first-class command: it is how an operator proves
//! the log reproduces the state, and how a damaged store is rebuilt.

use crate::backends::{load_spec, open_backends, open_embedded_rebuild, Common};
use crate::context::RoleContext;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use opentoken_processor::{Processor, ProcessorConfig, Step};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long replay waits for the next block before it calls the log incomplete: an empty
/// fetch from a loaded broker is not the end of a topic.
const REPLAY_IDLE_GRACE: Duration = Duration::from_secs(20);

#[derive(Args, Clone, Debug)]
pub(crate) struct ReplayArgs {
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

impl ReplayArgs {
    pub(crate) async fn execute(self) -> Result<()> {
        tokio::task::spawn_blocking(move || replay(self)).await?
    }
}

fn replay(args: ReplayArgs) -> Result<()> {
    let spec = load_spec(&args.common.chain)?;
    // Nothing stops a replay but the process itself.
    let ctx = RoleContext::new(spec.clone());
    let source = open_backends(&args.common, "replay", true, &ctx)?.context("source backends")?;
    let (src_log, src_store) = (source.log.clone(), source.store()?);
    let all = opentoken_registry::modules(&spec)?;
    let module = opentoken_registry::find(&all, &args.module)?;
    // An embedded node runs every module in one engine (messages never leave memory), so the
    // rebuild does too. A distributed module is rebuilt alone, reading what the modules it
    // hears from published on the log, and publishing nothing itself.
    let (replayed, links) = if source.distributed {
        let links = opentoken_registry::message_links(&all, std::slice::from_ref(&args.module)).map(|mut links| {
            links.downstreams.clear();
            links
        });
        (vec![module], links)
    } else {
        (all.clone(), None)
    };
    let Some(progress) = src_store.progress(&args.module)? else {
        bail!(
            "module {} has processed nothing in {}; nothing to replay",
            args.module,
            args.common.data_dir.display()
        );
    };
    let until = args.until_block.unwrap_or(progress.block).min(progress.block);

    let tmp;
    let into = match &args.into {
        Some(dir) => {
            if dir.join("opentoken.redb").exists() && args.from_offset.is_none() {
                bail!(
                    "{} already holds a store; replay needs a fresh directory, or --from-offset to continue that store",
                    dir.display()
                );
            }
            dir.clone()
        }
        None => {
            tmp = tempfile::tempdir().context("creating a temporary directory for the rebuilt store")?;
            tmp.path().to_path_buf()
        }
    };
    let (_dst_log, dst_store) = open_embedded_rebuild(&into, args.common.keep_status_blocks())?;
    let base = dst_store.progress(&args.module)?;
    let base_offset = base.map_or(0, |p| p.next_offset);
    if let Some(n) = args.from_offset {
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
        .checkpoints(&args.module)?
        .into_iter()
        .filter(|c| c.block > after_block && c.block <= until)
        .collect();
    let config = ProcessorConfig {
        commit_every_blocks: args.commit_every.max(1),
        until_block: Some(until),
        read_batch: 2000,
        links,
        ..Default::default()
    };
    let mut processor = Processor::open(
        spec.clone(),
        replayed,
        src_log,
        dst_store.clone(),
        config,
        ctx.telemetry,
    )?;

    let start_block = if base.is_some() {
        after_block + 1
    } else {
        spec.starting_block
    };
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(until.saturating_sub(start_block) + 1);
        bar.set_style(
            ProgressStyle::with_template("{spinner} replay {msg} [{bar:40}] {pos}/{len} blocks ({per_sec}, eta {eta})")
                .map_err(|e| anyhow!("progress bar template: {e}"))?
                .progress_chars("=> "),
        );
        bar.set_message(args.module.clone());
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut last_log = Instant::now();
    let mut idle_since: Option<Instant> = None;
    loop {
        match processor.step()? {
            Step::Done => break,
            Step::Advanced(block) => {
                idle_since = None;
                bar.set_position(block.saturating_sub(start_block) + 1);
                if bar.is_hidden() && last_log.elapsed() > Duration::from_secs(5) {
                    tracing::info!(block, until, "replaying");
                    last_log = Instant::now();
                }
            }
            // A broker's fetch can come back empty before the end of a topic (a slow or
            // loaded broker); only a log that stays without the next block is incomplete.
            Step::Idle if idle_since.get_or_insert_with(Instant::now).elapsed() < REPLAY_IDLE_GRACE => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Step::Idle => {
                bail!(
                    "the log ends before block {until}, which the store says was processed (nothing new for {} s): \
                     the module's topic (or, for a distributed module, the messages of the modules it hears from) \
                     is incomplete",
                    REPLAY_IDLE_GRACE.as_secs()
                )
            }
        }
    }
    processor.flush()?;
    dst_store.sync()?;
    bar.finish_and_clear();

    let mut matched = 0;
    for cp in &recorded {
        let rebuilt = dst_store.checkpoint(&args.module, cp.block)?;
        match rebuilt {
            Some(hash) if hash == cp.hash => matched += 1,
            Some(hash) => bail!(
                "checkpoint {} of module {} differs: recorded {}, replay gives {}; the store does not match its log — rebuild it from the log (`opentoken replay --into DIR`) and compare with peers",
                cp.block,
                args.module,
                hex::encode(cp.hash),
                hex::encode(hash)
            ),
            None => bail!("replay produced no checkpoint {} for module {}", cp.block, args.module),
        }
    }
    let slot = processor
        .engine_mut()
        .slots_mut()
        .iter_mut()
        .find(|s| s.module.module_name() == args.module);
    if let Some(slot) = slot {
        let incremental = slot.state.commitment();
        if incremental != slot.state.recompute_commitment() {
            bail!("rebuilt state's incremental commitment differs from its full recomputation");
        }
    }
    println!(
        "replayed {} from offset {base_offset} to block {until} in {:.1}s: {matched}/{} recorded checkpoints reproduced",
        args.module,
        started.elapsed().as_secs_f64(),
        recorded.len()
    );
    Ok(())
}
