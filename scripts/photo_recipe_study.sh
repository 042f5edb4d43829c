#!/usr/bin/env bash
# The EDGE recipe study of RESULTS.md: on cifar-lt with the ImageNet-pretrained mobilenet_v2
# (the photo benchmark's sizes, data seed and schedule), train BCE and EDGE with the default
# recipe and EDGE with one change at a time, then print one Markdown table of JointEnergy
# figures (mean ± sd over the seeds each variant has). Finished runs are reused, so a rerun
# only evaluates; every run is fp32 channels-last, as on the AVX2 CPU of RESULTS.md.
#
#   bash scripts/photo_recipe_study.sh [OUT_DIR [SEEDS_FOR_ALL [EXTRA_SEED_VARIANTS]]]
#     OUT_DIR              runs and study.md (default runs/recipe_study)
#     SEEDS_FOR_ALL        training seeds every variant gets (default "2024")
#     EXTRA_SEED_VARIANTS  "variant:seed,seed ..." further seeds for chosen variants
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/recipe_study}"
seeds_all="${2:-2024}"
extra="${3:-}"
weights=../shared/weights/mobilenet_v2_imagenet.pth
edge=build/edge
[ -x "$edge" ] || { echo "photo_recipe_study: $edge not built (bash scripts/setup.sh build)" >&2; exit 1; }
[ -f "$weights" ] || { echo "photo_recipe_study: $weights not found (the pretrained backbone)" >&2; exit 1; }
py=/usr/bin/python3

base=(--dataset cifar-lt --id_train 3000 --id_val 500 --id_test 2000 --oe_train 3000 --ood_test 1000
      --data_seed 0 --arch mobilenet_v2 --pretrained "$weights" --n_epoch 4 --start_epoch 2 --l_rate 0.05
      --precision fp32 --channels_last true)
# variant name -> the flags that differ from the default recipe (beta 0.1, alpha 1, k 32, m 1, tau 2)
declare -A flags=(
  [bce]="--score normal"
  [edge]="--score joint"
  [edge_alpha0.5]="--score joint --alpha 0.5"
  [edge_alpha0.25]="--score joint --alpha 0.25"
  [edge_beta1]="--score joint --energy_beta 1.0"
  [edge_tau0]="--score joint --start_epoch 0"
  [edge_freeze_bn]="--score joint --freeze_bn"
  [edge_m5]="--score joint --m 5"
  [edge_k128]="--score joint --k 128"
)
order=(bce edge edge_alpha0.5 edge_alpha0.25 edge_beta1 edge_tau0 edge_freeze_bn edge_m5 edge_k128)

declare -A seeds
for v in "${order[@]}"; do seeds[$v]="$seeds_all"; done
for item in $extra; do
  v="${item%%:*}"
  [ -n "${flags[$v]:-}" ] || { echo "photo_recipe_study: unknown variant '$v' (have: ${order[*]})" >&2; exit 2; }
  seeds[$v]="${seeds[$v]} ${item#*:}"
  seeds[$v]="${seeds[$v]//,/ }"
done

mkdir -p "$out"
for v in "${order[@]}"; do
  for s in ${seeds[$v]}; do
    dir="$out/$v/seed$s"
    if [ ! -f "$dir/model.pt" ]; then
      echo "== training $v seed $s"
      rm -rf "$dir"
      start=$(date +%s)
      # shellcheck disable=SC2086
      "$edge" train "${base[@]}" ${flags[$v]} --seed "$s" --out "$dir" > "$out/$v.seed$s.log" 2>&1 ||
        { echo "photo_recipe_study: training $v seed $s failed (see $out/$v.seed$s.log)" >&2; exit 1; }
      echo "   $(( $(date +%s) - start )) s"
    fi
    if [ ! -f "$dir/eval/eval.json" ]; then
      "$edge" eval --checkpoint "$dir" --score_fn energy_sum --out "$dir/eval" > "$out/$v.seed$s.eval.log" 2>&1 ||
        { echo "photo_recipe_study: evaluating $v seed $s failed (see $out/$v.seed$s.eval.log)" >&2; exit 1; }
    fi
  done
done

# One row per variant: mean ± sd over its seeds of the JointEnergy figures.
"$py" - "$out" "${order[@]}" <<'EOF' | tee "$out/study.md"
import glob, json, statistics, sys
out, variants = sys.argv[1], sys.argv[2:]
def figures(path):
    r = json.load(open(path))["reports"][0]
    f = {row["ood_set"] + " FPR95": 100 * row["fpr95"] for row in r["rows"]}  # per set, then "mean"
    f["mean AUROC"] = 100 * r["rows"][-1]["auroc"]
    for t in r["head_tail"]:
        if t["j"] in (2, 4): f[f"tail j={t['j']} FPR95"] = 100 * t["rows"][-1]["fpr95"]
    f["mAP"] = 100 * r["id_map"]
    f["AP"] = 100 * r["id_map_average_precision"]  # not fooled by tied scores, as the trapezoid is
    return f
runs = {v: [figures(p) for p in sorted(glob.glob(f"{out}/{v}/seed*/eval/eval.json"))] for v in variants}
cols = list(runs["edge"][0].keys())
print("| variant | seeds | " + " | ".join(cols) + " |")
print("|---|---|" + "---|" * len(cols))
for v in variants:
    rs = runs[v]
    cells = []
    for c in cols:
        xs = [r[c] for r in rs if c in r]
        sd = statistics.stdev(xs) if len(xs) > 1 else float("nan")
        cells.append(f"{statistics.mean(xs):.2f}" + ("" if len(xs) < 2 else f" ± {sd:.2f}"))
    print(f"| {v} | {len(rs)} | " + " | ".join(cells) + " |")
EOF
