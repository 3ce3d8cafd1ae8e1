//! One block of ops on a [`TestNet`], each routed to its module as the ingester would.

use opentoken_core::test_utils::TestNet;
use opentoken_core::{HiveOp, Outcome};

/// Runs the next block with `ops`, each given to the module `module_of` names; returns
/// the block and the outcomes in op order. TestNet numbers ops module group by module
/// group, so ops are grouped by module in order of first appearance: give a block's ops
/// already in that order when txids matter.
pub fn run_routed(
    net: &mut TestNet,
    ops: Vec<HiveOp>,
    module_of: impl Fn(&HiveOp) -> &'static str,
) -> (u64, Vec<Outcome>) {
    let b = net.next_block();
    let mut groups: Vec<(&str, Vec<(usize, HiveOp)>)> = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        let m = module_of(&op);
        match groups.iter_mut().find(|(g, _)| *g == m) {
            Some((_, list)) => list.push((i, op)),
            None => groups.push((m, vec![(i, op)])),
        }
    }
    let order: Vec<usize> = groups.iter().flat_map(|(_, l)| l.iter().map(|(i, _)| *i)).collect();
    let lists = groups
        .into_iter()
        .map(|(m, l)| (m, l.into_iter().map(|(_, op)| op).collect()))
        .collect();
    let out = net.run_modules(lists);
    let mut outcomes = vec![None; order.len()];
    for (pos, i) in order.iter().enumerate() {
        // By position among the ops (the engine lists each module's delivered messages
        // just before that module's ops).
        outcomes[*i] = Some(out.status(pos).outcome.clone());
    }
    (b, outcomes.into_iter().map(|o| o.expect("a status per op")).collect())
}
