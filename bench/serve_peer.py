#!/usr/bin/python3
"""The minimal HTTP server a PyTorch user would write for an `edge train` run: the standard
library's http.server (one thread per connection), the same model rebuilt in eager PyTorch
from the run's model.pt (scripts/make_backbone_goldens.py, bench/backbones_peer.py), one
forward pass of batch 1 per request, and the same answer fields as `edge serve`. It is
bench/bench_serve.cpp's Python side, not part of the product.

Usage: /usr/bin/python3 bench/serve_peer.py --checkpoint RUN [--port 0] [--threads N]
Prints "listening on http://127.0.0.1:PORT" once it accepts connections; SIGTERM stops it.
"""
import argparse
import io
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import make_backbone_goldens as ref  # noqa: E402
from backbones_peer import ClsSimp  # noqa: E402


class Net(nn.Module):
    """MultiLabelNet (include/edge/model/multilabel_net.h): backbone -> mean pool -> clssimp."""

    def __init__(self, m):
        super().__init__()
        self.arch = m["arch"]
        if self.arch == "small_resnet":
            self.backbone = ref.SmallResNet(m["in_channels"], m["width"], m["blocks_per_stage"], m["stem_stride"])
        else:
            self.backbone = ref.build(self.arch)
        with torch.no_grad():
            x = torch.zeros(1, ref.in_channels(self.arch), 64, 64)
            d = ref.feature_map(self.backbone.eval(), self.arch, x).shape[1]
        self.clsfier = ClsSimp(d, m["hidden"], m["num_classes"])

    def forward(self, x):
        return self.clsfier(ref.pooled(ref.feature_map(self.backbone, self.arch, x)))


def load_model(run):
    config = json.load(open(os.path.join(run, "config.json")))
    net = Net(config["model"])
    state = torch.load(os.path.join(run, "model.pt"), map_location="cpu")
    missing, _ = net.load_state_dict(state, strict=False)
    if missing:
        raise SystemExit(f"serve_peer: {run}/model.pt lacks {missing[:3]}")
    return net.eval(), config


def preprocess(body, config):
    """The run's evaluation transform, as a user would write it with PIL."""
    img = Image.open(io.BytesIO(body))
    if config["dataset"] == "fashion-lt":
        img = img.convert("L")
        if img.size != (56, 56):
            img = img.resize((56, 56), Image.BILINEAR)
        x = (torch.from_numpy(np.asarray(img, dtype=np.float32)) / 255 - 0.5) / 0.5
        return x[None, None]
    s = config["image_size"]
    img = img.convert("RGB").resize((s, s), Image.BILINEAR)
    x = torch.from_numpy(np.asarray(img, dtype=np.float32)).permute(2, 0, 1) / 255
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    return ((x - mean) / std)[None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    net, config = load_model(args.checkpoint)
    cal_file = os.path.join(args.checkpoint, "calibration.json")
    cal = json.load(open(cal_file)) if os.path.exists(cal_file) else None
    names = cal["class_names"] if cal else [str(i) for i in range(config["model"]["num_classes"])]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            try:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with torch.no_grad():
                    z = net(preprocess(body, config)).double()[0]
                probs = torch.sigmoid(z).tolist()
                score = F.softplus(z).sum().item()  # energy_sum
                labels = sorted(((p, c) for c, p in enumerate(probs) if p >= 0.5), reverse=True)
                record = {"path": "", "labels": [{"class": names[c], "index": c, "probability": p} for p, c in labels],
                          "probabilities": probs, "score_fn": "energy_sum", "score": score,
                          "threshold": cal["threshold"] if cal else None,
                          "decision": ("ID" if score >= cal["threshold"] else "OOD") if cal else "uncalibrated"}
                out, status = json.dumps({"predictions": [record]}).encode(), 200
            except Exception as e:  # noqa: BLE001 - a bad image is the client's error
                out, status = json.dumps({"error": str(e)}).encode(), 400
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
