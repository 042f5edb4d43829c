#include "edge/data/image_set.h"

#include <fmt/format.h>

#include "edge/common/error.h"

namespace edge::data {

const ImageSet& Benchmark::ood(const std::string& set_name) const {
  for (const auto& s : ood_tests)
    if (s.name == set_name) return s;
  std::string known;
  for (const auto& s : ood_tests) known += (known.empty() ? "" : ", ") + s.name;
  throw UsageError(fmt::format("unknown OOD set '{}' for benchmark {} (expected one of: {})",
                               set_name, name, known));
}

torch::Tensor to_float_input(const torch::Tensor& images_u8, double mean, double std) {
  TORCH_CHECK(images_u8.dim() == 4 && images_u8.scalar_type() == torch::kUInt8,
              "to_float_input: expected uint8 [B, C, H, W], got ", images_u8.scalar_type(), " ",
              images_u8.sizes());
  return images_u8.to(torch::kFloat32).mul_(1.0 / (255.0 * std)).sub_(mean / std);
}

}  // namespace edge::data
