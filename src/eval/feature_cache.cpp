#include "edge/eval/feature_cache.h"

#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/common/atomic_file.h"
#include "edge/common/content_hash.h"
#include "edge/common/error.h"
#include "edge/model/torch_file.h"

namespace edge::eval {

namespace {

uint64_t tensor_fnv(const torch::Tensor& t, uint64_t h) {
  if (!t.defined()) return fnv1a_text("undefined", h);
  const torch::Tensor c = t.contiguous();
  h = fnv1a_text(fmt::format("{}:{}", fmt::join(c.sizes().vec(), "x"), static_cast<int>(c.scalar_type())), h);
  return fnv1a(c.data_ptr(), c.numel() * c.element_size(), h);
}

std::string safe_name(const std::string& s) {
  std::string out;
  for (char ch : s) out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') ? ch : '_';
  return out.substr(0, 40);
}

}  // namespace

score::SetFeatures extract_features(model::MultiLabelNet& model, const data::ImageSet& set, int64_t batch_size,
                                    double mean, double std) {
  TORCH_CHECK(batch_size >= 1, "extract_features: batch size must be positive, got ", batch_size);
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  const auto params = model->parameters();
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
  std::vector<torch::Tensor> pooled, hidden, logits;
  for (int64_t i = 0; i < set.size(); i += batch_size) {
    const auto batch = set.images.slice(0, i, std::min(i + batch_size, set.size()));
    const model::NetOutputs o = model->forward_all(data::to_float_input(batch, mean, std).to(device));
    pooled.push_back(o.pooled.to(torch::kFloat32).cpu());
    hidden.push_back(o.hidden.to(torch::kFloat32).cpu());
    logits.push_back(o.logits.to(torch::kFloat32).cpu());
  }
  model->train(was_training);
  if (pooled.empty()) throw DataError(fmt::format("image set {} is empty", set.name));
  return {torch::cat(pooled).contiguous(), torch::cat(hidden).contiguous(), torch::cat(logits).contiguous()};
}

std::string CacheKey::digest() const {
  uint64_t h = kFnvOffset;
  for (const std::string* s : {&checkpoint, &dataset, &split, &transform, &content}) h = fnv1a_text(*s + '\x1f', h);
  return hex64(h);
}

std::string image_set_hash(const data::ImageSet& set) {
  return hex64(tensor_fnv(set.labels, tensor_fnv(set.images, kFnvOffset)));
}

score::SetFeatures FeatureCache::get(const CacheKey& key, const std::function<score::SetFeatures()>& extract) {
  if (dir_.empty()) {
    ++misses_;
    return extract();
  }
  const std::string stem = safe_name(key.split) + "-" + key.digest();
  const auto file = dir_ / (stem + ".pt");
  if (std::filesystem::exists(file)) {
    const c10::IValue v = model::load_torch_file(file);
    if (!v.isGenericDict()) throw DataError(fmt::format("feature cache {}: expected a dict of tensors", file.string()));
    const auto dict = v.toGenericDict();
    auto get = [&](const char* name) {
      const auto it = dict.find(c10::IValue(std::string(name)));
      if (it == dict.end() || !it->value().isTensor())
        throw DataError(fmt::format("feature cache {}: missing tensor '{}' (delete the file to rebuild it)",
                                    file.string(), name));
      return it->value().toTensor();
    };
    ++hits_;
    return {get("pooled"), get("hidden"), get("logits")};
  }
  score::SetFeatures f = extract();
  c10::Dict<std::string, torch::Tensor> dict;
  dict.insert("pooled", f.pooled);
  dict.insert("hidden", f.hidden);
  dict.insert("logits", f.logits);
  model::save_torch_file(c10::IValue(dict), file);
  const nlohmann::json meta{{"checkpoint", key.checkpoint}, {"dataset", key.dataset}, {"split", key.split},
                            {"transform", key.transform},   {"content", key.content}, {"rows", f.logits.size(0)}};
  write_text_atomically(dir_ / (stem + ".json"), meta.dump(2) + "\n");
  ++misses_;
  return f;
}

}  // namespace edge::eval
