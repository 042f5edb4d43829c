#include "edge/score/gradnorm.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::score {

torch::Tensor gradnorm_score(const torch::Tensor& hidden, const torch::Tensor& logits, double temperature) {
  TORCH_CHECK(hidden.dim() == 2 && logits.dim() == 2 && hidden.size(0) == logits.size(0),
              "gradnorm_score: expected hidden [N, D] and logits [N, C], got ", hidden.sizes(), " and ", logits.sizes());
  if (!(temperature > 0))
    throw UsageError(fmt::format("--gradnorm_T: expected a positive temperature, got {}", temperature));
  const torch::Tensor z = logits.to(torch::kFloat64);
  const double c = double(z.size(1));
  const torch::Tensor dz = (c * torch::softmax(z / temperature, 1) - 1.0) / temperature;
  return dz.abs().sum(1) * hidden.to(torch::kFloat64).abs().sum(1);
}

}  // namespace edge::score
