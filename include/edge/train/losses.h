// Training objectives (spec §2-3). All take raw logits; energies use softplus /
// logsumexp so that large logits never overflow.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace edge::train {

// JointEnergy per sample: E(x) = sum_c softplus(z_c). logits [B, C] -> [B].
torch::Tensor joint_energy(const torch::Tensor& logits);

// A loss and its named terms (each a scalar tensor carrying gradients), in log order.
struct LossTerms {
  torch::Tensor total;
  std::vector<std::pair<std::string, torch::Tensor>> parts;
  // The term called `name`; throws std::out_of_range if the objective has none.
  const torch::Tensor& part(const std::string& name) const;
};

// The defaults here are the project's (TrainConfig takes them from this struct): EDGE's
// recipe with the reference's flag defaults.
struct EdgeLossParams {
  double alpha = 1.0;   // weight of the OE confidence term
  double beta = 0.1;    // weight of the energy-gap term (already zero during warm-up)
  int64_t k = 32;       // bottom-k lowest-energy ID samples of the batch
  double margin = 1.0;  // m
};

// BCE only (mode `normal`): parts {bce}.
LossTerms bce_loss(const torch::Tensor& logits_in, const torch::Tensor& targets);

// EDGE (mode `joint`): L = L_id + alpha * L_conf + beta * L_gap, parts {bce, conf, gap}.
//   L_id   = BCEWithLogits(z_in, y), mean over B_in x C
//   L_conf = mean over OE samples and classes of softplus(z_oe)  (= -log(1 - sigmoid(z)))
//   L_gap  = mean over (OE i, bottom-k ID j) of relu(E_i - E_j + m)
// The gap term is computed (and reported) even when beta is 0, so logs show it during
// warm-up. Throws UsageError if k is not in [1, B_in].
LossTerms edge_loss(const torch::Tensor& logits_in, const torch::Tensor& targets,
                    const torch::Tensor& logits_oe, const EdgeLossParams& params);

// EDGE's pieces, shared by edge_loss and its data-parallel form (data_parallel.h), which
// differ only in which batch (the process's or the global one) each piece sees.
// The energies of one forward pass: JointEnergy of the ID and OE logits, and L_conf.
struct EdgeEnergies {
  torch::Tensor conf, e_in, e_oe;
};
EdgeEnergies edge_energies(const torch::Tensor& logits_in, const torch::Tensor& logits_oe);
// The hinge of every (OE i, tail j) pair, relu(E_oe[i] - E_tail[j] + m): [B_oe, k].
torch::Tensor energy_gap_pairs(const torch::Tensor& e_oe, const torch::Tensor& e_tail, double margin);
// Throws UsageError naming --k unless 1 <= k <= batch (`batch_name` says which batch).
void check_bottom_k(int64_t k, int64_t batch, const char* batch_name);

// Softmax cross-entropy with (multi-hot) soft targets, as PyTorch's F.cross_entropy with
// float targets: mean over samples of -sum_c y_c log_softmax(z)_c.
torch::Tensor soft_target_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets);

// Outlier-exposure term: mean over OE samples of -(mean_c z - logsumexp_c z), the
// cross-entropy of softmax(z) to the uniform distribution.
torch::Tensor uniform_ce(const torch::Tensor& logits_oe);

// Energy fine-tuning term (Liu et al. 2020) with E = -logsumexp(z):
// mean relu(E_in - m_in)^2 + mean relu(m_out - E_out)^2.
torch::Tensor energy_margin_loss(const torch::Tensor& logits_in, const torch::Tensor& logits_oe, double m_in,
                                 double m_out);

}  // namespace edge::train
