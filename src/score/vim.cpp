#include "edge/score/vim.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::score {

int64_t vim_default_dim(int64_t d) {
  if (d >= 2048) return 1000;
  if (d >= 768) return 512;
  return d / 2;
}

VimFit fit_vim(const torch::Tensor& train_hidden, const torch::Tensor& weight, const torch::Tensor& bias, int64_t dim) {
  TORCH_CHECK(train_hidden.dim() == 2 && weight.dim() == 2 && bias.dim() == 1 &&
                  weight.size(1) == train_hidden.size(1) && bias.size(0) == weight.size(0),
              "fit_vim: expected hidden [N, D], weight [C, D], bias [C], got ", train_hidden.sizes(), ", ",
              weight.sizes(), ", ", bias.sizes());
  const int64_t d = train_hidden.size(1);
  VimFit fit;
  fit.dim = dim > 0 ? dim : vim_default_dim(d);
  if (fit.dim < 1 || fit.dim >= d)
    throw UsageError(fmt::format("--vim_dim: expected a principal dimension in [1, {}), got {}", d, fit.dim));
  fit.weight = weight.to(torch::kFloat64);
  fit.bias = bias.to(torch::kFloat64);
  fit.origin = -torch::linalg_pinv(fit.weight, 1e-15).matmul(fit.bias);  // numpy pinv rcond
  const torch::Tensor h = train_hidden.to(torch::kFloat64) - fit.origin;
  const torch::Tensor cov = h.t().matmul(h) / double(h.size(0));
  const torch::Tensor evecs = std::get<1>(torch::linalg_eigh(cov));  // ascending eigenvalues
  fit.null_space = evecs.slice(1, 0, d - fit.dim).contiguous();
  const torch::Tensor logits = train_hidden.to(torch::kFloat64).matmul(fit.weight.t()) + fit.bias;
  const double max_logit = std::get<0>(logits.max(1)).mean().item<double>();
  const double residual = h.matmul(fit.null_space).norm(2, 1).mean().item<double>();
  if (!(residual > 0)) throw NumericError("ViM: the training features have no residual outside the principal space");
  fit.alpha = max_logit / residual;
  return fit;
}

torch::Tensor vim_score(const VimFit& fit, const torch::Tensor& hidden) {
  TORCH_CHECK(hidden.dim() == 2 && hidden.size(1) == fit.weight.size(1), "vim_score: expected hidden [N, ",
              fit.weight.size(1), "], got ", hidden.sizes());
  const torch::Tensor h = hidden.to(torch::kFloat64);
  const torch::Tensor logits = h.matmul(fit.weight.t()) + fit.bias;
  const torch::Tensor residual = (h - fit.origin).matmul(fit.null_space).norm(2, 1);
  return torch::logsumexp(logits, 1) - fit.alpha * residual;
}

}  // namespace edge::score
