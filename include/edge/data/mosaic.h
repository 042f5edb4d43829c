// Mosaic benchmarks: multi-label canvases built from any single-label image source.
//
// A canvas is a grid x grid board of cell x cell cells; 1..max_items of them (distinct, by a
// shuffle) hold one item each, the rest stay black. An ID canvas draws each item's class from
// a long-tailed law p_c ~ rho^(-c/(C-1)) (class 0 = head) and is labelled with the classes it
// holds; OE and OOD canvases take items from pools of other classes and carry no labels.
// Every set has its own random stream derived from (seed, set name), so changing one set's
// size never changes another set. fashion-lt (fashion_lt.h) and cifar-lt (cifar_lt.h) are the
// named configurations; a MosaicRecipe describes any other.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <torch/types.h>

#include "edge/data/dataset.h"
#include "edge/data/fashion_lt.h"

namespace edge::data {

// Items pasted into mosaic cells: contiguous uint8 [C, cell, cell] images.
using ItemPool = std::vector<torch::Tensor>;

struct MosaicLayout {
  int64_t channels = 1;  // 1 gray, 3 RGB
  int64_t cell = 28;     // side of one cell (and of every item)
  int64_t grid = 2;      // cells per side
  int64_t max_items = 4; // items per canvas: uniform in 1..max_items (at most grid^2)
  int64_t side() const { return cell * grid; }
};

// What a mosaic benchmark is made of. Each source is a function so that a build reads only
// the files the parts it is asked for need.
struct MosaicRecipe {
  std::string name;                      // the benchmark's registry name
  MosaicLayout layout;
  std::vector<std::string> class_names;  // the ID classes, head first
  // Items of every ID class (pools[c] for class_names[c]) for split "train", "val" or "test";
  // val and test hold no common item.
  std::function<std::vector<ItemPool>(const std::string& split)> id_items;
  // OE: the first half mosaics whose items come from these pools (for each item a fair choice
  // of pool, then a uniform item), the second half random crops of these photographs (uint8
  // [C, H, W], each at least side x side); then the order is shuffled, so any prefix is a mix.
  std::function<std::vector<ItemPool>()> oe_items;
  std::function<std::vector<torch::Tensor>()> oe_photos;
  // OOD test sets, in report order: mosaics of `items` (near OOD: classes never trained on),
  // random crops of `crops`, or uniform noise when neither is set.
  struct OodSet {
    std::string name;
    std::function<std::vector<ItemPool>()> items;
    std::function<std::vector<torch::Tensor>()> crops;
  };
  std::vector<OodSet> ood;

  std::vector<std::string> ood_names() const;
};

// Builds the parts asked for at `options`' sizes, rho and seed (its source folders are the
// recipe's business). Throws UsageError naming the flag for a size below 1 or a bad rho, and
// for an OOD name the recipe does not have (listing those it has).
Benchmark build_mosaic_benchmark(const MosaicRecipe& recipe, const FashionLtOptions& options,
                                 const FashionLtParts& parts);

// ---- building blocks of the recipes' loaders (long_tail_probabilities: fashion_lt.h) ----

// The photo sources the built-in recipes share, at `layout`'s channels and side: OE crops of
// the photographs in options.photo_dir, each scaled to short side `photo_short_side` first,
// and the "textures" OOD set of options.texture_dir's pictures as they are.
std::function<std::vector<torch::Tensor>()> photo_crop_sources(const FashionLtOptions& options,
                                                               const MosaicLayout& layout, int64_t photo_short_side);
MosaicRecipe::OodSet texture_ood_set(const FashionLtOptions& options, const MosaicLayout& layout);

// Every image file under `dir` (any depth, jpg/jpeg/png), sorted by path; size-suffixed
// copies of one picture (Name_3840x2160.jpg beside Name.jpg) are skipped. Throws DataError
// naming `dir` and `what` if it is not a folder or holds none.
std::vector<std::filesystem::path> list_photo_files(const std::filesystem::path& dir, const std::string& what);

// Decodes `files` with `channels` channels, scales each so that its short side is
// `short_side` (0: as it is), and keeps those at least `min_side` on both sides. Throws
// DataError if none is.
std::vector<torch::Tensor> load_crop_sources(const std::vector<std::filesystem::path>& files, int64_t channels,
                                             int64_t short_side, int64_t min_side);

}  // namespace edge::data
