//! The engine over fuzzer-chosen blocks of ops, with the registry's modules and the
//! guestbook, and the invariants every block must keep.
//!
//! An input is text, one step a line (so seeds and crashes read as what they are):
//! - `<auth><signers> <id> <json>`: a custom_json; `auth` is `a` (active), `p` (posting),
//!   `b` (both) or `n` (no signer); `signers` is comma-separated; `json` is the rest of the
//!   line, exactly as a block carries it;
//! - `D <delegator> <delegatee> <vests>`: a `delegate_vesting_shares` (`2000.000000 VESTS`);
//! - `H <name> <body>`: any other Hive op (`comment`, `comment_options`, `vote`, ...) with its
//!   JSON body as the rest of the line, as the block decoder passes it on;
//! - `-`: the block ends; `~<n>`: `n` empty blocks as one idle range.
//!
//! Ops are routed as the ingester routes them (the real `Router` over the modules), so an op
//! no module owns never reaches the engine, as in production.

use opentoken_core::engine::ErasedModule;
use opentoken_core::router::{RouteTable, Router};
use opentoken_core::test_utils::{block_time, devnet_spec, TestNet};
use opentoken_core::{
    Asset, ChainPos, ChainSpec, CustomJsonOp, DelegateVestingSharesOp, Engine, HiveOp, Message, ModuleState, Outcome,
    RoutedOp, Slot,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Bounds that keep one input fast (a block of this many ops, this many steps, idle ranges
/// of at most this many blocks).
const MAX_STEPS: usize = 48;
const MAX_OPS_PER_BLOCK: usize = 32;
const MAX_IDLE: u64 = 400;

/// One step of an input.
#[derive(Debug, Clone)]
pub enum Step {
    Block(Vec<HiveOp>),
    Idle(u64),
}

/// The steps of an input (lines that parse as nothing are skipped: the fuzzer wastes no
/// time on them, and the invariants see only real blocks).
pub fn parse(data: &[u8]) -> Vec<Step> {
    let text = String::from_utf8_lossy(data);
    let mut steps = Vec::new();
    let mut block = Vec::new();
    for line in text.lines() {
        if steps.len() >= MAX_STEPS {
            break;
        }
        if line == "-" {
            steps.push(Step::Block(std::mem::take(&mut block)));
        } else if let Some(n) = line.strip_prefix('~') {
            if !block.is_empty() {
                steps.push(Step::Block(std::mem::take(&mut block)));
            }
            let n = n.trim().parse::<u64>().unwrap_or(1).clamp(1, MAX_IDLE);
            steps.push(Step::Idle(n));
        } else if block.len() < MAX_OPS_PER_BLOCK {
            block.extend(parse_op(line));
        }
    }
    if !block.is_empty() && steps.len() < MAX_STEPS {
        steps.push(Step::Block(block));
    }
    steps
}

fn parse_op(line: &str) -> Option<HiveOp> {
    if let Some(rest) = line.strip_prefix("H ") {
        let (name, body) = rest.split_once(' ')?;
        return Some(HiveOp::Other {
            name: name.to_string(),
            body: body.to_string(),
        });
    }
    if let Some(rest) = line.strip_prefix("D ") {
        let mut parts = rest.splitn(3, ' ');
        let (delegator, delegatee, vests) = (parts.next()?, parts.next()?, parts.next()?);
        return Some(HiveOp::DelegateVestingShares(DelegateVestingSharesOp {
            delegator: delegator.to_string(),
            delegatee: delegatee.to_string(),
            vesting_shares: Asset::parse_legacy(vests).ok()?,
        }));
    }
    let mut chars = line.chars();
    let auth = chars.next()?;
    let mut parts = chars.as_str().splitn(3, ' ');
    let (signers, id, json) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
    let signers: Vec<String> = signers
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let (active, posting) = match auth {
        'a' => (signers, vec![]),
        'p' => (vec![], signers),
        'b' => (signers.clone(), signers),
        'n' => (vec![], vec![]),
        _ => return None,
    };
    Some(HiveOp::CustomJson(CustomJsonOp {
        required_auths: active,
        required_posting_auths: posting,
        id: id.to_string(),
        json: json.to_string(),
    }))
}

/// `infra/chains/devnet.json` with the token economy and Proof of Brain on short windows (a
/// mint every 10 blocks, a DAO day every 50, posts paid 60 blocks after registration), so
/// that a few dozen blocks reach every chron path.
pub fn spec() -> &'static ChainSpec {
    static SPEC: OnceLock<ChainSpec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let mut spec = devnet_spec();
        if let Some(token) = spec.modules.get_mut("token") {
            token["economy"] = serde_json::json!({
                "interest_rate": 20_000, "mint_every": 10, "dao_every": 50, "dao_offset": 5,
                "proof_of_brain": {"beneficiary": "dlux-io", "pending_blocks": 20, "reward_blocks": 60,
                                   "mana_regen_blocks": 500}
            });
        }
        spec
    })
}

/// The registry's modules (`opentoken_registry::modules`: token, nodes; the registry crate
/// itself pulls in the Hive client and the processor, which the fuzz build does not need)
/// plus the example guestbook, configured from `infra/chains/devnet.json`.
pub fn modules(spec: &ChainSpec) -> Vec<Arc<dyn ErasedModule>> {
    let token = opentoken_token::TokenModule::from_spec(spec).unwrap_or_else(|e| panic!("token config: {e}"));
    let nodes = opentoken_nodes::NodesModule::from_spec(spec).unwrap_or_else(|e| panic!("nodes config: {e}"));
    vec![
        Arc::new(token),
        Arc::new(nodes),
        Arc::new(opentoken_example_module::GuestbookModule),
    ]
}

/// The state right after genesis (each module's state, the messages genesis implies), made
/// once: every input starts from it, as a processor resumes from a stored state.
struct Genesis {
    states: Vec<(Arc<dyn ErasedModule>, ModuleState)>,
    pending: Vec<Message>,
}

fn genesis() -> &'static Genesis {
    static GENESIS: OnceLock<Genesis> = OnceLock::new();
    GENESIS.get_or_init(|| {
        let modules = modules(spec());
        let net = TestNet::new(spec().clone(), modules.clone());
        Genesis {
            states: modules
                .into_iter()
                .map(|m| {
                    let mut state = net.state(m.module_name()).clone();
                    // Folded once here, not by every input's first block.
                    state.commitment();
                    (m, state)
                })
                .collect(),
            pending: net.pending_messages().to_vec(),
        }
    })
}

/// Runs `steps` from genesis and panics on the first broken invariant:
/// - the engine never fails (a module invariant error is a bug) and never panics;
/// - every op routed to a module gets exactly one status, from that module, at its position;
/// - a rejected op emits no event;
/// - a module that emitted no event in a block has the same commitment after it;
/// - the token supply equals the sum of every balance bucket after every step;
/// - at the end, each module's running commitment equals the one recomputed from its state
///   (checked on a sample of inputs: it costs the whole state).
pub fn run(steps: &[Step]) {
    let spec = spec();
    let genesis = genesis();
    let slots = genesis
        .states
        .iter()
        .map(|(module, state)| Slot {
            module: Arc::clone(module),
            state: state.clone(),
            last_block: None,
        })
        .collect();
    let mut engine = Engine::new(Arc::new(spec.clone()), slots, genesis.pending.clone());
    let tables: Vec<&dyn RouteTable> = genesis
        .states
        .iter()
        .map(|(m, _)| m.as_ref() as &dyn RouteTable)
        .collect();
    let router = Router::new(spec, tables);
    check_supply(&engine, "genesis");
    for step in steps {
        match step {
            Step::Idle(n) => {
                let from = engine.next_block();
                if let Err(e) = engine.process_idle_range(from, from + n - 1) {
                    panic!("the engine fails on blocks {from}..={}: {e}", from + n - 1);
                }
                check_supply(&engine, "an idle range");
            }
            Step::Block(ops) => run_block(&mut engine, &router, ops),
        }
    }
    // O(state): on the first input of a run (so a reproduced crash checks it too) and every
    // 32nd after it, not on every input.
    static RUNS: AtomicU64 = AtomicU64::new(0);
    if !RUNS.fetch_add(1, Ordering::Relaxed).is_multiple_of(32) {
        return;
    }
    for slot in engine.slots_mut() {
        let kept = slot.state.commitment();
        assert_eq!(
            kept,
            slot.state.recompute_commitment(),
            "{}'s running commitment differs from its state's",
            slot.module.module_name()
        );
    }
}

fn commitments(engine: &mut Engine) -> Vec<(&'static str, [u8; 32])> {
    engine
        .slots_mut()
        .iter_mut()
        .map(|s| (s.module.module_name(), s.state.commitment()))
        .collect()
}

fn run_block(engine: &mut Engine, router: &Router<'_>, ops: &[HiveOp]) {
    let block = engine.next_block();
    // As the ingester routes: each op to its module, positions numbered through the block.
    let mut routed: BTreeMap<&'static str, Vec<RoutedOp>> = BTreeMap::new();
    for (index, op) in ops.iter().enumerate() {
        if let Some(module) = router.route(op) {
            routed.entry(module).or_default().push(RoutedOp {
                pos: ChainPos::new(block, index as u32, 0),
                txid: TestNet::txid(block, index),
                op: op.clone(),
            });
        }
    }
    let before = commitments(engine);
    let map: BTreeMap<&str, &[RoutedOp]> = routed.iter().map(|(m, r)| (*m, &r[..])).collect();
    let out = engine
        .process_block(block, block_time(block), &map)
        .unwrap_or_else(|e| panic!("the engine fails on block {block}: {e}"));
    for (module, module_ops) in &routed {
        for rop in module_ops {
            let (pos, txid) = (rop.pos, &rop.txid);
            let statuses: Vec<_> = out.statuses.iter().filter(|s| &s.txid == txid).collect();
            let events_at = || {
                out.events
                    .iter()
                    .filter(|e| e.pos == pos && e.module == *module)
                    .count()
            };
            // A routed Hive op the module's state says is not its own (`concerns_hive_op`:
            // a vote on a post it does not know) is dropped: no status and no event.
            if statuses.is_empty() && matches!(rop.op, HiveOp::Other { .. }) {
                assert_eq!(events_at(), 0, "dropped op at {pos:?} for {module} emitted events");
                continue;
            }
            assert_eq!(
                statuses.len(),
                1,
                "op at {pos:?} for {module} has {} statuses: {statuses:?}",
                statuses.len()
            );
            let status = statuses[0];
            assert_eq!(status.module, *module, "op at {pos:?} got a status from another module");
            assert_eq!(status.pos, pos, "op {txid}'s status is at another position");
            // Messages delivered at the start of a block share the position (block, 0, 0).
            let shared = out
                .statuses
                .iter()
                .any(|s| s.pos == pos && &s.txid != txid && s.module == *module);
            if matches!(status.outcome, Outcome::Rejected { .. }) && !shared {
                let events = events_at();
                assert_eq!(events, 0, "rejected op at {pos:?} emitted {events} events: {status:?}");
            }
        }
    }
    for ((module, before), (_, after)) in before.into_iter().zip(commitments(engine)) {
        if !out.events.iter().any(|e| e.module == module) {
            assert_eq!(
                after, before,
                "{module}'s commitment changed in block {block} without an event"
            );
        }
    }
    check_supply(engine, "a block");
}

fn check_supply(engine: &Engine, after: &str) {
    let Some(token) = engine
        .slots()
        .iter()
        .find(|s| s.module.module_name() == opentoken_token::NAME)
    else {
        panic!("no token module");
    };
    let check =
        opentoken_token::supply_check(&token.state).unwrap_or_else(|e| panic!("supply check after {after}: {e}"));
    assert!(check.ok, "after {after}: {}", check.check);
}
