//! Recovery against hostile peers. Local HTTP servers on 127.0.0.1 (allowed through the
//! policy's devnet switch, except in the test that checks the switch) play peers that serve
//! an endless body, declare a huge one, trickle, stay silent, redirect, lie, serve garbage
//! or nothing, with one honest peer asked last: the fetcher must return the honest snapshot,
//! pass over every other peer with its reason, never follow the redirect, and spend a bounded
//! time and memory on each.
//!
//! The servers speak HTTP/1.1 by hand on a tokio socket, so the test controls every byte and
//! every pause.

use opentoken_consensus::decide::RecoveryTarget;
use opentoken_consensus::{Peer, PeerFetch, PeerFetchPolicy, PeerFetcher, PeerSkip, SnapshotError};
use opentoken_core::commitment::LtHash;
use opentoken_core::{consensus_hash, module_checkpoint_hash, ChainPos, ChainSpec, Message};
use opentoken_nodes::domain::DomainError;
use opentoken_store::{encode_snapshot, ModuleSnapshot, SnapshotDoc, SnapshotDocModule};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BLOCK: u64 = 100;
/// The test's body cap: far above the honest snapshot, far below what the endless peer sends.
const CAP: u64 = 1024 * 1024;
/// The test's per-peer deadline.
const DEADLINE: Duration = Duration::from_secs(2);
/// What the endless and the declared-huge peers would send if let: 8 GiB.
const HUGE: u64 = 8 * 1024 * 1024 * 1024;

fn spec() -> Arc<ChainSpec> {
    Arc::new(
        ChainSpec::from_json(
            r#"{"name":"t","prefix":"dlux_","token":"DLUX","precision":3,"starting_block":1,
                "leader":"dlux-io","msaccount":"dlux-cc","delegation_account":"dlux-io"}"#,
        )
        .expect("spec"),
    )
}

fn modules() -> Vec<String> {
    vec!["token".into(), "nodes".into()]
}

fn doc_of(token: &ModuleSnapshot, nodes: &ModuleSnapshot) -> SnapshotDoc {
    SnapshotDoc {
        community: "t".into(),
        block: BLOCK,
        modules: vec![
            SnapshotDocModule {
                module: "token".into(),
                snapshot: hex::encode(encode_snapshot(token)),
            },
            SnapshotDocModule {
                module: "nodes".into(),
                snapshot: hex::encode(encode_snapshot(nodes)),
            },
        ],
    }
}

/// The honest snapshot of checkpoint [`BLOCK`], a lying one (one balance raised) and the
/// final consensus hash the honest one has.
fn fixtures() -> (Vec<u8>, Vec<u8>, [u8; 32]) {
    let mut token = ModuleSnapshot::default();
    token.pairs.insert(b"bal/alice".to_vec(), 10u64.to_be_bytes().to_vec());
    token.outbox.push(Message {
        from: "token".into(),
        to: "nodes".into(),
        pos: ChainPos::new(BLOCK, 1, 0),
        seq: 0,
        kind: "gov_added".into(),
        payload: "{}".into(),
    });
    let mut nodes = ModuleSnapshot::default();
    nodes.pairs.insert(b"runners".to_vec(), b"[]".to_vec());
    let mut hashes = BTreeMap::new();
    for (name, s) in [("token", &token), ("nodes", &nodes)] {
        let l = LtHash::from_pairs(s.pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        let outbox: Vec<&Message> = s.outbox.iter().collect();
        hashes.insert(name.to_string(), module_checkpoint_hash(l.digest(), &outbox));
    }
    let honest = serde_json::to_vec(&doc_of(&token, &nodes)).expect("json");
    let mut rich = token.clone();
    rich.pairs
        .insert(b"bal/alice".to_vec(), 10_000_000u64.to_be_bytes().to_vec());
    let lying = serde_json::to_vec(&doc_of(&rich, &nodes)).expect("json");
    (honest, lying, consensus_hash("t", BLOCK, &hashes))
}

/// What a fake peer does with a snapshot request.
#[derive(Clone)]
enum Behaviour {
    /// 200 with this body.
    Serve(Arc<Vec<u8>>),
    /// 404.
    Missing,
    /// 302 to this URL.
    Redirect(String),
    /// 200 without a length, then bytes until the client hangs up (or [`HUGE`]).
    Endless,
    /// 200 declaring [`HUGE`] bytes, then sending them.
    DeclaredHuge,
    /// 200 declaring a small body, then one byte every 100 ms.
    Trickle,
    /// Accepts and never answers.
    Silent,
}

struct FakePeer {
    addr: SocketAddr,
    /// Connections accepted.
    requests: Arc<AtomicU64>,
    /// Body bytes handed to the socket.
    written: Arc<AtomicU64>,
}

impl FakePeer {
    async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(AtomicU64::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let (r, w) = (requests.clone(), written.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                r.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(sock, behaviour.clone(), w.clone()));
            }
        });
        Self {
            addr,
            requests,
            written,
        }
    }

    fn peer(&self, account: &str) -> Peer {
        Peer {
            account: account.into(),
            domain: format!("http://{}", self.addr),
        }
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn answer(mut sock: TcpStream, behaviour: Behaviour, written: Arc<AtomicU64>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let ok = |len: Option<u64>| {
        let len = len.map(|n| format!("Content-Length: {n}\r\n")).unwrap_or_default();
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{len}Connection: close\r\n\r\n")
    };
    let chunk = vec![b'0'; 64 * 1024];
    let _ = match behaviour {
        Behaviour::Serve(body) => {
            let _ = sock.write_all(ok(Some(body.len() as u64)).as_bytes()).await;
            sock.write_all(&body).await
        }
        Behaviour::Missing => {
            sock.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await
        }
        Behaviour::Redirect(to) => {
            let head =
                format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            sock.write_all(head.as_bytes()).await
        }
        Behaviour::Endless | Behaviour::DeclaredHuge => {
            let declared = matches!(behaviour, Behaviour::DeclaredHuge).then_some(HUGE);
            let _ = sock.write_all(ok(declared).as_bytes()).await;
            while written.load(Ordering::SeqCst) < HUGE {
                if sock.write_all(&chunk).await.is_err() {
                    break;
                }
                written.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
            Ok(())
        }
        Behaviour::Trickle => {
            let _ = sock.write_all(ok(Some(1000)).as_bytes()).await;
            for _ in 0..1000 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if sock.write_all(b" ").await.is_err() {
                    break;
                }
                written.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        }
        Behaviour::Silent => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
    };
}

fn fetcher(allow_private: bool) -> PeerFetcher {
    PeerFetcher {
        spec: spec(),
        modules: modules(),
        policy: PeerFetchPolicy {
            max_body_bytes: CAP,
            connect_timeout: Duration::from_secs(1),
            deadline: DEADLINE,
            allow_private,
        },
    }
}

fn target(final_hash: [u8; 32]) -> RecoveryTarget {
    RecoveryTarget {
        block: BLOCK,
        final_hash,
    }
}

fn reasons(f: &PeerFetch) -> Vec<(&str, &PeerSkip)> {
    f.skipped.iter().map(|(p, why)| (p.account.as_str(), why)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_honest_peer_asked_last_is_reached_past_every_hostile_one() {
    let (honest_doc, lying_doc, final_hash) = fixtures();
    let honest = FakePeer::start(Behaviour::Serve(Arc::new(honest_doc))).await;
    // The redirect points at the honest peer: following it would "work", so only a refusal
    // to follow redirects keeps the honest peer at one request.
    let to_honest = format!("http://{}/v1/snapshots/{BLOCK}", honest.addr);
    let endless = FakePeer::start(Behaviour::Endless).await;
    let declared = FakePeer::start(Behaviour::DeclaredHuge).await;
    let trickle = FakePeer::start(Behaviour::Trickle).await;
    let silent = FakePeer::start(Behaviour::Silent).await;
    let redirect = FakePeer::start(Behaviour::Redirect(to_honest.clone())).await;
    let liar = FakePeer::start(Behaviour::Serve(Arc::new(lying_doc))).await;
    let garbage = FakePeer::start(Behaviour::Serve(Arc::new(b"<html>not json</html>".to_vec()))).await;
    let missing = FakePeer::start(Behaviour::Missing).await;
    let userinfo = Peer {
        account: "userinfo".into(),
        domain: format!("http://alice@{}", honest.addr),
    };

    let peers = vec![
        endless.peer("endless"),
        declared.peer("declared"),
        trickle.peer("trickle"),
        silent.peer("silent"),
        redirect.peer("redirect"),
        liar.peer("liar"),
        garbage.peer("garbage"),
        missing.peer("missing"),
        userinfo,
        honest.peer("honest"),
    ];
    let started = Instant::now();
    let got = fetcher(true).fetch(&peers, target(final_hash)).await;
    let took = started.elapsed();

    let (from, restore) = got.restored.as_ref().expect("the honest snapshot is found");
    assert_eq!(from.account, "honest");
    assert_eq!(restore.block, BLOCK);
    assert_eq!(restore.modules.len(), 2);

    let why = reasons(&got);
    let names: Vec<&str> = why.iter().map(|(a, _)| *a).collect();
    assert_eq!(
        names,
        ["endless", "declared", "trickle", "silent", "redirect", "liar", "garbage", "missing", "userinfo"],
        "every hostile peer is passed over, in order: {got:?}"
    );
    let reason = |name: &str| why.iter().find(|(a, _)| *a == name).map(|(_, w)| *w).expect("skipped");
    assert!(
        matches!(reason("endless"), PeerSkip::TooLarge { limit: CAP }),
        "{:?}",
        reason("endless")
    );
    assert!(matches!(reason("declared"), PeerSkip::TooLarge { limit: CAP }));
    assert!(
        matches!(reason("trickle"), PeerSkip::Deadline(d) if *d == DEADLINE),
        "{:?}",
        reason("trickle")
    );
    assert!(
        matches!(reason("silent"), PeerSkip::Deadline(_)),
        "{:?}",
        reason("silent")
    );
    match reason("redirect") {
        PeerSkip::Redirect { status: 302, location } => assert_eq!(location, &to_honest),
        other => panic!("redirect: {other:?}"),
    }
    assert!(matches!(
        reason("liar"),
        PeerSkip::Unverified(SnapshotError::Hash { .. })
    ));
    assert!(matches!(reason("garbage"), PeerSkip::Unreadable(_)));
    assert!(matches!(reason("missing"), PeerSkip::Status(404)));
    assert!(matches!(reason("userinfo"), PeerSkip::Domain(DomainError::UserInfo)));
    // Each reason reads as a log line.
    assert!(reason("redirect").to_string().contains("redirects are refused"));

    // The redirect was not followed, the user-info domain never connected.
    assert_eq!(
        honest.requests(),
        1,
        "only the fetcher's own request reached the honest peer"
    );
    assert_eq!(redirect.requests(), 1);
    // Memory stayed bounded: the endless body was cut near the cap, nowhere near its 8 GiB
    // (the slack is what socket buffers take before the client hangs up).
    let sent = endless.written.load(Ordering::SeqCst);
    assert!(sent < 64 * 1024 * 1024, "the endless peer got to send {sent} bytes");
    assert!(declared.written.load(Ordering::SeqCst) < 64 * 1024 * 1024);
    // Time stayed bounded: two peers used their deadline, the rest returned at once.
    assert!(took < DEADLINE * 2 + Duration::from_secs(4), "fetching took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hostile_peer_costs_at_most_its_bound() {
    let (_, _, final_hash) = fixtures();
    let endless = FakePeer::start(Behaviour::Endless).await;
    let trickle = FakePeer::start(Behaviour::Trickle).await;
    let silent = FakePeer::start(Behaviour::Silent).await;
    let f = fetcher(true);
    for (peer, bound) in [
        // The cap is reached in well under a second on loopback; 8 GiB would take far longer.
        (endless.peer("endless"), Duration::from_secs(1)),
        (trickle.peer("trickle"), DEADLINE + Duration::from_millis(500)),
        (silent.peer("silent"), DEADLINE + Duration::from_millis(500)),
    ] {
        let started = Instant::now();
        let got = f.fetch(std::slice::from_ref(&peer), target(final_hash)).await;
        let took = started.elapsed();
        assert!(got.restored.is_none());
        assert!(took <= bound, "{} took {took:?}, bound {bound:?}", peer.account);
    }
    // The trickling peer was cut at the deadline: about 20 of its 1000 bytes went out.
    assert!(trickle.written.load(Ordering::SeqCst) < 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_devnet_switch_loopback_peers_are_never_contacted() {
    let (honest_doc, _, final_hash) = fixtures();
    let honest = FakePeer::start(Behaviour::Serve(Arc::new(honest_doc))).await;
    let peers = vec![
        honest.peer("by-address"),
        Peer {
            account: "by-name".into(),
            domain: format!("http://localhost:{}", honest.addr.port()),
        },
        Peer {
            account: "mapped".into(),
            domain: format!("http://[::ffff:127.0.0.1]:{}", honest.addr.port()),
        },
    ];
    let got = fetcher(false).fetch(&peers, target(final_hash)).await;
    assert!(got.restored.is_none(), "a loopback peer was used: {got:?}");
    let why = reasons(&got);
    assert!(
        matches!(why[0].1, PeerSkip::Domain(DomainError::NotPublic("loopback"))),
        "{why:?}"
    );
    assert!(matches!(why[1].1, PeerSkip::Domain(DomainError::Localhost)), "{why:?}");
    assert!(
        matches!(why[2].1, PeerSkip::Domain(DomainError::NotPublic("loopback"))),
        "{why:?}"
    );
    assert_eq!(honest.requests(), 0, "no connection was made");

    // The same peers with the switch on: the honest snapshot is fetched.
    let got = fetcher(true).fetch(&peers, target(final_hash)).await;
    assert_eq!(got.restored.map(|(p, _)| p.account).as_deref(), Some("by-address"));
}
