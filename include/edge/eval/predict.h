// Running a trained network over an image set in evaluation mode.
#pragma once

#include "edge/data/image_set.h"
#include "edge/model/compute_mode.h"
#include "edge/model/multilabel_net.h"

namespace edge::eval {

// Logits [N, C] (float32, CPU) of every image of `set`, in batches, eval mode, no grad,
// computed in `mode` (the model must already be in its memory format, see compute_mode.h).
torch::Tensor predict_logits(model::MultiLabelNet& model, const data::ImageSet& set,
                             int64_t batch_size, double mean, double std,
                             const model::ComputeMode& mode = {});

// Reference validation mAP (mean trapezoidal area under each class's PR curve), in [0, 1].
double validation_map(model::MultiLabelNet& model, const data::ImageSet& set, int64_t batch_size,
                      double mean, double std, const model::ComputeMode& mode = {});

}  // namespace edge::eval
