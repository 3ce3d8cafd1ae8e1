# opentoken — the two commands a fresh machine needs are `make run` and `make test`.
CARGO ?= cargo
DATA ?= data/$(notdir $(basename $(CHAIN)))
CHAIN ?= infra/chains/devnet-multisig.json
## The chain the README's performance figures are measured on.
BENCH_CHAIN ?= infra/chains/devnet.json
LISTEN ?= 127.0.0.1:3001

PY ?= target/pyenv/bin/python
BROKER_DIR ?= target/broker
BROKER_PORT ?= 9092

.PHONY: run test deps build build-debug lint fmt bench bench-codec bench-commitment bench-kafka test-scylla-large devnet broker broker-stop clean-data

## What a fresh machine lacks for the build and the tests: Debian build packages for
## librdkafka and Debian's prometheus (promtool and a Prometheus server for
## tests/tests/prometheus.rs), the Kafka-compatible broker (built once into
## ~/.cache/opentoken-tools, about 17 minutes), and the third-party Python Kafka client the
## wire-format test uses.
deps:
	infra/install-build-deps.sh --test
	infra/broker.sh install
	test -x $(PY) || python3 -m venv target/pyenv
	$(PY) -m pip install -q -r tests/python/requirements.txt

## Build the release binary.
build:
	infra/install-build-deps.sh
	$(CARGO) build --release -p opentoken

## The debug binary the end-to-end tests run, with the test-only fault hooks
## (tests/tests/consensus.rs corrupts a node's state through OPENTOKEN_FAULT_CORRUPT_STATE_AT).
build-debug:
	infra/install-build-deps.sh
	$(CARGO) build -p opentoken --features fault-injection

## Start a local Hive simulator and the node on the embedded default (the devnet with the
## multi-sig account and the DEX); prints the API address, the balances of a few accounts
## and the DEX markets as they change. Ctrl-C stops it; running it
## again resumes from $(DATA).
run: build
	./target/release/opentoken run --devnet --sim-block-ms 500 --sim-prefill 150 --node-account dlux-io \
	  --data-dir $(DATA) --chain $(CHAIN) --listen $(LISTEN) --watch alice,bob,carol

## Formatting, lints and every test (what CI runs).
## The same feature as build-debug, so that building the tests does not replace
## target/debug/opentoken with a binary without the fault hook.
test: deps lint build-debug fuzz-smoke
	$(CARGO) test --workspace --features opentoken/fault-injection --no-fail-fast

lint:
	rustup component add rustfmt clippy >/dev/null 2>&1 || true
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Criterion benches of the record codec (block records, events, op statuses): encode and
## decode per record, apache-avro's writer compared in services/codec/tests/direct.rs.
bench-codec:
	$(CARGO) bench -p opentoken-codec --bench codec

## Criterion benches of the state commitment: the v1 and v2 element, a fold of 1,000
## changed keys, a state's puts and commitment.
bench-commitment:
	$(CARGO) bench -p opentoken-core --bench commitment

## Throughput of the token state machine and of the embedded pipeline (README figures).
bench: build
	./target/release/opentoken bench --chain $(BENCH_CHAIN) --blocks 5000 --ops-per-block 20

## The ScyllaDB backend with a state of 1,000,000 keys (committed with a snapshot and
## reloaded on the in-process CQL double, every write under the mutation limit); release
## build, since hashing a million keys for the snapshot commitment is slow in debug.
test-scylla-large:
	$(CARGO) test --release -p opentoken-store --all-features --test scylla_growth -- --ignored --nocapture

## Coverage-guided fuzzing (cargo-fuzz/libFuzzer on the stable toolchain, see
## infra/fuzz.sh): every target in fuzz/ for FUZZ_SECONDS each; fuzz-smoke, a few seconds
## each, is part of `make test`. Crashes land in fuzz/artifacts/<target>/.
.PHONY: fuzz fuzz-smoke
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
fuzz:
	infra/fuzz.sh $(FUZZ_SECONDS)

fuzz-smoke:
	infra/fuzz.sh $(FUZZ_SMOKE_SECONDS)

## Processor throughput in Kafka mode vs a bare rdkafka consumer (starts a local broker).
bench-kafka: build deps
	rm -rf target/broker-bench
	infra/broker.sh start target/broker-bench $(BROKER_PORT)
	./target/release/opentoken bench --chain $(BENCH_CHAIN) --blocks 5000 --ops-per-block 20 \
	  --kafka-brokers 127.0.0.1:$(BROKER_PORT) --kafka-topics infra/kafka/topics.tansu.json; status=$$?; infra/broker.sh stop target/broker-bench; exit $$status

## A local Kafka-compatible broker on 127.0.0.1:$(BROKER_PORT) (data in $(BROKER_DIR)).
broker:
	infra/broker.sh install
	infra/broker.sh start $(BROKER_DIR) $(BROKER_PORT)

broker-stop:
	infra/broker.sh stop $(BROKER_DIR)

## A standalone simulator on 127.0.0.1:8091.
devnet: build
	./target/release/opentoken devnet --chain $(CHAIN) --sim-listen 127.0.0.1:8091 --sim-block-ms 1000 --sim-prefill 100

clean-data:
	rm -rf $(DATA)
