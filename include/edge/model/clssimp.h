// The `clssimp` multi-label head of the EDGE / JointEnergy reference:
// global average pool -> Linear(D, hidden) -> BatchNorm1d -> ReLU -> Linear(hidden, C).
// Parameter names (way1.0, way1.1, cls) match the reference's state_dict.
#pragma once

#include <torch/nn.h>

#include "edge/model/bn_folding.h"

namespace edge::model {

class ClsSimpImpl : public torch::nn::Module, public BatchNormFoldable {
 public:
  ClsSimpImpl(int64_t in_features, int64_t hidden, int64_t num_classes);
  // Feature map [B, D, H, W] (or pooled [B, D]) -> logits [B, C].
  torch::Tensor forward(const torch::Tensor& feature_map);
  // Pooled penultimate feature [B, D].
  static torch::Tensor pool(const torch::Tensor& feature_map);
  // The head's hidden feature (after ReLU) [B, hidden] from a pooled feature.
  torch::Tensor hidden(const torch::Tensor& pooled);
  // Logits from the hidden feature.
  torch::Tensor classify(const torch::Tensor& hidden);
  // The last Linear (hidden -> C), whose weight and bias some OOD scores read (ViM, GradNorm).
  const torch::nn::Linear& classifier() const { return cls; }
  void fold_batch_norm(const FoldTarget* target) override;  // way1's Linear -> BatchNorm1d

 private:
  torch::nn::Sequential way1{nullptr};
  torch::nn::Linear cls{nullptr};
  FoldedLayer folded_way1_;
};
TORCH_MODULE(ClsSimp);

}  // namespace edge::model
