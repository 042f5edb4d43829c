// Logit-based OOD scores (spec §5). Higher = more in-distribution.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

namespace edge::score {

enum class ScoreKind {
  EnergySum,  // JointEnergy: sum_c softplus(z_c)
  EnergyMax,  // max_c softplus(z_c)
  MaxLogit,   // max_c z_c
};

// Canonical names accepted on the command line: energy_sum (alias: energy, joint_energy),
// energy_max, max_logit (alias: logit_max). Throws UsageError naming --score_fn otherwise.
ScoreKind parse_score(const std::string& name);
std::string score_name(ScoreKind kind);
std::vector<std::string> score_names();

// logits [N, C] -> scores [N] (same dtype, computed in float64 for reporting).
torch::Tensor compute_score(ScoreKind kind, const torch::Tensor& logits);

}  // namespace edge::score
