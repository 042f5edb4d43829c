#include "edge/eval/predict.h"

#include <torch/torch.h>

#include "edge/metrics/multilabel_map.h"

namespace edge::eval {

torch::Tensor predict_logits(model::MultiLabelNet& model, const data::ImageSet& set,
                             int64_t batch_size, double mean, double std, const model::ComputeMode& mode) {
  TORCH_CHECK(batch_size >= 1, "predict_logits: batch size must be positive, got ", batch_size);
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < set.size(); i += batch_size) {
    const auto batch = set.images.slice(0, i, std::min(i + batch_size, set.size()));
    const auto input = model::to_input_format(data::to_float_input(batch, mean, std), mode);
    model::AutocastScope autocast(mode.bf16);
    out.push_back(model->forward(input).to(torch::kFloat32));
  }
  model->train(was_training);
  return torch::cat(out).contiguous();
}

double validation_map(model::MultiLabelNet& model, const data::ImageSet& set, int64_t batch_size,
                      double mean, double std, const model::ComputeMode& mode) {
  TORCH_CHECK(set.has_labels(), "validation_map: set ", set.name, " has no labels");
  const torch::Tensor probs = torch::sigmoid(predict_logits(model, set, batch_size, mean, std, mode)).contiguous();
  const torch::Tensor labels = set.labels.to(torch::kFloat32).contiguous();
  std::vector<float> s(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
  std::vector<float> l(labels.data_ptr<float>(), labels.data_ptr<float>() + labels.numel());
  return metrics::map_trapezoid(s, l, probs.size(0), probs.size(1));
}

}  // namespace edge::eval
