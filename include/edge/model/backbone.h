// The backbone interface shared by every architecture, the factory that builds one from
// a ModelConfig, and the input conventions of the torchvision backbones.
//
// Architectures (ModelConfig::arch):
//   small_resnet  this project's small ResNet for 56x56 gray input (small_resnet.h)
//   resnet18/34   torchvision ResNet, BasicBlock, 512-d feature   (resnet.h)
//   resnet50/101  torchvision ResNet, Bottleneck (v1.5), 2048-d   (resnet.h)
//   densenet121   torchvision DenseNet-BC, features + ReLU, 1024-d (densenet.h)
//   mobilenet_v2  torchvision MobileNetV2, 1280-d                  (mobilenet.h)
// The torchvision backbones have the parameter and buffer names and shapes of
// torchvision's models (0.14) without their classifier, so a torchvision state_dict
// loads as is (load_pretrained_backbone in checkpoint.h); they compute what torchvision
// computes up to the last spatial feature map (tests/model/test_backbone_parity.cpp).
//
// Gray input (the one rule): a backbone whose first layer takes 3 channels and is fed a
// 1-channel tensor repeats that channel 3 times (match_input_channels), as the reference
// does for gray data. The repeat happens after whatever normalisation the pipeline
// applied. Pipelines that feed ImageNet-pretrained weights should normalise [0, 1]
// pixels with imagenet_normalize(), which repeats gray first and then applies the
// per-channel ImageNet mean/std. (fashion-lt's own pipeline normalises its 1-channel
// images with mean = std = 0.5; small_resnet takes those as they are.)
#pragma once

#include <array>
#include <string>
#include <vector>

#include <torch/nn.h>

#include "edge/model/model_config.h"

namespace edge::model {

// ImageNet normalisation of torchvision's pretrained weights (RGB, pixels in [0, 1]).
inline constexpr std::array<double, 3> kImageNetMean = {0.485, 0.456, 0.406};
inline constexpr std::array<double, 3> kImageNetStd = {0.229, 0.224, 0.225};

// [B, 1 or 3, H, W] pixels in [0, 1] -> [B, 3, H, W] ImageNet-normalised (gray repeated first).
torch::Tensor imagenet_normalize(const torch::Tensor& pixels01);

// The gray rule: returns `x` [B, C, H, W] if C == expected_channels, its channel repeated
// to 3 if C == 1 and expected_channels == 3; anything else is an error naming the shape.
torch::Tensor match_input_channels(const torch::Tensor& x, int64_t expected_channels);

// A backbone: image batch -> last spatial feature map.
class BackboneImpl : public torch::nn::Module {
 public:
  // [B, in_channels(), H, W] -> [B, out_channels(), h, w].
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  // Channels the first layer takes.
  virtual int64_t in_channels() const = 0;
  // Channels D of the feature map (the pooled feature's size).
  virtual int64_t out_channels() const = 0;
  // torchvision state_dict keys of the ImageNet classifier, which loading ignores
  // ("fc." for ResNet, "classifier." for DenseNet and MobileNetV2). Empty otherwise.
  virtual std::vector<std::string> classifier_prefixes() const { return {}; }
  // Maps a key of a torchvision state_dict to this module's name for it (DenseNet's
  // pre-0.4 names "denselayer1.norm.1.weight" -> "denselayer1.norm1.weight"). Identity
  // by default.
  virtual std::string canonical_key(const std::string& key) const { return key; }
};
TORCH_MODULE(Backbone);

// Names of every architecture, small_resnet first.
const std::vector<std::string>& architectures();

// True for the torchvision-layout architectures (all but small_resnet).
bool is_torchvision_arch(const std::string& arch);

// Builds the backbone of `config`, randomly initialised as torchvision initialises it.
// Throws UsageError naming --arch for an unknown architecture, and for an in_channels
// the architecture cannot take (torchvision backbones: 1 or 3).
Backbone make_backbone(const ModelConfig& config);

}  // namespace edge::model
