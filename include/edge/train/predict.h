// Running a network over a Dataset in evaluation mode: the forward pass that training's
// validation and every evaluation share (eval/ builds on it, train/ owns it).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <vector>

#include <torch/torch.h>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/model/compute_mode.h"
#include "edge/model/multilabel_net.h"

namespace edge::train {

// Where the model's parameters live: batches go there, results come back to the CPU.
torch::Device model_device(model::MultiLabelNet& model);

// Eval mode and no-grad for its lifetime; the model's training flag is restored on exit.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(model::MultiLabelNet& model) : model_(model), was_training_(model->is_training()) {
    model_->eval();
  }
  ~EvalModeGuard() { model_->train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  model::MultiLabelNet& model_;
  bool was_training_;
  torch::NoGradGuard no_grad_;
};

// Reads `set` in order through the input pipeline with the deterministic `transform` on
// `workers` threads and calls `on_batch` with each batch's images on the model's device.
// A corrupt image is left out with one warning on `warnings`; `kept` (optional) receives
// the dataset index of each image passed on. `what` names the caller in precondition errors.
void for_each_eval_batch(model::MultiLabelNet& model, const data::Dataset& set, const data::Transform& transform,
                         int64_t batch_size, int64_t workers, std::ostream* warnings, std::vector<int64_t>* kept,
                         const char* what, const std::function<void(const torch::Tensor&)>& on_batch);

// Logits [N', C] of the images of `set` read through the input pipeline (data/loader.h)
// with `transform` (deterministic: evaluation never augments) by `workers` threads, in
// order, computed in `mode` as the in-memory overload (the model already in its memory
// format). A corrupt image is left out with one warning line on `warnings`; `kept`
// (optional) receives the dataset index of each row.
torch::Tensor predict_logits(model::MultiLabelNet& model, const data::Dataset& set, const data::Transform& transform,
                             int64_t batch_size, int64_t workers, std::ostream* warnings,
                             std::vector<int64_t>* kept = nullptr, const model::ComputeMode& mode = {});

// Reference validation mAP of a labelled Dataset through the input pipeline, in [0, 1].
double validation_map(model::MultiLabelNet& model, const data::Dataset& set, const data::Transform& transform,
                      int64_t batch_size, int64_t workers, std::ostream* warnings, const model::ComputeMode& mode = {});

}  // namespace edge::train
