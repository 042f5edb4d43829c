// A multi-label network: a backbone producing a spatial feature map and the clssimp head.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>
#include <torch/nn.h>

#include "edge/model/clssimp.h"
#include "edge/model/small_resnet.h"

namespace edge::model {

struct ModelConfig {
  std::string arch = "small_resnet";
  int64_t in_channels = 1;
  int64_t width = 16;             // small_resnet stem width
  int64_t blocks_per_stage = 1;   // small_resnet depth
  int64_t stem_stride = 2;        // small_resnet stem stride
  int64_t hidden = 1000;          // clssimp hidden size
  int64_t num_classes = 8;
};

void to_json(nlohmann::json& j, const ModelConfig& c);
void from_json(const nlohmann::json& j, ModelConfig& c);

// Every intermediate the OOD scores need.
struct NetOutputs {
  torch::Tensor feature_map;  // last spatial feature map [B, D, h, w]
  torch::Tensor pooled;       // pooled penultimate feature [B, D]
  torch::Tensor hidden;       // head's hidden feature [B, hidden]
  torch::Tensor logits;       // [B, C]
};

class MultiLabelNetImpl : public torch::nn::Module {
 public:
  explicit MultiLabelNetImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x);  // logits
  NetOutputs forward_all(const torch::Tensor& x);
  const ModelConfig& config() const { return config_; }

 private:
  ModelConfig config_;
  SmallResNet backbone{nullptr};
  ClsSimp clsfier{nullptr};
};
TORCH_MODULE(MultiLabelNet);

}  // namespace edge::model
