//! Reports cost O(1) state writes each, so N nodes reporting every checkpoint cost O(N)
//! per checkpoint, not O(N^2) (the figures at scale: `cargo bench -p opentoken-nodes`).

mod cost;

use cost::{run, RUNNERS};

#[test]
fn state_writes_per_checkpoint_grow_linearly_with_the_reporters() {
    let small = run(50, 1, true);
    let large = run(200, 1, true);
    assert_eq!((small.refused, large.refused), (0, 0), "staked candidates are counted");
    assert_eq!(large.accepted, 200);
    // 4x the reporters: about 4x the bytes (the layout before wrote ~16x).
    let bytes = large.bytes_per_checkpoint() as f64 / small.bytes_per_checkpoint() as f64;
    let writes = large.writes_per_checkpoint() as f64 / small.writes_per_checkpoint() as f64;
    assert!(
        bytes < 5.0,
        "bytes per checkpoint grew {bytes:.2}x for 4x the reporters"
    );
    assert!(
        writes < 5.0,
        "writes per checkpoint grew {writes:.2}x for 4x the reporters"
    );
    // And per report a constant: its vote, and a runner's stake sum.
    for c in [small, large] {
        let w = c.report_writes;
        assert!(w.puts <= 2 * c.accepted, "{} puts for {} reports", w.puts, c.accepted);
        assert_eq!(w.deletes, 0);
    }
}

#[test]
fn registered_nodes_without_stake_are_refused_and_write_nothing() {
    let crowd = run(100, 1, false);
    assert_eq!(crowd.refused, 100 - RUNNERS as u64);
    assert_eq!(crowd.accepted, RUNNERS as u64);
    let runners_only = run(RUNNERS, 1, true);
    assert_eq!(
        crowd.report_writes, runners_only.report_writes,
        "the refused reports wrote nothing"
    );
    assert_eq!(crowd.tally_writes, runners_only.tally_writes);
}
