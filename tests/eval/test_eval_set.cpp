// Evaluation image sets: feature extraction through the input pipeline, the perturbation
// scores' input batches, the content hash of file-backed sets, deterministic subsamples.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "edge/common/error.h"
#include "edge/data/registry.h"
#include "edge/eval/eval_set.h"
#include "edge/train/predict.h"
#include "edge/model/multilabel_net.h"
#include "edge/score/input_perturbation.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

edge::model::MultiLabelNet tiny_net(int64_t in_channels = 3) {
  edge::model::ModelConfig cfg;
  cfg.in_channels = in_channels;
  cfg.width = 4;
  cfg.hidden = 8;
  cfg.num_classes = 3;
  torch::manual_seed(0);
  auto net = edge::model::build_model(cfg);
  net->eval();
  return net;
}

// Three readable images of different sizes and formats, and a corrupt one in the middle.
edge::data::Dataset folder_with_corrupt_image(const fs::path& dir) {
  const fs::path src = edge::test::fixtures_dir() / "datasets";
  fs::copy_file(src / "folder" / "a.png", dir / "1.png");
  fs::copy_file(src / "corrupt" / "bad.jpg", dir / "2.jpg");
  fs::copy_file(src / "folder" / "sub" / "b.JPG", dir / "3.jpg");
  fs::copy_file(src / "folder" / "sub" / "deeper" / "c.bmp", dir / "4.bmp");
  return edge::data::open_dataset("folder:" + dir.string(), "", "test");
}

TEST(EvalSet, DatasetFeaturesGiveTheLogitsOfPredictLogits) {
  edge::test::TempDir tmp;
  const edge::data::Dataset set = folder_with_corrupt_image(tmp.path());
  ASSERT_EQ(set.size(), 4);
  auto net = tiny_net();
  const edge::data::Transform t = edge::data::reference_eval_transform(24);
  std::ostringstream w1, w2;
  std::vector<int64_t> kept_f, kept_p;
  const auto f = edge::eval::extract_features(net, set, t, 2, 2, &w1, &kept_f);
  const auto logits = edge::train::predict_logits(net, set, t, 2, 2, &w2, &kept_p);
  EXPECT_TRUE(torch::equal(f.logits, logits));
  EXPECT_EQ(kept_f, kept_p);
  EXPECT_EQ(kept_f.size(), 3u);
  EXPECT_EQ(std::count(kept_f.begin(), kept_f.end(), 1), 0) << "the corrupt image must be left out";
  EXPECT_NE(w1.str().find("2.jpg"), std::string::npos) << w1.str();
  EXPECT_EQ(f.pooled.size(0), 3);
  EXPECT_EQ(f.hidden.size(1), 8);
}

TEST(EvalSet, InputBatchesArePreprocessedAsTheExtractedFeatures) {
  edge::test::TempDir tmp;
  auto rgb_net = tiny_net(3), gray_net = tiny_net(1);
  torch::NoGradGuard no_grad;
  std::ostringstream warnings;
  const auto file_set =
      edge::eval::dataset_eval_set(folder_with_corrupt_image(tmp.path()), edge::data::reference_eval_transform(24), 1,
                                   &warnings);
  edge::data::Dataset mem;
  mem.name = "m";
  mem.images = edge::data::memory_source(torch::randint(0, 256, {5, 1, 20, 20}).to(torch::kUInt8), "m");
  mem.labels = torch::ones({5, 3});
  edge::data::Transform gray;  // in memory, gray, (x/255 - 0.3) / 0.4
  gray.name = "gray";
  gray.to_rgb = false;
  gray.mean = {0.3};
  gray.std = {0.4};
  const auto mem_set = edge::eval::dataset_eval_set(mem, gray, 1, &warnings);
  for (const auto* set : {file_set.get(), mem_set.get()}) {
    auto& net = set == file_set.get() ? rgb_net : gray_net;
    const edge::eval::ExtractedSet e = set->extract(net, 2);
    const edge::score::InputBatches b = set->inputs(e.rows, 2);
    ASSERT_EQ(b.count, (static_cast<int64_t>(e.rows.size()) + 1) / 2) << set->name();
    std::vector<torch::Tensor> logits;
    for (int64_t i = 0; i < b.count; ++i) logits.push_back(net->forward(b.batch(i)));
    EXPECT_TRUE(torch::allclose(torch::cat(logits), e.features.logits, 1e-5, 1e-6)) << set->name();
    EXPECT_TRUE(torch::equal(b.batch(0), b.batch(0))) << set->name();  // out of order: the reader restarts
    EXPECT_TRUE(torch::allclose(net->forward(b.batch(1)), logits[1], 1e-5, 1e-6)) << set->name();
  }
  EXPECT_EQ(file_set->channel_std(), (std::vector<double>{0.229, 0.224, 0.225}));
  EXPECT_EQ(mem_set->channel_std(), (std::vector<double>{0.4}));
}

TEST(EvalSet, FileContentHashSeesPathsSizesAndTimes) {
  edge::test::TempDir tmp;
  const edge::data::Dataset set = folder_with_corrupt_image(tmp.path());
  const std::string h = edge::eval::dataset_content_hash(set);
  EXPECT_EQ(h, edge::eval::dataset_content_hash(set));
  EXPECT_EQ(h.size(), 16u);
  EXPECT_NE(h, edge::eval::dataset_content_hash(edge::data::subset(set, {0, 1, 2})));
  const fs::path f = tmp.path() / "3.jpg";
  fs::last_write_time(f, fs::last_write_time(f) + std::chrono::seconds(5));
  EXPECT_NE(h, edge::eval::dataset_content_hash(set));
  // Generated images: their pixels.
  const auto noise = edge::data::open_dataset("noise-uniform:4", "", "test");
  EXPECT_EQ(edge::eval::dataset_content_hash(noise), edge::eval::dataset_content_hash(noise));
  EXPECT_NE(edge::eval::dataset_content_hash(noise),
            edge::eval::dataset_content_hash(edge::data::open_dataset("noise-gaussian:4", "", "test")));
}

TEST(EvalSet, EvenSubsampleAndSubset) {
  EXPECT_EQ(edge::data::even_subsample(10, 3), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(edge::data::even_subsample(4, 0), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(edge::data::even_subsample(3, 7), (std::vector<int64_t>{0, 1, 2}));
  edge::data::Dataset d;
  d.name = "d";
  d.images = edge::data::memory_source(torch::arange(4, torch::kUInt8).view({4, 1, 1, 1}), "d");
  d.labels = torch::eye(4);
  const auto s = edge::data::subset(d, {3, 1});
  ASSERT_EQ(s.size(), 2);
  EXPECT_EQ(s.images->load(0).item<uint8_t>(), 3);
  EXPECT_EQ(s.images->describe(1), "d[1]");
  EXPECT_TRUE(torch::equal(s.labels, torch::eye(4).index_select(0, torch::tensor({3, 1}))));
  EXPECT_THROW(edge::data::subset(d, {4}), edge::DataError);
}

TEST(EvalSet, PerturbationStepDividesEachRgbChannelByItsStd) {
  // The registry transform normalises three channels with ImageNet's std.
  const torch::Tensor grad = torch::tensor({1.0, -2.0, 0.0, -0.5, 3.0, -1.0}).view({1, 3, 1, 2});
  const torch::Tensor g = edge::score::signed_gradient_step(grad, {0.229, 0.224, 0.225});
  const torch::Tensor expect =
      torch::tensor({1 / 0.229, -1 / 0.229, 1 / 0.224, -1 / 0.224, 1 / 0.225, -1 / 0.225}, torch::kFloat64)
          .view({1, 3, 1, 2});
  EXPECT_TRUE(torch::allclose(g.to(torch::kFloat64), expect, 1e-6, 1e-6)) << g;
  EXPECT_ANY_THROW(edge::score::signed_gradient_step(grad, {0.2, 0.3}));
}

}  // namespace
