// `cifar-lt`: a natural-photograph multi-label benchmark, the mosaic builder (mosaic.h) over
// CIFAR-10, in the setting of the method's own experiments (colour photos, a backbone that
// may be ImageNet-pretrained).
//
// ID: 64x64 RGB 2x2 mosaics of CIFAR-10 photos of {airplane, automobile, bird, cat, deer,
//     dog} (head to tail), 1-4 items in distinct cells, classes long-tailed with --rho.
//     Train canvases use the train split; validation and test canvases use disjoint halves of
//     each class's test images (first half validation, second half test).
// OE: half mosaics of {frog, horse} (train split), half random 64x64 RGB crops of the
//     photographs (--photo_dir, mate-backgrounds; short side first scaled to 160 px).
// OOD tests: `vehicles` (mosaics of {ship, truck}, test split: near OOD, classes never
//     trained on that share the vehicles' look), `textures` (random 64x64 RGB crops of the
//     mypaint textures), `noise` (uniform RGB noise).
// Why these splits: the animals make the long tail (cat / deer / dog are hard to tell apart,
// so tail classes are really harder); frog and horse are animals too, so OE teaches "other
// animals" without being evaluated on; ship and truck are the near OOD for airplane and
// automobile, the hardest case the method claims to handle.
//
// The source is an ImageFolder with train/ and test/ (the shared CIFAR-10 JPEGs, unpacked by
// the set-up into .data/cifar10-images) or the binary `cifar-10-batches-bin` folder:
// `--dataset cifar-lt:PATH`; without PATH, DATA_ROOT/cifar10-images where it exists, else the
// set-up's .data/cifar10-images.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/data/fashion_lt.h"

namespace edge::data {

inline constexpr char kCifarLtName[] = "cifar-lt";
inline constexpr int64_t kCifarLtSide = 64;

// Resize((64, 64)) (a no-op on its own canvases; any other image becomes the model's input),
// RGB, ImageNet mean / std as torchvision's Normalize (what a pretrained backbone expects).
Transform cifar_lt_transform();

// The OOD test sets' names, in report order: vehicles, textures, noise.
const std::vector<std::string>& cifar_lt_ood_names();

// Where cifar-lt reads CIFAR-10 when --dataset gives no PATH: DATA_ROOT/cifar10-images where
// that folder exists, else the set-up's .data/cifar10-images.
std::filesystem::path cifar_lt_default_source(const std::filesystem::path& data_root);

// Builds the parts asked for (parts.ood: names of cifar_lt_ood_names()) from `source` at
// `options`' sizes, rho and seed (its photo_dir / texture_dir; the Fashion paths are unused).
// Throws DataError naming the folder or file if the source lacks a class, a split or an
// image of 32x32 pixels.
Benchmark build_cifar_lt(const FashionLtOptions& options, const std::filesystem::path& source,
                         const FashionLtParts& parts);

}  // namespace edge::data
