#include "edge/score/react.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::score {

double percentile(const torch::Tensor& values, double q) {
  if (!(q >= 0 && q <= 100)) throw UsageError(fmt::format("--react_percentile: expected a value in [0, 100], got {}", q));
  TORCH_CHECK(values.numel() >= 1, "percentile: expected a non-empty tensor");
  const torch::Tensor v = values.to(torch::kFloat64).contiguous().view({-1});
  std::vector<double> x(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
  const double pos = q / 100.0 * double(x.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  std::nth_element(x.begin(), x.begin() + lo, x.end());
  const double a = x[lo];
  if (lo + 1 >= x.size()) return a;
  const double b = *std::min_element(x.begin() + lo + 1, x.end());
  return a + (b - a) * (pos - double(lo));
}

torch::Tensor react_logits(const std::function<torch::Tensor(const torch::Tensor&)>& head, const torch::Tensor& pooled,
                           double clip, int64_t batch_size) {
  TORCH_CHECK(pooled.dim() == 2, "react_logits: expected pooled features [N, D], got ", pooled.sizes());
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (int64_t s = 0; s < pooled.size(0); s += batch_size)
    out.push_back(head(pooled.slice(0, s, std::min(pooled.size(0), s + batch_size)).clamp_max(clip)));
  return torch::cat(out);
}

}  // namespace edge::score
