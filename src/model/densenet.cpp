#include "edge/model/densenet.h"

#include <regex>

namespace edge::model {

namespace nn = torch::nn;

DenseLayerImpl::DenseLayerImpl(int64_t in_features, int64_t growth_rate, int64_t bn_size) {
  norm1 = register_module("norm1", nn::BatchNorm2d(in_features));
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in_features, bn_size * growth_rate, 1).bias(false)));
  norm2 = register_module("norm2", nn::BatchNorm2d(bn_size * growth_rate));
  conv2 = register_module(
      "conv2", nn::Conv2d(nn::Conv2dOptions(bn_size * growth_rate, growth_rate, 3).padding(1).bias(false)));
}

torch::Tensor DenseLayerImpl::forward(const torch::Tensor& concatenated) {
  const torch::Tensor bottleneck = conv1(norm1(concatenated).relu_());
  return conv2(norm2(bottleneck).relu_());
}

DenseBlockImpl::DenseBlockImpl(int64_t num_layers, int64_t in_features, int64_t growth_rate, int64_t bn_size) {
  for (int64_t i = 0; i < num_layers; ++i)
    layers_.push_back(register_module("denselayer" + std::to_string(i + 1),
                                      DenseLayer(in_features + i * growth_rate, growth_rate, bn_size)));
}

torch::Tensor DenseBlockImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> features{x};
  features.reserve(layers_.size() + 1);
  for (auto& layer : layers_) features.push_back(layer->forward(torch::cat(features, 1)));
  return torch::cat(features, 1);
}

TransitionImpl::TransitionImpl(int64_t in_features, int64_t out_features) {
  norm = register_module("norm", nn::BatchNorm2d(in_features));
  conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(in_features, out_features, 1).bias(false)));
}

torch::Tensor TransitionImpl::forward(const torch::Tensor& x) {
  return torch::avg_pool2d(conv(torch::relu(norm(x))), 2, 2);
}

DenseNetImpl::DenseNetImpl(const DenseNetOptions& o) : in_channels_(o.in_channels) {
  TORCH_CHECK(o.in_channels >= 1 && o.growth_rate >= 1 && o.num_init_features >= 1 && o.bn_size >= 1,
              "DenseNet: expected positive in_channels, growth_rate, num_init_features and bn_size, got ",
              o.in_channels, ", ", o.growth_rate, ", ", o.num_init_features, ", ", o.bn_size);
  features = nn::Sequential();
  features->push_back("conv0", nn::Conv2d(nn::Conv2dOptions(o.in_channels, o.num_init_features, 7)
                                              .stride(2).padding(3).bias(false)));
  features->push_back("norm0", nn::BatchNorm2d(o.num_init_features));
  features->push_back("relu0", nn::ReLU(nn::ReLUOptions(true)));
  features->push_back("pool0", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  int64_t n = o.num_init_features;
  for (size_t i = 0; i < o.block_config.size(); ++i) {
    TORCH_CHECK(o.block_config[i] >= 1, "DenseNet: expected >= 1 layer per block, got ", o.block_config[i]);
    features->push_back("denseblock" + std::to_string(i + 1), DenseBlock(o.block_config[i], n, o.growth_rate, o.bn_size));
    n += o.block_config[i] * o.growth_rate;
    if (i + 1 != o.block_config.size()) {
      features->push_back("transition" + std::to_string(i + 1), Transition(n, n / 2));
      n /= 2;
    }
  }
  features->push_back("norm5", nn::BatchNorm2d(n));
  register_module("features", features);
  out_channels_ = n;
  // torchvision's "official init": Kaiming-normal (fan_in) convs, BN weight 1 bias 0.
  for (auto& m : modules(/*include_self=*/false))
    if (auto* conv = m->as<nn::Conv2d>()) nn::init::kaiming_normal_(conv->weight);
}

torch::Tensor DenseNetImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == in_channels_, "DenseNet: expected input [B, ", in_channels_,
              ", H, W], got ", x.sizes());
  return features->forward(x).relu_();
}

std::string DenseNetImpl::canonical_key(const std::string& key) const {
  static const std::regex legacy(R"(^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$)");
  std::smatch m;
  if (std::regex_match(key, m, legacy)) return m[1].str() + m[2].str();
  return key;
}

}  // namespace edge::model
