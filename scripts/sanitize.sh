#!/usr/bin/env bash
# The unit suite and the fuzz corpora under AddressSanitizer + UndefinedBehaviorSanitizer.
#
#   bash scripts/sanitize.sh              build build-sanitize/ with clang, run `ctest -L unit`
#   bash scripts/sanitize.sh --configure  only configure build-sanitize/ (scripts/fuzz.sh uses it)
#
# clang (Debian's, installed if missing) builds the project with -fsanitize=address,undefined
# and libFuzzer's coverage hooks (-fsanitize=fuzzer-no-link, inert outside edge_fuzz), so the
# same build serves the sanitized suite and the fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
for p in clang libfuzzer-14-dev libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$p"
done
flags="-fsanitize=address,undefined -fsanitize=fuzzer-no-link -fno-omit-frame-pointer -g -O1"
cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DEDGE_FUZZ=ON -DEDGE_BUILD_BENCH=OFF >/dev/null
[ "${1:-}" = --configure ] && exit 0

source scripts/sanitizer_options.sh
cmake --build build-sanitize --target edge_unit_tests edge_fuzz_replay edge -j"$(nproc)"
ctest --test-dir build-sanitize -L unit -j"$(nproc)" --timeout 1200 --output-on-failure
