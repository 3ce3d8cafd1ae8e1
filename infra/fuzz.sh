#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a fixed time and sums the executions libFuzzer reports.
#
#   infra/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default: 60 s, every target)
#
# cargo-fuzz (installed into ~/.cache/opentoken-tools/cargo-fuzz when missing) needs
# nightly-only flags; the stable toolchain accepts them with RUSTC_BOOTSTRAP=1. Sanitizer:
# FUZZ_SANITIZER (default `none`: every opentoken crate forbids unsafe code, and a panic or
# an overflow check, both on here, is what the targets catch; `address` works too, at
# about half the speed). Each target's corpus (fuzz/corpus/<target>) starts from seeds the
# target writes itself from real data (tests/fixtures/hive, codec records of a real engine
# run, valid ops of every module) when the directory is empty. A crash leaves its input in
# fuzz/artifacts/<target>/ and makes the script fail after the other targets ran.
set -euo pipefail

seconds="${1:-${FUZZ_SECONDS:-60}}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
sanitizer="${FUZZ_SANITIZER:-none}"
tools="${OPENTOKEN_TOOLS:-$HOME/.cache/opentoken-tools}"
cargo_fuzz_version="0.13.2"
export PATH="$tools/cargo-fuzz/bin:$PATH"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz $cargo_fuzz_version into $tools/cargo-fuzz" >&2
  if ! cargo install cargo-fuzz --locked --version "$cargo_fuzz_version" --root "$tools/cargo-fuzz"; then
    echo "fuzz: FAILED to install cargo-fuzz (needs crates.io and a C++ compiler: apt-get install g++)" >&2
    exit 1
  fi
fi
if ! command -v c++ >/dev/null 2>&1; then
  echo "fuzz: FAILED: libfuzzer-sys builds libFuzzer from C++ source; install a C++ compiler (apt-get install g++)" >&2
  exit 1
fi

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

echo "fuzz: building every target (sanitizer: $sanitizer)" >&2
if ! cargo fuzz build --sanitizer "$sanitizer" >"${TMPDIR:-/tmp}/opentoken-fuzz-build.log" 2>&1; then
  tail -n 40 "${TMPDIR:-/tmp}/opentoken-fuzz-build.log" >&2
  echo "fuzz: FAILED to build the fuzz targets" >&2
  exit 1
fi

logs="fuzz/logs"
mkdir -p "$logs"
total=0
crashed=()
printf '%-15s %12s %10s %s\n' target executions exec/s result
for t in "${targets[@]}"; do
  corpus="$root/fuzz/corpus/$t"
  mkdir -p "$corpus"
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=("-dict=fuzz/dict/$t.dict")
  status=0
  FUZZ_SEED_DIR="$corpus" cargo fuzz run --sanitizer "$sanitizer" "$t" "$corpus" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
    >"$logs/$t.log" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log" | tail -n 1)"
  execs="${execs:-0}"
  total=$((total + execs))
  if [ "$status" -ne 0 ]; then
    crashed+=("$t")
    printf '%-15s %12s %10s %s\n' "$t" "$execs" "${rate:-?}" "CRASH (exit $status): see $logs/$t.log and fuzz/artifacts/$t/"
    grep -m 3 -E "panicked at|^ERROR|SUMMARY" "$logs/$t.log" >&2 || tail -n 20 "$logs/$t.log" >&2
  else
    printf '%-15s %12s %10s %s\n' "$t" "$execs" "${rate:-?}" ok
  fi
done
echo "fuzz: ${#targets[@]} targets x ${seconds}s: $total executions in total, ${#crashed[@]} crashing target(s)"
if [ "${#crashed[@]}" -ne 0 ]; then
  echo "fuzz: FAILED: ${crashed[*]}; reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $sanitizer <target> fuzz/artifacts/<target>/<file>" >&2
  exit 1
fi
