//! Distributed mode against a real Kafka-protocol broker (tansu, installed by
//! `infra/broker.sh install`, started here on a free port with durable sqlite storage):
//! `opentoken ingest | process | checkpoint | serve` as separate processes.
//!
//! - the same chain gives the same checkpoint hashes and reports as embedded mode, with two
//!   ingesters publishing every block twice;
//! - a third-party client (kafka-python + fastavro) decodes the ops topic with only schemas/;
//! - `opentoken replay --from-offset` continues a rebuild from Kafka and verifies the hashes;
//! - processor and ingester SIGKILLed at random moments and the broker killed and restarted
//!   end with the hashes of an uninterrupted run.

use opentoken_e2e::*;
use opentoken_log::{KafkaConfig, KafkaLog, Log};
use rand::{Rng, SeedableRng};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `opentoken run` in embedded mode into `<work>/reference`: what every distributed run
/// must equal.
fn embedded_reference(work: &Work, url: &str, until: u64) -> Proc {
    Role::new("run")
        .data(work, "reference")
        .args(["--hive-api", url, "--listen", "127.0.0.1:0", "--commit-every", "50"])
        .until(until)
        .spawn()
}

/// Polls `serve` on `port` until `/v1/accounts/alice` (opentoken's account view) shows what the reference store holds (up to
/// 120 s while a replica catches up), and fails naming both otherwise.
fn wait_for_same_view(port: u16, reference: &dyn opentoken_store::Store) {
    let view = opentoken_token::account_view(
        &opentoken_store::ModuleKv {
            store: reference,
            module: "token",
        },
        "alice",
    )
    .expect("reference view");
    let want = serde_json::to_value(view).expect("view is JSON");
    let fields = want.as_object().expect("view is an object");
    let same = |v: &serde_json::Value| fields.iter().all(|(k, x)| &v[k] == x);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut got = serde_json::Value::Null;
    while Instant::now() < deadline {
        if let Some((200, body)) = http_get_json(&format!("http://127.0.0.1:{port}/v1/accounts/alice")) {
            got = body;
            if same(&got) {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("serve shows {got}, the embedded node {want}");
}

fn kafka(broker: &str) -> KafkaLog {
    KafkaLog::new(KafkaConfig::new(broker, "e2e-test"), opentoken_codec::schema_name_of).expect("kafka client")
}

/// `(block, consensus hash)` of the reports on a log's reports topic, each signature
/// checked. A report can be published twice (an append that timed out but was written is
/// retried); a repeat must be identical and is listed once.
fn reports(log: &dyn Log) -> Vec<(u64, [u8; 32])> {
    let topic = devnet_spec().reports_topic();
    let recs = log.read(&topic, 0, 10_000).expect("read reports");
    let mut out: Vec<(u64, [u8; 32])> = Vec::new();
    for r in &recs {
        let rep = opentoken_codec::decode_report(&r.value).expect("report decodes");
        opentoken_checkpointer::verify_report(&rep).expect("report signature verifies");
        match out.iter().find(|(b, _)| *b == rep.block) {
            Some((_, h)) => assert_eq!(*h, rep.consensus_hash, "two different reports for block {}", rep.block),
            None => out.push((rep.block, rep.consensus_hash)),
        }
    }
    out
}

#[test]
fn kafka_mode_equals_embedded_mode_and_is_readable_by_third_parties() {
    const UNTIL: u64 = 600;
    let work = Work::new();
    let (_devnet, url) = start_devnet(21, 5, 700, 0);
    embedded_reference(&work, &url, UNTIL).wait_ok("embedded reference run", 300);

    let broker = Broker::start(&work);
    let b = broker.addr();
    let role = |subcommand, name: &str| Role::new(subcommand).data(&work, name).kafka(&b);
    // Two ingesters at once: every block is published twice.
    let mut ingest_a = role("ingest", "ingest-a")
        .args(["--hive-api", &url, "--fetch-batch", "50"])
        .until(UNTIL)
        .spawn();
    let mut ingest_b = role("ingest", "ingest-b")
        .args(["--hive-api", &url, "--fetch-batch", "70"])
        .until(UNTIL)
        .spawn();
    let mut process = role("process", "process")
        .args(["--module", "token", "--commit-every", "37"])
        .until(UNTIL)
        .spawn();
    // The nodes module in its own process: governance stake reaches it from the token
    // processor over <community>.messages.nodes.
    let mut process_nodes = role("process", "process-nodes")
        .args(["--module", "nodes", "--commit-every", "53"])
        .until(UNTIL)
        .spawn();
    let mut checkpoint = role("checkpoint", "checkpoint").until(UNTIL).spawn();
    ingest_a.wait_ok("ingester a", 300);
    ingest_b.wait_ok("ingester b", 300);
    process.wait_ok("processor", 300);
    process_nodes.wait_ok("nodes processor", 300);
    checkpoint.wait_ok("checkpointer", 300);

    let (ref_log, ref_store) = open(&work.dir("reference"));
    let expected = fingerprint(&ref_store);
    assert_eq!(expected.checkpoints.len() as u64, UNTIL / 100);
    {
        let (_, store) = open(&work.dir("process"));
        assert_eq!(fingerprint(&store), expected, "Kafka mode differs from embedded mode");
        let (_, nodes) = open(&work.dir("process-nodes"));
        let want = fingerprint_of(&ref_store, "nodes");
        assert!(
            want.state.keys().any(|k| k.starts_with(b"gov/")),
            "the reference nodes module received governance stake"
        );
        assert_eq!(
            fingerprint_of(&nodes, "nodes"),
            want,
            "the nodes module in its own process differs from the co-located one"
        );
    }
    let log = kafka(&b);
    assert_eq!(reports(&log), reports(ref_log.as_ref()), "reports differ");

    // The duplicates really happened, and the processor applied each block once.
    let topic = devnet_spec().ops_topic("token");
    let records = log.read(&topic, 0, 100_000).expect("read ops");
    let mut seen = std::collections::BTreeSet::new();
    let mut duplicates = 0;
    for r in &records {
        let rec = opentoken_codec::decode_block_record(&r.value).expect("decode");
        if !seen.insert((rec.block_num, rec.last_block)) {
            duplicates += 1;
        }
    }
    assert!(duplicates > 0, "two ingesters published no duplicate");

    // Headers name the encoding and the schema file.
    let headers = log.read_headers(&topic, 0).expect("headers");
    assert!(headers.contains(&("content-type".into(), opentoken_log::kafka::CONTENT_TYPE.into())));
    assert!(
        headers.contains(&("opentoken.schema".into(), "block_record".into())),
        "{headers:?}"
    );

    // A third-party client decodes the topic with only schemas/.
    let out = Command::new(python())
        .arg(repo_root().join("tests/python/read_topic.py"))
        .args([&b, &topic])
        .arg(repo_root().join("schemas"))
        .arg("25")
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "third-party decode failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 25);
    for (line, r) in lines.iter().zip(&records) {
        let rec = opentoken_codec::decode_block_record(&r.value).expect("decode");
        assert_eq!(line["offset"].as_u64(), Some(r.offset));
        assert_eq!(line["schema"], "block_record");
        assert_eq!(line["record"]["block_num"].as_u64(), Some(rec.block_num), "{line}");
        // `last_block` is null for a single block (the schema's default), else the range end.
        let last = line["record"]["last_block"].as_u64().unwrap_or(rec.block_num);
        assert_eq!(last, rec.last_block, "{line}");
        assert_eq!(
            line["record"]["ops"].as_array().map(|o| o.len()),
            Some(rec.ops.len()),
            "{line}"
        );
    }

    // Replay from Kafka: rebuild to block 300, then continue from that store's offset.
    let into = work.dir("replay");
    let replay = |extra: &[&str]| {
        role("replay", "process")
            .log_as("replay")
            .arg("--into")
            .arg(&into)
            .args(extra)
            .output()
    };
    let replayed = |extra: &[&str]| {
        let out = replay(extra);
        assert!(out.status.success(), "replay {extra:?} failed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = replayed(&["--until-block", "300"]);
    assert!(first.contains("3/3 recorded checkpoints reproduced"), "{first}");
    let offset = {
        let (_, s) = open(&into);
        s.progress("token").expect("progress").expect("replayed").next_offset
    };
    assert!(offset > 0);
    let wrong = replay(&["--from-offset", "1"]);
    assert!(
        !wrong.status.success(),
        "a --from-offset that is not the store's position must be refused"
    );
    let rest = replayed(&["--from-offset", &offset.to_string()]);
    assert!(
        rest.contains(&format!("from offset {offset}")) && rest.contains("3/3 recorded checkpoints reproduced"),
        "{rest}"
    );
    {
        let (_, s) = open(&into);
        assert_eq!(fingerprint(&s).checkpoints, expected.checkpoints);
    }

    // The API in Kafka mode serves the same balances from its own replica.
    let port = free_port();
    let _serve = role("serve", "serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .spawn();
    wait_for_same_view(port, ref_store.as_ref());
}

#[test]
fn sigkill_processor_and_ingester_and_restart_the_broker() {
    const UNTIL: u64 = 1200;
    let work = Work::new();
    let (_devnet, url) = start_devnet(22, 20, 50, 2);
    // The reference follows the same chain meanwhile, uninterrupted.
    let mut reference = embedded_reference(&work, &url, UNTIL);

    let mut broker = Broker::start(&work);
    let b = broker.addr();
    let role = |subcommand, name: &str| Role::new(subcommand).data(&work, name).kafka(&b);
    let ingest = || {
        role("ingest", "ingest")
            .args(["--hive-api", &url, "--fetch-batch", "30"])
            .until(UNTIL)
            .spawn()
    };
    let process = || {
        role("process", "process")
            .args(["--module", "token", "--commit-every", "20"])
            .until(UNTIL)
            .spawn()
    };
    let process_nodes = || {
        role("process", "process-nodes")
            .args(["--module", "nodes", "--commit-every", "25"])
            .until(UNTIL)
            .spawn()
    };
    let probe_port = free_port();
    let probe = format!("127.0.0.1:{probe_port}");
    let readyz = format!("http://{probe}/readyz");
    let mut checkpoint = role("checkpoint", "checkpoint")
        .args(["--listen", &probe])
        .until(UNTIL)
        .spawn();

    let mut rng = rand::rngs::StdRng::seed_from_u64(20261125);
    let mut ing = ingest();
    let mut proc_ = process();
    let mut proc_nodes = process_nodes();
    let (mut processor_kills, mut ingester_kills, mut broker_restarts) = (0, 0, 0);
    let mut nodes_kills = 0;
    let started = Instant::now();
    for round in 0..14 {
        std::thread::sleep(Duration::from_millis(rng.gen_range(300..1200)));
        if !proc_.exited() {
            proc_.kill();
            processor_kills += 1;
        }
        if round % 2 == 1 && !ing.exited() {
            ing.kill();
            ingester_kills += 1;
        }
        if round % 3 == 2 && !proc_nodes.exited() {
            proc_nodes.kill();
            nodes_kills += 1;
        }
        if round == 6 {
            broker.kill();
            // While the broker is away the checkpointer says it is not ready, and why.
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut not_ready = None;
            while not_ready.is_none() && Instant::now() < deadline {
                if let Some((503, body)) = http_get_json(&readyz) {
                    not_ready = Some(body);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let body = not_ready.expect("/readyz never reported the broker outage");
            assert!(body.to_string().contains("checkpointer"), "{body}");
            broker.spawn();
            broker_restarts += 1;
        }
        if proc_.exited() {
            proc_ = process();
        }
        if proc_nodes.exited() {
            proc_nodes = process_nodes();
        }
        if ing.exited() {
            ing = ingest();
        }
    }
    assert!(
        processor_kills >= 10 && ingester_kills >= 5 && broker_restarts == 1,
        "only {processor_kills} processor and {ingester_kills} ingester kills in {:?}; slow the chain down",
        started.elapsed()
    );
    let ready_deadline = Instant::now() + Duration::from_secs(60);
    while http_get_json(&readyz).map(|(code, _)| code) != Some(200) && !checkpoint.exited() {
        assert!(
            Instant::now() < ready_deadline,
            "the checkpointer never became ready again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    ing.wait_ok("ingester after the kills", 300);
    proc_.wait_ok("processor after the kills", 300);
    proc_nodes.wait_ok("nodes processor after the kills", 300);
    checkpoint.wait_ok("checkpointer (survives the broker restart)", 300);
    reference.wait_ok("embedded reference run", 300);

    let (ref_log, ref_store) = open(&work.dir("reference"));
    let (_, store) = open(&work.dir("process"));
    let expected = fingerprint(&ref_store);
    assert_eq!(expected.checkpoints.len() as u64, UNTIL / 100);
    assert_eq!(
        fingerprint(&store),
        expected,
        "state after {processor_kills} processor kills, {ingester_kills} ingester kills and a broker restart"
    );
    {
        let (_, nodes) = open(&work.dir("process-nodes"));
        assert_eq!(
            fingerprint_of(&nodes, "nodes"),
            fingerprint_of(&ref_store, "nodes"),
            "nodes module after {nodes_kills} kills of its processor"
        );
    }
    assert_eq!(reports(&kafka(&b)), reports(ref_log.as_ref()));
    drop(store);

    // The broker kept every record through its restart: a replay from offset 0 reproduces
    // every checkpoint.
    let out = role("replay", "process").log_as("replay").output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "replay after the broker restart failed: {stdout}");
    assert!(stdout.contains("12/12 recorded checkpoints reproduced"), "{stdout}");
}

/// Distributed mode with the ScyllaDB store (on the CQL test double): stateless processors
/// (SIGKILLed and restarted from snapshot + commit chain), the API reading the projections,
/// and the embedded mode's checkpoint hashes, state and reports.
#[test]
fn kafka_and_scylla_mode_equals_embedded_mode() {
    const UNTIL: u64 = 600;
    let work = Work::new();
    let (_devnet, url) = start_devnet(23, 5, 700, 0);
    embedded_reference(&work, &url, UNTIL).wait_ok("embedded reference run", 300);

    let broker = Broker::start(&work);
    let b = broker.addr();
    let uri = std::env::var("OPENTOKEN_SCYLLA_URI")
        .map(|u| format!("{}/e2e_{}", u.trim_end_matches('/'), std::process::id()))
        .unwrap_or_else(|_| format!("scylla://{}/e2e", cql_server()));
    let scylla = ["--scylla-uri", uri.as_str()];
    let role = |subcommand, name: &str| Role::new(subcommand).data(&work, name).kafka(&b);
    let mut ingest = role("ingest", "ingest")
        .args(["--hive-api", &url, "--fetch-batch", "40"])
        .until(UNTIL)
        .spawn();
    let process = || {
        role("process", "process")
            .args(["--module", "token", "--commit-every", "30"])
            .args(scylla)
            .until(UNTIL)
            .spawn()
    };
    let mut p_nodes = role("process", "process-nodes")
        .args(["--module", "nodes", "--commit-every", "45"])
        .args(scylla)
        .until(UNTIL)
        .spawn();
    let mut checkpoint = role("checkpoint", "checkpoint").until(UNTIL).spawn();
    // The processor is stateless: kill it a few times, it resumes from ScyllaDB.
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    let mut p = process();
    let mut kills = 0;
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(rng.gen_range(300..900)));
        if p.exited() {
            break;
        }
        p.kill();
        kills += 1;
        p = process();
    }
    ingest.wait_ok("ingester", 300);
    p.wait_ok("processor", 300);
    p_nodes.wait_ok("nodes processor", 300);
    checkpoint.wait_ok("checkpointer", 300);
    assert!(kills >= 1, "the processor finished before it could be killed once");

    let (ref_log, ref_store) = open(&work.dir("reference"));
    let expected = fingerprint(&ref_store);
    assert_eq!(expected.checkpoints.len() as u64, UNTIL / 100);
    let cfg = opentoken_store::ScyllaConfig::from_uri(&uri).expect("uri");
    let store: std::sync::Arc<dyn opentoken_store::Store> =
        std::sync::Arc::new(opentoken_store::ScyllaStore::connect(&cfg).expect("connect"));
    assert_eq!(
        fingerprint(&store),
        expected,
        "ScyllaDB mode differs from embedded mode after {kills} processor kills"
    );
    assert_eq!(
        fingerprint_of(&store, "nodes"),
        fingerprint_of(&ref_store, "nodes"),
        "the nodes module on ScyllaDB differs from the co-located one"
    );
    assert_eq!(reports(&kafka(&b)), reports(ref_log.as_ref()));

    // The API serves balances from the ScyllaDB projections.
    let port = free_port();
    let _serve = role("serve", "serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(scylla)
        .spawn();
    wait_for_same_view(port, ref_store.as_ref());
    drop(store);
}

/// A node in distributed mode takes part in consensus: its checkpointer (with the node
/// account's active key) registers the node, broadcasts the reports the roles compute and
/// watches finality through the node's own `serve` API; the nodes module, in its own
/// processor, finalises the checkpoints (dlux-io is the devnet's one runner).
#[test]
fn distributed_node_registers_reports_and_reaches_finality() {
    let work = Work::new();
    let (_devnet, url) = start_devnet(31, 100, 0, 1);
    let broker = Broker::start(&work);
    let b = broker.addr();
    let role = |subcommand, name: &str| Role::new(subcommand).data(&work, name).kafka(&b);
    let _ingest = role("ingest", "ingest")
        .args(["--hive-api", &url, "--fetch-batch", "50"])
        .spawn();
    let _token = role("process", "process").args(["--module", "token"]).spawn();
    let _nodes = role("process", "process-nodes").args(["--module", "nodes"]).spawn();
    let api_port = free_port();
    let api = format!("127.0.0.1:{api_port}");
    let _serve = role("serve", "serve").args(["--listen", &api]).spawn();
    let probe = format!("127.0.0.1:{}", free_port());
    let wif = opentoken_hive::devnet_key("dlux-io", opentoken_hive::KeyRole::Active).to_wif();
    let state_api = format!("http://{api}");
    let _checkpoint = role("checkpoint", "checkpoint")
        .args(["--listen", &probe, "--node-account", "dlux-io"])
        .args(["--hive-api", &url, "--state-api", &state_api])
        .env("OPENTOKEN_HIVE_ACTIVE_KEY", wif)
        .spawn();

    // Every role's log is printed if this fails (Work).
    let deadline = Instant::now() + Duration::from_secs(240);
    let finals = loop {
        let answer = http_get_json(&format!("{state_api}/consensus"));
        if let Some((200, v)) = &answer {
            if v["finals"].as_array().map(Vec::len).unwrap_or(0) >= 3 {
                break v.clone();
            }
        }
        assert!(
            Instant::now() <= deadline,
            "no 3 final checkpoints within 240 s: {answer:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let node = finals["nodes"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n[0] == "dlux-io"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(node[1]["active"], true, "registered: {node}");
    // The checkpointer's verdict: its own hashes are the final ones.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = http_get_json(&format!("http://{probe}/readyz"));
        if matches!(answer, Some((200, _))) {
            break;
        }
        assert!(Instant::now() < deadline, "checkpointer not ready: {answer:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The DEX chain in Kafka mode, each module its own processor (`process --module dex` and
/// `--module nft` among them): every module ends with the state and checkpoints of an
/// embedded `opentoken run` of the same chain, the DEX traded and Proof of Brain paid.
#[test]
fn the_dex_and_the_token_economy_as_their_own_processors_in_kafka_mode_equal_embedded_mode() {
    const UNTIL: u64 = 400;
    let work = Work::new();
    // The devnet with the DEX, without the safety price: no runner registers a multi-sig
    // key here, so no collateral would ever allow a deposit.
    let mut spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("infra/chains/devnet-multisig.json")).expect("spec"),
    )
    .expect("json");
    spec["name"] = "dexkafka".into();
    spec["modules"]["multisig"] = serde_json::json!({});
    // With the token economy: mints, DAO days and Proof of Brain's expiries and payouts are
    // chron work the token's own processor runs across the idle ranges it skips, and must
    // run exactly as the embedded node does; the generated votes reach it through the
    // ingester's routing of Hive ops.
    spec["modules"]["token"]["economy"] = serde_json::json!({"interest_rate": 20_000, "mint_every": 100,
        "dao_every": 150, "dao_offset": 5,
        "proof_of_brain": {"beneficiary": "dlux-io", "pending_blocks": 30, "reward_blocks": 150,
            "leader_votes": {"check_after": 40, "every": 50, "offset": 2, "keep_blocks": 100}}});
    let spec_path = work.path().join("chain.json");
    std::fs::write(&spec_path, spec.to_string()).expect("write spec");
    let (_devnet, url) = start_devnet_with(
        &spec_path,
        &[
            "--sim-seed",
            "25",
            "--sim-block-ms",
            "5",
            "--sim-prefill",
            "450",
            "--sim-lag",
            "0",
            "--sim-ops",
            "0,4",
        ],
    );
    Role::new("run")
        .chain(&spec_path)
        .data(&work, "reference")
        .args(["--hive-api", &url, "--listen", "127.0.0.1:0", "--commit-every", "50"])
        .until(UNTIL)
        .spawn()
        .wait_ok("embedded reference run", 300);

    let broker = Broker::start(&work);
    let b = broker.addr();
    let role = |subcommand, name: &str| Role::new(subcommand).chain(&spec_path).data(&work, name).kafka(&b);
    let mut procs = vec![(
        "ingester",
        role("ingest", "ingest")
            .args(["--hive-api", &url, "--fetch-batch", "40"])
            .until(UNTIL)
            .spawn(),
    )];
    for (module, commit) in [
        ("token", "37"),
        ("nodes", "53"),
        ("multisig", "11"),
        ("dex", "29"),
        ("nft", "17"),
    ] {
        procs.push((
            module,
            role("process", &format!("process-{module}"))
                .args(["--module", module, "--commit-every", commit])
                .until(UNTIL)
                .spawn(),
        ));
    }
    for (what, p) in &mut procs {
        p.wait_ok(what, 300);
    }
    let (_, reference) = open(&work.dir("reference"));
    for module in ["token", "nodes", "multisig", "dex", "nft"] {
        let want = fingerprint_of(&reference, module);
        assert_eq!(want.progress_block, Some(UNTIL));
        let (_, store) = open(&work.dir(&format!("process-{module}")));
        assert_eq!(
            fingerprint_of(&store, module),
            want,
            "{module} in its own Kafka-mode process differs from the embedded node"
        );
    }
    let dex = fingerprint_of(&reference, "dex");
    assert!(dex.state.keys().any(|k| k.starts_with(b"trade/")), "the DEX traded");
    let token = fingerprint_of(&reference, "token");
    assert!(token.state.contains_key(&b"eco/day"[..]), "a DAO day ran");
    assert!(
        token.state.keys().any(|k| k.starts_with(b"pool/")),
        "inflation was minted"
    );
    assert!(
        token.state.keys().any(|k| k.starts_with(b"paid/")),
        "Proof of Brain paid a post"
    );
}

/// `make bench-kafka` in small, inside `make test`: the bench's Kafka phases (publish, a
/// bare rdkafka consumer, the processor over the same topics) finish well within a
/// deadline, and the report carries the processor/consumer ratio. The bench used to stall
/// here for good (a read that re-sought its in-flight fetch); a stall now fails the test,
/// naming the bench, instead of hanging it.
#[test]
fn the_kafka_bench_finishes_and_reports_its_ratio() {
    let work = Work::new();
    let broker = Broker::start(&work);
    let json = work.path().join("bench.json");
    let child = Command::new(bin())
        .arg("bench")
        .arg("--chain")
        .arg(devnet_spec_path())
        .args(["--blocks", "300", "--ops-per-block", "10", "--accounts", "2000"])
        .args(["--kafka-brokers", &broker.addr()])
        .arg("--kafka-topics")
        .arg(repo_root().join("infra/kafka/topics.tansu.json"))
        .arg("--json")
        .arg(&json)
        .env("OPENTOKEN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(work.log_file("bench"))
        .spawn()
        .expect("spawn opentoken bench");
    let mut bench = Proc::new(child);
    let Some(status) = bench.wait_exit(240) else {
        panic!(
            "opentoken bench against the broker did not finish in 240 s (the Kafka stall?):\n{}",
            work.read_log("bench")
        );
    };
    assert!(status.success(), "opentoken bench failed:\n{}", work.read_log("bench"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("bench report")).expect("JSON");
    let ratio = report["kafka_ratio"].as_f64().expect("kafka_ratio");
    assert!(ratio > 0.0, "{report}");
    let phases = report["phases"].as_array().expect("phases");
    for name in ["kafka: publish", "kafka: bare rdkafka consumer", "kafka: processor"] {
        assert!(
            phases
                .iter()
                .any(|p| p["name"].as_str().is_some_and(|n| n.starts_with(name))),
            "no {name} phase in {report}"
        );
    }
}
