//! Where the things the tests run are: the repository, the `opentoken` binary, the devnet
//! chain spec and the Python with the test requirements. A missing one fails with the
//! command that makes it.

use opentoken_core::ChainSpec;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn devnet_spec_path() -> PathBuf {
    repo_root().join("infra/chains/devnet.json")
}

pub fn devnet_spec() -> Arc<ChainSpec> {
    Arc::new(ChainSpec::load(&devnet_spec_path()).expect("devnet chain spec loads"))
}

/// The devnet with the multi-sig module (`infra/chains/devnet-multisig.json`).
pub fn devnet_multisig_spec() -> Arc<ChainSpec> {
    Arc::new(
        ChainSpec::load(&repo_root().join("infra/chains/devnet-multisig.json"))
            .expect("devnet-multisig chain spec loads"),
    )
}

/// The `opentoken` binary built by `make test` (cargo builds it before the tests run).
pub fn bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let p = target.join("debug/opentoken");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build -p opentoken` first (make test does)",
        p.display()
    );
    p
}

/// The Python with the test requirements (`make test` creates `target/pyenv`), or
/// `OPENTOKEN_PYTHON`.
pub fn python() -> PathBuf {
    let python = std::env::var_os("OPENTOKEN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/pyenv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: make test creates it (python3 -m venv target/pyenv && pip install -r tests/python/requirements.txt)",
        python.display()
    );
    python
}

/// `devnet-multisig.json` without the safety price: in-process pipeline tests run no
/// consensus agent, so no runner registers a multi-sig key, the nodes module names no
/// signers and sends no collateral, and with a price every deposit would be over a zero
/// limit. Without one, the generated DEX traffic's buys reach the books.
pub fn devnet_dex_spec() -> Arc<ChainSpec> {
    let mut spec = (*devnet_multisig_spec()).clone();
    spec.modules.insert("multisig".into(), serde_json::json!({}));
    Arc::new(spec)
}
