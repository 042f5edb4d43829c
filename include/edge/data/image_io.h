// Decoding image files to 8-bit grayscale and resizing them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>

#include <torch/types.h>

namespace edge::data {

// Decodes a JPEG/PNG/BMP/GIF/TGA file to gray uint8 [H, W]. Colour is converted with
// the ITU-R 601 luma weights (the rule PIL's convert("L") uses); alpha is ignored.
// Throws DataError naming the file if it is missing, truncated or not an image.
torch::Tensor load_gray_image(const std::filesystem::path& path);

// Decodes an image file to RGB uint8 [3, H, W] (gray files are replicated, alpha is
// dropped). Throws DataError naming the file if it is missing, truncated or not an image.
// JPEG and PNG are decoded with libjpeg-turbo and libpng, Pillow's own decoders, with its
// settings: the pixels are Image.open(f).convert("RGB")'s (tests/data/test_decoders_vs_pillow).
torch::Tensor load_rgb_image(const std::filesystem::path& path);

// Chooses a decode reduction from the full {height, width} an image file declares: 1, 2, 4 or 8.
using ReductionChooser = std::function<int(int64_t height, int64_t width)>;

// load_rgb_image with the decode reduced where the format allows it: `choose` is called once
// with the size the file declares (before decoding), and a JPEG is then decoded at 1/r of it
// in libjpeg-turbo's DCT domain (r = choose's answer; what Pillow's draft() does), to
// [3, ceil(H/r), ceil(W/r)]; other formats decode at full size. Returns the image and the
// reduction applied (1 where the format has none). The image of a JPEG or PNG is a view of the
// decoder's interleaved pixels (strides {1, 3W, 3}, no transposing copy; resized_crop reads it
// in place); .contiguous() where planar memory is needed.
std::pair<torch::Tensor, int> load_rgb_image_reduced(const std::filesystem::path& path, const ReductionChooser& choose);

// An encoded image's format and size as its header declares them, read without decoding.
// The most pixels a decode accepts (2^27, 134 megapixels: above the largest camera photos),
// checked on the declared size before anything is allocated for it.
inline constexpr int64_t kMaxDecodePixels = int64_t{1} << 27;

struct ImageHeader {
  std::string format;  // "jpeg" | "png" | "bmp"
  int64_t width = 0, height = 0;
};

// The format of encoded bytes by their signature: "jpeg", "png", "bmp", or "" for anything
// else (only the formats `edge predict` reads are recognised).
std::string sniff_image_format(const void* data, size_t size);

// Reads the header of a JPEG/PNG/BMP in memory, so that a caller can refuse an image by its
// declared size before decoding allocates for it. Throws DataError naming `what` when the
// bytes are none of these formats or the header cannot be read, or declares a side above
// 2^31 - 1 (so width * height never overflows).
ImageHeader read_image_header(const void* data, size_t size, const std::string& what);

// Whether an encoded image is whole: a JPEG must end its last scan with the end-of-image
// marker, a BMP must hold the file size its header declares (stb decodes both leniently,
// filling a truncated tail with zeros), and every PNG chunk up to IEND must be there with
// a right CRC-32 (stb checks none, so a flipped byte would decode to wrong pixels).
// load_*_image and decode_rgb_image refuse what fails this.
bool image_is_complete(const void* data, size_t size, const std::string& format);

// Decodes a JPEG/PNG/BMP in memory to RGB uint8 [3, H, W], the same pixels load_rgb_image
// gives for the same bytes in a file. Throws DataError naming `what` if it cannot be decoded.
torch::Tensor decode_rgb_image(const void* data, size_t size, const std::string& what);

// Resizes a uint8 [H, W] (gray) or [C, H, W] image so that its shorter side is `short_side`
// pixels (aspect ratio kept), with a filtered (antialiased) resampler.
torch::Tensor resize_short_side(const torch::Tensor& image, int64_t short_side);

}  // namespace edge::data
