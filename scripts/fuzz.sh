#!/usr/bin/env bash
# libFuzzer runs of the fuzz targets (tests/fuzz) under AddressSanitizer + UBSan.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]   default 600 s, every target
#   FUZZ_JOBS=2 bash scripts/fuzz.sh ...                      two targets at a time
#
# Builds build-sanitize/ with Debian's clang (installs clang, libfuzzer-14-dev if missing), then
# runs each target on a working copy of its committed corpus (build-sanitize/corpus/<target>),
# and prints one line per target: seconds, executions, corpus size, and the crash files
# (build-sanitize/crashes/<target>/) if any. Exit 1 if any target crashed. New corpus entries
# stay in build-sanitize/corpus; `merge` them into tests/fuzz/corpus by hand when they are worth
# committing (libFuzzer -merge=1 keeps only the ones that add coverage).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true

bash scripts/sanitize.sh --configure
source scripts/sanitizer_options.sh
cmake --build build-sanitize --target edge_fuzz -j"$(nproc)"

targets=("$@")
[ "${#targets[@]}" -gt 0 ] || mapfile -t targets < <(ls tests/fuzz/corpus)
jobs="${FUZZ_JOBS:-1}"  # targets fuzzed at once (one core each)

# One target's run; its summary line goes to build-sanitize/fuzz-<target>.summary.
fuzz_one() {
  local t=$1 work=build-sanitize/corpus/$1 crashes=build-sanitize/crashes/$1 log=build-sanitize/fuzz-$1.log rc
  mkdir -p "$work" "$crashes"
  cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  # Extra read-only seeds: python3-scipy's .mat test files (MATLAB-written v4/v5/v7, both byte
  # orders, cells, structs, sparse, compressed) where installed.
  local seeds=()
  local scipy_mat=/usr/lib/python3/dist-packages/scipy/io/matlab/tests/data
  if [ "$t" = mat ] && [ -d "$scipy_mat" ]; then seeds+=("$scipy_mat"); fi
  local start=$SECONDS
  set +e
  EDGE_FUZZ_TARGET=$t build-sanitize/tests/edge_fuzz "$work" "${seeds[@]}" -max_total_time="$seconds" -timeout=30 \
    -rss_limit_mb=4096 -artifact_prefix="$crashes/" -print_final_stats=1 > "$log" 2>&1
  rc=$?
  set -e
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz $t: $((SECONDS - start)) s, $execs executions, corpus $(ls "$work" | wc -l) files, rc $rc," \
       "crash files $(ls "$crashes" | wc -l)" > "build-sanitize/fuzz-$t.summary"
}

for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
  fuzz_one "$t" &
done
wait
failed=0
for t in "${targets[@]}"; do
  cat "build-sanitize/fuzz-$t.summary"
  if ! grep -q "rc 0, crash files 0" "build-sanitize/fuzz-$t.summary"; then failed=1; tail -30 "build-sanitize/fuzz-$t.log"; fi
done
exit "$failed"
