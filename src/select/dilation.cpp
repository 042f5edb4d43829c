#include "edge/select/dilation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::select {

torch::Tensor batch_singular_values(const torch::Tensor& features) {
  TORCH_CHECK(features.dim() == 2, "batch_singular_values: expected a feature matrix [B, D], got ", features.sizes());
  TORCH_CHECK(features.size(0) >= 1 && features.size(1) >= 1,
              "batch_singular_values: expected a non-empty feature matrix, got ", features.sizes());
  TORCH_CHECK(features.is_floating_point(), "batch_singular_values: expected float features, got ",
              features.scalar_type());
  torch::NoGradGuard no_grad;
  return torch::linalg_svdvals(features.detach().to(torch::kCPU, torch::kFloat64).contiguous());
}

double dilation_distance(const torch::Tensor& s_id, const torch::Tensor& s_oe, int64_t k) {
  TORCH_CHECK(s_id.dim() == 1 && s_oe.dim() == 1, "dilation_distance: expected two 1-D spectra, got ", s_id.sizes(),
              " and ", s_oe.sizes());
  if (k < 1) throw UsageError(fmt::format("--k must be at least 1, got {}", k));
  const int64_t n = std::min(s_id.size(0), s_oe.size(0));
  if (k > n)
    throw UsageError(fmt::format("--k {} exceeds the {} singular values available (a batch of B images with D-dim "
                                 "features has min(B, D); ID spectrum {}, OE spectrum {})",
                                 k, n, s_id.size(0), s_oe.size(0)));
  const torch::Tensor diff = s_id.slice(0, 0, k).to(torch::kFloat64) - s_oe.slice(0, 0, k).to(torch::kFloat64);
  return diff.pow(2).sum().sqrt().item<double>();
}

SelectionRule parse_selection_rule(const std::string& name) {
  if (name == "smallest") return SelectionRule::Smallest;
  if (name == "largest") return SelectionRule::Largest;
  throw UsageError(fmt::format("--rule: expected smallest or largest, got '{}'", name));
}

std::string rule_name(SelectionRule rule) { return rule == SelectionRule::Smallest ? "smallest" : "largest"; }

std::string describe_rule(SelectionRule rule) {
  if (rule == SelectionRule::Smallest)
    return "the candidate with the SMALLEST dilation distance is selected: its top-k batch singular values are "
           "closest to the ID set's";
  return "the candidate with the LARGEST dilation distance is selected: its top-k batch singular values are "
         "farthest from the ID set's";
}

std::vector<int64_t> rank_by_distance(const std::vector<double>& distances, SelectionRule rule) {
  for (size_t i = 0; i < distances.size(); ++i)
    if (!std::isfinite(distances[i]))
      throw NumericError(fmt::format("dilation distance of candidate {} is not finite ({})", i + 1, distances[i]));
  std::vector<size_t> order(distances.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return rule == SelectionRule::Smallest ? distances[a] < distances[b] : distances[a] > distances[b];
  });
  std::vector<int64_t> rank(distances.size());
  for (size_t r = 0; r < order.size(); ++r) rank[order[r]] = static_cast<int64_t>(r + 1);
  return rank;
}

}  // namespace edge::select
