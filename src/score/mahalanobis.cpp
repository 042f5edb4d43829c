#include "edge/score/mahalanobis.h"

#include <limits>

#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::score {

GaussianFit fit_tied_gaussian(const torch::Tensor& features, const torch::Tensor& labels, double rcond) {
  TORCH_CHECK(features.dim() == 2 && labels.dim() == 2 && features.size(0) == labels.size(0),
              "fit_tied_gaussian: expected features [N, D] and labels [N, C], got ", features.sizes(), " and ",
              labels.sizes());
  const torch::Tensor f = features.to(torch::kFloat64);
  const torch::Tensor y = (labels.to(torch::kFloat64) > 0.5).to(torch::kFloat64);
  const int64_t c = y.size(1), d = f.size(1);
  const torch::Tensor counts = y.sum(0);  // [C]
  GaussianFit fit;
  fit.present.resize(c);
  bool any = false;
  for (int64_t k = 0; k < c; ++k) any |= (fit.present[k] = counts[k].item<double>() > 0);
  if (!any) throw DataError("Mahalanobis: no training image has a positive label");
  fit.means = y.t().matmul(f) / counts.clamp_min(1).unsqueeze(1);  // [C, D]

  // Stacked class-centred rows, one per (image, positive label) pair, in class order.
  std::vector<torch::Tensor> centred;
  for (int64_t k = 0; k < c; ++k) {
    if (!fit.present[k]) continue;
    const torch::Tensor idx = torch::nonzero(y.select(1, k)).squeeze(1);
    centred.push_back(f.index_select(0, idx) - fit.means[k]);
  }
  torch::Tensor x = torch::cat(centred);
  x = x - x.mean(0, true);  // assume_centered=False, as the reference's EmpiricalCovariance
  const torch::Tensor cov = x.t().matmul(x) / double(x.size(0));
  const auto [evals, evecs] = torch::linalg_eigh(cov);
  const double max_abs = evals.abs().max().item<double>();
  const double r = rcond >= 0 ? rcond : double(d) * std::numeric_limits<double>::epsilon();
  const torch::Tensor keep = evals.abs() > r * max_abs;
  fit.dropped_eigenvalues = d - keep.sum().item<int64_t>();
  const torch::Tensor inv = torch::where(keep, 1.0 / evals, torch::zeros_like(evals));
  fit.precision = (evecs * inv.unsqueeze(0)).matmul(evecs.t());
  return fit;
}

torch::Tensor class_gaussian_scores(const GaussianFit& fit, const torch::Tensor& features) {
  TORCH_CHECK(features.dim() == 2 && features.size(1) == fit.means.size(1), "mahalanobis: expected features [N, ",
              fit.means.size(1), "], got ", features.sizes());
  const torch::Tensor f = features.to(torch::kFloat64);
  // -(f - mu)' P (f - mu) / 2 expanded, so no [N, C, D] tensor is formed.
  const torch::Tensor fp = f.matmul(fit.precision);
  const torch::Tensor mp = fit.means.matmul(fit.precision);
  const torch::Tensor quad = (fp * f).sum(1, true) - 2.0 * fp.matmul(fit.means.t()) + (mp * fit.means).sum(1).unsqueeze(0);
  torch::Tensor s = -0.5 * quad;
  for (size_t k = 0; k < fit.present.size(); ++k)
    if (!fit.present[k]) s.select(1, int64_t(k)).fill_(-std::numeric_limits<double>::infinity());
  return s;
}

torch::Tensor mahalanobis_score(const GaussianFit& fit, const torch::Tensor& features, Reduction reduction) {
  const torch::Tensor s = class_gaussian_scores(fit, features);
  if (reduction == Reduction::Max) return std::get<0>(s.max(1));
  return torch::where(torch::isinf(s), torch::zeros_like(s), s).sum(1);
}

}  // namespace edge::score
