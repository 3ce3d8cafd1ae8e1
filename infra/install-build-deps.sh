#!/usr/bin/env bash
# Debian packages the build needs on a fresh machine: cmake (librdkafka is built from the
# vendored source by rdkafka's cmake-build) and the headers it links against. With --test
# (make deps, make test) also what the tests run: Debian's prometheus package, whose
# promtool and prometheus check the node's /metrics and infra/grafana/ (tests/tests/prometheus.rs).
# Installs only what is missing, so running it again does nothing.
set -euo pipefail
need=()
if [ "${1:-}" = "--test" ]; then
  { command -v promtool >/dev/null && command -v prometheus >/dev/null; } || need+=(prometheus)
fi
command -v cmake >/dev/null || need+=(cmake)
# libFuzzer (make fuzz, the fuzz smoke of make test) is built from C++ source.
command -v c++ >/dev/null || need+=(g++)
for pkg in libcurl4-openssl-dev libsasl2-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "installing Debian packages: ${need[*]}"
$sudo apt-get update -qq || { echo "apt-get update failed: is the Debian mirror reachable?" >&2; exit 1; }
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" \
  || { echo "could not install ${need[*]}; install them by hand (needs root)" >&2; exit 1; }
