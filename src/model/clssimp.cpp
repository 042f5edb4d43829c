#include "edge/model/clssimp.h"

namespace edge::model {

namespace nn = torch::nn;

ClsSimpImpl::ClsSimpImpl(int64_t in_features, int64_t hidden_size, int64_t num_classes) {
  TORCH_CHECK(in_features >= 1 && hidden_size >= 1 && num_classes >= 1,
              "clssimp: expected positive sizes, got D=", in_features, " hidden=", hidden_size,
              " C=", num_classes);
  way1 = register_module("way1", nn::Sequential(nn::Linear(in_features, hidden_size),
                                                nn::BatchNorm1d(hidden_size), nn::ReLU()));
  cls = register_module("cls", nn::Linear(hidden_size, num_classes));
}

torch::Tensor ClsSimpImpl::pool(const torch::Tensor& feature_map) {
  if (feature_map.dim() == 2) return feature_map;
  TORCH_CHECK(feature_map.dim() == 4, "clssimp: expected a [B, D, H, W] feature map, got ",
              feature_map.sizes());
  return feature_map.mean({2, 3});
}

torch::Tensor ClsSimpImpl::hidden(const torch::Tensor& pooled) {
  return folded_way1_.active() ? folded_way1_(pooled).relu_() : way1->forward(pooled);
}

void ClsSimpImpl::fold_batch_norm(const FoldTarget* target) {
  folded_way1_.clear();
  if (!target) return;
  const auto& bn = *way1->ptr(1)->as<nn::BatchNorm1d>();
  if (bn.options.track_running_stats())
    folded_way1_.fold(*way1->ptr(0)->as<nn::Linear>(), bn.weight, bn.bias, bn.running_mean, bn.running_var,
                      bn.options.eps(), *target);
}

torch::Tensor ClsSimpImpl::classify(const torch::Tensor& h) { return cls->forward(h); }

torch::Tensor ClsSimpImpl::forward(const torch::Tensor& feature_map) {
  return classify(hidden(pool(feature_map)));
}

}  // namespace edge::model
