// The network outputs of an image set (pooled feature, head hidden feature, logits, and
// which images they belong to), extracted once and kept on disk so that every score, and a
// later evaluation, reuses them.
// A cache entry is keyed by: checkpoint (hash of its weights file), dataset, split,
// transform (a description of the input normalisation) and a hash of the set's images
// and labels; any change makes a new key, so a stale entry is never read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/model/multilabel_net.h"
#include "edge/score/scorer.h"

namespace edge::eval {

// forward_all over the images of `set` read through the input pipeline (data/loader.h)
// with the deterministic `transform` by `workers` threads, in order, eval mode, no grad;
// float32 CPU tensors. A corrupt image is left out with one warning line on `warnings`;
// `kept` (optional) receives the dataset index of each row. The logits are those of
// predict_logits on the same set.
score::SetFeatures extract_features(model::MultiLabelNet& model, const data::Dataset& set,
                                    const data::Transform& transform, int64_t batch_size, int64_t workers,
                                    std::ostream* warnings, std::vector<int64_t>* kept = nullptr);

// A set's network outputs and the index (in the set) of the image of each row (the readable
// ones: a corrupt file is left out).
struct ExtractedSet {
  score::SetFeatures features;
  std::vector<int64_t> rows;
};

struct CacheKey {
  std::string checkpoint;  // hash of the weights file
  std::string dataset;
  std::string split;
  std::string transform;
  std::string content;     // hash of the images (and labels)

  std::string digest() const;
};

class FeatureCache {
 public:
  // `dir` empty: caching disabled (every get extracts).
  explicit FeatureCache(std::filesystem::path dir) : dir_(std::move(dir)) {}
  // The cached features of `key`, or extract() written to the cache (atomically) first. An
  // entry that cannot be read is extracted and rewritten (its error kept in rebuilt()).
  ExtractedSet get(const CacheKey& key, const std::function<ExtractedSet()>& extract);
  int64_t hits() const { return hits_; }
  const std::vector<std::string>& rebuilt() const { return rebuilt_; }
  int64_t misses() const { return misses_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  int64_t hits_ = 0, misses_ = 0;
  std::vector<std::string> rebuilt_;
};

}  // namespace edge::eval
