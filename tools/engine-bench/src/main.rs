//! engine-bench: opentoken's embedded-storage workload on candidate engines.
//!
//! Workload (what a processor does, DESIGN.md Storage): `COMMITS` group commits, each with
//! `KEYS` state writes (random 8-40-byte keys drawn from a pool, so later commits overwrite,
//! 8-100-byte values), one appended log record (~600 bytes, an Avro block record) and a
//! progress row, committed atomically and durably (fsync) before the next. Then point reads
//! of existing keys and prefix scans (an account's entries). Prints one line per engine.
//!
//! Usage: engine-bench [redb|fjall|all] [commits] [keys-per-commit] [dir]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// splitmix64: reproducible data without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() as usize) % (hi - lo + 1)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const PREFIXES: [&str; 4] = ["bal/", "pow/", "gov/", "dex/"];

/// A state key: a table prefix and an account-like name, 8..=40 bytes.
fn key(rng: &mut Rng, pool: u64) -> Vec<u8> {
    let id = rng.next() % pool;
    let p = PREFIXES[(id % 4) as usize];
    let len = 8 + (id % 33) as usize; // 8..=40, stable per id
    let mut k = format!("{p}{id}").into_bytes();
    if k.len() < len {
        k.resize(len, b'.');
    }
    k
}

/// One commit's state writes.
type Writes = Vec<(Vec<u8>, Vec<u8>)>;

struct Workload {
    commits: Vec<(Writes, Vec<u8>)>,
    reads: Vec<Vec<u8>>,
    scans: Vec<Vec<u8>>,
}

fn workload(commits: usize, keys: usize) -> Workload {
    let mut rng = Rng(42);
    let pool = (commits * keys / 2).max(1) as u64;
    let commits = (0..commits)
        .map(|_| {
            let writes: Writes = (0..keys)
                .map(|_| {
                    let k = key(&mut rng, pool);
                    let v = rng.range(8, 100);
                    (k, rng.bytes(v))
                })
                .collect();
            (writes, rng.bytes(600))
        })
        .collect::<Vec<_>>();
    let all: Vec<&Vec<u8>> = commits.iter().flat_map(|(w, _)| w.iter().map(|(k, _)| k)).collect();
    let reads = (0..10_000).map(|_| all[rng.range(0, all.len() - 1)].clone()).collect();
    let scans = (0..1_000)
        .map(|_| {
            let k = all[rng.range(0, all.len() - 1)];
            k[..6].to_vec() // e.g. "bal/12": a range of accounts
        })
        .collect();
    Workload { commits, reads, scans }
}

trait Engine {
    fn name(&self) -> &'static str;
    fn commit(&mut self, i: u64, writes: &[(Vec<u8>, Vec<u8>)], log: &[u8]);
    fn get(&self, k: &[u8]) -> bool;
    /// Entries under `prefix`, at most 100.
    fn scan(&self, prefix: &[u8]) -> usize;
}

#[cfg(feature = "redb")]
mod redb_engine {
    use redb::{Database, Durability, TableDefinition};
    const STATE: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("state");
    const LOG: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("log");
    const PROGRESS: TableDefinition<&str, (u64, u64)> = TableDefinition::new("progress");

    pub struct Redb(Database);

    impl Redb {
        pub fn open(path: &std::path::Path) -> Self {
            Redb(Database::create(path.join("db.redb")).unwrap())
        }
    }

    impl super::Engine for Redb {
        fn name(&self) -> &'static str {
            "redb 2"
        }
        fn commit(&mut self, i: u64, writes: &[(Vec<u8>, Vec<u8>)], log: &[u8]) {
            let mut tx = self.0.begin_write().unwrap();
            tx.set_durability(Durability::Immediate); // fsync on commit (the default, made explicit)
            {
                let mut s = tx.open_table(STATE).unwrap();
                for (k, v) in writes {
                    s.insert(("token", k.as_slice()), v.as_slice()).unwrap();
                }
                tx.open_table(LOG).unwrap().insert(("ops.token", i), log).unwrap();
                tx.open_table(PROGRESS).unwrap().insert("token", (i, i + 1)).unwrap();
            }
            tx.commit().unwrap();
        }
        fn get(&self, k: &[u8]) -> bool {
            let tx = self.0.begin_read().unwrap();
            let t = tx.open_table(STATE).unwrap();
            // The guard borrows `t`, so it must be dropped before `t` is.
            #[allow(clippy::let_and_return)]
            let found = t.get(("token", k)).unwrap().is_some();
            found
        }
        fn scan(&self, prefix: &[u8]) -> usize {
            let tx = self.0.begin_read().unwrap();
            let t = tx.open_table(STATE).unwrap();
            let mut n = 0;
            for e in t.range(("token", prefix)..).unwrap() {
                let (k, _) = e.unwrap();
                if !k.value().1.starts_with(prefix) || n == 100 {
                    break;
                }
                n += 1;
            }
            n
        }
    }
}

#[cfg(feature = "fjall")]
mod fjall_engine {
    use fjall::{Config, Keyspace, PartitionCreateOptions, PartitionHandle, PersistMode};

    pub struct Fjall {
        ks: Keyspace,
        state: PartitionHandle,
        log: PartitionHandle,
        progress: PartitionHandle,
    }

    impl Fjall {
        pub fn open(path: &std::path::Path) -> Self {
            let ks = Config::new(path.join("fjall")).open().unwrap();
            let state = ks.open_partition("state", PartitionCreateOptions::default()).unwrap();
            let log = ks.open_partition("log", PartitionCreateOptions::default()).unwrap();
            let progress = ks
                .open_partition("progress", PartitionCreateOptions::default())
                .unwrap();
            Fjall {
                ks,
                state,
                log,
                progress,
            }
        }
    }

    impl super::Engine for Fjall {
        fn name(&self) -> &'static str {
            "fjall 2"
        }
        fn commit(&mut self, i: u64, writes: &[(Vec<u8>, Vec<u8>)], log: &[u8]) {
            // An atomic cross-partition batch, then fsync of the journal (SyncAll) so that the
            // commit is durable like redb's.
            let mut b = self.ks.batch().durability(Some(PersistMode::SyncAll));
            for (k, v) in writes {
                let mut key = b"token\0".to_vec();
                key.extend_from_slice(k);
                b.insert(&self.state, key, v.as_slice());
            }
            let mut lk = b"ops.token\0".to_vec();
            lk.extend_from_slice(&i.to_be_bytes());
            b.insert(&self.log, lk, log);
            let mut p = i.to_be_bytes().to_vec();
            p.extend_from_slice(&(i + 1).to_be_bytes());
            b.insert(&self.progress, "token", p);
            b.commit().unwrap();
        }
        fn get(&self, k: &[u8]) -> bool {
            let mut key = b"token\0".to_vec();
            key.extend_from_slice(k);
            self.state.get(key).unwrap().is_some()
        }
        fn scan(&self, prefix: &[u8]) -> usize {
            let mut key = b"token\0".to_vec();
            key.extend_from_slice(prefix);
            self.state
                .prefix(key)
                .take(100)
                .map(|r| r.map(|_| 1))
                .sum::<Result<usize, _>>()
                .unwrap()
        }
    }
}

fn dir_size(p: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let m = e.metadata().unwrap();
            n += if m.is_dir() { dir_size(&e.path()) } else { m.len() };
        }
    }
    n
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn run(engine: &mut dyn Engine, w: &Workload, dir: &Path) {
    let mut lat = Vec::with_capacity(w.commits.len());
    let t0 = Instant::now();
    for (i, (writes, log)) in w.commits.iter().enumerate() {
        let t = Instant::now();
        engine.commit(i as u64, writes, log);
        lat.push(t.elapsed());
    }
    let total = t0.elapsed();
    lat.sort();
    let t = Instant::now();
    let found = w.reads.iter().filter(|k| engine.get(k)).count();
    let reads = t.elapsed();
    assert_eq!(found, w.reads.len(), "{}: written keys must be found", engine.name());
    let t = Instant::now();
    let scanned: usize = w.scans.iter().map(|p| engine.scan(p)).sum();
    let scans = t.elapsed();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{:8} commits: {} x {} keys in {:.2}s = {:.0} commits/s | per commit mean {:.0} us p50 {:.0} us p99 {:.0} us max \
         {:.0} us | point get {:.1} us | prefix scan ({} rows total) {:.1} us | size on disk {:.1} MiB",
        engine.name(),
        w.commits.len(),
        w.commits[0].0.len(),
        total.as_secs_f64(),
        w.commits.len() as f64 / total.as_secs_f64(),
        us(total) / w.commits.len() as f64,
        us(pct(&lat, 0.5)),
        us(pct(&lat, 0.99)),
        us(*lat.last().unwrap()),
        us(reads) / w.reads.len() as f64,
        scanned,
        us(scans) / w.scans.len() as f64,
        dir_size(dir) as f64 / (1024.0 * 1024.0),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map(String::as_str).unwrap_or("all");
    let commits: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let keys: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(50);
    let base: PathBuf = args
        .get(4)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("opentoken-engine-bench"));
    let w = workload(commits, keys);
    let fresh = |name: &str| {
        let d = base.join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    #[cfg(feature = "redb")]
    if which == "all" || which == "redb" {
        let d = fresh("redb");
        let mut e = redb_engine::Redb::open(&d);
        run(&mut e, &w, &d);
    }
    #[cfg(feature = "fjall")]
    if which == "all" || which == "fjall" {
        let d = fresh("fjall");
        let mut e = fjall_engine::Fjall::open(&d);
        run(&mut e, &w, &d);
        drop(e);
    }
    let _ = (which, &base);
}
