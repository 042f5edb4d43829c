// Running a trained network over an image set in evaluation mode.
#pragma once

#include <iosfwd>
#include <vector>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/model/compute_mode.h"
#include "edge/model/multilabel_net.h"

namespace edge::eval {

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

}  // namespace edge::eval
