// What the service accepts as an image (serve/request.h) and its /metrics text: every bad
// body refused with its status and kind before decoding, good ones decoded exactly as files.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <torch/torch.h>

#include <fstream>
#include <string>

#include "edge/data/image_io.h"
#include "edge/serve/metrics.h"
#include "edge/serve/request.h"
#include "support/test_support.h"

namespace {

using edge::serve::EncodedImage;
using edge::serve::RequestError;

void append(void* ctx, void* data, int n) { static_cast<std::string*>(ctx)->append(static_cast<char*>(data), n); }

torch::Tensor pattern(int h, int w) {  // uint8 [H, W, 3]
  return (torch::arange(h * w * 3, torch::kInt64) * 7 % 251).to(torch::kUInt8).reshape({h, w, 3}).contiguous();
}

std::string png(int h, int w) {
  const torch::Tensor px = pattern(h, w);
  std::string s;
  stbi_write_png_to_func(append, &s, w, h, 3, px.data_ptr<uint8_t>(), w * 3);
  return s;
}

std::string bmp(int h, int w) {
  const torch::Tensor px = pattern(h, w);
  std::string s;
  stbi_write_bmp_to_func(append, &s, w, h, 3, px.data_ptr<uint8_t>());
  return s;
}

std::string jpeg(int h, int w) {
  const torch::Tensor px = pattern(h, w);
  std::string s;
  stbi_write_jpg_to_func(append, &s, w, h, 3, px.data_ptr<uint8_t>(), 90);
  return s;
}

// The refusal of `bytes` as `content_type`: "status kind", or "ok".
std::string refusal(const std::string& bytes, const std::string& content_type, bool multipart = false) {
  try {
    edge::serve::decode_request_image({"x", content_type, multipart, bytes}, edge::serve::ImageLimits{});
  } catch (const RequestError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return std::to_string(e.status()) + " " + e.kind();
  }
  return "ok";
}

TEST(ServeRequest, RefusesEveryBadImageWithItsStatusAndKind) {
  EXPECT_EQ(refusal(png(32, 32), "image/png"), "ok");
  EXPECT_EQ(refusal(jpeg(32, 40), "image/jpeg; charset=binary"), "ok");
  EXPECT_EQ(refusal("", "image/png"), "400 empty_body");
  EXPECT_EQ(refusal("hello, I am text", "image/png"), "422 not_an_image");
  EXPECT_EQ(refusal(png(32, 32), "text/plain"), "415 unsupported_media_type");
  EXPECT_EQ(refusal(png(32, 32), ""), "415 unsupported_media_type");
  EXPECT_EQ(refusal(png(32, 32), "image/jpeg"), "415 content_type_mismatch");
  EXPECT_EQ(refusal(png(32, 32), "application/octet-stream", true), "ok");  // a part's bytes decide
  EXPECT_EQ(refusal("GIF89a.....", "application/octet-stream", true), "422 not_an_image");
  EXPECT_EQ(refusal(png(1, 1), "image/png"), "422 too_small");
  const std::string j = jpeg(64, 64);
  EXPECT_EQ(refusal(j.substr(0, j.size() / 2), "image/jpeg"), "422 truncated");
  const std::string p = png(64, 64);
  EXPECT_EQ(refusal(p.substr(0, p.size() / 2), "image/png"), "422 truncated");  // chunks cut short
  std::string flipped = p;
  flipped[p.find("IDAT") + 6] ^= 0x10;  // a byte of the compressed pixels: its chunk's CRC no longer matches
  EXPECT_EQ(refusal(flipped, "image/png"), "422 truncated");
  EXPECT_EQ(refusal(p.substr(0, 12), "image/png"), "422 not_an_image");  // no whole header
}

TEST(ServeRequest, RefusesADecompressionBombFromItsHeader) {
  // A 16x16 PNG whose IHDR is rewritten to declare 100000 x 100000 (stb does not check the
  // CRC): refused from the header, nothing the size of 30 GB is ever allocated.
  std::string bomb = png(16, 16);
  for (int i : {16, 20}) {
    const uint32_t v = 100000;
    bomb[i] = char(v >> 24), bomb[i + 1] = char(v >> 16 & 0xFF), bomb[i + 2] = char(v >> 8 & 0xFF),
    bomb[i + 3] = char(v & 0xFF);
  }
  const edge::data::ImageHeader h = edge::data::read_image_header(bomb.data(), bomb.size(), "bomb");
  EXPECT_EQ(h.width, 100000);
  EXPECT_EQ(h.height, 100000);
  EXPECT_EQ(refusal(bomb, "image/png"), "422 too_many_pixels");
}

TEST(ServeRequest, DecodesBytesExactlyAsTheSameFile) {
  edge::test::TempDir dir;
  for (const auto& [bytes, name] : {std::pair{png(24, 31), "a.png"}, {jpeg(40, 33), "b.jpg"}, {bmp(17, 29), "c.bmp"}}) {
    std::ofstream(dir.path() / name, std::ios::binary) << bytes;
    // The header's size is the decoded one (read without stb, see image_io.h).
    const edge::data::ImageHeader h = edge::data::read_image_header(bytes.data(), bytes.size(), name);
    const torch::Tensor decoded = edge::data::decode_rgb_image(bytes.data(), bytes.size(), name);
    EXPECT_EQ(h.width, decoded.size(2)) << name;
    EXPECT_EQ(h.height, decoded.size(1)) << name;
    const torch::Tensor from_file = edge::data::load_rgb_image(dir.path() / name);
    const torch::Tensor from_body =
        edge::serve::decode_request_image({name, "", true, bytes}, edge::serve::ImageLimits{});
    EXPECT_TRUE(torch::equal(from_file, from_body)) << name;
  }
}

TEST(ServeMetrics, RendersPrometheusText) {
  edge::serve::Metrics m;
  m.request("/v1/predict", 200);
  m.request("/v1/predict", 200);
  m.error("too_small");
  m.batch(3);
  m.batch(32);
  m.predict_latency(0.004);
  const std::string t = m.prometheus();
  EXPECT_NE(t.find("edge_http_requests_total{path=\"/v1/predict\",code=\"200\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("edge_errors_total{kind=\"too_small\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("edge_images_total 35\n"), std::string::npos);
  EXPECT_NE(t.find("edge_batch_size_bucket{le=\"2\"} 0\n"), std::string::npos);
  EXPECT_NE(t.find("edge_batch_size_bucket{le=\"4\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("edge_batch_size_bucket{le=\"32\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("edge_batch_size_count 2\n"), std::string::npos);
  EXPECT_NE(t.find("edge_predict_latency_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("edge_predict_latency_seconds_bucket{le=\"0.0025\"} 0\n"), std::string::npos);
  EXPECT_EQ(m.requests("/v1/predict", 200), 2);
}

}  // namespace
