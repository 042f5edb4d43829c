// A multi-label network: a backbone producing a spatial feature map and the clssimp head.
// State-dict names: "backbone.<torchvision key>" and "clsfier.<clssimp key>".
#pragma once

#include <string>

#include <torch/nn.h>

#include "edge/model/backbone.h"
#include "edge/model/clssimp.h"
#include "edge/model/model_config.h"

namespace edge::model {

// Every intermediate the OOD scores need.
struct NetOutputs {
  torch::Tensor feature_map;  // last spatial feature map [B, D, h, w]
  torch::Tensor pooled;       // pooled penultimate feature [B, D]
  torch::Tensor hidden;       // head's hidden feature [B, hidden]
  torch::Tensor logits;       // [B, C]
};

class MultiLabelNetImpl : public torch::nn::Module {
 public:
  // Randomly initialised; does not load config.pretrained (see build_model).
  explicit MultiLabelNetImpl(const ModelConfig& config);
  // x [B, C, H, W] -> logits [B, num_classes]. Gray input into an RGB backbone is
  // repeated to 3 channels (match_input_channels).
  torch::Tensor forward(const torch::Tensor& x);
  NetOutputs forward_all(const torch::Tensor& x);
  const ModelConfig& config() const { return config_; }
  Backbone& backbone() { return backbone_; }
  ClsSimp& head() { return clsfier_; }

 private:
  ModelConfig config_;
  Backbone backbone_{nullptr};
  ClsSimp clsfier_{nullptr};
};
TORCH_MODULE(MultiLabelNet);

// The model of `config`, with config.pretrained (if not empty) loaded into its backbone
// by load_pretrained_backbone (checkpoint.h). What training should construct.
MultiLabelNet build_model(const ModelConfig& config);

}  // namespace edge::model
