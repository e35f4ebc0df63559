#!/usr/bin/env bash
# One command for the accuracy report on the synthetic corpus:
#   1. generate the corpus (seed 1, 6 h) into build/corpus/
#   2. replay it through fluxctl with corpus/replay.conf
#   3. score the verdicts: docs/accuracy.md and stdout
# `make accuracy` builds fluxctl and the geo databases first, then runs this.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

python=/usr/bin/python3   # Debian's: has python3-location (libloc)
fluxctl=build/cmake/cli/fluxctl
out=build/corpus

if [[ ! -x $fluxctl ]]; then
  echo "run-accuracy: $fluxctl not found: build it first (make accuracy, or" \
       "cmake --build build/cmake --target fluxctl)" >&2
  exit 1
fi
for db in build/geo/fluxguard-asn.mmdb build/geo/fluxguard-country.mmdb; do
  if [[ ! -r $db ]]; then
    echo "run-accuracy: $db not found: run scripts/build-geo-mmdb.sh build/geo (or make geo)" >&2
    exit 1
  fi
done

mkdir -p "$out" docs
"$python" corpus/generate.py --seed 1 --hours 6 --out "$out"

status=0
"$fluxctl" replay --config corpus/replay.conf "$out/trace.jsonl" \
  >"$out/verdicts.jsonl" 2>"$out/replay.log" || status=$?
cat "$out/replay.log" >&2
case $status in
  0) ;;
  1) echo "run-accuracy: fluxctl skipped malformed trace lines (see above); scoring what it replayed" >&2 ;;
  *) echo "run-accuracy: fluxctl replay failed with status $status" >&2; exit 1 ;;
esac

"$python" corpus/report.py --labels "$out/labels.json" --verdicts "$out/verdicts.jsonl" --trace "$out/trace.jsonl" \
  --markdown docs/accuracy.md
