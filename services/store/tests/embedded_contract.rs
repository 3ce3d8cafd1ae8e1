//! The store contract suite against the embedded (redb) backend.

use opentoken_store::contract::StoreHarness;
use opentoken_store::{EmbeddedStore, Store};

/// Each name is a database file in one temporary directory, so reopening a name reopens the
/// file.
struct Embedded {
    dir: tempfile::TempDir,
}

impl Embedded {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
}

impl StoreHarness for Embedded {
    fn open(&self, name: &str) -> Box<dyn Store> {
        Box::new(EmbeddedStore::open(&self.dir.path().join(format!("{name}.redb"))).unwrap())
    }

    fn open_keeping_statuses(&self, name: &str, blocks: u64) -> Box<dyn Store> {
        Box::new(
            EmbeddedStore::open(&self.dir.path().join(format!("{name}.redb")))
                .unwrap()
                .keep_status_blocks(blocks),
        )
    }
}

opentoken_store::store_contract_tests!(Embedded::new());

#[test]
fn run_all_covers_every_case() {
    opentoken_store::contract::run_all(&Embedded::new());
}
