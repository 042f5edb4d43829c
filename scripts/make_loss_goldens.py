#!/usr/bin/python3
"""Freezes golden values of the EDGE loss terms computed with PyTorch (Debian python3-torch).

Run:  /usr/bin/python3 scripts/make_loss_goldens.py  > tests/fixtures/edge_loss_golden.json
The formulas are written out here from the spec (EDGE-SPEC.md §2), independently of the C++ code:
  L_id   = BCEWithLogits(z_in, y) (mean)
  L_conf = mean over OE samples and classes of -log(1 - sigmoid(z_oe))
  tail   = the k ID samples with the lowest E = sum_c log(1 + exp(z_c))
  L_gap  = mean over (i in OE, j in tail) of relu(E_i - E_j + m)
  L      = L_id + alpha * L_conf + beta * L_gap
Each case also stores d L / d z (autograd, float64).
"""
import json
import sys

import torch
import torch.nn.functional as F


def edge_terms(z_in, y, z_oe, alpha, beta, k, m):
    bce = F.binary_cross_entropy_with_logits(z_in, y)
    # The naive forms on purpose (float64, moderate logits): an independent computation.
    conf = (-torch.log(1 - torch.sigmoid(z_oe))).mean()
    e_in = torch.log(1 + torch.exp(z_in)).sum(1)
    e_oe = torch.log(1 + torch.exp(z_oe)).sum(1)
    tail = torch.sort(e_in).values[:k]
    gap = torch.relu(e_oe[:, None] - tail[None, :] + m).mean()
    return bce, conf, gap, bce + alpha * conf + beta * gap


def case(name, z_in, y, z_oe, alpha, beta, k, m):
    z_in = z_in.clone().double().requires_grad_(True)
    z_oe = z_oe.clone().double().requires_grad_(True)
    y = y.double()
    bce, conf, gap, total = edge_terms(z_in, y, z_oe, alpha, beta, k, m)
    total.backward()
    return {
        "name": name, "alpha": alpha, "beta": beta, "k": k, "m": m,
        "logits_in": z_in.detach().tolist(), "targets": y.tolist(), "logits_oe": z_oe.detach().tolist(),
        "bce": bce.item(), "conf": conf.item(), "gap": gap.item(), "total": total.item(),
        "grad_in": z_in.grad.tolist(), "grad_oe": z_oe.grad.tolist(),
    }


def mode_terms(mode, z_in, y, z_oe, m_in=-25.0, m_out=-7.0, l1=0.07, l2=0.05, a_tr=0.7573):
    """The baseline objectives of spec §3, with torch's own building blocks."""
    bce = F.binary_cross_entropy_with_logits(z_in, y)
    ce = F.cross_entropy(z_in, y)  # float (multi-hot) targets: soft-label cross-entropy
    oe = -(z_oe.mean(1) - torch.logsumexp(z_oe, dim=1)).mean()
    e_in, e_out = -torch.logsumexp(z_in, dim=1), -torch.logsumexp(z_oe, dim=1)
    energy = torch.pow(F.relu(e_in - m_in), 2).mean() + torch.pow(F.relu(m_out - e_out), 2).mean()
    if mode == "OEML":
        return {"bce": bce, "oe": oe}, bce + 0.5 * oe
    if mode == "OE":
        return {"ce": ce, "oe": oe}, ce + 0.5 * oe
    if mode == "energyML":
        return {"bce": bce, "energy": energy}, bce + 0.1 * energy
    if mode == "energy":
        return {"ce": ce, "energy": energy}, ce + 0.1 * energy
    if mode == "OECC":
        p_in, p_out = torch.softmax(z_in, 1), torch.softmax(z_oe, 1)
        conf_in = torch.sum((p_in.max(1).values - a_tr) ** 2)
        uniform_out = torch.sum(torch.abs(p_out - 1.0 / z_oe.shape[1]))
        return {"ce": ce, "conf_in": conf_in, "uniform_out": uniform_out}, ce + l1 * conf_in + l2 * uniform_out
    raise ValueError(mode)


def main():
    g = torch.Generator().manual_seed(7)
    cases = []
    # Hand-made logits: 3 ID samples, 2 OE, 2 classes.
    cases.append(case("hand", torch.tensor([[2.0, -1.0], [0.5, 0.5], [-3.0, -2.0]]),
                      torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]),
                      torch.tensor([[-0.5, 1.5], [-4.0, -4.0]]), 1.0, 0.1, 2, 1.0))
    # Random batches, several hyper-parameters; margin 0 and a large margin.
    for i, (b_in, b_oe, c, k, m, alpha, beta) in enumerate(
            [(8, 6, 5, 3, 0.0, 1.0, 0.1), (16, 16, 8, 16, 1.0, 0.5, 1.0), (10, 4, 3, 1, 5.0, 2.0, 0.3)]):
        z_in = torch.randn(b_in, c, generator=g, dtype=torch.float64) * 3
        z_oe = torch.randn(b_oe, c, generator=g, dtype=torch.float64) * 3 - 1
        y = (torch.rand(b_in, c, generator=g, dtype=torch.float64) < 0.3).double()
        cases.append(case(f"random{i}", z_in, y, z_oe, alpha, beta, k, m))
    modes = []
    for mode in ["OEML", "OE", "energyML", "energy", "OECC"]:
        # Logits scaled so that the energy margins (-25, -7) are active on some samples.
        z_in = torch.randn(6, 4, generator=g, dtype=torch.float64) * 12 + 8
        z_oe = torch.randn(5, 4, generator=g, dtype=torch.float64) * 6 + 4
        y = (torch.rand(6, 4, generator=g, dtype=torch.float64) < 0.4).double()
        zi, zo = z_in.clone().requires_grad_(True), z_oe.clone().requires_grad_(True)
        parts, total = mode_terms(mode, zi, y, zo)
        total.backward()
        modes.append({"mode": mode, "logits_in": z_in.tolist(), "targets": y.tolist(), "logits_oe": z_oe.tolist(),
                      "parts": {k: v.item() for k, v in parts.items()}, "total": total.item(),
                      "grad_in": zi.grad.tolist(), "grad_oe": zo.grad.tolist()})
    json.dump({"generator": "scripts/make_loss_goldens.py", "torch": torch.__version__, "cases": cases,
               "modes": modes},
              sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
