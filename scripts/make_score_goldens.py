#!/usr/bin/python3
"""Generate tests/fixtures/score_golden.json: OOD-score goldens from numpy, scikit-learn and torch.

Run with Debian's python3 (numpy, scikit-learn 1.2, torch 1.13):
    /usr/bin/python3 scripts/make_score_goldens.py [output.json]

Every input is stored in the fixture next to the expected output, so the C++ tests feed the
same numbers. Formulas follow the EDGE reference code (Yuchen-Sunflower/EDGE lib.py) where it
has the score, re-implemented here in float64; sklearn supplies LocalOutlierFactor,
IsolationForest, EmpiricalCovariance and NearestNeighbors. Higher score = more in-distribution.
All randomness uses fixed seeds, so the output is deterministic.
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.covariance import EmpiricalCovariance
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20241207)


def L(a):
    return np.asarray(a, dtype=np.float64).tolist()


def softplus(z):
    return np.logaddexp(0.0, z)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def logsumexp(z):
    m = z.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]


def multi_hot(n, c, p=0.35):
    y = (rng.random((n, c)) < p).astype(np.float64)
    y[np.arange(n), rng.integers(0, c, n)] = 1.0  # at least one label per image
    return y


out = {"versions": {"numpy": np.__version__, "sklearn": sklearn.__version__, "torch": torch.__version__}}

# --- logit-only scores -------------------------------------------------------------------
z = rng.normal(0, 3, (7, 5))
z[0] = [40.0, -40.0, 0.0, 1.0, -1.0]  # large magnitudes: softplus / logsumexp must not overflow
sp = softplus(z)
T = 2.0
out["logit"] = {
    "logits": L(z), "topk": 2, "temperature": T,
    "energy_sum": L(sp.sum(1)), "energy_max": L(sp.max(1)),
    "energy_topk": L(np.sort(sp, axis=1)[:, -2:].sum(1)),
    "max_logit": L(z.max(1)), "logit_sum": L(z.sum(1)),
    "prob_max": L(sigmoid(z).max(1)), "prob_sum": L(sigmoid(z).sum(1)),
    "msp": L(torch.softmax(torch.tensor(z), 1).max(1)[0].numpy()),
    "energy_mc": L(torch.logsumexp(torch.tensor(z), 1).numpy()),
    "odin_max": L(sigmoid(z / T).max(1)), "odin_sum": L(sigmoid(z / T).sum(1)),
}


# --- Mahalanobis (reference sample_estimator + get_Mahalanobis_score) ----------------------
def maha_fit(f, y):
    c = y.shape[1]
    means = np.stack([f[y[:, k] > 0].mean(0) for k in range(c)])
    x = np.concatenate([f[y[:, k] > 0] - means[k] for k in range(c)])
    prec = EmpiricalCovariance(assume_centered=False).fit(x).precision_
    return means, prec


def maha_scores(f, means, prec):
    g = np.stack([-0.5 * np.einsum("nd,de,ne->n", f - m, prec, f - m) for m in means], 1)
    return g


ftr = rng.normal(0, 1, (80, 6)) @ rng.normal(0, 1, (6, 6))
ytr = multi_hot(80, 4)
ftr += ytr @ rng.normal(0, 2, (4, 6))
fte = np.concatenate([rng.normal(0, 1, (8, 6)) @ rng.normal(0, 1, (6, 6)), rng.normal(5, 1, (4, 6))])
means, prec = maha_fit(ftr, ytr)
g = maha_scores(fte, means, prec)
# Rank-deficient: a duplicated feature column, where only a pseudo-inverse works.
ftr_d = np.concatenate([ftr, ftr[:, :1]], 1)
fte_d = np.concatenate([fte, fte[:, :1]], 1)
means_d, prec_d = maha_fit(ftr_d, ytr)
g_d = maha_scores(fte_d, means_d, prec_d)
out["mahalanobis"] = {
    "train_features": L(ftr), "train_labels": L(ytr), "features": L(fte),
    "means": L(means), "precision": L(prec), "max": L(g.max(1)), "sum": L(g.sum(1)),
    "singular": {"train_features": L(ftr_d), "features": L(fte_d), "max": L(g_d.max(1)), "sum": L(g_d.sum(1))},
}

# --- LOF (sklearn, novelty=True, fit on "validation logits") ------------------------------
val = rng.normal(0, 1, (120, 5))
test = np.concatenate([rng.normal(0, 1, (30, 5)), rng.normal(0, 1, (10, 5)) * 3 + 2])
lof = {"val": L(val), "test": L(test)}
for k in (20, 7, 500):
    m = LocalOutlierFactor(n_neighbors=k, novelty=True).fit(val)
    lof[f"score_k{k}"] = L(m.score_samples(test))
out["lof"] = lof

# --- KNN (Sun et al. 2022: L2-normalised features, k-th neighbour distance) ---------------
ktr = rng.normal(0, 1, (150, 6))
kte = rng.normal(0, 1, (25, 6))
norm = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)
d, _ = NearestNeighbors(n_neighbors=5).fit(norm(ktr)).kneighbors(norm(kte))
out["knn"] = {"train": L(ktr), "test": L(kte), "k": 5, "score": L(-d[:, -1])}

# --- Isolation forest: a clear-cut dataset (statistical agreement only) -------------------
iv = rng.normal(0, 1, (600, 4))
iid = rng.normal(0, 1, (200, 4))
iood = rng.normal(0, 1, (200, 4)) + 4.0
inear = rng.normal(0, 1, (200, 4)) + 1.0  # overlapping: AUROC well below 1, so implementations can differ
aurocs, scores, near_aurocs = [], [], []
for seed in range(5):
    m = IsolationForest(random_state=seed).fit(iv)
    s = m.score_samples(np.concatenate([iid, iood]))
    scores.append(s)
    aurocs.append(roc_auc_score(np.r_[np.ones(200), np.zeros(200)], s))
    sn = m.score_samples(np.concatenate([iid, inear]))
    near_aurocs.append(roc_auc_score(np.r_[np.ones(200), np.zeros(200)], sn))
avg_c = lambda n: 0.0 if n <= 1 else (1.0 if n == 2 else 2.0 * (math.log(n - 1.0) + np.euler_gamma) - 2.0 * (n - 1.0) / n)
from sklearn.ensemble._iforest import _average_path_length
ns = [1, 2, 3, 5, 10, 256, 1000]
out["isol"] = {
    "val": L(iv), "id": L(iid), "ood": L(iood), "near_ood": L(inear), "sklearn_near_auroc": L(near_aurocs),
    "sklearn_auroc": L(aurocs), "sklearn_mean_score": L(np.mean(scores, 0)),
    "c_n": ns, "c": L(_average_path_length(np.array(ns))),
}

# --- ViM (reference get_logits_vim, float64) ----------------------------------------------
D, C = 16, 5
htr = np.maximum(rng.normal(0, 1, (300, D)) @ rng.normal(0, 1, (D, D)) * 0.5, 0)
hte = np.concatenate([np.maximum(rng.normal(0, 1, (10, D)) @ rng.normal(0, 1, (D, D)) * 0.5, 0),
                      np.abs(rng.normal(0, 3, (5, D)))])
w = rng.normal(0, 0.5, (C, D))
b = rng.normal(0, 0.5, C)
DIM = D // 2
u = -np.matmul(np.linalg.pinv(w), b)
ec = EmpiricalCovariance(assume_centered=True).fit(htr - u)
eig_vals, eigen_vectors = np.linalg.eig(ec.covariance_)
NS = np.ascontiguousarray((eigen_vectors.T[np.argsort(eig_vals * -1)[DIM:]]).T)
vtr = np.linalg.norm(np.matmul(htr - u, NS), axis=-1)
alpha = (htr @ w.T + b).max(axis=-1).mean() / vtr.mean()
vte = np.linalg.norm(np.matmul(hte - u, NS), axis=-1) * alpha
out["vim"] = {"train_hidden": L(htr), "hidden": L(hte), "weight": L(w), "bias": L(b), "dim": DIM,
              "alpha": float(alpha), "score": L(logsumexp(hte @ w.T + b) - vte)}

# --- GradNorm: the reference's loss and |grad W|_1, one sample per backward pass ----------
gh = np.abs(rng.normal(0, 1, (6, 7)))
lin = torch.nn.Linear(7, 4)
with torch.no_grad():
    lin.weight.copy_(torch.tensor(rng.normal(0, 1, (4, 7))))
    lin.bias.copy_(torch.tensor(rng.normal(0, 1, 4)))
grad = {"hidden": L(gh), "weight": L(lin.weight.detach().numpy()), "bias": L(lin.bias.detach().numpy())}
for T in (1.0, 2.0):
    vals = []
    for i in range(gh.shape[0]):
        lin.zero_grad()
        outputs = lin(torch.tensor(gh[i:i + 1])) / T
        targets = torch.ones((1, 4))
        loss = torch.mean(torch.sum(-targets * torch.log_softmax(outputs, dim=-1), dim=-1))
        loss.backward()
        vals.append(float(torch.sum(torch.abs(lin.weight.grad)).item()))
    grad[f"score_T{int(T)}"] = vals
out["gradnorm"] = grad

# --- KL to label co-occurrence (our definition, see include/edge/score/kl_cooccurrence.h) --
ky = multi_hot(40, 4)
ky[:, 3] = 0.0  # class 3 never occurs: no template
ky[ky.sum(1) == 0, 0] = 1.0
kz = rng.normal(0, 2, (6, 4))
cnt = ky.T @ ky + 1.0
q = cnt / cnt.sum(1, keepdims=True)
p = sigmoid(kz) / sigmoid(kz).sum(1, keepdims=True)
kl = np.stack([(p * (np.log(p) - np.log(q[k]))).sum(1) for k in range(3)], 1)
out["kl"] = {"train_labels": L(ky), "logits": L(kz), "smoothing": 1.0, "score": L(-kl.min(1))}

# --- ReAct: numpy percentile, then clip, head, logsumexp ----------------------------------
rp = np.abs(rng.normal(0, 1, (50, 5)))
rte = np.abs(rng.normal(0, 2, (6, 5)))
rw = rng.normal(0, 1, (3, 5))
rb = rng.normal(0, 1, 3)
pct = {str(q_): float(np.percentile(rp, q_)) for q_ in (0, 10, 37.5, 90, 99.9, 100)}
c90 = np.percentile(rp, 90)
out["react"] = {"train_pooled": L(rp), "pooled": L(rte), "weight": L(rw), "bias": L(rb), "percentiles": pct,
                "score": L(logsumexp(np.minimum(rte, c90) @ rw.T + rb))}


# --- ODIN / Mahalanobis with input noise (reference get_odin_scores / get_Mahalanobis_score),
# on a linear "network" over 3-channel 4x4 inputs and the reference's ImageNet std. ---------
STD = [0.229, 0.224, 0.225]
x = torch.tensor(rng.normal(0, 1, (5, 3, 4, 4)))
ow = torch.tensor(rng.normal(0, 0.3, (4, 48)))
ob = torch.tensor(rng.normal(0, 0.3, 4))
net = lambda inp: inp.flatten(1) @ ow.T + ob


def signed_step(gradv):
    gr = (torch.ge(gradv, 0).double() - 0.5) * 2
    for c_, s_ in enumerate(STD):
        gr[:, c_] = gr[:, c_] / s_
    return gr


odin = {"x": L(x.numpy()), "weight": L(ow.numpy()), "bias": L(ob.numpy()), "std": STD, "temperature": 2.0,
        "noise": 0.01}
for method in ("max", "sum"):
    xi = x.clone().requires_grad_(True)
    outs = net(xi)
    preds = torch.sigmoid(outs / 2.0)
    labels = torch.ones(preds.shape) * (preds >= 0.5)
    loss = torch.nn.BCEWithLogitsLoss(reduction="none")(outs, labels)
    if method == "max":
        idx = torch.max(preds, dim=1)[1].unsqueeze(-1)
        loss = torch.mean(torch.gather(loss, 1, idx))
    else:
        loss = torch.mean(torch.sum(loss, dim=1))
    loss.backward()
    xt = torch.add(x, signed_step(xi.grad), alpha=-0.01)
    o2 = torch.sigmoid(net(xt) / 2.0)
    odin[method] = L((o2.max(1)[0] if method == "max" else o2.sum(1)).detach().numpy())
out["odin"] = odin

fa = torch.tensor(rng.normal(0, 0.4, (6, 48)))
feat = lambda inp: inp.flatten(1) @ fa.T
mtr = feat(torch.tensor(rng.normal(0, 1, (60, 3, 4, 4)))).numpy()
mty = multi_hot(60, 3)
mtr = mtr + mty @ rng.normal(0, 1.5, (3, 6))
mm, mp = maha_fit(mtr, mty)
mm_t, mp_t = torch.tensor(mm), torch.tensor(mp)
maha_noise = {"x": L(x.numpy()), "feature_weight": L(fa.numpy()), "train_features": L(mtr), "train_labels": L(mty),
              "std": STD, "noise": 0.02}
for method in ("max", "sum"):
    xi = x.clone().requires_grad_(True)
    f = feat(xi)
    gs = torch.stack([-0.5 * ((f.detach() - mm_t[k]) @ mp_t * (f.detach() - mm_t[k])).sum(1) for k in range(3)], 1)
    pred = gs.max(1)[1]
    zf = f - mm_t.index_select(0, pred)
    loss = torch.mean(0.5 * torch.mm(torch.mm(zf, mp_t), zf.t()).diag())
    loss.backward()
    xt = torch.add(x, signed_step(xi.grad), alpha=-0.02)
    f2 = feat(xt)
    g2 = torch.stack([-0.5 * ((f2 - mm_t[k]) @ mp_t * (f2 - mm_t[k])).sum(1) for k in range(3)], 1)
    maha_noise[method] = L((g2.max(1)[0] if method == "max" else g2.sum(1)).numpy())
out["mahalanobis_noise"] = maha_noise

dest = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "tests/fixtures/score_golden.json"
dest.write_text(json.dumps(out) + "\n")
print(f"wrote {dest} ({dest.stat().st_size} bytes)")
