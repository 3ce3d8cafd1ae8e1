//! The one list of modules this build runs.
//!
//! Every place that builds an engine (the `opentoken` commands, `bench`, `replay`, the
//! cross-service tests) takes its modules from [`modules`], so no two copies can drift. The
//! list is part of what nodes must agree on: a node that runs another set of modules
//! computes another consensus hash. Modules only affect each other through messages
//! delivered at the next block in source-name order, so the *order* of this list changes no
//! result; it is still kept fixed so that logs, metrics and topic creation read the same on
//! every node.
//!
//! Adding a module is one line in [`modules`] (plus its route into the devnet traffic mix in
//! [`traffic`] when the simulator should generate ops for it); see "Adding a module" in
//! `docs/architecture.md`.

use opentoken_core::engine::ErasedModule;
use opentoken_core::router::RouteTable;
use opentoken_core::ChainSpec;
use opentoken_hive::{SimConfig, TrafficConfig};
use opentoken_processor::MessageLinks;
use std::sync::Arc;
use std::time::Duration;

/// A module whose configuration in the chain spec is unusable.
#[derive(Debug, thiserror::Error)]
#[error("the {module} module's configuration in the chain spec is invalid: {source}")]
pub struct RegistryError {
    pub module: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

fn configured<M, E>(module: &'static str, built: Result<M, E>) -> Result<Arc<dyn ErasedModule>, RegistryError>
where
    M: ErasedModule + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    built
        .map(|m| Arc::new(m) as Arc<dyn ErasedModule>)
        .map_err(|e| RegistryError {
            module,
            source: Box::new(e),
        })
}

/// The modules of this build, configured from `spec`, in registry order.
pub fn modules(spec: &ChainSpec) -> Result<Vec<Arc<dyn ErasedModule>>, RegistryError> {
    Ok(vec![
        configured("token", opentoken_token::TokenModule::from_spec(spec))?,
        configured("nodes", opentoken_nodes::NodesModule::from_spec(spec))?,
    ])
}

/// The registry's module names, in registry order.
pub fn module_names(modules: &[Arc<dyn ErasedModule>]) -> Vec<String> {
    modules.iter().map(|m| m.module_name().to_string()).collect()
}

/// The module called `name`, or an error listing the known ones.
pub fn find(modules: &[Arc<dyn ErasedModule>], name: &str) -> Result<Arc<dyn ErasedModule>, UnknownModule> {
    modules
        .iter()
        .find(|m| m.module_name() == name)
        .cloned()
        .ok_or_else(|| UnknownModule {
            name: name.to_string(),
            known: module_names(modules).join(", "),
        })
}

/// `--module` named a module this build does not have.
#[derive(Debug, thiserror::Error)]
#[error("no module named {name:?} in this build (known: {known})")]
pub struct UnknownModule {
    pub name: String,
    pub known: String,
}

/// The route tables the ingester routes ops by: one per module.
pub fn route_tables(modules: &[Arc<dyn ErasedModule>]) -> Vec<Arc<dyn RouteTable>> {
    modules.iter().map(|m| Arc::clone(m) as Arc<dyn RouteTable>).collect()
}

/// The message links of a processor that runs the modules `local` out of the registry `all`
/// (see [`MessageLinks::between`]); `None` when nothing crosses processes.
pub fn message_links(all: &[Arc<dyn ErasedModule>], local: &[String]) -> Option<MessageLinks> {
    MessageLinks::between(all, local)
}

/// The devnet's generated traffic mix for `spec`: who acts (the token genesis accounts,
/// sorted), who may stake governance (the genesis nodes), how many community ops a block
/// carries (`ops_per_block`, inclusive) and what share of them is invalid.
pub fn traffic(spec: &ChainSpec, ops_per_block: (u32, u32), invalid_per_mille: u32) -> TrafficConfig {
    let genesis = spec.module_config("token").and_then(|t| t.get("genesis"));
    let mut accounts: Vec<String> = genesis
        .and_then(|g| g.get("balances"))
        .and_then(|b| b.as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    accounts.sort();
    let nodes: Vec<String> = genesis
        .and_then(|g| g.get("nodes"))
        .and_then(|n| n.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let (min, max) = ops_per_block;
    TrafficConfig {
        prefix: spec.prefix.clone(),
        accounts,
        nodes,
        delegation_account: spec.delegation_account.clone(),
        ops_per_block: (min, max.max(min)),
        invalid_per_mille,
        msaccount: None,
    }
}

/// How the simulator produces the devnet chain (besides the traffic mix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainShape {
    /// The same seed gives the same blocks.
    pub seed: u64,
    /// Wall time between produced blocks.
    pub block_interval: Duration,
    /// Blocks available at once when the simulator starts.
    pub prefill_blocks: u64,
    /// Blocks between head and the last irreversible block.
    pub irreversible_lag: u64,
}

/// The simulator configuration of a devnet for `spec`.
pub fn sim_config(spec: &ChainSpec, shape: ChainShape, traffic: TrafficConfig) -> SimConfig {
    SimConfig {
        seed: shape.seed,
        first_block: spec.starting_block.max(1),
        block_interval: shape.block_interval.max(Duration::from_millis(1)),
        prefill_blocks: shape.prefill_blocks,
        irreversible_lag: shape.irreversible_lag,
        traffic,
        genesis: opentoken_hive::GenesisConfig {
            extra_accounts: vec![spec.msaccount.clone()],
            ..Default::default()
        },
        tamper: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devnet() -> ChainSpec {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/chains/devnet.json");
        ChainSpec::load(std::path::Path::new(path)).expect("devnet spec")
    }

    #[test]
    fn registry_order_is_fixed() {
        let mods = modules(&devnet()).expect("modules");
        assert_eq!(module_names(&mods), ["token", "nodes"]);
    }

    #[test]
    fn unknown_module_names_the_known_ones() {
        let mods = modules(&devnet()).expect("modules");
        let err = find(&mods, "dex").err().expect("no dex yet").to_string();
        assert!(err.contains("token, nodes"), "{err}");
        assert!(find(&mods, "nodes").is_ok());
    }

    #[test]
    fn traffic_comes_from_the_token_genesis() {
        let t = traffic(&devnet(), (3, 1), 150);
        assert_eq!(t.ops_per_block, (3, 3), "max is at least min");
        assert!(t.accounts.windows(2).all(|w| w[0] < w[1]), "sorted");
        assert!(t.accounts.iter().any(|a| a == "alice"));
        assert_eq!(t.nodes, ["dlux-io", "alice", "bob", "carol"]);
    }

    #[test]
    fn the_token_and_nodes_modules_message_each_other_across_processes() {
        let mods = modules(&devnet()).expect("modules");
        let links = message_links(&mods, &["token".to_string()]).expect("token talks to nodes");
        assert_eq!(links.upstreams, ["nodes"]);
        assert!(
            message_links(&mods, &module_names(&mods)).is_none(),
            "co-located: nothing crosses"
        );
    }
}
