//! What reports cost at scale: N = 100, 300, 1000 registered nodes, each reporting every
//! checkpoint (signed in setup), through the module harness. Prints time and state writes
//! per report and per checkpoint, for staked nodes (every report counted: the worst case)
//! and for a crowd without stake (refused before any state is written).
//!
//! `cargo bench -p opentoken-nodes --bench report_cost`

#[path = "../tests/cost/mod.rs"]
mod cost;

const CHECKPOINTS: u64 = 4;

fn main() {
    println!(
        "{:>6} {:>8} {:>9} {:>9} {:>12} {:>12} {:>13} {:>14} {:>13}",
        "nodes",
        "stake",
        "counted",
        "refused",
        "us/report",
        "puts/report",
        "bytes/report",
        "bytes/checkpt",
        "open+close ms"
    );
    for staked in [true, false] {
        for nodes in [100, 300, 1000] {
            let c = cost::run(nodes, CHECKPOINTS, staked);
            let reports = c.reports() as f64;
            println!(
                "{:>6} {:>8} {:>9} {:>9} {:>12.1} {:>12.2} {:>13.1} {:>14} {:>13.2}",
                nodes,
                if staked { "all" } else { "runners" },
                c.accepted,
                c.refused,
                c.report_time.as_secs_f64() * 1e6 / reports,
                c.report_writes.puts as f64 / reports,
                c.report_writes.bytes as f64 / reports,
                c.bytes_per_checkpoint(),
                c.tally_time.as_secs_f64() * 1e3 / CHECKPOINTS as f64,
            );
        }
    }
}
