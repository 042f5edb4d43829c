#include "edge/data/image_io.h"

#include <cmath>
#include <memory>

#include <fmt/format.h>
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include "edge/common/error.h"

namespace edge::data {

namespace {

// Decodes any stb-readable file to interleaved RGB uint8 [H, W, 3] (gray replicated, alpha
// dropped). Throws DataError naming the file.
torch::Tensor decode_rgb_hwc(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw DataError(fmt::format("image {} not found", path.string()));
  int w = 0, h = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load(path.c_str(), &w, &h, &channels, 3),
                                                   stbi_image_free);
  if (!pixels)
    throw DataError(fmt::format("cannot decode image {}: {}", path.string(), stbi_failure_reason()));
  return torch::from_blob(pixels.get(), {h, w, 3}, torch::kUInt8).clone();
}

}  // namespace

torch::Tensor load_gray_image(const std::filesystem::path& path) {
  const torch::Tensor rgb = decode_rgb_hwc(path);
  torch::Tensor out = torch::empty({rgb.size(0), rgb.size(1)}, torch::kUInt8);
  auto* dst = out.data_ptr<uint8_t>();
  const uint8_t* src = rgb.data_ptr<uint8_t>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i) {
    // Integer form of L = R*299/1000 + G*587/1000 + B*114/1000, rounded.
    const unsigned v = src[3 * i] * 299u + src[3 * i + 1] * 587u + src[3 * i + 2] * 114u;
    dst[i] = static_cast<uint8_t>((v + 500u) / 1000u);
  }
  return out;
}

torch::Tensor load_rgb_image(const std::filesystem::path& path) {
  // stb gives interleaved HWC; the pipeline works on CHW.
  return decode_rgb_hwc(path).permute({2, 0, 1}).contiguous();
}

torch::Tensor resize_short_side(const torch::Tensor& gray, int64_t short_side) {
  TORCH_CHECK(gray.dim() == 2 && gray.scalar_type() == torch::kUInt8,
              "resize_short_side: expected a uint8 [H, W] image, got ", gray.sizes());
  const int64_t h = gray.size(0), w = gray.size(1);
  const double scale = double(short_side) / double(std::min(h, w));
  const int64_t nh = std::max<int64_t>(1, std::lround(h * scale));
  const int64_t nw = std::max<int64_t>(1, std::lround(w * scale));
  torch::Tensor src = gray.contiguous();
  torch::Tensor out = torch::empty({nh, nw}, torch::kUInt8);
  const int ok = stbir_resize_uint8(src.data_ptr<uint8_t>(), int(w), int(h), 0,
                                    out.data_ptr<uint8_t>(), int(nw), int(nh), 0, 1);
  TORCH_CHECK(ok, "resize_short_side: resampling failed for ", gray.sizes());
  return out;
}

}  // namespace edge::data
