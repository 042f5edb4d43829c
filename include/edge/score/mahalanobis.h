// Mahalanobis score with multi-label class means and one tied covariance (spec §5).
// Higher = more in-distribution (the negated half squared distance).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace edge::score {

enum class Reduction { Max, Sum };

struct GaussianFit {
  torch::Tensor means;      // [C, D] float64; rows of classes without a training positive are unused
  torch::Tensor precision;  // [D, D] float64, pseudo-inverse of the tied covariance
  std::vector<bool> present;  // class c has at least one positive training image
  int64_t dropped_eigenvalues = 0;  // eigenvalues at or below the floor (treated as 0)
};

// features [N, D] (pooled penultimate) and multi-hot labels [N, C] of the training set.
// Class mean mu_c = mean of the features of every image labelled c (an image with several
// labels counts for each). The covariance is sklearn EmpiricalCovariance(assume_centered=
// False) of the stacked class-centred rows {f_i - mu_c : y_ic = 1}, inverted as sklearn's
// pinvh: eigendecomposition, eigenvalues <= rcond * max|eigenvalue| dropped. rcond < 0
// means sklearn's default D * machine epsilon (float64).
GaussianFit fit_tied_gaussian(const torch::Tensor& features, const torch::Tensor& labels, double rcond = -1.0);

// [N, C] of -(f - mu_c)' P (f - mu_c) / 2; columns of absent classes are -inf.
torch::Tensor class_gaussian_scores(const GaussianFit& fit, const torch::Tensor& features);

// max or sum over the present classes of class_gaussian_scores: [N] float64.
torch::Tensor mahalanobis_score(const GaussianFit& fit, const torch::Tensor& features, Reduction reduction);

}  // namespace edge::score
