#include "eval/tensor_hash.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/content_hash.h"

namespace edge::eval {

uint64_t tensor_fnv1a(const torch::Tensor& t, uint64_t h) {
  if (!t.defined()) return fnv1a_text("undefined", h);
  const torch::Tensor c = t.contiguous();
  h = fnv1a_text(fmt::format("{}:{}", fmt::join(c.sizes().vec(), "x"), static_cast<int>(c.scalar_type())), h);
  return fnv1a(c.data_ptr(), c.numel() * c.element_size(), h);
}

}  // namespace edge::eval
