// fashion-lt construction from the installed real data (set up by scripts/setup.sh).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "edge/common/content_hash.h"
#include "edge/common/error.h"
#include "edge/data/fashion_lt.h"

namespace {

using edge::data::FashionLtOptions;

FashionLtOptions small(uint64_t seed) {
  FashionLtOptions o;
  o.id_train = 3000;
  o.id_val = 100;
  o.id_test = 400;
  o.oe_train = 200;
  o.ood_test = 60;
  o.seed = seed;
  return o;
}

const edge::data::Benchmark& bench0() {
  static const edge::data::Benchmark b = edge::data::build_fashion_lt(small(0));
  return b;
}

TEST(FashionLt, ShapesAndSets) {
  const auto& b = bench0();
  EXPECT_EQ(b.num_classes(), 8);
  EXPECT_EQ(edge::data::stack_images(b.id_train).sizes(), (std::vector<int64_t>{3000, 1, 56, 56}));
  EXPECT_EQ(b.id_train.labels.sizes(), (std::vector<int64_t>{3000, 8}));
  EXPECT_EQ(b.id_test.size(), 400);
  EXPECT_EQ(b.oe_train.size(), 200);
  EXPECT_FALSE(b.oe_train.has_labels());
  ASSERT_EQ(b.ood_tests.size(), 3u);
  for (const auto& s : b.ood_tests) EXPECT_EQ(s.size(), 60) << s.name;
  EXPECT_THROW(b.ood("svhn"), edge::UsageError);
}

TEST(FashionLt, EachCanvasHasOneToFourItemsAndLabels) {
  const auto& b = bench0();
  const auto per_image = b.id_train.labels.sum(1);
  EXPECT_GE(per_image.min().item<float>(), 1.f);
  EXPECT_LE(per_image.max().item<float>(), 4.f);
  // Non-empty cells (2x2 grid of 28x28) are between 1 and 4 and at least the label count.
  const auto cells = edge::data::stack_images(b.id_train).view({3000, 2, 28, 2, 28}).amax({2, 4}).gt(0).sum({1, 2});
  EXPECT_TRUE(cells.ge(1).all().item<bool>());
  EXPECT_TRUE(cells.le(4).all().item<bool>());
  EXPECT_TRUE(cells.ge(per_image.to(torch::kLong)).all().item<bool>());
}

TEST(FashionLt, ClassFrequenciesAreLongTailed) {
  const auto& b = bench0();
  const auto counts = b.id_train.labels.sum(0);
  // Head first, tail last: strictly decreasing in expectation; check the ends and ratio.
  EXPECT_GT(counts[0].item<float>(), counts[3].item<float>());
  EXPECT_GT(counts[3].item<float>(), counts[7].item<float>());
  const auto p = edge::data::long_tail_probabilities(8, 50.0);
  EXPECT_NEAR(p[0] / p[7], 50.0, 1e-9);
  EXPECT_GT(counts[0].item<float>() / std::max(1.f, counts[7].item<float>()), 15.f);
}

TEST(FashionLt, DeterministicPerSeedAndSetSizeIndependent) {
  const auto again = edge::data::build_fashion_lt(small(0));
  EXPECT_TRUE(torch::equal(edge::data::stack_images(again.id_train), edge::data::stack_images(bench0().id_train)));
  EXPECT_TRUE(torch::equal(edge::data::stack_images(again.oe_train), edge::data::stack_images(bench0().oe_train)));
  EXPECT_TRUE(torch::equal(edge::data::stack_images(again.ood("textures")), edge::data::stack_images(bench0().ood("textures"))));
  auto other = small(0);
  other.id_train = 500;  // another set's size must not change the test set
  edge::data::FashionLtParts parts;
  parts.oe_train = false;
  parts.ood = {"bag"};
  const auto b2 = edge::data::build_fashion_lt(other, parts);
  EXPECT_TRUE(torch::equal(edge::data::stack_images(b2.id_test), edge::data::stack_images(bench0().id_test)));
  EXPECT_TRUE(torch::equal(edge::data::stack_images(b2.ood("bag")), edge::data::stack_images(bench0().ood("bag"))));
  const auto b3 = edge::data::build_fashion_lt(small(1), parts);
  EXPECT_FALSE(torch::equal(edge::data::stack_images(b3.id_test), edge::data::stack_images(bench0().id_test)));
}

// The canvases of every set at the small sizes, fingerprinted: fashion-lt's construction
// (and so every published fashion-lt figure) must not change when the mosaic builder does.
// Frozen from the builder as of commit 055b660 (before the generic mosaic builder), and
// refrozen once since, deliberately: when JPEG decoding moved from stb_image to libjpeg-turbo
// (Pillow's decoder, issue 19), the photographs' pixels moved by that IDCT's rounding.
TEST(FashionLt, CanvasesAreUnchangedSinceTheFrozenBuild) {
  const auto& b = bench0();
  uint64_t h = edge::kFnvOffset;
  auto add = [&](const edge::data::Dataset& d) {
    const auto images = edge::data::stack_images(d).contiguous();
    h = edge::fnv1a(images.data_ptr(), images.numel(), h);
    if (d.has_labels()) {
      const auto labels = d.labels.contiguous();
      h = edge::fnv1a(labels.data_ptr(), labels.numel() * sizeof(float), h);
    }
  };
  for (const auto* d : {&b.id_train, &b.id_val, &b.id_test, &b.oe_train}) add(*d);
  for (const auto& d : b.ood_tests) add(d);
  EXPECT_EQ(edge::hex64(h), "66fbe4c3616dd2c2");
}

TEST(FashionLt, MissingSourceIsNamed) {
  auto o = small(0);
  o.fashion_dir = "/nonexistent/fashion";
  try {
    edge::data::build_fashion_lt(o);
    FAIL() << "expected DataError";
  } catch (const edge::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/fashion"), std::string::npos);
  }
  EXPECT_THROW(
      {
        edge::data::FashionLtParts p;
        p.ood = {"svhn"};
        edge::data::build_fashion_lt(small(0), p);
      },
      edge::UsageError);
}

}  // namespace
