// Training objectives (spec §2-3). All take raw logits; energies use softplus so that
// large logits never overflow.
#pragma once

#include <torch/types.h>

namespace edge::train {

// JointEnergy per sample: E(x) = sum_c softplus(z_c). logits [B, C] -> [B].
torch::Tensor joint_energy(const torch::Tensor& logits);

struct EdgeLossParams {
  double alpha = 1.0;   // weight of the OE confidence term
  double beta = 0.1;    // weight of the energy-gap term (already zero during warm-up)
  int64_t k = 50;       // bottom-k lowest-energy ID samples of the batch
  double margin = 1.0;  // m
};

// The individual terms, each a scalar tensor that carries gradients.
struct LossTerms {
  torch::Tensor total;
  torch::Tensor bce;   // BCEWithLogits(z_in, y), mean over B_in x C
  torch::Tensor conf;  // mean over OE samples and classes of softplus(z_oe); undefined if unused
  torch::Tensor gap;   // mean over (OE i, tail j) of relu(E_i - E_j + m); undefined if unused
};

// BCE only (mode `normal`).
LossTerms bce_loss(const torch::Tensor& logits_in, const torch::Tensor& targets);

// EDGE (mode `joint`): L = L_id + alpha * L_conf + beta * L_gap. The gap term is computed
// (and reported) even when beta is 0 so that logs show it during warm-up.
// Throws UsageError if k is not in [1, B_in].
LossTerms edge_loss(const torch::Tensor& logits_in, const torch::Tensor& targets,
                    const torch::Tensor& logits_oe, const EdgeLossParams& params);

}  // namespace edge::train
