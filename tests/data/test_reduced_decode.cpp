// Reduced JPEG decoding ahead of RandomResizedCrop (Transform::apply_u8 on a source): the same
// draws as the full decode, and pixels within the documented tolerance of it on photographs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/data/sample_rng.h"

namespace {

namespace fs = std::filesystem;

// A source that records the reduction of every reduced load it passes on.
class RecordingSource final : public edge::data::ImageSource {
 public:
  explicit RecordingSource(std::shared_ptr<const ImageSource> inner) : inner_(std::move(inner)) {}
  int64_t size() const override { return inner_->size(); }
  torch::Tensor load(int64_t i) const override { return inner_->load(i); }
  std::string describe(int64_t i) const override { return inner_->describe(i); }
  std::pair<torch::Tensor, int> load_reduced(int64_t i, const edge::data::ReductionChooser& choose) const override {
    auto got = inner_->load_reduced(i, choose);
    ++reductions[got.second];
    return got;
  }
  mutable std::map<int, int> reductions;

 private:
  std::shared_ptr<const ImageSource> inner_;
};

std::vector<fs::path> photographs() {
  std::vector<fs::path> files;
  for (const char* dir : {"/usr/share/backgrounds/mate/nature", "/usr/share/backgrounds/mate/abstract"}) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".jpg") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ReducedDecode, SameDrawsAndPixelsWithinTheDocumentedToleranceOnPhotographs) {
  const auto files = photographs();
  if (files.size() < 10) GTEST_SKIP() << "mate-backgrounds' photographs absent (scripts/setup.sh installs them)";
  RecordingSource source(edge::data::file_source(files));
  edge::data::Transform reduced = edge::data::reference_train_transform(224);
  edge::data::Transform full = reduced;
  full.reduced_decode = false;
  std::vector<torch::Tensor> diffs;
  for (int64_t i = 0; i < source.size(); ++i) {
    for (uint64_t draw = 0; draw < 3; ++draw) {
      edge::data::SampleRng a(11, 0, draw, uint64_t(i)), b(11, 0, draw, uint64_t(i));
      const torch::Tensor x = reduced.apply_u8(source, i, a), y = full.apply_u8(source, i, b);
      ASSERT_EQ(x.sizes(), y.sizes()) << files[size_t(i)];
      EXPECT_EQ(a.next_u64(), b.next_u64()) << "the reduced path drew differently on " << files[size_t(i)];
      diffs.push_back((x.to(torch::kInt16) - y.to(torch::kInt16)).abs().flatten());
    }
  }
  // The photographs are 1280 to 5640 pixels wide: most boxes allow 1/2 or more.
  int reduced_loads = 0;
  for (const auto& [r, n] : source.reductions)
    if (r > 1) reduced_loads += n;
  EXPECT_GE(reduced_loads, int(diffs.size()) * 3 / 4);
  const torch::Tensor all = torch::cat(diffs).to(torch::kFloat32);
  const double mean = all.mean().item<double>();
  const double p99 = std::get<0>(all.sort()).index({int64_t(0.99 * double(all.numel() - 1))}).item<double>();
  RecordProperty("mean_abs_diff", std::to_string(mean));
  RecordProperty("p99_abs_diff", std::to_string(p99));
  EXPECT_LE(mean, 1.5);
  EXPECT_LE(p99, 14.0);
  // Not trivially equal either: the reduced path did run.
  EXPECT_GT(mean, 0.0);
}

}  // namespace
