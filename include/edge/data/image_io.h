// Decoding image files to 8-bit grayscale and resizing them.
#pragma once

#include <filesystem>

#include <torch/types.h>

namespace edge::data {

// Decodes a JPEG/PNG/BMP/GIF/TGA file to gray uint8 [H, W]. Colour is converted with
// the ITU-R 601 luma weights (the rule PIL's convert("L") uses); alpha is ignored.
// Throws DataError naming the file if it is missing, truncated or not an image.
torch::Tensor load_gray_image(const std::filesystem::path& path);

// Decodes an image file to RGB uint8 [3, H, W] (gray files are replicated, alpha is
// dropped). Throws DataError naming the file if it is missing, truncated or not an image.
torch::Tensor load_rgb_image(const std::filesystem::path& path);

// Resizes a gray uint8 [H, W] image so that its shorter side is `short_side` pixels
// (aspect ratio kept), with a filtered (antialiased) resampler.
torch::Tensor resize_short_side(const torch::Tensor& gray, int64_t short_side);

}  // namespace edge::data
