// The image decoders: JPEG / PNG / BMP from memory (edge serve's path) and from a file (the
// loaders' path), their header reader and the completeness check.
#include <torch/torch.h>

#include "edge/data/image_io.h"
#include "fuzz/fuzz_target.h"

EDGE_FUZZ_TARGET(image) {
  edge::fuzz::clean_errors_only([&] {
    const auto format = edge::data::sniff_image_format(data, size);
    if (!format.empty()) {
      const auto header = edge::data::read_image_header(data, size, "fuzz");
      // The decoder allocates width * height * 3 bytes: bounded here as edge serve bounds it.
      if (header.width * header.height > (int64_t{1} << 22)) return;
      (void)edge::data::image_is_complete(data, size, format);
    }
    const torch::Tensor rgb = edge::data::decode_rgb_image(data, size, "fuzz");
    TORCH_CHECK(rgb.dim() == 3 && rgb.size(0) == 3, "decode_rgb_image gave ", rgb.sizes());
  });
}

EDGE_FUZZ_TARGET(image_file) {
  edge::fuzz::clean_errors_only([&] {
    const auto format = edge::data::sniff_image_format(data, size);
    if (format.empty()) return;  // the in-memory target covers stb's other formats
    const auto header = edge::data::read_image_header(data, size, "fuzz");
    if (header.width * header.height > (int64_t{1} << 22)) return;
    const auto file = edge::fuzz::scratch_file("image." + format, data, size);
    const torch::Tensor gray = edge::data::load_gray_image(file);
    TORCH_CHECK(gray.dim() == 2, "load_gray_image gave ", gray.sizes());
  });
}
