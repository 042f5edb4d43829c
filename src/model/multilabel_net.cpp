#include "edge/model/multilabel_net.h"

#include <nlohmann/json.hpp>

#include "edge/common/error.h"

namespace edge::model {

void to_json(nlohmann::json& j, const ModelConfig& c) {
  j = {{"arch", c.arch},     {"in_channels", c.in_channels}, {"width", c.width},
       {"blocks_per_stage", c.blocks_per_stage}, {"stem_stride", c.stem_stride}, {"hidden", c.hidden}, {"num_classes", c.num_classes}};
}

void from_json(const nlohmann::json& j, ModelConfig& c) {
  j.at("arch").get_to(c.arch);
  j.at("in_channels").get_to(c.in_channels);
  j.at("width").get_to(c.width);
  j.at("blocks_per_stage").get_to(c.blocks_per_stage);
  j.at("stem_stride").get_to(c.stem_stride);
  j.at("hidden").get_to(c.hidden);
  j.at("num_classes").get_to(c.num_classes);
}

MultiLabelNetImpl::MultiLabelNetImpl(const ModelConfig& config) : config_(config) {
  if (config.arch != "small_resnet")
    throw UsageError("--arch: unknown architecture '" + config.arch + "' (expected small_resnet)");
  backbone = register_module(
      "backbone", SmallResNet(SmallResNetOptions{config.in_channels, config.width, config.blocks_per_stage, config.stem_stride}));
  clsfier = register_module("clsfier", ClsSimp(backbone->out_channels(), config.hidden, config.num_classes));
}

torch::Tensor MultiLabelNetImpl::forward(const torch::Tensor& x) { return clsfier->forward(backbone->forward(x)); }

NetOutputs MultiLabelNetImpl::forward_all(const torch::Tensor& x) {
  NetOutputs o;
  o.feature_map = backbone->forward(x);
  o.pooled = ClsSimpImpl::pool(o.feature_map);
  o.hidden = clsfier->hidden(o.pooled);
  o.logits = clsfier->classify(o.hidden);
  return o;
}

}  // namespace edge::model
