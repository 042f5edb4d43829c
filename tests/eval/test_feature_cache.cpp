// Feature extraction and the on-disk feature cache.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "edge/data/fashion_lt.h"
#include "edge/eval/eval_set.h"
#include "edge/eval/feature_cache.h"
#include "edge/eval/score_files.h"
#include "support/test_support.h"

namespace {

edge::eval::ExtractedSet fake(double v) {
  return {{torch::full({3, 2}, v), torch::full({3, 4}, v + 1), torch::full({3, 5}, v + 2)}, {0, 2, int64_t(v)}};
}

edge::eval::CacheKey key(const std::string& split = "id_test") {
  return {"ckpt0123", "fashion-lt", split, "eval: mean 0.5 std 0.5", "content42"};
}

TEST(FeatureCache, SecondLookupReadsTheFileWithoutExtracting) {
  edge::test::TempDir dir;
  int calls = 0;
  {
    edge::eval::FeatureCache cache(dir.path());
    const auto f = cache.get(key(), [&] { ++calls; return fake(1.0); });
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(cache.misses(), 1);
    EXPECT_TRUE(torch::equal(f.features.logits, fake(1.0).features.logits));
  }
  edge::eval::FeatureCache again(dir.path());  // a later evaluation
  const auto f = again.get(key(), [&] { ++calls; return fake(9.0); });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(again.hits(), 1);
  EXPECT_TRUE(torch::equal(f.features.pooled, fake(1.0).features.pooled));
  EXPECT_TRUE(torch::equal(f.features.hidden, fake(1.0).features.hidden));
  EXPECT_TRUE(torch::equal(f.features.logits, fake(1.0).features.logits));
  EXPECT_EQ(f.rows, fake(1.0).rows);  // which image each row is comes back too
  // Any key field changes the entry.
  auto k = key();
  k.checkpoint = "other";
  again.get(k, [&] { ++calls; return fake(2.0); });
  k = key();
  k.transform = "other transform";
  again.get(k, [&] { ++calls; return fake(3.0); });
  again.get(key("ood_bag"), [&] { ++calls; return fake(4.0); });
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(again.misses(), 3);
}

// A damaged entry (a truncated write, a bad disk) is recomputed and rewritten, not a dead end
// for every later evaluation.
TEST(FeatureCache, AnUnreadableEntryIsRebuilt) {
  edge::test::TempDir dir;
  {
    edge::eval::FeatureCache cache(dir.path());
    cache.get(key(), [&] { return fake(1.0); });
  }
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.path().extension() == ".pt") std::ofstream(e.path(), std::ios::trunc) << "not a torch file";
  edge::eval::FeatureCache again(dir.path());
  int calls = 0;
  const auto f = again.get(key(), [&] { ++calls; return fake(5.0); });
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(again.rebuilt().size(), 1u);
  EXPECT_NE(again.rebuilt()[0].find(".pt"), std::string::npos) << again.rebuilt()[0];
  EXPECT_TRUE(torch::equal(f.features.logits, fake(5.0).features.logits));
  edge::eval::FeatureCache third(dir.path());  // rewritten: a plain hit now
  third.get(key(), [&] { ++calls; return fake(6.0); });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(third.hits(), 1);
}

TEST(FeatureCache, DisabledCacheAlwaysExtracts) {
  edge::eval::FeatureCache cache{std::filesystem::path()};
  int calls = 0;
  cache.get(key(), [&] { ++calls; return fake(1.0); });
  cache.get(key(), [&] { ++calls; return fake(1.0); });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(cache.hits(), 0);
}

// An in-memory set as the evaluation reads it: a memory source (and labels, for ID sets).
edge::data::Dataset memory_set(const torch::Tensor& images, const torch::Tensor& labels = {}) {
  edge::data::Dataset d;
  d.name = "m";
  d.images = edge::data::memory_source(images, "m");
  d.labels = labels;
  return d;
}

TEST(FeatureCache, InMemorySetHashSeesEveryPixelAndLabel) {
  const torch::Tensor images = torch::zeros({2, 1, 4, 4}, torch::kUInt8), labels = torch::zeros({2, 3});
  const edge::data::Dataset a = memory_set(images, labels);
  EXPECT_EQ(edge::eval::dataset_content_hash(a), edge::eval::dataset_content_hash(memory_set(images.clone(), labels)));
  torch::Tensor changed = images.clone();
  changed[1][0][3][3] = 1;
  EXPECT_NE(edge::eval::dataset_content_hash(a), edge::eval::dataset_content_hash(memory_set(changed, labels)));
  torch::Tensor other_labels = labels.clone();
  other_labels[0][2] = 1;
  EXPECT_NE(edge::eval::dataset_content_hash(a), edge::eval::dataset_content_hash(memory_set(images, other_labels)));
  // OOD sets carry no labels.
  EXPECT_NE(edge::eval::dataset_content_hash(a), edge::eval::dataset_content_hash(memory_set(images)));
}

TEST(FeatureCache, ExtractFeaturesMatchesTheForwardPass) {
  edge::model::ModelConfig cfg;
  cfg.width = 4;
  cfg.hidden = 16;
  cfg.num_classes = 3;
  torch::manual_seed(0);
  auto net = edge::model::build_model(cfg);
  net->eval();
  const torch::Tensor images = torch::randint(0, 256, {5, 1, 28, 28}).to(torch::kUInt8);
  edge::data::Transform t;  // no geometric step, gray as it is, fashion-lt's normalisation
  t.name = "gray";
  t.to_rgb = false;
  t.mean = {0.5};
  t.std = {0.5};
  t.normalization = edge::data::Normalization::ScaleShift;
  const auto f = edge::eval::extract_features(net, memory_set(images), t, 2, 1, nullptr);
  torch::NoGradGuard ng;
  const auto x = edge::data::fashion_lt_transform().normalize(images);
  EXPECT_TRUE(torch::allclose(f.logits, net->forward(x), 1e-5, 1e-5));
  EXPECT_EQ(f.pooled.size(0), 5);
  EXPECT_EQ(f.hidden.size(1), 16);
}

TEST(ScoreFiles, RoundTripIsExact) {
  edge::test::TempDir dir;
  const std::vector<double> v = {0.1, -1e-300, 123456.789012345678, 1.0 / 3.0};
  edge::eval::write_score_file(dir.path() / "s" / "x.txt", v);
  EXPECT_EQ(edge::eval::read_score_file(dir.path() / "s" / "x.txt"), v);
}

}  // namespace
