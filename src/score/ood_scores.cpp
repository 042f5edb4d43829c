#include "edge/score/ood_scores.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <utility>

#include "edge/common/error.h"

namespace edge::score {

namespace {

const std::vector<std::pair<std::string, ScoreKind>>& canonical() {
  static const std::vector<std::pair<std::string, ScoreKind>> names = {
      {"energy_sum", ScoreKind::EnergySum},       {"energy_max", ScoreKind::EnergyMax},
      {"energy_topk", ScoreKind::EnergyTopK},     {"max_logit", ScoreKind::MaxLogit},
      {"logit_sum", ScoreKind::LogitSum},         {"prob_max", ScoreKind::ProbMax},
      {"prob_sum", ScoreKind::ProbSum},           {"msp", ScoreKind::Msp},
      {"energy_mc", ScoreKind::EnergyMC},         {"odin_max", ScoreKind::OdinMax},
      {"odin_sum", ScoreKind::OdinSum},           {"mahalanobis_max", ScoreKind::MahalanobisMax},
      {"mahalanobis_sum", ScoreKind::MahalanobisSum}, {"lof", ScoreKind::Lof},
      {"isol", ScoreKind::IsolationForest},       {"vim", ScoreKind::Vim},
      {"react", ScoreKind::React},                {"knn", ScoreKind::Knn},
      {"gradnorm", ScoreKind::GradNorm},          {"kl", ScoreKind::Kl},
  };
  return names;
}

}  // namespace

ScoreKind parse_score(const std::string& name) {
  for (const auto& [n, k] : canonical())
    if (n == name) return k;
  static const std::vector<std::pair<std::string, ScoreKind>> aliases = {
      {"energy", ScoreKind::EnergySum},       {"joint_energy", ScoreKind::EnergySum},
      {"logit_max", ScoreKind::MaxLogit},     {"energymc", ScoreKind::EnergyMC},
      {"energyMC", ScoreKind::EnergyMC},      {"M_max", ScoreKind::MahalanobisMax},
      {"M_sum", ScoreKind::MahalanobisSum},   {"isolation_forest", ScoreKind::IsolationForest},
  };
  for (const auto& [n, k] : aliases)
    if (n == name) return k;
  throw UsageError(fmt::format("--score_fn: unknown OOD score '{}' (expected one of: {})", name,
                               fmt::join(score_names(), ", ")));
}

std::string score_name(ScoreKind kind) {
  for (const auto& [n, k] : canonical())
    if (k == kind) return n;
  return "?";
}

std::vector<std::string> score_names() {
  std::vector<std::string> out;
  for (const auto& nk : canonical()) out.push_back(nk.first);
  return out;
}

bool is_logit_score(ScoreKind kind) {
  switch (kind) {
    case ScoreKind::EnergySum:
    case ScoreKind::EnergyMax:
    case ScoreKind::EnergyTopK:
    case ScoreKind::MaxLogit:
    case ScoreKind::LogitSum:
    case ScoreKind::ProbMax:
    case ScoreKind::ProbSum:
    case ScoreKind::Msp:
    case ScoreKind::EnergyMC:
    case ScoreKind::OdinMax:
    case ScoreKind::OdinSum: return true;
    default: return false;
  }
}

torch::Tensor compute_score(ScoreKind kind, const torch::Tensor& logits, const LogitScoreOptions& o) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) >= 1, "compute_score: expected logits [N, C], got ",
              logits.sizes());
  const torch::Tensor z = logits.to(torch::kFloat64);
  switch (kind) {
    case ScoreKind::EnergySum: return torch::softplus(z).sum(1);
    case ScoreKind::EnergyMax: return std::get<0>(torch::softplus(z).max(1));
    case ScoreKind::EnergyTopK: {
      if (o.topk < 1 || o.topk > z.size(1))
        throw UsageError(fmt::format("--topk: expected k in [1, {}] (the number of classes), got {}", z.size(1), o.topk));
      return std::get<0>(torch::softplus(z).topk(o.topk, 1)).sum(1);
    }
    case ScoreKind::MaxLogit: return std::get<0>(z.max(1));
    case ScoreKind::LogitSum: return z.sum(1);
    case ScoreKind::ProbMax: return std::get<0>(torch::sigmoid(z).max(1));
    case ScoreKind::ProbSum: return torch::sigmoid(z).sum(1);
    case ScoreKind::Msp: return std::get<0>(torch::softmax(z, 1).max(1));
    case ScoreKind::EnergyMC: return torch::logsumexp(z, 1);
    case ScoreKind::OdinMax:
    case ScoreKind::OdinSum: {
      if (!(o.temperature > 0)) throw UsageError(fmt::format("--T: expected a positive temperature, got {}", o.temperature));
      const torch::Tensor p = torch::sigmoid(z / o.temperature);
      return kind == ScoreKind::OdinMax ? std::get<0>(p.max(1)) : p.sum(1);
    }
    default: break;
  }
  throw UsageError(fmt::format("score {} needs more than the logits (use score::Scorer)", score_name(kind)));
}

}  // namespace edge::score
