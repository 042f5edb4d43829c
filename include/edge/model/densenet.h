// torchvision's DenseNet-BC (densenet121: growth 32, blocks 6-12-24-16, 64 initial
// features, bottleneck 4x, no dropout) without its `classifier`. The backbone's output
// is ReLU(features(x)), the map torchvision pools for its classifier. Module names
// follow torchvision: features.{conv0, norm0, denseblock1.denselayer1.{norm1, conv1,
// norm2, conv2}, transition1.{norm, conv}, ..., norm5}.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "edge/model/backbone.h"

namespace edge::model {

// One dense layer: BN-ReLU-Conv1x1(bn_size*growth)-BN-ReLU-Conv3x3(growth) on the
// concatenation of every earlier feature map of its block.
class DenseLayerImpl : public torch::nn::Module {
 public:
  DenseLayerImpl(int64_t in_features, int64_t growth_rate, int64_t bn_size);
  torch::Tensor forward(const torch::Tensor& concatenated);

 private:
  torch::nn::BatchNorm2d norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(DenseLayer);

// denselayer1..N; the output concatenates the input and every layer's new features.
class DenseBlockImpl : public torch::nn::Module {
 public:
  DenseBlockImpl(int64_t num_layers, int64_t in_features, int64_t growth_rate, int64_t bn_size);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::vector<DenseLayer> layers_;
};
TORCH_MODULE(DenseBlock);

// BN-ReLU-Conv1x1-AvgPool(2) between blocks.
class TransitionImpl : public torch::nn::Module {
 public:
  TransitionImpl(int64_t in_features, int64_t out_features);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::BatchNorm2d norm{nullptr};
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Transition);

struct DenseNetOptions {
  int64_t growth_rate = 32;
  std::array<int64_t, 4> block_config = {6, 12, 24, 16};
  int64_t num_init_features = 64;
  int64_t bn_size = 4;
  int64_t in_channels = 3;
};

class DenseNetImpl : public BackboneImpl {
 public:
  explicit DenseNetImpl(const DenseNetOptions& options);
  // [B, 3, H, W] -> ReLU(features) [B, 1024, H/32, W/32] for densenet121.
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t in_channels() const override { return in_channels_; }
  int64_t out_channels() const override { return out_channels_; }
  std::vector<std::string> classifier_prefixes() const override { return {"classifier."}; }
  // torchvision's legacy names: "...denselayerN.norm.1.weight" -> "...denselayerN.norm1.weight"
  // (the rule torchvision's densenet loader applies to its own download files).
  std::string canonical_key(const std::string& key) const override;

 private:
  torch::nn::Sequential features{nullptr};
  int64_t in_channels_ = 3, out_channels_ = 0;
};
TORCH_MODULE(DenseNet);

}  // namespace edge::model
