//! What the fuzz targets (`fuzz_targets/`) share: the engine harness with its invariants
//! ([`engine`]) and the seed corpora ([`seeds`]), written by each target at start-up when
//! `FUZZ_SEED_DIR` names an empty directory (`infra/fuzz.sh` does that), so that no binary
//! corpus lives in git.

pub mod engine;
pub mod seeds;

use std::path::{Path, PathBuf};

/// The repository root (fixtures and the devnet chain spec are read from it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Writes `seeds` into `$FUZZ_SEED_DIR` when it names an empty or missing directory; a
/// corpus that already has inputs is kept as the fuzzer left it.
pub fn write_seeds_once(seeds: impl FnOnce() -> Vec<Vec<u8>>) {
    let Some(dir) = std::env::var_os("FUZZ_SEED_DIR").map(PathBuf::from) else {
        return;
    };
    let has_inputs = std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(false);
    if has_inputs {
        return;
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create the seed directory {}: {e}", dir.display());
    }
    for (i, seed) in seeds().into_iter().enumerate() {
        let path = dir.join(format!("seed-{i:04}"));
        if let Err(e) = std::fs::write(&path, seed) {
            panic!("cannot write {}: {e}", path.display());
        }
    }
}
