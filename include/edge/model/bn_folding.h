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
//
// On a CPU the folded convolutions run in oneDNN's blocked layout (FoldedLayout::Blocked):
// weights reordered once when the scope opens, activations kept as MKLDNN tensors from the
// first folded convolution to the end of the backbone, with no reorder between layers. This is
// what torch.jit.optimize_for_inference makes of a frozen fp32 model; measured faster than
// channels-last for evaluation in fp32 (AVX2 and AVX-512 kernels) and bf16 (BENCHMARKS.md).
#pragma once

#include <torch/nn.h>

#include "edge/model/compute_mode.h"

namespace edge::model {

// How folded convolutions store weights and activations.
enum class FoldedLayout {
  Strided,  // dense tensors in the compute mode's memory format (NCHW or channels-last)
  Blocked,  // oneDNN's blocked layout: MKLDNN weight and activation tensors (CPU only)
};

// What a fold produces: the mode's dtype, in `layout`.
struct FoldTarget {
  ComputeMode mode;
  FoldedLayout layout = FoldedLayout::Strided;
};

// Whether folds on `device` in `mode` can use the blocked layout: on a CPU whose LibTorch has
// oneDNN, except bf16 on a CPU without AVX-512 (LibTorch 1.13's MKLDNN bf16 tensors need
// AVX-512 BW, VL and DQ hardware; there bf16 convolutions run in LibTorch's own kernels).
bool blocked_layout_available(const torch::Device& device, const ComputeMode& mode);

// The layout folded inference uses on `device` in `mode`: Blocked wherever it is available
// (measured faster in both precisions), Strided elsewhere (CUDA, builds without oneDNN).
FoldedLayout preferred_folded_layout(const torch::Device& device, const ComputeMode& mode);

// x as a dense (strided) tensor: MKLDNN tensors leave the blocked layout, others pass unchanged.
// Backbones return their feature map through this, so nothing after them sees MKLDNN tensors.
torch::Tensor to_strided(const torch::Tensor& x);

// out += shortcut for a residual block whose branches may differ in layout (a block after an
// unfolded one receives a dense input while its folded branch gives an MKLDNN tensor).
torch::Tensor& add_shortcut_(torch::Tensor& out, const torch::Tensor& shortcut);

// conv (or linear) -> BatchNorm, folded into one layer for inference.
class FoldedLayer {
 public:
  // Folds `conv` and `bn` (eval statistics) in the dtype and layout of `target`.
  void fold(const torch::nn::Conv2dImpl& conv, const torch::Tensor& bn_weight, const torch::Tensor& bn_bias,
            const torch::Tensor& running_mean, const torch::Tensor& running_var, double eps, const FoldTarget& target);
  // A linear layer stays dense whatever target.layout says (its input is a pooled [B, D]).
  void fold(const torch::nn::LinearImpl& linear, const torch::Tensor& bn_weight, const torch::Tensor& bn_bias,
            const torch::Tensor& running_mean, const torch::Tensor& running_var, double eps, const FoldTarget& target);
  void clear();
  bool active() const { return weight_.defined(); }
  bool blocked() const { return weight_.defined() && weight_.is_mkldnn(); }
  // conv2d / linear with the folded weight and bias. A blocked convolution takes a dense or an
  // MKLDNN input and returns an MKLDNN tensor (see to_strided).
  torch::Tensor operator()(const torch::Tensor& x) const;

 private:
  torch::Tensor weight_, bias_;
  bool conv_ = false;
  std::vector<int64_t> stride_, padding_, dilation_;
  int64_t groups_ = 1;
};

// Folds conv `c` -> BatchNorm2d `bn` into `out` (no-op when the BN keeps no running statistics).
void fold_conv_bn(FoldedLayer& out, const torch::nn::Conv2d& c, const torch::nn::BatchNorm2d& bn,
                  const FoldTarget& target);

// A module whose conv -> BN pairs can be folded (see above).
class BatchNormFoldable {
 public:
  virtual ~BatchNormFoldable() = default;
  // Folds with the module's current parameters for `target`, or drops the folded copies (nullptr).
  virtual void fold_batch_norm(const FoldTarget* target) = 0;
};

// For its lifetime, every BatchNormFoldable module in `net` (itself included) runs folded.
// Only for eval mode under no-grad; the network must not be trained inside the scope.
class FoldedInference {
 public:
  // In preferred_folded_layout(parameter_device(net), mode).
  FoldedInference(torch::nn::Module& net, const ComputeMode& mode);
  FoldedInference(torch::nn::Module& net, const FoldTarget& target);
  ~FoldedInference();
  FoldedInference(const FoldedInference&) = delete;
  FoldedInference& operator=(const FoldedInference&) = delete;

 private:
  std::vector<BatchNormFoldable*> folded_;
};

}  // namespace edge::model
