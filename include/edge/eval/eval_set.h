// An evaluation image set (a Dataset -- files, generated or in memory, as fashion-lt's --
// read through the input pipeline): one interface for everything `edge eval` needs of a set.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/eval/feature_cache.h"
#include "edge/model/multilabel_net.h"
#include "edge/score/scorer.h"

namespace edge::eval {

class EvalSet {
 public:
  virtual ~EvalSet() = default;
  virtual const std::string& name() const = 0;
  // Images in the set (before unreadable ones are left out).
  virtual int64_t size() const = 0;
  // Multi-hot labels [size(), C] of every image; undefined for unlabelled sets.
  virtual torch::Tensor labels() const = 0;
  // Hash of what the set's images are (and its labels): part of the feature-cache key.
  virtual std::string content_hash() const = 0;
  // The preprocessing, in words (part of the feature-cache key and the reports).
  virtual std::string transform() const = 0;
  // The per-channel std of the input normalisation (the perturbation scores' step).
  virtual std::vector<double> channel_std() const = 0;
  // The network outputs of the readable images; rows = their indices in the set.
  virtual ExtractedSet extract(model::MultiLabelNet& model, int64_t batch_size) const = 0;
  // The normalised network inputs of images `rows` (the rows extract() kept), in order, in
  // batches of `batch_size`, preprocessed exactly as extract() does. Batches are produced
  // on demand; asking for them in order reads each image once.
  virtual score::InputBatches inputs(const std::vector<int64_t>& rows, int64_t batch_size) const = 0;
};

// A Dataset read through the input pipeline with the deterministic `transform` by
// `workers` threads; corrupt images are left out with one warning line on `warnings`.
std::unique_ptr<EvalSet> dataset_eval_set(data::Dataset set, data::Transform transform, int64_t workers,
                                          std::ostream* warnings);

// Hash of a Dataset's images and labels. An image that is a file (describe() names an
// existing regular file) contributes its absolute path, size and modification time -- one
// stat per image, so hashing COCO's 82k training images costs well under a second where
// reading their 13 GB would cost minutes; a rewritten file changes its mtime. Any other
// image (in memory, generated) contributes its decoded pixels, which are cheap to produce.
std::string dataset_content_hash(const data::Dataset& set);

}  // namespace edge::eval
