// Isolation Forest (Liu, Ting, Zhou 2008) with sklearn.ensemble.IsolationForest's
// definitions (sklearn 1.2 defaults: 100 trees, max_samples = min(256, n), no bootstrap,
// all features). Trees are random, so results agree with sklearn statistically, not
// bit for bit; a fixed seed makes this implementation deterministic.
// Higher score = more in-distribution (score_samples = -2^(-E[h(x)] / c(max_samples))).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace edge::score {

// c(n): average path length of an unsuccessful BST search, sklearn's _average_path_length:
// 0 for n <= 1, 1 for n == 2, else 2 (ln(n - 1) + euler_gamma) - 2 (n - 1) / n.
double average_path_length(int64_t n);

struct IsolationForestOptions {
  int64_t n_estimators = 100;
  int64_t max_samples = 256;  // per tree: min(max_samples, n)
  uint64_t seed = 42;
};

class IsolationForest {
 public:
  explicit IsolationForest(IsolationForestOptions options = {}) : options_(options) {}
  void fit(const torch::Tensor& x);
  // == sklearn's score_samples: -2^(-mean path length / c(max_samples)), in [-1, 0).
  torch::Tensor score_samples(const torch::Tensor& x) const;
  // Mean over trees of the path length h(x) = leaf depth + c(leaf size).
  torch::Tensor mean_path_length(const torch::Tensor& x) const;
  int64_t max_samples() const { return max_samples_; }

 private:
  struct Node {
    int32_t feature = -1;  // -1: leaf
    double threshold = 0;  // x[feature] <= threshold goes left
    int32_t left = -1, right = -1;
    int32_t depth = 0;
    int64_t size = 0;      // training samples reaching the node
  };
  using Tree = std::vector<Node>;
  void grow(Tree& tree, std::vector<int64_t>& rows, int64_t begin, int64_t end, int32_t depth, int32_t max_depth,
            uint64_t& state) const;

  IsolationForestOptions options_;
  int64_t max_samples_ = 0, dims_ = 0;
  torch::Tensor x_;  // training data, float64 [N, D]
  std::vector<Tree> trees_;
};

}  // namespace edge::score
