// In-memory image collections: the unit every pipeline stage exchanges.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

namespace edge::data {

// A set of same-sized images, stored compactly as uint8 and converted to float per batch.
struct ImageSet {
  std::string name;
  torch::Tensor images;  // uint8 [N, channels, H, W]
  torch::Tensor labels;  // float [N, C] multi-hot for ID sets; undefined for OE / OOD sets

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  bool has_labels() const { return labels.defined(); }
};

// Everything one training / evaluation run needs from a benchmark.
struct Benchmark {
  std::string name;
  std::vector<std::string> class_names;
  ImageSet id_train, id_val, id_test, oe_train;
  std::vector<ImageSet> ood_tests;

  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  const ImageSet& ood(const std::string& name) const;
};

// Converts a uint8 batch [B, C, H, W] to normalised float: (x / 255 - mean) / std.
torch::Tensor to_float_input(const torch::Tensor& images_u8, double mean, double std);

}  // namespace edge::data
