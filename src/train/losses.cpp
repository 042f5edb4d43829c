#include "edge/train/losses.h"

#include <fmt/format.h>
#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::train {

namespace F = torch::nn::functional;

const torch::Tensor& LossTerms::part(const std::string& name) const {
  for (const auto& [n, t] : parts)
    if (n == name) return t;
  throw std::out_of_range("loss has no term '" + name + "'");
}

torch::Tensor joint_energy(const torch::Tensor& logits) {
  TORCH_CHECK(logits.dim() == 2, "joint_energy: expected logits [B, C], got ", logits.sizes());
  return torch::softplus(logits).sum(1);
}

LossTerms bce_loss(const torch::Tensor& logits_in, const torch::Tensor& targets) {
  TORCH_CHECK(logits_in.dim() == 2 && logits_in.sizes() == targets.sizes(),
              "bce_loss: expected logits and targets of the same [B, C] shape, got ",
              logits_in.sizes(), " and ", targets.sizes());
  const auto bce = F::binary_cross_entropy_with_logits(logits_in, targets.to(logits_in.scalar_type()));
  return {bce, {{"bce", bce}}};
}

EdgeEnergies edge_energies(const torch::Tensor& logits_in, const torch::Tensor& logits_oe) {
  TORCH_CHECK(logits_oe.defined() && logits_oe.dim() == 2 && logits_oe.size(0) >= 1 &&
                  logits_oe.size(1) == logits_in.size(1),
              "edge loss: expected OE logits [B_oe >= 1, ", logits_in.size(1), "], got ",
              logits_oe.defined() ? logits_oe.sizes() : c10::IntArrayRef{});
  // -log(1 - sigmoid(z)) == softplus(z), computed without overflow.
  return {torch::softplus(logits_oe).mean(), joint_energy(logits_in), joint_energy(logits_oe)};
}

torch::Tensor energy_gap_pairs(const torch::Tensor& e_oe, const torch::Tensor& e_tail, double margin) {
  return torch::relu(e_oe.unsqueeze(1) - e_tail.unsqueeze(0) + margin);
}

void check_bottom_k(int64_t k, int64_t batch, const char* batch_name) {
  if (k < 1 || k > batch)
    throw UsageError(fmt::format("--k: bottom-k must be between 1 and the {} {}, got {}", batch_name, batch, k));
}

LossTerms edge_loss(const torch::Tensor& logits_in, const torch::Tensor& targets,
                    const torch::Tensor& logits_oe, const EdgeLossParams& p) {
  check_bottom_k(p.k, logits_in.size(0), "ID batch size");
  LossTerms t = bce_loss(logits_in, targets);
  const EdgeEnergies e = edge_energies(logits_in, logits_oe);
  // Bottom-k ID energies; topk keeps the autograd path to the selected samples.
  const torch::Tensor tail = std::get<0>(torch::topk(e.e_in, p.k, /*dim=*/0, /*largest=*/false));
  const auto gap = energy_gap_pairs(e.e_oe, tail, p.margin).mean();
  t.total = t.total + p.alpha * e.conf + p.beta * gap;
  t.parts.emplace_back("conf", e.conf);
  t.parts.emplace_back("gap", gap);
  return t;
}

torch::Tensor soft_target_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets) {
  TORCH_CHECK(logits.dim() == 2 && logits.sizes() == targets.sizes(),
              "soft_target_cross_entropy: expected logits and targets of the same [B, C] shape, got ",
              logits.sizes(), " and ", targets.sizes());
  return -(targets.to(logits.scalar_type()) * torch::log_softmax(logits, 1)).sum(1).mean();
}

torch::Tensor uniform_ce(const torch::Tensor& logits_oe) {
  TORCH_CHECK(logits_oe.dim() == 2, "uniform_ce: expected OE logits [B, C], got ", logits_oe.sizes());
  return -(logits_oe.mean(1) - torch::logsumexp(logits_oe, 1)).mean();
}

torch::Tensor energy_margin_loss(const torch::Tensor& logits_in, const torch::Tensor& logits_oe, double m_in,
                                 double m_out) {
  const auto e_in = -torch::logsumexp(logits_in, 1);
  const auto e_out = -torch::logsumexp(logits_oe, 1);
  return torch::relu(e_in - m_in).pow(2).mean() + torch::relu(m_out - e_out).pow(2).mean();
}

}  // namespace edge::train
