// The multi-threaded loader: order, determinism across worker counts, bounded prefetch,
// corrupt images.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include "edge/common/error.h"
#include "edge/data/loader.h"

namespace {

using namespace edge::data;

// Images of varying sizes (index-dependent content); the indices in `corrupt` throw DataError.
class ToySource final : public ImageSource {
 public:
  ToySource(int64_t n, std::set<int64_t> corrupt) : n_(n), corrupt_(std::move(corrupt)) {}
  int64_t size() const override { return n_; }
  torch::Tensor load(int64_t i) const override {
    ++loads;
    if (corrupt_.count(i)) throw edge::DataError("cannot decode image " + describe(i) + ": bad huffman code");
    const int64_t h = 20 + i % 7, w = 30 - i % 5;
    auto g = torch::arange(h * w, torch::kInt64).view({1, h, w});
    return ((g * (i + 3) + torch::arange(3).view({3, 1, 1}) * 50) % 251).to(torch::kUInt8);
  }
  std::string describe(int64_t i) const override { return "/data/img" + std::to_string(i) + ".jpg"; }
  mutable std::atomic<int64_t> loads{0};

 private:
  int64_t n_;
  std::set<int64_t> corrupt_;
};

Dataset toy(int64_t n, std::set<int64_t> corrupt = {}) {
  Dataset d;
  d.name = "toy";
  d.class_names = {"a", "b"};
  d.images = std::make_shared<ToySource>(n, std::move(corrupt));
  d.labels = torch::stack({torch::arange(n).remainder(2), torch::arange(n).div(10, "floor")}, 1).to(torch::kFloat32);
  return d;
}

Transform small_train() { return reference_train_transform(16); }

std::vector<Batch> run_epoch(Loader& loader, int64_t epoch, const std::vector<std::vector<int64_t>>& plan) {
  loader.start(epoch, plan);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

TEST(Loader, BatchesFollowThePlanAndAreIdenticalForAnyWorkerCount) {
  const auto data = toy(50);
  const auto plan = make_batches(shuffled_indices(50, 5, 0, 0), 8, true);
  ASSERT_EQ(plan.size(), 6u);
  std::vector<std::vector<Batch>> runs;
  for (int64_t workers : {0, 1, 3}) {
    LoaderOptions o;
    o.workers = workers;
    o.seed = 11;
    Loader loader(data, small_train(), o, nullptr);
    runs.push_back(run_epoch(loader, 2, plan));
  }
  for (const auto& run : runs) {
    ASSERT_EQ(run.size(), plan.size());
    for (size_t b = 0; b < plan.size(); ++b) {
      EXPECT_EQ(run[b].indices, plan[b]);
      EXPECT_EQ(run[b].images.sizes(), (std::vector<int64_t>{8, 3, 16, 16}));
      EXPECT_TRUE(torch::equal(run[b].images, runs[0][b].images)) << "batch " << b;
      EXPECT_TRUE(torch::equal(run[b].labels, data.labels.index_select(0, torch::tensor(plan[b]))));
    }
  }
  // Another epoch augments differently.
  LoaderOptions o;
  o.seed = 11;
  Loader loader(data, small_train(), o, nullptr);
  const auto other = run_epoch(loader, 3, plan);
  EXPECT_FALSE(torch::equal(other[0].images, runs[0][0].images));
}

TEST(Loader, EvalTransformMatchesApplyingItDirectly) {
  const auto data = toy(5);
  const auto t = reference_eval_transform(12);
  LoaderOptions o;
  Loader loader(data, t, o, nullptr);
  const auto batches = run_epoch(loader, 0, make_batches(sequential_order(5), 2, false));
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].images.size(0), 1);
  SampleRng unused(0, 0, 0, 0);
  EXPECT_TRUE(torch::equal(batches[1].images[1], t.apply(data.images->load(3), unused)));
}

TEST(Loader, PrefetchIsBounded) {
  auto data = toy(400);
  const auto* source = static_cast<const ToySource*>(data.images.get());
  LoaderOptions o;
  o.workers = 2;
  o.prefetch_batches = 2;
  Loader loader(data, reference_eval_transform(8), o, nullptr);
  loader.start(0, make_batches(sequential_order(400), 10, false));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LE(source->loads.load(), 20);  // two batches of 10, nothing beyond
  EXPECT_EQ(source->loads.load(), 20);
  ASSERT_TRUE(loader.next().has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(source->loads.load(), 30);
}

TEST(Loader, CorruptImageIsReplacedByTheNextWithOneWarningAndCounted) {
  const auto data = toy(20, {4});
  std::ostringstream warnings;
  LoaderOptions o;
  o.workers = 2;
  Loader loader(data, small_train(), o, &warnings);
  const std::vector<std::vector<int64_t>> plan{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 4, 9, 10}};
  auto batches = run_epoch(loader, 0, plan);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[1].images.size(0), 4);  // batch size kept
  EXPECT_EQ(batches[1].indices, (std::vector<int64_t>{5, 5, 6, 7}));
  EXPECT_EQ(batches[2].indices, (std::vector<int64_t>{8, 5, 9, 10}));
  EXPECT_TRUE(torch::equal(batches[1].labels[0], data.labels[5]));
  EXPECT_EQ(batches[1].corrupt, 1);
  EXPECT_EQ(loader.corrupt_this_epoch(), 2);
  const std::string w = warnings.str();
  EXPECT_EQ(std::count(w.begin(), w.end(), '\n'), 1) << w;
  EXPECT_NE(w.find("/data/img4.jpg"), std::string::npos) << w;
  // The next epoch counts the slot again without warning again.
  batches = run_epoch(loader, 1, plan);
  EXPECT_EQ(loader.corrupt_this_epoch(), 2);
  const std::string w2 = warnings.str();
  EXPECT_EQ(std::count(w2.begin(), w2.end(), '\n'), 1) << w2;
}

TEST(Loader, DropLeavesCorruptImagesOutAndThrowRethrows) {
  const auto data = toy(6, {1, 5});
  std::ostringstream warnings;
  LoaderOptions o;
  o.on_corrupt = CorruptPolicy::Drop;
  Loader drop(data, reference_eval_transform(8), o, &warnings);
  const auto batches = run_epoch(drop, 0, make_batches(sequential_order(6), 3, false));
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].indices, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(batches[0].images.size(0), 2);
  EXPECT_EQ(batches[1].indices, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(drop.corrupt_this_epoch(), 2);

  o.on_corrupt = CorruptPolicy::Throw;
  for (int64_t workers : {0, 2}) {
    o.workers = workers;
    Loader strict(data, reference_eval_transform(8), o, nullptr);
    strict.start(0, make_batches(sequential_order(6), 3, false));
    EXPECT_THROW(strict.next(), edge::DataError);
  }
}

TEST(Loader, RestartingAnEpochAbandonsTheOldOne) {
  const auto data = toy(40);
  LoaderOptions o;
  o.workers = 2;
  Loader loader(data, small_train(), o, nullptr);
  loader.start(0, make_batches(sequential_order(40), 4, false));
  loader.next();
  const auto fresh = run_epoch(loader, 1, make_batches(sequential_order(8), 4, false));
  ASSERT_EQ(fresh.size(), 2u);
  EXPECT_EQ(fresh[1].indices, (std::vector<int64_t>{4, 5, 6, 7}));
}

}  // namespace
