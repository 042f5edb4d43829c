#include "edge/score/kl_cooccurrence.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::score {

CooccurrenceTemplates cooccurrence_templates(const torch::Tensor& labels, double smoothing) {
  TORCH_CHECK(labels.dim() == 2, "cooccurrence_templates: expected labels [N, C], got ", labels.sizes());
  if (!(smoothing >= 0)) throw UsageError(fmt::format("--kl_smoothing: expected >= 0, got {}", smoothing));
  const torch::Tensor y = (labels.to(torch::kFloat64) > 0.5).to(torch::kFloat64);
  const torch::Tensor counts = y.t().matmul(y) + smoothing;  // [C, C]
  const torch::Tensor present = torch::nonzero(y.sum(0) > 0).squeeze(1);
  if (present.numel() == 0) throw DataError("KL score: no training image has a positive label");
  if (smoothing == 0 && (counts.index_select(0, present) == 0).any().item<bool>())
    throw UsageError("--kl_smoothing: 0 leaves zero co-occurrences, where the KL divergence is infinite");
  CooccurrenceTemplates t;
  t.classes = present;
  t.q = counts.index_select(0, present);
  t.q = t.q / t.q.sum(1, true);
  return t;
}

torch::Tensor kl_score(const CooccurrenceTemplates& t, const torch::Tensor& logits) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) == t.q.size(1), "kl_score: expected logits [N, ", t.q.size(1),
              "], got ", logits.sizes());
  const torch::Tensor z = logits.to(torch::kFloat64);
  // log p = log sigmoid(z) - log sum sigmoid(z), computed from logsigmoid for stability.
  const torch::Tensor log_s = torch::log_sigmoid(z);
  const torch::Tensor log_p = log_s - torch::logsumexp(log_s, 1, true);
  const torch::Tensor p = log_p.exp();
  // KL(p || q_k) = sum_j p_j log p_j - sum_j p_j log q_kj
  const torch::Tensor kl = (p * log_p).sum(1, true) - p.matmul(t.q.log().t());  // [N, K]
  return -std::get<0>(kl.min(1));
}

}  // namespace edge::score
