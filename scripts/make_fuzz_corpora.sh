#!/usr/bin/env bash
# Seed corpora of the fuzz targets (tests/fuzz), written into tests/fuzz/corpus/<target>/:
# small well-formed inputs from the test fixtures, a few made here with Debian's python3
# (Pillow, torch) and a tiny run of build/edge (checkpoint, config.json, calibration.json),
# plus a few damaged ones. Rerun after changing a format; libFuzzer grows the corpora from
# these (scripts/fuzz.sh), and the suite replays whatever is committed. What libFuzzer wrote
# there is kept: its findings (crash-*, oom-*, timeout-*, which tests read by name) and the
# inputs merged from fuzzing runs (named by their SHA-1); only the seeds made here are redone.
set -euo pipefail
cd "$(dirname "$0")/.."
fx=tests/fixtures/datasets
out=tests/fuzz/corpus
py=/usr/bin/python3
[ -x build/edge ] || { echo "make_fuzz_corpora: build/edge not built (bash scripts/setup.sh build)" >&2; exit 1; }
mkdir -p "$out"
find "$out" -regextype posix-extended -type f ! -name 'crash-*' ! -name 'oom-*' ! -name 'timeout-*' \
  ! -regex '.*/[0-9a-f]{40}' -delete
seed() { mkdir -p "$out/$1"; cp "$2" "$out/$1/${3:-$(basename "$2")}"; }

# Images: PNG (gray, RGB, RGBA, palette), JPEG (baseline, progressive, gray), BMP, and the
# fixtures' damaged files.
mkdir -p "$out/image"
"$py" - "$out/image" <<'PY'
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
a = (np.arange(12 * 10 * 3) * 37 % 256).astype(np.uint8).reshape(12, 10, 3)
Image.fromarray(a).save(f"{d}/rgb.png")
Image.fromarray(a[:, :, 0]).save(f"{d}/gray.png")
Image.fromarray(np.dstack([a, a[:, :, :1]])).save(f"{d}/rgba.png")
Image.fromarray(a).convert("P").save(f"{d}/palette.png")
Image.fromarray(a).save(f"{d}/baseline.jpg", quality=90)
Image.fromarray(a).save(f"{d}/progressive.jpg", quality=75, progressive=True)
Image.fromarray(a[:, :, 0]).save(f"{d}/gray.jpg")
Image.fromarray(a).save(f"{d}/rgb.bmp")
PY
for f in "$fx"/corrupt/*; do seed image "$f"; done
mkdir -p "$out/image_file" && cp "$out"/image/* "$out/image_file/"

# Lists of the labelled datasets.
for f in "$fx"/manifest/train.csv "$fx"/manifest/val.tsv "$fx"/manifest/test.csv; do seed manifest "$f"; done
seed manifest "$fx/manifest_bad/train.csv" bad.csv
for f in "$fx"/coco/annotations/*.json; do seed coco "$f"; done
for f in "$fx"/voc/VOCdevkit/VOC2012/Annotations/*.xml; do seed voc_xml "$f"; done
for f in "$fx"/voc/VOCdevkit/VOC2012/ImageSets/Main/*.txt; do seed voc_list "$f"; done
mkdir -p "$out/nus_wide"
for part in train test; do
  { cat "$fx/nus-wide/nus_wide_${part}_imglist.txt"; printf '\0'; cat "$fx/nus-wide/nus_wide_${part}_label.txt"; } \
    > "$out/nus_wide/$part"
done

# Binary tensor files.
seed idx "$fx/MNIST/t10k-images-idx3-ubyte.gz"
seed idx "$fx/MNIST/raw/train-images-idx3-ubyte"
for f in "$fx"/pascal/*.mat "$fx"/svhn/*.mat; do seed mat "$f"; done
mkdir -p "$out/torch_file"
"$py" - "$out/torch_file" <<'PY'
import sys, collections, torch
d = sys.argv[1]
sd = collections.OrderedDict(w=torch.arange(6.).reshape(2, 3), b=torch.zeros(2), n=torch.tensor(3))
torch.save(sd, f"{d}/zip.pth")
torch.save(sd, f"{d}/legacy.pth", _use_new_zipfile_serialization=False)
torch.save({"state_dict": sd, "epoch": 1}, f"{d}/nested.pth")
torch.save(collections.OrderedDict(h=torch.ones(2, 2, dtype=torch.float16), i=torch.arange(3)), f"{d}/dtypes.pth")
PY

# A tiny run's files.
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
build/edge train --id_train 32 --id_val 16 --id_test 16 --oe_train 32 --ood_test 16 --n_epoch 1 --start_epoch 0 \
  --width 4 --blocks 1 --batch_size 16 --oe_batch_size 16 --k 8 --precision fp32 --out "$run/r" > /dev/null
build/edge calibrate --checkpoint "$run/r" > /dev/null
seed checkpoint "$run/r/checkpoints/last.ckpt"
seed run_config "$run/r/config.json"
seed calibration "$run/r/calibration.json"
mkdir -p "$out/config_flags"
cp "$run/r/config.json" "$out/config_flags/run_config.json"
printf '{"score": "joint", "alpha": 0.5, "n_epoch": 2, "ood_data": ["bag", "noise"]}\n' > "$out/config_flags/flags.json"
printf 'score = "normal"\nn_epoch = 3\nl_rate = 0.05\n[data]\nid_train = 64\n' > "$out/config_flags/flags.toml"
echo "make_fuzz_corpora: $(find "$out" -type f | wc -l) files in $(ls "$out" | wc -l) corpora under $out"
