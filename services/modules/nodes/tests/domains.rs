//! `node_add` domains that would point peers somewhere they must not go: each is rejected
//! through the real engine with its reason recorded and the nodes state unchanged; the
//! devnet opt-in (`modules.nodes.allow_private_domains`) accepts local addresses.

mod common;

use common::{cj, key, spec};
use ed25519_dalek::Signer;
use opentoken_core::test_utils::TestNet as Net;
use opentoken_core::{Outcome, RejectCode};
use opentoken_nodes::{node_add_json, node_add_signing_bytes, views, NodesModule};
use serde_json::json;
use std::sync::Arc;

/// A net with the nodes module alone; no checkpoint falls in the blocks a test runs, so the
/// only state changes are the ops'.
fn net(nodes: serde_json::Value) -> Net {
    let mut spec = spec(nodes);
    spec.checkpoint_interval = 1000;
    let module = Arc::new(NodesModule::from_spec(&spec).expect("the nodes config is valid"));
    Net::new(spec, vec![module])
}

/// A correctly signed `node_add` of `account` registering `domain` (the proof of possession
/// covers the domain, so only the domain can be at fault).
fn node_add(n: &Net, account: &str, domain: &str) -> opentoken_core::HiveOp {
    let k = key(account);
    let vk = *k.verifying_key().as_bytes();
    let pop_block = n.next_block();
    let bytes = node_add_signing_bytes(
        &n.spec().hive_chain_id(),
        &n.spec().prefix,
        account,
        domain,
        &vk,
        "",
        pop_block,
    );
    let payload = node_add_json(domain, &vk, pop_block, &k.sign(&bytes).to_bytes(), None);
    cj(account, "node_add", &payload, true)
}

/// Runs one `node_add` and returns its outcome.
fn register(n: &mut Net, account: &str, domain: &str) -> Outcome {
    let op = node_add(n, account, domain);
    let b = n.run("nodes", vec![op]);
    b.status(0).outcome.clone()
}

/// Every hostile or malformed form, with a piece of the reason it must be rejected for.
const REFUSED: &[(&str, &str)] = &[
    ("http://127.0.0.1:8080", "loopback"),
    ("http://127.8.9.10", "loopback"),
    ("http://[::1]:8080", "loopback"),
    ("http://[::ffff:127.0.0.1]", "loopback"),
    ("http://localhost:8080", "localhost"),
    ("http://node.localhost", "localhost"),
    ("http://10.0.0.5", "private (RFC 1918)"),
    ("http://172.20.1.1", "private (RFC 1918)"),
    ("http://192.168.0.10:3000", "private (RFC 1918)"),
    ("http://[fd12::1]", "unique local"),
    ("http://169.254.169.254", "link-local"),
    ("http://[fe80::1]", "link-local"),
    ("http://0.0.0.0", "unspecified"),
    ("http://100.64.0.1", "CGNAT"),
    ("http://224.0.0.1", "multicast"),
    ("http://255.255.255.255", "broadcast"),
    ("http://192.0.2.1", "documentation"),
    ("http://2130706433", "neither a host name"),
    ("http://0x7f.0.0.1", "neither a host name"),
    ("http://127.1", "neither a host name"),
    ("https://alice:pw@alice.example", "user info"),
    ("https://alice.example@169.254.169.254", "user info"),
    ("https://alice.example/?redirect=http://10.0.0.1", "query"),
    ("https://alice.example#frag", "fragment"),
    ("https://alice.example/%2e%2e/admin", "'%'"),
    ("https://alice.example/../admin", "path segment"),
    ("gopher://alice.example", "http:// or https://"),
    ("file:///etc/passwd", "http:// or https://"),
    ("https://alice.example:99999", "port"),
];

#[test]
fn each_refused_domain_is_rejected_with_its_reason_and_state_unchanged() {
    let mut n = net(json!({}));
    for (domain, needle) in REFUSED {
        let before = n.commitment("nodes");
        match register(&mut n, "alice", domain) {
            Outcome::Rejected { code, reason } => {
                assert_eq!(code, RejectCode::InvalidField, "{domain}: {reason}");
                assert!(reason.contains("`domain`"), "{domain}: {reason}");
                assert!(reason.contains(needle), "{domain}: {reason:?} does not say {needle:?}");
            }
            other => panic!("{domain} was accepted: {other:?}"),
        }
        assert_eq!(n.commitment("nodes"), before, "{domain} changed the state");
        assert!(views::node(n.state("nodes"), "alice").is_none(), "{domain}");
    }
    // A public name, port and path prefix are still fine.
    for (account, domain) in [
        ("alice", "https://alice.example"),
        ("bob", "http://bob.example:8080/opentoken"),
        ("carol", "https://203.0.114.7"),
    ] {
        let outcome = register(&mut n, account, domain);
        assert!(matches!(outcome, Outcome::Applied { .. }), "{domain}: {outcome:?}");
        let rec = views::node(n.state("nodes"), account).expect("registered");
        assert_eq!(rec.domain, domain);
    }
}

#[test]
fn the_devnet_opt_in_accepts_local_addresses_but_not_malformed_urls() {
    let mut n = net(json!({"allow_private_domains": true}));
    for (account, domain) in [
        ("alice", "http://127.0.0.1:8080"),
        ("bob", "http://localhost:9000"),
        ("carol", "http://[::1]:7000"),
        ("dave", "http://10.0.0.5"),
    ] {
        let outcome = register(&mut n, account, domain);
        assert!(matches!(outcome, Outcome::Applied { .. }), "{domain}: {outcome:?}");
    }
    for domain in ["http://user@127.0.0.1", "http://127.0.0.1/?x=1", "http://127.1"] {
        let before = n.commitment("nodes");
        let outcome = register(&mut n, "erin", domain);
        assert!(matches!(outcome, Outcome::Rejected { .. }), "{domain}: {outcome:?}");
        assert_eq!(n.commitment("nodes"), before, "{domain} changed the state");
    }
}
