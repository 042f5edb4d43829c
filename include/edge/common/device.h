// Parsing --device and --device-id: which device a process computes on.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

namespace edge {

// "cpu", "cuda" or "cuda:N". Plain "cuda" means cuda:`default_index` (a launched worker's
// LOCAL_RANK). Throws UsageError naming --device when the spelling is wrong, when this build
// or machine has no CUDA (never a silent CPU fallback), or when the index does not exist.
torch::Device resolve_device(const std::string& spec, int default_index = 0);

// "0,1" -> {0, 1} for --device-id: one training process per listed GPU. Throws UsageError
// when the list is malformed or repeats a GPU, when CUDA is not available, or when a GPU
// does not exist.
std::vector<int> parse_device_ids(const std::string& list);

// One line describing CUDA in this build and on this machine, for messages.
std::string cuda_availability();

}  // namespace edge
