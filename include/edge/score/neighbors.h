// Nearest-neighbour OOD scores: KNN (Sun et al. 2022) and Local Outlier Factor
// (sklearn.neighbors.LocalOutlierFactor with novelty=True). Higher = more in-distribution.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace edge::score {

struct Neighbors {
  torch::Tensor distances;  // [Nq, k] float64, Euclidean, ascending per row
  torch::Tensor indices;    // [Nq, k] int64 rows of the reference set
};

// The k nearest reference rows of every query row (Euclidean, float64, exhaustive, in
// blocks). With exclude_self (queries == reference) each row's own index is removed
// (sklearn's kneighbors(X=None)).
Neighbors k_nearest(const torch::Tensor& queries, const torch::Tensor& reference, int64_t k, bool exclude_self = false);

// -(distance to the k-th nearest training feature), both sides L2-normalised.
torch::Tensor knn_score(const torch::Tensor& train_features, const torch::Tensor& features, int64_t k);

// sklearn.neighbors.LocalOutlierFactor(n_neighbors, novelty=True), Euclidean metric.
class LocalOutlierFactor {
 public:
  explicit LocalOutlierFactor(int64_t n_neighbors = 20) : n_neighbors_(n_neighbors) {}
  void fit(const torch::Tensor& x);
  // == score_samples(x) = -LOF(x): about -1 for inliers, lower for outliers.
  torch::Tensor score_samples(const torch::Tensor& x) const;
  int64_t n_neighbors() const { return k_; }

 private:
  int64_t n_neighbors_, k_ = 0;
  torch::Tensor fit_x_, k_distance_, lrd_;
};

}  // namespace edge::score
