#include "image_decoders.h"

#ifdef EDGE_HAVE_TURBOJPEG

#include <csetjmp>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <png.h>

#include "edge/common/error.h"
#include "edge/data/image_io.h"

namespace edge::data::detail {

namespace {

// libpng reports errors by longjmp. The jumps land in read_info / read_rows, which hold no
// C++ objects with destructors (a longjmp over one is undefined behaviour); everything else
// lives in PngReader, outside them.
struct PngReader {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const unsigned char* data;
  size_t size, pos = 8;  // after the signature, which the caller has checked
  char message[256] = "";

  PngReader(const unsigned char* d, size_t n) : data(d), size(n) {
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, this, on_error, on_warning);
    if (png) info = png_create_info_struct(png);
  }
  ~PngReader() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
  PngReader(const PngReader&) = delete;
  PngReader& operator=(const PngReader&) = delete;

  static void on_error(png_structp p, png_const_charp msg) {
    auto* self = static_cast<PngReader*>(png_get_error_ptr(p));
    std::snprintf(self->message, sizeof self->message, "%s", msg);
    png_longjmp(p, 1);
  }
  static void on_warning(png_structp, png_const_charp) {}  // ancillary-chunk trouble: decode on, as Pillow
  static void on_read(png_structp p, png_bytep out, size_t n) {
    auto* self = static_cast<PngReader*>(png_get_io_ptr(p));
    if (n > self->size - self->pos) png_error(p, "unexpected end of data");
    std::memcpy(out, self->data + self->pos, n);
    self->pos += n;
  }
};

// The header, then the transformations to 8-bit RGB (Pillow's convert("RGB")). False with
// reader.message set on an error.
bool read_info(PngReader& r, png_uint_32& width, png_uint_32& height) {
  if (setjmp(png_jmpbuf(r.png))) return false;
  png_set_read_fn(r.png, &r, PngReader::on_read);
  png_set_sig_bytes(r.png, 8);
  png_set_user_limits(r.png, 0x7fffffff, 0x7fffffff);
  png_read_info(r.png, r.info);
  width = png_get_image_width(r.png, r.info);
  height = png_get_image_height(r.png, r.info);
  if (uint64_t{width} * height > uint64_t(kMaxDecodePixels)) {
    std::snprintf(r.message, sizeof r.message, "it declares %ux%u pixels, more than the %lld a decode accepts",
                  unsigned(width), unsigned(height), static_cast<long long>(kMaxDecodePixels));
    return false;
  }
  const int color = png_get_color_type(r.png, r.info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(r.png);
  if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(r.png, r.info) < 8) png_set_expand_gray_1_2_4_to_8(r.png);
  if (png_get_bit_depth(r.png, r.info) == 16) png_set_strip_16(r.png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(r.png);
  // A palette's tRNS chunk becomes an alpha channel under palette_to_rgb; dropped with the
  // real ones (convert("RGB") ignores transparency).
  if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(r.png, r.info, PNG_INFO_tRNS)) png_set_strip_alpha(r.png);
  png_set_interlace_handling(r.png);
  png_read_update_info(r.png, r.info);
  if (png_get_rowbytes(r.png, r.info) != size_t{width} * 3) {
    std::snprintf(r.message, sizeof r.message, "unexpected PNG pixel layout");
    return false;
  }
  return true;
}

bool read_rows(PngReader& r, png_bytepp rows) {
  if (setjmp(png_jmpbuf(r.png))) return false;
  png_read_image(r.png, rows);
  png_read_end(r.png, nullptr);
  return true;
}

}  // namespace

torch::Tensor decode_png_hwc(const unsigned char* data, size_t size, const std::string& what) {
  PngReader r(data, size);
  if (!r.png || !r.info) throw DataError(fmt::format("cannot decode image {}: out of memory", what));
  png_uint_32 width = 0, height = 0;
  if (!read_info(r, width, height)) throw DataError(fmt::format("cannot decode image {}: {}", what, r.message));
  torch::Tensor hwc = torch::empty({int64_t(height), int64_t(width), 3}, torch::kUInt8);
  std::vector<png_bytep> rows(height);
  for (png_uint_32 y = 0; y < height; ++y) rows[y] = hwc.data_ptr<uint8_t>() + size_t{y} * width * 3;
  if (!read_rows(r, rows.data())) throw DataError(fmt::format("cannot decode image {}: {}", what, r.message));
  return hwc;
}

}  // namespace edge::data::detail

#endif  // EDGE_HAVE_TURBOJPEG
