#include "edge/train/predict.h"

#include <optional>

#include "edge/common/allocator.h"
#include "edge/data/loader.h"
#include "edge/metrics/multilabel_map.h"
#include "edge/model/bn_folding.h"

namespace edge::train {

torch::Device model_device(model::MultiLabelNet& model) {
  return model::parameter_device(*model);
}

void for_each_eval_batch(model::MultiLabelNet& model, const data::Dataset& set, const data::Transform& transform,
                         int64_t batch_size, int64_t workers, std::ostream* warnings, std::vector<int64_t>* kept,
                         const char* what, const std::function<void(const torch::Tensor&)>& on_batch) {
  TORCH_CHECK(batch_size >= 1, what, ": batch size must be positive, got ", batch_size);
  TORCH_CHECK(!transform.is_random(), what, ": evaluation needs a deterministic transform, got ", transform.name);
  data::LoaderOptions o;
  o.workers = workers;
  o.on_corrupt = data::CorruptPolicy::Drop;
  data::Loader loader(set, transform, o, warnings);
  loader.start(0, data::make_batches(data::sequential_order(set.size()), batch_size, false));
  EvalModeGuard eval_mode(model);
  const torch::Device device = model_device(model);
  if (kept) kept->clear();
  while (auto batch = loader.next()) {
    if (batch->indices.empty()) continue;
    on_batch(batch->images.to(device));
    if (kept) kept->insert(kept->end(), batch->indices.begin(), batch->indices.end());
  }
}

torch::Tensor predict_logits(model::MultiLabelNet& model, const data::Dataset& set, const data::Transform& transform,
                             int64_t batch_size, int64_t workers, std::ostream* warnings, std::vector<int64_t>* kept,
                             const model::ComputeMode& mode) {
  keep_freed_memory();
  EvalModeGuard eval_mode(model);  // folding needs eval mode and no-grad
  // As the in-memory overload: fast modes fold BatchNorm, the reference mode does not.
  std::optional<model::FoldedInference> folded;
  if (!mode.is_reference()) folded.emplace(*model, mode);
  std::vector<torch::Tensor> out;
  for_each_eval_batch(model, set, transform, batch_size, workers, warnings, kept, "predict_logits",
                      [&](const torch::Tensor& images) {
                        const torch::Tensor input = model::to_input_format(images, mode);
                        model::AutocastScope autocast(mode.bf16);
                        out.push_back(model->forward(input).to(torch::kFloat32).cpu());
                      });
  TORCH_CHECK(!out.empty(), "predict_logits: no readable image in ", set.name);
  return torch::cat(out).contiguous();
}

double validation_map(model::MultiLabelNet& model, const data::Dataset& set, const data::Transform& transform,
                      int64_t batch_size, int64_t workers, std::ostream* warnings, const model::ComputeMode& mode) {
  TORCH_CHECK(set.has_labels(), "validation_map: set ", set.name, " has no labels");
  std::vector<int64_t> kept;
  const torch::Tensor probs =
      torch::sigmoid(predict_logits(model, set, transform, batch_size, workers, warnings, &kept, mode)).contiguous();
  const torch::Tensor labels =
      set.labels.index_select(0, torch::tensor(kept, torch::kInt64)).to(torch::kFloat32).contiguous();
  std::vector<float> s(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
  std::vector<float> l(labels.data_ptr<float>(), labels.data_ptr<float>() + labels.numel());
  return metrics::map_trapezoid(s, l, probs.size(0), probs.size(1));
}

}  // namespace edge::train
