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
  libmaxminddb-dev libhiredis-dev libfmt-dev libpsl-dev publicsuffix
  nlohmann-json3-dev libasio-dev catch2 libbenchmark-dev
  # geo data: a real prefix -> ASN/country source and the GeoLite2-schema writer
  libloc-database python3-location libmaxmind-db-writer-perl mmdb-bin
  # test fixtures and services
  dns-root-data python3 python3-dnslib python3-dnspython redis-server redis-tools redis-sentinel
  bind9-dnsutils
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
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
