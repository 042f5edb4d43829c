#include "edge/model/resnet.h"

#include <memory>
#include <utility>

#include "edge/model/batch_norm_relu.h"
#include "edge/model/gemm_weight_grad_conv.h"

namespace edge::model {

namespace nn = torch::nn;

namespace {

nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

nn::Conv2d conv1x1(int64_t in, int64_t out, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false));
}

// torchvision's downsample branch: Sequential(conv1x1(stride), BatchNorm2d) -> keys downsample.0/1.
nn::Sequential downsample_branch(int64_t in, int64_t out, int64_t stride) {
  return nn::Sequential(conv1x1(in, out, stride), nn::BatchNorm2d(out));
}

// The convolution and BatchNorm of a downsample branch built by downsample_branch(); both
// null for any other structure.
std::pair<std::shared_ptr<nn::Conv2dImpl>, std::shared_ptr<nn::BatchNorm2dImpl>> downsample_parts(
    const nn::Sequential& downsample) {
  if (!downsample || downsample->size() != 2) return {};
  auto conv = std::dynamic_pointer_cast<nn::Conv2dImpl>(downsample->ptr(0));
  auto bn = std::dynamic_pointer_cast<nn::BatchNorm2dImpl>(downsample->ptr(1));
  if (!conv || !bn) return {};
  return {conv, bn};
}

// downsample(x) with its convolution through conv2d() (gemm_weight_grad_conv.h).
torch::Tensor downsample_forward(nn::Sequential& downsample, const torch::Tensor& x) {
  const auto [conv, bn] = downsample_parts(downsample);
  if (!conv) return downsample->forward(x);
  return bn->forward(conv2d(*conv, x));
}

// The shortcut of a folded block: its folded downsample, the unfolded one (on dense input:
// BatchNorm has no MKLDNN kernel), or the identity.
torch::Tensor folded_shortcut(const FoldedLayer& folded_down, nn::Sequential& downsample, const torch::Tensor& x) {
  if (folded_down.active()) return folded_down(x);
  return downsample ? downsample->forward(to_strided(x)) : x;
}

}  // namespace

void init_resnet_convs(nn::Module& module) {
  for (auto& m : module.modules(/*include_self=*/false))
    if (auto* conv = m->as<nn::Conv2d>()) nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
}

BasicBlockImpl::BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv3x3(in_planes, planes, stride));
  bn1 = register_module("bn1", nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv3x3(planes, planes, 1));
  bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  if (stride != 1 || in_planes != planes) downsample = register_module("downsample", downsample_branch(in_planes, planes, stride));
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& input) {
  if (folded1_.active()) {
    const torch::Tensor& x = input;  // inference with BatchNorm folded (bn_folding.h)
    torch::Tensor out = folded2_(folded1_(x).relu_());
    return add_shortcut_(out, folded_shortcut(folded_down_, downsample, x)).relu_();
  }
  const torch::Tensor x = to_strided(input);  // after a folded block (blocked layout) in inference
  // relu(bn1(conv1 x)), then relu(bn2(conv2 .) + identity): torchvision's BasicBlock, with the
  // BatchNorm + add + ReLU passes fused for channels-last training (batch_norm_relu.h).
  // Strided convolutions take the GEMM weight gradient where it is faster (gemm_weight_grad_conv.h).
  torch::Tensor out = batch_norm_relu(*bn1, conv2d(*conv1, x));
  return batch_norm_relu(*bn2, conv2(out), downsample ? downsample_forward(downsample, x) : x);
}

void BasicBlockImpl::fold_batch_norm(const FoldTarget* target) {
  fold_or_clear(folded1_, conv1, bn1, target);
  fold_or_clear(folded2_, conv2, bn2, target);
  fold_or_clear_downsample(folded_down_, downsample, target);
  if (!folded2_.active()) folded1_.clear();  // all or nothing: forward checks folded1_
}

BottleneckImpl::BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride) {
  const int64_t out = planes * kExpansion;
  conv1 = register_module("conv1", conv1x1(in_planes, planes));
  bn1 = register_module("bn1", nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv3x3(planes, planes, stride));
  bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  conv3 = register_module("conv3", conv1x1(planes, out));
  bn3 = register_module("bn3", nn::BatchNorm2d(out));
  if (stride != 1 || in_planes != out) downsample = register_module("downsample", downsample_branch(in_planes, out, stride));
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& input) {
  if (folded1_.active()) {
    const torch::Tensor& x = input;  // inference with BatchNorm folded (bn_folding.h)
    torch::Tensor out = folded3_(folded2_(folded1_(x).relu_()).relu_());
    return add_shortcut_(out, folded_shortcut(folded_down_, downsample, x)).relu_();
  }
  const torch::Tensor x = to_strided(input);  // after a folded block (blocked layout) in inference
  torch::Tensor out = batch_norm_relu(*bn1, conv1(x));
  out = batch_norm_relu(*bn2, conv2d(*conv2, out));
  return batch_norm_relu(*bn3, conv3(out), downsample ? downsample_forward(downsample, x) : x);
}

void BottleneckImpl::fold_batch_norm(const FoldTarget* target) {
  fold_or_clear(folded1_, conv1, bn1, target);
  fold_or_clear(folded2_, conv2, bn2, target);
  fold_or_clear(folded3_, conv3, bn3, target);
  fold_or_clear_downsample(folded_down_, downsample, target);
  if (!folded2_.active() || !folded3_.active()) folded1_.clear();  // all or nothing: forward checks folded1_
}

void fold_or_clear(FoldedLayer& out, const nn::Conv2d& conv, const nn::BatchNorm2d& bn, const FoldTarget* target) {
  if (target) fold_conv_bn(out, conv, bn, *target);
  else out.clear();
}

void fold_or_clear_downsample(FoldedLayer& out, const nn::Sequential& downsample, const FoldTarget* target) {
  out.clear();
  if (!target) return;
  const auto [conv, bn] = downsample_parts(downsample);
  if (conv) fold_conv_bn(out, nn::Conv2d(conv), nn::BatchNorm2d(bn), *target);
}

ResNetOptions ResNetOptions::depth(int64_t depth) {
  switch (depth) {
    case 18: return {false, {2, 2, 2, 2}, 3};
    case 34: return {false, {3, 4, 6, 3}, 3};
    case 50: return {true, {3, 4, 6, 3}, 3};
    case 101: return {true, {3, 4, 23, 3}, 3};
    default: break;
  }
  TORCH_CHECK(false, "ResNet: expected depth 18, 34, 50 or 101, got ", depth);
  return {};
}

ResNetImpl::ResNetImpl(const ResNetOptions& o) : in_channels_(o.in_channels) {
  TORCH_CHECK(o.in_channels >= 1, "ResNet: expected in_channels >= 1, got ", o.in_channels);
  for (const int64_t n : o.layers) TORCH_CHECK(n >= 1, "ResNet: expected >= 1 block per layer, got ", n);
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(o.in_channels, 64, 7).stride(2).padding(3).bias(false)));
  bn1 = register_module("bn1", nn::BatchNorm2d(64));
  maxpool = register_module("maxpool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  const int64_t expansion = o.bottleneck ? BottleneckImpl::kExpansion : BasicBlockImpl::kExpansion;
  int64_t in_planes = 64;
  auto make_layer = [&](int64_t planes, int64_t blocks, int64_t stride) {
    nn::Sequential layer;
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t s = b == 0 ? stride : 1;
      if (o.bottleneck) layer->push_back(Bottleneck(in_planes, planes, s));
      else layer->push_back(BasicBlock(in_planes, planes, s));
      in_planes = planes * expansion;
    }
    return layer;
  };
  layer1 = register_module("layer1", make_layer(64, o.layers[0], 1));
  layer2 = register_module("layer2", make_layer(128, o.layers[1], 2));
  layer3 = register_module("layer3", make_layer(256, o.layers[2], 2));
  layer4 = register_module("layer4", make_layer(512, o.layers[3], 2));
  out_channels_ = 512 * expansion;
  init_resnet_convs(*this);
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == in_channels_, "ResNet: expected input [B, ", in_channels_,
              ", H, W], got ", x.sizes());
  torch::Tensor h = maxpool(folded_stem_.active() ? folded_stem_(x).relu_() : batch_norm_relu(*bn1, conv1(x)));
  return to_strided(layer4->forward(layer3->forward(layer2->forward(layer1->forward(h)))));
}

void ResNetImpl::fold_batch_norm(const FoldTarget* target) { fold_or_clear(folded_stem_, conv1, bn1, target); }

}  // namespace edge::model
