//! Exactly once under SIGKILL: the node process is killed at 20+ random moments while it
//! follows a simulated chain, restarted each time, and must end with exactly the state and
//! checkpoint hashes of an uninterrupted run. Then replay must reproduce every checkpoint,
//! and a tampered checkpoint must make replay fail.

use opentoken_e2e::*;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

const UNTIL: u64 = 1500;

fn start_devnet() -> (Proc, String) {
    opentoken_e2e::start_devnet(9, 10, 50, 2)
}

/// The node following the devnet at `url` up to `UNTIL`, its data in `<work>/<name>`.
fn node(work: &Work, name: &str, url: &str) -> Role {
    Role::new("run")
        .data(work, name)
        .args(["--hive-api", url, "--listen", "127.0.0.1:0"])
        .args(["--commit-every", "25", "--fetch-batch", "40"])
        .until(UNTIL)
}

#[test]
fn sigkill_at_random_moments_changes_nothing() {
    let work = Work::new();
    // The reference follows its own simulator without interruption.
    {
        let devnet = start_devnet();
        node(&work, "reference", &devnet.1)
            .spawn()
            .wait_ok(&format!("the reference node (to block {UNTIL})"), 300);
    }
    // The victim follows a fresh simulator with the same seed (so the same chain) while it is
    // being produced, and is killed at random moments along the way.
    let devnet = start_devnet();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261124);
    let mut kills = 0;
    let started = Instant::now();
    while kills < 24 {
        let mut victim = node(&work, "victim", &devnet.1).spawn();
        std::thread::sleep(Duration::from_millis(rng.gen_range(60..600)));
        if victim.exited() {
            break; // finished before the kill: nothing left to interrupt
        }
        victim.kill();
        kills += 1;
    }
    assert!(
        kills >= 20,
        "only {kills} kills in {:?} before the node finished; slow the chain down",
        started.elapsed()
    );
    node(&work, "victim", &devnet.1)
        .spawn()
        .wait_ok(&format!("the victim node (to block {UNTIL})"), 300);

    let (_, ref_store) = open(&work.dir("reference"));
    let (_, vic_store) = open(&work.dir("victim"));
    let a = fingerprint(&ref_store);
    let b = fingerprint(&vic_store);
    assert_eq!(a.progress_block, Some(UNTIL));
    assert_eq!(a.checkpoints.len() as u64, UNTIL / 100);
    assert_eq!(
        b.checkpoints, a.checkpoints,
        "checkpoint hashes differ after {kills} kills"
    );
    assert_eq!(b.state, a.state, "state differs after {kills} kills");
    drop((ref_store, vic_store));

    // Replay reproduces every recorded checkpoint.
    let replay = || Role::new("replay").data(&work, "victim").log_as("replay").output();
    let out = replay();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{0}/{0} recorded checkpoints reproduced", UNTIL / 100)),
        "{stdout}"
    );

    // The store refuses to record a contradicting checkpoint...
    {
        let (_, store) = open(&work.dir("victim"));
        let mut cp = store.checkpoints("token").unwrap()[3].clone();
        cp.hash[0] ^= 1;
        let batch = opentoken_store::CommitBatch {
            checkpoints: vec![cp],
            ..Default::default()
        };
        assert!(matches!(
            store.commit(&batch),
            Err(opentoken_store::StoreError::Conflict { .. })
        ));
    }
    // ...so simulate disk corruption of checkpoint 400 below the store: replay must catch it.
    {
        use redb::ReadableTable;
        let db = redb::Database::open(work.dir("victim").join("opentoken.redb")).unwrap();
        let table: redb::TableDefinition<'_, (&str, u64), [u8; 32]> =
            redb::TableDefinition::new("opentoken_checkpoints");
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(table).unwrap();
            let mut h = t.get(("token", 400)).unwrap().expect("checkpoint 400").value();
            h[0] ^= 1;
            t.insert(("token", 400), h).unwrap();
        }
        tx.commit().unwrap();
    }
    let out = replay();
    assert!(!out.status.success(), "replay must fail on a tampered checkpoint");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checkpoint 400"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
