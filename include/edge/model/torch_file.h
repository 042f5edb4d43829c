// Reading and writing the files Python's torch.save / torch.load exchange, so that
// tensors and state_dicts move between PyTorch and this program as they are.
//
// Why not just torch::pickle_load: LibTorch 1.13's unpickler turns every
// collections.OrderedDict into None, and a real `torch.save(model.state_dict())` (every
// torchvision .pth) is an OrderedDict, so pickle_load cannot read it. This reader
// handles the subset of pickle that torch.save writes for data.
#pragma once

#include <filesystem>

#include <ATen/core/ivalue.h>

namespace edge::model {

// Loads a file written by Python's torch.save (the zip format, PyTorch >= 1.6's default)
// or by save_torch_file. Supported content: tensors of any dtype (saved on any device,
// loaded to the CPU), dict and OrderedDict (its attributes, e.g. a state_dict's
// _metadata, are dropped), list, tuple, str, int, float, bool, None, and nn.Parameter
// (as its tensor). Dicts become c10::GenericDict, lists GenericList, tuples Tuple.
// Throws DataError naming the file for a missing or unreadable file, the legacy
// (non-zip) format, or pickled objects outside that subset (e.g. a whole nn.Module).
c10::IValue load_torch_file(const std::filesystem::path& file);

// Writes `value` (tensor, or dict / list of tensors, ...) atomically in the zip format
// that Python's torch.load reads (torch::pickle_save).
void save_torch_file(const c10::IValue& value, const std::filesystem::path& file);

}  // namespace edge::model
