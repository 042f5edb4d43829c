// GradNorm (Huang et al. 2021) per sample, with the reference's loss
// (iterate_data_gradnorm): L(x) = sum_c -log softmax(z / T)_c (all-ones targets), and the
// score = sum |dL / dW| over the head's last Linear weight W (z = W h + b). Higher = more ID.
// The gradient is the outer product (C softmax(z/T) - 1) / T  x  h, so its L1 norm is
//   (1/T) sum_c |C softmax(z/T)_c - 1|  *  sum_k |h_k|
// which is what this computes (no backward pass; tests check it against autograd).
// The reference computes one number per BATCH (a defect); this is per sample.
#pragma once

#include <torch/types.h>

namespace edge::score {

// hidden [N, D] (the last layer's input) and logits [N, C] -> [N] float64.
torch::Tensor gradnorm_score(const torch::Tensor& hidden, const torch::Tensor& logits, double temperature = 1.0);

}  // namespace edge::score
