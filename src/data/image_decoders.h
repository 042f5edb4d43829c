// The format decoders behind image_io.h: libjpeg-turbo (TurboJPEG API) for JPEG and libpng
// for PNG, the libraries Pillow decodes with, so that the pixels are Pillow's; stb_image
// for BMP (and, where the build has neither library, for JPEG and PNG too).
#pragma once

#include <cstddef>
#include <string>

#include <torch/types.h>

namespace edge::data::detail {

// Whether the build decodes JPEG with libjpeg-turbo and PNG with libpng (EDGE_HAVE_TURBOJPEG).
bool field_decoders_available();

// A JPEG in memory to RGB uint8 [ceil(H/r), ceil(W/r), 3], r = `reduction` (1, 2, 4 or 8:
// libjpeg-turbo's DCT-domain scaling, what Pillow's draft() uses). Islow IDCT and fancy
// upsampling, Pillow's settings; gray JPEGs are replicated. Throws DataError naming `what`
// (libjpeg-turbo's message), also for more than kMaxDecodePixels declared pixels.
torch::Tensor decode_jpeg_hwc(const unsigned char* data, size_t size, const std::string& what, int reduction);

// A PNG in memory to RGB uint8 [H, W, 3] as Pillow's Image.open(f).convert("RGB") gives it:
// palette expanded, gray replicated (1/2/4-bit gray scaled to 0-255), alpha and tRNS
// dropped without compositing, 16-bit samples cut to their high byte, no gamma applied.
// Throws DataError naming `what` (libpng's message).
torch::Tensor decode_png_hwc(const unsigned char* data, size_t size, const std::string& what);

}  // namespace edge::data::detail
