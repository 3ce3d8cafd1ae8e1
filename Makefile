# opentoken — the two commands a fresh machine needs are `make run` and `make test`.
CARGO ?= cargo
DATA ?= data/devnet
CHAIN ?= infra/chains/devnet.json
LISTEN ?= 127.0.0.1:3001

.PHONY: run test build build-debug lint fmt bench devnet clean-data

## Build the release binary.
build:
	$(CARGO) build --release -p opentoken

build-debug:
	$(CARGO) build -p opentoken

## Start a local Hive simulator and the node on the embedded default; prints the API
## address and the balances of a few accounts as they change. Ctrl-C stops it; running it
## again resumes from $(DATA).
run: build
	./target/release/opentoken run --devnet --sim-block-ms 500 --sim-prefill 150 \
	  --data-dir $(DATA) --chain $(CHAIN) --listen $(LISTEN) --watch alice,bob,carol

## Formatting, lints and every test (what CI runs).
test: lint build-debug
	$(CARGO) test --workspace --no-fail-fast

lint:
	rustup component add rustfmt clippy >/dev/null 2>&1 || true
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Throughput of the token state machine and of the embedded pipeline (README figures).
bench: build
	./target/release/opentoken bench --chain $(CHAIN) --blocks 5000 --ops-per-block 20

## A standalone simulator on 127.0.0.1:8091.
devnet: build
	./target/release/opentoken devnet --chain $(CHAIN) --sim-listen 127.0.0.1:8091 --sim-block-ms 1000 --sim-prefill 100

clean-data:
	rm -rf $(DATA)
