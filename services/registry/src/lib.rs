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

/// Whether the chain runs the multisig module: only a spec with a `modules.multisig`
/// section does. The module holds real money for users, so a chain opts in explicitly; a
/// chain without the section runs, hashes and routes exactly as before the module existed.
pub fn has_multisig(spec: &ChainSpec) -> bool {
    spec.module_config(opentoken_multisig::NAME).is_some()
}

/// Whether the chain runs the DEX: a spec with a `modules.dex` section, on a chain that
/// runs the multisig module too (the DEX's HIVE and HBD are held by the multi-sig account).
pub fn has_dex(spec: &ChainSpec) -> bool {
    has_multisig(spec) && spec.module_config(opentoken_dex::NAME).is_some()
}

/// Whether the chain runs the NFT module: a spec with a `modules.nft` section (its
/// payments are in the token, which every chain runs).
pub fn has_nft(spec: &ChainSpec) -> bool {
    spec.module_config(opentoken_nft::NAME).is_some()
}

/// The modules of this build, configured from `spec`, in registry order: token and nodes
/// always, multisig when the spec configures it ([`has_multisig`]), the DEX when it
/// configures both ([`has_dex`]), the NFT module when it configures it ([`has_nft`]).
pub fn modules(spec: &ChainSpec) -> Result<Vec<Arc<dyn ErasedModule>>, RegistryError> {
    let mut mods = vec![
        configured("token", opentoken_token::TokenModule::from_spec(spec))?,
        configured("nodes", opentoken_nodes::NodesModule::from_spec(spec))?,
    ];
    if has_multisig(spec) {
        mods.push(configured(
            opentoken_multisig::NAME,
            opentoken_multisig::MultisigModule::from_spec(spec),
        )?);
    }
    if has_dex(spec) {
        mods.push(configured(
            opentoken_dex::NAME,
            opentoken_dex::DexModule::from_spec(spec),
        )?);
    } else if spec.module_config(opentoken_dex::NAME).is_some() {
        return Err(RegistryError {
            module: opentoken_dex::NAME,
            source: "the DEX needs the multisig module (modules.multisig) to hold its HIVE and HBD".into(),
        });
    }
    if has_nft(spec) {
        mods.push(configured(
            opentoken_nft::NAME,
            opentoken_nft::NftModule::from_spec(spec),
        )?);
    }
    Ok(mods)
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
/// carries (`ops_per_block`, inclusive) and what share of them is invalid, and, when the
/// chain runs the multisig module, deposits to and withdrawals from its account, DEX
/// orders too when it runs the DEX (`modules.dex`), and NFT ops when it runs the NFT
/// module (`modules.nft`).
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
        msaccount: has_multisig(spec).then(|| spec.msaccount.clone()),
        dex: has_dex(spec)
            .then(|| opentoken_hive::DexTraffic::from_spec(spec))
            .flatten(),
        nft: has_nft(spec)
            .then(|| opentoken_hive::NftTraffic::from_spec(spec))
            .flatten(),
        pob: opentoken_hive::PobTraffic::from_spec(spec),
    }
}

/// The genesis runners of the nodes module (`modules.nodes.genesis.runners`): the first
/// holders of the multi-sig account.
fn genesis_runners(spec: &ChainSpec) -> Vec<String> {
    spec.module_config("nodes")
        .and_then(|n| n.get("genesis"))
        .and_then(|g| g.get("runners"))
        .and_then(|r| r.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
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

/// The simulator configuration of a devnet for `spec`. The multi-sig account exists from
/// genesis; when the chain runs the multisig module, its active authority is the genesis
/// runners' devnet multi-sig keys ([`opentoken_hive::devnet_multisig_authority`]), the keys
/// they register as `mskey`, so the runners can sign its transfers as on Hive.
pub fn sim_config(spec: &ChainSpec, shape: ChainShape, traffic: TrafficConfig) -> SimConfig {
    let active_authorities = if has_multisig(spec) {
        opentoken_hive::devnet_multisig_authority(&genesis_runners(spec))
            .map(|a| (spec.msaccount.clone(), a))
            .into_iter()
            .collect()
    } else {
        Default::default()
    };
    SimConfig {
        seed: shape.seed,
        first_block: spec.starting_block.max(1),
        block_interval: shape.block_interval.max(Duration::from_millis(1)),
        prefill_blocks: shape.prefill_blocks,
        irreversible_lag: shape.irreversible_lag,
        traffic,
        genesis: opentoken_hive::GenesisConfig {
            extra_accounts: vec![spec.msaccount.clone()],
            active_authorities,
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

    fn with_multisig(mut spec: ChainSpec, section: serde_json::Value) -> ChainSpec {
        spec.modules.insert("multisig".into(), section);
        spec
    }

    fn without_multisig(mut spec: ChainSpec) -> ChainSpec {
        spec.modules.remove("multisig");
        spec
    }

    fn shape() -> ChainShape {
        ChainShape {
            seed: 1,
            block_interval: Duration::from_millis(10),
            prefill_blocks: 0,
            irreversible_lag: 0,
        }
    }

    #[test]
    fn the_multisig_module_runs_iff_the_spec_configures_it() {
        let plain = without_multisig(devnet());
        assert!(!has_multisig(&plain));
        assert_eq!(module_names(&modules(&plain).expect("modules")), ["token", "nodes"]);
        assert_eq!(route_tables(&modules(&plain).expect("modules")).len(), 2);
        let ms = with_multisig(plain, serde_json::json!({}));
        assert!(has_multisig(&ms));
        let mods = modules(&ms).expect("modules");
        assert_eq!(module_names(&mods), ["token", "nodes", "multisig"]);
        assert_eq!(route_tables(&mods).len(), 3);
        let bad = with_multisig(devnet(), serde_json::json!({"account": "someone-else"}));
        let err = modules(&bad).err().expect("a bad section refuses to start");
        assert_eq!(err.module, "multisig");
        assert!(err.to_string().contains("same account"), "{err}");
    }

    #[test]
    fn the_nodes_module_tells_the_multisig_module_its_signers_across_processes() {
        let ms = with_multisig(devnet(), serde_json::json!({}));
        let mods = modules(&ms).expect("modules");
        let links = message_links(&mods, &["multisig".to_string()]).expect("multisig listens to nodes");
        assert_eq!(links.upstreams, ["nodes"]);
        assert_eq!(links.senders, [("nodes".to_string(), "multisig".to_string())]);
        assert!(links.downstreams.is_empty(), "multisig sends nothing");
        let nodes = message_links(&mods, &["nodes".to_string()]).expect("nodes talks to both");
        assert!(nodes
            .downstreams
            .contains(&("nodes".to_string(), "multisig".to_string())));
        let plain = modules(&without_multisig(devnet())).expect("modules");
        let nodes = message_links(&plain, &["nodes".to_string()]).expect("nodes talks to token");
        assert!(!nodes.downstreams.iter().any(|(_, to)| to == "multisig"));
    }

    #[test]
    fn multisig_traffic_and_the_accounts_authority_come_with_the_module() {
        let plain = without_multisig(devnet());
        assert_eq!(traffic(&plain, (0, 8), 150).msaccount, None);
        let cfg = sim_config(&plain, shape(), traffic(&plain, (0, 8), 150));
        assert_eq!(cfg.genesis.extra_accounts, ["dlux-cc"]);
        assert!(
            cfg.genesis.active_authorities.is_empty(),
            "no multisig: the chain as before"
        );
        assert_eq!(
            cfg.genesis,
            opentoken_hive::GenesisConfig {
                extra_accounts: vec!["dlux-cc".into()],
                ..Default::default()
            }
        );

        let mut ms = with_multisig(plain, serde_json::json!({}));
        let t = traffic(&ms, (0, 8), 150);
        assert_eq!(t.msaccount.as_deref(), Some("dlux-cc"));
        let runners = ["dlux-io", "alice", "bob", "carol"];
        ms.modules
            .insert("nodes".into(), serde_json::json!({"genesis": {"runners": runners}}));
        let cfg = sim_config(&ms, shape(), t);
        let active = &cfg.genesis.active_authorities["dlux-cc"];
        assert_eq!(cfg.genesis.active_authorities.len(), 1);
        assert_eq!(active.weight_threshold, opentoken_multisig::keys::threshold_of(4));
        assert_eq!(active.weight_threshold, 3);
        for r in runners {
            let key = opentoken_hive::devnet_key(r, opentoken_hive::KeyRole::Multisig).public();
            assert_eq!(active.key_auths.get(&key), Some(&1), "{r}");
        }
        assert_eq!(active.key_auths.len(), 4);
        let ledger = opentoken_hive::Ledger::genesis(&cfg.traffic, &cfg.genesis, &[], 0);
        assert_eq!(&ledger.account("dlux-cc").expect("exists").active, active);
    }

    #[test]
    fn registry_order_is_fixed() {
        let mods = modules(&devnet()).expect("modules");
        assert_eq!(module_names(&mods), ["token", "nodes"]);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/chains/devnet-multisig.json");
        let ms = ChainSpec::load(std::path::Path::new(path)).expect("devnet-multisig spec");
        let mods = modules(&ms).expect("modules");
        assert_eq!(
            module_names(&mods),
            ["token", "nodes", "multisig", "dex", "nft"],
            "devnet-multisig runs multisig, the DEX and the NFT module"
        );
        // A DEX without the multisig module holding its coin is refused, naming why.
        let mut dex_only = devnet();
        dex_only.modules.insert("dex".into(), serde_json::json!({}));
        let err = modules(&dex_only).err().expect("refused").to_string();
        assert!(err.contains("dex") && err.contains("multisig"), "{err}");
    }

    /// NFT traffic comes with the NFT module, with its parameters and budgets from the
    /// token genesis; a chain without it generates none.
    #[test]
    fn nft_traffic_comes_with_the_module() {
        assert_eq!(traffic(&devnet(), (0, 8), 150).nft, None);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/chains/devnet-multisig.json");
        let ms = ChainSpec::load(std::path::Path::new(path)).expect("devnet-multisig spec");
        assert!(has_nft(&ms));
        let nft = traffic(&ms, (0, 8), 150).nft.expect("NFT traffic on devnet-multisig");
        assert_eq!(nft.cfg.blocks_per_day, 600, "auctions end within a `make run` session");
        assert_eq!(nft.checkpoint_interval, ms.checkpoint_interval);
        assert_eq!(
            nft.budgets.get("dlux-io"),
            Some(&(5_000_000 / opentoken_hive::nft_traffic::BUDGET_SHARE))
        );
        assert_eq!(nft.per_block, None);
    }

    #[test]
    fn unknown_module_names_the_known_ones() {
        let mods = modules(&devnet()).expect("modules");
        let err = find(&mods, "dex")
            .err()
            .expect("no dex on the plain devnet")
            .to_string();
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
