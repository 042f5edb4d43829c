#!/usr/bin/python3
"""Python peers of bench/bench_edge.cpp, written with Debian's python3-torch and sklearn:

* "official": the loop as the official EDGE code runs it: fp32, NCHW, one forward pass over
  [ID ; OE], BCE + alpha * mean softplus(z_oe) + beta * mean relu(E_oe - E_tail + m) with the
  bottom-k tail, SGD (nesterov) + OneCycleLR stepped per iteration, loss.item() per step;
  evaluation in eval mode under no_grad, JointEnergy = softplus(logits).sum(1); metrics with
  sklearn (roc_auc_score, average_precision_score, roc_curve for FPR95).
* "tuned": the same loop as fast as PyTorch allows on this CPU: bf16 autocast around the
  forward pass (loss in fp32) where the CPU computes bf16 natively (spec "tuned_bf16", from
  the C++ side's detection with its DNNL_MAX_CPU_ISA cap; elsewhere autocast only emulates
  bf16, slower than fp32, or under that cap fails), and channels-last model and input.

Both read the tensors bench_edge wrote (same images, labels, orders and scores), use the
same model (small_resnet + clssimp head, scripts/make_backbone_goldens.py), batch sizes and
thread count, and time the same work as the C++ side.

Each side is one worker process (bench/support/worker_process.h): bench_edge sends one
request per line and reads one "RESULT <json>" line back, so that it can interleave the sides
round by round:
  info     versions and forward FLOPs per image
  train    one more training epoch (the first request builds the model and optimiser)
  eval     one evaluation pass over the eval images with the trained model
  metrics  FPR95 + AUROC + AUPR of the saved scores with sklearn
  peak     VmHWM (MiB) since the last "peak", then resets it (/proc/self/clear_refs)
  quit

Usage (normally run by bench_edge itself): /usr/bin/python3 bench/edge_peer.py SPEC.json official|tuned
"""
import json
import os
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


def edge_loss(logits, y, b_in, spec):
    z_in, z_oe = logits[:b_in], logits[b_in:]
    bce = F.binary_cross_entropy_with_logits(z_in, y)
    conf = F.softplus(z_oe).mean()
    e_in = F.softplus(z_in).sum(1)
    e_oe = F.softplus(z_oe).sum(1)
    tail = torch.topk(e_in, spec["k"], largest=False).values
    gap = F.relu(e_oe[:, None] - tail[None, :] + spec["m"]).mean()
    return bce + spec["alpha"] * conf + spec["beta"] * gap


def build_net(spec, tuned):
    torch.manual_seed(0)
    net = Net("small_resnet", spec["hidden"], spec["num_classes"])
    if tuned:
        net = net.to(memory_format=torch.channels_last)
    return net


class Side:
    """One peer: its model, optimiser and schedule, advanced one epoch per train request."""

    def __init__(self, spec, data, tuned):
        self.spec, self.data, self.tuned = spec, data, tuned
        self.net = build_net(spec, tuned)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(
            self.opt, max_lr=0.1, total_steps=spec["train_steps"] * (spec["repeats"] + 1), pct_start=0.2)
        self.epoch = 0

    def train_epoch(self):
        """One epoch of the EDGE step; images/s."""
        spec, data, net, opt = self.spec, self.data, self.net, self.opt
        net.train()
        b, b_oe, steps = spec["batch"], spec["oe_batch"], spec["train_steps"]
        id_x, id_y, oe_x = data["id_images"], data["id_labels"], data["oe_images"]
        order, oe_order, flips = data["orders"][self.epoch], data["oe_orders"][self.epoch], data["flips"][self.epoch]
        self.epoch += 1
        t0 = time.perf_counter()
        for s in range(steps):
            idx = order[s * b:(s + 1) * b]
            x = torch.cat([id_x.index_select(0, idx), oe_x.index_select(0, oe_order[s * b_oe:(s + 1) * b_oe])])
            x = normalise(x)
            x = torch.where(flips[s].view(-1, 1, 1, 1), x.flip(3), x)
            y = id_y.index_select(0, idx)
            if self.tuned:
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=spec["tuned_bf16"]):
                    logits = self.net(x.contiguous(memory_format=torch.channels_last))
                logits = logits.float()
            else:
                logits = self.net(x)
            loss = edge_loss(logits, y, b, spec)
            opt.zero_grad()
            loss.backward()
            opt.step()
            self.sched.step()
            loss.item()
        return steps * (b + b_oe) / (time.perf_counter() - t0)

    def eval_pass(self):
        """Logits + JointEnergy of every eval image in eval mode; images/s."""
        images, net = self.data["eval_images"], self.net
        net.eval()
        t0 = time.perf_counter()
        scores = []
        with torch.no_grad():
            for i in range(0, images.shape[0], self.spec["eval_batch"]):
                x = normalise(images[i:i + self.spec["eval_batch"]])
                if self.tuned:
                    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.spec["tuned_bf16"]):
                        logits = net(x.contiguous(memory_format=torch.channels_last))
                else:
                    logits = net(x)
                scores.append(F.softplus(logits.float()).sum(1))
        torch.cat(scores)
        return images.shape[0] / (time.perf_counter() - t0)


def metrics_once(id_s, ood_s):
    """sklearn FPR95 + AUROC + AUPR-In of the saved scores; (seconds, values)."""
    t0 = time.perf_counter()
    labels = np.concatenate([np.ones(id_s.size), np.zeros(ood_s.size)])
    scores = np.concatenate([id_s, ood_s])
    auroc = skm.roc_auc_score(labels, scores)
    aupr = skm.average_precision_score(labels, scores)
    fpr, tpr, _ = skm.roc_curve(labels, scores)
    fpr95 = float(fpr[np.searchsorted(tpr, 0.95, side="left")])
    return time.perf_counter() - t0, {"auroc": float(auroc), "aupr_in": float(aupr), "fpr95_roc": fpr95}


def main():
    global MEAN, STD
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    name = sys.argv[2]
    if name not in ("official", "tuned"):
        sys.exit(f"edge_peer.py: expected side official or tuned, got {name!r}")
    MEAN, STD = spec["mean"], spec["std"]
    torch.set_num_threads(spec["threads"])
    torch.set_num_interop_threads(1)
    d = spec["dir"]
    data = {key: torch.load(os.path.join(d, key + ".pt"))
            for key in ["id_images", "id_labels", "oe_images", "eval_images", "orders", "oe_orders", "flips"]}
    data["flips"] = data["flips"].bool()
    side, scores = None, None
    for line in sys.stdin:
        request = line.strip()
        if request == "quit":
            break
        try:
            if request == "info":
                out = {"torch_version": str(torch.__version__), "sklearn_version": sklearn.__version__,
                       "numpy_version": np.__version__,
                       "forward_flops_per_image": forward_flops_per_image(build_net(spec, False),
                                                                          normalise(data["eval_images"][:8]))}
            elif request == "train":
                side = side or Side(spec, data, name == "tuned")
                out = {"img_s": side.train_epoch()}
            elif request == "eval":
                if side is None:
                    raise RuntimeError("eval before train")
                out = {"img_s": side.eval_pass()}
            elif request == "metrics":
                if scores is None:
                    scores = [np.fromfile(os.path.join(d, f), dtype=np.float64)
                              for f in ("scores_id.f64", "scores_ood.f64")]
                seconds, values = metrics_once(*scores)
                out = {"s": seconds, "values": values}
            elif request == "peak":
                out = {"mb": peak_mb()}
                reset_peak()
            else:
                raise RuntimeError(f"unknown request {request!r}")
        except Exception as e:  # reported to bench_edge, which names this worker
            out = {"error": f"{type(e).__name__}: {e}"}
        print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
