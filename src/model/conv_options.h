// Version-neutral access to torch::nn::Conv2dOptions' variant fields (private to src/model).
//
// LibTorch 1.x keeps conv options in c10::variant, 2.x in std::variant: unqualified calls
// find the right get_if / holds_alternative by argument-dependent lookup.
#pragma once

#include <torch/nn/options/conv.h>

namespace edge::model::detail {

// The explicit per-dimension padding, or nullptr for "same" / "valid".
template <typename Padding>
const torch::ExpandingArray<2>* explicit_padding(const Padding& padding) {
  using namespace c10;
  using namespace std;
  return get_if<torch::ExpandingArray<2>>(&padding);
}

// Whether the padding mode is zeros.
template <typename PaddingMode>
bool zero_padding(const PaddingMode& mode) {
  using namespace c10;
  using namespace std;
  return holds_alternative<torch::enumtype::kZeros>(mode);
}

}  // namespace edge::model::detail
