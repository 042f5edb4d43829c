// KL score against label co-occurrence templates, a multi-label form of KL matching
// (Hendrycks et al. 2022). The reference code has no KL score; this definition is ours:
//   template q_k(j) ∝ #{training images labelled both k and j} + smoothing   (rows sum to 1;
//                     the diagonal holds #images labelled k),
//   p(x)(j) = sigmoid(z_j) / sum_i sigmoid(z_i),
//   score(x) = -min_k KL(p(x) || q_k) over classes k with a training positive.
// Higher = more in-distribution.
#pragma once

#include <torch/types.h>

namespace edge::score {

struct CooccurrenceTemplates {
  torch::Tensor q;        // [K, C] float64, one row per class with a training positive
  torch::Tensor classes;  // [K] int64: the class of each row
};

// labels [N, C] multi-hot; smoothing >= 0 is added to every count (Laplace: 1).
CooccurrenceTemplates cooccurrence_templates(const torch::Tensor& labels, double smoothing = 1.0);

torch::Tensor kl_score(const CooccurrenceTemplates& templates, const torch::Tensor& logits);

}  // namespace edge::score
