// torchvision's ResNet (resnet18/34 with BasicBlock, resnet50/101 with the v1.5
// Bottleneck: stride on the 3x3 conv) without its `fc` classifier. Module names follow
// torchvision: conv1, bn1, layer1..layer4 (Sequential of blocks), blocks with conv1..3,
// bn1..3 and downsample.{0,1}.
#pragma once

#include <string>
#include <vector>

#include "edge/model/backbone.h"
#include "edge/model/bn_folding.h"

namespace edge::model {

class BasicBlockImpl : public torch::nn::Module, public BatchNormFoldable {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);
  void fold_batch_norm(const FoldTarget* target) override;

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};
  FoldedLayer folded1_, folded2_, folded_down_;
};
TORCH_MODULE(BasicBlock);

class BottleneckImpl : public torch::nn::Module, public BatchNormFoldable {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);
  void fold_batch_norm(const FoldTarget* target) override;

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
  FoldedLayer folded1_, folded2_, folded3_, folded_down_;
};
TORCH_MODULE(Bottleneck);

struct ResNetOptions {
  bool bottleneck = false;               // BasicBlock (18/34) or Bottleneck (50/101)
  std::array<int64_t, 4> layers = {2, 2, 2, 2};
  int64_t in_channels = 3;

  // The torchvision depths: 18, 34, 50, 101.
  static ResNetOptions depth(int64_t depth);
};

class ResNetImpl : public BackboneImpl, public BatchNormFoldable {
 public:
  explicit ResNetImpl(const ResNetOptions& options);
  // [B, 3, H, W] -> layer4 output [B, 512 or 2048, H/32, W/32].
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t in_channels() const override { return in_channels_; }
  int64_t out_channels() const override { return out_channels_; }
  std::vector<std::string> classifier_prefixes() const override { return {"fc."}; }
  void fold_batch_norm(const FoldTarget* target) override;  // the stem; blocks fold themselves

 private:
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  int64_t in_channels_ = 3, out_channels_ = 0;
  FoldedLayer folded_stem_;
};
TORCH_MODULE(ResNet);

// Folds or clears (target nullptr) the conv -> BN pair `out` (helper of fold_batch_norm).
void fold_or_clear(FoldedLayer& out, const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn,
                   const FoldTarget* target);
// torchvision's downsample branch Sequential(conv1x1, BatchNorm2d), folded or cleared.
void fold_or_clear_downsample(FoldedLayer& out, const torch::nn::Sequential& downsample, const FoldTarget* target);

// torchvision's ResNet initialisation: Kaiming-normal (fan_out, ReLU) for every conv of
// `module`; BatchNorm keeps weight 1, bias 0.
void init_resnet_convs(torch::nn::Module& module);

}  // namespace edge::model
