#!/usr/bin/python3
"""Python PyTorch peer of bench/bench_backbones.cpp: the same models (torchvision backbone
or the project's small ResNet, plus the clssimp head), the same batches, threads and
measurement, so that the two programs' images/s can be compared in one run.

Usage (normally run by bench_backbones itself):
    /usr/bin/python3 bench/backbones_peer.py '<json spec>'
spec: {"archs": [...], "sizes": [...], "batches": [...], "threads": N, "warmup": W,
       "iters": I, "num_classes": C, "hidden": H}
Prints one line "RESULT <json>": {"arch/size/mode": images_per_second, ...}.
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import make_backbone_goldens as ref  # noqa: E402


class ClsSimp(nn.Module):
    """The clssimp head (include/edge/model/clssimp.h)."""

    def __init__(self, d, hidden, classes):
        super().__init__()
        self.way1 = nn.Sequential(nn.Linear(d, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True))
        self.cls = nn.Linear(hidden, classes)

    def forward(self, pooled):
        return self.cls(self.way1(pooled))


class Net(nn.Module):
    def __init__(self, arch, hidden, classes):
        super().__init__()
        self.arch = arch
        self.backbone = ref.build(arch)
        with torch.no_grad():
            d = ref.feature_map(self.backbone.eval(), arch, torch.zeros(1, ref.in_channels(arch), 64, 64)).shape[1]
        self.clsfier = ClsSimp(d, hidden, classes)

    def forward(self, x):
        return self.clsfier(ref.pooled(ref.feature_map(self.backbone, self.arch, x)))


def timed(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    spec = json.loads(sys.argv[1])
    torch.set_num_threads(spec["threads"])
    torch.set_num_interop_threads(1)
    out = {}
    for arch in spec["archs"]:
        for size, batch in zip(spec["sizes"], spec["batches"]):
            torch.manual_seed(0)
            net = Net(arch, spec["hidden"], spec["num_classes"])
            x = torch.randn(batch, ref.in_channels(arch), size, size)
            y = (torch.rand(batch, spec["num_classes"]) < 0.3).float()

            net.eval()

            def fwd():
                with torch.no_grad():
                    net(x)

            out[f"{arch}/{size}/forward"] = batch / timed(fwd, spec["warmup"], spec["iters"])

            net.train()

            def fwd_bwd():
                net.zero_grad(set_to_none=True)
                nn.functional.binary_cross_entropy_with_logits(net(x), y).backward()

            out[f"{arch}/{size}/forward+backward"] = batch / timed(fwd_bwd, spec["warmup"], spec["iters"])
            print(f"peer {arch} @{size} done", file=sys.stderr, flush=True)
    print("RESULT " + json.dumps({"torch_version": str(torch.__version__), "images_per_s": out}), flush=True)


if __name__ == "__main__":
    main()
