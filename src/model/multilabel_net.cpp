#include "edge/model/multilabel_net.h"

#include "edge/model/checkpoint.h"

namespace edge::model {

MultiLabelNetImpl::MultiLabelNetImpl(const ModelConfig& config) : config_(config) {
  backbone_ = register_module("backbone", make_backbone(config));
  clsfier_ = register_module("clsfier", ClsSimp(backbone_->out_channels(), config.hidden, config.num_classes));
}

torch::Tensor MultiLabelNetImpl::forward(const torch::Tensor& x) {
  return clsfier_->forward(backbone_->forward(match_input_channels(x, backbone_->in_channels())));
}

NetOutputs MultiLabelNetImpl::forward_all(const torch::Tensor& x) {
  NetOutputs o;
  o.feature_map = backbone_->forward(match_input_channels(x, backbone_->in_channels()));
  o.pooled = ClsSimpImpl::pool(o.feature_map);
  o.hidden = clsfier_->hidden(o.pooled);
  o.logits = clsfier_->classify(o.hidden);
  return o;
}

MultiLabelNet build_model(const ModelConfig& config) {
  MultiLabelNet model(config);
  if (!config.pretrained.empty()) load_pretrained_backbone(model->backbone(), config.pretrained, config.arch);
  return model;
}

}  // namespace edge::model
