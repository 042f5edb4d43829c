// ReAct (Sun et al. 2021): clip the pooled penultimate activations at a percentile of the
// ID activations, min(f, c) (TRUE clipping; the reference instead zeroes whole channels
// whose mean exceeds a threshold), run the head, then score the logits.
#pragma once

#include <functional>

#include <torch/types.h>

namespace edge::score {

// numpy.percentile(values, q) (linear interpolation) of all elements; q in [0, 100].
double percentile(const torch::Tensor& values, double q);

// head: pooled [B, D] -> logits [B, C] (eval mode). Returns the logits of min(pooled, c).
torch::Tensor react_logits(const std::function<torch::Tensor(const torch::Tensor&)>& head, const torch::Tensor& pooled,
                           double clip, int64_t batch_size = 1024);

}  // namespace edge::score
