// Inference with every BatchNorm folded into the convolution or linear layer before it.
//
// In eval mode a BatchNorm is an affine map per channel, so conv -> BN equals one conv with
// weight w * g / sqrt(v + eps) and bias beta + (b - mu) * g / sqrt(v + eps) (exact up to
// rounding). Folding removes one pass over every activation map from evaluation. The
// folded tensors are computed from the current parameters and running statistics when a
// FoldedInference scope opens, live outside the module tree (never saved, never trained)
// and are dropped when it closes, so training in between always starts from the real
// parameters. The reference compute mode (fp32 NCHW) never folds: its evaluation stays
// bit-identical to earlier versions. Modules that cannot fold (DenseNet, MobileNetV2) run
// unchanged inside a scope.
#pragma once

#include <torch/nn.h>

#include "edge/model/compute_mode.h"

namespace edge::model {

// conv (or linear) -> BatchNorm, folded into one layer for inference.
class FoldedLayer {
 public:
  // Folds `conv` and `bn` (eval statistics) in the dtype and memory format of `mode`.
  void fold(const torch::nn::Conv2dImpl& conv, const torch::Tensor& bn_weight, const torch::Tensor& bn_bias,
            const torch::Tensor& running_mean, const torch::Tensor& running_var, double eps, const ComputeMode& mode);
  void fold(const torch::nn::LinearImpl& linear, const torch::Tensor& bn_weight, const torch::Tensor& bn_bias,
            const torch::Tensor& running_mean, const torch::Tensor& running_var, double eps, const ComputeMode& mode);
  void clear();
  bool active() const { return weight_.defined(); }
  // conv2d / linear with the folded weight and bias.
  torch::Tensor operator()(const torch::Tensor& x) const;

 private:
  torch::Tensor weight_, bias_;
  bool conv_ = false;
  std::vector<int64_t> stride_, padding_, dilation_;
  int64_t groups_ = 1;
};

// Folds conv `c` -> BatchNorm2d `bn` into `out` (no-op when the BN keeps no running statistics).
void fold_conv_bn(FoldedLayer& out, const torch::nn::Conv2d& c, const torch::nn::BatchNorm2d& bn,
                  const ComputeMode& mode);

// A module whose conv -> BN pairs can be folded (see above).
class BatchNormFoldable {
 public:
  virtual ~BatchNormFoldable() = default;
  // Folds with the module's current parameters in `mode`, or drops the folded copies (nullptr).
  virtual void fold_batch_norm(const ComputeMode* mode) = 0;
};

// For its lifetime, every BatchNormFoldable module in `net` (itself included) runs folded.
// Only for eval mode under no-grad; the network must not be trained inside the scope.
class FoldedInference {
 public:
  FoldedInference(torch::nn::Module& net, const ComputeMode& mode);
  ~FoldedInference();
  FoldedInference(const FoldedInference&) = delete;
  FoldedInference& operator=(const FoldedInference&) = delete;

 private:
  std::vector<BatchNormFoldable*> folded_;
};

}  // namespace edge::model
