#!/usr/bin/env bash
# Sanitizer runs of fluxguard: the core, the module, fluxctl and the unit
# tests built with gcc's sanitizers, then the Catch2 unit tests and the
# end-to-end tests (tests/e2e) with the sanitized module loaded into Unbound.
#
#   scripts/sanitize.sh asan    -fsanitize=address,undefined in build/asan;
#                               Debian-built Unbound of build/unbound with the
#                               ASan runtime preloaded (LD_PRELOAD)
#   scripts/sanitize.sh tsan    -fsanitize=thread in build/tsan; Unbound itself
#                               rebuilt with -fsanitize=thread in
#                               build/unbound-tsan (once, ~1.5 min on 2 cores),
#                               num-threads 2 so two workers share the engine
#
# Every report of any process (unit tests, Unbound, fluxctl) is written to
# build/<kind>/reports/; the run fails when one is there, even if no test
# noticed. Suppressions would go in scripts/sanitize-<kind>.supp (LSan's for
# asan), for third-party issues only, each justified there; none is needed
# so far. Environment: SANITIZE_THREADS (num-threads for the e2e tests'
# Unbound where they leave fluxtest.py's default 1; tsan 2, asan unchanged),
# SANITIZE_E2E=0 skips the e2e tests and the concurrency stress.
set -euo pipefail

kind=${1:-}
case $kind in
  asan) flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" ;;
  tsan) flags="-fsanitize=thread" ;;
  *) echo "usage: $0 asan|tsan" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=build/$kind
reports=$root/$out/reports
start=$SECONDS

scripts/install-deps.sh
scripts/build-unbound.sh

# --- Unbound ------------------------------------------------------------------
unbound=$root/build/unbound/install/sbin/unbound
if [[ $kind == tsan ]]; then
  # A TSan runtime preloaded into an uninstrumented Unbound would not see
  # Unbound's own accesses to what it shares with the module (qstate, the
  # message cache the module purges): races there would go unnoticed. So
  # Unbound is built with -fsanitize=thread too, from the same Debian source
  # and with the same configure options as scripts/build-unbound.sh.
  work=$root/build/unbound-tsan
  unbound=$work/install/sbin/unbound
  stamp="$(cat build/unbound/.built) -fsanitize=thread"
  if [[ "$(cat "$work/.built" 2>/dev/null)" != "$stamp" ]]; then
    t0=$SECONDS
    echo "sanitize: building Unbound with -fsanitize=thread into $work"
    rm -rf "$work" && mkdir -p "$work"
    cp -a build/unbound/src "$work/src"
    (
      cd "$work/src"
      make distclean >/dev/null 2>&1 || true
      ./configure --quiet --prefix="$work/install" --with-dynlibmodule --with-libevent \
        --disable-flto --without-pythonmodule --without-pyunbound \
        --with-pidfile="$work/unbound.pid" \
        CFLAGS="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread"
      make -j"$(nproc)" >/dev/null
      make install >/dev/null
    )
    echo "$stamp" > "$work/.built"
    echo "sanitize: Unbound (TSan) built in $((SECONDS - t0)) s"
  fi
fi

# --- fluxguard ----------------------------------------------------------------
echo "sanitize: building core, module, fluxctl and unit tests with $flags in $out"
if [[ ! -f $out/CMakeCache.txt ]]; then
  cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_C_FLAGS="-O1 $flags" -DCMAKE_CXX_FLAGS="-O1 $flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" >/dev/null
fi
# Compiler output in a log (gcc warns about libstdc++'s own headers at -O1 with
# sanitizers, e.g. -Wmaybe-uninitialized in <regex>); shown when the build fails.
if ! cmake --build "$out" -j"$(nproc)" --target fluxguard_module fluxctl unit_tests test_fixtures \
    -- --no-print-directory >"$out/build.log" 2>&1; then
  grep -E "error|Error" "$out/build.log" | head -30 >&2
  echo "sanitize: build failed, log $out/build.log" >&2
  exit 1
fi

# --- runtime options ----------------------------------------------------------
rm -rf "$reports" && mkdir -p "$reports"
supp=$root/scripts/sanitize-$kind.supp
symbolizer=$(command -v llvm-symbolizer || true)
common="log_path=$reports/report:print_stacktrace=1${symbolizer:+:external_symbolizer_path=$symbolizer}"
if [[ $kind == asan ]]; then
  export ASAN_OPTIONS="$common:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
  [[ -f $supp ]] && export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0"
  export UBSAN_OPTIONS="$common:halt_on_error=1"
  # libstdc++ too: Unbound is C, so when the ASan runtime starts libstdc++ is
  # not loaded yet and ASan's __cxa_throw interceptor would find no real
  # __cxa_throw (CHECK failed at the module's first exception).
  runtime="$(gcc -print-file-name=libasan.so):$(g++ -print-file-name=libstdc++.so.6)"
  threads=${SANITIZE_THREADS:-}
else
  export TSAN_OPTIONS="$common:halt_on_error=0:second_deadlock_stack=1"
  [[ -f $supp ]] && TSAN_OPTIONS+=":suppressions=$supp"
  runtime=""
  threads=${SANITIZE_THREADS:-2}
fi

# Unbound as the e2e tests start it (FLUXGUARD_UNBOUND), through a wrapper:
# the sanitizer runtime goes into Unbound only (not into Python), and where
# the configuration fluxtest.py wrote says num-threads 1 (its default), it
# gets $threads (tsan: 2, so that two workers share the engine).
wrapper=$root/$out/unbound
cat > "$wrapper" <<WRAP
#!/bin/sh
# Written by scripts/sanitize.sh: $unbound with ${runtime:-its own TSan runtime}
# and num-threads ${threads:-as configured} in the configuration it is given (-c FILE).
conf=""
prev=""
for arg in "\$@"; do
  [ "\$prev" = "-c" ] && conf=\$arg
  prev=\$arg
done
if [ -n "$threads" ] && [ -n "\$conf" ] && [ -f "\$conf" ]; then
  sed -i 's/^\([[:space:]]*num-threads:\)[[:space:]]*1[[:space:]]*\$/\1 $threads/' "\$conf"
fi
${runtime:+LD_PRELOAD=$runtime${LD_PRELOAD:+:$LD_PRELOAD} }exec "$unbound" "\$@"
WRAP
chmod +x "$wrapper"

failed=0
# --- unit tests ---------------------------------------------------------------
echo "sanitize: unit tests"
if ! "$out/tests/unit_tests" --reporter compact >"$out/unit_tests.log" 2>&1; then
  echo "sanitize: unit tests FAILED (log $out/unit_tests.log)" >&2
  tail -20 "$out/unit_tests.log" >&2
  failed=1
else
  grep -E "^(Passed|All tests)" "$out/unit_tests.log" | sed 's/^/  /' || true
fi

# --- end-to-end tests ---------------------------------------------------------
if [[ ${SANITIZE_E2E:-1} != 0 ]]; then
  export FLUXGUARD_MODULE=$root/$out/module/libfluxguard.so
  export FLUXGUARD_UNBOUND=$wrapper
  export FLUXGUARD_FIXTURES=$root/$out/tests/fixtures
  export FLUXGUARD_FLUXCTL=$root/$out/cli/fluxctl
  export PYTHONDONTWRITEBYTECODE=1
  mapfile -t e2e < <(cd tests/e2e && ls test_*.py | sed 's/\.py$//')
  echo "sanitize: e2e tests (${e2e[*]}), Unbound num-threads ${threads:-as the tests set it}"
  # Two at a time, as ctest -j2 runs them; each in its own log.
  printf '%s\n' "${e2e[@]}" | xargs -P "$(nproc)" -I{} sh -c \
    'cd tests/e2e && /usr/bin/python3 -m unittest {} > "$0/{}.log" 2>&1 \
       && echo "  {}: ok" || { echo "  {}: FAILED (log $0/{}.log)"; exit 1; }' "$root/$out" \
    || failed=1
fi

# --- concurrency stress ---------------------------------------------------------
# The e2e tests ask one question at a time. Here 8 client threads ask at once
# (flux names until flux.test is blocked, its CNAME alias, double-flux, CDN and
# static names), so that Unbound's worker threads score, look up, block and
# purge the cache concurrently while the sanitizer watches.
if [[ ${SANITIZE_E2E:-1} != 0 ]]; then
  echo "sanitize: concurrent queries against Unbound with num-threads ${threads:-2}"
  if ! /usr/bin/python3 - "${threads:-2}" >"$root/$out/stress.log" 2>&1 <<'PY'
import os, sys, threading, time
from pathlib import Path
sys.path.insert(0, "tests/e2e")
from fluxtest import FluxTestEnv, query
import dns.rcode

threads = int(sys.argv[1])
fixtures = Path(os.environ["FLUXGUARD_FIXTURES"])
env = FluxTestEnv(os.environ["FLUXGUARD_UNBOUND"], module_path=os.environ["FLUXGUARD_MODULE"],
                  num_threads=threads)
conf = env.workdir / "fluxguard.conf"
conf.write_text("policy: nxdomain\nasn-database: %s\ncountry-database: %s\n"
                % (fixtures / "test-asn.mmdb", fixtures / "test-country.mmdb"))
env.unbound_args["env"] = {"FLUXGUARD_CONF": str(conf)}
counts, lock = {}, threading.Lock()

def client(tid, port, deadline):
    i = 0
    while time.monotonic() < deadline:
        for name, qtype in (("s%d-%d.flux.test" % (tid, i), "A"), ("www.alias.test", "A"),
                            ("s%d-%d.flux.test" % (tid, i), "AAAA"),
                            ("d%d-%d.dflux.test" % (tid, i), "A"),
                            ("c%d-%d.cdn.test" % (tid, i), "A"), ("www.static.test", "A")):
            try:
                r = dns.rcode.to_text(query(name, qtype, port, timeout=5).rcode())
            except Exception as e:
                r = type(e).__name__
            key = (name.split(".", 1)[1], r)
            with lock:
                counts[key] = counts.get(key, 0) + 1
        i += 1

with env:
    deadline = time.monotonic() + 15
    workers = [threading.Thread(target=client, args=(t, env.unbound.port, deadline))
               for t in range(8)]
    for w in workers: w.start()
    for w in workers: w.join()
    for key in sorted(counts): print("%-18s %-9s %d" % (key[0], key[1], counts[key]))
    assert counts.get(("flux.test", "NXDOMAIN"), 0) > 0, "flux.test was never blocked"
    for zone in ("cdn.test", "static.test"):
        assert not counts.get((zone, "NXDOMAIN")), zone + " was blocked"
    assert env.unbound.proc.poll() is None, "Unbound died"
print("stress: ok")
PY
  then
    echo "sanitize: concurrency stress FAILED (log $out/stress.log)" >&2
    tail -30 "$root/$out/stress.log" >&2
    failed=1
  else
    sed 's/^/  /' "$root/$out/stress.log"
  fi
fi

# --- reports ------------------------------------------------------------------
shopt -s nullglob
found=("$reports"/*)
if [[ ${#found[@]} -gt 0 ]]; then
  failed=1
  echo "sanitize: ${#found[@]} sanitizer report(s) in $reports:" >&2
  for f in "${found[@]}"; do
    echo "--- $f" >&2
    grep -E "^(WARNING|ERROR|SUMMARY|[^ ]*runtime error)|^ +#[0-9]+ " "$f" | head -25 >&2
  done
fi
if [[ $failed -ne 0 ]]; then
  echo "sanitize: $kind FAILED ($((SECONDS - start)) s)" >&2
  exit 1
fi
echo "sanitize: $kind clean: unit tests, e2e tests, no reports ($((SECONDS - start)) s)"
