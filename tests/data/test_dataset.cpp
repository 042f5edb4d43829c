// The Dataset contract: in-memory and file-backed image sources, RGB decoding.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <torch/torch.h>

#include <fstream>

#include "edge/common/error.h"
#include "edge/data/dataset.h"
#include "edge/data/image_io.h"
#include "support/test_support.h"

namespace {

TEST(ImageSources, FileSourceDecodesRgbAsChwAndNamesCorruptFiles) {
  edge::test::TempDir dir;
  // 3 wide x 2 high, distinct value per pixel and channel.
  std::vector<uint8_t> hwc(2 * 3 * 3);
  for (size_t i = 0; i < hwc.size(); ++i) hwc[i] = static_cast<uint8_t>(10 * i + 1);
  const auto png = dir.path() / "rgb.png";
  ASSERT_TRUE(stbi_write_png(png.c_str(), 3, 2, 3, hwc.data(), 3 * 3));
  const auto broken = dir.path() / "broken.jpg";
  std::ofstream(broken, std::ios::binary) << "\xFF\xD8\xFF truncated";

  const auto source = edge::data::file_source({png, broken});
  ASSERT_EQ(source->size(), 2);
  const torch::Tensor img = source->load(0);
  ASSERT_EQ(img.sizes(), (std::vector<int64_t>{3, 2, 3}));
  for (int64_t y = 0; y < 2; ++y)
    for (int64_t x = 0; x < 3; ++x)
      for (int64_t c = 0; c < 3; ++c)
        EXPECT_EQ(img[c][y][x].item<uint8_t>(), hwc[(y * 3 + x) * 3 + c]);
  EXPECT_EQ(source->describe(1), broken.string());
  try {
    source->load(1);
    FAIL() << "expected DataError";
  } catch (const edge::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("broken.jpg"), std::string::npos) << e.what();
  }
}

TEST(ImageSources, MemorySourceReturnsImagesAndRejectsBadShapes) {
  const auto images = torch::arange(2 * 1 * 2 * 2, torch::kInt64).to(torch::kUInt8).view({2, 1, 2, 2});
  const auto source = edge::data::memory_source(images, "toy");
  ASSERT_EQ(source->size(), 2);
  EXPECT_TRUE(torch::equal(source->load(1), images[1]));
  EXPECT_EQ(source->describe(1), "toy[1]");
  EXPECT_THROW(source->load(2), edge::DataError);
  EXPECT_THROW(edge::data::memory_source(torch::zeros({2, 2, 2, 2}, torch::kUInt8), "two_channels"), c10::Error);
  EXPECT_THROW(edge::data::memory_source(torch::zeros({2, 1, 2, 2}), "float"), c10::Error);
}

}  // namespace
