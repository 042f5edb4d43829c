#include "edge/eval/feature_cache.h"

#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/common/atomic_file.h"
#include "edge/common/content_hash.h"
#include "edge/common/error.h"
#include "edge/data/loader.h"
#include "edge/model/torch_file.h"
#include "edge/train/predict.h"
#include "eval/tensor_hash.h"

namespace edge::eval {

namespace {

std::string safe_name(const std::string& s) {
  std::string out;
  for (char ch : s) out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') ? ch : '_';
  return out.substr(0, 40);
}

}  // namespace

score::SetFeatures extract_features(model::MultiLabelNet& model, const data::Dataset& set,
                                    const data::Transform& transform, int64_t batch_size, int64_t workers,
                                    std::ostream* warnings, std::vector<int64_t>* kept) {
  std::vector<torch::Tensor> pooled, hidden, logits;
  train::for_each_eval_batch(model, set, transform, batch_size, workers, warnings, kept, "extract_features",
                      [&](const torch::Tensor& images) {
                        const model::NetOutputs o = model->forward_all(images);
                        pooled.push_back(o.pooled.to(torch::kFloat32).cpu());
                        hidden.push_back(o.hidden.to(torch::kFloat32).cpu());
                        logits.push_back(o.logits.to(torch::kFloat32).cpu());
                      });
  if (pooled.empty()) throw DataError(fmt::format("image set {}: no readable image", set.name));
  return {torch::cat(pooled).contiguous(), torch::cat(hidden).contiguous(), torch::cat(logits).contiguous()};
}

std::string CacheKey::digest() const {
  // "rows": the format with each row's image index (older entries lack it and are not read).
  uint64_t h = fnv1a_text("rows\x1f", kFnvOffset);
  for (const std::string* s : {&checkpoint, &dataset, &split, &transform, &content}) h = fnv1a_text(*s + '\x1f', h);
  return hex64(h);
}

namespace {

// One cache entry as written by FeatureCache::get; throws DataError naming the file if it is
// not one (truncated, corrupt, another program's file).
ExtractedSet read_entry(const std::filesystem::path& file) {
  const c10::IValue v = model::load_torch_file(file);
  if (!v.isGenericDict()) throw DataError(fmt::format("feature cache {}: expected a dict of tensors", file.string()));
  const auto dict = v.toGenericDict();
  auto get = [&](const char* name) {
    const auto it = dict.find(c10::IValue(std::string(name)));
    if (it == dict.end() || !it->value().isTensor())
      throw DataError(fmt::format("feature cache {}: missing tensor '{}'", file.string(), name));
    return it->value().toTensor();
  };
  ExtractedSet e;
  e.features = {get("pooled"), get("hidden"), get("logits")};
  const torch::Tensor rows = get("rows").to(torch::kInt64).contiguous();
  if (rows.dim() != 1 || rows.size(0) != e.features.logits.size(0))
    throw DataError(fmt::format("feature cache {}: expected one row index per logit row, got {} for {} rows",
                                file.string(), rows.numel(), e.features.logits.size(0)));
  e.rows.assign(rows.data_ptr<int64_t>(), rows.data_ptr<int64_t>() + rows.numel());
  return e;
}

}  // namespace

ExtractedSet FeatureCache::get(const CacheKey& key, const std::function<ExtractedSet()>& extract) {
  if (dir_.empty()) {
    ++misses_;
    return extract();
  }
  const std::string stem = safe_name(key.split) + "-" + key.digest();
  const auto file = dir_ / (stem + ".pt");
  if (std::filesystem::exists(file)) {
    try {
      ExtractedSet e = read_entry(file);
      ++hits_;
      return e;
    } catch (const DataError& e) {
      // A cache is only a copy: a damaged entry is recomputed and rewritten, never a dead end.
      rebuilt_.push_back(e.what());
    }
  }
  ExtractedSet e = extract();
  const score::SetFeatures& f = e.features;
  TORCH_CHECK(static_cast<int64_t>(e.rows.size()) == f.logits.size(0), "FeatureCache: expected one row index per "
              "logit row, got ", e.rows.size(), " for ", f.logits.size(0));
  c10::Dict<std::string, torch::Tensor> dict;
  dict.insert("pooled", f.pooled);
  dict.insert("hidden", f.hidden);
  dict.insert("logits", f.logits);
  dict.insert("rows", torch::tensor(e.rows, torch::kInt64));
  model::save_torch_file(c10::IValue(dict), file);
  const nlohmann::json meta{{"checkpoint", key.checkpoint}, {"dataset", key.dataset}, {"split", key.split},
                            {"transform", key.transform},   {"content", key.content}, {"rows", f.logits.size(0)}};
  write_text_atomically(dir_ / (stem + ".json"), meta.dump(2) + "\n");
  ++misses_;
  return e;
}

}  // namespace edge::eval
