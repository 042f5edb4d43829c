// torchvision's MobileNetV2 (width 1.0: 32-channel stem, 17 inverted residual blocks,
// 1280-channel 1x1 conv, ReLU6 throughout) without its `classifier`, for CPU and edge
// deployment. Module names follow torchvision: features.0.{0,1} (stem conv, BN),
// features.1..17.conv.* (inverted residuals), features.18.{0,1}. The backbone's output
// is features(x) [B, 1280, H/32, W/32], the map torchvision pools for its classifier.
#pragma once

#include <string>
#include <vector>

#include "edge/model/backbone.h"

namespace edge::model {

// ReLU6 that trains in bfloat16 on the CPU too: LibTorch 1.13 has no CPU bf16 kernel for
// hardtanh's backward ("hardshrink_backward_cpu" not implemented for 'BFloat16'), so a bf16
// input goes through clamp(0, 6): the same forward values, a gradient that differs from
// hardtanh's only at exactly 0 and 6. Any other dtype takes nn::ReLU6's in-place hardtanh,
// bit for bit as before.
class ReLU6Impl : public torch::nn::Module {
 public:
  torch::Tensor forward(torch::Tensor x);
};
TORCH_MODULE(ReLU6);

// torchvision's Conv2dNormActivation with ReLU6: children 0 (conv, no bias), 1 (BN), 2 (ReLU6).
class ConvBNReLU6Impl : public torch::nn::SequentialImpl {
 public:
  ConvBNReLU6Impl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups);
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(x); }
};
TORCH_MODULE(ConvBNReLU6);

// Expand (1x1, unless expand_ratio is 1) -> depthwise 3x3 -> linear 1x1 projection,
// with a residual connection when the stride is 1 and the width is kept.
class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential conv{nullptr};
  bool use_residual_ = false;
};
TORCH_MODULE(InvertedResidual);

struct MobileNetV2Options {
  int64_t in_channels = 3;
};

class MobileNetV2Impl : public BackboneImpl {
 public:
  explicit MobileNetV2Impl(const MobileNetV2Options& options);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t in_channels() const override { return in_channels_; }
  int64_t out_channels() const override { return out_channels_; }
  std::vector<std::string> classifier_prefixes() const override { return {"classifier."}; }

 private:
  torch::nn::Sequential features{nullptr};
  int64_t in_channels_ = 3, out_channels_ = 0;
};
TORCH_MODULE(MobileNetV2);

}  // namespace edge::model
