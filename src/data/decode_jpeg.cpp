#include "image_decoders.h"

#ifdef EDGE_HAVE_TURBOJPEG

#include <memory>

#include <fmt/format.h>
#include <turbojpeg.h>

#include "edge/common/error.h"
#include "edge/data/image_io.h"

namespace edge::data::detail {

bool field_decoders_available() { return true; }

torch::Tensor decode_jpeg_hwc(const unsigned char* data, size_t size, const std::string& what, int reduction) {
  TORCH_CHECK(reduction == 1 || reduction == 2 || reduction == 4 || reduction == 8,
              "decode_jpeg_hwc: expected a reduction of 1, 2, 4 or 8, got ", reduction);
  // One handle per call: a TurboJPEG handle is not thread-safe, and creating one costs
  // microseconds against the milliseconds of a decode.
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  if (!tj) throw DataError(fmt::format("cannot decode image {}: {}", what, tjGetErrorStr2(nullptr)));
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.get(), data, static_cast<unsigned long>(size), &width, &height, &subsampling,
                          &colorspace) != 0)
    throw DataError(fmt::format("cannot decode image {}: {}", what, tjGetErrorStr2(tj.get())));
  if (int64_t{width} * height > kMaxDecodePixels)
    throw DataError(fmt::format("cannot decode image {}: it declares {}x{} pixels, more than the {} a decode accepts",
                                what, width, height, kMaxDecodePixels));
  const tjscalingfactor factor{1, reduction};
  const int w = TJSCALED(width, factor), h = TJSCALED(height, factor);
  torch::Tensor hwc = torch::empty({h, w, 3}, torch::kUInt8);
  // Width and height ask for the scaling factor whose output fits them: exactly 1/reduction.
  // Warnings (e.g. extraneous bytes before a marker) decode on, as Pillow does; truncation
  // is refused before this call (image_is_complete).
  if (tjDecompress2(tj.get(), data, static_cast<unsigned long>(size), hwc.data_ptr<uint8_t>(), w, 0, h, TJPF_RGB, 0) !=
          0 &&
      tjGetErrorCode(tj.get()) == TJERR_FATAL)
    throw DataError(fmt::format("cannot decode image {}: {}", what, tjGetErrorStr2(tj.get())));
  return hwc;
}

}  // namespace edge::data::detail

#endif  // EDGE_HAVE_TURBOJPEG
