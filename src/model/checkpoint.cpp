#include "edge/model/checkpoint.h"

#include <fstream>
#include <set>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"

namespace edge::model {

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Parameters and buffers by their dotted state_dict names (as PyTorch names them).
std::vector<std::pair<std::string, torch::Tensor>> state_entries(MultiLabelNet& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model->named_parameters(true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : model->named_buffers(true)) out.emplace_back(b.key(), b.value());
  return out;
}

}  // namespace

void save_weights(MultiLabelNet& model, const std::filesystem::path& file) {
  // A pickled {name: tensor} dict: the same format as a PyTorch state_dict, so Python's
  // torch.load reads it as is.
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, t] : state_entries(model)) dict.insert(name, t.detach().cpu().contiguous());
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  write_atomically(file, [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw DataError("cannot write " + file.string());
  });
}

MultiLabelNet load_weights(const ModelConfig& config, const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) throw DataError(fmt::format("checkpoint {} not found", file.string()));
  const std::string bytes = read_text_file(file);
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("checkpoint {} is not a readable state_dict: {}", file.string(),
                                first_line(e.what_without_backtrace())));
  }
  if (!value.isGenericDict())
    throw DataError(fmt::format("checkpoint {}: expected a {{name: tensor}} state_dict", file.string()));
  std::map<std::string, at::Tensor> saved;
  for (const auto& kv : value.toGenericDict()) {
    if (!kv.key().isString() || !kv.value().isTensor())
      throw DataError(fmt::format("checkpoint {}: expected a {{name: tensor}} state_dict", file.string()));
    saved.emplace(kv.key().toStringRef(), kv.value().toTensor());
  }
  MultiLabelNet model(config);
  const std::string described = fmt::format("{} width {} hidden {} classes {}", config.arch, config.width,
                                            config.hidden, config.num_classes);
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& [name, t] : state_entries(model)) {
    const auto it = saved.find(name);
    if (it == saved.end())
      throw DataError(fmt::format("checkpoint {} does not match the configured model ({}): missing key {}",
                                  file.string(), described, name));
    if (it->second.sizes() != t.sizes())
      throw DataError(fmt::format("checkpoint {} does not match the configured model ({}): {} has shape [{}] "
                                  "in the file, [{}] in the model", file.string(), described, name,
                                  fmt::join(it->second.sizes(), ", "), fmt::join(t.sizes(), ", ")));
    t.copy_(it->second);
    used.insert(name);
  }
  for (const auto& [name, t] : saved)
    if (!used.count(name))
      throw DataError(fmt::format("checkpoint {} does not match the configured model ({}): unexpected key {}",
                                  file.string(), described, name));
  return model;
}

}  // namespace edge::model
