#include "edge/score/ood_scores.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::score {

ScoreKind parse_score(const std::string& name) {
  if (name == "energy_sum" || name == "energy" || name == "joint_energy") return ScoreKind::EnergySum;
  if (name == "energy_max") return ScoreKind::EnergyMax;
  if (name == "max_logit" || name == "logit_max") return ScoreKind::MaxLogit;
  throw UsageError(fmt::format("--score_fn: unknown OOD score '{}' (expected one of: {})", name,
                               fmt::join(score_names(), ", ")));
}

std::string score_name(ScoreKind kind) {
  switch (kind) {
    case ScoreKind::EnergySum: return "energy_sum";
    case ScoreKind::EnergyMax: return "energy_max";
    case ScoreKind::MaxLogit: return "max_logit";
  }
  return "?";
}

std::vector<std::string> score_names() { return {"energy_sum", "energy_max", "max_logit"}; }

torch::Tensor compute_score(ScoreKind kind, const torch::Tensor& logits) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) >= 1, "compute_score: expected logits [N, C], got ",
              logits.sizes());
  const torch::Tensor z = logits.to(torch::kFloat64);
  switch (kind) {
    case ScoreKind::EnergySum: return torch::softplus(z).sum(1);
    case ScoreKind::EnergyMax: return std::get<0>(torch::softplus(z).max(1));
    case ScoreKind::MaxLogit: return std::get<0>(z.max(1));
  }
  return {};
}

}  // namespace edge::score
