// Running a trained network over an image set in evaluation mode.
#pragma once

#include "edge/data/image_set.h"
#include "edge/model/multilabel_net.h"

namespace edge::eval {

// Logits [N, C] (float32, CPU) of every image of `set`, in batches, eval mode, no grad; the
// batches run on the model's device.
torch::Tensor predict_logits(model::MultiLabelNet& model, const data::ImageSet& set,
                             int64_t batch_size, double mean, double std);

// Reference validation mAP (mean trapezoidal area under each class's PR curve), in [0, 1].
double validation_map(model::MultiLabelNet& model, const data::ImageSet& set, int64_t batch_size,
                      double mean, double std);

}  // namespace edge::eval
