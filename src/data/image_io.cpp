#include "edge/data/image_io.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <memory>

#include <fmt/format.h>
#include <zlib.h>
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include "edge/common/error.h"
#include "image_decoders.h"

namespace edge::data {

#ifndef EDGE_HAVE_TURBOJPEG
namespace detail {
bool field_decoders_available() { return false; }
torch::Tensor decode_jpeg_hwc(const unsigned char*, size_t, const std::string&, int) { return {}; }
torch::Tensor decode_png_hwc(const unsigned char*, size_t, const std::string&) { return {}; }
}  // namespace detail
#endif

namespace {

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError(fmt::format("cannot read image {}: input/output error", path.string()));
  return bytes;
}

// chw_view: [3, H, W] as a view of the decoders' interleaved buffer (strides {1, 3W, 3}).
enum class Layout { hwc, chw, chw_view };

// stb_image for what the field decoders do not read (BMP; JPEG and PNG too in a build without
// libjpeg-turbo and libpng). [H, W, 3] RGB.
torch::Tensor decode_with_stb(const void* data, size_t size, const std::string& what) {
  int w = 0, h = 0, channels = 0;
  // Any format stb reads can declare a size it would then allocate (found by the image
  // fuzzer: a 4 GB allocation from a few dozen bytes); refused from its header first.
  if (stbi_info_from_memory(static_cast<const stbi_uc*>(data), int(size), &w, &h, &channels) &&
      int64_t{w} * h > kMaxDecodePixels)
    throw DataError(fmt::format("cannot decode image {}: it declares {}x{} pixels, more than the {} a decode accepts",
                                what, w, h, kMaxDecodePixels));
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(static_cast<const stbi_uc*>(data), int(size), &w, &h, &channels, 3), stbi_image_free);
  if (!pixels) throw DataError(fmt::format("cannot decode image {}: {}", what, stbi_failure_reason()));
  return torch::from_blob(pixels.get(), {h, w, 3}, torch::kUInt8).clone();
}

// Decodes a JPEG / PNG / BMP (or another stb-readable file) to RGB uint8, [H, W, 3] as the
// decoders interleave it or [3, H, W]; gray is replicated, alpha dropped. JPEGs are reduced by
// `reduction` (1, 2, 4, 8; other formats ignore it). A truncated or damaged JPEG / PNG / BMP
// is refused before decoding (libjpeg-turbo and stb would decode it leniently). Throws
// DataError naming `what`.
torch::Tensor decode_rgb(const void* data, size_t size, const std::string& what, Layout layout, int reduction = 1) {
  if (size > size_t(std::numeric_limits<int>::max()))
    throw DataError(fmt::format("cannot decode image {}: {} bytes is too large", what, size));
  const std::string format = sniff_image_format(data, size);
  if (!format.empty() && !image_is_complete(data, size, format))
    throw DataError(fmt::format("cannot decode image {}: truncated or damaged {} data", what, format));
  const auto* p = static_cast<const unsigned char*>(data);
  const torch::Tensor hwc = !detail::field_decoders_available() || (format != "jpeg" && format != "png")
                                ? decode_with_stb(data, size, what)
                            : format == "jpeg" ? detail::decode_jpeg_hwc(p, size, what, reduction)
                                               : detail::decode_png_hwc(p, size, what);
  if (layout == Layout::hwc) return hwc;
  return layout == Layout::chw_view ? hwc.permute({2, 0, 1}) : hwc.permute({2, 0, 1}).contiguous();
}

torch::Tensor decode_rgb_file(const std::filesystem::path& path, Layout layout) {
  if (!std::filesystem::exists(path)) throw DataError(fmt::format("image {} not found", path.string()));
  const std::string bytes = read_bytes(path);
  return decode_rgb(bytes.data(), bytes.size(), path.string(), layout);
}

bool starts_with(const unsigned char* p, size_t n, std::initializer_list<unsigned char> sig) {
  if (n < sig.size()) return false;
  size_t i = 0;
  for (unsigned char c : sig)
    if (p[i++] != c) return false;
  return true;
}

// The last start-of-scan marker (FF DA) must be followed by an end-of-image marker (FF D9):
// a file cut inside its entropy-coded data has none. (FF bytes inside scans are stuffed as
// FF 00, so FF D9 there is the real marker.)
bool jpeg_is_complete(const unsigned char* p, size_t n) {
  size_t last_sos = std::string::npos;
  for (size_t i = 0; i + 1 < n; ++i)
    if (p[i] == 0xFF && p[i + 1] == 0xDA) last_sos = i;
  if (last_sos == std::string::npos) return false;
  for (size_t i = last_sos + 2; i + 1 < n; ++i)
    if (p[i] == 0xFF && p[i + 1] == 0xD9) return true;
  return false;
}

uint32_t be16(const unsigned char* p) { return uint32_t(p[0]) << 8 | p[1]; }
uint32_t be32(const unsigned char* p) { return be16(p) << 16 | be16(p + 2); }
uint32_t le16(const unsigned char* p) { return uint32_t(p[1]) << 8 | p[0]; }
uint32_t le32(const unsigned char* p) { return le16(p + 2) << 16 | le16(p); }

// Every chunk (length, type, data, CRC-32 of type + data) whole and with its CRC right, up
// to IEND. stb checks neither, so a flipped byte would decode to wrong pixels silently.
bool png_is_complete(const unsigned char* p, size_t n) {
  for (size_t pos = 8; pos + 12 <= n;) {
    const size_t len = be32(p + pos);
    if (len > n - pos - 12) return false;
    const auto crc = crc32(crc32(0L, Z_NULL, 0), p + pos + 4, static_cast<uInt>(len + 4));
    if (crc != be32(p + pos + 8 + len)) return false;
    if (std::memcmp(p + pos + 4, "IEND", 4) == 0) return true;
    pos += 12 + len;
  }
  return false;
}

// PNG: the IHDR chunk comes first, width and height big-endian.
bool png_size(const unsigned char* p, size_t n, ImageHeader& h) {
  if (n < 24 || std::memcmp(p + 12, "IHDR", 4) != 0) return false;
  h.width = be32(p + 16);
  h.height = be32(p + 20);
  return true;
}

// BMP: the info header after the 14-byte file header; OS/2's 12-byte one has 16-bit sizes,
// the others signed 32-bit ones (a negative height is a top-down image).
bool bmp_size(const unsigned char* p, size_t n, ImageHeader& h) {
  if (n < 26) return false;
  if (le32(p + 14) == 12) {
    h.width = le16(p + 18);
    h.height = le16(p + 20);
  } else {
    h.width = int32_t(le32(p + 18));
    h.height = std::abs(int64_t(int32_t(le32(p + 22))));
  }
  return true;
}

// JPEG: the first start-of-frame marker (C0-CF except DHT C4, JPG C8, DAC CC) holds the size,
// found by walking the marker segments.
bool jpeg_size(const unsigned char* p, size_t n, ImageHeader& h) {
  size_t i = 2;
  while (i + 4 <= n) {
    if (p[i] != 0xFF) return false;
    const unsigned char m = p[i + 1];
    if (m == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // markers without a segment
      i += 2;
      continue;
    }
    if (m == 0xDA || m == 0xD9) return false;  // a scan or the end before any frame
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
      if (i + 9 > n) return false;
      h.height = be16(p + i + 5);
      h.width = be16(p + i + 7);
      return true;
    }
    i += 2 + be16(p + i + 2);
  }
  return false;
}

}  // namespace

std::string sniff_image_format(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (starts_with(p, size, {0xFF, 0xD8, 0xFF})) return "jpeg";
  if (starts_with(p, size, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return "png";
  if (starts_with(p, size, {'B', 'M'})) return "bmp";
  return "";
}

ImageHeader read_image_header(const void* data, size_t size, const std::string& what) {
  ImageHeader h;
  h.format = sniff_image_format(data, size);
  if (h.format.empty()) throw DataError(fmt::format("{}: not a JPEG, PNG or BMP image", what));
  // Read here rather than with stbi_info: stb refuses large declared sizes with a generic
  // "unknown image type", and the caller needs the declared size to say why it refuses.
  const auto* p = static_cast<const unsigned char*>(data);
  const bool ok = h.format == "png" ? png_size(p, size, h) : h.format == "bmp" ? bmp_size(p, size, h)
                                                                               : jpeg_size(p, size, h);
  // PNG's own limit (2^31 - 1, what a signed 32-bit BMP size holds too): beyond it the header
  // is damaged, and width * height must stay an int64 for the callers' pixel limits.
  constexpr int64_t kMaxSide = 0x7fffffff;
  if (!ok || h.width <= 0 || h.height <= 0 || h.width > kMaxSide || h.height > kMaxSide)
    throw DataError(fmt::format("{}: unreadable {} header", what, h.format));
  return h;
}

bool image_is_complete(const void* data, size_t size, const std::string& format) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (format == "jpeg") return jpeg_is_complete(p, size);
  if (format == "png") return png_is_complete(p, size);
  if (format == "bmp" && size >= 6) {
    const uint32_t declared = uint32_t(p[2]) | uint32_t(p[3]) << 8 | uint32_t(p[4]) << 16 | uint32_t(p[5]) << 24;
    return declared == 0 || declared <= size;  // 0: writers may leave the field unset
  }
  return true;
}

torch::Tensor decode_rgb_image(const void* data, size_t size, const std::string& what) {
  return decode_rgb(data, size, what, Layout::chw);
}

torch::Tensor load_gray_image(const std::filesystem::path& path) {
  const torch::Tensor rgb = decode_rgb_file(path, Layout::hwc);
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
  // The decoders give interleaved HWC; the pipeline works on CHW.
  return decode_rgb_file(path, Layout::chw);
}

std::pair<torch::Tensor, int> load_rgb_image_reduced(const std::filesystem::path& path, const ReductionChooser& choose) {
  if (!std::filesystem::exists(path)) throw DataError(fmt::format("image {} not found", path.string()));
  const std::string bytes = read_bytes(path);
  const std::string format = sniff_image_format(bytes.data(), bytes.size());
  if (format.empty()) {  // a format only stb reads: its size is known after decoding
    torch::Tensor img = decode_rgb(bytes.data(), bytes.size(), path.string(), Layout::chw);
    choose(img.size(1), img.size(2));
    return {img, 1};
  }
  const ImageHeader header = read_image_header(bytes.data(), bytes.size(), path.string());
  const int wanted = choose(header.height, header.width);
  TORCH_CHECK(wanted == 1 || wanted == 2 || wanted == 4 || wanted == 8,
              "load_rgb_image_reduced: expected a reduction of 1, 2, 4 or 8, got ", wanted);
  const int r = format == "jpeg" && detail::field_decoders_available() ? wanted : 1;
  return {decode_rgb(bytes.data(), bytes.size(), path.string(), Layout::chw_view, r), r};
}

torch::Tensor resize_short_side(const torch::Tensor& image, int64_t short_side) {
  TORCH_CHECK((image.dim() == 2 || image.dim() == 3) && image.scalar_type() == torch::kUInt8,
              "resize_short_side: expected a uint8 [H, W] or [C, H, W] image, got ", image.sizes());
  const bool planar = image.dim() == 3;
  const int64_t c = planar ? image.size(0) : 1;
  const int64_t h = image.size(planar ? 1 : 0), w = image.size(planar ? 2 : 1);
  const double scale = double(short_side) / double(std::min(h, w));
  const int64_t nh = std::max<int64_t>(1, std::lround(h * scale));
  const int64_t nw = std::max<int64_t>(1, std::lround(w * scale));
  // stb resamples interleaved pixels: [H, W, C].
  torch::Tensor src = planar ? image.permute({1, 2, 0}).contiguous() : image.contiguous();
  torch::Tensor out = torch::empty({nh, nw, c}, torch::kUInt8);
  const int ok = stbir_resize_uint8(src.data_ptr<uint8_t>(), int(w), int(h), 0,
                                    out.data_ptr<uint8_t>(), int(nw), int(nh), 0, int(c));
  TORCH_CHECK(ok, "resize_short_side: resampling failed for ", image.sizes());
  return planar ? out.permute({2, 0, 1}).contiguous() : out.view({nh, nw});
}

}  // namespace edge::data
