#!/usr/bin/env bash
# `make fleet`: the fleet topology of docker/compose.yaml on one machine, all
# on loopback: one Redis (127.0.0.1:6380), two Unbound resolvers with
# fluxguard sharing it (127.0.0.1:5335 and 127.0.0.1:5336) and, when built,
# the sinkhole collector. Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=build/fleet
mkdir -p "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

redis-server --port 6380 --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p 6380 ping >/dev/null 2>&1 && break; sleep 0.1; done

# The example configuration plus the one setting that shares state.
{ cat fluxguard.conf.example; printf '\nstore: redis\nredis-server: 127.0.0.1:6380\n'; } \
  | sed "s#^asn-database: .*#asn-database: $root/build/geo/fluxguard-asn.mmdb#; s#^country-database: .*#country-database: $root/build/geo/fluxguard-country.mmdb#" \
  >"$work/fluxguard.conf"
export FLUXGUARD_CONF="$root/$work/fluxguard.conf"

for port in 5335 5336; do
  sed "s/^    port: 5335/    port: $port/; s#^    pidfile: .*#    pidfile: \"$work/unbound-$port.pid\"#" \
    unbound.conf.example >"$work/unbound-$port.conf"
  build/unbound/install/sbin/unbound -d -c "$work/unbound-$port.conf" 2>&1 | sed -u "s/^/[resolver :$port] /" &
  pids+=($!)
done

sinkhole=build/cmake/sinkhole/fluxguard-sinkhole
if [[ -x $sinkhole && -f sinkhole/sinkhole.conf.example ]]; then
  "$sinkhole" --config sinkhole/sinkhole.conf.example 2>&1 | sed -u "s/^/[sinkhole] /" &
  pids+=($!)
fi

echo "fluxguard fleet: Redis 127.0.0.1:6380, resolvers 127.0.0.1:5335 and :5336 (Ctrl-C stops)"
echo "  dig @127.0.0.1 -p 5335 example.com;  redis-cli -p 6380 --scan --pattern 'fluxguard:*'"
wait
