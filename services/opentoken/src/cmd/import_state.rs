//! `opentoken import-state`: a community running the reference node moves to opentoken. The
//! reference's full state dump (its `/state` answer) at block N becomes the genesis of a
//! chain spec built on the community's constants; the node then follows Hive from N+1.

use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub(crate) struct ImportStateArgs {
    /// The reference node's `/state` answer (`{state: {...}}`), saved to a file.
    #[arg(long)]
    pub dump: PathBuf,
    /// The Hive block the dump was taken at (the imported chain starts at the next one).
    #[arg(long)]
    pub block: u64,
    /// The community's chain spec to build on (its constants and modules; its genesis is
    /// replaced).
    #[arg(long, env = "OPENTOKEN_CHAIN")]
    pub chain: PathBuf,
    /// Where to write the imported chain spec.
    #[arg(long)]
    pub out: PathBuf,
}

impl ImportStateArgs {
    pub(crate) fn execute(self) -> Result<()> {
        let read = |p: &PathBuf, what: &str| -> Result<serde_json::Value> {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading the {what} {}", p.display()))?;
            serde_json::from_str(&text).with_context(|| format!("the {what} {} is not JSON", p.display()))
        };
        let dump = read(&self.dump, "state dump")?;
        let base = read(&self.chain, "chain spec")?;
        let imported = opentoken_import::import_state(&dump, self.block, &base)
            .with_context(|| format!("importing {} at block {}", self.dump.display(), self.block))?;
        let text = serde_json::to_string_pretty(&imported.spec)?;
        // The spec must load as any node loads it: a genesis the modules refuse is an error
        // here, not at the first start.
        let spec =
            opentoken_core::ChainSpec::from_json(&text).context("the imported chain spec is not a valid chain spec")?;
        opentoken_registry::modules(&spec).context("the imported genesis is not one the modules accept")?;
        std::fs::write(&self.out, text + "\n").with_context(|| format!("writing {}", self.out.display()))?;
        println!(
            "imported the state at block {} into {}: supply {}, the chain starts at block {}",
            self.block,
            self.out.display(),
            imported.supply,
            self.block + 1
        );
        if imported.not_imported.is_empty() {
            println!("every value in the dump was imported");
        } else {
            println!("not imported ({}):", imported.not_imported.len());
            for f in &imported.not_imported {
                println!("  {}: {}", f.path, f.why);
            }
        }
        Ok(())
    }
}
