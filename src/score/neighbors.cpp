#include "edge/score/neighbors.h"

#include <algorithm>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::score {

Neighbors k_nearest(const torch::Tensor& queries, const torch::Tensor& reference, int64_t k, bool exclude_self) {
  TORCH_CHECK(queries.dim() == 2 && reference.dim() == 2 && queries.size(1) == reference.size(1),
              "k_nearest: expected queries [N, D] and reference [M, D], got ", queries.sizes(), " and ",
              reference.sizes());
  const int64_t m = reference.size(0), extra = exclude_self ? 1 : 0;
  TORCH_CHECK(k >= 1 && k + extra <= m, "k_nearest: expected 1 <= k <= ", m - extra, ", got ", k);
  const torch::Tensor q = queries.to(torch::kFloat64).contiguous();
  const torch::Tensor r = reference.to(torch::kFloat64).contiguous();
  const torch::Tensor r2 = (r * r).sum(1).unsqueeze(0);
  std::vector<torch::Tensor> dist, idx;
  const int64_t block = std::max<int64_t>(1, (int64_t(1) << 24) / std::max<int64_t>(m, 1));
  for (int64_t s = 0; s < q.size(0); s += block) {
    const int64_t e = std::min(q.size(0), s + block);
    const torch::Tensor qb = q.slice(0, s, e);
    const torch::Tensor d2 = ((qb * qb).sum(1, true) + r2 - 2.0 * qb.matmul(r.t())).clamp_min(0.0);
    auto [vals, ind] = d2.topk(k + extra, 1, /*largest=*/false, /*sorted=*/true);
    if (exclude_self) {
      // Drop the query's own index; if it is not among the k+1 (exact duplicates), drop the last.
      const torch::Tensor self = torch::arange(s, e, torch::kLong).unsqueeze(1);
      torch::Tensor is_self = ind == self;
      const torch::Tensor none = is_self.any(1).logical_not();
      is_self.select(1, k).logical_or_(none);
      const torch::Tensor keep = is_self.logical_not();
      vals = vals.masked_select(keep).view({e - s, k});
      ind = ind.masked_select(keep).view({e - s, k});
    }
    dist.push_back(vals.sqrt());
    idx.push_back(ind);
  }
  return {torch::cat(dist), torch::cat(idx)};
}

torch::Tensor knn_score(const torch::Tensor& train_features, const torch::Tensor& features, int64_t k) {
  if (k < 1 || k > train_features.size(0))
    throw UsageError(fmt::format("--knn_k: expected k in [1, {}] (training images), got {}", train_features.size(0), k));
  auto normalise = [](const torch::Tensor& x) {
    const torch::Tensor d = x.to(torch::kFloat64);
    return d / d.norm(2, 1, true).clamp_min(1e-12);
  };
  const Neighbors nn = k_nearest(normalise(features), normalise(train_features), k);
  return -nn.distances.select(1, k - 1);
}

void LocalOutlierFactor::fit(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.size(0) >= 2, "LocalOutlierFactor: expected at least 2 rows [N, D], got ", x.sizes());
  if (n_neighbors_ < 1) throw UsageError(fmt::format("--lof_k: expected a positive number of neighbours, got {}", n_neighbors_));
  fit_x_ = x.to(torch::kFloat64).contiguous();
  k_ = std::min(n_neighbors_, fit_x_.size(0) - 1);  // sklearn caps n_neighbors at n_samples - 1
  const Neighbors nn = k_nearest(fit_x_, fit_x_, k_, /*exclude_self=*/true);
  k_distance_ = nn.distances.select(1, k_ - 1).contiguous();
  // Local reachability density: 1 / (mean reach-dist + 1e-10), reach-dist(a, b) = max(d(a, b), k-distance(b)).
  const torch::Tensor reach = torch::maximum(nn.distances, k_distance_.index({nn.indices}));
  lrd_ = 1.0 / (reach.mean(1) + 1e-10);
}

torch::Tensor LocalOutlierFactor::score_samples(const torch::Tensor& x) const {
  TORCH_CHECK(fit_x_.defined(), "LocalOutlierFactor: score_samples before fit");
  const Neighbors nn = k_nearest(x, fit_x_, k_);
  const torch::Tensor reach = torch::maximum(nn.distances, k_distance_.index({nn.indices}));
  const torch::Tensor lrd = 1.0 / (reach.mean(1) + 1e-10);
  return -(lrd_.index({nn.indices}) / lrd.unsqueeze(1)).mean(1);
}

}  // namespace edge::score
