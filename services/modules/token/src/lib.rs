//! The token ledger module: send, claim, power up / down, power grants, governance stake,
//! and Hive delegations to the community's delegation account.
//!
//! It follows the reference node (DLUX Open_Token / HoneyComb) in op ids, JSON fields and
//! authorities, and fixes its bugs (listed in `docs/compatibility.md`): amounts are
//! non-negative integers only, every recipient is a valid Hive account, every value-moving
//! op needs active authority, schedules are cancelled exactly and run by integer block.
//!
//! One file per operation family: `send`, `claim`, `power` (`power_up`, `power_down`), `gov`
//! (`gov_up`, `gov_down`), `grant` (`power_grant`), `withdrawal` (the installments of both
//! downs, paid as chron work), `delegation` (Hive delegations), `nodes_messages`, and `dex`
//! (`dex_sell` and the DEX's credits, on chains that run a DEX). They
//! decide; `apply` evolves the ledger through the writes of `state`, and `describe` writes
//! the feed line. This file routes inputs to them.

mod apply;
mod claim;
pub mod config;
mod delegation;
mod describe;
mod dex;
pub mod economy;
pub mod events;
mod gov;
mod grant;
pub mod keys;
mod nft;
mod nodes_messages;
mod parse;
pub mod pob;
mod power;
mod send;
mod state;
pub mod views;
mod withdrawal;

pub use config::{EconomyConfig, Genesis, PobConfig, TokenConfig};
pub use events::TokenEvent;
pub use keys::{Bucket, Unlock};
pub use views::{
    account_view, grants_out, leader_votes, open_posts, post_view, stats_view, supply_check, AccountView,
    DueLeaderVote, PostView, StatsView, SupplyCheck, ViewError,
};

use opentoken_core::module::{GenesisError, InvariantError};
use opentoken_core::{
    Auth, BlockContext, ChainSpec, HiveOp, Input, Module, OpContext, Outgoing, Reject, RejectCode, Route, StateRead,
    StateWrite,
};
use opentoken_dex::DexConfig;

/// The module's name: state, topics, and the address of its messages.
pub const NAME: &str = "token";
/// The module that mirrors governance stake, and registers nodes and rewards runners.
pub const NODES: &str = "nodes";
/// The DEX module: it receives escrowed sell orders and sends credits back.
pub const DEX: &str = opentoken_dex::NAME;

/// The NFT module: it receives the ops that pay it and sends credits, burns and prices.
pub const NFT: &str = opentoken_nft::NAME;

/// The ledger's own routes, and `dex_sell` last: a chain that runs a DEX owns them all; a
/// chain without one owns all but the last, so its ops are routed (and rejected) as before
/// the DEX existed. A chain that runs the NFT module adds its paid ops.
const DEX_ROUTES: &[Route] = &[
    Route {
        name: "send",
        auth: Auth::Active,
    },
    Route {
        name: "claim",
        auth: Auth::Active,
    },
    Route {
        name: "power_up",
        auth: Auth::Active,
    },
    Route {
        name: "power_down",
        auth: Auth::Active,
    },
    Route {
        name: "power_grant",
        auth: Auth::Active,
    },
    Route {
        name: "gov_up",
        auth: Auth::Active,
    },
    Route {
        name: "gov_down",
        auth: Auth::Active,
    },
    Route {
        name: "dex_sell",
        auth: Auth::Active,
    },
];

/// The routes of a chain without a DEX.
const ROUTES: &[Route] = DEX_ROUTES.split_at(DEX_ROUTES.len() - 1).0;

/// What the token module needs of a chain's NFT module: its parameters (the define fee
/// the token side checks before escrowing, the fee account credits may go to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftSetup {
    pub cfg: opentoken_nft::NftConfig,
}

/// What the token module needs of a chain's DEX: its parameters (order limits, the fee
/// account credits may go to) and the token's symbol and precision for the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DexSetup {
    pub cfg: DexConfig,
    pub token: String,
    pub precision: u8,
}

/// The module. Stateless itself: all it needs besides the state is its validated config,
/// and the chain's DEX parameters when it runs one.
#[derive(Debug)]
pub struct TokenModule {
    cfg: TokenConfig,
    dex: Option<DexSetup>,
    nft: Option<NftSetup>,
    routes: Vec<Route>,
}

fn routes(dex: bool, nft: bool) -> Vec<Route> {
    let mut r = if dex { DEX_ROUTES.to_vec() } else { ROUTES.to_vec() };
    if nft {
        r.extend(opentoken_nft::protocol::PAID_OPS.iter().map(|(name, _)| Route {
            name,
            auth: Auth::Active,
        }));
    }
    r
}

impl TokenModule {
    /// The ledger of a chain without a DEX.
    pub fn new(cfg: TokenConfig) -> Result<Self, GenesisError> {
        cfg.validate()?;
        nft_genesis_agrees(&cfg.genesis.nft, None)?;
        Ok(Self {
            cfg,
            dex: None,
            nft: None,
            routes: routes(false, false),
        })
    }

    /// The ledger of the chain `spec` describes: with the DEX's escrow when it has a
    /// `modules.dex` section.
    pub fn from_spec(spec: &ChainSpec) -> Result<Self, GenesisError> {
        let dex = DexConfig::from_spec(spec)?.map(|cfg| DexSetup {
            cfg,
            token: spec.token.clone(),
            precision: spec.precision,
        });
        let nft = opentoken_nft::NftConfig::from_spec(spec)?.map(|cfg| NftSetup { cfg });
        let cfg = TokenConfig::from_spec(spec)?;
        nft_genesis_agrees(&cfg.genesis.nft, nft.as_ref())?;
        Ok(Self {
            cfg,
            routes: routes(dex.is_some(), nft.is_some()),
            dex,
            nft,
        })
    }

    pub fn config(&self) -> &TokenConfig {
        &self.cfg
    }

    /// The chain's DEX, when it runs one.
    pub fn dex(&self) -> Option<&DexSetup> {
        self.dex.as_ref()
    }

    /// The chain's NFT module, when it runs one.
    pub fn nft(&self) -> Option<&NftSetup> {
        self.nft.as_ref()
    }
}

/// The NFT escrow at the start (`genesis.nft`) must be what the NFT module's genesis
/// holds and offers in the token, and needs the module.
fn nft_genesis_agrees(g: &config::NftEscrowGenesis, nft: Option<&NftSetup>) -> Result<(), GenesisError> {
    let bad = |why: String| GenesisError {
        module: NAME.into(),
        why,
    };
    let Some(nft) = nft else {
        if g != &config::NftEscrowGenesis::default() {
            return Err(bad("genesis.nft needs the NFT module (modules.nft)".into()));
        }
        return Ok(());
    };
    let held = nft.cfg.genesis.held();
    if u128::from(g.escrow) != held {
        return Err(bad(format!(
            "genesis.nft.escrow is {}, the NFT module's genesis holds {held}",
            g.escrow
        )));
    }
    if g.prices != nft.cfg.genesis.prices() {
        return Err(bad(
            "genesis.nft.prices are not the NFT module's genesis's TOKEN-priced offers".into(),
        ));
    }
    Ok(())
}

impl TokenModule {
    /// The genesis events of an imported economy and Proof of Brain (`genesis.economy`,
    /// `genesis.proof_of_brain`; validated with the spec): wins as one `WinsCounted` per
    /// round, the last DAO day, posts as they were registered, their votes, the meters, the
    /// paid posts and the moving weight.
    fn seeded_economy(&self, spec: &ChainSpec) -> Vec<TokenEvent> {
        let g = &self.cfg.genesis;
        let mut out = Vec::new();
        if let Some(node_rate) = g.economy.node_rate {
            let rounds = g.economy.wins.values().max().copied().unwrap_or(0).max(1);
            for round in 1..=rounds {
                let accounts: Vec<String> = g
                    .economy
                    .wins
                    .iter()
                    .filter(|(_, w)| **w >= round)
                    .map(|(a, _)| a.clone())
                    .collect();
                out.push(TokenEvent::WinsCounted { accounts, node_rate });
            }
        }
        if let Some(day) = g.economy.last_dao {
            out.push(TokenEvent::DaySeeded(day));
        }
        let Some(cfg) = self.cfg.economy.as_ref().and_then(|e| e.proof_of_brain.as_ref()) else {
            return out;
        };
        let pob = &g.proof_of_brain;
        let split = |key: &str| config::PobGenesis::post_key(key).map(|(a, p)| (a.to_string(), p.to_string()));
        for (key, block) in &pob.pending {
            if let Some((author, permlink)) = split(key) {
                out.push(TokenEvent::PostPending {
                    author,
                    permlink,
                    block: *block,
                    expires: block.saturating_add(cfg.pending_blocks),
                });
            }
        }
        for (key, post) in &pob.posts {
            let Some((author, permlink)) = split(key) else { continue };
            out.push(TokenEvent::PostPending {
                author: author.clone(),
                permlink: permlink.clone(),
                block: post.block,
                expires: post.block.saturating_add(cfg.pending_blocks),
            });
            out.push(TokenEvent::PostRegistered {
                author: author.clone(),
                permlink: permlink.clone(),
                block: post.block,
                closes: post.block.saturating_add(cfg.reward_blocks),
            });
            for (voter, (block, value)) in post.votes.iter().filter(|(_, (_, v))| *v != 0) {
                if let Some(mana) = pob.meters.get(voter) {
                    out.push(TokenEvent::VoteCast {
                        voter: voter.clone(),
                        author: author.clone(),
                        permlink: permlink.clone(),
                        block: *block,
                        value: *value,
                        mana: *mana,
                    });
                }
            }
        }
        out.extend(pob.meters.iter().map(|(account, mana)| TokenEvent::ManaSeeded {
            account: account.clone(),
            mana: *mana,
        }));
        for (key, paid) in &pob.paid {
            if let Some((author, permlink)) = split(key) {
                out.push(TokenEvent::PaidSeeded {
                    author,
                    permlink,
                    paid: paid.clone(),
                });
            }
        }
        let queued = |key: &String, sum: u64| {
            split(key).map(|(author, permlink)| TokenEvent::LeaderVoteQueued { author, permlink, sum })
        };
        out.extend(pob.leader_queued.iter().filter_map(|(key, sum)| queued(key, *sum)));
        if let (Some(l), false) = (&cfg.leader_votes, pob.leader_due.is_empty()) {
            // A due vote is queued and decided at once, with the weight it was owed with.
            out.extend(pob.leader_due.keys().filter_map(|key| queued(key, 1)));
            let votes = pob
                .leader_due
                .iter()
                .filter_map(|(key, weight)| {
                    split(key).map(|(author, permlink)| pob::LeaderVote {
                        author,
                        permlink,
                        sum: 1,
                        weight: *weight,
                    })
                })
                .collect();
            let block = spec.starting_block.saturating_sub(1);
            out.push(TokenEvent::LeaderVotesDue {
                block,
                expires: spec.starting_block.saturating_add(l.keep_blocks),
                votes,
            });
        }
        if pob.moving_weight > 0 {
            out.push(TokenEvent::PobTally {
                block: spec.starting_block.saturating_sub(1),
                weights: 0,
                running: pob.moving_weight,
                payout: 0,
            });
        }
        out
    }
}

impl Module for TokenModule {
    type Event = TokenEvent;

    fn name(&self) -> &'static str {
        NAME
    }

    fn routes(&self) -> &[Route] {
        &self.routes
    }

    fn accepts_hive_op(&self, op: &HiveOp, spec: &ChainSpec) -> bool {
        match op {
            HiveOp::DelegateVestingShares(d) => d.delegatee == spec.delegation_account,
            HiveOp::Other { name, body } => self.pob_routes(name, body),
            _ => false,
        }
    }

    fn concerns_hive_op(&self, ctx: &OpContext<'_>, op: &HiveOp, state: &dyn StateRead) -> bool {
        match op {
            HiveOp::Other { name, body } => self.pob_concerns(ctx, name, body, state),
            _ => true,
        }
    }

    fn genesis(&self, spec: &ChainSpec) -> Result<Vec<TokenEvent>, GenesisError> {
        let g = &self.cfg.genesis;
        let mut out = Vec::new();
        for (bucket, map) in [
            (Bucket::Liquid, &g.balances),
            (Bucket::Power, &g.pow),
            (Bucket::Gov, &g.gov),
            (Bucket::Claimable, &g.claimable),
        ] {
            for (account, amount) in map.iter().filter(|(_, a)| **a > 0) {
                out.push(TokenEvent::Minted {
                    account: account.clone(),
                    bucket,
                    amount: *amount,
                });
            }
        }
        for (from, to) in &g.grants {
            for (to, amount) in to.iter().filter(|(_, a)| **a > 0) {
                out.push(TokenEvent::Minted {
                    account: from.clone(),
                    bucket: Bucket::Power,
                    amount: *amount,
                });
                out.push(TokenEvent::PowerGranted {
                    from: from.clone(),
                    to: to.clone(),
                    previous: 0,
                    amount: *amount,
                });
            }
        }
        for (unlock, schedules) in [(Unlock::Power, &g.power_downs), (Unlock::Gov, &g.gov_downs)] {
            for (account, installments) in schedules {
                out.push(TokenEvent::WithdrawalScheduled {
                    account: account.clone(),
                    unlock,
                    total: installments.iter().map(|(_, a)| *a).sum(),
                    installments: installments.clone(),
                });
            }
        }
        for (name, amount) in g.pools.iter().filter(|(_, a)| **a > 0) {
            let pool = keys::Pool::from_name(name).ok_or_else(|| GenesisError {
                module: NAME.into(),
                why: format!("genesis.pools: {name:?} is not a pool"),
            })?;
            out.push(TokenEvent::PoolSeeded { pool, amount: *amount });
        }
        if !g.dex_orders.is_empty() && self.dex.is_none() {
            return Err(GenesisError {
                module: NAME.into(),
                why: "genesis.dex_orders needs a DEX (modules.dex)".into(),
            });
        }
        for order in &g.dex_orders {
            out.push(TokenEvent::Minted {
                account: order.from.clone(),
                bucket: Bucket::Liquid,
                amount: order.amount,
            });
            out.push(TokenEvent::DexEscrowed {
                account: order.from.clone(),
                amount: order.amount,
                order: order.clone(),
            });
        }
        out.extend(self.seeded_economy(spec));
        let mut nodes = g.nodes.clone();
        nodes.sort();
        nodes.dedup();
        out.extend(nodes.into_iter().map(|account| TokenEvent::NodeRegistered { account }));
        for (account, vests) in g.delegations.iter().filter(|(_, v)| **v > 0) {
            out.push(TokenEvent::DelegationSet {
                account: account.clone(),
                vests: *vests,
            });
        }
        if g.nft.escrow > 0 {
            out.push(TokenEvent::NftEscrowSeeded { amount: g.nft.escrow });
        }
        for (item, price) in &g.nft.prices {
            out.push(TokenEvent::NftPriced {
                item: item.clone(),
                price: *price,
            });
        }
        Ok(out)
    }

    fn handle(&self, ctx: &OpContext<'_>, input: Input<'_>, state: &dyn StateRead) -> Result<Vec<TokenEvent>, Reject> {
        match input {
            Input::CustomJson {
                name, from, payload, ..
            } => match name {
                "send" => self.send(from, payload, state),
                "claim" => self.claim(from, payload, state),
                "power_up" => self.power_up(from, payload, state),
                "gov_up" => self.gov_up(from, payload, state),
                "power_down" => self.power_down(ctx, from, payload, state),
                "gov_down" => self.gov_down(ctx, from, payload, state),
                "power_grant" => self.power_grant(from, payload, state),
                "dex_sell" => match &self.dex {
                    Some(dex) => self.dex_sell(dex, ctx, from, payload, state),
                    None => Err(Reject::new(
                        RejectCode::UnknownOperation,
                        "token has no operation `dex_sell`: this chain runs no DEX",
                    )),
                },
                other => match &self.nft {
                    Some(nft) => self.nft_paid(nft, ctx, other, from, payload, state),
                    None => Err(Reject::new(
                        RejectCode::UnknownOperation,
                        format!("token has no operation `{other}`"),
                    )),
                },
            },
            Input::Hive(HiveOp::DelegateVestingShares(d)) => self.delegate(ctx, d, state),
            Input::Hive(HiveOp::Other { name, body }) => self.pob_handle(ctx, name, body, state),
            Input::Hive(other) => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("token does not handle Hive `{}`", other.name()),
            )),
            Input::Message(m) => match (&self.dex, &self.nft) {
                (Some(dex), _) if m.from == DEX => self.dex_message(dex, m, state),
                (_, Some(nft)) if m.from == NFT => self.nft_message(nft, m, state),
                _ => self.nodes_message(m, state),
            },
        }
    }

    fn on_block(&self, ctx: &BlockContext<'_>, state: &dyn StateRead) -> Result<Vec<TokenEvent>, InvariantError> {
        let mut out = self.pay_installments(ctx, state)?;
        if let Some(eco) = &self.cfg.economy {
            let dao_day = ctx.block % eco.dao_every.max(1) == eco.dao_offset;
            out.extend(self.pob_on_block(ctx.block, ctx.block.is_multiple_of(eco.mint_every), dao_day, state)?);
            out.extend(self.economy_on_block(eco, ctx, state)?);
        }
        Ok(out)
    }

    fn next_due_block(&self, state: &dyn StateRead, after: u64) -> Option<u64> {
        let installment = match (withdrawal::next_installment(state), self.pob_next_due(state, after)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let economy = self
            .cfg
            .economy
            .as_ref()
            .and_then(|eco| economy::next_economy_block(eco, after));
        match (installment, economy) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn apply(&self, event: &TokenEvent, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        apply::apply(event, state)
    }

    fn sends_to(&self) -> &[&'static str] {
        match (self.dex.is_some(), self.nft.is_some()) {
            (true, true) => &[NODES, DEX, NFT],
            (true, false) => &[NODES, DEX],
            (false, true) => &[NODES, NFT],
            (false, false) => &[NODES],
        }
    }

    /// Registrations and rewards from the nodes module change balances and flags, never
    /// governance stake, and the DEX's credits change liquid balances and the escrow only,
    /// so no message ever causes one back.
    fn sends_on_messages(&self) -> bool {
        false
    }

    /// The nodes module keeps a mirror of governance stake (it elects runners and weighs
    /// reports by it); every event that changes a gov balance tells it by how much. The DEX
    /// gets every order whose tokens were escrowed.
    fn messages(&self, event: &TokenEvent) -> Vec<Outgoing> {
        if let TokenEvent::NftEscrowed { paid, .. } = event {
            let Ok(payload) = events::paid_json(paid) else {
                return Vec::new();
            };
            return vec![Outgoing {
                to: NFT.into(),
                kind: opentoken_nft::protocol::KIND_PAID.into(),
                payload,
            }];
        }
        if let TokenEvent::DexEscrowed { order, .. } = event {
            // Cannot fail (strings, integers, unit enums); if it did, encoding the same
            // event fails too and the processor stops before anything is committed.
            let Ok(payload) = events::order_json(order) else {
                return Vec::new();
            };
            return vec![Outgoing {
                to: DEX.into(),
                kind: opentoken_dex::protocol::KIND_ORDER.into(),
                payload,
            }];
        }
        let (kind, account, amount) = match event {
            TokenEvent::Minted {
                account,
                bucket: Bucket::Gov,
                amount,
            } => ("gov_added", account, *amount),
            TokenEvent::GovLocked { account, amount } => ("gov_added", account, *amount),
            TokenEvent::Claimed {
                account,
                locked,
                to_gov: true,
                ..
            } => ("gov_added", account, *locked),
            TokenEvent::WithdrawalPaid {
                account,
                unlock: Unlock::Gov,
                paid,
                ..
            } => ("gov_removed", account, *paid),
            _ => return Vec::new(),
        };
        if amount == 0 {
            return Vec::new();
        }
        vec![Outgoing {
            to: NODES.into(),
            kind: kind.into(),
            payload: serde_json::json!({ "account": account, "amount": amount }).to_string(),
        }]
    }

    fn describe(&self, event: &TokenEvent) -> String {
        describe::describe(event, self.dex.as_ref())
    }
}
