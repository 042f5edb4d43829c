// Scores that perturb the input along the sign of an input gradient (ODIN, Mahalanobis
// with noise), as the reference's get_odin_scores / get_Mahalanobis_score:
//   g = sign>=(grad_x loss) (+1 where the gradient is >= 0, else -1), divided per channel
//   by the normalisation std;  x' = x - eps * g;  the score is recomputed at x'.
// `x` is the NORMALISED network input [B, ch, H, W]; the network callbacks must be in
// eval mode (BatchNorm running statistics), so samples do not interact and the batch
// mean in the reference's loss does not change the sign.
#pragma once

#include <functional>
#include <vector>

#include <torch/types.h>

#include "edge/score/mahalanobis.h"

namespace edge::score {

using NetworkFn = std::function<torch::Tensor(const torch::Tensor&)>;

// sign>=(grad) / std_c: `channel_std` has one entry per input channel, or one for all.
torch::Tensor signed_gradient_step(const torch::Tensor& grad, const std::vector<double>& channel_std);

// ODIN: pseudo-labels y = 1[sigmoid(z / T) >= 0.5]; loss = BCEWithLogits(z, y) at the class
// of max sigmoid(z / T) (Max) or summed over classes (Sum); score = max or sum of
// sigmoid(z(x') / T). logits_fn: normalised input -> logits [B, C]. Returns [B] float64.
torch::Tensor odin_scores(const NetworkFn& logits_fn, const torch::Tensor& x, double temperature, double noise,
                          const std::vector<double>& channel_std, Reduction reduction);

// Mahalanobis with input pre-processing: the class c* of the highest Gaussian score at x;
// loss = (f - mu_c*)' P (f - mu_c*) / 2; score = mahalanobis_score at x'.
// features_fn: normalised input -> pooled features [B, D]. Returns [B] float64.
torch::Tensor mahalanobis_perturbed_scores(const NetworkFn& features_fn, const torch::Tensor& x, const GaussianFit& fit,
                                           double noise, const std::vector<double>& channel_std, Reduction reduction);

}  // namespace edge::score
