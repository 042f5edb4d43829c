// A small ResNet (torchvision BasicBlock layout and parameter names) for low-resolution
// input such as fashion-lt's 1x56x56 mosaics: a 3x3 stem (stride 2 by default: on this
// CPU it makes training ~4.5x faster than stride 1, measured with PyTorch on the same
// kernels), then three stages of BasicBlocks that each halve the resolution and double
// the width. No torchvision counterpart, so no pretrained weights.
#pragma once

#include "edge/model/backbone.h"
#include "edge/model/resnet.h"

namespace edge::model {

struct SmallResNetOptions {
  int64_t in_channels = 1;
  int64_t width = 16;            // channels of the stem; the stages have 2x, 4x, 8x
  int64_t blocks_per_stage = 1;
  int64_t stem_stride = 2;
};

class SmallResNetImpl : public BackboneImpl, public BatchNormFoldable {
 public:
  explicit SmallResNetImpl(const SmallResNetOptions& options);
  // Last spatial feature map [B, out_channels(), H/(8*stem_stride), W/(8*stem_stride)].
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t in_channels() const override { return conv1->options.in_channels(); }
  int64_t out_channels() const override { return out_channels_; }
  void fold_batch_norm(const FoldTarget* target) override;  // the stem; blocks fold themselves

 private:
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr};
  int64_t out_channels_ = 0;
  FoldedLayer folded_stem_;
};
TORCH_MODULE(SmallResNet);

}  // namespace edge::model
