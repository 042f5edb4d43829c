// What `edge serve` accepts as an image, checked before any pixel is decoded: its content
// type, its signature, the size its header declares (a decompression bomb is refused from
// its header), completeness, then the decode itself. Every refusal is a RequestError: an
// HTTP status, a short kind (the JSON error's "error" and /metrics' label) and one line.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include <torch/types.h>

namespace edge::serve {

class RequestError : public std::runtime_error {
 public:
  RequestError(int status, std::string kind, const std::string& message)
      : std::runtime_error(message), status_(status), kind_(std::move(kind)) {}
  int status() const { return status_; }
  const std::string& kind() const { return kind_; }

 private:
  int status_;
  std::string kind_;
};

struct ImageLimits {
  int64_t max_pixels = 40'000'000;  // width * height from the header (about 120 MB decoded)
  int64_t min_side = 8;             // smaller images carry too little to classify (a 1x1 is refused)
};

// One image of a request: the body itself, or one part of a multipart/form-data body.
struct EncodedImage {
  std::string name;          // the part's file name (or field name); "" for a plain body
  std::string content_type;  // as declared
  bool in_multipart = false; // a part may be untyped or application/octet-stream: its bytes decide
  std::string bytes;
};

// The media type of a Content-Type value, lower-cased, parameters dropped.
std::string media_type(const std::string& content_type);

// Decodes `image` to RGB uint8 [3, H, W] exactly as `edge predict` decodes the same bytes
// from a file, after the checks above. Throws RequestError:
//   400 empty_body, 415 unsupported_media_type / content_type_mismatch, 422 not_an_image /
//   too_many_pixels / too_small / truncated / corrupt_image.
torch::Tensor decode_request_image(const EncodedImage& image, const ImageLimits& limits);

}  // namespace edge::serve
