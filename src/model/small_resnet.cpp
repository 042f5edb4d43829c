#include "edge/model/small_resnet.h"

#include "edge/model/batch_norm_relu.h"

namespace edge::model {

namespace nn = torch::nn;

SmallResNetImpl::SmallResNetImpl(const SmallResNetOptions& o) {
  TORCH_CHECK(o.in_channels >= 1 && o.width >= 1 && o.blocks_per_stage >= 1 && o.stem_stride >= 1,
              "SmallResNet: expected positive in_channels, width, blocks_per_stage and stem_stride, got ",
              o.in_channels, ", ", o.width, ", ", o.blocks_per_stage, ", ", o.stem_stride);
  conv1 = register_module(
      "conv1", nn::Conv2d(nn::Conv2dOptions(o.in_channels, o.width, 3).stride(o.stem_stride).padding(1).bias(false)));
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
  init_resnet_convs(*this);
}

torch::Tensor SmallResNetImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == in_channels(),
              "SmallResNet: expected input [B, ", in_channels(), ", H, W], got ", x.sizes());
  torch::Tensor h = folded_stem_.active() ? folded_stem_(x).relu_() : batch_norm_relu(*bn1, conv1(x));
  return to_strided(layer3->forward(layer2->forward(layer1->forward(h))));
}

void SmallResNetImpl::fold_batch_norm(const FoldTarget* target) { fold_or_clear(folded_stem_, conv1, bn1, target); }

}  // namespace edge::model
