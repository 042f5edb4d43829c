// Model weights on disk: a run directory's RUN_DIR/model.pt and torchvision .pth files,
// both PyTorch state_dicts ({name: tensor}), loaded strictly.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <torch/nn.h>

#include "edge/model/multilabel_net.h"

namespace edge::model {

using StateDict = std::map<std::string, torch::Tensor>;

// Reads a state_dict written by Python's torch.save (dict or OrderedDict of tensors, as
// every torchvision .pth) or by save_weights. A dict that wraps the state_dict under
// "state_dict" or "model" (common training checkpoints) is unwrapped. Throws DataError
// naming the file otherwise.
StateDict read_state_dict(const std::filesystem::path& file);

// The module's parameters and buffers by their dotted state_dict names.
StateDict module_state(const torch::nn::Module& module);

struct StrictLoadOptions {
  // The file's key for the module's entry N is key_prefix + N.
  std::string key_prefix;
  // File keys starting with one of these are skipped (torchvision's classifier: "fc.").
  std::vector<std::string> ignored_prefixes;
  // A missing "<bn>.num_batches_tracked" is set to 0 instead of being an error: PyTorch's
  // own rule for files saved before the counter existed (torchvision's older ImageNet
  // weights). The counter only matters for BatchNorm with momentum None.
  bool allow_missing_num_batches_tracked = false;
};

// Copies `dict` into the parameters and buffers of `module`. Strict: a module entry
// missing from the file, a file key (not ignored) that the module lacks, or a shape or
// dtype-kind mismatch throws DataError "<source> does not match <target>: ..." naming
// the key and both shapes. Nothing is modified when it throws.
void load_state_dict_strict(torch::nn::Module& module, const StateDict& dict, const std::string& source,
                            const std::string& target, const StrictLoadOptions& options = {});

// Loads a torchvision state_dict (.pth) into `backbone`, ignoring its ImageNet
// classifier and mapping legacy key names (DenseNet's "norm.1"). `arch` names the
// backbone in errors, which name the file as "--pretrained FILE".
void load_pretrained_backbone(Backbone& backbone, const std::filesystem::path& file, const std::string& arch);

// Writes the weights (parameters and buffers) atomically to `file`.
void save_weights(MultiLabelNet& model, const std::filesystem::path& file);

// Builds the model described by `config` (without loading config.pretrained) and loads
// `file` into it. Throws DataError naming the file if it is missing, corrupt, or does not
// match the configured model.
MultiLabelNet load_weights(const ModelConfig& config, const std::filesystem::path& file);

}  // namespace edge::model
