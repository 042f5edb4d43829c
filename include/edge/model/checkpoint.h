// Saving and loading model weights in a run directory (RUN_DIR/model.pt).
#pragma once

#include <filesystem>

#include "edge/model/multilabel_net.h"

namespace edge::model {

// Writes the weights (parameters and buffers) atomically to `file`.
void save_weights(MultiLabelNet& model, const std::filesystem::path& file);

// Builds the model described by `config` and loads `file` into it. Throws DataError
// naming the file if it is missing, corrupt, or does not match the configured model.
MultiLabelNet load_weights(const ModelConfig& config, const std::filesystem::path& file);

}  // namespace edge::model
