#!/usr/bin/python3
"""Reference backbones for the C++ ones (src/model), from Debian's python3-torchvision.

Run with Debian's python3 (it sees python3-torch and python3-torchvision):

    /usr/bin/python3 scripts/make_backbone_goldens.py

writes
  tests/fixtures/backbone_layouts.json  every torchvision backbone's state_dict keys and
                                        shapes, and the classifier keys loading ignores
  tests/fixtures/backbone_parity.pt     pooled features of every architecture, batch 2,
                                        sizes 64 and 224, eval mode, under the
                                        deterministic weights of fill_weights()

The module is also imported by the live parity tests (tests/model/test_backbone_parity.cpp)
and by the benchmark's peer (bench/backbones_peer.py), so both sides always use the
same definitions.

Deterministic weights (reproduced bit for bit by the C++ tests with the same LibTorch
CPU generator): for the i-th state_dict key of the backbone in sorted order,
torch.manual_seed(WEIGHT_SEED + i), then
  conv / linear weight   randn(shape) * sqrt(2 / fan_in)
  BN weight              1 + 0.1 * randn, times 0.2 for the last BN of a residual
                         branch (residual_branch_end), so that the residual stream of
                         deep ResNets does not blow up (eval-mode BN does not normalise)
  BN bias, running_mean  0.1 * randn
  BN running_var         exp(0.2 * randn)      num_batches_tracked      0
Inputs: torch.manual_seed(INPUT_SEED + size); randn(2, channels, size, size).
"""
import json
import math
import os
import re
import sys

import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock

ARCHS = ["small_resnet", "resnet18", "resnet34", "resnet50", "resnet101", "densenet121", "mobilenet_v2"]
TORCHVISION_ARCHS = ARCHS[1:]
CLASSIFIER_PREFIXES = {"resnet18": "fc.", "resnet34": "fc.", "resnet50": "fc.", "resnet101": "fc.",
                       "densenet121": "classifier.", "mobilenet_v2": "classifier."}
WEIGHT_SEED = 1234
INPUT_SEED = 777
SIZES = [64, 224]
BATCH = 2


class SmallResNet(nn.Module):
    """The project's small_resnet (include/edge/model/small_resnet.h) in PyTorch, built
    from torchvision's BasicBlock: a 3x3 stem, then 3 stages that halve the resolution and
    double the width."""

    def __init__(self, in_channels=1, width=16, blocks_per_stage=1, stem_stride=2):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, stem_stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)

        def stage(cin, cout):
            blocks = []
            for b in range(blocks_per_stage):
                down = None
                if b == 0:
                    down = nn.Sequential(nn.Conv2d(cin, cout, 1, 2, bias=False), nn.BatchNorm2d(cout))
                blocks.append(BasicBlock(cin if b == 0 else cout, cout, 2 if b == 0 else 1, down))
            return nn.Sequential(*blocks)

        self.layer1 = stage(width, 2 * width)
        self.layer2 = stage(2 * width, 4 * width)
        self.layer3 = stage(4 * width, 8 * width)

    def forward(self, x):
        return self.layer3(self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x))))))


def in_channels(arch):
    return 1 if arch == "small_resnet" else 3


def build(arch):
    """The whole reference model (torchvision's, with its ImageNet classifier)."""
    if arch == "small_resnet":
        return SmallResNet()
    return getattr(torchvision.models, arch)()


def feature_map(model, arch, x):
    """The last spatial feature map: what the C++ backbone's forward returns."""
    if arch == "small_resnet":
        return model(x)
    if arch.startswith("resnet"):
        m = model
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        return m.layer4(m.layer3(m.layer2(m.layer1(x))))
    if arch == "densenet121":
        return torch.relu(model.features(x))
    if arch == "mobilenet_v2":
        return model.features(x)
    raise ValueError(arch)


def pooled(fmap):
    return fmap.mean((2, 3))


def backbone_keys(model, arch):
    prefix = CLASSIFIER_PREFIXES.get(arch)
    return sorted(k for k in model.state_dict() if prefix is None or not k.startswith(prefix))


def residual_branch_end(keys, key):
    """True for the weight of the last BN of a residual branch: bn2 (BasicBlock) or bn3
    (Bottleneck) of a ResNet block, the projection BN of a MobileNetV2 block."""
    m = re.match(r"^(layer\d+\.\d+)\.bn([23])\.weight$", key)
    if m:
        return m.group(2) == ("3" if m.group(1) + ".bn3.weight" in keys else "2")
    return re.match(r"^features\.\d+\.conv\.\d+\.weight$", key) is not None


@torch.no_grad()
def fill_weights(model, arch, seed=WEIGHT_SEED):
    """Deterministic, well-scaled random weights and batch-norm statistics (see module doc)."""
    sd = model.state_dict()
    keys = backbone_keys(model, arch)
    for i, key in enumerate(keys):
        t = sd[key]
        if key.endswith("num_batches_tracked"):
            t.zero_()
            continue
        torch.manual_seed(seed + i)
        r = torch.randn(t.shape)
        if t.dim() >= 2:
            fan_in = t[0].numel()
            t.copy_(r * math.sqrt(2.0 / fan_in))
        elif key.endswith("running_var"):
            t.copy_(torch.exp(r * 0.2))
        elif key.endswith(".weight"):
            t.copy_((r * 0.1 + 1.0) * (0.2 if residual_branch_end(keys, key) else 1.0))
        else:  # bias, running_mean
            t.copy_(r * 0.1)
    return model


def make_input(arch, size, seed=INPUT_SEED):
    torch.manual_seed(seed + size)
    return torch.randn(BATCH, in_channels(arch), size, size)


def layouts():
    out = {}
    for arch in TORCHVISION_ARCHS:
        sd = build(arch).state_dict()
        prefix = CLASSIFIER_PREFIXES[arch]
        out[arch] = {
            "backbone": [[k, list(v.shape)] for k, v in sorted(sd.items()) if not k.startswith(prefix)],
            "classifier": [[k, list(v.shape)] for k, v in sorted(sd.items()) if k.startswith(prefix)],
        }
    return out


def main():
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
    lay = layouts()
    with open(os.path.join(root, "backbone_layouts.json"), "w") as f:
        f.write("{\n")
        for n, (arch, d) in enumerate(lay.items()):
            f.write(f' "{arch}": {{\n')
            for m, part in enumerate(["backbone", "classifier"]):
                rows = ",\n".join("   " + json.dumps(r, separators=(",", ":")) for r in d[part])
                f.write(f'  "{part}": [\n{rows}\n  ]{"," if m == 0 else ""}\n')
            f.write(" }" + ("," if n + 1 < len(lay) else "") + "\n")
        f.write("}\n")
    goldens = {"torch_version": str(torch.__version__), "torchvision_version": str(torchvision.__version__)}
    for arch in ARCHS:
        model = fill_weights(build(arch), arch).eval()
        for size in SIZES:
            x = make_input(arch, size)
            with torch.no_grad():
                goldens[f"{arch}/{size}"] = pooled(feature_map(model, arch, x)).contiguous()
            goldens[f"input_head/{arch}/{size}"] = x.flatten()[:16].clone()
        goldens[f"weight_head/{arch}"] = model.state_dict()[backbone_keys(model, arch)[0]].flatten()[:16].clone()
        print(arch, "done", file=sys.stderr)
    torch.save(goldens, os.path.join(root, "backbone_parity.pt"))
    print("wrote backbone_layouts.json and backbone_parity.pt")


if __name__ == "__main__":
    main()
