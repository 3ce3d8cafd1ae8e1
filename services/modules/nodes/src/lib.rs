//! The nodes module: the registry of consensus nodes, their signed checkpoint reports, the
//! stake-weighted tally of those reports, and the election of the runner (consensus) set.
//!
//! It follows the reference node (DLUX Open_Token, `nodes.js`, `report.js`, `tally.js`) in
//! op names and node parameters, with the decisions of `consensus-multisig.md`:
//! - `node_add` carries an ed25519 report key and optionally a Hive multi-sig key, each with a
//!   proof of possession bound to the account, chain and a recent block (the reference's
//!   memo "challenge" proves nothing);
//! - a report is an ed25519-signed statement about a checkpoint block N, accepted only in
//!   blocks N+1 ..= N+report_window, once per node, and only from the tally's runners or
//!   nodes holding `min_candidate_stake` (registration is free; stake is not), each
//!   costing a constant number of state writes (one key per vote, a stake sum per hash);
//! - checkpoint N is final when runners holding strictly more than 2/3 of the runner set's
//!   governance stake (frozen when the tally opened) reported the same hash (the reference:
//!   one runner one vote, > 1/2);
//! - the runner set changes only when a tally closes: runners that did not agree are dropped,
//!   at most one agreeing non-runner is elected; every decision is a state event.
//!
//! Governance stake lives in the token module; this module keeps a mirror fed by the token's
//! messages, and tells the token module about registrations and rewards:
//!
//! | direction | kind | payload |
//! |---|---|---|
//! | token -> nodes | `gov_added`, `gov_removed` | `{"account", "amount" > 0}` |
//! | nodes -> token | `node_registered`, `node_removed` | `{"account"}` |
//! | nodes -> token | `node_reward` | `{"account", "amount"}` per runner kept by a final tally |
//! | nodes -> multisig | `signers` | `{"signers": [{"account", "key"}, ...]}` when the multi-sig signers change, only if the spec configures `multisig` ([`signers`]) |
//! | nodes -> multisig | `collateral` | `{"stake"}` at a tally close when the signers' collateral changed, only if the spec configures `multisig` ([`signers`]) |
//! | nodes -> dex | `collateral` | the same message, also sent to the DEX when the spec configures `dex` |
//! | nodes -> dex | `params` | `{"fee_ppm", "dex_max_bp", "dex_slope_bp"}` at a tally close when the runners' stake-weighted DEX votes changed, only if the spec configures `dex` ([`dex`]) |
//!
//! The state layout is in [`keys`]. Liveness needs runners with stake: a tally whose runner
//! set holds no stake (no runners registered, or none with governance stake) finalises
//! nothing and elects nobody, so a community must list registered, staked `genesis.runners`.
//!
//! Everything is integer arithmetic over state, so every node computes the same events.
//!
//! One file per operation: `registry` (`node_add`, `node_delete`),
//! `report`, `gov_mirror` (the token module's messages), `tally` (open, close, election),
//! `signers` (the multi-sig signers those change) and `dex` (the DEX parameters the runners
//! vote).
//! They decide; `apply` evolves the state through the typed reads and writes of `state`, and
//! `describe` writes the feed line. This file routes inputs to them.

pub mod address;
mod apply;
pub mod config;
mod describe;
pub mod dex;
pub mod domain;
mod economy;
pub mod events;
mod gov_mirror;
pub mod keys;
mod parse;
mod registry;
mod report;
pub mod signers;
mod signing;
mod state;
mod tally;
pub mod views;

pub use config::{NodesConfig, NodesGenesis};
pub use events::{NodesEvent, TallyClose};
pub use keys::{NodeRecord, NodesStats, Signer, Stake, Tally};
pub use signers::{MAX_SIGNERS, MULTISIG};
pub use signing::{
    node_add_json, node_add_signing_bytes, report_json, report_signing_bytes, NODE_ADD_DOMAIN, REPORT_OP_DOMAIN,
};

use opentoken_core::account::is_valid_account_name;
use opentoken_core::module::{GenesisError, InvariantError};
use opentoken_core::{
    Auth, BlockContext, ChainSpec, Input, Module, OpContext, Outgoing, Reject, RejectCode, Route, StateRead, StateWrite,
};
use opentoken_dex::protocol::NAME as DEX;
use parse::preview;
use state::Read;

/// The module's name: state, topics, and the address of its messages.
pub const NAME: &str = "nodes";
/// The module the governance stake comes from, and registrations and rewards go to.
pub const TOKEN: &str = "token";

const ROUTES: &[Route] = &[
    Route {
        name: "node_add",
        auth: Auth::Active,
    },
    Route {
        name: "node_delete",
        auth: Auth::Active,
    },
    Route {
        name: "report",
        auth: Auth::Active,
    },
];

/// Longest accepted `domain`.
pub const MAX_DOMAIN_CHARS: usize = 256;
/// Longest accepted report `version`.
pub const MAX_VERSION_CHARS: usize = 64;

/// The module. Stateless itself: all it needs besides the state is its validated config.
#[derive(Debug)]
pub struct NodesModule {
    cfg: NodesConfig,
    /// The spec's checkpoint interval, for `next_due_block` (which gets no spec).
    checkpoint_interval: u64,
    /// Whether the spec configures the multisig module, which is then told its signers
    /// ([`signers`]); without it nothing of that exists, in state or in messages.
    multisig: bool,
    /// Whether the chain runs the DEX, which is then told the collateral and the runners'
    /// DEX votes ([`dex`]); without it nothing of that exists, in state or in messages.
    dex: bool,
    /// Whether the token module runs the economy (`modules.token.economy`), which is then
    /// told each final tally's wins ([`NodesEvent::WinsSent`]).
    economy: bool,
}

/// Whom the module sends to: the token module, and the multisig module and the DEX when the
/// chain has them (alphabetical).
const TO_TOKEN: &[&str] = &[TOKEN];
const TO_MULTISIG_AND_TOKEN: &[&str] = &[MULTISIG, TOKEN];
const TO_DEX_AND_TOKEN: &[&str] = &[DEX, TOKEN];
const TO_DEX_MULTISIG_AND_TOKEN: &[&str] = &[DEX, MULTISIG, TOKEN];

fn check_account(from: &str) -> Result<(), Reject> {
    if is_valid_account_name(from) {
        Ok(())
    } else {
        Err(Reject::new(
            RejectCode::InvalidAccount,
            format!("{:?} is not a valid Hive account name", preview(from)),
        ))
    }
}

impl NodesModule {
    pub fn new(cfg: NodesConfig, spec: &ChainSpec) -> Result<Self, GenesisError> {
        cfg.validate(spec)?;
        Ok(Self {
            cfg,
            checkpoint_interval: spec.checkpoint_interval,
            multisig: spec.module_config(MULTISIG).is_some(),
            dex: opentoken_dex::DexConfig::from_spec(spec)?.is_some(),
            economy: spec
                .module_config(TOKEN)
                .and_then(|t| t.get("economy"))
                .is_some_and(|e| !e.is_null()),
        })
    }

    pub fn from_spec(spec: &ChainSpec) -> Result<Self, GenesisError> {
        Self::new(NodesConfig::from_spec(spec)?, spec)
    }

    pub fn config(&self) -> &NodesConfig {
        &self.cfg
    }
}

impl Module for NodesModule {
    type Event = NodesEvent;

    fn name(&self) -> &'static str {
        NAME
    }

    fn routes(&self) -> &[Route] {
        ROUTES
    }

    fn genesis(&self, spec: &ChainSpec) -> Result<Vec<NodesEvent>, GenesisError> {
        let mut out: Vec<NodesEvent> = self
            .cfg
            .genesis
            .nodes
            .iter()
            .map(|(account, n)| NodesEvent::NodeAdded {
                account: account.clone(),
                // The token's genesis lists its nodes: nothing to tell it.
                registered: false,
                record: NodeRecord {
                    domain: n.domain.clone(),
                    bid_rate: n.bid_rate,
                    dm: n.dm,
                    ds: n.ds,
                    dv: n.dv,
                    liquidity: n.liquidity,
                    report_key: String::new(),
                    mskey: None,
                    active: true,
                    attempts: n.attempts,
                    yays: n.yays,
                    wins: n.wins,
                    strikes: n.strikes,
                    last_good: n.last_good,
                    registered_at: spec.starting_block.saturating_sub(1),
                },
            })
            .collect();
        let mut runners = self.cfg.genesis.runners.clone();
        runners.sort();
        if !runners.is_empty() {
            out.push(NodesEvent::RunnersInitialised { runners });
        }
        Ok(out)
    }

    fn handle(&self, ctx: &OpContext<'_>, input: Input<'_>, state: &dyn StateRead) -> Result<Vec<NodesEvent>, Reject> {
        let read = Read(state);
        match input {
            Input::CustomJson {
                name, from, payload, ..
            } => {
                check_account(from)?;
                match name {
                    "node_add" => self.node_add(ctx, from, payload, &read),
                    "node_delete" => self.node_delete(from, &read),
                    "report" => self.report(ctx, from, payload, &read),
                    other => Err(Reject::new(
                        RejectCode::UnknownOperation,
                        format!("nodes has no operation `{other}`"),
                    )),
                }
            }
            Input::Hive(op) => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("nodes does not handle Hive `{}`", op.name()),
            )),
            Input::Message(m) => self.gov_message(m, &read),
        }
    }

    fn on_block(&self, ctx: &BlockContext<'_>, state: &dyn StateRead) -> Result<Vec<NodesEvent>, InvariantError> {
        let read = Read(state);
        let mut out = Vec::new();
        let opening = ctx.block.is_multiple_of(ctx.spec.checkpoint_interval);
        let mut runners = read.runners()?;
        if let Some(t) = read.open_tally()? {
            // `opening` also closes a tally that is still open (possible only if the window
            // was configured longer than the interval), so that never two are open.
            if ctx.block >= t.block.saturating_add(self.cfg.report_window) || opening {
                let close = self.close(&t, &read)?;
                runners = close.runners.clone();
                let wins = self.wins_update(&read, &close)?;
                out.push(NodesEvent::TallyClosed(close));
                out.extend(wins);
                // The close changes no node record, so the state read here is the one the
                // signers depend on, with the new runner set.
                out.extend(self.signers_update(&read, &runners, None)?);
                out.extend(self.collateral_update(&read, &runners)?);
                out.extend(self.dex_params_update(&read, &runners)?);
            }
        }
        if opening {
            out.push(self.open(ctx.block, &runners, &read)?);
        }
        Ok(out)
    }

    fn next_due_block(&self, state: &dyn StateRead, after: u64) -> Option<u64> {
        let interval = self.checkpoint_interval.max(1);
        let next_checkpoint = (after / interval).checked_add(1).and_then(|k| k.checked_mul(interval));
        let close = match Read(state).open_tally() {
            // A broken tally: run the next block, whose on_block reports the problem.
            Err(_) => after.checked_add(1),
            Ok(None) => None,
            Ok(Some(t)) => Some(
                t.block
                    .saturating_add(self.cfg.report_window)
                    .max(after.saturating_add(1)),
            ),
        };
        match (next_checkpoint, close) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn apply(&self, event: &NodesEvent, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        apply::apply(event, state, self.cfg.keep_finals)
    }

    fn messages(&self, event: &NodesEvent) -> Vec<Outgoing> {
        let to_token = |kind: &str, payload: serde_json::Value| Outgoing {
            to: TOKEN.into(),
            kind: kind.into(),
            payload: payload.to_string(),
        };
        match event {
            NodesEvent::NodeAdded {
                account,
                registered: true,
                ..
            } => vec![to_token("node_registered", serde_json::json!({ "account": account }))],
            NodesEvent::NodeDeleted { account } => {
                vec![to_token("node_removed", serde_json::json!({ "account": account }))]
            }
            NodesEvent::TallyClosed(c) if c.reward > 0 => c
                .runners_after
                .iter()
                .map(|a| to_token("node_reward", serde_json::json!({ "account": a, "amount": c.reward })))
                .collect(),
            NodesEvent::SignersSent { signers } => vec![signers::message(signers)],
            NodesEvent::CollateralSent { stake } => {
                let mut out = vec![signers::collateral_message(MULTISIG, *stake)];
                if self.dex {
                    out.push(signers::collateral_message(DEX, *stake));
                }
                out
            }
            NodesEvent::DexParamsSent { params } => dex::params_message(params),
            NodesEvent::WinsSent { accounts, node_rate } => vec![to_token(
                "runner_wins",
                serde_json::json!({ "accounts": accounts, "node_rate": node_rate }),
            )],
            _ => Vec::new(),
        }
    }

    /// The order is not significant (messages are delivered by source module, then emission
    /// order); alphabetical like everything else.
    fn sends_to(&self) -> &[&'static str] {
        match (self.dex, self.multisig) {
            (true, true) => TO_DEX_MULTISIG_AND_TOKEN,
            (true, false) => TO_DEX_AND_TOKEN,
            (false, true) => TO_MULTISIG_AND_TOKEN,
            (false, false) => TO_TOKEN,
        }
    }

    /// Governance-stake updates from the token module only change the mirror. The signers
    /// rank runners by that stake, but are recomputed only by ops and at tally closes
    /// (chron work the stake does not schedule), never while a message is handled.
    fn sends_on_messages(&self) -> bool {
        false
    }

    fn describe(&self, event: &NodesEvent) -> String {
        describe::describe(event)
    }
}

#[cfg(test)]
mod tests;
