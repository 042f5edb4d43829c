#!/usr/bin/env bash
# Trains every training mode on fashion-lt with the same epochs and seed, evaluates each
# with JointEnergy, and prints one Markdown table (FPR95/AUROC/AUPR per OOD set and mean,
# tail-only FPR95 for j = 2 and 4, ID mAP). Extra arguments go to every `edge train`.
#   bash scripts/compare_modes.sh [OUT_DIR] [train flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/modes}"; shift || true
modes=(normal joint OEML energyML OE energy OECC)
mkdir -p "$out"
for m in "${modes[@]}"; do
  if [ ! -f "$out/$m/eval/eval.json" ]; then
    rm -rf "$out/$m"
    ./build/edge train --score "$m" --out "$out/$m" "$@" | tail -1
    ./build/edge eval --checkpoint "$out/$m" > /dev/null
  fi
done
/usr/bin/env python3 - "$out" "${modes[@]}" <<'PY'
import json, sys
out, modes = sys.argv[1], sys.argv[2:]
pct = lambda v: "-" if v is None else f"{100 * v:.2f}"
print("| mode | " + " | ".join(f"{s} FPR95/AUROC/AUPR" for s in ["bag", "textures", "noise", "mean"])
      + " | tail j=2 FPR95 | tail j=4 FPR95 | ID mAP |")
print("|---" * 8 + "|")
for m in modes:
    r = json.load(open(f"{out}/{m}/eval/eval.json"))
    rows = {row["ood_set"]: row for row in r["rows"]}
    tail = {t["j"]: t["rows"][-1] for t in r["head_tail"]}
    cells = [f"{pct(rows[s]['fpr95'])} / {pct(rows[s]['auroc'])} / {pct(rows[s]['aupr_in'])}"
             for s in ["bag", "textures", "noise", "mean"]]
    print(f"| {m} | " + " | ".join(cells) + f" | {pct(tail[2]['fpr95'])} | {pct(tail[4]['fpr95'])} | {pct(r['id_map'])} |")
PY
