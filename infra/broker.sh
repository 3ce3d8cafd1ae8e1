#!/usr/bin/env bash
# The Kafka-compatible broker for tests and local runs: tansu (crates.io, Apache-2.0).
#
#   infra/broker.sh install          build tansu once into $OPENTOKEN_TOOLS (~17 min on 2 cores)
#   infra/broker.sh start DIR [PORT] start it on 127.0.0.1:PORT (default 9092) with durable
#                                    storage in DIR/tansu.db; prints the PID file path
#   infra/broker.sh stop DIR         stop the broker started with DIR
#
# Storage: `sqlite://` (durable across a broker kill; measured in ../shared/infra-notes.md).
# Kafka transactions are not supported by tansu; opentoken does not use them.
set -euo pipefail

TANSU_VERSION=0.6.0
TOOLS="${OPENTOKEN_TOOLS:-$HOME/.cache/opentoken-tools}"
PREFIX="$TOOLS/tansu-$TANSU_VERSION"
TANSU="$PREFIX/bin/tansu"

die() { echo "infra/broker.sh: $*" >&2; exit 1; }

install() {
  mkdir -p "$TOOLS"
  # One install at a time: a second `make deps` (or a test run's) waits for the first
  # instead of deleting its half-built tree.
  exec 9>"$TOOLS/.tansu-install.lock"
  flock 9 || die "cannot lock $TOOLS/.tansu-install.lock"
  if [ -x "$TANSU" ]; then
    echo "tansu $TANSU_VERSION already installed at $TANSU"
    return
  fi
  command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain first"
  echo "building tansu $TANSU_VERSION into $PREFIX (about 17 minutes on 2 cores; done once)"
  rm -rf "$PREFIX"
  local tmp="$PREFIX.partial"
  rm -rf "$tmp"
  cargo install tansu --version "$TANSU_VERSION" --locked \
    --features dynostore,postgres,libsql --root "$tmp" \
    || die "cargo install tansu failed (crates.io reachable? disk space?); see the output above"
  mv "$tmp" "$PREFIX"
  echo "installed $TANSU"
}

start() {
  local dir="${1:?usage: broker.sh start DIR [PORT]}"
  local port="${2:-9092}"
  [ -x "$TANSU" ] || die "tansu is not installed; run: infra/broker.sh install"
  mkdir -p "$dir"
  local url="tcp://127.0.0.1:$port"
  # tansu resolves the sqlite path relative to its working directory.
  (cd "$dir" && exec "$TANSU" broker --listener-url "$url" --advertised-listener-url "$url" \
    --storage-engine "sqlite://tansu.db" >broker.log 2>&1) &
  echo $! >"$dir/broker.pid"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "tansu broker on 127.0.0.1:$port (pid $(cat "$dir/broker.pid"), log $dir/broker.log)"
      return
    fi
    kill -0 "$(cat "$dir/broker.pid")" 2>/dev/null || die "the broker exited; see $dir/broker.log"
    sleep 0.1
  done
  die "the broker did not listen on 127.0.0.1:$port within 10 s; see $dir/broker.log"
}

stop() {
  local dir="${1:?usage: broker.sh stop DIR}"
  [ -f "$dir/broker.pid" ] || return 0
  kill "$(cat "$dir/broker.pid")" 2>/dev/null || true
  rm -f "$dir/broker.pid"
}

case "${1:-}" in
  install) install ;;
  path) echo "$TANSU" ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) die "usage: broker.sh install | path | start DIR [PORT] | stop DIR" ;;
esac
