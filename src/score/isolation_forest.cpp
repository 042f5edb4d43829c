#include "edge/score/isolation_forest.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::score {

namespace {

constexpr double kEulerGamma = 0.5772156649015329;
constexpr double kConstantFeature = 1e-7;  // sklearn's FEATURE_THRESHOLD

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
double uniform01(uint64_t& state) { return double(splitmix64(state) >> 11) * 0x1.0p-53; }

}  // namespace

double average_path_length(int64_t n) {
  if (n <= 1) return 0.0;
  if (n == 2) return 1.0;
  const double m = double(n);
  return 2.0 * (std::log(m - 1.0) + kEulerGamma) - 2.0 * (m - 1.0) / m;
}

void IsolationForest::grow(Tree& tree, std::vector<int64_t>& rows, int64_t begin, int64_t end, int32_t depth,
                           int32_t max_depth, uint64_t& state) const {
  const int32_t id = int32_t(tree.size());
  tree.push_back(Node{});
  tree[id].depth = depth;
  tree[id].size = end - begin;
  if (end - begin < 2 || depth >= max_depth) return;
  const double* x = x_.data_ptr<double>();
  // A uniformly random non-constant feature (sklearn's random splitter with max_features=1
  // keeps drawing until it meets a non-constant one).
  std::vector<int32_t> candidates;
  std::vector<std::pair<double, double>> range(dims_);
  for (int64_t f = 0; f < dims_; ++f) {
    double lo = x[rows[begin] * dims_ + f], hi = lo;
    for (int64_t i = begin + 1; i < end; ++i) {
      const double v = x[rows[i] * dims_ + f];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    range[f] = {lo, hi};
    if (hi > lo + kConstantFeature) candidates.push_back(int32_t(f));
  }
  if (candidates.empty()) return;
  const int32_t f = candidates[std::min<size_t>(candidates.size() - 1, size_t(uniform01(state) * candidates.size()))];
  const auto [lo, hi] = range[f];
  double threshold = lo + (hi - lo) * uniform01(state);
  if (threshold >= hi) threshold = lo;
  const auto mid = std::partition(rows.begin() + begin, rows.begin() + end,
                                  [&](int64_t r) { return x[r * dims_ + f] <= threshold; });
  const int64_t split = mid - rows.begin();
  tree[id].feature = f;
  tree[id].threshold = threshold;
  tree[id].left = int32_t(tree.size());
  grow(tree, rows, begin, split, depth + 1, max_depth, state);
  tree[id].right = int32_t(tree.size());
  grow(tree, rows, split, end, depth + 1, max_depth, state);
}

void IsolationForest::fit(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.size(0) >= 1, "IsolationForest: expected training data [N, D], got ", x.sizes());
  if (options_.n_estimators < 1 || options_.max_samples < 1)
    throw UsageError(fmt::format("--isol_trees / --isol_max_samples: expected positive values, got {} and {}",
                                 options_.n_estimators, options_.max_samples));
  x_ = x.to(torch::kFloat64).contiguous();
  dims_ = x_.size(1);
  const int64_t n = x_.size(0);
  max_samples_ = std::min(options_.max_samples, n);
  const int32_t max_depth = int32_t(std::ceil(std::log2(double(std::max<int64_t>(max_samples_, 2)))));
  uint64_t state = options_.seed;
  trees_.clear();
  std::vector<int64_t> all(n);
  for (int64_t t = 0; t < options_.n_estimators; ++t) {
    // Subsample without replacement: a partial Fisher-Yates shuffle.
    std::iota(all.begin(), all.end(), 0);
    for (int64_t i = 0; i < max_samples_; ++i) {
      const int64_t j = i + int64_t(splitmix64(state) % uint64_t(n - i));
      std::swap(all[i], all[j]);
    }
    std::vector<int64_t> rows(all.begin(), all.begin() + max_samples_);
    Tree tree;
    grow(tree, rows, 0, max_samples_, 0, max_depth, state);
    trees_.push_back(std::move(tree));
  }
}

torch::Tensor IsolationForest::mean_path_length(const torch::Tensor& x) const {
  TORCH_CHECK(!trees_.empty(), "IsolationForest: scoring before fit");
  TORCH_CHECK(x.dim() == 2 && x.size(1) == dims_, "IsolationForest: expected [N, ", dims_, "], got ", x.sizes());
  const torch::Tensor xd = x.to(torch::kFloat64).contiguous();
  const double* p = xd.data_ptr<double>();
  torch::Tensor out = torch::zeros({xd.size(0)}, torch::kFloat64);
  double* o = out.data_ptr<double>();
  for (int64_t i = 0; i < xd.size(0); ++i) {
    double total = 0;
    for (const Tree& tree : trees_) {
      int32_t node = 0;
      while (tree[node].feature >= 0)
        node = p[i * dims_ + tree[node].feature] <= tree[node].threshold ? tree[node].left : tree[node].right;
      total += double(tree[node].depth) + average_path_length(tree[node].size);
    }
    o[i] = total / double(trees_.size());
  }
  return out;
}

torch::Tensor IsolationForest::score_samples(const torch::Tensor& x) const {
  const double c = average_path_length(max_samples_);
  const torch::Tensor h = mean_path_length(x);
  // sklearn takes the ratio as 1 where c = 0 (max_samples 1): score -2^-1.
  return c > 0 ? -torch::pow(2.0, -h / c) : torch::full_like(h, -0.5);
}

}  // namespace edge::score
