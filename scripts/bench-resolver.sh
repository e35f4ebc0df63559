#!/usr/bin/env bash
# Stock Unbound against Unbound + fluxguard with dnsperf on loopback: QPS and
# latency for cache-hit, cache-miss and mixed (fast-flux) workloads, and the
# memory after a million distinct domains. bench/resolver_bench.py does the
# runs; bench/README.md explains the set-up and holds the latest table.
#
#   scripts/bench-resolver.sh [options of bench/resolver_bench.py]
#   BENCH_UPDATE_README=1 scripts/bench-resolver.sh   also rewrite bench/README.md's table
#
# Needs what `make build` builds (Unbound, the module, the test fixtures) and
# installs its own two Debian packages, dnsperf and nsd, when missing (kept out
# of scripts/install-deps.sh: on a machine with systemd, installing nsd starts
# a system-wide authoritative server, which `make test` has no business doing).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

missing=()
for p in dnsperf nsd; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "bench: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Debian starts NSD on port 53 when systemd runs; the benchmark starts its own.
  if command -v systemctl >/dev/null && systemctl is-active --quiet nsd 2>/dev/null; then
    $sudo systemctl disable --now nsd || true
  fi
fi

# The module and the fixtures, as `make build` / `make test` build them
# (BENCH_NO_BUILD=1: take build/cmake as it is).
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
  [[ -f build/cmake/CMakeCache.txt ]] || cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build/cmake -j"$(nproc)" --target fluxguard_module test_fixtures \
    -- --no-print-directory >/dev/null
fi

readme=()
[[ ${BENCH_UPDATE_README:-0} == 1 ]] && readme=(--readme bench/README.md)
exec /usr/bin/python3 bench/resolver_bench.py --command "${BENCH_COMMAND:-make bench}" \
  "${readme[@]}" "$@"
