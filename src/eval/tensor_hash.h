// A hash of tensors' shapes, dtypes and bytes: part of the feature-cache keys of in-memory
// sets. Private to src/eval.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <vector>

#include <torch/torch.h>


namespace edge::eval {

// 64-bit FNV-1a over a tensor's shape, dtype and bytes, continuing `h`.
uint64_t tensor_fnv1a(const torch::Tensor& t, uint64_t h);

}  // namespace edge::eval
