//! Exactly once under SIGKILL: the node process is killed at 20+ random moments while it
//! follows a simulated chain, restarted each time, and must end with exactly the state and
//! checkpoint hashes of an uninterrupted run. Then replay must reproduce every checkpoint,
//! and a tampered checkpoint must make replay fail.

use opentoken_e2e::*;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const UNTIL: u64 = 1500;

fn start_devnet() -> (Proc, String) {
    opentoken_e2e::start_devnet(9, 10, 50, 2)
}

fn node(data: &Path, url: &str) -> Command {
    let mut c = Command::new(bin());
    c.arg("run")
        .arg("--data-dir")
        .arg(data)
        .arg("--chain")
        .arg(devnet_spec_path())
        .args([
            "--hive-api",
            url,
            "--listen",
            "127.0.0.1:0",
            "--commit-every",
            "25",
            "--fetch-batch",
            "40",
        ])
        .args(["--until-block", &UNTIL.to_string()])
        .env("OPENTOKEN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log_file(data));
    c
}

/// Every run's stderr, appended to a file in the data directory, shown when a run fails.
fn log_file(data: &Path) -> std::fs::File {
    std::fs::create_dir_all(data).expect("data dir");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.join("stderr.log"))
        .expect("log file")
}

/// Runs the node until it reaches `UNTIL`; a hang fails the test instead of stalling CI.
fn run_to_end(data: &Path, url: &str) {
    let mut child = node(data, url).spawn().expect("run node");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            let log = std::fs::read_to_string(data.join("stderr.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            assert!(
                status.success(),
                "node exited with {status}; its log ends:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the node did not reach block {UNTIL} within 300 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigkill_at_random_moments_changes_nothing() {
    // The reference follows its own simulator without interruption.
    let reference = tempfile::tempdir().unwrap();
    {
        let devnet = start_devnet();
        run_to_end(reference.path(), &devnet.1);
    }
    // The victim follows a fresh simulator with the same seed (so the same chain) while it is
    // being produced, and is killed at random moments along the way.
    let devnet = start_devnet();
    let victim = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261124);
    let mut kills = 0;
    let started = Instant::now();
    while kills < 24 {
        let mut child = node(victim.path(), &devnet.1).spawn().expect("spawn node");
        std::thread::sleep(Duration::from_millis(rng.gen_range(60..600)));
        if child.try_wait().expect("try_wait").is_some() {
            break; // finished before the kill: nothing left to interrupt
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        kills += 1;
    }
    assert!(
        kills >= 20,
        "only {kills} kills in {:?} before the node finished; slow the chain down",
        started.elapsed()
    );
    run_to_end(victim.path(), &devnet.1);

    let (_, ref_store) = open(reference.path());
    let (_, vic_store) = open(victim.path());
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
    let out = Command::new(bin())
        .args(["replay", "--data-dir"])
        .arg(victim.path())
        .arg("--chain")
        .arg(devnet_spec_path())
        .output()
        .expect("replay");
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
        let (_, store) = open(victim.path());
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
        let db = redb::Database::open(victim.path().join("opentoken.redb")).unwrap();
        let table: redb::TableDefinition<(&str, u64), [u8; 32]> = redb::TableDefinition::new("opentoken_checkpoints");
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(table).unwrap();
            let mut h = t.get(("token", 400)).unwrap().expect("checkpoint 400").value();
            h[0] ^= 1;
            t.insert(("token", 400), h).unwrap();
        }
        tx.commit().unwrap();
    }
    let out = Command::new(bin())
        .args(["replay", "--data-dir"])
        .arg(victim.path())
        .arg("--chain")
        .arg(devnet_spec_path())
        .output()
        .expect("replay");
    assert!(!out.status.success(), "replay must fail on a tampered checkpoint");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checkpoint 400"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
