#include "edge/score/input_perturbation.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::score {

namespace {

torch::Tensor input_gradient(const torch::Tensor& loss, const torch::Tensor& x) {
  return torch::autograd::grad({loss}, {x}, /*grad_outputs=*/{}, /*retain_graph=*/false, /*create_graph=*/false)[0];
}

}  // namespace

torch::Tensor signed_gradient_step(const torch::Tensor& grad, const std::vector<double>& channel_std) {
  TORCH_CHECK(grad.dim() == 4, "signed_gradient_step: expected [B, ch, H, W], got ", grad.sizes());
  const int64_t ch = grad.size(1);
  TORCH_CHECK(channel_std.size() == 1 || int64_t(channel_std.size()) == ch, "signed_gradient_step: expected 1 or ", ch,
              " channel std values, got ", channel_std.size());
  torch::Tensor g = (grad >= 0).to(grad.scalar_type()) * 2.0 - 1.0;
  std::vector<double> s(ch);
  for (int64_t c = 0; c < ch; ++c) s[c] = channel_std.size() == 1 ? channel_std[0] : channel_std[c];
  const torch::Tensor std_t = torch::tensor(s, grad.options()).view({1, ch, 1, 1});
  return g / std_t;
}

torch::Tensor odin_scores(const NetworkFn& logits_fn, const torch::Tensor& x, double temperature, double noise,
                          const std::vector<double>& channel_std, Reduction reduction) {
  if (!(temperature > 0)) throw UsageError(fmt::format("--T: expected a positive temperature, got {}", temperature));
  if (!(noise >= 0)) throw UsageError(fmt::format("--noise: expected a non-negative magnitude, got {}", noise));
  torch::Tensor xin = x.detach().clone().requires_grad_(true);
  torch::Tensor perturbed;
  {
    torch::AutoGradMode grad_on(true);
    const torch::Tensor z = logits_fn(xin);
    const torch::Tensor y = (torch::sigmoid(z.detach() / temperature) >= 0.5).to(z.scalar_type());
    const torch::Tensor bce = torch::binary_cross_entropy_with_logits(z, y, {}, {}, at::Reduction::None);
    torch::Tensor loss;
    if (reduction == Reduction::Max) {
      const torch::Tensor idx = std::get<1>(torch::sigmoid(z.detach() / temperature).max(1, true));
      loss = bce.gather(1, idx).mean();
    } else {
      loss = bce.sum(1).mean();
    }
    perturbed = x.detach() - noise * signed_gradient_step(input_gradient(loss, xin), channel_std);
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor p = torch::sigmoid(logits_fn(perturbed).to(torch::kFloat64) / temperature);
  return reduction == Reduction::Max ? std::get<0>(p.max(1)) : p.sum(1);
}

torch::Tensor mahalanobis_perturbed_scores(const NetworkFn& features_fn, const torch::Tensor& x, const GaussianFit& fit,
                                           double noise, const std::vector<double>& channel_std, Reduction reduction) {
  if (!(noise >= 0)) throw UsageError(fmt::format("--noise: expected a non-negative magnitude, got {}", noise));
  torch::Tensor xin = x.detach().clone().requires_grad_(true);
  torch::Tensor perturbed;
  {
    torch::AutoGradMode grad_on(true);
    const torch::Tensor f = features_fn(xin).to(torch::kFloat64);
    const torch::Tensor best = std::get<1>(class_gaussian_scores(fit, f.detach()).max(1));
    const torch::Tensor d = f - fit.means.index_select(0, best);
    const torch::Tensor loss = (0.5 * (d.matmul(fit.precision) * d).sum(1)).mean();
    perturbed = x.detach() - noise * signed_gradient_step(input_gradient(loss, xin), channel_std);
  }
  torch::NoGradGuard no_grad;
  return mahalanobis_score(fit, features_fn(perturbed), reduction);
}

}  // namespace edge::score
