#include "edge/model/backbone.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "edge/common/error.h"
#include "edge/model/densenet.h"
#include "edge/model/mobilenet.h"
#include "edge/model/resnet.h"
#include "edge/model/small_resnet.h"

namespace edge::model {

namespace {

// A concrete backbone module held through the interface.
template <typename Holder>
Backbone as_backbone(const Holder& module) {
  return Backbone(std::static_pointer_cast<BackboneImpl>(module.ptr()));
}

}  // namespace

const std::vector<std::string>& architectures() {
  static const std::vector<std::string> names = {"small_resnet", "resnet18",    "resnet34",    "resnet50",
                                                 "resnet101",    "densenet121", "mobilenet_v2"};
  return names;
}

bool is_torchvision_arch(const std::string& arch) {
  const auto& names = architectures();
  return arch != "small_resnet" && std::find(names.begin(), names.end(), arch) != names.end();
}

torch::Tensor match_input_channels(const torch::Tensor& x, int64_t expected_channels) {
  TORCH_CHECK(x.dim() == 4, "expected an image batch [B, C, H, W], got ", x.sizes());
  if (x.size(1) == expected_channels) return x;
  TORCH_CHECK(x.size(1) == 1 && expected_channels == 3, "expected an image batch [B, ", expected_channels,
              ", H, W]", expected_channels == 3 ? " (or gray [B, 1, H, W])" : "", ", got ", x.sizes());
  return x.expand({-1, 3, -1, -1});
}

torch::Tensor imagenet_normalize(const torch::Tensor& pixels01) {
  const torch::Tensor rgb = match_input_channels(pixels01, 3).to(torch::kFloat32);
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(rgb.device());
  const torch::Tensor mean = torch::tensor({kImageNetMean[0], kImageNetMean[1], kImageNetMean[2]}, opts).view({1, 3, 1, 1});
  const torch::Tensor std = torch::tensor({kImageNetStd[0], kImageNetStd[1], kImageNetStd[2]}, opts).view({1, 3, 1, 1});
  return (rgb - mean) / std;
}

Backbone make_backbone(const ModelConfig& c) {
  if (c.arch == "small_resnet") {
    if (c.in_channels < 1) throw UsageError(fmt::format("small_resnet: in_channels must be >= 1, got {}", c.in_channels));
    if (c.width < 1) throw UsageError(fmt::format("--width must be >= 1, got {}", c.width));
    if (c.blocks_per_stage < 1) throw UsageError(fmt::format("--blocks must be >= 1, got {}", c.blocks_per_stage));
    if (c.stem_stride < 1) throw UsageError(fmt::format("--stem_stride must be >= 1, got {}", c.stem_stride));
    return as_backbone(SmallResNet(SmallResNetOptions{c.in_channels, c.width, c.blocks_per_stage, c.stem_stride}));
  }
  if (!is_torchvision_arch(c.arch))
    throw UsageError(fmt::format("--arch: unknown architecture '{}' (expected one of {})", c.arch,
                                 fmt::join(architectures(), ", ")));
  if (c.in_channels != 1 && c.in_channels != 3)
    throw UsageError(fmt::format("--arch {}: takes RGB (3-channel) or gray (1-channel, repeated) images, got "
                                 "in_channels {}", c.arch, c.in_channels));
  if (c.arch == "resnet18") return as_backbone(ResNet(ResNetOptions::depth(18)));
  if (c.arch == "resnet34") return as_backbone(ResNet(ResNetOptions::depth(34)));
  if (c.arch == "resnet50") return as_backbone(ResNet(ResNetOptions::depth(50)));
  if (c.arch == "resnet101") return as_backbone(ResNet(ResNetOptions::depth(101)));
  if (c.arch == "densenet121") return as_backbone(DenseNet(DenseNetOptions{}));
  return as_backbone(MobileNetV2(MobileNetV2Options{}));  // mobilenet_v2
}

}  // namespace edge::model
