#include "edge/model/checkpoint.h"

#include <algorithm>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "edge/common/error.h"
#include "edge/model/torch_file.h"

namespace edge::model {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shape(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

// {str: tensor} -> StateDict, or nullopt if `value` is not such a dict.
std::optional<StateDict> as_state_dict(const c10::IValue& value) {
  if (!value.isGenericDict()) return std::nullopt;
  StateDict out;
  for (const auto& kv : value.toGenericDict()) {
    if (!kv.key().isString() || !kv.value().isTensor()) return std::nullopt;
    out.emplace(kv.key().toStringRef(), kv.value().toTensor());
  }
  return out;
}

}  // namespace

StateDict read_state_dict(const std::filesystem::path& file) {
  const c10::IValue value = load_torch_file(file);
  if (auto sd = as_state_dict(value)) return *sd;
  if (value.isGenericDict()) {
    for (const char* key : {"state_dict", "model"}) {
      const auto dict = value.toGenericDict();
      const auto it = dict.find(c10::IValue(std::string(key)));
      if (it != dict.end())
        if (auto sd = as_state_dict(it->value())) return *sd;
    }
  }
  throw DataError(fmt::format("{}: expected a state_dict ({{name: tensor}}), got a {}", file.string(),
                              value.tagKind()));
}

StateDict module_state(const torch::nn::Module& module) {
  StateDict out;
  for (const auto& p : module.named_parameters(true)) out.emplace(p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) out.emplace(b.key(), b.value());
  return out;
}

void load_state_dict_strict(torch::nn::Module& module, const StateDict& dict, const std::string& source,
                            const std::string& target, const StrictLoadOptions& o) {
  const std::string head = fmt::format("{} does not match {}", source, target);
  const StateDict entries = module_state(module);
  // Check everything first, so that a mismatch leaves the module untouched.
  std::vector<std::pair<torch::Tensor, const torch::Tensor*>> copies;
  std::set<std::string> used;
  for (const auto& [name, t] : entries) {
    const std::string key = o.key_prefix + name;
    const auto it = dict.find(key);
    if (it == dict.end()) {
      if (o.allow_missing_num_batches_tracked && ends_with(name, ".num_batches_tracked")) {
        copies.emplace_back(t, nullptr);
        continue;
      }
      throw DataError(fmt::format("{}: missing key {} (shape {} in the model)", head, key, shape(t)));
    }
    const torch::Tensor& v = it->second;
    if (v.sizes() != t.sizes())
      throw DataError(fmt::format("{}: {} has shape {} in the file, {} in the model", head, key, shape(v), shape(t)));
    if (v.is_floating_point() != t.is_floating_point())
      throw DataError(fmt::format("{}: {} has dtype {} in the file, {} in the model", head, key,
                                  c10::toString(v.scalar_type()), c10::toString(t.scalar_type())));
    if (v.is_floating_point()) {
      // NaN or inf weights make every output NaN: refuse them here, not after a night of inference.
      const int64_t bad = v.numel() - torch::isfinite(v).sum().item<int64_t>();
      if (bad > 0)
        throw DataError(fmt::format("{}: {} holds {} non-finite values (NaN or inf) of {}", source, key, bad,
                                    v.numel()));
    }
    copies.emplace_back(t, &v);
    used.insert(key);
  }
  for (const auto& [key, v] : dict) {
    if (used.count(key)) continue;
    const std::string& name = key;  // a structured binding: lambdas may not capture it (C++17)
    const bool ignored = std::any_of(o.ignored_prefixes.begin(), o.ignored_prefixes.end(),
                                     [&](const std::string& p) { return starts_with(name, p); });
    if (!ignored) throw DataError(fmt::format("{}: unexpected key {} (shape {} in the file)", head, key, shape(v)));
  }
  torch::NoGradGuard no_grad;
  for (auto& [t, v] : copies) {
    if (v) t.copy_(*v);
    else t.zero_();
  }
}

void load_pretrained_backbone(Backbone& backbone, const std::filesystem::path& file, const std::string& arch) {
  const std::string source = "--pretrained " + file.string();
  StateDict raw;
  try {
    raw = read_state_dict(file);
  } catch (const DataError& e) {
    throw DataError(fmt::format("--pretrained: {}", e.what()));
  }
  StateDict dict;
  for (auto& [key, t] : raw) {
    const std::string canonical = backbone->canonical_key(key);
    if (!dict.emplace(canonical, t).second)
      throw DataError(fmt::format("{}: key {} appears twice (old and new spelling)", source, canonical));
  }
  StrictLoadOptions o;
  o.ignored_prefixes = backbone->classifier_prefixes();
  o.allow_missing_num_batches_tracked = true;
  load_state_dict_strict(*backbone, dict, source, fmt::format("the {} backbone", arch), o);
}

void save_weights(MultiLabelNet& model, const std::filesystem::path& file) {
  // A pickled {name: tensor} dict: the same format as a PyTorch state_dict, so Python's
  // torch.load reads it as is.
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, t] : module_state(*model)) dict.insert(name, t.detach().cpu().contiguous());
  save_torch_file(c10::IValue(dict), file);
}

MultiLabelNet load_weights(const ModelConfig& config, const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) throw DataError(fmt::format("checkpoint {} not found", file.string()));
  StateDict saved;
  try {
    saved = read_state_dict(file);
  } catch (const DataError& e) {
    throw DataError(fmt::format("checkpoint {} is not a readable state_dict: {}", file.string(), e.what()));
  }
  MultiLabelNet model(config);
  const std::string described =
      config.arch == "small_resnet"
          ? fmt::format("small_resnet width {} hidden {} classes {}", config.width, config.hidden, config.num_classes)
          : fmt::format("{} hidden {} classes {}", config.arch, config.hidden, config.num_classes);
  load_state_dict_strict(*model, saved, "checkpoint " + file.string(),
                         fmt::format("the configured model ({})", described));
  return model;
}

}  // namespace edge::model
