#!/usr/bin/python3
"""Generate tests/fixtures/metrics_golden.json: OOD and multi-label metrics from scikit-learn.

Run with Debian's python3 (numpy + scikit-learn):
    /usr/bin/python3 scripts/make_metric_goldens.py [output.json]

Conventions (mirroring include/edge/metrics/*.h):
  * ID samples are the positive class (label 1); higher score = more in-distribution.
  * auroc    = roc_auc_score(is_id, s)
  * aupr_in  = average_precision_score(is_id, s)
  * aupr_out = average_precision_score(is_ood, -s)
  * fpr_nearest: EDGE's fpr_and_fdr_at_recall rule, re-implemented here in numpy.
  * fpr_ood_positive: OpenOOD's rule, roc_curve(is_ood, -s) then argmax(tpr >= level);
    the threshold is reported in the original score space (-thr).
  * Multi-label: per-class auc(recall, precision) over precision_recall_curve (trapezoid) and
    per-class average_precision_score; classes without a positive are skipped (null).
All randomness uses a fixed seed, so the output is deterministic.
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import (auc, average_precision_score, precision_recall_curve,
                             roc_auc_score, roc_curve)

LEVELS = [0.5, 0.8, 0.9, 0.95, 0.99, 1.0]


def nearest_rule(id_scores, ood_scores, level):
    """EDGE reference FPR at recall `level`, ID positive, nearest point, no interpolation."""
    scores = np.concatenate([id_scores, ood_scores]).astype(np.float64)
    labels = np.concatenate([np.ones(len(id_scores)), np.zeros(len(ood_scores))])
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    # Last index of each run of tied values.
    last_of_run = np.r_[np.nonzero(np.diff(scores))[0], scores.size - 1]
    tps = np.cumsum(labels)[last_of_run]
    fps = last_of_run + 1 - tps
    recall = tps / tps[-1]
    first_full = int(np.searchsorted(tps, tps[-1]))  # first index where tps is final
    idx = np.arange(first_full, -1, -1)               # decreasing recall
    dist = np.abs(recall[idx] - level)
    pick = idx[int(np.argmin(dist))]                  # first minimum -> higher recall wins
    return {"level": level, "fpr": float(fps[pick] / len(ood_scores)),
            "threshold": float(scores[last_of_run[pick]])}


def ood_positive_rule(id_scores, ood_scores, level, drop_intermediate):
    s = np.concatenate([id_scores, ood_scores]).astype(np.float64)
    is_ood = np.concatenate([np.zeros(len(id_scores)), np.ones(len(ood_scores))])
    fpr, tpr, thr = roc_curve(is_ood, -s, drop_intermediate=drop_intermediate)
    i = int(np.argmax(tpr >= level))
    return {"level": level, "fpr": float(fpr[i]), "threshold": float(-thr[i])}


def ood_case(name, id_scores, ood_scores):
    id_scores = np.asarray(id_scores, dtype=np.float64)
    ood_scores = np.asarray(ood_scores, dtype=np.float64)
    s = np.concatenate([id_scores, ood_scores])
    is_id = np.concatenate([np.ones(len(id_scores)), np.zeros(len(ood_scores))])
    return {
        "name": name,
        "id": [float(x) for x in id_scores],
        "ood": [float(x) for x in ood_scores],
        "auroc": float(roc_auc_score(is_id, s)),
        "aupr_in": float(average_precision_score(is_id, s)),
        "aupr_out": float(average_precision_score(1 - is_id, -s)),
        "fpr_nearest": [nearest_rule(id_scores, ood_scores, lv) for lv in LEVELS],
        "fpr_ood_positive": [ood_positive_rule(id_scores, ood_scores, lv, True)
                             for lv in LEVELS],
        "fpr_ood_positive_all_points": [ood_positive_rule(id_scores, ood_scores, lv, False)
                                        for lv in LEVELS],
    }


def multilabel_case(name, scores, labels):
    scores = np.asarray(scores, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.float32)
    n, c = scores.shape
    trap, ap = [], []
    for k in range(c):
        y = labels[:, k]
        if y.sum() == 0:
            trap.append(None)
            ap.append(None)
            continue
        precision, recall, _ = precision_recall_curve(y, scores[:, k])
        trap.append(float(auc(recall, precision)))
        ap.append(float(average_precision_score(y, scores[:, k])))
    used_t = [v for v in trap if v is not None]
    used_a = [v for v in ap if v is not None]
    return {
        "name": name, "n": int(n), "c": int(c),
        "scores": [float(x) for x in scores.ravel()],
        "labels": [int(x) for x in labels.ravel()],
        "per_class_trapezoid": trap, "per_class_ap": ap,
        "map_trapezoid": float(np.mean(used_t)), "map_average_precision": float(np.mean(used_a)),
    }


def build():
    rng = np.random.default_rng(20240611)
    ood = []
    ood.append(ood_case("hand_small", [0.9, 0.8, 0.7, 0.3], [0.6, 0.4, 0.2, 0.1, 0.05]))
    ood.append(ood_case("hand_ties", [1.0, 1.0, 0.5, 0.5, 0.0], [1.0, 0.5, 0.5, 0.0, 0.0]))
    ood.append(ood_case("hand_negative_scores", [-0.1, -2.0, -3.5], [-0.5, -1.0, -4.0, -0.1]))
    ood.append(ood_case("single_each", [1.0], [0.0]))
    ood.append(ood_case("random_continuous", rng.normal(1.0, 1.0, 300), rng.normal(0.0, 1.0, 400)))
    ood.append(ood_case("heavy_ties", np.round(rng.normal(0.6, 0.5, 500), 1),
                        np.round(rng.normal(0.0, 0.5, 500), 1)))
    ood.append(ood_case("all_id_above", rng.uniform(1.0, 2.0, 60), rng.uniform(-1.0, 0.5, 80)))
    ood.append(ood_case("all_id_below", rng.uniform(-2.0, -1.0, 60), rng.uniform(0.0, 1.0, 80)))
    ood.append(ood_case("all_equal", [0.5] * 7, [0.5] * 11))
    ood.append(ood_case("unbalanced_3_id", rng.normal(1.0, 1.0, 3), rng.normal(0.0, 1.0, 500)))
    ood.append(ood_case("unbalanced_3_ood", rng.normal(1.0, 1.0, 500), rng.normal(0.0, 1.0, 3)))

    # Two recall points equidistant from 0.95 in floating point: 47/50 and 48/50 (0.95*50 is
    # not an integer). OOD samples lie between the 47th and 48th ID scores, so the two points
    # differ in FPR; the rule must pick the higher recall (0.96).
    id_s = np.arange(50, 0, -1, dtype=np.float64)           # 50 .. 1
    ood_s = np.array([3.5, 3.4, 3.3, 2.5, 0.5, 10.5, 20.5])  # between ID #47 (4) and #48 (3): 3
    ood.append(ood_case("equidistant_recall_50", id_s, ood_s))
    # Same with 100 ID: 94/100 and 96/100 equidistant, 95/100 skipped by a tie of ID #95, #96.
    id_s = np.arange(100, 0, -1, dtype=np.float64)
    id_s[95] = id_s[94]                                       # ID #95 and #96 share score 6
    ood_s = np.array([6.5, 6.6, 5.5, 0.5, 50.5, 6.0])        # one OOD tied with them too
    ood.append(ood_case("equidistant_recall_100_ties", id_s, ood_s))
    # Recall exactly 0.95 at tps=19/20 followed by an OOD-only plateau: the rule takes the
    # plateau's last point (most false positives).
    id_s = np.arange(20, 0, -1, dtype=np.float64)
    ood_s = np.array([1.9, 1.8, 1.7, 1.6, 0.5, 15.5])
    ood.append(ood_case("equal_recall_plateau", id_s, ood_s))
    # Each distinct score holds exactly one ID and one OOD sample: the ROC points are
    # collinear and sklearn's drop_intermediate removes all interior ones.
    v = np.arange(20, dtype=np.float64)
    ood.append(ood_case("collinear_roc", v, v.copy()))
    ood.append(ood_case("collinear_roc_partial",
                        np.r_[np.arange(10.0), [20.0, 21.0, 22.0]],
                        np.r_[np.arange(10.0), [-1.0, -2.0]]))

    ml = []
    ml.append(multilabel_case(
        "ml_hand",
        [[0.9, 0.1], [0.8, 0.7], [0.3, 0.7], [0.3, 0.2], [-0.2, 0.0]],
        [[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]]))
    n, c = 200, 6
    scores = rng.normal(0.0, 1.0, (n, c))
    labels = (rng.uniform(size=(n, c)) < 0.3).astype(np.float32)
    scores += 1.2 * labels                                   # informative scores
    scores[:, 1] = np.round(scores[:, 1], 1)                 # ties
    scores[:, 2] = np.round(scores[:, 2])                    # heavy ties
    labels[:, 3] = 0
    labels[17, 3] = 1                                        # a single positive
    labels[:, 4] = 0                                         # no positive -> skipped
    labels[:, 5] = 1                                         # all positive
    scores[:, 5] = np.round(scores[:, 5], 1)
    ml.append(multilabel_case("ml_random_200x6", scores, labels))
    scores = np.round(1.0 / (1.0 + np.exp(-rng.normal(0.0, 2.0, (50, 3)))), 2)
    labels = (rng.uniform(size=(50, 3)) < 0.5).astype(np.float32)
    ml.append(multilabel_case("ml_sigmoid_ties_50x3", scores, labels))

    return {
        "generator": "scripts/make_metric_goldens.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "ood_cases": ood,
        "multilabel_cases": ml,
    }


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else (
        Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "metrics_golden.json")
    data = build()
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(f"wrote {out} ({len(text)} bytes, {len(data['ood_cases'])} OOD cases, "
          f"{len(data['multilabel_cases'])} multi-label cases)")


if __name__ == "__main__":
    main()
