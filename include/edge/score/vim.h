// ViM (Wang et al. 2022) on the clssimp head's hidden feature h (the input of its last
// Linear layer z = W h + b), as the reference's get_logits_vim. Higher = more ID:
//   u = -pinv(W) b;  NS = eigenvectors of the (D - dim) smallest eigenvalues of
//   cov = mean over training h of (h - u)(h - u)'  (EmpiricalCovariance, assume_centered);
//   alpha = mean_train max_c z_c / mean_train ||(h - u) NS||;
//   score = logsumexp_c z_c - alpha ||(h - u) NS||.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace edge::score {

struct VimFit {
  torch::Tensor weight, bias;  // the last layer, float64
  torch::Tensor origin;        // u [D]
  torch::Tensor null_space;    // [D, D - dim]
  double alpha = 0;
  int64_t dim = 0;             // principal dimensions kept
};

// The reference's choice of the principal dimension for a D-dimensional feature:
// 1000 if D >= 2048, 512 if D >= 768, else D / 2.
int64_t vim_default_dim(int64_t feature_dim);

// train_hidden [N, D]; weight [C, D]; bias [C]; dim 0 = vim_default_dim(D).
VimFit fit_vim(const torch::Tensor& train_hidden, const torch::Tensor& weight, const torch::Tensor& bias,
               int64_t dim = 0);
torch::Tensor vim_score(const VimFit& fit, const torch::Tensor& hidden);

}  // namespace edge::score
