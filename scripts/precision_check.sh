#!/usr/bin/env bash
# Quality check of the fast arithmetic paths against fp32: trains `--score joint` (EDGE) and
# `--score normal` (BCE) with the demo settings for several seeds in each mode, evaluates
# each run with JointEnergy, and prints the mean +- sample standard deviation over seeds of
# every demo-table entry (FPR95 per OOD set and mean, tail-only FPR95 j=2/4, ID mAP, mean
# AUROC) per mode. A fast mode may become the default only if every entry stays within the
# fp32 seed-to-seed spread. Runs already evaluated are kept, so the script is rerunnable;
# each training and evaluation takes the shared CPU lock (/tmp/edge-cpu.lock) on its own.
#   bash scripts/precision_check.sh [OUT_DIR] [train flags...]
# Environment: EDGE_BIN (default build/edge), SEEDS (default "2024 2025 2026"),
#   MODES (default "fp32 bf16"; a mode is PRECISION or PRECISION+cl for --channels_last),
#   SCORES (default "joint normal").
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/precision}"; shift || true
bin="${EDGE_BIN:-build/edge}"
seeds=(${SEEDS:-2024 2025 2026})
modes=(${MODES:-fp32 bf16})
scores=(${SCORES:-joint normal})
lock=/tmp/edge-cpu.lock
mkdir -p "$out"
for score in "${scores[@]}"; do
  for seed in "${seeds[@]}"; do
    for mode in "${modes[@]}"; do
      prec="${mode%+cl}"; cl=false; [ "$mode" != "$prec" ] && cl=true
      run="$out/$score/$mode/seed$seed"
      if [ ! -f "$run/eval/eval.json" ]; then
        rm -rf "$run"
        flock "$lock" "$bin" train --score "$score" --n_epoch 12 --start_epoch 6 --k 32 --m 1 --seed "$seed" \
          --precision "$prec" --channels_last "$cl" --out "$run" "$@" | tail -1
        flock "$lock" "$bin" eval --checkpoint "$run" > /dev/null
      fi
    done
  done
done
/usr/bin/env python3 - "$out" <<'PY'
import glob, json, os, statistics, sys
out = sys.argv[1]
def entries(path):
    r = json.load(open(path))
    rows = {row["ood_set"]: row for row in r["rows"]}
    tail = {t["j"]: t["rows"][-1] for t in r["head_tail"]}
    e = {f"FPR95 {s}": rows[s]["fpr95"] for s in ["bag", "textures", "noise", "mean"]}
    e["FPR95 tail j=2"] = tail[2]["fpr95"]
    e["FPR95 tail j=4"] = tail[4]["fpr95"]
    e["AUROC mean"] = rows["mean"]["auroc"]
    e["ID mAP"] = r["id_map"]
    return e
def stat(v):
    v = [100 * x for x in v]
    sd = statistics.stdev(v) if len(v) > 1 else float("nan")
    return statistics.mean(v), sd
for score in sorted(os.listdir(out)):
    sdir = os.path.join(out, score)
    if not os.path.isdir(sdir): continue
    modes = sorted(m for m in os.listdir(sdir) if glob.glob(f"{sdir}/{m}/seed*/eval/eval.json"))
    if not modes: continue
    per = {m: [entries(p) for p in sorted(glob.glob(f"{sdir}/{m}/seed*/eval/eval.json"))] for m in modes}
    keys = list(per[modes[0]][0].keys())
    print(f"\n--score {score}: mean +- sd over seeds (n = " + ", ".join(f"{m}: {len(per[m])}" for m in modes)
          + "), metrics in %")
    ref = "fp32" if "fp32" in modes else modes[0]
    print("| entry | " + " | ".join(modes) + " | " + " | ".join(f"{m} - {ref} (in fp32 sd)" for m in modes if m != ref) + " |")
    print("|---" * (1 + len(modes) + len(modes) - 1) + "|")
    for k in keys:
        cells, means = [], {}
        for m in modes:
            mu, sd = stat([e[k] for e in per[m]])
            means[m] = mu
            cells.append(f"{mu:.2f} +- {sd:.2f}")
        rmu, rsd = stat([e[k] for e in per[ref]])
        diffs = [f"{means[m] - rmu:+.2f} ({(means[m] - rmu) / rsd:+.1f})" if rsd > 0 else f"{means[m] - rmu:+.2f}"
                 for m in modes if m != ref]
        print(f"| {k} | " + " | ".join(cells) + " | " + " | ".join(diffs) + " |")
PY
