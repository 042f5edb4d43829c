#!/usr/bin/python3
"""Python peers of bench/bench_edge.cpp, written with Debian's python3-torch and sklearn:

* "official": the loop as the official EDGE code runs it: fp32, NCHW, one forward pass over
  [ID ; OE], BCE + alpha * mean softplus(z_oe) + beta * mean relu(E_oe - E_tail + m) with the
  bottom-k tail, SGD (nesterov) + OneCycleLR stepped per iteration, loss.item() per step;
  evaluation in eval mode under no_grad, JointEnergy = softplus(logits).sum(1); metrics with
  sklearn (roc_auc_score, average_precision_score, roc_curve for FPR95). Left exactly as it
  was, so that train_vs_official stays comparable across the project's history.
* "calibrate": one process that trains every plain-PyTorch configuration a user could pick on
  a CPU (CONFIGS: fp32 / bf16 autocast x NCHW / channels-last) for a few interleaved rounds and
  reports each one's images/s; bench_edge picks the fastest as the "best" peer. bf16 autocast
  is measured everywhere (on a CPU without native bf16 it is emulated and simply loses; where
  oneDNN refuses it, e.g. under DNNL_MAX_CPU_ISA=AVX2 on an AVX-512 machine, it is reported as
  failed) because the point is to let the machine, not a rule, say what is fastest.
* "best CONFIG": the same loop in CONFIG; its evaluation is the frozen, optimised TorchScript
  model (trace + torch.jit.freeze + torch.jit.optimize_for_inference) in the faster layout,
  checked equal in scores to the eager model; its metrics are a numpy sort-based computation
  checked equal to the official sklearn calls (request "verify").

bench_edge starts "calibrate" and "best" with the allocator setting of the C++ side
(GLIBC_TUNABLES equal to src/common/allocator.cpp's mallopt values), and every peer inherits
its environment, so DNNL_MAX_CPU_ISA / ONEDNN_MAX_CPU_ISA cap the peers' oneDNN as they cap
the C++ side's (same libdnnl). All peers read the tensors bench_edge wrote (same images,
labels, orders and scores), use the same model (small_resnet + clssimp head,
scripts/make_backbone_goldens.py), batch sizes and thread count, and time the same work.

Each side is one worker process (bench/support/worker_process.h): bench_edge sends one
request per line and reads one "RESULT <json>" line back, so that it can interleave the sides
round by round:
  info       versions and forward FLOPs per image
  calibrate  (calibrate only) images/s of every configuration, the fastest named "best"
  train      one more training epoch (the first request builds the model and optimiser)
  eval       one evaluation pass over the eval images with the trained model
  metrics    FPR95 + AUROC + AUPR of the saved scores (official: sklearn; best: numpy)
  verify     (best only) numpy's metrics vs sklearn's on the saved scores, asserted to 1e-12
  peak       VmHWM (MiB) since the last "peak", then resets it (/proc/self/clear_refs)
  quit

Usage (normally run by bench_edge itself):
  /usr/bin/python3 bench/edge_peer.py SPEC.json official|calibrate|best CONFIG
"""
import copy
import json
import os
import statistics
import sys
import time

import numpy as np
import sklearn
import sklearn.metrics as skm
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backbones_peer import Net  # noqa: E402

MEAN, STD = 0.2860, 0.3530  # overwritten from the spec

# Every plain-PyTorch training configuration: name -> (bf16 autocast, channels-last).
CONFIGS = {"fp32-nchw": (False, False), "fp32-channels-last": (False, True),
           "bf16-nchw": (True, False), "bf16-channels-last": (True, True)}
# A configuration below this fraction of the leader after a calibration round leaves the race: a
# single round on this shared VM can be off by up to 2x, so a config at a third of the leader
# cannot be the fastest, and an emulated bf16 step costs ~4-10x an fp32 one (measuring it for
# all rounds would double the bench's time).
PRUNE_BELOW = 1.0 / 3.0
# Frozen vs eager JointEnergy scores, |frozen - eager| <= tol * (1 + |eager|). fp32: BatchNorm
# folding and fused kernels only reorder float32 sums (measured ~1e-7 relative). bf16: freezing
# folds BatchNorm into the weights before their rounding to 8 mantissa bits, so the two differ
# at bf16's resolution (2^-8 = 0.4 % per logit; measured ~0.15 %).
FROZEN_TOL = {False: 1e-5, True: 2e-2}
METRICS_TOL = 1e-12


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def forward_flops_per_image(net, x):
    """Multiply-adds x 2 of every Conv2d and Linear in one forward pass, per image."""
    total = [0]

    def conv_hook(m, inp, out):
        total[0] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        total[0] += 2 * out.numel() * m.in_features

    hooks = []
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    net.eval()
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return total[0] / x.shape[0]


def normalise(x_u8):
    return x_u8.float().div_(255.0 * STD).sub_(MEAN / STD)


def joint_energy(logits):
    return F.softplus(logits.float()).sum(1)


def autocast(bf16):
    """CPU bf16 autocast where bf16 (a no-op context otherwise); the weight cache off, as frozen
    TorchScript modules need when traced under it."""
    return torch.cpu.amp.autocast(enabled=bf16, dtype=torch.bfloat16, cache_enabled=False)


def edge_loss(logits, y, b_in, spec):
    z_in, z_oe = logits[:b_in], logits[b_in:]
    bce = F.binary_cross_entropy_with_logits(z_in, y)
    conf = F.softplus(z_oe).mean()
    e_in = F.softplus(z_in).sum(1)
    e_oe = F.softplus(z_oe).sum(1)
    tail = torch.topk(e_in, spec["k"], largest=False).values
    gap = F.relu(e_oe[:, None] - tail[None, :] + spec["m"]).mean()
    return bce + spec["alpha"] * conf + spec["beta"] * gap


def build_net(spec, channels_last):
    torch.manual_seed(0)
    net = Net("small_resnet", spec["hidden"], spec["num_classes"])
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net


class Side:
    """One training loop: its model, optimiser and schedule. config None is the official loop
    (fp32 NCHW, exactly as before); otherwise a CONFIGS name."""

    def __init__(self, spec, data, config=None, total_steps=None):
        self.spec, self.data, self.config = spec, data, config
        self.bf16, self.channels_last = CONFIGS[config] if config else (False, False)
        self.net = build_net(spec, self.channels_last)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(
            self.opt, max_lr=0.1, total_steps=total_steps or spec["train_steps"] * (spec["repeats"] + 1),
            pct_start=0.2)
        self.epoch = 0
        self.steps_done = 0  # calibration steps, cycling over the saved epochs
        self.frozen = None   # FrozenEval of the trained model, built by the first eval request

    def _step(self, epoch, s):
        spec, data, b, b_oe = self.spec, self.data, self.spec["batch"], self.spec["oe_batch"]
        id_x, id_y, oe_x = data["id_images"], data["id_labels"], data["oe_images"]
        order, oe_order, flips = data["orders"][epoch], data["oe_orders"][epoch], data["flips"][epoch]
        idx = order[s * b:(s + 1) * b]
        x = torch.cat([id_x.index_select(0, idx), oe_x.index_select(0, oe_order[s * b_oe:(s + 1) * b_oe])])
        x = normalise(x)
        x = torch.where(flips[s].view(-1, 1, 1, 1), x.flip(3), x)
        y = id_y.index_select(0, idx)
        if self.config is None:
            logits = self.net(x)
        else:
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                logits = self.net(x)
            logits = logits.float()  # the loss in fp32, as the C++ side computes it
        loss = edge_loss(logits, y, b, spec)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.sched.step()
        loss.item()

    def train_epoch(self):
        """One epoch of the EDGE step; images/s."""
        self.net.train()
        epoch, steps = self.epoch, self.spec["train_steps"]
        self.epoch += 1
        t0 = time.perf_counter()
        for s in range(steps):
            self._step(epoch, s)
        return steps * (self.spec["batch"] + self.spec["oe_batch"]) / (time.perf_counter() - t0)

    def train_steps(self, n):
        """n calibration steps (the saved batches in order, cycling); images/s."""
        self.net.train()
        steps, epochs = self.spec["train_steps"], self.data["orders"].shape[0]
        t0 = time.perf_counter()
        for _ in range(n):
            self._step((self.steps_done // steps) % epochs, self.steps_done % steps)
            self.steps_done += 1
        return n * (self.spec["batch"] + self.spec["oe_batch"]) / (time.perf_counter() - t0)

    def eval_pass(self):
        """Logits + JointEnergy of every eval image in eval mode; images/s. The official loop
        runs the eager model under no_grad; the others the frozen TorchScript model."""
        if self.config is not None:
            if self.frozen is None or self.frozen.epoch != self.epoch:
                self.frozen = FrozenEval(self.net, self.data["eval_images"], self.spec, self.bf16, self.epoch)
            return self.frozen.eval_pass()
        images, net = self.data["eval_images"], self.net
        net.eval()
        t0 = time.perf_counter()
        scores = []
        with torch.no_grad():
            for i in range(0, images.shape[0], self.spec["eval_batch"]):
                scores.append(joint_energy(net(normalise(images[i:i + self.spec["eval_batch"]]))))
        torch.cat(scores)
        return images.shape[0] / (time.perf_counter() - t0)


def freeze(net, example, bf16, channels_last):
    """The trained net as a frozen, inference-optimised TorchScript module (traced: the
    backbone's forward dispatches on its architecture name, which script cannot type). bf16 is
    traced under autocast, so that the casts are part of the graph."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    m = copy.deepcopy(net).eval().to(memory_format=layout)  # the trained net may be in either
    example = example.contiguous(memory_format=layout)
    with torch.no_grad(), autocast(bf16):
        traced = torch.jit.trace(m, example, check_trace=False)
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
        for _ in range(3):  # the profiling executor specialises the graph in its first runs
            frozen(example)
    return frozen


class FrozenEval:
    """Evaluation with the frozen model in the faster of NCHW / channels-last (a short race on
    the eval set when built), its scores checked against the eager model's."""

    LAYOUTS = {"nchw": torch.contiguous_format, "channels-last": torch.channels_last}

    def __init__(self, net, images, spec, bf16, epoch):
        self.images, self.batch, self.epoch, self.bf16 = images, spec["eval_batch"], epoch, bf16
        self.tol = FROZEN_TOL[bf16]
        example = normalise(images[:self.batch])
        net.eval()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            eager = joint_energy(net(example))
        self.models, self.max_diff = {}, {}
        for layout, memory_format in self.LAYOUTS.items():
            self.models[layout] = freeze(net, example, bf16, memory_format == torch.channels_last)
            diff = float(((self._scores(layout, example) - eager).abs() / (1 + eager.abs())).max())
            if not diff <= self.tol:  # also catches NaN
                raise RuntimeError(f"frozen {layout} scores differ from eager by {diff:.3g} x (1 + |score|) > "
                                   f"{self.tol:g}")
            self.max_diff[layout] = diff
        rates = {layout: [] for layout in self.models}
        for order in (list(rates), list(reversed(list(rates)))):  # interleaved: a slow spell hits both
            for layout in order:
                rates[layout].append(self._timed(layout))
        self.candidates = {layout: max(v) for layout, v in rates.items()}
        self.layout = max(self.candidates, key=self.candidates.get)

    def _scores(self, layout, x):
        with torch.no_grad(), autocast(self.bf16):
            return joint_energy(self.models[layout](x.contiguous(memory_format=self.LAYOUTS[layout])))

    def _timed(self, layout):
        t0 = time.perf_counter()
        scores = [self._scores(layout, normalise(self.images[i:i + self.batch]))
                  for i in range(0, self.images.shape[0], self.batch)]
        torch.cat(scores)
        return self.images.shape[0] / (time.perf_counter() - t0)

    def eval_pass(self):
        return self._timed(self.layout)

    def describe(self):
        return {"layout": self.layout, "img_s": self.candidates, "max_score_diff": self.max_diff, "tol": self.tol,
                "precision": "bf16" if self.bf16 else "fp32"}


def calibrate(spec, data):
    """Trains every CONFIGS entry in this one process (so all share its speed), one warm-up step
    each, then spec["calibration_rounds"] rounds of spec["calibration_steps"] steps in rotated
    order, dropping a config once it falls below PRUNE_BELOW x the leader; median images/s."""
    steps, rounds = spec["calibration_steps"], spec["calibration_rounds"]
    sides, failed = {}, {}
    for name in CONFIGS:
        try:
            sides[name] = Side(spec, data, name, total_steps=1 + steps * rounds)
            sides[name].train_steps(1)
        except RuntimeError as e:  # e.g. oneDNN without a bf16 convolution under an ISA cap
            failed[name] = f"{type(e).__name__}: {str(e).splitlines()[0]}"
            sides.pop(name, None)
    if not sides:
        raise RuntimeError(f"no configuration trains: {failed}")
    rates = {name: [] for name in sides}
    active = list(sides)
    for r in range(rounds):
        for i in range(len(active)):
            name = active[(i + r) % len(active)]
            rates[name].append(sides[name].train_steps(steps))
        median = {name: statistics.median(rates[name]) for name in active}
        leader = max(median.values())
        active = [name for name in active if median[name] >= PRUNE_BELOW * leader]
    img_s = {name: statistics.median(v) for name, v in rates.items()}
    best = max(active, key=lambda name: img_s[name])
    return {"img_s": img_s, "rounds": {name: len(v) for name, v in rates.items()}, "failed": failed, "best": best,
            "steps": steps, "prune_below": PRUNE_BELOW}


def metric_arrays(id_s, ood_s):
    labels = np.concatenate([np.ones(id_s.size), np.zeros(ood_s.size)])
    return labels, np.concatenate([id_s, ood_s])


def metrics_sklearn(id_s, ood_s):
    """The official code's three sklearn calls: AUROC, AUPR-In, FPR at 95 % TPR."""
    labels, scores = metric_arrays(id_s, ood_s)
    auroc = skm.roc_auc_score(labels, scores)
    aupr = skm.average_precision_score(labels, scores)
    fpr, tpr, _ = skm.roc_curve(labels, scores)
    fpr95 = float(fpr[np.searchsorted(tpr, 0.95, side="left")])
    return {"auroc": float(auroc), "aupr_in": float(aupr), "fpr95_roc": fpr95}


def fpr95_numpy(a, b):
    """FPR at the first threshold (descending) where TPR >= 0.95, as sklearn's roc_curve +
    searchsorted gives it, including roc_curve's drop_intermediate: a point whose step in
    (ID, OOD counts at its threshold) equals its step out is dropped, so the answer is the end
    of that run of equal steps. a, b: ID / OOD scores sorted ascending."""
    n1, n0 = a.size, b.size
    # The smallest ID count c with c / n1 >= 0.95 (the same float division as roc_curve's);
    # the threshold that first reaches it is the c-th largest ID score.
    c = int(np.searchsorted(np.arange(1, n1 + 1) / n1, 0.95, side="left")) + 1
    t = a[n1 - c]

    def counts(v):  # (#ID == v, #OOD == v): the curve's step at threshold v
        return (int(np.searchsorted(a, v, "right") - np.searchsorted(a, v, "left")),
                int(np.searchsorted(b, v, "right") - np.searchsorted(b, v, "left")))

    def below(v):  # the next threshold under v, None at the last one
        ia, ib = np.searchsorted(a, v, "left"), np.searchsorted(b, v, "left")
        under = ([a[ia - 1]] if ia > 0 else []) + ([b[ib - 1]] if ib > 0 else [])
        return max(under) if under else None

    top = max(a[-1], b[-1]) if n0 else a[-1]
    while t != top:  # the first point of the curve is always kept, and so is the last
        nxt = below(t)
        if nxt is None or counts(nxt) != counts(t):
            break
        t = nxt
    return float((n0 - np.searchsorted(b, t, "left")) / n0)


def metrics_numpy(id_s, ood_s):
    """AUROC, AUPR-In (sklearn's average precision) and FPR95 from two sorts and searchsorted:
    for each ID score x, #OOD < x and #OOD == x give the Mann-Whitney AUROC (ties count 1/2),
    and precision at x = #ID >= x / (#ID >= x + #OOD >= x) averaged over the ID scores is the
    step-wise average precision (tied ID scores share their threshold's precision)."""
    a, b = np.sort(id_s), np.sort(ood_s)
    n1, n0 = a.size, b.size
    left = np.searchsorted(b, a, side="left")    # #OOD < x
    right = np.searchsorted(b, a, side="right")  # #OOD <= x
    auroc = float((left.sum(dtype=np.int64) + right.sum(dtype=np.int64)) / (2.0 * n1 * n0))
    idx = np.arange(n1)
    first = np.maximum.accumulate(np.where(np.r_[True, a[1:] != a[:-1]], idx, 0))  # #ID < x
    tp = n1 - first
    aupr = float(np.mean(tp / (tp + (n0 - left))))
    return {"auroc": auroc, "aupr_in": aupr, "fpr95_roc": fpr95_numpy(a, b)}


def timed_metrics(fn, scores):
    t0 = time.perf_counter()
    values = fn(*scores)
    return {"s": time.perf_counter() - t0, "values": values}


def verify_metrics(scores):
    """numpy's metrics equal sklearn's to METRICS_TOL on the saved scores (raises otherwise)."""
    ref, got = metrics_sklearn(*scores), metrics_numpy(*scores)
    diff = {k: abs(ref[k] - got[k]) for k in ref}
    if not all(d <= METRICS_TOL for d in diff.values()):
        raise RuntimeError(f"numpy metrics differ from sklearn's: {got} vs {ref}")
    return {"sklearn": ref, "numpy": got, "max_diff": max(diff.values()), "tol": METRICS_TOL}


def load(spec):
    d = spec["dir"]
    data = {key: torch.load(os.path.join(d, key + ".pt"))
            for key in ["id_images", "id_labels", "oe_images", "eval_images", "orders", "oe_orders", "flips"]}
    data["flips"] = data["flips"].bool()
    return data


def handle(request, state):
    """One request of bench_edge; the answer's JSON object."""
    spec, data, name, config = state["spec"], state["data"], state["name"], state["config"]
    if request == "info":
        return {"torch_version": str(torch.__version__), "sklearn_version": sklearn.__version__,
                "numpy_version": np.__version__,
                "forward_flops_per_image": forward_flops_per_image(build_net(spec, False),
                                                                   normalise(data["eval_images"][:8]))}
    if request == "calibrate" and name == "calibrate":
        return calibrate(spec, data)
    if request == "train" and name != "calibrate":
        state["side"] = state["side"] or Side(spec, data, config)
        return {"img_s": state["side"].train_epoch()}
    if request == "eval" and state["side"] is not None:
        out = {"img_s": state["side"].eval_pass()}
        if state["side"].frozen is not None:
            out["frozen"] = state["side"].frozen.describe()
        return out
    if request in ("metrics", "verify") and name != "calibrate":
        if state["scores"] is None:
            state["scores"] = [np.fromfile(os.path.join(spec["dir"], f), dtype=np.float64)
                               for f in ("scores_id.f64", "scores_ood.f64")]
        if request == "verify":
            return verify_metrics(state["scores"])
        return timed_metrics(metrics_sklearn if name == "official" else metrics_numpy, state["scores"])
    if request == "peak":
        out = {"mb": peak_mb()}
        reset_peak()
        return out
    raise RuntimeError(f"unknown request {request!r} for side {name}" +
                       (" (eval before train)" if request == "eval" else ""))


def main():
    global MEAN, STD
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    name = sys.argv[2] if len(sys.argv) > 2 else ""
    config = sys.argv[3] if name == "best" and len(sys.argv) > 3 else None
    if name not in ("official", "calibrate", "best") or (name == "best" and config not in CONFIGS):
        sys.exit(f"edge_peer.py: expected official, calibrate or best {'|'.join(CONFIGS)}; got {sys.argv[2:]}")
    MEAN, STD = spec["mean"], spec["std"]
    torch.set_num_threads(spec["threads"])
    torch.set_num_interop_threads(1)
    state = {"spec": spec, "data": load(spec), "name": name, "config": config, "side": None, "scores": None}
    for line in sys.stdin:
        request = line.strip()
        if request == "quit":
            break
        try:
            out = handle(request, state)
        except Exception as e:  # reported to bench_edge, which names this worker
            out = {"error": f"{type(e).__name__}: {e}"}
        print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
