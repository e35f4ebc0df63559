#!/usr/bin/env bash
# Runs the project's Unbound with fluxguard in the foreground on
# 127.0.0.1:5335, with unbound.conf.example and fluxguard.conf.example.
# Ctrl-C stops it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export FLUXGUARD_CONF="$root/fluxguard.conf.example"
echo "fluxguard: Unbound on 127.0.0.1:5335 (try: dig @127.0.0.1 -p 5335 example.com)"
exec build/unbound/install/sbin/unbound -d -c unbound.conf.example
