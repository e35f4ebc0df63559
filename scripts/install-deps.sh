#!/usr/bin/env bash
# Installs the Debian packages fluxguard builds, runs and tests with.
# Idempotent: when every package is already installed it touches nothing and
# downloads nothing, so a second `make run` starts at once.
set -euo pipefail

packages=(
  # toolchain and Unbound's own build dependencies
  build-essential cmake pkg-config dpkg-dev ca-certificates
  libssl-dev libevent-dev libexpat1-dev flex bison
  # libraries of the module and tools
  libmaxminddb-dev libhiredis-dev libfmt-dev libpsl-dev publicsuffix libabsl-dev
  nlohmann-json3-dev libasio-dev catch2 libbenchmark-dev
  # geo data: a real prefix -> ASN/country source and the GeoLite2-schema writer
  libloc-database python3-location libmaxmind-db-writer-perl mmdb-bin
  # test fixtures and services
  dns-root-data python3 python3-dnslib python3-dnspython redis-server redis-tools redis-sentinel
  bind9-dnsutils
  # fluxctl tests: the STIX 2.1 schemas check, and Debian's stock Unbound loading an
  # exported RPZ zone (tests/cli; it runs /usr/sbin/unbound itself on a loopback port)
  python3-jsonschema unbound
  # the sinkhole's end-to-end test: a real TLS client (openssl s_client)
  openssl
  # fuzzing (libFuzzer and its sanitizer runtimes) and symbolized sanitizer reports
  clang libclang-rt-14-dev llvm
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
echo "fluxguard: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq

# Debian's unbound package starts a resolver on port 53 when installed. fluxguard
# only runs /usr/sbin/unbound itself (tests, on loopback ports), so keep the
# service from starting while installing (policy-rc.d "101": action forbidden)
# and disable it afterwards.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  own_policy=1
fi
status=0
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" || status=$?
if [[ -n $own_policy ]]; then $sudo rm -f "$policy"; fi
if [[ " ${missing[*]} " == *" unbound "* ]]; then
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    $sudo systemctl disable --now unbound.service unbound-resolvconf.service >/dev/null 2>&1 || true
  else
    $sudo update-rc.d unbound disable >/dev/null 2>&1 || true
  fi
  # A policy-rc.d of the machine's own may have let the init script start it.
  if [[ -s /run/unbound.pid ]]; then
    $sudo kill "$(cat /run/unbound.pid)" >/dev/null 2>&1 || true
  fi
fi
exit $status
