#include "edge/model/small_resnet.h"

namespace edge::model {

namespace nn = torch::nn;

namespace {

nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv3x3(in_planes, planes, stride));
  bn1 = register_module("bn1", nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv3x3(planes, planes, 1));
  bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  if (stride != 1 || in_planes != planes) {
    downsample = register_module(
        "downsample",
        nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in_planes, planes, 1).stride(stride).bias(false)),
                       nn::BatchNorm2d(planes)));
  }
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor out = torch::relu(bn1(conv1(x)));
  out = bn2(conv2(out));
  out += downsample ? downsample->forward(x) : x;
  return torch::relu(out);
}

SmallResNetImpl::SmallResNetImpl(const SmallResNetOptions& o) {
  TORCH_CHECK(o.in_channels >= 1 && o.width >= 1 && o.blocks_per_stage >= 1 && o.stem_stride >= 1,
              "SmallResNet: expected positive in_channels, width and blocks_per_stage, got ",
              o.in_channels, ", ", o.width, ", ", o.blocks_per_stage);
  conv1 = register_module("conv1", conv3x3(o.in_channels, o.width, o.stem_stride));
  bn1 = register_module("bn1", nn::BatchNorm2d(o.width));
  auto stage = [&](int64_t in, int64_t out) {
    nn::Sequential s;
    for (int64_t b = 0; b < o.blocks_per_stage; ++b) s->push_back(BasicBlock(b == 0 ? in : out, out, b == 0 ? 2 : 1));
    return s;
  };
  layer1 = register_module("layer1", stage(o.width, 2 * o.width));
  layer2 = register_module("layer2", stage(2 * o.width, 4 * o.width));
  layer3 = register_module("layer3", stage(4 * o.width, 8 * o.width));
  out_channels_ = 8 * o.width;
  // Kaiming-normal (fan_out) conv init and unit BN scale, as torchvision's ResNet.
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* conv = m->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    }
  }
}

torch::Tensor SmallResNetImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == conv1->options.in_channels(),
              "SmallResNet: expected input [B, ", conv1->options.in_channels(), ", H, W], got ", x.sizes());
  torch::Tensor h = torch::relu(bn1(conv1(x)));
  return layer3->forward(layer2->forward(layer1->forward(h)));
}

}  // namespace edge::model
