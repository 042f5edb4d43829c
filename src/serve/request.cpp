#include "edge/serve/request.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "edge/common/error.h"
#include "edge/data/image_io.h"

namespace edge::serve {

namespace {

// The format a declared media type names ("" for none of ours).
std::string declared_format(const std::string& type) {
  if (type == "image/jpeg" || type == "image/jpg" || type == "image/pjpeg") return "jpeg";
  if (type == "image/png") return "png";
  if (type == "image/bmp" || type == "image/x-bmp" || type == "image/x-ms-bmp") return "bmp";
  return "";
}

std::string label(const EncodedImage& image) {
  return image.name.empty() ? std::string("the request body") : fmt::format("part '{}'", image.name);
}

// The content type must name one of the formats we decode and agree with the bytes; a
// multipart part may leave it to the bytes (curl -F sends application/octet-stream for .bmp).
void check_content_type(const EncodedImage& image, const std::string& sniffed) {
  const std::string type = media_type(image.content_type);
  const std::string declared = declared_format(type);
  const bool untyped = image.in_multipart && (type.empty() || type == "application/octet-stream");
  if (declared.empty() && !untyped)
    throw RequestError(415, "unsupported_media_type",
                       fmt::format("{}: content type '{}' is not image/jpeg, image/png or image/bmp", label(image),
                                   image.content_type));
  if (sniffed.empty())
    throw RequestError(422, "not_an_image", fmt::format("{}: not a JPEG, PNG or BMP image", label(image)));
  if (!untyped && declared != sniffed)
    throw RequestError(415, "content_type_mismatch",
                       fmt::format("{}: declared {} but the bytes are a {} image", label(image), type, sniffed));
}

}  // namespace

std::string media_type(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }), t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return t;
}

torch::Tensor decode_request_image(const EncodedImage& image, const ImageLimits& limits) {
  const std::string& b = image.bytes;
  if (b.empty()) throw RequestError(400, "empty_body", fmt::format("{}: empty, expected an image", label(image)));
  check_content_type(image, data::sniff_image_format(b.data(), b.size()));
  data::ImageHeader h;
  try {
    h = data::read_image_header(b.data(), b.size(), label(image));
  } catch (const DataError& e) {
    throw RequestError(422, "not_an_image", e.what());
  }
  // Checked on the declared size, before decoding allocates width * height * 3 bytes.
  if (h.width * h.height > limits.max_pixels)
    throw RequestError(422, "too_many_pixels",
                       fmt::format("{}: the {} declares {}x{} pixels, more than the {} accepted", label(image),
                                   h.format, h.width, h.height, limits.max_pixels));
  if (std::min(h.width, h.height) < limits.min_side)
    throw RequestError(422, "too_small", fmt::format("{}: {}x{} pixels, expected at least {} on each side",
                                                     label(image), h.width, h.height, limits.min_side));
  if (!data::image_is_complete(b.data(), b.size(), h.format))
    throw RequestError(422, "truncated",
                       fmt::format("{}: truncated or damaged {} ({} bytes)", label(image), h.format, b.size()));
  try {
    return data::decode_rgb_image(b.data(), b.size(), label(image));
  } catch (const DataError& e) {
    throw RequestError(422, "corrupt_image", e.what());
  }
}

}  // namespace edge::serve
