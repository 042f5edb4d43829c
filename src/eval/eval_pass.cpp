#include "eval/eval_pass.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/content_hash.h"
#include "edge/data/loader.h"

namespace edge::eval {

torch::Device model_device(model::MultiLabelNet& model) {
  const auto params = model->parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
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

uint64_t tensor_fnv1a(const torch::Tensor& t, uint64_t h) {
  if (!t.defined()) return fnv1a_text("undefined", h);
  const torch::Tensor c = t.contiguous();
  h = fnv1a_text(fmt::format("{}:{}", fmt::join(c.sizes().vec(), "x"), static_cast<int>(c.scalar_type())), h);
  return fnv1a(c.data_ptr(), c.numel() * c.element_size(), h);
}

}  // namespace edge::eval
