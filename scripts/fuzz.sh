#!/usr/bin/env bash
# libFuzzer runs of fluxguard's parsers of outside data (fuzz/README.md).
#
#   scripts/fuzz.sh [target ...]          build, replay fuzz/regressions/<target>/,
#                                         then fuzz each target FUZZ_SECONDS (60)
#   scripts/fuzz.sh minimize TARGET FILE [NAME]
#                                         minimise a crash into fuzz/regressions/TARGET/NAME
#
# Targets: fuzz_dns_name fuzz_observation fuzz_config fuzz_trace fuzz_feed fuzz_sniff
# fuzz_fleet_event (default: all).
# Built with clang -fsanitize=fuzzer,address,undefined into build/fuzz; the
# corpus grows in build/fuzz/corpus/<target> (seeds: fuzz/corpus/<target>),
# crashes land in build/fuzz/artifacts/<target>/. Exit status 1 when a
# regression input or the fuzzing run crashed.
#
# fuzz/known-bugs.txt lists regressions of bugs reported but not fixed yet:
# their replay must still crash (once one stops crashing the run fails, so
# that the entry is removed), and their UBSan check is suppressed while
# fuzzing, so that CI does not stumble on the same open bug again.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=build/fuzz
seconds=${FUZZ_SECONDS:-60}
all_targets=(fuzz_dns_name fuzz_observation fuzz_config fuzz_trace fuzz_feed fuzz_sniff
             fuzz_fleet_event)

if ! command -v clang++ >/dev/null || [[ ! -d /usr/lib/llvm-14/lib/clang ]] ||
   ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  scripts/install-deps.sh
fi

build() {
  # Configured every time (quick when cached): a configure that failed
  # half-way leaves a cache but no build files.
  cmake -S fuzz -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  if ! cmake --build "$out" -j"$(nproc)" -- --no-print-directory >"$out/build.log" 2>&1; then
    grep -E "error|Error" "$out/build.log" | head -30 >&2
    echo "fuzz: build failed, log $out/build.log" >&2
    exit 1
  fi
}

# Every sanitizer report is fatal; UBSan (recoverable at compile time) too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
# (fuzz/sanitizer_options.cpp makes UBSan reports fatal in the targets themselves)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# Open bugs: "target/file  ubsan-check:source-file|-  description".
declare -A known=()
supp=$out/known-bugs.supp
mkdir -p "$out" && : > "$supp"
if [[ -f fuzz/known-bugs.txt ]]; then
  while read -r entry check _; do
    [[ -z $entry || $entry == \#* ]] && continue
    known[$entry]=1
    [[ $check != - ]] && echo "$check" >> "$supp"
  done < fuzz/known-bugs.txt
fi
symbolizer=$(command -v llvm-symbolizer || echo /usr/lib/llvm-14/bin/llvm-symbolizer)
export ASAN_SYMBOLIZER_PATH=$symbolizer UBSAN_SYMBOLIZER_PATH=$symbolizer

max_len() {
  case $1 in
    fuzz_dns_name) echo 512 ;;
    fuzz_sniff) echo 8192 ;;  # the sinkhole's max-sniff-bytes default
    *) echo 4096 ;;
  esac
}

dict_args() {
  local d=fuzz/dict/${1#fuzz_}.dict
  [[ -f $d ]] && echo "-dict=$d"
  return 0
}

if [[ ${1:-} == minimize ]]; then
  [[ $# -ge 3 ]] || { echo "usage: $0 minimize TARGET CRASH-FILE [NAME]" >&2; exit 2; }
  target=$2 crash=$3
  build
  mkdir -p "fuzz/regressions/$target"
  dest="fuzz/regressions/$target/${4:-$(basename "$crash")}"
  "$out/$target" -minimize_crash=1 -max_total_time=60 -exact_artifact_path="$dest" "$crash" || true
  [[ -f $dest ]] || cp "$crash" "$dest"
  echo "fuzz: minimised into $dest ($(stat -c %s "$dest") bytes); it is replayed before every run"
  exit 0
fi

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
echo "fuzz: building ${targets[*]} (clang, libFuzzer + ASan + UBSan) in $out"
build

status=0
summary=()
for t in "${targets[@]}"; do
  bin=$out/$t
  [[ -x $bin ]] || { echo "fuzz: no target $t" >&2; exit 2; }
  log=$out/$t.log
  # 1. Regressions first: every input that once crashed must not crash now.
  regressions=()
  if [[ -d fuzz/regressions/$t ]]; then
    while IFS= read -r -d '' f; do regressions+=("$f"); done \
      < <(find "fuzz/regressions/$t" -type f ! -name '*.md' -print0 | sort -z)
  fi
  replay="none"
  if [[ ${#regressions[@]} -gt 0 ]]; then
    fixed=0 open=0 bad=0
    : > "$out/$t.replay.log"
    for f in "${regressions[@]}"; do
      id=$t/$(basename "$f")
      if "$bin" "$f" >>"$out/$t.replay.log" 2>&1; then
        if [[ -n ${known[$id]:-} ]]; then
          fixed=$((fixed + 1))
          echo "fuzz: $id no longer crashes: the bug is fixed, remove it from fuzz/known-bugs.txt" >&2
        fi
      elif [[ -n ${known[$id]:-} ]]; then
        open=$((open + 1))
        echo "fuzz: $id: known open bug, still crashes (fuzz/known-bugs.txt)"
      else
        bad=$((bad + 1))
        echo "fuzz: $id crashes again:" >&2
        grep -E "ERROR|runtime error|SUMMARY|terminate|fuzz_[a-z_]+:" "$out/$t.replay.log" | tail -5 >&2
      fi
    done
    replay="${#regressions[@]} replayed"
    [[ $open -gt 0 ]] && replay+=", $open known open"
    if [[ $fixed -gt 0 || $bad -gt 0 ]]; then
      replay+=", $bad FAILED, $fixed fixed-but-listed"
      status=1
    fi
  fi
  # 2. Fuzz.
  mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
  echo "fuzz: $t for ${seconds}s (regressions: $replay)"
  result=ok
  # shellcheck disable=SC2046
  if ! UBSAN_OPTIONS="$UBSAN_OPTIONS:suppressions=$root/$supp" "$bin" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 $(dict_args "$t") \
      -artifact_prefix="$out/artifacts/$t/" "$out/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    result=CRASH
    status=1
    artifact=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | cut -d' ' -f5)
    echo "fuzz: $t crashed; log $log, input ${artifact:-?}" >&2
    grep -E "ERROR|runtime error|SUMMARY|terminate|fuzz_[a-z_]+:" "$log" | head -20 >&2
    echo "fuzz: minimise it into a regression: $0 minimize $t ${artifact:-CRASH-FILE}" >&2
  fi
  runs=$(awk '/stat::number_of_executed_units/ {v = $2} END {print v}' "$log")
  speed=$(awk '/stat::average_exec_per_sec/ {v = $2} END {print v}' "$log")
  cov=$(grep -oE "cov: [0-9]+ ft: [0-9]+ corp: [0-9]+" "$log" | tail -1)
  summary+=("$(printf '| %s | %s | %s | %s | %s | %s |' "$t" "$seconds" "${runs:-?}" \
    "${speed:-?}" "${cov:-?}" "$result, regressions $replay")")
done

echo
echo "| target | seconds | executions | exec/s | coverage (edges, features, corpus) | result |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${summary[@]}"
exit $status
